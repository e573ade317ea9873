// Persisting bonds and VLANs (persist: networkd | ifupdown) in the common layout (bond → VLAN →
// bridge port), idempotence across task types that share a device's .network, drift, refusals.
// Facts captured from a VM lab host (test/fixtures/facts/vm).
import { describe, expect, it } from 'vitest';
import type { Facts } from '../../src/model/facts.js';
import { applyChanges, type Plan } from '../../src/model/plan.js';
import { persistenceDrift } from '../../src/tasks/persistence-drift.js';
import { planOf } from './support/plan-task.js';
import { vmFixture } from './support/vm-fixture.js';

type T = 'ensure_bond' | 'ensure_vlan' | 'ensure_bridge' | 'ensure_port';
function run(type: T, args: Record<string, unknown>, facts: Facts): Plan {
  const p = planOf(type, args, facts);
  applyChanges(p.changes, facts);
  return p;
}
const NWD = '/etc/systemd/network';
const IFD = '/etc/network/interfaces.d';
const LACP = { name: 'bond0', mode: '802.3ad', members: ['eth1', 'eth2'], lacp_rate: 'fast', xmit_hash_policy: 'layer3+4', primary: undefined };

/** The 802.3ad capture with bond0 gone (a host before the playbook). */
function fresh(): Facts {
  const f = vmFixture('802.3ad');
  run('ensure_bond', { name: 'bond0', state: 'absent' }, f);
  return f;
}

function layout(persist: string): Array<[T, Record<string, unknown>]> {
  return [
    ['ensure_bond', { ...LACP, persist }],
    ['ensure_vlan', { parent: 'bond0', id: 100, persist }],
    ['ensure_bridge', { name: 'br100', persist }],
    ['ensure_port', { bridge: 'br100', interface: 'bond0.100', persist }],
  ];
}

describe('persist: networkd', () => {
  it('writes the bond, its members, the VLAN (netdev + a VLAN= drop-in on the bond), and a second run of the whole layout is a no-op', () => {
    const f = fresh();
    for (const [t, a] of layout('networkd')) run(t, a, f);
    const files = f.persisted!;
    expect(Object.keys(files).sort()).toEqual([
      `${NWD}/10-kvmnet-bond0.100.netdev`,
      `${NWD}/10-kvmnet-bond0.100.network`,
      `${NWD}/10-kvmnet-bond0.netdev`,
      `${NWD}/10-kvmnet-bond0.network`,
      `${NWD}/10-kvmnet-bond0.network.d/vlan-bond0.100.conf`,
      `${NWD}/10-kvmnet-br100.netdev`,
      `${NWD}/10-kvmnet-br100.network`,
      `${NWD}/10-kvmnet-eth1.network`,
      `${NWD}/10-kvmnet-eth2.network`,
    ]);
    expect(files[`${NWD}/10-kvmnet-bond0.netdev`]).toMatchInlineSnapshot(`
      "# Written by kvmnet; changes made here are overwritten on its next run.
      # ensure_bond bond0
      [NetDev]
      Name=bond0
      Kind=bond

      [Bond]
      Mode=802.3ad
      MIIMonitorSec=100ms
      LACPTransmitRate=fast
      TransmitHashPolicy=layer3+4
      "
    `);
    expect(files[`${NWD}/10-kvmnet-eth1.network`]).toMatchInlineSnapshot(`
      "# Written by kvmnet; changes made here are overwritten on its next run.
      # ensure_bond bond0: member eth1
      [Match]
      Name=eth1

      [Network]
      Bond=bond0
      "
    `);
    expect(files[`${NWD}/10-kvmnet-bond0.100.netdev`]).toMatchInlineSnapshot(`
      "# Written by kvmnet; changes made here are overwritten on its next run.
      # ensure_vlan bond0.100
      [NetDev]
      Name=bond0.100
      Kind=vlan

      [VLAN]
      Id=100
      "
    `);
    expect(files[`${NWD}/10-kvmnet-bond0.network.d/vlan-bond0.100.conf`]).toMatchInlineSnapshot(`
      "# Written by kvmnet; changes made here are overwritten on its next run.
      # ensure_vlan bond0.100: VLAN 100 on bond0
      [Network]
      VLAN=bond0.100
      "
    `);
    // The VLAN is a bridge port: ensure_port's .network is the one it keeps.
    expect(files[`${NWD}/10-kvmnet-bond0.100.network`]).toContain('Bridge=br100');
    for (const [t, a] of layout('networkd')) expect(planOf(t, a, f).changes.map((c) => c.summary)).toEqual([]);
    expect(persistenceDrift(f).filter((d) => /bond|vlan|VLAN/.test(d))).toEqual([]);
  });

  it('drift: a mode changed at runtime, a member gone, a VLAN that is not persisted', () => {
    const f = fresh();
    for (const [t, a] of layout('networkd')) run(t, a, f);
    f.links.bond0!.bond!.mode = 'active-backup';
    delete f.links.eth2!.master;
    run('ensure_vlan', { parent: 'bond0', id: 200 }, f);
    expect(persistenceDrift(f).filter((d) => /bond0/.test(d))).toEqual([
      'bond0: mode 802.3ad persisted (networkd), active-backup at runtime',
      'bond0: members eth1, eth2 persisted (networkd), eth1 at runtime',
      'bond0.200: VLAN at runtime but not persisted by kvmnet',
    ]);
  });

  it('a member released and state: absent remove their files', () => {
    const f = fresh();
    for (const [t, a] of layout('networkd')) run(t, a, f);
    expect(run('ensure_bond', { ...LACP, members: ['eth1'], persist: 'networkd' }, f).changes.map((c) => c.summary)).toEqual([
      'release eth2 from bond0',
      `remove ${NWD}/10-kvmnet-eth2.network`,
    ]);
    run('ensure_port', { bridge: 'br100', interface: 'bond0.100', state: 'absent', persist: 'networkd' }, f);
    run('ensure_vlan', { parent: 'bond0', id: 100, state: 'absent', persist: 'networkd' }, f);
    run('ensure_bond', { name: 'bond0', state: 'absent', persist: 'networkd' }, f);
    expect(Object.keys(f.persisted!).sort()).toEqual([`${NWD}/10-kvmnet-br100.netdev`, `${NWD}/10-kvmnet-br100.network`]);
  });

  it('refuses a VLAN on a bond that is not persisted (networkd creates VLANs from the parent .network)', () => {
    const f = vmFixture('802.3ad');
    expect(() => planOf('ensure_vlan', { parent: 'bond0', id: 30, persist: 'networkd' }, f)).toThrow(
      `persist: networkd creates a VLAN from its parent's .network, and ${NWD}/10-kvmnet-bond0.network does not exist on hv1: persist the bond first (ensure_bond bond0 with persist: networkd, before this task)`,
    );
  });
});

describe('persist: ifupdown', () => {
  it('writes a bond stanza (ifenslave) and a VLAN stanza (vlan-raw-device); a second run is a no-op', () => {
    const f = fresh();
    for (const [t, a] of layout('ifupdown')) run(t, a, f);
    expect(f.persisted![`${IFD}/kvmnet-bond0`]).toMatchInlineSnapshot(`
      "# Written by kvmnet; changes made here are overwritten on its next run.
      # ensure_bond bond0 (needs the ifenslave package); addresses (ensure_ip) are in their own files
      auto bond0
      iface bond0 inet manual
          bond-slaves eth1 eth2
          bond-mode 802.3ad
          bond-miimon 100
          bond-lacp-rate fast
          bond-xmit-hash-policy layer3+4
      "
    `);
    expect(f.persisted![`${IFD}/kvmnet-bond0_2e100`]).toMatchInlineSnapshot(`
      "# Written by kvmnet; changes made here are overwritten on its next run.
      # ensure_vlan bond0.100: VLAN 100 on bond0 (needs the vlan package); addresses (ensure_ip) are in their own files
      auto bond0.100
      iface bond0.100 inet manual
          vlan-raw-device bond0
      "
    `);
    for (const [t, a] of layout('ifupdown')) expect(planOf(t, a, f).changes).toEqual([]);
    expect(persistenceDrift(f).filter((d) => /bond|VLAN/.test(d))).toEqual([]);
  });
  it('a VLAN with a name of its own is created by pre-up', () => {
    const f = fresh();
    run('ensure_bond', { ...LACP, persist: 'ifupdown' }, f);
    run('ensure_vlan', { parent: 'bond0', id: 10, name: 'mgmt10', persist: 'ifupdown' }, f);
    expect(f.persisted![`${IFD}/kvmnet-mgmt10`]).toContain('    pre-up ip link add link bond0 name mgmt10 type vlan id 10\n    post-down ip link del mgmt10\n');
    expect(persistenceDrift(f).filter((d) => /mgmt10/.test(d))).toEqual([]);
  });
});
