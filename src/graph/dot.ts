// The topology as Graphviz DOT: one cluster per host (or per group of same-shape hosts). Node
// and edge ids and classes carry over into the SVG, so the picture can be checked structurally
// (`hv1/link:br0`, class `bridge ssh problem`). Pure.
import type { HostGroup } from './shape.js';
import { managerClass } from './owners.js';
import type { NodeKind, TopoEdge, TopoNode } from './topology.js';

const STYLE: Record<NodeKind, string> = {
  nic: 'shape=box, style="filled", fillcolor="#f1f5f9"',
  bond: 'shape=box3d, style="filled", fillcolor="#ede9fe"',
  vlan: 'shape=box, style="filled", fillcolor="#fef9c3"',
  bridge: 'shape=box, style="rounded,filled", fillcolor="#dbeafe"',
  network: 'shape=box, style="rounded,filled,bold", fillcolor="#dcfce7"',
  guest: 'shape=box, style="filled,dashed", fillcolor="#fff7ed"',
  session: 'shape=cds, style="filled", fillcolor="#1d4ed8", fontcolor="white"',
};
const KIND_LABEL: Record<NodeKind, string> = {
  nic: 'NIC',
  bond: 'bond',
  vlan: 'VLAN',
  bridge: 'bridge',
  network: 'libvirt network',
  guest: 'guest interface',
  session: '',
};
export const SSH_COLOR = '#1d4ed8';
export const PROBLEM_COLOR = '#dc2626';

/** A DOT string literal. */
export const dotString = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

export function groupLabel(g: HostGroup): string {
  const t = g.topology;
  if (g.hosts.length === 1) return t.hostname && t.hostname !== t.host ? `${t.host} (${t.hostname})` : t.host;
  const shown = g.hosts.slice(0, 4).join(', ');
  return `×${g.hosts.length}: ${shown}${g.hosts.length > 4 ? ', …' : ''}`;
}

export function nodeLabel(n: TopoNode): string {
  const head = n.kind === 'session' ? n.name : `${n.name}${KIND_LABEL[n.kind] ? `  ·  ${KIND_LABEL[n.kind]}` : ''}`;
  return [head, ...n.detail, ...n.perHost, ...(n.ssh && n.kind !== 'session' ? ['▶ carries the SSH session'] : []), ...n.problems.map((p) => `⚠ ${p}`)].join(
    '\n',
  );
}

export const nodeClasses = (n: TopoNode): string =>
  [n.kind, n.ssh ? 'ssh' : '', n.problems.length ? 'problem' : '', n.manager ? managerClass(n.manager) : ''].filter(Boolean).join(' ');
const edgeClasses = (e: TopoEdge): string => ['link', e.ssh ? 'ssh' : '', e.problem ? 'problem' : ''].filter(Boolean).join(' ');

export function toDot(groups: readonly HostGroup[]): string {
  const lines = [
    'digraph kvmnet {',
    '  rankdir=LR; newrank=true; compound=true; nodesep=0.25; ranksep=0.6;',
    '  graph [fontname="Helvetica", fontsize=13, labeljust=l, style="rounded", color="#94a3b8"];',
    '  node [fontname="Helvetica", fontsize=10, margin="0.12,0.06"];',
    '  edge [color="#64748b", arrowsize=0.6];',
  ];
  // With rankdir=LR Graphviz stacks clusters bottom-up in the order they come: emit them last
  // first so the first group is drawn on top.
  [...groups].reverse().forEach((g) => {
    const i = groups.indexOf(g);
    const t = g.topology;
    const prefix = t.host;
    const id = (nodeId: string) => dotString(`${prefix}/${nodeId}`);
    const problems = t.problems.length ? `  ·  ⚠ ${t.problems.length} problem${t.problems.length === 1 ? '' : 's'}` : '';
    lines.push(`  subgraph cluster_${i} {`, `    id=${dotString(`host:${prefix}`)}; class="host"; label=${dotString(groupLabel(g) + problems)};`);
    if (t.problems.length) lines.push(`    color="${PROBLEM_COLOR}";`);
    if (t.error)
      lines.push(
        `    ${id('error')} [id=${id('error')}, class="error problem", shape=note, style=filled, fillcolor="#fee2e2", color="${PROBLEM_COLOR}", label=${dotString(`not read: ${t.error}`)}];`,
      );
    if (t.libvirtUnavailable)
      lines.push(
        `    ${id('libvirt')} [id=${id('libvirt')}, class="libvirt-unavailable", shape=note, label=${dotString(`libvirt unavailable: ${t.libvirtUnavailable}`)}];`,
      );
    if (!t.error && t.nodes.length === 0) lines.push(`    ${id('empty')} [id=${id('empty')}, shape=plaintext, label="(no links)"];`);
    for (const n of t.nodes) {
      const marks = n.problems.length
        ? `, color="${PROBLEM_COLOR}", penwidth=2.5, fillcolor="#fee2e2"`
        : n.ssh && n.kind !== 'session'
          ? `, color="${SSH_COLOR}", penwidth=2.5`
          : '';
      lines.push(`    ${id(n.id)} [id=${id(n.id)}, class=${dotString(nodeClasses(n))}, ${STYLE[n.kind]}, label=${dotString(nodeLabel(n))}${marks}];`);
    }
    for (const e of t.edges) {
      const style = e.problem
        ? `, color="${PROBLEM_COLOR}", penwidth=2.5, style=dashed`
        : e.ssh
          ? `, color="${SSH_COLOR}", penwidth=2.5`
          : e.relation === 'underlay'
            ? ', style=dotted'
            : '';
      lines.push(`    ${id(e.from)} -> ${id(e.to)} [id=${dotString(`${prefix}/${e.from}->${e.to}`)}, class=${dotString(edgeClasses(e))}${style}];`);
    }
    lines.push('  }');
  });
  lines.push('}');
  return lines.join('\n') + '\n';
}
