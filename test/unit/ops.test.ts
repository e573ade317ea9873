// The operation vocabulary (src/ops/), kind by kind, on facts captured from lab hosts: its shell
// lines pass every value as one word (run by sh against stub ip/bridge/virsh that log their
// arguments; file operations run for real in a temporary directory), its effect on the facts, its
// inverse (applied after it, the facts are back as they were for what it touched), and its
// read-back check (a planted difference is named; facts that agree give nothing).
import { ALL_FRAGMENTS } from '../../src/facts/needs.js';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFacts } from '../../src/facts/parse.js';
import type { Facts, LinkFact } from '../../src/model/facts.js';
import { applyOps, inverseOps, OP_NAMES, opsLines, verifyOps, type Op, type OpName } from '../../src/ops/index.js';
import { parseXml } from '../../src/render/netxml.js';
import { forwardRules, HOOK_SCRIPT, installedForwards } from '../../src/tasks/port-forward-rules.js';
import { hostFixture } from './support/host-fixture.js';
import { vmFactsOutput, vmFixture } from './support/vm-fixture.js';

const fragments = ALL_FRAGMENTS;
/** Facts parsed from a facts exec captured on a lab host (test/fixtures/facts/NAME.stdout). */
const capture = (name: string): Facts => parseFacts(readFileSync(new URL(`../fixtures/facts/${name}.stdout`, import.meta.url), 'utf8'), '', fragments).facts;
/** The VM lab host with a VLAN-aware br0 (eth3: 30, 99 PVID untagged, 200-202), its `bridge -j vlan show` included. */
function vlanBridge(): Facts {
  const table = readFileSync(new URL('../fixtures/facts/vm/vlan-bridge/bridge-vlan.json', import.meta.url), 'utf8');
  return parseFacts(vmFactsOutput('vlan-bridge').replace('@@kvmnet:virsh@@', `@@kvmnet:bridge-vlan@@\n${table}\n@@kvmnet:virsh@@`), '', fragments).facts;
}
const networks = (f: Facts) => (f.libvirt.available ? f.libvirt.networks : {});
const net = (f: Facts, name: string) => networks(f)[name];

// ---- aspects: what of the facts an operation is about.

/** A link as kvmnet can make it again (a re-created link gets a new MAC and operstate from the kernel). */
function linkState(l: LinkFact | undefined) {
  if (!l) return undefined;
  const b = l.bridge;
  return {
    kind: l.kind,
    up: l.up,
    mtu: l.mtu,
    master: l.master,
    lower: l.lower,
    vlan: l.vlan?.id,
    bridge: b && { stp: b.stp, forwardDelay: b.forwardDelay, vlanFiltering: b.vlanFiltering ?? false },
    bond: l.bond && { mode: l.bond.mode, miimon: l.bond.miimon, lacpRate: l.bond.lacpRate, xmitHashPolicy: l.bond.xmitHashPolicy },
  };
}
const link = (name: string) => (f: Facts) => linkState(f.links[name]);
const globalAddrs = (dev: string) => (f: Facts) =>
  f.addrs
    .filter((a) => a.dev === dev && a.scope === 'global')
    .map((a) => `${a.address}/${a.prefix}`)
    .sort();
/** A link with its ports, global addresses and the routes it holds beyond those the kernel adds for an address. */
const linkWithNeighbours = (name: string) => (f: Facts) => ({
  link: linkState(f.links[name]),
  ports: Object.values(f.links)
    .filter((l) => l.master === name)
    .map((l) => l.name)
    .sort(),
  addrs: globalAddrs(name)(f),
  routes: f.routes.filter((r) => r.dev === name && r.protocol !== 'kernel'),
});
const routesTo = (dst: string) => (f: Facts) => f.routes.filter((r) => r.dst === dst);
const portVlans = (dev: string) => (f: Facts) => f.links[dev]?.vlans;
const network = (name: string) => (f: Facts) => {
  const n = net(f, name);
  return n && { active: n.active, persistent: n.persistent, autostart: n.autostart, bridge: n.bridge, xml: n.xml && parseXml(n.xml) };
};
/** Reservations in a definition, as a set. */
const byMac = (hosts: Array<{ mac?: string; ip: string }>) => [...hosts].sort((a, b) => `${a.mac}${a.ip}`.localeCompare(`${b.mac}${b.ip}`));
/** A VXLAN: the link, its settings (fixed at creation) and where it floods to, as a set. */
const vxlan = (name: string) => (f: Facts) => {
  const l = f.links[name];
  return l && { link: linkState(l), vxlan: l.vxlan, floodsTo: floodsTo(name)(f) };
};
const floodsTo = (dev: string) => (f: Facts) => [...(f.links[dev]?.fdbRemotes ?? [])].sort();
const ovsBridges = (f: Facts) => f.ovs?.bridges;
const persisted = (path: string) => (f: Facts) => f.persisted?.[path];
const hookFiles = (f: Facts) => f.portForwards?.files;

// ---- one row per operation kind (some kinds have two): facts, operations, effect, inverse, check.

interface Row {
  kind: OpName;
  what: string;
  facts: () => Facts;
  /** The operations: the one of this kind, with what it runs with in a plan. */
  ops: Op[];
  /** Asserts the effect: the facts before and after the operations. */
  effect: (before: Facts, after: Facts) => void;
  /** What the operations change, and their inverses must give back. */
  aspect: (f: Facts) => unknown;
  /** Makes a read-back differ where the operation acts; `problem` is what the check says of it. */
  plant: (actual: Facts) => void;
  problem: string;
  /** The read-back of a host where everything took (default: the expected facts as they are). */
  readBack?: (expected: Facts) => Facts;
  /** Why the round trip of `aspect` does not apply (an operation the rollback runs again instead: tested on its own below). */
  noRoundTrip?: string;
}

const HOST_31 = "<host mac='52:54:00:30:00:31' ip='192.168.30.31'/>";
const NEW_NET = '<network>\n  <name>n9</name>\n  <bridge name="br9"/>\n</network>\n';
const BR5_NETDEV = '/etc/systemd/network/10-kvmnet-br5.netdev';
const BR9_NETDEV = '/etc/systemd/network/10-kvmnet-br9.netdev';
const RULES = '/etc/libvirt/hooks/kvmnet-port-forwards/net10_tcp_any_2222.rules';

/** The VM lab's NetworkManager host, fresh (test/fixtures/facts/nm-fixtures.md). */
const nmHost = (): Facts => capture('nm-fresh');

const rows: Row[] = [
  {
    kind: 'nm.managed',
    what: 'NetworkManager stops managing eth1 (ensure_nm_unmanaged)',
    facts: nmHost,
    ops: [{ op: 'nm.managed', dev: 'eth1', managed: false }],
    effect: (before, after) => {
      expect(before.managers!.nmDevices.eth1!.state).toBe('disconnected');
      expect(after.managers!.nmDevices.eth1!.state).toBe('unmanaged');
      expect(after.managers!.nmDevices.eth2).toEqual(before.managers!.nmDevices.eth2);
    },
    aspect: (f) => f.managers!.nmDevices.eth1,
    plant: (a) => (a.managers!.nmDevices.eth1!.state = 'disconnected'),
    problem: 'NetworkManager still manages eth1 (disconnected)',
  },
  {
    kind: 'link.add',
    what: 'a bridge with STP, forward delay and VLAN filtering',
    facts: () => hostFixture('fresh'),
    ops: [{ op: 'link.add', name: 'br7', kind: 'bridge', bridge: { stp: true, forwardDelayS: 4, vlanFiltering: true, defaultPvid: 1 } }],
    effect: (before, after) => {
      expect(before.links.br7).toBeUndefined();
      expect(after.links.br7).toMatchObject({
        kind: 'bridge',
        up: false,
        mtu: 1500,
        bridge: { stp: true, forwardDelay: 4, vlanFiltering: true, defaultPvid: 1 },
      });
    },
    aspect: link('br7'),
    plant: (a) => (a.links.br7!.bridge!.stp = false),
    problem: 'br7 stp is off, expected on',
  },
  {
    kind: 'link.add',
    what: 'a VLAN on a bond (it takes its parent’s MTU)',
    facts: () => vmFixture('802.3ad'),
    ops: [
      { op: 'link.mtu', name: 'bond0', mtu: 9000 },
      { op: 'link.add', name: 'bond0.30', kind: 'vlan', parent: 'bond0', id: 30 },
    ],
    effect: (_, after) => expect(after.links['bond0.30']).toMatchObject({ kind: 'vlan', lower: 'bond0', mtu: 9000, vlan: { id: 30, protocol: '802.1Q' } }),
    aspect: (f) => [link('bond0.30')(f), link('bond0')(f)],
    plant: (a) => (a.links['bond0.30']!.vlan = { id: 31, protocol: '802.1Q' }),
    problem: 'bond0.30 VLAN is 31 on bond0, expected 30 on bond0',
  },
  // VXLANs, rules and flooding entries, on the lab host with VXLANs vx28 (unicast, nolearning, in br28,
  // flooding to 198.19.151.12 and .13) and vx29 (multicast group 239.1.1.29), both over mgmt0.
  {
    kind: 'link.add',
    what: 'a unicast VXLAN over an underlay device (it takes the MTU the kernel gave vx28)',
    facts: () => capture('overlay'),
    ops: [{ op: 'link.add', name: 'vx30', kind: 'vxlan', vxlan: { vni: 30, local: '198.19.151.11', dev: 'mgmt0', dstport: 4789, learning: false } }],
    effect: (before, after) => {
      expect(before.links.vx30).toBeUndefined();
      expect(after.links.vx30).toMatchObject({
        kind: 'vxlan',
        up: false,
        mtu: before.links.vx28!.mtu,
        vxlan: { vni: 30, local: '198.19.151.11', dev: 'mgmt0', dstport: 4789, learning: false },
        fdbRemotes: [],
      });
      expect(after.links.vx30!.mtu).toBe(1450);
    },
    aspect: vxlan('vx30'),
    plant: (a) => (a.links.vx30!.vxlan!.dstport = 8472),
    problem:
      'vx30 VXLAN is vni 30 local 198.19.151.11 dev mgmt0 dstport 8472 nolearning, expected vni 30 local 198.19.151.11 dev mgmt0 dstport 4789 nolearning',
  },
  {
    kind: 'link.add',
    what: 'a multicast VXLAN: the kernel floods through an entry to its group, as it does for vx29',
    facts: () => capture('overlay'),
    ops: [{ op: 'link.add', name: 'vx31', kind: 'vxlan', vxlan: { vni: 31, group: '239.1.1.31', dev: 'mgmt0', dstport: 4790, learning: true } }],
    effect: (before, after) => {
      expect(before.links.vx29!.fdbRemotes).toEqual(['239.1.1.29']);
      expect(after.links.vx31).toMatchObject({
        kind: 'vxlan',
        mtu: before.links.vx29!.mtu,
        vxlan: { vni: 31, group: '239.1.1.31', dev: 'mgmt0', dstport: 4790, learning: true },
        fdbRemotes: ['239.1.1.31'],
      });
    },
    aspect: vxlan('vx31'),
    plant: (a) => (a.links.vx31!.vxlan!.group = '239.1.1.29'),
    problem: 'vx31 VXLAN is vni 31 group 239.1.1.29 dev mgmt0 dstport 4790 learning, expected vni 31 group 239.1.1.31 dev mgmt0 dstport 4790 learning',
  },
  {
    kind: 'link.del',
    what: 'a bridge with a port and an address: the inverse re-creates all of it',
    facts: () => hostFixture('bridged'),
    ops: [{ op: 'link.del', name: 'br0' }],
    effect: (before, after) => {
      expect(before.links.eth1!.master).toBe('br0');
      expect(after.links.br0).toBeUndefined();
      // The kernel releases the ports and takes the link's addresses and routes along.
      expect(after.links.eth1!.master).toBeUndefined();
      expect(after.addrs.filter((a) => a.dev === 'br0')).toEqual([]);
      expect(after.routes.filter((r) => r.dev === 'br0')).toEqual([]);
    },
    aspect: linkWithNeighbours('br0'),
    plant: (a) => (a.links.br0 = hostFixture('bridged').links.br0!),
    problem: 'br0 still exists',
  },
  {
    kind: 'link.del',
    what: 'an active-backup bond with a primary: re-created with it',
    facts: () => vmFixture('active-backup'),
    ops: [{ op: 'link.del', name: 'bond0' }],
    effect: (before, after) => {
      expect(before.links.bond0!.bond!.primary).toBe('eth1');
      expect(after.links.bond0).toBeUndefined();
      expect(after.links.eth1!.master).toBeUndefined();
    },
    aspect: (f) => [linkWithNeighbours('bond0')(f), f.links.bond0?.bond?.primary],
    plant: (a) => (a.links.bond0 = vmFixture('active-backup').links.bond0!),
    problem: 'bond0 still exists',
  },
  {
    kind: 'link.del',
    what: 'a dummy bridge port: re-created with its MAC (random at creation)',
    facts: vlanBridge,
    ops: [{ op: 'link.del', name: 'dummy0' }],
    effect: (before, after) => {
      expect(before.links.dummy0).toMatchObject({ kind: 'dummy', master: 'br0', mac: '8e:42:a5:67:64:c4' });
      expect(after.links.dummy0).toBeUndefined();
    },
    aspect: (f) => [linkWithNeighbours('dummy0')(f), f.links.dummy0?.mac],
    plant: (a) => (a.links.dummy0 = vlanBridge().links.dummy0!),
    problem: 'dummy0 still exists',
  },
  {
    kind: 'link.master',
    what: 'a port of a VLAN-aware bridge released (its VLANs go with it; the inverse puts them back)',
    facts: vlanBridge,
    ops: [{ op: 'link.master', name: 'eth3', master: null }],
    effect: (before, after) => {
      expect(before.links.eth3!.vlans?.map((v) => v.id)).toEqual([30, 99, 200, 201, 202]);
      expect(after.links.eth3!.master).toBeUndefined();
      expect(after.links.eth3!.vlans).toBeUndefined();
    },
    aspect: (f) => [f.links.eth3!.master, portVlans('eth3')(f)],
    plant: (a) => (a.links.eth3!.master = 'br0'),
    problem: 'eth3 master is br0, expected none',
  },
  {
    kind: 'link.up',
    what: 'a NIC that is down',
    facts: () => hostFixture('bridged'),
    ops: [{ op: 'link.up', name: 'eth2', up: true }],
    effect: (before, after) => expect([before.links.eth2!.up, after.links.eth2!.up]).toEqual([false, true]),
    aspect: link('eth2'),
    plant: (a) => (a.links.eth2!.up = false),
    problem: 'eth2 state is down, expected up',
  },
  {
    kind: 'link.master',
    what: 'a NIC into a bridge',
    facts: () => hostFixture('bridged'),
    ops: [{ op: 'link.master', name: 'eth2', master: 'br0' }],
    effect: (before, after) => expect([before.links.eth2!.master, after.links.eth2!.master]).toEqual([undefined, 'br0']),
    aspect: link('eth2'),
    plant: (a) => delete a.links.eth2!.master,
    problem: 'eth2 master is none, expected br0',
  },
  {
    kind: 'link.master',
    what: 'a bond member released (the inverse puts it back down, enslaved, up)',
    facts: () => vmFixture('802.3ad'),
    ops: [{ op: 'link.master', name: 'eth2', master: null }],
    effect: (before, after) => {
      expect(before.links.eth2!.bondMember).toBeDefined();
      expect(after.links.eth2!.master).toBeUndefined();
      expect(after.links.eth2!.bondMember).toBeUndefined();
    },
    aspect: (f) => [link('eth2')(f), f.links.eth2!.bondMember !== undefined],
    plant: (a) => (a.links.eth2!.master = 'bond0'),
    problem: 'eth2 master is bond0, expected none',
  },
  {
    kind: 'link.master',
    what: "a VXLAN out of the bridge whose MTU followed it: the bridge's MTU goes back to 1500 (the kernel's auto-adjust)",
    facts: overlay,
    ops: [{ op: 'link.master', name: 'vx28', master: null }],
    effect: (before, after) => expect([before.links.br28!.mtu, after.links.br28!.mtu]).toEqual([1450, 1500]),
    aspect: (f) => [f.links.vx28!.master, f.links.br28!.mtu],
    plant: (a) => (a.links.vx28!.master = 'br28'),
    problem: 'vx28 master is br28, expected none',
  },
  {
    kind: 'link.mtu',
    what: "a bond's MTU (its members' follow)",
    facts: () => vmFixture('802.3ad'),
    ops: [{ op: 'link.mtu', name: 'bond0', mtu: 9000 }],
    effect: (_, after) => expect(['bond0', 'eth1', 'eth2', 'eth3'].map((n) => after.links[n]!.mtu)).toEqual([9000, 9000, 9000, 1500]),
    aspect: (f) => ['bond0', 'eth1', 'eth2', 'eth3'].map((n) => f.links[n]!.mtu),
    plant: (a) => (a.links.bond0!.mtu = 1500),
    problem: 'bond0 mtu is 1500, expected 9000',
  },
  {
    kind: 'link.mac',
    what: "a bridge's MAC",
    facts: () => hostFixture('bridged'),
    ops: [{ op: 'link.mac', name: 'br0', mac: '02:00:00:00:00:99' }],
    effect: (before, after) => {
      expect(before.links.br0!.mac).toMatch(/^[0-9a-f:]{17}$/);
      expect(after.links.br0!.mac).toBe('02:00:00:00:00:99');
    },
    aspect: (f) => f.links.br0!.mac,
    plant: (a) => (a.links.br0!.mac = '02:00:00:00:00:98'),
    problem: 'br0 MAC is 02:00:00:00:00:98, expected 02:00:00:00:00:99',
  },
  {
    kind: 'link.bridge',
    what: 'STP off and a forward delay of 0 on a bridge with STP on',
    facts: () => hostFixture('bridged'),
    ops: [{ op: 'link.bridge', name: 'br0', bridge: { stp: false, forwardDelayS: 0 } }],
    effect: (before, after) => {
      expect(before.links.br0!.bridge).toEqual({ stp: true, forwardDelay: 15 });
      expect(after.links.br0!.bridge).toEqual({ stp: false, forwardDelay: 0 });
    },
    aspect: link('br0'),
    plant: (a) => (a.links.br0!.bridge!.stp = true),
    problem: 'br0 stp is on, expected off',
  },
  {
    kind: 'link.bridge',
    what: 'STP on: the kernel clamps a forward delay of 0 to 2 s',
    facts: () => {
      const f = hostFixture('bridged');
      f.links.br0!.bridge = { stp: false, forwardDelay: 0 };
      return f;
    },
    ops: [{ op: 'link.bridge', name: 'br0', bridge: { stp: true } }],
    effect: (_, after) => expect(after.links.br0!.bridge).toEqual({ stp: true, forwardDelay: 2 }),
    aspect: link('br0'),
    plant: (a) => (a.links.br0!.bridge = { stp: false, forwardDelay: 0 }),
    problem: 'br0 stp is off, expected on',
  },
  {
    kind: 'link.bond',
    what: 'miimon and the hash policy of an 802.3ad bond',
    facts: () => vmFixture('802.3ad'),
    ops: [{ op: 'link.bond', name: 'bond0', bond: { miimon: 200, xmitHashPolicy: 'layer2+3' } }],
    effect: (_, after) => expect(after.links.bond0!.bond).toMatchObject({ mode: '802.3ad', miimon: 200, lacpRate: 'fast', xmitHashPolicy: 'layer2+3' }),
    aspect: link('bond0'),
    plant: (a) => (a.links.bond0!.bond!.miimon = 100),
    problem: 'bond0 miimon is 100, expected 200',
  },
  {
    kind: 'link.bond',
    what: 'a primary on an active-backup bond without one (the inverse clears it and makes the old member active again)',
    facts: () => {
      const f = vmFixture('active-backup');
      delete f.links.bond0!.bond!.primary;
      return f;
    },
    ops: [{ op: 'link.bond', name: 'bond0', bond: { primary: 'eth2' } }],
    effect: (before, after) => expect([before.links.bond0!.bond!.primary, after.links.bond0!.bond!.primary]).toEqual([undefined, 'eth2']),
    aspect: (f) => [f.links.bond0!.bond!.primary, f.links.bond0!.bond!.activeMember],
    plant: (a) => (a.links.bond0!.bond!.primary = 'eth1'),
    problem: 'bond0 primary is eth1, expected eth2',
  },
  {
    kind: 'addr.add',
    what: 'an address on a bridge',
    facts: () => hostFixture('bridged'),
    ops: [{ op: 'addr.add', dev: 'br0', address: '10.9.8.7', prefix: 16, family: 4 }],
    effect: (_, after) => expect(after.addrs).toContainEqual({ dev: 'br0', family: 4, address: '10.9.8.7', prefix: 16, scope: 'global' }),
    aspect: globalAddrs('br0'),
    plant: (a) => (a.addrs = a.addrs.filter((x) => x.address !== '10.9.8.7')),
    problem: '10.9.8.7/16 is absent on br0, expected present',
  },
  {
    kind: 'addr.add',
    what: 'the SSH session’s address onto a bridge: the session moves with it',
    facts: () => hostFixture('bridged'),
    ops: [
      { op: 'addr.add', dev: 'br0', address: '198.19.104.12', prefix: 24, family: 4, replace: true },
      { op: 'addr.del', dev: 'mgmt0', address: '198.19.104.12', prefix: 24, family: 4 },
    ],
    effect: (before, after) => expect([before.session!.dev, after.session!.dev]).toEqual(['mgmt0', 'br0']),
    aspect: (f) => [globalAddrs('br0')(f), globalAddrs('mgmt0')(f), f.session!.dev],
    plant: (a) => a.addrs.push({ dev: 'mgmt0', family: 4, address: '198.19.104.12', prefix: 24, scope: 'global' }),
    problem: '198.19.104.12/24 is present on mgmt0, expected absent',
  },
  {
    kind: 'addr.del',
    what: "a bridge's address (the kernel takes its prefix route along)",
    facts: () => hostFixture('bridged'),
    ops: [{ op: 'addr.del', dev: 'br0', address: '192.168.0.90', prefix: 24, family: 4 }],
    effect: (before, after) => {
      expect(before.routes.some((r) => r.dst === '192.168.0.0/24')).toBe(true);
      expect(after.addrs.some((a) => a.dev === 'br0' && a.address === '192.168.0.90')).toBe(false);
      expect(after.routes.some((r) => r.dst === '192.168.0.0/24')).toBe(false);
    },
    aspect: globalAddrs('br0'),
    plant: (a) => a.addrs.push({ dev: 'br0', family: 4, address: '192.168.0.90', prefix: 24, scope: 'global' }),
    problem: '192.168.0.90/24 is present on br0, expected absent',
  },
  {
    kind: 'route.replace',
    what: 'the default route onto another device and gateway',
    facts: () => hostFixture('bridged'),
    ops: [{ op: 'route.replace', route: { family: 4, dst: 'default', dev: 'br0', gateway: '192.168.0.1' } }],
    effect: (_, after) => expect(routesTo('default')(after)).toEqual([{ family: 4, dst: 'default', dev: 'br0', gateway: '192.168.0.1' }]),
    aspect: routesTo('default'),
    plant: (a) => (a.routes = hostFixture('bridged').routes),
    problem: 'route default via 192.168.0.1 dev br0 is via 198.19.104.1 dev mgmt0 src - mtu -, expected via 192.168.0.1 dev br0 src - mtu -',
  },
  {
    kind: 'route.replace',
    what: 'a new route (the inverse deletes it)',
    facts: () => hostFixture('bridged'),
    ops: [{ op: 'route.replace', route: { family: 4, dst: '10.1.0.0/16', dev: 'br0', gateway: '192.168.0.254', metric: 50, protocol: 'static' } }],
    effect: (_, after) =>
      expect(routesTo('10.1.0.0/16')(after)).toEqual([{ family: 4, dst: '10.1.0.0/16', dev: 'br0', gateway: '192.168.0.254', metric: 50, protocol: 'static' }]),
    aspect: routesTo('10.1.0.0/16'),
    plant: (a) => (a.routes = a.routes.filter((r) => r.dst !== '10.1.0.0/16')),
    problem: 'route 10.1.0.0/16 via 192.168.0.254 dev br0 is absent, expected via 192.168.0.254 dev br0 src - mtu -',
  },
  {
    kind: 'route.del',
    what: 'the default route',
    facts: () => hostFixture('bridged'),
    ops: [{ op: 'route.del', route: { family: 4, dst: 'default', dev: 'mgmt0', gateway: '198.19.104.1' } }],
    effect: (before, after) => {
      expect(routesTo('default')(before)).toHaveLength(1);
      expect(routesTo('default')(after)).toEqual([]);
    },
    aspect: routesTo('default'),
    plant: (a) => a.routes.push({ family: 4, dst: 'default', dev: 'mgmt0', gateway: '198.19.104.1' }),
    problem: 'route default via 198.19.104.1 dev mgmt0 is present, expected absent',
  },
  {
    kind: 'rule.add',
    what: 'a source rule into another table (the inverse deletes it)',
    facts: () => capture('overlay'),
    ops: [{ op: 'rule.add', rule: { family: 4, priority: 1100, from: '198.18.29.0/24', table: '200' } }],
    effect: (before, after) => {
      expect(before.rules!.map((r) => `${r.family}:${r.priority}`)).toEqual(['4:0', '4:1000', '4:1001', '4:32766', '4:32767', '6:0', '6:1000', '6:32766']);
      // In the kernel's order: by family, then priority.
      expect(after.rules!.map((r) => `${r.family}:${r.priority}`)).toEqual([
        '4:0',
        '4:1000',
        '4:1001',
        '4:1100',
        '4:32766',
        '4:32767',
        '6:0',
        '6:1000',
        '6:32766',
      ]);
      expect(after.rules).toContainEqual({ family: 4, priority: 1100, from: '198.18.29.0/24', table: '200' });
    },
    aspect: (f) => f.rules,
    plant: (a) => (a.rules = a.rules!.filter((r) => r.priority !== 1100)),
    problem: 'rule 1100: from 198.18.29.0/24 lookup 200 is absent, expected present',
  },
  {
    kind: 'rule.del',
    what: 'a marked rule on a bridge (the inverse adds it again)',
    facts: () => capture('overlay'),
    ops: [{ op: 'rule.del', rule: { family: 4, priority: 1001, iif: 'br28', fwmark: '0x10/0xff', table: '100' } }],
    effect: (before, after) => {
      expect(before.rules).toContainEqual({ family: 4, priority: 1001, iif: 'br28', fwmark: '0x10/0xff', table: '100' });
      expect(after.rules!.map((r) => `${r.family}:${r.priority}`)).toEqual(['4:0', '4:1000', '4:32766', '4:32767', '6:0', '6:1000', '6:32766']);
    },
    aspect: (f) => f.rules,
    plant: (a) => a.rules!.push({ family: 4, priority: 1001, iif: 'br28', fwmark: '0x10/0xff', table: '100' }),
    problem: 'rule 1001: from all iif br28 fwmark 0x10/0xff lookup 100 is present, expected absent',
  },
  {
    kind: 'fdb.append',
    what: 'a remote for a unicast VXLAN to flood to',
    facts: () => capture('overlay'),
    ops: [{ op: 'fdb.append', dev: 'vx28', dst: '198.19.151.14' }],
    effect: (before, after) => {
      expect(before.links.vx28!.fdbRemotes).toEqual(['198.19.151.12', '198.19.151.13']);
      expect(after.links.vx28!.fdbRemotes).toEqual(['198.19.151.12', '198.19.151.13', '198.19.151.14']);
    },
    aspect: floodsTo('vx28'),
    plant: (a) => (a.links.vx28!.fdbRemotes = a.links.vx28!.fdbRemotes!.filter((d) => d !== '198.19.151.14')),
    problem: 'vx28: flooding entry to 198.19.151.14 is absent, expected present',
  },
  {
    kind: 'fdb.del',
    what: 'a remote a unicast VXLAN floods to (the inverse appends it again)',
    facts: () => capture('overlay'),
    ops: [{ op: 'fdb.del', dev: 'vx28', dst: '198.19.151.12' }],
    effect: (_, after) => expect(after.links.vx28!.fdbRemotes).toEqual(['198.19.151.13']),
    aspect: floodsTo('vx28'),
    plant: (a) => a.links.vx28!.fdbRemotes!.push('198.19.151.12'),
    problem: 'vx28: flooding entry to 198.19.151.12 is present, expected absent',
  },
  // Open vSwitch, on the lab host with ovsbr0 (eth1 tag 100, eth2 untagged) and ovsbr1 (no ports), both down.
  {
    kind: 'ovs.add-br',
    what: 'a new bridge: its internal port is a link, down, as ovsbr1 is',
    facts: () => capture('ovs'),
    ops: [{ op: 'ovs.add-br', name: 'ovsbr2' }],
    effect: (before, after) => {
      expect(before.ovs!.bridges.ovsbr2).toBeUndefined();
      expect(after.ovs!.bridges.ovsbr2).toEqual({ ports: {} });
      expect(link('ovsbr2')(after)).toEqual(link('ovsbr1')(before));
      expect(after.links.ovsbr2).toMatchObject({ kind: 'openvswitch', up: false });
    },
    aspect: (f) => [ovsBridges(f), link('ovsbr2')(f)],
    plant: (a) => delete a.ovs!.bridges.ovsbr2,
    problem: 'OVS bridge ovsbr2 is absent, expected present',
  },
  {
    kind: 'ovs.del-br',
    what: 'a bridge with a tagged and an untagged port (the inverse adds it back with both, tags and all)',
    facts: () => capture('ovs'),
    ops: [{ op: 'ovs.del-br', name: 'ovsbr0' }],
    effect: (before, after) => {
      expect([before.links.eth1!.master, before.links.eth2!.master]).toEqual(['ovs-system', 'ovs-system']);
      expect(after.ovs!.bridges).toEqual({ ovsbr1: { ports: {} } });
      expect(after.links.ovsbr0).toBeUndefined();
      // Its ports are released.
      expect([after.links.eth1!.master, after.links.eth2!.master]).toEqual([undefined, undefined]);
    },
    aspect: (f) => [ovsBridges(f), ...['ovsbr0', 'eth1', 'eth2'].map((n) => link(n)(f))],
    plant: (a) => (a.ovs!.bridges.ovsbr0 = capture('ovs').ovs!.bridges.ovsbr0!),
    problem: 'OVS bridge ovsbr0 still exists',
  },
  {
    kind: 'ovs.del-br',
    what: 'a bridge brought up, with an address and a route: the inverse brings it back up with them',
    facts: () => {
      const f = capture('ovs');
      f.links.ovsbr0!.up = true;
      f.addrs.push({ dev: 'ovsbr0', family: 4, address: '10.28.0.1', prefix: 24, scope: 'global' });
      f.routes.push(
        { family: 4, dst: '10.28.0.0/24', dev: 'ovsbr0', protocol: 'kernel', scope: 'link', prefsrc: '10.28.0.1' },
        { family: 4, dst: '10.29.0.0/16', dev: 'ovsbr0', gateway: '10.28.0.254' },
      );
      return f;
    },
    ops: [{ op: 'ovs.del-br', name: 'ovsbr0' }],
    effect: (_, after) => {
      // The kernel takes the internal port's addresses and routes along.
      expect(after.addrs.filter((a) => a.dev === 'ovsbr0')).toEqual([]);
      expect(after.routes.filter((r) => r.dev === 'ovsbr0')).toEqual([]);
    },
    aspect: (f) => [ovsBridges(f), linkWithNeighbours('ovsbr0')(f)],
    plant: (a) => (a.ovs!.bridges.ovsbr0 = { ports: {} }),
    problem: 'OVS bridge ovsbr0 still exists',
  },
  {
    kind: 'ovs.add-port',
    what: 'a NIC into a bridge, tagged (the inverse deletes the port)',
    facts: () => capture('ovs'),
    ops: [{ op: 'ovs.add-port', bridge: 'ovsbr1', port: 'eth3', tag: 30 }],
    effect: (before, after) => {
      expect(before.links.eth3!.master).toBeUndefined();
      expect(after.ovs!.bridges.ovsbr1).toEqual({ ports: { eth3: { tag: 30 } } });
      // As the kernel lists eth1 and eth2: master ovs-system.
      expect(after.links.eth3!.master).toBe(before.links.eth1!.master);
    },
    aspect: (f) => [ovsBridges(f), link('eth3')(f)],
    plant: (a) => (a.ovs!.bridges.ovsbr1!.ports.eth3 = { tag: null }),
    problem: 'OVS port eth3 is on ovsbr1 untagged, expected on ovsbr1 tag 30',
  },
  {
    kind: 'ovs.del-port',
    what: 'a tagged port (the inverse adds it back with its tag)',
    facts: () => capture('ovs'),
    ops: [{ op: 'ovs.del-port', bridge: 'ovsbr0', port: 'eth1' }],
    effect: (_, after) => {
      expect(after.ovs!.bridges.ovsbr0).toEqual({ ports: { eth2: { tag: null } } });
      expect(after.links.eth1!.master).toBeUndefined();
    },
    aspect: (f) => [ovsBridges(f), link('eth1')(f)],
    plant: (a) => (a.ovs!.bridges.ovsbr0!.ports.eth1 = { tag: 100 }),
    problem: 'OVS port eth1 is on ovsbr0 tag 100, expected absent',
  },
  {
    kind: 'ovs.set-tag',
    what: 'an untagged port tagged',
    facts: () => capture('ovs'),
    ops: [{ op: 'ovs.set-tag', port: 'eth2', tag: 20 }],
    effect: (before, after) => expect([before.ovs!.bridges.ovsbr0!.ports.eth2, after.ovs!.bridges.ovsbr0!.ports.eth2]).toEqual([{ tag: null }, { tag: 20 }]),
    aspect: ovsBridges,
    plant: (a) => (a.ovs!.bridges.ovsbr0!.ports.eth2 = { tag: null }),
    problem: 'OVS port eth2 is on ovsbr0 untagged, expected on ovsbr0 tag 20',
  },
  {
    kind: 'ovs.set-tag',
    what: "a port's tag cleared (the inverse sets it again)",
    facts: () => capture('ovs'),
    ops: [{ op: 'ovs.set-tag', port: 'eth1', tag: null }],
    effect: (before, after) => expect([before.ovs!.bridges.ovsbr0!.ports.eth1, after.ovs!.bridges.ovsbr0!.ports.eth1]).toEqual([{ tag: 100 }, { tag: null }]),
    aspect: ovsBridges,
    plant: (a) => (a.ovs!.bridges.ovsbr0!.ports.eth1 = { tag: 100 }),
    problem: 'OVS port eth1 is on ovsbr0 tag 100, expected on ovsbr0 untagged',
  },
  {
    kind: 'ovs.set-trunks',
    what: 'a port made a trunk of two VLANs (the inverse clears them again)',
    facts: () => capture('ovs'),
    ops: [{ op: 'ovs.set-trunks', port: 'eth2', trunks: [20, 10] }],
    effect: (before, after) =>
      expect([before.ovs!.bridges.ovsbr0!.ports.eth2, after.ovs!.bridges.ovsbr0!.ports.eth2]).toEqual([{ tag: null }, { tag: null, trunks: [10, 20] }]),
    aspect: ovsBridges,
    plant: (a) => (a.ovs!.bridges.ovsbr0!.ports.eth2 = { tag: null, trunks: [10] }),
    problem: 'OVS port eth2 is on ovsbr0 untagged trunks 10, expected on ovsbr0 untagged trunks 10,20',
  },
  {
    kind: 'bridge-vlan.add',
    what: 'a range of tagged VLANs on a port',
    facts: vlanBridge,
    ops: [{ op: 'bridge-vlan.add', dev: 'eth3', vid: [203, 205], pvid: false, untagged: false }],
    effect: (_, after) => expect(after.links.eth3!.vlans!.map((v) => v.id)).toEqual([30, 99, 200, 201, 202, 203, 204, 205]),
    aspect: portVlans('eth3'),
    plant: (a) => (a.links.eth3!.vlans = a.links.eth3!.vlans!.filter((v) => v.id !== 204)),
    problem: 'VLAN 204 of eth3 is absent, expected tagged',
  },
  {
    kind: 'bridge-vlan.add',
    what: 'a new PVID: it takes the flag from the old one, which the inverse gives back',
    facts: vlanBridge,
    ops: [{ op: 'bridge-vlan.add', dev: 'eth3', vid: 30, pvid: true, untagged: true }],
    effect: (before, after) => {
      expect(before.links.eth3!.vlans!.filter((v) => v.pvid).map((v) => v.id)).toEqual([99]);
      expect(after.links.eth3!.vlans!.filter((v) => v.pvid).map((v) => v.id)).toEqual([30]);
      expect(after.links.eth3!.vlans!.find((v) => v.id === 99)).toEqual({ id: 99, pvid: false, untagged: true });
    },
    aspect: portVlans('eth3'),
    plant: (a) => (a.links.eth3!.vlans!.find((v) => v.id === 30)!.pvid = false),
    problem: 'VLAN 30 of eth3 is untagged, expected PVID untagged',
  },
  {
    kind: 'bridge-vlan.del',
    what: 'a range of VLANs from a port',
    facts: vlanBridge,
    ops: [{ op: 'bridge-vlan.del', dev: 'eth3', vid: [200, 202] }],
    effect: (_, after) => expect(after.links.eth3!.vlans!.map((v) => v.id)).toEqual([30, 99]),
    aspect: portVlans('eth3'),
    plant: (a) => a.links.eth3!.vlans!.push({ id: 201, pvid: false, untagged: false }),
    problem: 'VLAN 201 of eth3 is tagged, expected absent',
  },
  {
    kind: 'net.define',
    what: 'a new network (the inverse undefines it)',
    facts: () => hostFixture('nat'),
    ops: [{ op: 'net.define', name: 'n9', xml: NEW_NET }],
    effect: (_, after) =>
      expect(net(after, 'n9')).toMatchObject({ name: 'n9', active: false, autostart: false, persistent: true, bridge: 'br9', xml: NEW_NET }),
    aspect: network('n9'),
    plant: (a) => delete networks(a).n9,
    problem: 'network n9 does not exist',
  },
  {
    kind: 'net.define',
    what: 'a network redefined (the inverse defines the old definition)',
    facts: () => hostFixture('nat'),
    ops: [{ op: 'net.define', name: 'net10', xml: (net(hostFixture('nat'), 'net10')!.xml ?? '').replace("end='192.168.30.200'", "end='192.168.30.150'") }],
    effect: (before, after) => {
      expect(net(before, 'net10')!.xml).toContain("end='192.168.30.200'");
      expect(net(after, 'net10')!.xml).toContain("end='192.168.30.150'");
      expect(net(after, 'net10')).toMatchObject({ active: true, autostart: true, persistent: true });
    },
    aspect: network('net10'),
    plant: (a) => (net(a, 'net10')!.xml = net(hostFixture('nat'), 'net10')!.xml),
    problem: "libvirt's definition of net10 differs from the one defined (libvirt dropped or rewrote part of it)",
  },
  {
    kind: 'net.undefine',
    what: 'an active, autostarted network: it stays, transient (the inverse defines it again, autostarted)',
    facts: () => hostFixture('bridged'),
    ops: [{ op: 'net.undefine', name: 'bridged-network' }],
    effect: (_, after) => expect(net(after, 'bridged-network')).toMatchObject({ active: true, persistent: false, autostart: false }),
    aspect: network('bridged-network'),
    plant: (a) => (net(a, 'bridged-network')!.persistent = true),
    problem: 'network bridged-network is defined, expected transient (definition)',
  },
  {
    kind: 'net.undefine',
    what: 'an inactive network: it is gone',
    facts: () => hostFixture('bridged'),
    ops: [{ op: 'net.undefine', name: 'default' }],
    effect: (_, after) => expect(net(after, 'default')).toBeUndefined(),
    aspect: network('default'),
    plant: (a) => (networks(a).default = net(hostFixture('bridged'), 'default')!),
    problem: 'network default still exists',
  },
  {
    kind: 'net.start',
    what: 'an inactive network',
    facts: () => hostFixture('bridged'),
    ops: [{ op: 'net.start', name: 'default' }],
    effect: (before, after) => expect([net(before, 'default')!.active, net(after, 'default')!.active]).toEqual([false, true]),
    aspect: network('default'),
    plant: (a) => (net(a, 'default')!.active = false),
    problem: 'network default is inactive, expected active (state)',
  },
  {
    kind: 'net.destroy',
    what: 'an active network',
    facts: () => hostFixture('nat'),
    ops: [{ op: 'net.destroy', name: 'net10' }],
    effect: (before, after) => expect([net(before, 'net10')!.active, net(after, 'net10')!.active]).toEqual([true, false]),
    aspect: network('net10'),
    plant: (a) => (net(a, 'net10')!.active = true),
    problem: 'network net10 is active, expected inactive (state)',
  },
  {
    kind: 'net.autostart',
    what: 'autostart of an inactive network',
    facts: () => hostFixture('bridged'),
    ops: [{ op: 'net.autostart', name: 'default', on: true }],
    effect: (before, after) => expect([net(before, 'default')!.autostart, net(after, 'default')!.autostart]).toEqual([false, true]),
    aspect: network('default'),
    plant: (a) => (net(a, 'default')!.autostart = false),
    problem: 'network default is not autostarted, expected autostarted (autostart)',
  },
  {
    kind: 'net.update',
    what: 'a DHCP reservation added live and persistent',
    facts: () => capture('nat-guests'),
    ops: [{ op: 'net.update', name: 'net10', command: 'add', section: 'ip-dhcp-host', xml: HOST_31, live: true, config: true }],
    effect: (before, after) => {
      expect(net(after, 'net10')!.xml).toMatch(/<host mac="52:54:00:30:00:31" ip="192.168.30.31"\/>/);
      expect(after.dhcp!.net10!.config).toContainEqual({ mac: '52:54:00:30:00:31', ip: '192.168.30.31' });
      expect(after.dhcp!.net10!.live).toContainEqual({ mac: '52:54:00:30:00:31', ip: '192.168.30.31' });
      // The running definition (net-dumpxml) as well, where a later task reads it.
      expect(before.dhcp!.net10!.liveXml).not.toMatch(/52:54:00:30:00:31/);
      expect(after.dhcp!.net10!.liveXml).toMatch(/<host mac="52:54:00:30:00:31" ip="192.168.30.31"\/>/);
    },
    aspect: (f) => [parseXml(net(f, 'net10')!.xml!), parseXml(f.dhcp!.net10!.liveXml!), byMac(f.dhcp!.net10!.config), byMac(f.dhcp!.net10!.live ?? [])],
    // libvirt's running definition has it too.
    readBack: (expected) => {
      const f = structuredClone(expected);
      f.dhcp!.net10!.liveXml = net(expected, 'net10')!.xml;
      return f;
    },
    plant: (a) => (a.dhcp!.net10!.liveXml = net(capture('nat-guests'), 'net10')!.xml),
    problem: `the running definition of net10 lacks ip-dhcp-host ${HOST_31}`,
  },
  {
    kind: 'net.update',
    what: 'a DHCP reservation changed in the persistent definition (the inverse modifies it back)',
    facts: () => capture('nat-guests'),
    ops: [
      {
        op: 'net.update',
        name: 'net10',
        command: 'modify',
        section: 'ip-dhcp-host',
        xml: "<host mac='52:54:00:30:00:11' name='web1' ip='192.168.30.21'/>",
        live: false,
        config: true,
      },
    ],
    effect: (before, after) => {
      expect(after.dhcp!.net10!.config).toContainEqual({ mac: '52:54:00:30:00:11', name: 'web1', ip: '192.168.30.21' });
      expect(after.dhcp!.net10!.config).not.toContainEqual({ mac: '52:54:00:30:00:11', name: 'web1', ip: '192.168.30.11' });
      // Persistent only: the running definition keeps the old address.
      expect(after.dhcp!.net10!.liveXml).toBe(before.dhcp!.net10!.liveXml);
      expect(after.dhcp!.net10!.liveXml).toMatch(/52:54:00:30:00:11.*192\.168\.30\.11/);
    },
    aspect: (f) => [parseXml(net(f, 'net10')!.xml!), byMac(f.dhcp!.net10!.config)],
    plant: (a) => (net(a, 'net10')!.xml = net(capture('nat-guests'), 'net10')!.xml),
    problem: `the persistent definition of net10 lacks ip-dhcp-host <host mac='52:54:00:30:00:11' name='web1' ip='192.168.30.21'/>`,
  },
  {
    kind: 'file.write',
    what: 'a new persisted network file (the inverse removes it)',
    facts: () => capture('persist-networkd-drift'),
    ops: [{ op: 'file.write', path: BR5_NETDEV, content: '[NetDev]\nName=br5\nKind=bridge\n' }],
    effect: (before, after) => {
      expect(persisted(BR5_NETDEV)(before)).toBeUndefined();
      expect(persisted(BR5_NETDEV)(after)).toBe('[NetDev]\nName=br5\nKind=bridge\n');
    },
    aspect: persisted(BR5_NETDEV),
    plant: (a) => (a.persisted![BR5_NETDEV] = '[NetDev]\nName=br5\n'),
    problem: `${BR5_NETDEV} has other content than was written`,
  },
  {
    kind: 'file.write',
    what: 'an existing file rewritten (the inverse writes the old content)',
    facts: () => capture('persist-networkd-drift'),
    ops: [{ op: 'file.write', path: BR9_NETDEV, content: '[NetDev]\nName=br9\nKind=bridge\nMTUBytes=9000\n' }],
    effect: (before, after) => {
      expect(persisted(BR9_NETDEV)(before)).toMatch(/Name=br9/);
      expect(persisted(BR9_NETDEV)(after)).toBe('[NetDev]\nName=br9\nKind=bridge\nMTUBytes=9000\n');
    },
    aspect: persisted(BR9_NETDEV),
    plant: (a) => delete a.persisted![BR9_NETDEV],
    problem: `${BR9_NETDEV} does not exist`,
  },
  {
    kind: 'file.remove',
    what: 'a persisted network file (the inverse writes it back)',
    facts: () => capture('persist-networkd-drift'),
    ops: [{ op: 'file.remove', path: BR9_NETDEV }],
    effect: (_, after) => expect(persisted(BR9_NETDEV)(after)).toBeUndefined(),
    aspect: persisted(BR9_NETDEV),
    plant: (a) => (a.persisted![BR9_NETDEV] = persisted(BR9_NETDEV)(capture('persist-networkd-drift'))!),
    problem: `${BR9_NETDEV} still exists`,
  },
  {
    kind: 'firewall.apply',
    what: "a forward's rules file removed, then the rules applied (the inverse writes the file back, then applies again)",
    facts: () => capture('nat-guests'),
    ops: [
      { op: 'file.remove', path: RULES, rmdir: true },
      { op: 'firewall.apply', backend: 'iptables' },
    ],
    effect: (before, after) => {
      expect(before.portForwards!.rules).toHaveLength(2);
      expect(after.portForwards!.rules).toEqual([]);
      expect(after.portForwards!.jumpsFirst).toBe(false);
    },
    aspect: (f) => [[...f.portForwards!.rules].sort(), f.portForwards!.jumpsFirst, hookFiles(f)],
    plant: (a) => (a.portForwards!.rules = capture('nat-guests').portForwards!.rules),
    problem: 'the firewall has 2 kvmnet rule(s) that differ from the 0 its rules files give',
  },
  {
    kind: 'firewall.apply',
    what: 'a flushed firewall: the rules come back from the files as they are',
    facts: () => capture('nat-guests-flushed'),
    ops: [{ op: 'firewall.apply', backend: 'iptables' }],
    effect: (before, after) => {
      expect(before.portForwards!.rules).toEqual([]);
      expect(after.portForwards!.rules).toEqual(installedForwards(before.portForwards!).flatMap((x) => forwardRules(x.spec, 'iptables')));
      // What iptables-save gave back on the host where they were applied (in its own order).
      expect([...after.portForwards!.rules].sort()).toEqual([...capture('nat-guests').portForwards!.rules].sort());
      expect(after.portForwards!.jumpsFirst).toBe(true);
    },
    aspect: (f) => f.portForwards!.rules,
    noRoundTrip: 'its inverse is to apply again once the files are back: the rules the files give, not a flushed firewall',
    plant: (a) => (a.portForwards!.jumpsFirst = false),
    problem: 'kvmnet’s rules are not evaluated before libvirt’s',
  },
  {
    kind: 'guest.reattach',
    what: 'a network restarted with a guest on it: its tap goes back into the bridge',
    facts: () => capture('with-guest'),
    ops: [
      { op: 'net.destroy', name: 'net10' },
      { op: 'net.start', name: 'net10' },
      { op: 'guest.reattach', network: 'net10', taps: [{ tap: 'vnet0', guest: 'guest1' }] },
    ],
    effect: (before, after) => {
      // As after the restart: the tap dropped out of the bridge, and is down.
      const cut = structuredClone(before);
      delete cut.links.vnet0!.master;
      cut.links.vnet0!.up = false;
      applyOps([{ op: 'guest.reattach', network: 'net10', taps: [{ tap: 'vnet0', guest: 'guest1' }] }], cut);
      expect(cut.links.vnet0).toMatchObject({ master: 'br10', up: true });
      expect(after.links.vnet0).toMatchObject({ master: 'br10', up: true });
      expect(net(after, 'net10')!.active).toBe(true);
    },
    aspect: (f) => [link('vnet0')(f), network('net10')(f)],
    noRoundTrip: 'the facts do not model a tap dropping out of a restarted bridge: its undo is tested on its own',
    plant: (a) => delete a.links.vnet0!.master,
    problem: "guest guest1's vnet0 is in no bridge, expected br10",
  }, // Guests' NICs, on the lab host with a running persistent guest (k29-nicvm: one virtio NIC on default, tap vnet2).
  {
    kind: 'guest-nic.update',
    what: "a running guest's NIC moved to a bridged network in place, live and persistent",
    facts: () => capture('guest-nics'),
    ops: [
      {
        op: 'guest-nic.update',
        domain: 'k29-nicvm',
        nic: { mac: '52:54:00:7b:04:3b', type: 'network', source: 'lan', model: 'virtio', link: 'up' },
        live: true,
        config: true,
      },
    ],
    effect: (before, after) => {
      expect(before.links.vnet2?.master).toBe('virbr0');
      expect(after.guestNics!['k29-nicvm']!.live).toEqual([
        { mac: '52:54:00:7b:04:3b', type: 'network', source: 'lan', model: 'virtio', link: 'up', tap: 'vnet2' },
      ]);
      expect(after.guestNics!['k29-nicvm']!.config).toEqual([{ mac: '52:54:00:7b:04:3b', type: 'network', source: 'lan', model: 'virtio', link: 'up' }]);
      // The tap moves with it, into lan's bridge.
      expect(after.links.vnet2?.master).toBe('brl');
    },
    aspect: (f) => [f.guestNics!['k29-nicvm'], f.links.vnet2?.master],
    plant: (a) => (a.guestNics!['k29-nicvm']!.config![0]!.source = 'default'),
    problem: "k29-nicvm's config definition has NIC 52:54:00:7b:04:3b network default model virtio link up, expected network lan model virtio link up",
  },
  {
    kind: 'guest-nic.attach',
    what: 'a second NIC hot-plugged into a running guest and its persistent definition',
    facts: () => capture('guest-nics'),
    ops: [
      {
        op: 'guest-nic.attach',
        domain: 'k29-nicvm',
        nic: { mac: '52:54:00:29:00:02', type: 'network', source: 'default', model: 'virtio', link: 'down', mtu: 1400 },
        live: true,
        config: true,
      },
    ],
    effect: (before, after) => {
      const d = after.guestNics!['k29-nicvm']!;
      expect(d.live!.map((n) => n.mac)).toEqual(['52:54:00:7b:04:3b', '52:54:00:29:00:02']);
      expect(d.config!.at(-1)).toEqual({ mac: '52:54:00:29:00:02', type: 'network', source: 'default', model: 'virtio', link: 'down', mtu: 1400 });
      expect(before.guestNics!['k29-nicvm']!.live).toHaveLength(1);
    },
    aspect: (f) => f.guestNics!['k29-nicvm'],
    // libvirt names the tap when it plugs it: the read-back has one.
    readBack: (e) => {
      const a = structuredClone(e);
      a.guestNics!['k29-nicvm']!.live!.at(-1)!.tap = 'vnet4';
      return a;
    },
    plant: (a) => a.guestNics!['k29-nicvm']!.live!.pop(),
    problem: "k29-nicvm's live definition has NIC 52:54:00:29:00:02 absent, expected network default model virtio link down mtu 1400",
  },
  {
    kind: 'guest-nic.detach',
    what: "a defined guest's NIC removed from its persistent definition (the domain does not run)",
    facts: () => capture('guest-nics'),
    ops: [
      {
        op: 'guest-nic.detach',
        domain: 'k29-off',
        nic: { mac: '52:54:00:29:0f:01', type: 'bridge', source: 'brl', model: 'e1000', link: 'down', mtu: 1400 },
        live: false,
        config: true,
      },
    ],
    effect: (before, after) => {
      expect(before.guestNics!['k29-off']!.config).toHaveLength(1);
      expect(after.guestNics!['k29-off']!.config).toEqual([]);
      expect(after.guestNics!['k29-off']!.live).toBeUndefined();
    },
    aspect: (f) => f.guestNics!['k29-off'],
    plant: (a) => a.guestNics!['k29-off']!.config!.push({ mac: '52:54:00:29:0f:01', type: 'bridge', source: 'brl', link: 'down' }),
    problem: "k29-off's config definition has NIC 52:54:00:29:0f:01 bridge brl model default link down, expected absent",
  },
];

/**
 * Kinds that change only the network manager's own state (what it loaded, activated, generated):
 * no effect on the facts, no inverse, nothing to check. Tested on their own below.
 */
/** Facts captured on a lab host: br28 (MTU 1450) with its one port vx28 (1450), eth1 (1500) not in a bridge. */
function overlay(): Facts {
  return parseFacts(readFileSync(new URL('../fixtures/facts/overlay.stdout', import.meta.url), 'utf8'), '', ALL_FRAGMENTS).facts;
}

describe("a bridge's MTU follows its ports unless set by hand (br_mtu_auto_adjust; measured in a namespace)", () => {
  it('a port joining with a smaller MTU lowers it, a port changing its MTU moves it, a port deleted raises it', () => {
    const f = overlay();
    applyOps(
      [
        { op: 'link.mtu', name: 'eth1', mtu: 1400 },
        { op: 'link.master', name: 'eth1', master: 'br28' },
      ],
      f,
    );
    expect(f.links.br28!.mtu).toBe(1400);
    applyOps([{ op: 'link.mtu', name: 'eth1', mtu: 9000 }], f);
    expect(f.links.br28!.mtu).toBe(1450);
    applyOps([{ op: 'link.del', name: 'vx28' }], f);
    expect(f.links.br28!.mtu).toBe(9000);
  });
  it("a bridge whose MTU is not its ports' smallest was set by hand: the kernel leaves it, so do the facts", () => {
    const f = overlay();
    applyOps(
      [
        { op: 'link.mtu', name: 'br28', mtu: 1300 },
        { op: 'link.master', name: 'eth1', master: 'br28' },
        { op: 'link.master', name: 'vx28', master: null },
      ],
      f,
    );
    expect(f.links.br28!.mtu).toBe(1300);
  });
});

const MANAGER_STATE_ONLY: OpName[] = ['nm.load', 'nm.up', 'netplan.generate', 'ifupdown2.check'];

describe('every operation kind: effect, inverse, read-back check', () => {
  it('has a row, and quoted lines, for every kind of the vocabulary', () => {
    expect(rows.filter((r) => MANAGER_STATE_ONLY.includes(r.kind))).toEqual([]);
    expect([...new Set([...rows.map((r) => r.kind), ...MANAGER_STATE_ONLY])].sort()).toEqual([...OP_NAMES].sort());
    expect([...new Set([...quoting.map((q) => q.op.op), ...RUN_FOR_REAL])].sort()).toEqual([...OP_NAMES].sort());
    for (const r of rows)
      expect(
        r.ops.map((o) => o.op),
        r.what,
      ).toContain(r.kind);
  });

  it.each(rows)('$kind, $what: effect', (r) => {
    const before = r.facts();
    const after = structuredClone(before);
    applyOps(r.ops, after);
    r.effect(before, after);
  });

  it.each(rows.filter((r) => !r.noRoundTrip))('$kind, $what: the inverse gives the facts back', (r) => {
    const before = r.facts();
    const after = structuredClone(before);
    applyOps(r.ops, after);
    // The operations do change what the comparison looks at (or the round trip would prove nothing).
    expect(r.aspect(after)).not.toEqual(r.aspect(before));
    const { undo, again } = inverseOps(r.ops, before);
    applyOps([...undo, ...again], after);
    expect(r.aspect(after)).toEqual(r.aspect(before));
  });

  it.each(rows)('$kind, $what: the read-back check names a difference, and nothing when the host agrees', (r) => {
    const expected = r.facts();
    applyOps(r.ops, expected);
    const agrees = r.readBack?.(expected) ?? structuredClone(expected);
    expect(verifyOps(r.ops, expected, agrees)).toEqual([]);
    const differs = structuredClone(agrees);
    r.plant(differs);
    expect(verifyOps(r.ops, expected, differs)).toContain(r.problem);
  });

  it('firewall.apply and guest.reattach are undone by running them again once the rest of the rollback is done', () => {
    const before = capture('with-guest');
    const reattach: Op = { op: 'guest.reattach', network: 'net10', taps: [{ tap: 'vnet0', guest: 'guest1' }] };
    const apply: Op = { op: 'firewall.apply', backend: 'iptables' };
    const ops: Op[] = [{ op: 'net.destroy', name: 'net10' }, { op: 'net.start', name: 'net10' }, reattach, apply, reattach];
    const { undo, again } = inverseOps(ops, before);
    // The network back as it was (started again last), then each of them once.
    expect(undo).toEqual([
      { op: 'net.destroy', name: 'net10' },
      { op: 'net.start', name: 'net10' },
    ]);
    expect(again).toEqual([reattach, apply]);
    // The rollback's restart drops the tap out of the bridge: running the reattach again puts it back.
    const restarted = structuredClone(before);
    delete restarted.links.vnet0!.master;
    restarted.links.vnet0!.up = false;
    applyOps(again, restarted);
    expect(link('vnet0')(restarted)).toEqual(link('vnet0')(before));
    // Applied again on a flushed firewall, the rules come back from the files.
    const flushed = capture('nat-guests-flushed');
    applyOps(inverseOps([apply], flushed).again, flushed);
    expect([...flushed.portForwards!.rules].sort()).toEqual([...capture('nat-guests').portForwards!.rules].sort());
  });

  it('nm.load, nm.up, netplan.generate and ifupdown2.check change nothing in the facts, have no inverse and no check; the rollback loads and generates again', () => {
    const ops: Op[] = [
      { op: 'nm.load', paths: ['/etc/NetworkManager/system-connections/kvmnet-br0.nmconnection'], reload: false },
      { op: 'nm.up', dev: 'br0', profile: 'kvmnet-br0' },
      { op: 'netplan.generate' },
      // Read-only: nothing to do again after a rollback.
      { op: 'ifupdown2.check', devs: ['br0'] },
    ];
    expect(ops.map((o) => o.op).sort()).toEqual([...MANAGER_STATE_ONLY].sort());
    const before = hostFixture('bridged');
    const after = structuredClone(before);
    applyOps(ops, after);
    expect(after).toEqual(before);
    // Once the rollback has put the files back, NetworkManager reads them and netplan generates from them again.
    expect(inverseOps(ops, before)).toEqual({ undo: [], again: [ops[0], ops[2]] });
    // Whatever the read-back holds, they name nothing (their files are checked by file.write).
    expect(verifyOps(ops, before, hostFixture('fresh'))).toEqual([]);
  });

  it('link.bond: a primary cleared goes through sysfs (ip link only names an existing link), before the other settings', () => {
    expect(opsLines([{ op: 'link.bond', name: 'bond0', bond: { primary: '', activeMember: 'eth1' } }])).toEqual([
      'echo > /sys/class/net/bond0/bonding/primary',
      'ip link set bond0 type bond active_slave eth1',
    ]);
    const before = vmFixture('active-backup');
    delete before.links.bond0!.bond!.primary;
    expect(inverseOps([{ op: 'link.bond', name: 'bond0', bond: { primary: 'eth2' } }], before).undo).toEqual([
      { op: 'link.bond', name: 'bond0', bond: { primary: '', activeMember: 'eth1' } },
    ]);
  });

  it('verifyOps: br0 expected with STP on, read back with STP off', () => {
    const expected = hostFixture('bridged');
    const ops: Op[] = [{ op: 'link.bridge', name: 'br0', bridge: { stp: true } }];
    applyOps(ops, expected);
    expect(expected.links.br0!.bridge!.stp).toBe(true);
    const actual = structuredClone(expected);
    expect(verifyOps(ops, expected, actual)).toEqual([]);
    actual.links.br0!.bridge!.stp = false;
    expect(verifyOps(ops, expected, actual)).toEqual(['br0 stp is off, expected on']);
  });

  it('verifyOps: a read-back without a section (no bond details, no VLAN table, no libvirt) judges nothing of it', () => {
    const bond: Op[] = [{ op: 'link.bond', name: 'bond0', bond: { miimon: 200 } }];
    const expected = vmFixture('802.3ad');
    applyOps(bond, expected);
    const actual = structuredClone(expected);
    delete actual.links.bond0!.bond;
    expect(verifyOps(bond, expected, actual)).toEqual([]);
    const vlans: Op[] = [{ op: 'bridge-vlan.del', dev: 'eth3', vid: 30 }];
    const v = vlanBridge();
    applyOps(vlans, v);
    const noTable = structuredClone(v);
    delete noTable.links.eth3!.vlans;
    expect(verifyOps(vlans, v, noTable)).toEqual([]);
    const start: Op[] = [{ op: 'net.start', name: 'default' }];
    const n = hostFixture('bridged');
    applyOps(start, n);
    expect(verifyOps(start, n, { ...structuredClone(n), libvirt: { available: false, reason: 'libvirtd is not running' } })).toEqual([]);
  });
});

// ---- shell lines: run by sh with stub tools (functions, so nothing on this machine changes).

const work = mkdtempSync(join(tmpdir(), 'kvmnet-ops-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Each stub logs its name and every argument in brackets, one call a line. */
const LOG = `kvmnet_log() { n=$1; shift; { printf '%s' "$n"; for a in "$@"; do printf ' [%s]' "$a"; done; printf '\\n'; } >> "$KVMNET_T/log"; }`;
const STUBS = `
${LOG}
ip() {
  kvmnet_log ip "$@"
  case "$*" in *" master "*) [ -z "$STUB_FAIL" ] || { echo 'RTNETLINK answers: Operation not permitted' >&2; return 2; } ;; esac
  if [ "$1 $2 $3" = "-o link show" ]; then printf '9: %s: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master %s state UP\\n' "$5" "$STUB_BR"; fi
}
bridge() { kvmnet_log bridge "$@"; }
virsh() {
  kvmnet_log virsh "$@"
  case "$2" in
    net-define|attach-device|update-device|detach-device) cat > "$KVMNET_T/stdin" ;;
    net-info) printf 'Name:           x\\nBridge:         %s\\n' "$STUB_BR" ;;
  esac
}
sh() { kvmnet_log sh "$@"; cat > "$KVMNET_T/stdin"; }
nmcli() { kvmnet_log nmcli "$@"; }
netplan() { kvmnet_log netplan "$@"; }
ifup() { kvmnet_log ifup "$@"; }
ifquery() { kvmnet_log ifquery "$@"; }
`;

/**
 * Stubs whose names sh takes for no function (dash: "Bad function name"): scripts that log the same
 * way, first on PATH (this machine may have the real ovs-vsctl).
 */
const STUB_SCRIPTS = ['ovs-vsctl'];

function runLines(ops: Op[], env: Record<string, string> = {}): { log: string[]; stdin?: string; status: number | null; stderr: string } {
  const t = mkdtempSync(join(work, 'run-'));
  const bin = join(t, 'bin');
  mkdirSync(bin);
  for (const name of STUB_SCRIPTS) writeFileSync(join(bin, name), `#!/bin/sh\n${LOG}\nkvmnet_log ${name} "$@"\n`, { mode: 0o755 });
  const r = spawnSync('/bin/sh', ['-c', `${STUBS}\nset -e\n${opsLines(ops).join('\n')}\n`], {
    encoding: 'utf8',
    env: { ...process.env, KVMNET_T: t, ...env, PATH: `${bin}:${process.env.PATH}` },
  });
  const read = (f: string) => (existsSync(join(t, f)) ? readFileSync(join(t, f), 'utf8') : undefined);
  return { log: (read('log') ?? '').split('\n').filter(Boolean), stdin: read('stdin'), status: r.status, stderr: r.stderr };
}

/** Names no link or network has, but a value with a space and both quotes must still reach the tool as one word. */
const W = `x'y z"`;
const P = `p a'r`;
const XML = `<network name='it''s'>\n  <description>$(reboot) \`x\` \\n "q" %s</description>\n</network>\n`;

const quoting: Array<{ op: Op; log: string[]; stdin?: string }> = [
  {
    op: { op: 'link.add', name: W, kind: 'bridge', bridge: { stp: false, forwardDelayS: 2 } },
    log: [`ip [link] [add] [${W}] [type] [bridge] [stp_state] [0] [forward_delay] [200]`],
  },
  {
    op: { op: 'link.add', name: W, kind: 'bridge', bridge: { vlanFiltering: false } },
    log: [`ip [link] [add] [${W}] [type] [bridge] [stp_state] [0] [vlan_filtering] [0]`],
  },
  { op: { op: 'link.add', name: W, kind: 'vlan', parent: P, id: 7 }, log: [`ip [link] [add] [link] [${P}] [name] [${W}] [type] [vlan] [id] [7]`] },
  {
    op: { op: 'link.add', name: W, kind: 'bond', bond: { mode: 'active-backup', miimon: 100, primary: P } },
    log: [`ip [link] [add] [${W}] [type] [bond] [mode] [active-backup] [miimon] [100] [primary] [${P}]`],
  },
  { op: { op: 'link.add', name: W, kind: 'dummy' }, log: [`ip [link] [add] [${W}] [type] [dummy]`] },
  {
    op: { op: 'link.add', name: W, kind: 'vxlan', vxlan: { vni: 30, local: '2001:db8::1', dev: P, dstport: 4789, learning: false } },
    log: [`ip [link] [add] [${W}] [type] [vxlan] [id] [30] [local] [2001:db8::1] [dev] [${P}] [dstport] [4789] [nolearning]`],
  },
  {
    op: { op: 'link.add', name: W, kind: 'vxlan', vxlan: { vni: 31, group: '239.1.1.31', dev: P, dstport: 4790, learning: true } },
    log: [`ip [link] [add] [${W}] [type] [vxlan] [id] [31] [group] [239.1.1.31] [dev] [${P}] [dstport] [4790] [learning]`],
  },
  { op: { op: 'link.del', name: W }, log: [`ip [link] [del] [${W}]`] },
  { op: { op: 'link.up', name: W, up: false }, log: [`ip [link] [set] [${W}] [down]`] },
  { op: { op: 'link.master', name: W, master: P }, log: [`ip [link] [set] [${W}] [master] [${P}]`] },
  { op: { op: 'link.master', name: W, master: null }, log: [`ip [link] [set] [${W}] [nomaster]`] },
  { op: { op: 'link.mtu', name: W, mtu: 9000 }, log: [`ip [link] [set] [${W}] [mtu] [9000]`] },
  { op: { op: 'link.mac', name: W, mac: '02:00:00:00:00:01' }, log: [`ip [link] [set] [${W}] [address] [02:00:00:00:00:01]`] },
  {
    op: { op: 'link.bridge', name: W, bridge: { vlanFiltering: true, defaultPvid: 0 } },
    log: [`ip [link] [set] [${W}] [type] [bridge] [vlan_filtering] [1] [vlan_default_pvid] [0]`],
  },
  {
    op: { op: 'link.bond', name: W, bond: { lacpRate: 'fast', xmitHashPolicy: 'layer3+4' } },
    log: [`ip [link] [set] [${W}] [type] [bond] [lacp_rate] [fast] [xmit_hash_policy] [layer3+4]`],
  },
  { op: { op: 'addr.add', dev: W, address: '10.0.0.1', prefix: 24, family: 4 }, log: [`ip [address] [add] [10.0.0.1/24] [dev] [${W}]`] },
  {
    op: { op: 'addr.add', dev: W, address: '2001:db8::1', prefix: 64, family: 6, replace: true },
    log: [`ip [address] [replace] [2001:db8::1/64] [dev] [${W}]`],
  },
  { op: { op: 'addr.del', dev: W, address: '10.0.0.1', prefix: 24, family: 4 }, log: [`ip [address] [del] [10.0.0.1/24] [dev] [${W}]`] },
  {
    op: { op: 'route.replace', route: { family: 6, dst: '2001:db8::/64', dev: W, gateway: 'fe80::1', metric: 5, protocol: 'static', prefsrc: '2001:db8::2' } },
    log: [`ip [-6] [route] [replace] [2001:db8::/64] [via] [fe80::1] [dev] [${W}] [metric] [5] [proto] [static] [src] [2001:db8::2]`],
  },
  {
    op: { op: 'route.del', route: { family: 6, dst: '2001:db8::/64', dev: W, gateway: 'fe80::1', metric: 5, protocol: 'static' } },
    log: [`ip [-6] [route] [del] [2001:db8::/64] [via] [fe80::1] [dev] [${W}] [metric] [5]`],
  },
  {
    op: { op: 'rule.add', rule: { family: 6, priority: 100, from: 'fd00::/64', to: 'fd01::/64', iif: W, oif: P, fwmark: '0x10/0xff', table: W } },
    log: [`ip [-6] [rule] [add] [from] [fd00::/64] [to] [fd01::/64] [iif] [${W}] [oif] [${P}] [fwmark] [0x10/0xff] [priority] [100] [table] [${W}]`],
  },
  {
    op: { op: 'rule.del', rule: { family: 4, priority: 5, from: '10.0.0.0/8', table: W } },
    log: [`ip [rule] [del] [from] [10.0.0.0/8] [priority] [5] [table] [${W}]`],
  },
  { op: { op: 'fdb.append', dev: W, dst: '192.0.2.1' }, log: [`bridge [fdb] [append] [00:00:00:00:00:00] [dev] [${W}] [dst] [192.0.2.1]`] },
  { op: { op: 'fdb.del', dev: W, dst: '2001:db8::2' }, log: [`bridge [fdb] [del] [00:00:00:00:00:00] [dev] [${W}] [dst] [2001:db8::2]`] },
  { op: { op: 'ovs.add-br', name: W }, log: [`ovs-vsctl [--may-exist] [add-br] [${W}]`] },
  { op: { op: 'ovs.del-br', name: W }, log: [`ovs-vsctl [--if-exists] [del-br] [${W}]`] },
  { op: { op: 'ovs.add-port', bridge: W, port: P, tag: 7 }, log: [`ovs-vsctl [--may-exist] [add-port] [${W}] [${P}] [tag=7]`] },
  { op: { op: 'ovs.add-port', bridge: W, port: P, tag: null }, log: [`ovs-vsctl [--may-exist] [add-port] [${W}] [${P}]`] },
  { op: { op: 'ovs.del-port', bridge: W, port: P }, log: [`ovs-vsctl [--if-exists] [del-port] [${W}] [${P}]`] },
  { op: { op: 'ovs.set-tag', port: P, tag: 7 }, log: [`ovs-vsctl [set] [port] [${P}] [tag=7]`] },
  { op: { op: 'ovs.set-tag', port: P, tag: null }, log: [`ovs-vsctl [clear] [port] [${P}] [tag]`] },
  { op: { op: 'ovs.set-trunks', port: P, trunks: [10, 20] }, log: [`ovs-vsctl [set] [port] [${P}] [trunks=10,20]`] },
  { op: { op: 'ovs.set-trunks', port: P, trunks: [] }, log: [`ovs-vsctl [clear] [port] [${P}] [trunks]`] },
  { op: { op: 'ovs.add-port', bridge: W, port: P, tag: null, trunks: [5] }, log: [`ovs-vsctl [--may-exist] [add-port] [${W}] [${P}] [trunks=5]`] },
  // The profiles' paths loaded; a reload when a profile was deleted (NetworkManager reads the directory again).
  { op: { op: 'nm.load', paths: [W, P], reload: true }, log: [`nmcli [connection] [load] [${W}] [${P}]`, 'nmcli [connection] [reload]'] },
  { op: { op: 'nm.load', paths: [], reload: true }, log: ['nmcli [connection] [reload]'] },
  { op: { op: 'nm.up', dev: W, profile: P }, log: [`nmcli [-w] [60] [connection] [up] [id] [${P}]`] },
  { op: { op: 'netplan.generate' }, log: ['netplan [generate]'] },
  { op: { op: 'nm.managed', dev: W, managed: false }, log: [`nmcli [device] [set] [${W}] [managed] [no]`] },
  { op: { op: 'nm.managed', dev: W, managed: true }, log: [`nmcli [device] [set] [${W}] [managed] [yes]`] },
  { op: { op: 'ifupdown2.check', devs: [W, P] }, log: ['ifup [-a] [-s]', `ifquery [--check] [${W}] [${P}]`] },
  { op: { op: 'ifupdown2.check', devs: [] }, log: ['ifup [-a] [-s]'] },
  {
    op: { op: 'bridge-vlan.add', dev: W, vid: [10, 12], pvid: true, untagged: true },
    log: [`bridge [vlan] [add] [dev] [${W}] [vid] [10-12] [pvid] [untagged]`],
  },
  { op: { op: 'bridge-vlan.del', dev: W, vid: 10 }, log: [`bridge [vlan] [del] [dev] [${W}] [vid] [10]`] },
  // The definition goes on virsh's stdin, byte for byte.
  { op: { op: 'net.define', name: W, xml: XML }, log: ['virsh [-q] [net-define] [/dev/stdin]'], stdin: XML },
  { op: { op: 'net.undefine', name: W }, log: [`virsh [-q] [net-undefine] [${W}]`] },
  { op: { op: 'net.start', name: W }, log: [`virsh [-q] [net-start] [${W}]`] },
  { op: { op: 'net.destroy', name: W }, log: [`virsh [-q] [net-destroy] [${W}]`] },
  { op: { op: 'net.autostart', name: W, on: true }, log: [`virsh [-q] [net-autostart] [${W}]`] },
  { op: { op: 'net.autostart', name: W, on: false }, log: [`virsh [-q] [net-autostart] [--disable] [${W}]`] },
  {
    op: {
      op: 'net.update',
      name: W,
      command: 'add',
      section: 'ip-dhcp-host',
      xml: `<host mac='52:54:00:00:00:01' name="a b" ip='10.0.0.5'/>`,
      parentIndex: 1,
      live: true,
      config: true,
    },
    log: [
      `virsh [-q] [net-update] [${W}] [add] [ip-dhcp-host] [<host mac='52:54:00:00:00:01' name="a b" ip='10.0.0.5'/>] [--parent-index] [1] [--config] [--live]`,
    ],
  },
  {
    op: { op: 'net.update', name: W, command: 'delete', section: 'dns-host', xml: '<host ip="10.0.0.5"/>', live: false, config: true },
    log: [`virsh [-q] [net-update] [${W}] [delete] [dns-host] [<host ip="10.0.0.5"/>] [--config]`],
  },
  // The hook script goes on the stdin of the `sh` that runs its apply.
  { op: { op: 'firewall.apply', backend: 'nftables' }, log: ['sh [-s] [--] [-] [apply]'], stdin: HOOK_SCRIPT },
  {
    op: { op: 'guest.reattach', network: W, taps: [{ tap: `vnet 0'x`, guest: `it's vm` }] },
    log: [
      `virsh [-q] [net-info] [${W}]`,
      `ip [link] [set] [dev] [vnet 0'x] [master] [vir br'0]`,
      `ip [link] [set] [dev] [vnet 0'x] [up]`,
      `ip [-o] [link] [show] [dev] [vnet 0'x]`,
    ],
  },
  // The <interface> element goes on virsh's stdin (XML-escaped), the domain as one word.
  {
    op: {
      op: 'guest-nic.attach',
      domain: W,
      nic: { mac: '52:54:00:29:00:02', type: 'bridge', source: P, model: 'virtio', link: 'down', mtu: 9000 },
      live: true,
      config: true,
    },
    log: [`virsh [-q] [attach-device] [${W}] [/dev/stdin] [--live] [--config]`],
    stdin: `<interface type="bridge"><mac address="52:54:00:29:00:02"/><source bridge="p a'r"/><model type="virtio"/><link state="down"/><mtu size="9000"/></interface>`,
  },
  {
    op: {
      op: 'guest-nic.update',
      domain: W,
      nic: { mac: '52:54:00:29:00:02', type: 'network', source: 'lan', portgroup: 'v<1"', link: 'up' },
      live: true,
      config: false,
    },
    log: [`virsh [-q] [update-device] [${W}] [/dev/stdin] [--live]`],
    stdin: '<interface type="network"><mac address="52:54:00:29:00:02"/><source network="lan" portgroup="v&lt;1&quot;"/><link state="up"/></interface>',
  },
  {
    op: { op: 'guest-nic.detach', domain: W, nic: { mac: '52:54:00:29:00:02', type: 'network', source: 'default', link: 'up' }, live: false, config: true },
    log: [`virsh [-q] [detach-device] [${W}] [/dev/stdin] [--config]`],
    stdin: '<interface type="network"><mac address="52:54:00:29:00:02"/><source network="default"/><link state="up"/></interface>',
  },
  // A live detach waits until the guest let the device go (domiflist no longer lists its MAC).
  {
    op: { op: 'guest-nic.detach', domain: W, nic: { mac: '52:54:00:29:00:02', type: 'network', source: 'default', link: 'up' }, live: true, config: true },
    log: [`virsh [-q] [detach-device] [${W}] [/dev/stdin] [--live] [--config]`, `virsh [-q] [domiflist] [${W}]`],
    stdin: '<interface type="network"><mac address="52:54:00:29:00:02"/><source network="default"/><link state="up"/></interface>',
  },
];
/** Kinds whose lines run for real (in a temporary directory) instead of against stubs: tested one by one below. */
const RUN_FOR_REAL: OpName[] = ['file.write', 'file.remove'];

describe('shell lines pass every value as one word', () => {
  it.each(quoting)('$op.op: $log.0', (q) => {
    const r = runLines([q.op], { STUB_BR: `vir br'0` });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.log).toEqual(q.log);
    if (q.stdin !== undefined) expect(r.stdin).toBe(q.stdin);
  });

  it('guest.reattach names the guest whose tap could not be re-attached, and fails', () => {
    const r = runLines([{ op: 'guest.reattach', network: W, taps: [{ tap: `vnet 0'x`, guest: `it's vm` }] }], { STUB_BR: `vir br'0`, STUB_FAIL: '1' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `network ${W} restarted, but guest interfaces could not be re-attached to vir br'0: vnet 0'x (guest it's vm: RTNETLINK answers: Operation not permitted)`,
    );
  });

  it('file.write: the exact content, through a temporary file renamed into place, with its mode, in a directory it makes', () => {
    const dir = join(work, `d'ir "a"`);
    const path = join(dir, 'sub dir', `f'1 "x".conf`);
    const content = "a 'quoted' line\n$HOME `id` \\n %s %%\n\ttab\n";
    const r = runLines([{ op: 'file.write', path, content, mode: '751' }]);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(readFileSync(path, 'utf8')).toBe(content);
    expect(statSync(path).mode & 0o777).toBe(0o751);
    expect(existsSync(`${path}.kvmnet-tmp`)).toBe(false);
    // Rewritten in place; the temporary file never stays.
    expect(runLines([{ op: 'file.write', path, content: 'second\n' }]).status).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe('second\n');
  });

  it('file.remove: the file, and with rmdir its directory once empty (a directory with other files stays)', () => {
    const dir = join(work, `rm d'ir "b"`);
    mkdirSync(dir);
    const a = join(dir, `a'1 "x".conf`);
    const b = join(dir, 'b 2.conf');
    writeFileSync(a, 'a');
    writeFileSync(b, 'b');
    expect(runLines([{ op: 'file.remove', path: a, rmdir: true }]).status).toBe(0);
    expect([existsSync(a), existsSync(b)]).toEqual([false, true]);
    expect(
      runLines([
        { op: 'file.remove', path: b, rmdir: true },
        { op: 'file.remove', path: b },
      ]).status,
    ).toBe(0);
    expect(existsSync(dir)).toBe(false);
  });
});
