// Several known_hosts files, as OpenSSH reads them: every UserKnownHostsFile, then GlobalKnownHostsFile; a key known
// (or revoked) in any counts; a new key (accept-new) goes to the first user file only.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareHostKeyCheck, type HostKeyPolicy } from '../../../src/connection/ssh-host-key.js';
import { resolveConnectionVars } from '../../../src/config/connection-vars.js';
import { clearSshConfigCache } from '../../../src/config/ssh-config.js';

// Real keys from ssh-keygen (as in known-hosts.test.ts).
const ED_A = 'AAAAC3NzaC1lZDI1NTE5AAAAIBHNqPIJ4JBU3CpnfBkIFi12SzO988l0nzLb4LvGjsm5';
const ED_B = 'AAAAC3NzaC1lZDI1NTE5AAAAIEZnOkuNcY/L+3pNd5kLfUE2GAPhG6mGQun9BkPOMZQf';
const blob = (b64: string) => Buffer.from(b64, 'base64');

const dir = mkdtempSync(join(tmpdir(), 'kvmnet-khfiles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** Three files (first user file, second user file, a global one) with the given contents; undefined = absent. */
function files(first: string | undefined, second: string | undefined, global: string | undefined): string[] {
  n += 1;
  const paths = ['user1', 'user2', 'global'].map((f) => join(dir, `${n}-${f}`));
  [first, second, global].forEach((text, i) => text !== undefined && writeFileSync(paths[i]!, text));
  return paths;
}

async function check(paths: string[], mode: HostKeyPolicy['mode'], key: string) {
  const warnings: string[] = [];
  const c = await prepareHostKeyCheck({
    label: 'hv1 (198.18.0.11)',
    host: '198.18.0.11',
    port: 22,
    knownHosts: paths[0]!,
    extraKnownHosts: paths.slice(1),
    mode,
    warn: (m) => warnings.push(m),
  });
  const accepted = await new Promise<boolean>((resolve) => c.verify(blob(key), resolve));
  return { accepted, refusal: c.refusal?.message, warnings };
}

describe('known_hosts files after the first', () => {
  it('a key known only in the second user file, or only in the global file, is known (nothing is added)', async () => {
    const second = files(undefined, `198.18.0.11 ssh-ed25519 ${ED_A}\n`, undefined);
    expect(await check(second, 'strict', ED_A)).toEqual({ accepted: true, refusal: undefined, warnings: [] });
    const global = files('', undefined, `# fleet keys\n198.18.0.* ssh-ed25519 ${ED_A}\n`);
    expect(await check(global, 'accept-new', ED_A)).toEqual({ accepted: true, refusal: undefined, warnings: [] });
    expect(readFileSync(global[0]!, 'utf8')).toBe('');
  });

  it('accept-new adds an unknown key to the first file only', async () => {
    const paths = files(undefined, `other ssh-ed25519 ${ED_B}\n`, `other2 ssh-ed25519 ${ED_B}\n`);
    const r = await check(paths, 'accept-new', ED_A);
    expect(r.accepted).toBe(true);
    expect(r.warnings).toEqual([expect.stringContaining(`to ${paths[0]}`)]);
    expect(readFileSync(paths[0]!, 'utf8')).toBe(`198.18.0.11 ssh-ed25519 ${ED_A}\n`);
    expect(readFileSync(paths[1]!, 'utf8')).toBe(`other ssh-ed25519 ${ED_B}\n`);
    expect(readFileSync(paths[2]!, 'utf8')).toBe(`other2 ssh-ed25519 ${ED_B}\n`);
  });

  it('strict: an unknown key names the files searched (the first, and the others that exist)', async () => {
    const paths = files(undefined, `other ssh-ed25519 ${ED_B}\n`, `other2 ssh-ed25519 ${ED_B}\n`);
    const r = await check(paths, 'strict', ED_A);
    expect(r.accepted).toBe(false);
    expect(r.refusal).toContain(`is not in ${paths[0]}, ${paths[1]} or ${paths[2]};`);
    expect(existsSync(paths[0]!)).toBe(false);
    const none = files(undefined, undefined, undefined);
    expect((await check(none, 'strict', ED_A)).refusal).toContain(`is not in ${none[0]};`);
  });

  it('a different key of the same type in the second file is a changed key, named with its file and line', async () => {
    const paths = files(`other ssh-ed25519 ${ED_A}\n`, `# old\n198.18.0.11 ssh-ed25519 ${ED_B}\n`, undefined);
    const r = await check(paths, 'accept-new', ED_A);
    expect(r.accepted).toBe(false);
    expect(r.refusal).toMatch(new RegExp(`^REMOTE HOST KEY CHANGED .*\\(${paths[1]}:2\\).*ssh-keygen -R '198.18.0.11' -f ${paths[1]}\\)`));
  });

  it('a key @revoked in the global file is refused, even when a user file knows it', async () => {
    const paths = files(`198.18.0.11 ssh-ed25519 ${ED_A}\n`, undefined, `@revoked * ssh-ed25519 ${ED_A}\n`);
    const r = await check(paths, 'strict', ED_A);
    expect(r.accepted).toBe(false);
    expect(r.refusal).toContain(`is marked @revoked in ${paths[2]}:1`);
  });
});

describe('which files a host gets (ssh config and inventory)', () => {
  const where = { file: 'hosts.yaml', line: 1, col: 1 };
  const config = join(dir, 'ssh_config');
  writeFileSync(
    config,
    `Host listed
  UserKnownHostsFile ${dir}/a ~/b_%h
  GlobalKnownHostsFile /etc/kvmnet/global_known
Host bastion
  UserKnownHostsFile ${dir}/bastion_kh
Host via
  ProxyJump plain,bastion
`,
  );
  clearSshConfigCache();
  const home = process.env.HOME ?? '';

  it('every UserKnownHostsFile: the first gets new keys, the rest and the global ones are read after it', () => {
    const s = resolveConnectionVars('listed', { ssh_config: config }, where).settings;
    expect(s).toMatchObject({ knownHosts: `${dir}/a`, extraKnownHosts: [`${home}/b_listed`, '/etc/kvmnet/global_known'] });
  });

  it("OpenSSH's defaults when nothing is set; the inventory's known_hosts replaces the user files, not the global ones", () => {
    expect(resolveConnectionVars('h', { ssh_config: config }, where).settings).toMatchObject({
      knownHosts: `${home}/.ssh/known_hosts`,
      extraKnownHosts: [`${home}/.ssh/known_hosts2`, '/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
    });
    expect(resolveConnectionVars('listed', { ssh_config: config, known_hosts: '/inv/kh' }, where).settings).toMatchObject({
      knownHosts: '/inv/kh',
      extraKnownHosts: ['/etc/kvmnet/global_known'],
    });
  });

  it('bastions: their own files, else the inventory known_hosts (with the global files)', () => {
    const s = resolveConnectionVars('via', { ssh_config: config, known_hosts: '/inv/kh' }, where).settings;
    expect(s?.jumps?.map((j) => [j.name, j.knownHosts, j.extraKnownHosts])).toEqual([
      ['plain', '/inv/kh', ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']],
      ['bastion', `${dir}/bastion_kh`, ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']],
    ]);
  });
});
