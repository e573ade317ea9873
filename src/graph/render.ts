// Facts entries → the picture in the asked format. Only `svg` and `html` load Graphviz (WASM).
import type { FactsEntry } from './facts-json.js';
import { toDot } from './dot.js';
import { graphPage } from './html-page.js';
import { toMermaid } from './mermaid.js';
import { groupByShape, oneGroupPerHost, type HostGroup } from './shape.js';
import { buildTopology, unreadableHost, type HostTopology } from './topology.js';

export const GRAPH_FORMATS = ['svg', 'dot', 'mermaid', 'html'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

export function topologies(entries: readonly FactsEntry[]): HostTopology[] {
  return entries.map((e) =>
    'facts' in e ? buildTopology(e.host, e.facts) : unreadableHost(e.host, `${e.unreachable ? 'unreachable' : 'failed'}: ${e.error}`),
  );
}

export function hostGroups(entries: readonly FactsEntry[], group: boolean): HostGroup[] {
  // Facts JSON lists hosts in the order they answered: draw them in name order (hv2 before hv10),
  // so the same fleet always gives the same picture.
  const byName = [...entries].sort((a, b) => a.host.localeCompare(b.host, 'en', { numeric: true }));
  const t = topologies(byName);
  return group ? groupByShape(t) : oneGroupPerHost(t);
}

export async function renderGraph(groups: readonly HostGroup[], format: GraphFormat, title = 'kvmnet topology'): Promise<string> {
  if (format === 'mermaid') return toMermaid(groups);
  const dot = toDot(groups);
  if (format === 'dot') return dot;
  const { renderSvg } = await import('./svg.js');
  const svg = await renderSvg(dot);
  return format === 'svg' ? svg : graphPage(groups, svg, title);
}

/** The format a file name asks for: `.svg`, `.dot`/`.gv`, `.mmd`/`.mermaid`, `.html`/`.htm`. */
export function formatFromFileName(file: string): GraphFormat | undefined {
  const ext = /\.([a-z]+)$/i.exec(file)?.[1]?.toLowerCase();
  return ext === 'svg'
    ? 'svg'
    : ext === 'dot' || ext === 'gv'
      ? 'dot'
      : ext === 'mmd' || ext === 'mermaid'
        ? 'mermaid'
        : ext === 'html' || ext === 'htm'
          ? 'html'
          : undefined;
}

/**
 * --limit on hosts read from a file (no inventory to resolve groups against): host names and
 * `*` globs separated by `,` or `:`, `!` to exclude.
 */
export function limitNames(hosts: readonly string[], pattern: string): string[] {
  const parts = pattern
    .split(/[,:]/)
    .map((p) => p.trim())
    .filter(Boolean);
  const glob = (p: string) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  const include = parts.filter((p) => !p.startsWith('!')).map(glob);
  const exclude = parts.filter((p) => p.startsWith('!')).map((p) => glob(p.slice(1)));
  return hosts.filter((h) => (include.length === 0 || include.some((r) => r.test(h)) || parts.includes('all')) && !exclude.some((r) => r.test(h)));
}
