// Hosts with the same shape are one picture: 200 identical hypervisors become one cluster with
// "×200", and the odd ones stand out. Pure.
import type { HostTopology, TopoNode } from './topology.js';

export interface HostGroup {
  hosts: string[];
  /** What is drawn: the first host's graph, with what differs between the hosts folded. */
  topology: HostTopology;
}

/**
 * The shape leaves out what always differs between hosts of one role: addresses, MACs, hostnames
 * and the guests (which VMs run where changes all day); it keeps links, bridges, networks, the
 * SSH path and every problem.
 */
export function shapeKey(t: HostTopology): string {
  if (t.error) return `error:${t.host}`;
  const nodes = t.nodes.filter((n) => n.kind !== 'guest').map((n) => [n.id, n.kind, n.detail, n.ssh, n.problems]);
  const edges = t.edges.filter((e) => !e.to.startsWith('guest:')).map((e) => [e.from, e.to, e.ssh, e.problem]);
  return JSON.stringify([nodes.sort(), edges.sort(), t.libvirtUnavailable ?? null]);
}

export function groupByShape(topologies: readonly HostTopology[]): HostGroup[] {
  const groups = new Map<string, HostTopology[]>();
  for (const t of topologies) {
    const key = shapeKey(t);
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  return [...groups.values()].map((members) => ({ hosts: members.map((m) => m.host), topology: members.length === 1 ? members[0]! : fold(members) }));
}

/** Each host its own picture. */
export const oneGroupPerHost = (topologies: readonly HostTopology[]): HostGroup[] => topologies.map((t) => ({ hosts: [t.host], topology: t }));

function fold(members: HostTopology[]): HostTopology {
  const first = members[0]!;
  const perHostLines = (id: string) => members.map((m) => m.nodes.find((n) => n.id === id)?.perHost ?? []);
  const nodes: TopoNode[] = first.nodes
    .filter((n) => n.kind !== 'guest')
    .map((n) => {
      const all = perHostLines(n.id);
      const same = all.every((p) => p.join('\n') === all[0]!.join('\n'));
      return { ...n, perHost: same ? n.perHost : n.perHost.length ? ['(per host)'] : [] };
    });
  const edges = first.edges.filter((e) => !e.to.startsWith('guest:'));
  // Guests fold into one node per attachment point: how many interfaces, on how many hosts.
  const guests = new Map<string, { interfaces: number; hosts: Set<string> }>();
  for (const m of members) {
    for (const g of m.nodes.filter((n) => n.kind === 'guest' && n.attachedTo)) {
      const at = guests.get(g.attachedTo!) ?? { interfaces: 0, hosts: new Set<string>() };
      at.interfaces++;
      at.hosts.add(m.host);
      guests.set(g.attachedTo!, at);
    }
  }
  for (const [attach, g] of guests) {
    const id = `guests:${attach}`;
    nodes.push({
      id,
      kind: 'guest',
      name: `${g.interfaces} guest interface${g.interfaces === 1 ? '' : 's'}`,
      detail: [`on ${g.hosts.size} of ${members.length} hosts`],
      perHost: [],
      ssh: false,
      problems: [],
      attachedTo: attach,
    });
    edges.push({ from: attach, to: id, ssh: false, problem: false });
  }
  return { ...first, nodes, edges };
}
