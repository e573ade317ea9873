// `kvmnet graph --format html`: the picture and a list of the problems in one self-contained page
// (no script, no network access). Pure.
import type { HostGroup } from './shape.js';
import { groupLabel } from './dot.js';

export const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export const LEGEND_HTML = `<p class="legend"><span class="k nic">NIC</span> → <span class="k bond">bond / VLAN</span> → <span class="k bridge">bridge</span> → <span class="k network">libvirt network</span> → <span class="k guest">guest interface</span> · <span class="k ssh">SSH path</span> · <span class="k problem">problem</span> · ⚙ the device's network manager (NetworkManager, networkd, ifupdown; none: left to kvmnet)</p>`;

export const GRAPH_CSS = `
.legend .k{display:inline-block;padding:1px 6px;border-radius:4px;border:1px solid #94a3b8;font-size:12px}
.legend .nic{background:#f1f5f9}.legend .bond{background:#ede9fe}.legend .bridge{background:#dbeafe}
.legend .network{background:#dcfce7}.legend .guest{background:#fff7ed;border-style:dashed}
.legend .ssh{border:2px solid #1d4ed8}.legend .problem{border:2px solid #dc2626;background:#fee2e2}
.picture{overflow:auto;border:1px solid #e2e8f0;border-radius:6px;padding:8px;background:#fff}
.picture svg{max-width:100%;height:auto}
`;

/** The problems of every group, one row each: where, what, on which hosts. */
export function problemsTable(groups: readonly HostGroup[]): string {
  const rows = groups.flatMap((g) =>
    g.topology.problems.map(
      (p) =>
        `<tr><td>${escapeHtml(groupLabel(g))}</td><td><code>${escapeHtml(p.node.replace(/^[a-z]+:/, ''))}</code></td><td>${escapeHtml(p.message)}</td></tr>`,
    ),
  );
  const errors = groups
    .filter((g) => g.topology.error)
    .map((g) => `<tr><td>${escapeHtml(groupLabel(g))}</td><td>—</td><td>not read: ${escapeHtml(g.topology.error!)}</td></tr>`);
  if (!rows.length && !errors.length) return '<p class="ok">No problems found.</p>';
  return `<table class="problems"><thead><tr><th>hosts</th><th>where</th><th>problem</th></tr></thead><tbody>${[...errors, ...rows].join('')}</tbody></table>`;
}

export function graphPage(groups: readonly HostGroup[], svg: string, title: string): string {
  const hosts = groups.reduce((n, g) => n + g.hosts.length, 0);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px;color:#0f172a}
h1{font-size:20px;margin:0 0 4px} table{border-collapse:collapse;margin:12px 0} td,th{border:1px solid #e2e8f0;padding:4px 8px;text-align:left;font-size:13px}
.problems td:last-child{color:#b91c1c}
${GRAPH_CSS}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p>${hosts} host${hosts === 1 ? '' : 's'} in ${groups.length} picture${groups.length === 1 ? '' : 's'} (hosts of the same shape are drawn once).</p>
${LEGEND_HTML}
<div class="picture">${svg.slice(svg.indexOf('<svg'))}</div>
<h2>Problems</h2>
${problemsTable(groups)}
</body></html>
`;
}
