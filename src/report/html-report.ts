// `kvmnet run --report FILE.html` and `kvmnet report`: one self-contained HTML page per run (no
// script, no external resource: it opens offline, as a CI artifact). Pure: run log in, HTML out.
import { GRAPH_CSS, LEGEND_HTML, escapeHtml as esc, problemsTable } from '../graph/html-page.js';
import type { HostGroup } from '../graph/shape.js';
import { hostFailed, type HostRecap, type TaskOutcome } from '../model/result.js';
import { lineDiff } from '../text/line-diff.js';
import { hostRecaps, hostsWorstFirst, timeline, type RunLog } from './html-run-log.js';

export interface ReportTopology {
  groups: HostGroup[];
  /** The SVG Graphviz drew of the groups. */
  svg: string;
  /** What the picture shows, e.g. "after the run". */
  caption: string;
}

export interface ReportOptions {
  title: string;
  topology?: ReportTopology;
  /** Why there is no picture (no changed host, facts not readable…). */
  topologyNote?: string;
}

const OUTCOME_COLOR: Record<TaskOutcome, string> = {
  ok: '#16a34a',
  changed: '#d97706',
  failed: '#dc2626',
  skipped: '#94a3b8',
  unreachable: '#7f1d1d',
  rolled_back: '#be185d',
};

export const formatMs = (ms: number): string =>
  ms < 1000 ? `${Math.round(ms)} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;

const hostState = (r: HostRecap): string =>
  r.unreachable ? 'unreachable' : r.rolled_back ? 'rolled_back' : r.failed ? 'failed' : r.changed ? 'changed' : 'ok';
const badge = (outcome: string, text = outcome) => `<span class="badge ${esc(outcome)}">${esc(text)}</span>`;

function recapTable(recaps: readonly HostRecap[]): string {
  const batched = recaps.some((r) => r.batch !== undefined);
  const head = ['host', ...(batched ? ['batch'] : []), 'state', 'ok', 'changed', 'failed', 'skipped', 'unreachable', 'rolled back', 'error'];
  const rows = recaps.map((r) => {
    const cells = [
      `<a href="#host-${esc(r.host)}">${esc(r.host)}</a>`,
      ...(batched ? [String(r.batch ?? '')] : []),
      badge(hostState(r)),
      r.ok,
      r.changed,
      r.failed,
      r.skipped,
      r.unreachable,
      r.rolled_back,
      esc(r.error ?? ''),
    ];
    return `<tr class="recap ${hostState(r)}" data-host="${esc(r.host)}">${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  });
  return `<table class="recap-table"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function batchTable(recaps: readonly HostRecap[]): string {
  const batches = new Map<number, HostRecap[]>();
  for (const r of recaps) if (r.batch !== undefined) batches.set(r.batch, [...(batches.get(r.batch) ?? []), r]);
  if (batches.size === 0) return '';
  const rows = [...batches.entries()]
    .sort(([a], [b]) => a - b)
    .map(
      ([b, rs]) =>
        `<tr><td>${b}</td><td>${rs.length}</td><td>${rs.filter((r) => r.changed).length}</td><td>${rs.filter(hostFailed).length}</td><td>${rs.map((r) => esc(r.host)).join(', ')}</td></tr>`,
    );
  return `<h3>Batches</h3><table class="batches"><thead><tr><th>batch</th><th>hosts</th><th>changed</th><th>failed</th><th>which</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function timelineSvg(log: RunLog, hostOrder: readonly string[]): string {
  const { bars, totalMs } = timeline(log);
  if (!bars.length) return '<p>No task ran.</p>';
  const hosts = hostOrder.filter((h) => bars.some((b) => b.host === h));
  const labelW = Math.min(180, 8 + 7 * Math.max(...hosts.map((h) => h.length)));
  const width = 1000;
  const plotW = width - labelW - 10;
  const rowH = 18;
  const x = (ms: number) => labelW + (ms / totalMs) * plotW;
  const ticks = Array.from({ length: 6 }, (_, i) => (totalMs * i) / 5);
  const rows = hosts.map((h, i) => {
    const y = 20 + i * rowH;
    const rects = bars
      .filter((b) => b.host === h)
      .map(
        (b) =>
          `<rect x="${x(b.start).toFixed(1)}" y="${y + 3}" width="${Math.max(1.5, x(b.end) - x(b.start)).toFixed(1)}" height="${rowH - 6}" fill="${OUTCOME_COLOR[b.outcome]}"><title>${esc(`${h} · ${b.task} · ${b.outcome} · ${formatMs(b.end - b.start)}`)}</title></rect>`,
      );
    return `<text x="4" y="${y + rowH - 5}" class="tl-host">${esc(h)}</text>${rects.join('')}`;
  });
  const height = 20 + hosts.length * rowH + 6;
  const axis = ticks.map(
    (t) =>
      `<line x1="${x(t)}" y1="14" x2="${x(t)}" y2="${height}" class="tl-tick"/><text x="${x(t)}" y="11" text-anchor="middle" class="tl-time">${formatMs(t)}</text>`,
  );
  return `<svg class="timeline" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="timeline of the run">${axis.join('')}${rows.join('')}</svg>`;
}

function diffHtml(before: string, after: string, notes: readonly string[] = []): string {
  const lines = lineDiff(before, after).map((l) => `<span class="${l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : 'ctx'}">${esc(l)}</span>`);
  return `<pre class="diff">${lines.join('\n')}${notes.map((n) => `\n<span class="note">! ${esc(n)}</span>`).join('')}</pre>`;
}

function hostSection(r: HostRecap, log: RunLog): string {
  const tasks = log.tasks.filter((t) => t.host === r.host);
  const bad = hostFailed(r);
  const rows = tasks.map((t) => {
    const outcome = t.ignored ? 'failed (ignored)' : t.outcome;
    // A single change is usually the message itself: do not say it twice.
    const changes =
      t.changes.length && !(t.changes.length === 1 && t.changes[0] === t.message)
        ? `<ul class="changes">${t.changes.map((c) => `<li>${esc(c)}</li>`).join('')}</ul>`
        : '';
    const diff = t.diff
      ? `<details${t.outcome === 'failed' ? ' open' : ''}><summary>diff</summary>${diffHtml(t.diff.before, t.diff.after, t.diff.notes)}</details>`
      : '';
    return `<tr class="task ${esc(t.outcome)}" data-outcome="${esc(t.outcome)}"><td>${esc(t.task)}<div class="type">${esc(t.play)} · ${esc(t.type)}</div></td><td>${badge(t.outcome, outcome)}</td><td class="num">${formatMs(t.durationMs)}</td><td>${esc(t.message)}${changes}${diff}</td></tr>`;
  });
  const error = r.error ? `<p class="host-error">${esc(r.error)}</p>` : '';
  return `<section class="host ${hostState(r)}" id="host-${esc(r.host)}" data-host="${esc(r.host)}">
<details${bad || tasks.length <= 12 ? ' open' : ''}><summary><h3>${esc(r.host)} ${badge(hostState(r))}${r.batch !== undefined ? ` <span class="muted">batch ${r.batch}</span>` : ''} <span class="muted">ok ${r.ok} · changed ${r.changed} · failed ${r.failed} · skipped ${r.skipped} · unreachable ${r.unreachable}</span></h3></summary>
${error}${rows.length ? `<table class="tasks"><thead><tr><th>task</th><th>outcome</th><th>duration</th><th>what happened</th></tr></thead><tbody>${rows.join('')}</tbody></table>` : '<p class="muted">No task events.</p>'}
</details></section>`;
}

export function runReportHtml(log: RunLog, o: ReportOptions): string {
  const recaps = hostsWorstFirst(hostRecaps(log));
  const s = log.summary;
  const check = s?.check ?? log.plays[0]?.check ?? false;
  const total = (k: 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable') => recaps.reduce((n, r) => n + r[k], 0);
  const failedHosts = recaps.filter(hostFailed).length;
  const started = log.plays[0]?.time ?? log.tasks[0]?.time;
  const headline = failedHosts
    ? `${failedHosts} of ${recaps.length} host${recaps.length === 1 ? '' : 's'} failed`
    : `${recaps.length} host${recaps.length === 1 ? '' : 's'}, none failed`;
  const topology = o.topology
    ? `<p class="muted">${esc(o.topology.caption)}</p>${LEGEND_HTML}<div class="picture">${o.topology.svg.slice(o.topology.svg.indexOf('<svg'))}</div>${problemsTable(o.topology.groups)}`
    : `<p class="muted">${esc(o.topologyNote ?? 'No topology picture.')}</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(o.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px;color:#0f172a;max-width:1200px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0;padding-bottom:4px} h3{font-size:15px;margin:0;display:inline}
.muted{color:#64748b;font-weight:normal;font-size:13px}
.headline{font-size:16px;margin:8px 0} .headline.bad{color:#b91c1c;font-weight:600}
table{border-collapse:collapse;margin:8px 0;width:100%} td,th{border:1px solid #e2e8f0;padding:4px 8px;text-align:left;font-size:13px;vertical-align:top} th{background:#f8fafc}
td.num{white-space:nowrap;text-align:right}
.badge{display:inline-block;padding:0 6px;border-radius:9px;font-size:12px;color:#fff;background:#64748b}
.badge.ok{background:#16a34a}.badge.changed{background:#d97706}.badge.failed{background:#dc2626}.badge.unreachable{background:#7f1d1d}.badge.rolled_back{background:#be185d}.badge.skipped{background:#94a3b8}
tr.recap.failed td,tr.recap.unreachable td,tr.recap.rolled_back td{background:#fef2f2}
section.host{border:1px solid #e2e8f0;border-radius:6px;margin:10px 0;padding:8px 12px}
section.host.failed,section.host.unreachable,section.host.rolled_back{border-color:#dc2626;border-width:2px}
section.host summary{cursor:pointer}
.host-error{color:#b91c1c;font-weight:600}
.type{color:#64748b;font-size:11px}
ul.changes{margin:4px 0;padding-left:18px}
pre.diff{background:#f8fafc;border:1px solid #e2e8f0;padding:6px;overflow:auto;font-size:12px;margin:4px 0}
pre.diff .add{color:#15803d} pre.diff .del{color:#b91c1c} pre.diff .ctx{color:#475569} pre.diff .note{color:#a16207}
svg.timeline{max-width:100%;height:auto;background:#fff;border:1px solid #e2e8f0;border-radius:6px}
svg.timeline .tl-host{font-size:11px;fill:#0f172a} svg.timeline .tl-time{font-size:10px;fill:#64748b} svg.timeline .tl-tick{stroke:#e2e8f0}
.key span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px;border-radius:2px}
.warnings li{color:#a16207}
${GRAPH_CSS}
</style></head><body>
<h1>${esc(o.title)}</h1>
<p class="muted">${started ? `started ${esc(started)} · ` : ''}${s ? `took ${formatMs(s.elapsedMs)} · ` : 'no summary (the run was cut short) · '}${check ? 'check mode: nothing was changed' : 'changes applied'}${log.plays.length ? ` · play${log.plays.length === 1 ? '' : 's'}: ${log.plays.map((p) => esc(p.play)).join(', ')}` : ''}</p>
<p class="headline${failedHosts ? ' bad' : ''}">${headline} · ok ${total('ok')} · changed ${total('changed')} · failed ${total('failed')} · skipped ${total('skipped')} · unreachable ${total('unreachable')}</p>
${s?.notTouched.length ? `<p class="host-error">not touched (the rollout stopped): ${s.notTouched.map(esc).join(', ')}</p>` : ''}
${log.warnings.length ? `<ul class="warnings">${log.warnings.map((w) => `<li>${esc(w.message)}</li>`).join('')}</ul>` : ''}
<h2>Recap</h2>
${recapTable(recaps)}
${batchTable(recaps)}
<h2>Timeline</h2>
<p class="key muted">${(Object.keys(OUTCOME_COLOR) as TaskOutcome[]).map((k) => `<span style="background:${OUTCOME_COLOR[k]}"></span>${k}`).join('')}</p>
${timelineSvg(
  log,
  recaps.map((r) => r.host),
)}
<p class="muted">Each bar is a task, from its start to its end (its event's time). 0 is the start of the run; before a host's first bar it was being connected to and its facts read.</p>
<h2>Hosts</h2>
${recaps.map((r) => hostSection(r, log)).join('\n')}
<h2>Topology</h2>
${topology}
</body></html>
`;
}
