// ensure_nm_unmanaged, the opt-in that hands devices from NetworkManager to kvmnet, planned on the
// facts exec captured on the VM lab's NetworkManager host (test/fixtures/facts/nm-fixtures.md:
// nm-fresh, eth1-3 managed and disconnected, mgmt0 unmanaged by the lab's own conf.d file; and
// nm-handed-over, after the real run): what it plans, that the NetworkManager guard lets a later
// runtime change through, that a second run changes nothing (on the planned facts and on the
// host's), and that `state: absent` gives back only what kvmnet took.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFacts, splitSections } from '../../src/facts/parse.js';
import type { Facts } from '../../src/model/facts.js';
import { applyChanges, changeLines, type Plan } from '../../src/model/plan.js';
import { inverseOps, applyOps } from '../../src/ops/index.js';
import { parseManagers } from '../../src/persist/managers.js';
import { refuseNmManaged } from '../../src/persist/nm-guard.js';
import { NM_UNMANAGED_CONF, unmanagedConf, unmanagedInConf } from '../../src/persist/nm-unmanaged.js';
import { ensureNmUnmanaged, type EnsureNmUnmanagedArgs } from '../../src/tasks/ensure-nm-unmanaged.js';
import { ensureBond } from '../../src/tasks/ensure-bond.js';

const managersOf = (name: string) => {
  const text = readFileSync(new URL(`../fixtures/managers/${name}.txt`, import.meta.url), 'utf8');
  return parseManagers(splitSections(text).find((s) => s.key === 'managers')!.body);
};

const capture = (name: string): Facts => parseFacts(readFileSync(new URL(`../fixtures/facts/${name}.stdout`, import.meta.url), 'utf8'), '').facts;
/** The fresh NetworkManager host: its facts exec as captured (the persisted section read, no kvmnet files). */
const nmHost = (): Facts => capture('nm-fresh');

const plan = (facts: Facts, args: Partial<EnsureNmUnmanagedArgs> & { devices: string[] }): Plan =>
  ensureNmUnmanaged.plan({ state: 'present', ...args }, facts, 'hv1');
const bondPlan = (facts: Facts) => ensureBond.plan(ensureBond.schema.parse({ name: 'bond0', mode: 'active-backup', members: ['eth1', 'eth2'] }), facts, 'hv1');

describe('ensure_nm_unmanaged on a NetworkManager host', () => {
  it('plans `nmcli device set … managed no` for each managed device and the conf.d file, said in the plan', () => {
    const facts = nmHost();
    const p = plan(facts, { devices: ['eth1', 'eth2'] });
    expect(p.changes.map((c) => c.summary)).toEqual([
      'NetworkManager stops managing eth1 (nmcli device set eth1 managed no)',
      'NetworkManager stops managing eth2 (nmcli device set eth2 managed no)',
      `NetworkManager leaves eth1, eth2 alone after a reboot too (${NM_UNMANAGED_CONF})`,
    ]);
    const lines = changeLines(p.changes);
    expect(lines.slice(0, 2)).toEqual(['nmcli device set eth1 managed no', 'nmcli device set eth2 managed no']);
    // Appended to the host's own list (the lab's NetworkManager.conf keeps mgmt0 unmanaged): never `=`.
    expect(unmanagedConf(['eth2', 'eth1'])).toBe(
      '# kvmnet: devices handed to kvmnet (ensure_nm_unmanaged). NetworkManager leaves them alone, also after a reboot.\n[keyfile]\nunmanaged-devices+=interface-name:eth1;interface-name:eth2\n',
    );
    expect(p.diff).toEqual({
      before: 'eth1: NetworkManager (disconnected)\neth2: NetworkManager (disconnected)',
      after: 'eth1: not NetworkManager (unmanaged)\neth2: not NetworkManager (unmanaged)',
    });
  });

  it('a runtime change of eth1 is refused before the handover and let through after it; a second run changes nothing', () => {
    const facts = nmHost();
    expect(() => refuseNmManaged(bondPlan(facts), facts, 'hv1', 'none')).toThrow(
      /eth1 is managed by NetworkManager on hv1 \(disconnected\).*ensure_nm_unmanaged: \{ devices: \[eth1\] \}/,
    );
    const handover = plan(facts, { devices: ['eth1', 'eth2'] });
    // The handover itself is not refused: it is the way out.
    expect(() => refuseNmManaged(handover, facts, 'hv1', undefined)).not.toThrow();
    applyChanges(handover.changes, facts);
    expect(facts.managers!.nmDevices.eth1!.state).toBe('unmanaged');
    expect(() => refuseNmManaged(bondPlan(facts), facts, 'hv1', 'none')).not.toThrow();
    // eth3 was not handed over: still refused.
    expect(() => refuseNmManaged({ changes: [{ summary: 'set eth3 down', ops: [{ op: 'link.up', name: 'eth3', up: false }] }] }, facts, 'hv1', 'none')).toThrow(
      /eth3 is managed by NetworkManager/,
    );
    const again = plan(facts, { devices: ['eth1', 'eth2'] });
    expect(again.changes).toEqual([]);
    expect(again.noop).toBe(`NetworkManager already leaves eth1, eth2 alone, and ${NM_UNMANAGED_CONF} lists them`);
  });

  it('on the host as the real run left it: nothing to do, the file as planned, bond0 not counted as managed', () => {
    const real = capture('nm-handed-over');
    const planned = nmHost();
    applyChanges(plan(planned, { devices: ['eth1', 'eth2'] }).changes, planned);
    expect(real.persisted![NM_UNMANAGED_CONF]).toBe(planned.persisted![NM_UNMANAGED_CONF]);
    expect(real.managers!.nmDevices.eth1).toEqual(planned.managers!.nmDevices.eth1);
    expect(plan(real, { devices: ['eth1', 'eth2'] }).noop).toMatch(/already leaves eth1, eth2 alone/);
    // NetworkManager shows the bond kvmnet made as connected externally: kvmnet may change it.
    expect(real.managers!.nmDevices.bond0!.state).toBe('connected (externally)');
    const mtu = (dev: string): Plan => ({ changes: [{ summary: `set ${dev} mtu 9000`, ops: [{ op: 'link.mtu', name: dev, mtu: 9000 }] }] });
    expect(() => refuseNmManaged(mtu('bond0'), real, 'hv1', 'none')).not.toThrow();
    expect(() => refuseNmManaged(mtu('eth1'), real, 'hv1', 'none')).not.toThrow();
    expect(() => refuseNmManaged(mtu('eth3'), real, 'hv1', 'none')).toThrow(/eth3 is managed by NetworkManager on hv1 \(disconnected\)/);
  });

  it('a device that does not exist yet only goes into the file; a later task adds to the list', () => {
    const facts = nmHost();
    facts.persisted![NM_UNMANAGED_CONF] = unmanagedConf(['eth1'])!;
    facts.managers!.nmDevices.eth1!.state = 'unmanaged';
    const p = plan(facts, { devices: ['bond0'] });
    expect(p.changes.map((c) => c.summary)).toEqual([`NetworkManager leaves bond0, eth1 alone after a reboot too (${NM_UNMANAGED_CONF})`]);
    applyChanges(p.changes, facts);
    expect(unmanagedInConf(facts.persisted![NM_UNMANAGED_CONF])).toEqual(['bond0', 'eth1']);
  });

  it('the rollback gives the device back to NetworkManager and removes the file it did not have', () => {
    const before = nmHost();
    const p = plan(before, { devices: ['eth1'] });
    const after = structuredClone(before);
    applyChanges(p.changes, after);
    const { undo } = inverseOps(
      p.changes.flatMap((c) => c.ops),
      before,
    );
    expect(undo).toEqual([
      { op: 'file.remove', path: NM_UNMANAGED_CONF },
      { op: 'nm.managed', dev: 'eth1', managed: true },
    ]);
    applyOps(undo, after);
    expect(after.managers!.nmDevices.eth1!.state).toBe('disconnected');
    expect(after.persisted![NM_UNMANAGED_CONF]).toBeUndefined();
  });

  it('state: absent gives back only the devices kvmnet took, never one the host keeps unmanaged itself', () => {
    const facts = nmHost();
    applyChanges(plan(facts, { devices: ['eth1', 'eth2'] }).changes, facts);
    const p = plan(facts, { devices: ['eth1', 'mgmt0'], state: 'absent' });
    expect(p.changes.map((c) => c.summary)).toEqual([
      `NetworkManager leaves eth2 alone after a reboot too (${NM_UNMANAGED_CONF})`,
      'NetworkManager manages eth1 again (nmcli device set eth1 managed yes)',
    ]);
    applyChanges(p.changes, facts);
    const last = plan(facts, { devices: ['eth2'], state: 'absent' });
    expect(last.changes.map((c) => changeLines([c]))).toEqual([[`rm -f ${NM_UNMANAGED_CONF}`], ['nmcli device set eth2 managed yes']]);
    expect(plan(facts, { devices: ['mgmt0'], state: 'absent' }).noop).toBe('NetworkManager was not told by kvmnet to leave mgmt0 alone');
  });

  it('a host without NetworkManager: nothing to hand over', () => {
    const facts = { ...nmHost(), managers: managersOf('networkd-converging') };
    expect(facts.managers.active.networkmanager).toBe(false);
    expect(plan(facts, { devices: ['eth1'] }).noop).toBe('NetworkManager does not run on hv1: it manages none of eth1');
  });

  it('the file lists only interface names (other specs of a hand-edited file are left out)', () => {
    expect(unmanagedInConf('[keyfile]\nunmanaged-devices+=interface-name:eth1;mac:00:11:22:33:44:55;interface-name:bond0\n')).toEqual(['eth1', 'bond0']);
    expect(unmanagedInConf(undefined)).toEqual([]);
    expect(unmanagedConf([])).toBeNull();
  });
});
