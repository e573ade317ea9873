// An ansible.cfg-only project: no -i, no connection variables in the inventory. ansible.cfg names the inventory,
// the user, the key, forks, and (through ssh_args -o) the known_hosts file and strict checking; kvmnet converges
// the hosts it lists, read back with ip -j, and `ansible-inventory` in the same directory lists the same hosts.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { KVMNET_BIN, spawnCollect } from './exec.js';
import { BRIDGED, addresses, labDir, labHost, link, resetHosts, scratchDir, show, summaryOf, type LabHost } from './helpers.js';

const HOSTS: LabHost[] = ['hv1', 'hv2'];

describe('ansible.cfg only (no -i)', () => {
  let project = '';
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8', CI: 'true', HOME: '/nonexistent-home' };

  beforeAll(async () => {
    await resetHosts(HOSTS);
    project = scratchDir('ansiblecfg');
    mkdirSync(join(project, 'inventory'));
    writeFileSync(
      join(project, 'inventory', 'hosts.yml'),
      `kvm:\n  hosts:\n${HOSTS.map((h) => `    ${h}:\n      ansible_host: ${labHost(h).address}\n`).join('')}`,
    );
    writeFileSync(
      join(project, 'ansible.cfg'),
      `[defaults]
inventory = inventory/hosts.yml
remote_user = root
private_key_file = ${join(labDir(), 'id_ed25519')}
forks = 1
timeout = 5

[ssh_connection]
ssh_args = -o UserKnownHostsFile=${join(labDir(), 'known_hosts')} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes
`,
    );
  });

  it('ansible-inventory and kvmnet inventory list the same hosts from the same directory', async () => {
    const ansible = execFileSync('ansible-inventory', ['--list'], { cwd: project, env, encoding: 'utf8' });
    const kvmnet = await spawnCollect([process.execPath, KVMNET_BIN, 'inventory', '--list'], { cwd: project, env });
    expect(kvmnet.code, show(kvmnet)).toBe(0);
    expect(kvmnet.stdout).toBe(ansible);
  });

  it('kvmnet run converges both hosts one at a time (forks = 1), with the user, key and known_hosts of ansible.cfg', async () => {
    const r = await spawnCollect([process.execPath, KVMNET_BIN, 'run', BRIDGED, '--output', 'json'], { cwd: project, env, timeoutMs: 180_000 });
    expect(r.code, show(r)).toBe(0);
    const summary = summaryOf(r);
    expect(summary.hosts.map((h) => [h.host, h.changed, h.failed, h.unreachable])).toEqual(HOSTS.map((h) => [h, 4, 0, 0]));
    for (const h of HOSTS) {
      expect((await link(h, 'br0'))?.linkinfo?.info_kind).toBe('bridge');
      expect(await addresses(h, 'br0')).toContain('192.168.0.90/24');
    }
    // forks = 1: one host's tasks end before the other's start (JSON lines carry the host of each event).
    const events = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event: string; host?: string });
    const order = events.filter((e) => e.host !== undefined && e.event !== 'summary').map((e) => e.host);
    const firstOther = order.findIndex((h) => h !== order[0]);
    expect(firstOther).toBeGreaterThan(0);
    expect(
      order.slice(firstOther).every((h) => h !== order[0]),
      `events interleave: ${order.join(' ')}`,
    ).toBe(true);
  });
});
