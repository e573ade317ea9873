// The topology as a Mermaid flowchart (renders in GitHub and GitLab Markdown). Pure.
import { groupLabel, nodeLabel } from './dot.js';
import type { HostGroup } from './shape.js';

// Mermaid ids are plain words; labels are quoted strings where `"` must be an entity.
const mid = (s: string): string => s.replace(/[^A-Za-z0-9_]/g, (c) => `_${c.charCodeAt(0).toString(16)}_`);
const mlabel = (s: string): string =>
  `"${s.replace(/&/g, '&amp;').replace(/"/g, '#quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\n/g, '<br/>')}"`;

export function toMermaid(groups: readonly HostGroup[]): string {
  const lines = ['flowchart LR'];
  const ssh: string[] = [];
  const problem: string[] = [];
  const linkStyles: string[] = [];
  let edgeIndex = 0;
  groups.forEach((g, i) => {
    const t = g.topology;
    const id = (nodeId: string) => mid(`h${i}_${nodeId}`);
    lines.push(`  subgraph ${mid(`host_${i}`)}[${mlabel(groupLabel(g) + (t.problems.length ? ` · ⚠ ${t.problems.length}` : ''))}]`, '    direction LR');
    if (t.error) {
      lines.push(`    ${id('error')}[${mlabel(`not read: ${t.error}`)}]`);
      problem.push(id('error'));
    }
    for (const n of t.nodes) {
      const [open, close] = n.kind === 'network' ? ['([', '])'] : n.kind === 'session' ? ['>', ']'] : n.kind === 'bridge' ? ['(', ')'] : ['[', ']'];
      lines.push(`    ${id(n.id)}${open}${mlabel(nodeLabel(n))}${close}`);
      if (n.problems.length) problem.push(id(n.id));
      else if (n.ssh) ssh.push(id(n.id));
    }
    for (const e of t.edges) {
      lines.push(`    ${id(e.from)} ${e.problem ? '-.->' : e.ssh ? '==>' : '-->'} ${id(e.to)}`);
      if (e.problem) linkStyles.push(`  linkStyle ${edgeIndex} stroke:#dc2626,stroke-width:2px`);
      else if (e.ssh) linkStyles.push(`  linkStyle ${edgeIndex} stroke:#1d4ed8,stroke-width:2px`);
      edgeIndex++;
    }
    lines.push('  end');
  });
  lines.push('  classDef ssh stroke:#1d4ed8,stroke-width:3px', '  classDef problem stroke:#dc2626,stroke-width:3px,fill:#fee2e2');
  if (ssh.length) lines.push(`  class ${ssh.join(',')} ssh`);
  if (problem.length) lines.push(`  class ${problem.join(',')} problem`);
  lines.push(...linkStyles);
  return lines.join('\n') + '\n';
}
