// VLAN-aware bridges: ensure_bridge vlan_filtering/default_pvid, ensure_port vlans/pvid/untagged
// compared as sets with `bridge -j vlan show`, on facts captured from a VM lab host
// (test/fixtures/facts/vm/vlan-bridge: br0 filtering, eth3 with 30, 99 PVID untagged, 200-202).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkTaskArgs } from '../../src/config/playbook.js';
import type { Facts } from '../../src/model/facts.js';
import { applyChanges, changeLines, type Plan } from '../../src/model/plan.js';
import { ensureBridge } from '../../src/tasks/ensure-bridge.js';
import { hostFixture } from './support/host-fixture.js';
import { planOf } from './support/plan-task.js';
import { vmFactsOutput, vmFixture } from './support/vm-fixture.js';
import { parseFacts } from '../../src/facts/parse.js';
import { ALL_FRAGMENTS } from '../../src/facts/needs.js';
import { taskModules } from '../../src/tasks/registry.js';
import { ifupdownPortVlanLines, ifupdownPortVlans, withIfupdownPortVlanLines } from '../../src/tasks/bridge-vlan-persist.js';
import { wantedVlans } from '../../src/tasks/bridge-vlans.js';

const commands = (p: Plan) => changeLines(p.changes);
const apply = (p: Plan, f: Facts) => applyChanges(p.changes, f);
const port = (a: object, f: Facts) => planOf('ensure_port', a, f);
const bridge = (a: object, f: Facts) => planOf('ensure_bridge', a, f);

/** vlan-bridge with the `bridge -j vlan show` section the facts exec prints for a filtering bridge. */
function vlanBridge(): Facts {
  const out = vmFactsOutput('vlan-bridge').replace(
    '@@kvmnet:virsh@@',
    `@@kvmnet:bridge-vlan@@\n${readFileSync(new URL('../fixtures/facts/vm/vlan-bridge/bridge-vlan.json', import.meta.url), 'utf8')}\n@@kvmnet:virsh@@`,
  );
  return parseFacts(out, '', ALL_FRAGMENTS).facts;
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
    expect(commands(bridge({ name: 'br1', vlan_filtering: true, default_pvid: 0 }, vlanBridge()))[0]).toBe(
      'ip link add br1 type bridge stp_state 0 vlan_filtering 1 vlan_default_pvid 0',
    );
    expect(commands(bridge({ name: 'br0', vlan_filtering: false }, vlanBridge()))).toEqual(['ip link set br0 type bridge vlan_filtering 0']);
    expect(commands(bridge({ name: 'br0', vlan_filtering: true, default_pvid: 10 }, vlanBridge()))).toEqual([
      'ip link set br0 type bridge vlan_default_pvid 10',
    ]);
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
    expect(commands(port({ bridge: 'br0', interface: 'eth3', pvid: 30 }, vlanBridge()))).toEqual([
      'bridge vlan add dev eth3 vid 30 pvid',
      'bridge vlan add dev eth3 vid 99 untagged',
    ]);
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
    expect(() => port({ bridge: 'br0', interface: 'eth1', vlans: [30] }, hostFixture('bridged'))).toThrow(
      /br0 does not filter VLANs on hv1; set vlan_filtering: true/,
    );
  });
  it('argument checks: ids and ranges, untagged VLANs the port does not carry', () => {
    const problems = (a: object) => checkTaskArgs('ensure_port', a as Record<string, unknown>, true).issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(problems({ bridge: 'br0', interface: 'eth3', vlans: ['300-200'] })[0]).toMatch(/^vlans\.0: VLAN ids are 1–4094 and a range goes up/);
    expect(problems({ bridge: 'br0', interface: 'eth3', vlans: [5000] })[0]).toMatch(/^vlans\.0: /);
    expect(problems({ bridge: 'br0', interface: 'eth3', vlans: [30], untagged: [40] })).toEqual([
      'untagged: untagged VLANs must be carried by the port (in vlans or pvid): 40',
    ]);
    expect(problems({ bridge: 'br0', interface: 'eth3', vlans: [30], state: 'absent' })).toEqual([
      'vlans: vlans, pvid and untagged only apply with state: present',
    ]);
  });
});

describe('persist: networkd of VLAN-aware bridges', () => {
  it('VLANFiltering= and DefaultPVID= in the netdev, [BridgeVLAN] sections in the port .network; a second plan is a no-op', () => {
    const f = vlanBridge();
    for (const p of [bridge({ name: 'br0', vlan_filtering: true, default_pvid: 1, persist: 'networkd' }, f), port({ ...ETH3, persist: 'networkd' }, f)])
      apply(p, f);
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
});

describe('persist: ifupdown of VLAN-aware bridges (Debian 12 bridge-utils: bridge_vlan_aware, then post-up bridge vlan)', () => {
  const MAIN = '/etc/network/interfaces.d/kvmnet-br0';
  const converge = (f: Facts, extra: object = {}) => {
    // Planned one after the other, each on the facts the one before leaves (as the executor does).
    apply(bridge({ name: 'br0', vlan_filtering: true, default_pvid: 1, persist: 'ifupdown', ...extra }, f), f);
    apply(port({ ...ETH3, persist: 'ifupdown' }, f), f);
    apply(port({ bridge: 'br0', interface: 'dummy0', vlans: [], pvid: 30, untagged: [30], persist: 'ifupdown' }, f), f);
    return f;
  };

  it('one stanza: bridge_vlan_aware, the default PVID, each port turned from what a new port gets into its set; a second plan is a no-op', () => {
    const f = converge(vlanBridge());
    expect(f.persisted![MAIN]).toMatchInlineSnapshot(`
      "# Written by kvmnet; changes made here are overwritten on its next run.
      # ensure_bridge br0, with the ports of ensure_port; addresses (ensure_ip) are in kvmnet-br0__ADDRESS files
      auto br0
      iface br0 inet manual
          bridge_ports eth3 dummy0
          bridge_vlan_aware yes
          post-up ip link set dev br0 type bridge vlan_default_pvid 1
          post-up bridge vlan add dev eth3 vid 99 pvid untagged
          post-up bridge vlan add dev eth3 vid 30
          post-up bridge vlan add dev eth3 vid 200-202
          post-up bridge vlan del dev eth3 vid 1
          post-up bridge vlan add dev dummy0 vid 30 pvid untagged
          post-up bridge vlan del dev dummy0 vid 1
      "
    `);
    expect(bridge({ name: 'br0', vlan_filtering: true, default_pvid: 1, persist: 'ifupdown' }, f).changes).toEqual([]);
    expect(port({ ...ETH3, persist: 'ifupdown' }, f).changes).toEqual([]);
  });

  it('what the lines leave each port with is what `bridge vlan show` reported on the VM host: no drift', () => {
    const f = converge(vlanBridge());
    expect(ifupdownPortVlans(f.persisted![MAIN]!)).toEqual(
      new Map([
        ['eth3', f.links.eth3!.vlans],
        ['dummy0', f.links.dummy0!.vlans],
      ]),
    );
    expect(persistenceDrift(f)).toEqual([]);
  });

  it('kvmnet facts names a port whose VLANs differ from the file, and a bridge that stopped filtering', () => {
    const f = converge(vlanBridge());
    f.links.eth3!.vlans = f.links.eth3!.vlans!.filter((v) => v.id !== 30);
    f.links.br0!.bridge!.vlanFiltering = false;
    expect(persistenceDrift(f)).toEqual(['br0: VLAN filtering on persisted (ifupdown), off at runtime']);
    f.links.br0!.bridge!.vlanFiltering = true;
    expect(persistenceDrift(f)).toEqual(['eth3: VLANs 30, 99 PVID untagged, 200-202 persisted (ifupdown), 99 PVID untagged, 200-202 at runtime']);
  });

  it("a new default PVID on the bridge rewrites the ports' lines for it, keeping their sets; --diff shows the lines", () => {
    const f = converge(vlanBridge());
    const p = bridge({ name: 'br0', vlan_filtering: true, default_pvid: 99, persist: 'ifupdown' }, f);
    expect(p.diff!.after).toContain('post-up ip link set dev br0 type bridge vlan_default_pvid 99');
    expect(p.diff!.after).toContain('post-up bridge vlan add dev eth3 vid 30');
    apply(p, f);
    expect(f.persisted![MAIN]).not.toContain('del dev eth3 vid 1');
    expect(ifupdownPortVlans(f.persisted![MAIN]!).get('eth3')).toEqual(f.links.eth3!.vlans);
  });

  it('state: absent of a port removes it from bridge_ports and its VLAN lines; of the bridge, the stanza', () => {
    const f = converge(vlanBridge());
    apply(planOf('ensure_port', { bridge: 'br0', interface: 'eth3', state: 'absent', persist: 'ifupdown' }, f), f);
    expect(f.persisted![MAIN]).toMatch(/bridge_ports dummy0\n/);
    expect(f.persisted![MAIN]).not.toContain('eth3');
    expect(f.persisted![MAIN]).toContain('post-up bridge vlan add dev dummy0 vid 30 pvid untagged');
  });
});

// The fixture host also has a bond and a VLAN kvmnet did not persist: only the bridge's lines matter here.
const persistenceDrift = (f: Facts) =>
  taskModules
    .flatMap((m) => (m.kind === 'planned' && m.persistence ? (m.persistence.drift?.(f, f.persisted ?? {}) ?? []) : []))
    .filter((l) => !l.startsWith('bond0'));

describe('the ifupdown lines read back as the kernel would apply them', () => {
  it.each([
    ['a trunk with a native VLAN', 1, [30, '200-202'], 99, [99]],
    ['default PVID 0: a port starts with no VLAN', 0, [10, 20], 10, [10]],
    ['the PVID moves to another VLAN, tagged', 1, [1, 5], 5, []],
    ['the default PVID kept as it is', 7, [7, 8], 7, [7]],
  ] as const)('%s', (_name, defaultPvid, vlans, pvid, untagged) => {
    const wanted = wantedVlans([...vlans], pvid, [...untagged]);
    const header = `iface br0 inet manual\n    bridge_ports eth3\n    bridge_vlan_aware yes\n    post-up ip link set dev br0 type bridge vlan_default_pvid ${defaultPvid}\n`;
    const content = withIfupdownPortVlanLines(header, 'eth3', ifupdownPortVlanLines('eth3', defaultPvid, wanted));
    expect(ifupdownPortVlans(content).get('eth3') ?? []).toEqual(wanted);
  });
});
