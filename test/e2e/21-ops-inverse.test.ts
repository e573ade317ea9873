// Every operation kind is undone by its inverse, on a real lab host: for each case the host is
// reset and set up by hand, its facts are read (kvmnet's own facts script, through the host's
// namespaces), the operations run as kvmnet sends them (opsLines), the facts are read again (the
// change took: kvmnet's own check finds nothing missing, and something did change), then the
// inverse runs (inverseOps from the facts before: undo, then what re-derives state) and the facts
// must equal those before. What the kernel does alongside an operation counts: a link taken down
// loses its routes and IPv6 addresses, the last address of a link takes its routes along, a
// re-created bridge must not ask for `vlan_filtering 0` on a kernel without VLAN filtering.
//
// Not here: bond, vlan and dummy links and bridge VLANs (link.add bond|vlan|dummy, link.bond,
// bridge-vlan.*) need kernel modules the namespace lab cannot load (vm/08-ops-inverse-vm.test.ts covers them on a VM lab host), and
// guest.reattach needs a running guest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection, ExecOptions, ExecResult } from '../../src/connection/types.js';
import type { Facts } from '../../src/model/facts.js';
import { applyOps, inverseOps, opsLines, verifyOps, type Op } from '../../src/ops/index.js';
import type { RouteSpec } from '../../src/ops/types.js';
import { gatherHostFacts } from '../../src/run/host-facts.js';
import { DAEMON_HOOK, HOOK_SCRIPT, NETWORK_HOOK, rulesFile, rulesFileContent, type ForwardSpec } from '../../src/tasks/port-forward-rules.js';
import { inHost, resetHost, type LabHost } from './helpers.js';

const HOST: LabHost = 'hv1';

/** kvmnet's Connection over the lab host's namespaces (what SSH would give, without the session). */
function hostConnection(h: LabHost): Connection {
  const stats = { connections: 1, execs: 0 };
  return {
    description: `${h} (nsenter)`,
    stats,
    async exec(command: string, o: ExecOptions = {}): Promise<ExecResult> {
      stats.execs += 1;
      const r = await inHost(h, ['sh', '-c', command], { check: false, input: o.stdin, timeoutMs: o.timeoutMs ?? 60_000 });
      return { stdout: r.stdout, stderr: r.stderr, exitCode: r.code };
    },
    async close() {},
  };
}

const conn = hostConnection(HOST);
const facts = () => gatherHostFacts(conn, HOST);

/**
 * The facts that an inverse promises to restore. Left out: operstate and IPv6 link-local
 * addresses and routes (the kernel derives them from the UP flag, carrier and DAD, on its own
 * time), the MAC of a bridge without ports (the kernel's: random at creation, the lowest port's
 * while it has ports, 00:00:00:00:00:00 once the last one left), and DHCP leases (dnsmasq's).
 */
function comparable(f: Facts): unknown {
  const c = structuredClone(f);
  const links = Object.values(c.links);
  for (const l of links) {
    delete (l as { operstate?: string }).operstate;
    if (l.kind === 'bridge' && !links.some((p) => p.master === l.name)) delete l.mac;
  }
  c.addrs = c.addrs.filter((a) => a.scope !== 'link').sort((a, b) => `${a.dev} ${a.address}`.localeCompare(`${b.dev} ${b.address}`));
  c.routes = c.routes
    .filter((r) => !(r.family === 6 && (r.dst.startsWith('fe80') || r.dst.startsWith('ff00') || r.dst === 'multicast')))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  for (const d of Object.values(c.dhcp ?? {})) d.leases = [];
  return c;
}

/** Addresses and routes as comparable() keeps them. */
function l3(f: Facts): unknown {
  const c = comparable(f) as Facts;
  return { addrs: c.addrs, routes: c.routes };
}

async function runOps(ops: readonly Op[]): Promise<void> {
  const script = ['set -e', ...opsLines(ops)].join('\n');
  const r = await conn.exec(script);
  if (r.exitCode !== 0) throw new Error(`ops failed (exit ${r.exitCode}): ${r.stderr}\n${script}`);
}

// ---- what the cases start from (by hand, not through kvmnet) -----------------------------------

const BRIDGE =
  'ip link add kvb0 type bridge stp_state 1 forward_delay 400 && ip link set eth2 master kvb0 && ip link set eth2 up && ip link set kvb0 up && ip address add 192.0.2.1/24 dev kvb0 && ip route add 198.51.100.0/24 via 192.0.2.254 dev kvb0 metric 50';
const BRIDGE6 = 'ip -6 address add 2001:db8:1::1/64 dev kvb0 nodad && ip -6 route add 2001:db8:2::/64 via 2001:db8:1::fe dev kvb0 metric 50';
const NET_XML =
  "<network><name>kvnet</name><bridge name='kvnbr0' stp='on' delay='0'/><ip address='203.0.113.1' netmask='255.255.255.0'><dhcp><range start='203.0.113.100' end='203.0.113.200'/><host mac='52:54:00:71:00:01' name='g1' ip='203.0.113.11'/></dhcp></ip></network>";
const NET_DEFINED = `printf '%s' "${NET_XML}" | virsh -q net-define /dev/stdin >/dev/null`;
const NET_ACTIVE = `${NET_DEFINED} && virsh -q net-start kvnet >/dev/null`;
const NETWORKD_FILE = '/etc/systemd/network/10-kvmnet-kvb0.netdev';
const NETWORKD_OLD = '[NetDev]\nName=kvb0\nKind=bridge\n';

const FORWARD: ForwardSpec = { network: 'kvnet', bridge: 'kvnbr0', proto: 'tcp', hostPorts: [2222, 2222], guestIp: '203.0.113.11', guestPort: 22 };
const RULES = rulesFile(FORWARD);
const FORWARD_FILES: Op[] = [
  { op: 'file.write', path: NETWORK_HOOK, content: HOOK_SCRIPT, mode: '755' },
  { op: 'file.write', path: DAEMON_HOOK, content: HOOK_SCRIPT, mode: '755' },
  { op: 'file.write', path: RULES, content: rulesFileContent(FORWARD, 'iptables') },
  { op: 'firewall.apply', backend: 'iptables' },
];
// A forward in place, as ensure_port_forward leaves it (these same operations, by kvmnet's lines).
const FORWARD_IN_PLACE = ['set -e', ...opsLines(FORWARD_FILES)].join('\n');

// kvmnet's hooks, rules files and chains: gone before each case (resetHost knows networks and links only).
const CLEAN = `${[NETWORK_HOOK, DAEMON_HOOK].map((p) => `rm -f ${p}`).join('; ')}; rm -rf /etc/libvirt/hooks/kvmnet-port-forwards; for c in "nat PREROUTING KVMNET_DNAT" "filter FORWARD KVMNET_FWD"; do set -- $c; while iptables -t $1 -D $2 -j $3 2>/dev/null; do :; done; iptables -t $1 -F $3 2>/dev/null; iptables -t $1 -X $3 2>/dev/null; done; true`;

const ROUTE: RouteSpec = { family: 4, dst: '198.51.100.0/24', gateway: '192.0.2.254', dev: 'kvb0', metric: 50 };

interface Case {
  name: string;
  setup?: string;
  /** The operations, or how a planner would make them from the facts before. */
  ops: Op[] | ((before: Facts) => Op[]);
  /** The operations' effect on the facts before gives the addresses and routes read after them, exactly. */
  exactL3?: true;
}

function netXmlOf(f: Facts): string {
  const xml = f.libvirt.available ? f.libvirt.networks.kvnet?.xml : undefined;
  if (!xml) throw new Error('no definition of kvnet in the facts');
  return xml;
}

const CASES: Case[] = [
  // links
  { name: 'link.add bridge (stp, forward delay)', ops: [{ op: 'link.add', name: 'kvb1', kind: 'bridge', bridge: { stp: true, forwardDelayS: 4 } }] },
  { name: 'link.del of a bridge with a port, an address and a route', setup: BRIDGE, ops: [{ op: 'link.del', name: 'kvb0' }] },
  { name: 'link.up (up)', ops: [{ op: 'link.up', name: 'eth2', up: true }] },
  { name: 'link.up (down)', setup: BRIDGE, ops: [{ op: 'link.up', name: 'eth2', up: false }], exactL3: true },
  // The kernel drops the IPv4 routes through a link that goes down.
  { name: 'link.up (down, a bridge with an address and a route)', setup: BRIDGE, ops: [{ op: 'link.up', name: 'kvb0', up: false }], exactL3: true },
  {
    name: 'link.up (down, a bridge with IPv6 addresses and routes)',
    setup: `${BRIDGE} && ${BRIDGE6}`,
    ops: [{ op: 'link.up', name: 'kvb0', up: false }],
    exactL3: true,
  },
  { name: 'link.master (into a bridge)', setup: 'ip link add kvb0 type bridge', ops: [{ op: 'link.master', name: 'eth2', master: 'kvb0' }] },
  { name: 'link.master (nomaster)', setup: BRIDGE, ops: [{ op: 'link.master', name: 'eth2', master: null }] },
  { name: 'link.mtu', ops: [{ op: 'link.mtu', name: 'eth2', mtu: 1400 }] },
  { name: 'link.mac', ops: [{ op: 'link.mac', name: 'eth2', mac: '52:54:00:e2:e2:01' }] },
  { name: 'link.bridge (stp off, forward delay)', setup: BRIDGE, ops: [{ op: 'link.bridge', name: 'kvb0', bridge: { stp: false, forwardDelayS: 9 } }] },
  // addresses and routes
  { name: 'addr.add IPv4', ops: [{ op: 'addr.add', dev: 'eth2', address: '192.0.2.7', prefix: 24, family: 4 }] },
  { name: 'addr.add IPv6', ops: [{ op: 'addr.add', dev: 'eth2', address: '2001:db8::7', prefix: 64, family: 6 }] },
  {
    name: 'addr.del (a second address)',
    setup: `${BRIDGE} && ip address add 192.0.2.2/24 dev kvb0`,
    ops: [{ op: 'addr.del', dev: 'kvb0', address: '192.0.2.2', prefix: 24, family: 4 }],
  },
  // The kernel drops every route through a link when its last IPv4 address goes.
  {
    name: 'addr.del (the only address, a route through it)',
    setup: BRIDGE,
    ops: [{ op: 'addr.del', dev: 'kvb0', address: '192.0.2.1', prefix: 24, family: 4 }],
  },
  {
    name: 'addr.del (the only IPv6 address, a route through it)',
    setup: `${BRIDGE} && ${BRIDGE6}`,
    ops: [{ op: 'addr.del', dev: 'kvb0', address: '2001:db8:1::1', prefix: 64, family: 6 }],
  },
  { name: 'route.replace (new)', setup: BRIDGE.replace(/ && ip route add .*$/, ''), ops: [{ op: 'route.replace', route: ROUTE }] },
  { name: 'route.replace (another gateway)', setup: BRIDGE, ops: [{ op: 'route.replace', route: { ...ROUTE, gateway: '192.0.2.253' } }] },
  { name: 'route.del', setup: BRIDGE, ops: [{ op: 'route.del', route: ROUTE }] },
  // libvirt networks
  { name: 'net.define (new)', ops: [{ op: 'net.define', name: 'kvnet', xml: NET_XML }] },
  // As a planner redefines a network: libvirt's definition (with its uuid), changed.
  {
    name: 'net.define (redefined)',
    setup: NET_DEFINED,
    ops: (before) => [{ op: 'net.define', name: 'kvnet', xml: netXmlOf(before).replace("delay='0'", "delay='2'") }],
  },
  {
    name: 'net.undefine (autostarted, inactive)',
    setup: `${NET_DEFINED} && virsh -q net-autostart kvnet >/dev/null`,
    ops: [{ op: 'net.undefine', name: 'kvnet' }],
  },
  // Started and stopped once before: libvirt creates its firewall chains at the first start and keeps them.
  {
    name: 'net.undefine (active: it stays, transient)',
    setup: `${NET_ACTIVE} && virsh -q net-autostart kvnet >/dev/null`,
    ops: [{ op: 'net.undefine', name: 'kvnet' }],
  },
  { name: 'net.start', setup: `${NET_ACTIVE} && virsh -q net-destroy kvnet >/dev/null`, ops: [{ op: 'net.start', name: 'kvnet' }] },
  { name: 'net.destroy', setup: NET_ACTIVE, ops: [{ op: 'net.destroy', name: 'kvnet' }] },
  { name: 'net.autostart (on)', setup: NET_DEFINED, ops: [{ op: 'net.autostart', name: 'kvnet', on: true }] },
  { name: 'net.autostart (off)', setup: `${NET_DEFINED} && virsh -q net-autostart kvnet >/dev/null`, ops: [{ op: 'net.autostart', name: 'kvnet', on: false }] },
  {
    name: 'net.update add (DHCP host, live and config)',
    setup: NET_ACTIVE,
    ops: [
      {
        op: 'net.update',
        name: 'kvnet',
        command: 'add',
        section: 'ip-dhcp-host',
        xml: "<host mac='52:54:00:71:00:02' name='g2' ip='203.0.113.12'/>",
        live: true,
        config: true,
      },
    ],
  },
  {
    name: 'net.update modify (DHCP host, live and config)',
    setup: NET_ACTIVE,
    ops: [
      {
        op: 'net.update',
        name: 'kvnet',
        command: 'modify',
        section: 'ip-dhcp-host',
        xml: "<host mac='52:54:00:71:00:01' name='g1' ip='203.0.113.21'/>",
        live: true,
        config: true,
      },
    ],
  },
  {
    name: 'net.update delete (DHCP host, live and config)',
    setup: NET_ACTIVE,
    ops: [
      {
        op: 'net.update',
        name: 'kvnet',
        command: 'delete',
        section: 'ip-dhcp-host',
        xml: "<host mac='52:54:00:71:00:01' name='g1' ip='203.0.113.11'/>",
        live: true,
        config: true,
      },
    ],
  },
  {
    name: 'net.update add (DNS host, live and config)',
    setup: NET_ACTIVE,
    ops: [
      {
        op: 'net.update',
        name: 'kvnet',
        command: 'add',
        section: 'dns-host',
        xml: "<host ip='203.0.113.11'><hostname>www.kv.example</hostname></host>",
        live: true,
        config: true,
      },
    ],
  },
  // files and the firewall
  { name: 'file.write (new persisted file)', ops: [{ op: 'file.write', path: NETWORKD_FILE, content: NETWORKD_OLD }] },
  {
    name: 'file.write (overwrite)',
    setup: `printf '%s' '${NETWORKD_OLD}' > ${NETWORKD_FILE}`,
    ops: [{ op: 'file.write', path: NETWORKD_FILE, content: `${NETWORKD_OLD}MTUBytes=1400\n` }],
  },
  { name: 'file.remove', setup: `printf '%s' '${NETWORKD_OLD}' > ${NETWORKD_FILE}`, ops: [{ op: 'file.remove', path: NETWORKD_FILE }] },
  { name: 'a port forward: hooks, rules file, firewall.apply', setup: NET_ACTIVE, ops: FORWARD_FILES },
  {
    name: 'a port forward removed: rules file, firewall.apply',
    setup: `${NET_ACTIVE} && ${FORWARD_IN_PLACE}`,
    ops: [
      { op: 'file.remove', path: RULES },
      { op: 'firewall.apply', backend: 'iptables' },
    ],
  },
];

describe('every operation kind is undone by its inverse (namespace lab host)', () => {
  beforeAll(async () => {
    await inHost(HOST, ['sh', '-c', CLEAN]);
    await resetHost(HOST);
  });

  afterAll(async () => {
    await inHost(HOST, ['sh', '-c', CLEAN]);
    await resetHost(HOST);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await inHost(HOST, ['sh', '-c', CLEAN]);
    await resetHost(HOST);
    if (c.setup) await inHost(HOST, ['sh', '-c', `set -e; ${c.setup}`]);
    const before = await facts();
    const ops = typeof c.ops === 'function' ? c.ops(before) : c.ops;

    await runOps(ops);
    const mid = await facts();
    const expected = structuredClone(before);
    applyOps(ops, expected);
    // It took (kvmnet's own read-back agrees), and it changed the host.
    expect(verifyOps(ops, expected, mid)).toEqual([]);
    expect(comparable(mid)).not.toEqual(comparable(before));
    // What the kernel did to addresses and routes alongside, the effect knows (a later task plans on it).
    if (c.exactL3) expect(l3(expected), 'effect vs kernel').toEqual(l3(mid));

    const { undo, again } = inverseOps(ops, before);
    await runOps([...undo, ...again]);
    const after = await facts();
    expect(comparable(after), `inverse: ${JSON.stringify([...undo, ...again])}`).toEqual(comparable(before));
  });
});
