// The rollback re-creates what a guarded change deleted or re-created: the bond with its mode and
// settings, the VLAN on it, the members back in the bond. Facts captured from a VM lab host (real
// kernel); the script is run by /bin/sh with a fake `ip` and a fake /sys/class/net that say what
// the host looks like after the change.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, chmodSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyChanges, touchedLinks } from '../../src/model/plan.js';
import { restoredDifferences, restoreScript } from '../../src/run/restore-script.js';
import { planOf } from './support/plan-task.js';
import { vmFixture } from './support/vm-fixture.js';

/** What the host's /sys/class/net says after the change: per link, its bond mode and members, or its master. */
type SysState = Record<string, { mode?: string; lacpRate?: string; lower?: string[]; master?: string }>;

function runOnFakeHost(script: string, sys: SysState): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'kvmnet-restore-links-'));
  const log = join(dir, 'log');
  const net = join(dir, 'sys');
  // The fake `ip` records its arguments, and a release removes the member's master link, as the kernel does.
  writeFileSync(
    join(dir, 'ip'),
    `#!/bin/sh\nprintf '%s\\n' "ip $*" >> ${log}\ncase "$*" in "link set "*" nomaster") rm -f "${net}/$3/master";; "link show dev "*) [ -e "${net}/$4" ] || exit 1;; esac\n`,
  );
  chmodSync(join(dir, 'ip'), 0o755);
  for (const [name, s] of Object.entries(sys)) {
    mkdirSync(join(net, name, 'bonding'), { recursive: true });
    if (s.mode) writeFileSync(join(net, name, 'bonding', 'mode'), `${s.mode} 0\n`);
    if (s.lacpRate) writeFileSync(join(net, name, 'bonding', 'lacp_rate'), `${s.lacpRate} 1\n`);
    for (const m of s.lower ?? []) writeFileSync(join(net, name, `lower_${m}`), '');
    if (s.master) symlinkSync(`../${s.master}`, join(net, name, 'master'));
  }
  execFileSync('/bin/sh', ['-c', script.replaceAll('/sys/class/net/', `${net}/`)], { env: { PATH: `${dir}:/usr/bin:/bin` } });
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
}

/** The rollback's device set as the run computes it: what the changes touch, and their masters. */
function guardDevices(plan: ReturnType<typeof planOf>, facts: ReturnType<typeof vmFixture>): string[] {
  const devices = new Set(touchedLinks(plan.changes, facts));
  for (const d of [...devices]) if (facts.links[d]?.master) devices.add(facts.links[d].master);
  return [...devices];
}

describe('rollback re-creates links', () => {
  it('a bond mode change (802.3ad → balance-rr, re-created in place) is undone: down, release, mode back with its settings, members re-added downed, up', () => {
    const before = vmFixture('802.3ad');
    expect(before.links.bond0!.bond).toMatchObject({ mode: '802.3ad', lacpRate: 'fast', xmitHashPolicy: 'layer3+4', miimon: 100 });
    const plan = planOf('ensure_bond', { name: 'bond0', mode: 'balance-rr', members: ['eth1', 'eth2'] }, before);
    const devices = guardDevices(plan, before);
    expect(devices.sort()).toEqual(['bond0', 'eth1', 'eth2']);
    const calls = runOnFakeHost(restoreScript(before, devices, []), {
      bond0: { mode: 'balance-rr', lacpRate: 'slow', lower: ['eth1', 'eth2'] },
      eth1: { master: 'bond0' },
      eth2: { master: 'bond0' },
    });
    const at = (c: string) => {
      expect(calls).toContain(c);
      return calls.indexOf(c);
    };
    const down = at('ip link set bond0 down');
    const release = at('ip link set eth1 nomaster');
    const mode = at('ip link set bond0 type bond mode 802.3ad miimon 100 lacp_rate fast xmit_hash_policy layer3+4');
    const eth1Down = calls.indexOf('ip link set eth1 down', mode);
    const readd = at('ip link set eth1 master bond0');
    const up = calls.lastIndexOf('ip link set bond0 up');
    expect(down).toBeLessThan(release);
    expect(release).toBeLessThan(mode);
    expect(mode).toBeLessThan(eth1Down);
    expect(eth1Down).toBeLessThan(readd);
    expect(readd).toBeLessThan(up);
    expect(calls).toContain('ip link set eth2 master bond0');
    expect(calls.filter((c) => c.startsWith('ip link add'))).toEqual([]);
  });

  it('a bond already in its old mode is left alone (no down, no release)', () => {
    const before = vmFixture('802.3ad');
    const calls = runOnFakeHost(restoreScript(before, ['bond0', 'eth1', 'eth2'], []), {
      bond0: { mode: '802.3ad', lacpRate: 'fast', lower: ['eth1', 'eth2'] },
      eth1: { master: 'bond0' },
      eth2: { master: 'bond0' },
    });
    expect(calls).not.toContain('ip link set bond0 down');
    expect(calls).not.toContain('ip link set eth1 nomaster');
    expect(calls).not.toContain('ip link set eth1 master bond0');
  });

  it('a deleted bond and the VLAN on it come back: bond with its mode, then the VLAN with its id and parent, members, the VLAN address', () => {
    const before = vmFixture('bond-vlan');
    const plan = planOf('ensure_bond', { name: 'bond0', state: 'absent' }, before);
    const devices = guardDevices(plan, before);
    expect(devices.sort()).toEqual(['bond0', 'bond0.20', 'eth1', 'eth2']);
    const calls = runOnFakeHost(restoreScript(before, devices, []), {});
    const bond = calls.indexOf('ip link add bond0 type bond mode 802.3ad miimon 100 lacp_rate fast xmit_hash_policy layer3+4');
    const vlan = calls.indexOf('ip link add link bond0 name bond0.20 type vlan id 20');
    expect(bond).toBeGreaterThanOrEqual(0);
    expect(vlan).toBeGreaterThan(bond);
    expect(calls.indexOf('ip link set eth1 master bond0')).toBeGreaterThan(bond);
    expect(calls).toContain('ip address replace 198.19.220.1/24 dev bond0.20');
    expect(calls).toContain('ip link set bond0.20 up');
  });

  it('a VLAN re-created with another id is put back with its old id', () => {
    const before = vmFixture('bond-vlan');
    const plan = planOf('ensure_vlan', { parent: 'bond0', id: 30, name: 'bond0.20' }, before);
    expect(plan.changes.map((c) => c.summary)[0]).toMatch(/^re-create VLAN bond0\.20/);
    const calls = runOnFakeHost(restoreScript(before, guardDevices(plan, before), []), {});
    expect(calls).toContain('ip link del bond0.20');
    expect(calls).toContain('ip link add link bond0 name bond0.20 type vlan id 20');
  });

  it('undoes the management address moved onto a bond and a VLAN of it in one step: created links deleted first, the NIC gets its address and route back', () => {
    // Facts of the captured host as if its SSH address were on eth1 (the plain NIC) before the step.
    const before = vmFixture('active-backup');
    before.links = Object.fromEntries(Object.entries(before.links).filter(([n]) => !n.startsWith('bond0')));
    for (const n of ['eth1', 'eth2']) delete before.links[n]!.master;
    before.addrs.push({ dev: 'eth1', family: 4, address: '198.18.138.111', prefix: 24, scope: 'global' });
    before.routes = [{ family: 4, dst: 'default', gateway: '198.18.138.1', dev: 'eth1' }];
    const after = structuredClone(before);
    const bond = planOf('ensure_bond', { name: 'bond0', mode: '802.3ad', members: ['eth1', 'eth2'], migrate: true }, after);
    applyChanges(bond.changes, after);
    const vlan = planOf('ensure_vlan', { parent: 'bond0', id: 10, migrate: true }, after);
    expect(vlan.changes.map((c) => c.summary)).toEqual([
      'create VLAN bond0.10 (id 10 on bond0, up)',
      "migrate bond0's addresses onto VLAN bond0.10: move 198.18.138.111/24, route default via 198.18.138.1 from bond0 to bond0.10",
    ]);
    const devices = [...new Set([...guardDevices(bond, before), ...guardDevices(vlan, after)])];
    const calls = runOnFakeHost(restoreScript(before, devices, []), {});
    const del = calls.indexOf('ip link del bond0');
    expect(del).toBeGreaterThanOrEqual(0);
    expect(calls).toContain('ip link del bond0.10');
    expect(calls.indexOf('ip address replace 198.18.138.111/24 dev eth1')).toBeGreaterThan(del);
    expect(calls).toContain('ip route replace default via 198.18.138.1 dev eth1');
    expect(calls.filter((c) => c.startsWith('ip link add'))).toEqual([]);
  });

  it('restoredDifferences names a bond left in the wrong mode', () => {
    const before = vmFixture('802.3ad');
    const after = structuredClone(before);
    after.links.bond0!.bond!.mode = 'balance-rr';
    expect(restoredDifferences(before, after, ['bond0'])).toEqual(['bond0 is a bond in mode balance-rr, was 802.3ad']);
  });
});
