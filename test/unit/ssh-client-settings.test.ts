// The ssh config under the inventory: inventory variables win (passed as `ssh -o` would be), the config fills the rest.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConnectionVars } from '../../src/config/connection-vars.js';
import { clearSshConfigCache } from '../../src/config/ssh-config.js';

const dir = mkdtempSync(join(tmpdir(), 'kvmnet-sshset-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const home = userInfo().homedir;
const file = join(dir, 'config');
writeFileSync(
  file,
  `Host hv*.dc2
  HostName %h.mgmt
  User ops
  Port 2222
  IdentityFile ~/.ssh/dc2_%r
  IdentitiesOnly yes
  ProxyJump bastion-dc2
  UserKnownHostsFile ${dir}/kh_dc2
  StrictHostKeyChecking accept-new
  HostKeyAlias alias-%h
  ConnectTimeout 4
  ServerAliveInterval 5
  ServerAliveCountMax 2
  ProxyCommand nc %h %p
Host bastion-dc2
  HostName 198.51.100.1
  User jumper
  ProxyJump gw
Host gw
  HostName 198.51.100.254
  Port 2200
  UserKnownHostsFile ${dir}/kh_gw
`,
);
clearSshConfigCache();
const where = { file: 'hosts.yaml', line: 1, col: 1 };

describe('ssh config under inventory variables', () => {
  it('fills what the inventory does not set, resolves the bastion chain, and names what it cannot honour', () => {
    const r = resolveConnectionVars('hv1.dc2', { ssh_config: file }, where);
    expect(r.diagnostics).toEqual([]);
    expect(r.settings).toMatchObject({
      host: 'hv1.dc2.mgmt',
      user: 'ops',
      port: 2222,
      identityFiles: [`${home}/.ssh/dc2_ops`],
      identitiesOnly: true,
      knownHosts: `${dir}/kh_dc2`,
      hostKeyChecking: 'accept-new',
      hostKeyAlias: 'alias-%h',
      connectTimeoutMs: 4000,
      keepaliveIntervalMs: 5000,
      keepaliveCountMax: 2,
      jump: 'bastion-dc2',
      jumps: [
        // Each bastion by its own entries only (Host hv*.dc2 is not theirs), as ssh dials them.
        { name: 'gw', host: '198.51.100.254', port: 2200, user: userInfo().username, knownHosts: `${dir}/kh_gw`, hostKeyChecking: 'strict' },
        { name: 'bastion-dc2', host: '198.51.100.1', port: 22, user: 'jumper', knownHosts: '~/.ssh/known_hosts', hostKeyChecking: 'strict' },
      ],
    });
    expect(r.notices).toEqual([`ssh config: kvmnet does not honour ProxyCommand (${file})`]);
  });

  it('inventory variables win, and Match/Host see the inventory host and user', () => {
    const r = resolveConnectionVars(
      'name-in-inventory',
      {
        ssh_config: file,
        ansible_host: 'hv2.dc2',
        ansible_user: 'admin',
        ansible_port: 22,
        ansible_ssh_private_key_file: '/k/inv',
        known_hosts: '/kh/inv',
        host_key_checking: false,
        connect_timeout: 9,
        jump: 'other@bastion:2',
      },
      where,
    );
    expect(r.settings).toMatchObject({
      host: 'hv2.dc2.mgmt',
      user: 'admin',
      port: 22,
      sshKey: '/k/inv',
      identityFiles: [`${home}/.ssh/dc2_admin`],
      knownHosts: '/kh/inv',
      hostKeyChecking: 'off',
      connectTimeoutMs: 9000,
      jump: 'other@bastion:2',
    });
    expect(r.settings?.jumps).toBeUndefined();
  });

  it('ansible_ssh_common_args / _extra_args: their -o and -J beat the files, lose to the inventory', () => {
    const r = resolveConnectionVars(
      'hv5.dc2',
      {
        ssh_config: file,
        ansible_user: 'inv',
        ansible_ssh_common_args: '-o User=args -o Port=2299 -o ProxyJump=gw',
        ansible_ssh_extra_args: '-o ConnectTimeout=3',
      },
      where,
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.settings).toMatchObject({ host: 'hv5.dc2.mgmt', user: 'inv', port: 2299, connectTimeoutMs: 3000, jump: 'gw' });
    expect(r.settings?.jumps?.map((j) => `${j.user}@${j.host}:${j.port}`)).toEqual([`${userInfo().username}@198.51.100.254:2200`]);
    const j = resolveConnectionVars('hv5.dc2', { ssh_config: file, ansible_ssh_common_args: '-J bastion-dc2' }, where);
    expect(j.settings?.jumps?.map((h) => h.name)).toEqual(['gw', 'bastion-dc2']);
  });

  it('`none` reads no config; an unreadable chosen file is an error naming it', () => {
    expect(resolveConnectionVars('hv1.dc2', { ssh_config: 'none' }, where).settings).toMatchObject({ host: 'hv1.dc2', port: 22 });
    const bad = resolveConnectionVars('hv1.dc2', { ssh_config: join(dir, 'missing') }, where);
    expect(bad.settings).toBeUndefined();
    expect(bad.diagnostics[0]?.message).toMatch(/host 'hv1.dc2': cannot read ssh config .*missing: ENOENT/);
  });
});
