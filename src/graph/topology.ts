// One host's network as a graph: NICs → bonds/VLANs → bridges → libvirt networks → guests'
// interfaces, the SSH path marked and problems attached where they are. Pure: facts in, graph out.
import type { FactsSummary } from './facts-json.js';
import { deviceManager } from './owners.js';
import { findProblems, vxlanUnderlay, type Problem } from './problems.js';

export type NodeKind = 'nic' | 'bond' | 'vlan' | 'bridge' | 'network' | 'guest' | 'session';

export interface TopoNode {
  /** Unique in the host: `link:br0`, `net:default`, `guest:vm1/vnet0`, `ssh`. */
  id: string;
  kind: NodeKind;
  name: string;
  /** Lines that describe the shape (STP, forward mode, state): the same on identical hosts. */
  detail: string[];
  /** Lines that differ from host to host on identical ones (addresses, MACs, guest names). */
  perHost: string[];
  ssh: boolean;
  problems: string[];
  /** For guest nodes: the node they hang off. */
  attachedTo?: string;
  /** For links: the network manager that owns it (owners.ts), when the host runs one. */
  manager?: string;
}

export interface TopoEdge {
  from: string;
  to: string;
  /** port: from a port or bond member to its master; lower: from a parent to the VLAN on it; underlay: from the device a VXLAN's packets leave by to the VXLAN. Other edges: unset. */
  relation?: 'port' | 'lower' | 'underlay';
  ssh: boolean;
  problem: boolean;
}

export interface HostTopology {
  host: string;
  hostname: string;
  nodes: TopoNode[];
  edges: TopoEdge[];
  problems: Problem[];
  /** The host could not be read (unreachable, failed): nothing else is known. */
  error?: string;
  /** Why libvirt's side is missing (libvirtd down, no virsh). */
  libvirtUnavailable?: string;
}

const linkKind = (kind: string | null): NodeKind => (kind === 'bridge' ? 'bridge' : kind === 'bond' ? 'bond' : kind === 'vlan' ? 'vlan' : 'nic');

export function buildTopology(host: string, f: FactsSummary): HostTopology {
  const nodes = new Map<string, TopoNode>();
  const edges: TopoEdge[] = [];
  const add = (n: Omit<TopoNode, 'ssh' | 'problems' | 'perHost'> & { perHost?: string[] }) => {
    const node: TopoNode = { perHost: [], ...n, ssh: false, problems: [] };
    nodes.set(node.id, node);
    return node;
  };
  const guestTaps = new Set(f.guest_interfaces.map((g) => g.interface));
  const bridges = new Map(f.bridges.map((b) => [b.name, b]));
  const vxlans = new Map((f.vxlans ?? []).map((v) => [v.name, v]));
  const addrsOf = (dev: string) => f.addresses.filter((a) => a.dev === dev).map((a) => a.address);

  for (const l of f.links) {
    if (guestTaps.has(l.name)) continue;
    const kind = linkKind(l.kind);
    const detail: string[] = [];
    if (kind === 'nic' && l.kind) detail.push(vxlans.get(l.name)?.vni !== undefined ? `vxlan · VNI ${vxlans.get(l.name)!.vni}` : l.kind);
    const b = bridges.get(l.name);
    if (kind === 'bridge' && b) detail.push(`STP ${b.stp ? 'on' : 'off'} · delay ${b.forward_delay} s`);
    if (l.vlan_id !== undefined) detail.push(`VLAN ${l.vlan_id}${l.lower ? ` on ${l.lower}` : ''}`);
    if (l.bond)
      detail.push(
        [
          l.bond.mode,
          l.bond.partner !== undefined ? (l.bond.partner ? `partner ${l.bond.partner}` : 'no LACP partner') : '',
          l.bond.active ? `active ${l.bond.active}` : '',
        ]
          .filter(Boolean)
          .join(' · '),
      );
    if (l.port_vlans) detail.push(`VLANs ${l.port_vlans}`);
    if (l.mtu) detail.push(`MTU ${l.mtu}`);
    if (!l.up) detail.push('down');
    // Part of the shape: hosts of one role have their devices managed alike.
    const manager = deviceManager(f.network_managers, l.name);
    if (manager) detail.push(`⚙ ${manager}`);
    // A VXLAN's remotes differ from host to host in a mesh (every host lists the others).
    const remotes = (vxlans.get(l.name)?.remotes ?? []).map((r) => `→ ${r}`);
    add({ id: `link:${l.name}`, kind, name: l.name, detail, perHost: [...addrsOf(l.name), ...remotes], ...(manager ? { manager } : {}) });
  }
  for (const l of f.links) {
    if (guestTaps.has(l.name) || !l.master) continue;
    if (!nodes.has(`link:${l.master}`)) add({ id: `link:${l.master}`, kind: 'bridge', name: l.master, detail: ['(not in the facts)'] });
    edges.push({ from: `link:${l.name}`, to: `link:${l.master}`, relation: 'port', ssh: false, problem: false });
  }
  // A VLAN (or another stacked link) to the right of what it sits on: NIC → bond → VLAN → bridge.
  for (const l of f.links) {
    if (guestTaps.has(l.name) || !l.lower || !nodes.has(`link:${l.name}`)) continue;
    if (!nodes.has(`link:${l.lower}`)) add({ id: `link:${l.lower}`, kind: 'nic', name: l.lower, detail: ['(not in the facts)'] });
    edges.push({ from: `link:${l.lower}`, to: `link:${l.name}`, relation: 'lower', ssh: false, problem: false });
  }
  // A VXLAN to the right of the device its packets leave by (dev, or the one holding local): the tunnel's underlay.
  for (const v of f.vxlans ?? []) {
    const under = vxlanUnderlay(v, f);
    if (!under || !nodes.has(`link:${v.name}`) || f.links.some((l) => l.name === v.name && l.lower === under)) continue;
    if (!nodes.has(`link:${under}`)) add({ id: `link:${under}`, kind: 'nic', name: under, detail: ['(not in the facts)'] });
    edges.push({ from: `link:${under}`, to: `link:${v.name}`, relation: 'underlay', ssh: false, problem: false });
  }
  for (const n of f.networks ?? []) {
    const detail = [
      `${n.forward ?? 'isolated'}${n.bridge ? ` on ${n.bridge}` : ''}`,
      ...n.ip.map((ip) => `ip ${ip}`),
      ...n.dhcp.map((r) => `DHCP ${r}`),
      `${n.state}${n.autostart ? ' · autostart' : ''}${n.persistent ? '' : ' · transient'}`,
    ];
    add({ id: `net:${n.name}`, kind: 'network', name: n.name, detail });
    if (n.bridge && nodes.has(`link:${n.bridge}`)) edges.push({ from: `link:${n.bridge}`, to: `net:${n.name}`, ssh: false, problem: false });
  }
  for (const g of f.guest_interfaces) {
    // type network: source is the network; type bridge: the bridge; direct: the NIC.
    // ensure_guest_nic's facts, where present, know the network of a NIC that domiflist calls `bridge` (a network of forward mode bridge), its portgroup and link.
    const nic = f.guest_nics?.find((r) => r.domain === g.guest && r.mac === g.mac.toLowerCase());
    const [type, source] = nic ? [nic.type, nic.source] : [g.type, g.source];
    const attach = type === 'network' ? `net:${source}` : `link:${source}`;
    const id = `guest:${g.guest}/${g.interface}`;
    const detail = [g.model, ...(nic?.portgroup ? [`portgroup ${nic.portgroup}`] : []), ...(nic?.link === 'down' ? ['link down'] : [])];
    add({ id, kind: 'guest', name: g.interface, detail, perHost: [g.guest, g.mac], attachedTo: nodes.has(attach) ? attach : undefined });
    if (nodes.has(attach)) edges.push({ from: attach, to: id, ssh: false, problem: false });
  }

  if (f.ssh) {
    const session = add({ id: 'ssh', kind: 'session', name: 'SSH session', detail: [], perHost: [f.ssh.address] });
    session.ssh = true;
    const dev = f.ssh.interface ? nodes.get(`link:${f.ssh.interface}`) : undefined;
    if (dev) {
      edges.push({ from: 'ssh', to: dev.id, ssh: true, problem: false });
      markSshPath(dev.id, nodes, edges);
    }
  }

  const problems = findProblems(f);
  for (const p of problems) {
    const node = nodes.get(p.node);
    if (node) node.problems.push(p.message);
    if (p.edge) for (const e of edges) if (e.from === p.edge.from && e.to === p.edge.to) e.problem = true;
  }
  return { host, hostname: f.hostname, nodes: [...nodes.values()], edges, problems, libvirtUnavailable: f.networks ? undefined : f.libvirt };
}

/**
 * The session's device, everything below it (ports, bond members, a VLAN's parent) and above it
 * (its masters). Other VLANs on a device of the path are not on it: upwards only masters count.
 */
function markSshPath(devId: string, nodes: Map<string, TopoNode>, edges: TopoEdge[]): void {
  nodes.get(devId)!.ssh = true;
  const walk = (id: string, dir: 'up' | 'down') => {
    for (const e of edges) {
      // What sits on a device of the path (a VLAN, a VXLAN over it) does not carry the session.
      if (dir === 'up' && (e.relation === 'lower' || e.relation === 'underlay')) continue;
      const next = dir === 'up' ? (e.from === id ? e.to : undefined) : e.to === id ? e.from : undefined;
      if (!next || !next.startsWith('link:')) continue;
      e.ssh = true;
      nodes.get(next)!.ssh = true;
      walk(next, dir);
    }
  };
  walk(devId, 'up');
  walk(devId, 'down');
}

export function unreadableHost(host: string, error: string): HostTopology {
  return { host, hostname: '', nodes: [], edges: [], problems: [], error };
}
