// VLAN-aware bridges: ensure_bridge vlan_filtering/default_pvid, ensure_port vlans/pvid/untagged
// compared as sets with `bridge -j vlan show`, on facts captured from a VM lab host
// (test/fixtures/facts/vm/vlan-bridge: br0 filtering, eth3 with 30, 99 PVID untagged, 200-202).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkTaskArgs } from '../../src/config/playbook.js';
import type { Facts } from '../../src/model/facts.js';
import type { Plan } from '../../src/model/plan.js';
import { ensureBridge } from '../../src/tasks/ensure-bridge.js';
import { hostFixture } from './support/host-fixture.js';
import { planOf } from './support/plan-task.js';
import { vmFactsOutput, vmFixture } from './support/vm-fixture.js';
import { parseFacts } from '../../src/facts/parse.js';
import { taskModules } from '../../src/tasks/registry.js';

const commands = (p: Plan) => p.changes.flatMap((c) => c.commands);
const apply = (p: Plan, f: Facts) => p.changes.forEach((c) => c.effect(f));
const port = (a: object, f: Facts) => planOf('ensure_port', a, f);
const bridge = (a: object, f: Facts) => planOf('ensure_bridge', a, f);

/** vlan-bridge with the `bridge -j vlan show` section the facts exec prints for a filtering bridge. */
function vlanBridge(): Facts {
  const out = vmFactsOutput('vlan-bridge').replace('@@kvmnet:virsh@@', `@@kvmnet:bridge-vlan@@\n${readFileSync(new URL('../fixtures/facts/vm/vlan-bridge/bridge-vlan.json', import.meta.url), 'utf8')}\n@@kvmnet:virsh@@`);
  return parseFacts(out, '', taskModules.flatMap((m) => (m.facts ? [m.facts] : []))).facts;
}
const ETH3 = { bridge: 'br0', interface: 'eth3', vlans: [30, '200-202'], pvid: 99, untagged: [99] };

describe('facts of a VLAN-aware bridge', () => {
  it('vlan_filtering, default pvid, each port set', () => {
    const f = vlanBridge();
    expect(f.links.br0!.bridge).toMatchObject({ vlanFiltering: true, defaultPvid: 1 });
    expect(f.links.eth3!.vlans).toEqual([
      { id: 30, pvid: false, untagged: false },
      { id: 99, pvid: true, untagged: true },
      { id: 200, pvid: false, untagged: false },
      { id: 201, pvid: false, untagged: false },
      { id: 202, pvid: false, untagged: false },
    ]);
    expect(ensureBridge.factsView!.sections(f)[1]!.rows).toEqual([
      ['br0', 'br0 (self)', '1 PVID untagged, 30'],
      ['br0', 'dummy0', '30 PVID untagged'],
      ['br0', 'eth3', '30, 99 PVID untagged, 200-202'],
    ]);
  });
  it('without a filtering bridge the section is not there and nothing is read', () => {
    expect(vmFixture('bond-vlan').links.eth3!.vlans).toBeUndefined();
    expect(ensureBridge.factsView!.sections(vmFixture('bond-vlan'))[1]!.rows).toEqual([]);
  });
});

describe('ensure_bridge vlan_filtering', () => {
  it('no-op on the captured bridge; creates one with filtering and a default pvid; turns it off in place', () => {
    expect(bridge({ name: 'br0', vlan_filtering: true }, vlanBridge()).changes).toEqual([]);
    expect(commands(bridge({ name: 'br1', vlan_filtering: true, default_pvid: 0 }, vlanBridge()))[0]).toBe('ip link add br1 type bridge stp_state 0 vlan_filtering 1 vlan_default_pvid 0');
    expect(commands(bridge({ name: 'br0', vlan_filtering: false }, vlanBridge()))).toEqual(['ip link set br0 type bridge vlan_filtering 0']);
    expect(commands(bridge({ name: 'br0', vlan_filtering: true, default_pvid: 10 }, vlanBridge()))).toEqual(['ip link set br0 type bridge vlan_default_pvid 10']);
  });
});

describe('ensure_port vlans, pvid, untagged', () => {
  it('is a no-op when the set matches (ranges and single ids alike)', () => {
    const p = port(ETH3, vlanBridge());
    expect(p.changes).toEqual([]);
    expect(p.noop).toBe('eth3 is already a port of br0 and up, VLANs 30, 99 PVID untagged, 200-202');
  });
  it('adds what is missing, in ranges', () => {
    const f = vlanBridge();
    const p = port({ ...ETH3, vlans: [30, '200-205'] }, f);
    expect(commands(p)).toEqual(['bridge vlan add dev eth3 vid 203-205']);
    expect(p.changes[0]!.summary).toBe('set the VLANs of eth3 on br0: 30, 99 PVID untagged, 200-202 → 30, 99 PVID untagged, 200-205');
    expect(p.diff!.after).toContain('eth3 vlans: 30, 99 PVID untagged, 200-205');
    apply(p, f);
    expect(port({ ...ETH3, vlans: [30, '200-205'] }, f).changes).toEqual([]);
  });
  it('moves the PVID, re-adds a VLAN whose flags change, deletes what is no longer wanted', () => {
    expect(commands(port({ bridge: 'br0', interface: 'eth3', vlans: [99], pvid: 30, untagged: [30] }, vlanBridge()))).toEqual([
      'bridge vlan add dev eth3 vid 30 pvid untagged',
      'bridge vlan add dev eth3 vid 99',
      'bridge vlan del dev eth3 vid 200-202',
    ]);
    // Only pvid: the set stays, the PVID moves.
    expect(commands(port({ bridge: 'br0', interface: 'eth3', pvid: 30 }, vlanBridge()))).toEqual(['bridge vlan add dev eth3 vid 30 pvid', 'bridge vlan add dev eth3 vid 99 untagged']);
  });
  it('a port added by the same task starts with the default pvid (1), which goes if not wanted', () => {
    const f = vlanBridge();
    apply(planOf('ensure_bond', { name: 'bond0', mode: '802.3ad', members: ['eth1'] }, f), f);
    expect(commands(port({ bridge: 'br0', interface: 'eth2', vlans: [10] }, f))).toEqual([
      'ip link set eth2 master br0',
      'bridge vlan add dev eth2 vid 10',
      'bridge vlan del dev eth2 vid 1',
    ]);
  });
  it("refuses guests' taps, and bridges that do not filter VLANs", () => {
    const f = vlanBridge();
    f.links.vnet3 = { name: 'vnet3', kind: 'tun', master: 'br0', up: true, operstate: 'UNKNOWN', mtu: 1500 };
    expect(() => port({ bridge: 'br0', interface: 'vnet3', vlans: [30] }, f)).toThrow(/vnet3 is a guest's tap on hv1: libvirt re-creates it/);
    expect(() => port({ bridge: 'br0', interface: 'eth1', vlans: [30] }, hostFixture('bridged'))).toThrow(/br0 does not filter VLANs on hv1; set vlan_filtering: true/);
  });
  it('argument checks: ids and ranges, untagged VLANs the port does not carry', () => {
    const problems = (a: object) => checkTaskArgs('ensure_port', a as Record<string, unknown>, true).issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(problems({ bridge: 'br0', interface: 'eth3', vlans: ['300-200'] })[0]).toMatch(/^vlans\.0: VLAN ids are 1–4094 and a range goes up/);
    expect(problems({ bridge: 'br0', interface: 'eth3', vlans: [5000] })[0]).toMatch(/^vlans\.0: /);
    expect(problems({ bridge: 'br0', interface: 'eth3', vlans: [30], untagged: [40] })).toEqual(['untagged: untagged VLANs must be carried by the port (in vlans or pvid): 40']);
    expect(problems({ bridge: 'br0', interface: 'eth3', vlans: [30], state: 'absent' })).toEqual(['vlans: vlans, pvid and untagged only apply with state: present']);
  });
});

describe('persist: networkd of VLAN-aware bridges', () => {
  it('VLANFiltering= and DefaultPVID= in the netdev, [BridgeVLAN] sections in the port .network; a second plan is a no-op', () => {
    const f = vlanBridge();
    for (const p of [bridge({ name: 'br0', vlan_filtering: true, default_pvid: 1, persist: 'networkd' }, f), port({ ...ETH3, persist: 'networkd' }, f)]) apply(p, f);
    expect(f.persisted!['/etc/systemd/network/10-kvmnet-br0.netdev']).toMatchInlineSnapshot(`
      "# Written by kvmnet; changes made here are overwritten on its next run.
      # ensure_bridge br0
      [NetDev]
      Name=br0
      Kind=bridge

      [Bridge]
      VLANFiltering=yes
      DefaultPVID=1
      "
    `);
    expect(f.persisted!['/etc/systemd/network/10-kvmnet-eth3.network']).toMatchInlineSnapshot(`
      "# Written by kvmnet; changes made here are overwritten on its next run.
      # ensure_port eth3 -> br0
      [Match]
      Name=eth3

      [Network]
      Bridge=br0

      [BridgeVLAN]
      VLAN=30

      [BridgeVLAN]
      VLAN=99
      PVID=99
      EgressUntagged=99

      [BridgeVLAN]
      VLAN=200-202
      "
    `);
    expect(bridge({ name: 'br0', vlan_filtering: true, default_pvid: 1, persist: 'networkd' }, f).changes).toEqual([]);
    expect(port({ ...ETH3, persist: 'networkd' }, f).changes).toEqual([]);
  });
  it('ifupdown: refused with the reason (not carried yet)', () => {
    expect(() => port({ ...ETH3, persist: 'ifupdown' }, vlanBridge())).toThrow(/persist: ifupdown does not carry port VLANs in kvmnet yet/);
    expect(() => bridge({ name: 'br0', vlan_filtering: true, persist: 'ifupdown' }, vlanBridge())).toThrow(/persist: ifupdown does not carry vlan_filtering in kvmnet yet/);
  });
});
