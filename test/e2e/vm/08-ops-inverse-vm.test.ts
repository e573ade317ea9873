// Every operation kind the namespace lab cannot load is undone by its inverse, on a VM lab host
// (its own kernel: bonding, 802.1Q, dummy, VLAN-filtering bridges). The same property as
// test/e2e/21-ops-inverse.test.ts: for each case the host is reset and set up by hand, its facts
// are read (kvmnet's gatherHostFacts over kvmnet's own SSH connection, from the lab inventory),
// the operations run as kvmnet sends them (opsLines), the facts are read again (kvmnet's own check
// finds nothing missing, and something changed), then the inverse runs (inverseOps from the facts
// before: undo, then again) and the facts must equal those before.
// 1 VM host + the lab switch (eth1+eth2 face an 802.3ad bond of the switch, eth3 a trunk port);
// KVMNET_E2E_VM=0 skips it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConnectionVars } from '../../../src/config/connection-vars.js';
import { hostVars, loadInventory } from '../../../src/config/inventory.js';
import { connect, type Connection } from '../../../src/connection/index.js';
import type { LabState } from '../../../src/lab/index.js';
import type { Facts } from '../../../src/model/facts.js';
import { applyOps, inverseOps, opsLines, verifyOps, type Op } from '../../../src/ops/index.js';
import { gatherHostFacts } from '../../../src/run/host-facts.js';
import { onVmHost, vmLabUp, vmLabDown } from './support.js';

const enabled = process.env.KVMNET_E2E_VM !== '0';
const HOST = 'hv1';

let tmp = '';
let dir = '';
let state: LabState;
let conn: Connection | undefined;
const timings: Record<string, number> = {};

const facts = (): Promise<Facts> => gatherHostFacts(conn!, HOST);

/**
 * What an inverse promises to restore: 21-ops-inverse's exclusions (operstate, IPv6 link-local
 * addresses and routes, the MAC of a bridge without ports) and the same for a bond without members
 * (the kernel gives it a random MAC when its last member leaves), plus what the kernel and the
 * LACP partner work out on their own time: a bond's aggregator and partner, its members' MII
 * status, speed and aggregator, and in 802.3ad which member is active.
 */
function comparable(f: Facts): unknown {
  const c = structuredClone(f);
  const links = Object.values(c.links);
  for (const l of links) {
    delete (l as { operstate?: string }).operstate;
    if ((l.kind === 'bridge' || l.kind === 'bond') && !links.some((p) => p.master === l.name)) delete l.mac;
    if (l.bond) {
      delete l.bond.aggregator;
      if (l.bond.mode === '802.3ad') delete l.bond.activeMember;
    }
    if (l.bondMember) {
      delete l.bondMember.aggregatorId;
      delete (l.bondMember as { mii?: unknown }).mii;
      delete l.bondMember.speed;
      if (l.master && f.links[l.master]?.bond?.mode === '802.3ad') delete (l.bondMember as { state?: string }).state;
    }
  }
  c.addrs = c.addrs.filter((a) => a.scope !== 'link').sort((a, b) => `${a.dev} ${a.address}`.localeCompare(`${b.dev} ${b.address}`));
  c.routes = c.routes
    .filter((r) => !(r.family === 6 && (r.dst.startsWith('fe80') || r.dst.startsWith('ff00') || r.dst === 'multicast')))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  for (const d of Object.values(c.dhcp ?? {})) d.leases = [];
  return c;
}

async function runOps(ops: readonly Op[]): Promise<void> {
  const script = ['set -e', ...opsLines(ops)].join('\n');
  const r = await conn!.exec(script);
  if (r.exitCode !== 0) throw new Error(`ops failed (exit ${r.exitCode}): ${r.stderr}\n${script}`);
}

// ---- what the cases start from (by hand, not through kvmnet) -----------------------------------

// Every link a case makes (and bond0, which loading the bonding module may create), then the NICs bare and down.
const RESET = [
  'for n in kvbond0.20 eth3.30 kvbond0 kvbr0 kvd0 bond0; do [ -e /sys/class/net/$n ] && ip link del "$n"; done',
  'for e in eth1 eth2 eth3; do ip link set $e nomaster; ip link set $e down; ip link set $e mtu 1500; ip address flush dev $e; done',
  'true',
].join('; ');

const LACP = 'ip link add kvbond0 type bond mode 802.3ad miimon 100 lacp_rate fast xmit_hash_policy layer3+4';
const ACTIVE_BACKUP = 'ip link add kvbond0 type bond mode active-backup miimon 100';
const MEMBERS = 'ip link set eth1 master kvbond0 && ip link set eth2 master kvbond0 && ip link set kvbond0 up';
const BOND = `${LACP} && ${MEMBERS}`;
const BOND_L3 = 'ip address add 192.0.2.1/24 dev kvbond0 && ip route add 198.51.100.0/24 via 192.0.2.254 dev kvbond0 metric 50';
const BOND_VLAN = 'ip link add link kvbond0 name kvbond0.20 type vlan id 20 && ip link set kvbond0.20 up && ip address add 203.0.113.1/24 dev kvbond0.20';
// A VLAN-aware bridge with eth3 as a port (its default PVID 1, untagged, on the port and the bridge).
const VBRIDGE = 'ip link add kvbr0 type bridge stp_state 0 vlan_filtering 1 && ip link set eth3 master kvbr0 && ip link set eth3 up && ip link set kvbr0 up';

interface Case {
  name: string;
  setup?: string;
  ops: Op[];
}

const CASES: Case[] = [
  // link.add and link.del of bonds, VLANs and dummies
  {
    name: 'link.add bond (802.3ad, miimon, lacp_rate, xmit_hash_policy)',
    ops: [{ op: 'link.add', name: 'kvbond0', kind: 'bond', bond: { mode: '802.3ad', miimon: 100, lacpRate: 'fast', xmitHashPolicy: 'layer3+4' } }],
  },
  { name: 'link.add vlan', ops: [{ op: 'link.add', name: 'eth3.30', kind: 'vlan', parent: 'eth3', id: 30 }] },
  { name: 'link.add dummy', ops: [{ op: 'link.add', name: 'kvd0', kind: 'dummy' }] },
  {
    name: 'link.del of an 802.3ad bond with members, MTU, an address, a route and a VLAN with an address',
    setup: `${BOND} && ip link set kvbond0 mtu 9000 && ${BOND_L3} && ${BOND_VLAN}`,
    ops: [{ op: 'link.del', name: 'kvbond0' }],
  },
  {
    name: 'link.del of an active-backup bond with a primary',
    setup: `${ACTIVE_BACKUP} primary eth2 && ${MEMBERS}`,
    ops: [{ op: 'link.del', name: 'kvbond0' }],
  },
  {
    name: 'link.del of a VLAN with an address',
    setup: 'ip link set eth3 up && ip link add link eth3 name eth3.30 type vlan id 30 && ip link set eth3.30 up && ip address add 192.0.2.30/24 dev eth3.30',
    ops: [{ op: 'link.del', name: 'eth3.30' }],
  },
  {
    name: 'link.del of a dummy with an address and a route',
    setup:
      'ip link add kvd0 type dummy && ip link set kvd0 mtu 1400 up && ip address add 192.0.2.9/24 dev kvd0 && ip route add 198.51.100.0/24 via 192.0.2.254 dev kvd0 metric 60',
    ops: [{ op: 'link.del', name: 'kvd0' }],
  },
  // bond settings
  {
    name: 'link.bond miimon and xmit_hash_policy (bond up, with members)',
    setup: BOND,
    ops: [{ op: 'link.bond', name: 'kvbond0', bond: { miimon: 200, xmitHashPolicy: 'layer2+3' } }],
  },
  { name: 'link.bond primary (none before)', setup: `${ACTIVE_BACKUP} && ${MEMBERS}`, ops: [{ op: 'link.bond', name: 'kvbond0', bond: { primary: 'eth2' } }] },
  {
    name: 'link.bond primary (another one before)',
    setup: `${ACTIVE_BACKUP} primary eth1 && ${MEMBERS}`,
    ops: [{ op: 'link.bond', name: 'kvbond0', bond: { primary: 'eth2' } }],
  },
  // lacp_rate changes only on a bond that is down (as ensure_bond plans it).
  {
    name: 'link.bond lacp_rate (down, set, up)',
    setup: `${BOND} && ${BOND_L3}`,
    ops: [
      { op: 'link.up', name: 'kvbond0', up: false },
      { op: 'link.bond', name: 'kvbond0', bond: { lacpRate: 'slow' } },
      { op: 'link.up', name: 'kvbond0', up: true },
    ],
  },
  // members and MTU
  {
    name: 'link.master of a member into a bond (down, master, up)',
    setup: `${LACP} && ip link set eth1 master kvbond0 && ip link set kvbond0 up && ip link set eth3 up`,
    ops: [
      { op: 'link.up', name: 'eth3', up: false },
      { op: 'link.master', name: 'eth3', master: 'kvbond0' },
      { op: 'link.up', name: 'eth3', up: true },
    ],
  },
  { name: 'link.mtu of a bond (its members follow)', setup: BOND, ops: [{ op: 'link.mtu', name: 'kvbond0', mtu: 9000 }] },
  // VLAN-aware bridges
  {
    name: 'link.bridge vlanFiltering on',
    setup: VBRIDGE.replace(' vlan_filtering 1', ''),
    ops: [{ op: 'link.bridge', name: 'kvbr0', bridge: { vlanFiltering: true } }],
  },
  {
    name: 'link.bridge vlanFiltering on with a default PVID',
    setup: VBRIDGE.replace(' vlan_filtering 1', ''),
    ops: [{ op: 'link.bridge', name: 'kvbr0', bridge: { vlanFiltering: true, defaultPvid: 5 } }],
  },
  { name: 'link.bridge vlanFiltering off', setup: VBRIDGE, ops: [{ op: 'link.bridge', name: 'kvbr0', bridge: { vlanFiltering: false } }] },
  {
    name: 'link.bridge defaultPvid (filtering off)',
    setup: VBRIDGE.replace(' vlan_filtering 1', ''),
    ops: [{ op: 'link.bridge', name: 'kvbr0', bridge: { defaultPvid: 7 } }],
  },
  // A port's VLANs go with it when it leaves the bridge: the inverse puts them back.
  {
    name: 'link.del of a VLAN-aware bridge whose port has VLANs (no default PVID left)',
    setup: `${VBRIDGE} && bridge vlan add dev eth3 vid 30 && bridge vlan add dev eth3 vid 40 pvid untagged && bridge vlan del dev eth3 vid 1`,
    ops: [{ op: 'link.del', name: 'kvbr0' }],
  },
  {
    name: 'link.master nomaster of a port with VLANs',
    setup: `${VBRIDGE} && bridge vlan add dev eth3 vid 30 && bridge vlan add dev eth3 vid 40 pvid untagged`,
    ops: [{ op: 'link.master', name: 'eth3', master: null }],
  },
  { name: 'link.bond active member', setup: `${ACTIVE_BACKUP} && ${MEMBERS}`, ops: [{ op: 'link.bond', name: 'kvbond0', bond: { activeMember: 'eth2' } }] },
  { name: 'bridge-vlan.add tagged', setup: VBRIDGE, ops: [{ op: 'bridge-vlan.add', dev: 'eth3', vid: 30, pvid: false, untagged: false }] },
  {
    name: 'bridge-vlan.add PVID untagged (the PVID moves from 1)',
    setup: VBRIDGE,
    ops: [{ op: 'bridge-vlan.add', dev: 'eth3', vid: 40, pvid: true, untagged: true }],
  },
  { name: 'bridge-vlan.add a range', setup: VBRIDGE, ops: [{ op: 'bridge-vlan.add', dev: 'eth3', vid: [100, 110], pvid: false, untagged: false }] },
  {
    name: 'bridge-vlan.add a range over VLANs already there',
    setup: `${VBRIDGE} && bridge vlan add dev eth3 vid 103 untagged`,
    ops: [{ op: 'bridge-vlan.add', dev: 'eth3', vid: [100, 105], pvid: false, untagged: false }],
  },
  { name: 'bridge-vlan.del the PVID', setup: VBRIDGE, ops: [{ op: 'bridge-vlan.del', dev: 'eth3', vid: 1 }] },
  {
    name: 'bridge-vlan.del a range',
    setup: `${VBRIDGE} && bridge vlan add dev eth3 vid 100-110 && bridge vlan add dev eth3 vid 104 pvid untagged`,
    ops: [{ op: 'bridge-vlan.del', dev: 'eth3', vid: [100, 105] }],
  },
];

/** The facts again until they equal `want` (a bond's members come up on the next MII poll), for at most 5 s. */
async function settledFacts(want: unknown): Promise<Facts> {
  let f = await facts();
  for (let k = 0; k < 5 && JSON.stringify(comparable(f)) !== JSON.stringify(want); k++) {
    await new Promise((r) => setTimeout(r, 1000));
    f = await facts();
  }
  return f;
}

describe.skipIf(!enabled)('every bond, VLAN, dummy and bridge-VLAN operation is undone by its inverse (VM lab host)', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'kvmnet-e2e-vm-ops-'));
    dir = join(tmp, 'lab');
    const lab = await vmLabUp(dir, 'kvq', 1);
    state = lab.state;
    timings.up = lab.upMs;
    const { inventory, diagnostics } = loadInventory([lab.inventory]);
    const errors = diagnostics.filter((d) => d.severity === 'error');
    if (errors.length) throw new Error(errors.map((d) => d.message).join('\n'));
    const resolved = resolveConnectionVars(HOST, hostVars(inventory, HOST), { file: lab.inventory });
    if (!resolved.settings) throw new Error(resolved.diagnostics.map((d) => d.message).join('\n'));
    conn = await connect(resolved.settings);
    console.log(`[e2e vm ops] lab ${lab.prefix} up in ${timings.up} ms`);
  }, 420_000);

  afterAll(async () => {
    await conn?.close();
    await vmLabDown(dir, tmp, `[e2e vm ops] timings (ms): ${JSON.stringify(timings)}`);
  }, 180_000);

  it.each(CASES.map((c) => [c.name, c] as const))(
    '%s',
    async (name, c) => {
      const t0 = Date.now();
      await onVmHost(state, HOST, RESET);
      if (c.setup) await onVmHost(state, HOST, `set -e; ${c.setup}; sleep 1`);
      const before = await facts();

      await runOps(c.ops);
      const mid = await facts();
      const expected = structuredClone(before);
      applyOps(c.ops, expected);
      // It took (kvmnet's own read-back agrees), and it changed the host.
      expect(verifyOps(c.ops, expected, mid)).toEqual([]);
      expect(comparable(mid)).not.toEqual(comparable(before));

      const { undo, again } = inverseOps(c.ops, before);
      await runOps([...undo, ...again]);
      const after = await settledFacts(comparable(before));
      timings[name] = Date.now() - t0;
      expect(comparable(after), `inverse: ${JSON.stringify([...undo, ...again])}`).toEqual(comparable(before));
    },
    120_000,
  );
});
