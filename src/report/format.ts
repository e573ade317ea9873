// Text shared by the reporters: the recap table and one-line task outcomes.
import { hostFailed, type HostRecap, type RunSummary, type TaskEvent } from '../model/result.js';
import { hostRanges } from './host-range.js';
import { lineDiff } from '../text/line-diff.js';

// Function properties, not methods: they are plain functions, passed around on their own (`c.red`).
export interface Colors {
  green: (s: string) => string;
  yellow: (s: string) => string;
  red: (s: string) => string;
  dim: (s: string) => string;
  bold: (s: string) => string;
}

const id = (s: string) => s;
export const noColors: Colors = { green: id, yellow: id, red: id, dim: id, bold: id };
const wrap = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;
export const ansiColors: Colors = { green: wrap(32, 39), yellow: wrap(33, 39), red: wrap(31, 39), dim: wrap(2, 22), bold: wrap(1, 22) };

export function outcomeLabel(e: Pick<TaskEvent, 'outcome' | 'check' | 'ignored'>, c: Colors): string {
  switch (e.outcome) {
    case 'ok':
      return c.green('ok');
    case 'changed':
      return c.yellow(e.check ? 'would change' : 'changed');
    case 'skipped':
      return c.dim('skipped');
    default:
      return e.ignored ? c.yellow(`${e.outcome} (ignored)`) : c.red(e.outcome);
  }
}

export function eventLine(e: TaskEvent, c: Colors): string {
  return `${e.host} | ${e.task} | ${outcomeLabel(e, c)} | ${e.message}`;
}

export function diffLines(e: TaskEvent, c: Colors): string[] {
  if (!e.diff) return [];
  const lines = lineDiff(e.diff.before, e.diff.after).map((l) => (l.startsWith('+') ? c.green(l) : l.startsWith('-') ? c.red(l) : c.dim(l)));
  const notes = (e.diff.notes ?? []).map((n) => c.yellow(`! ${n}`));
  return [`--- ${e.host}: ${e.task} (before)`, `+++ ${e.host}: ${e.task} (after)`, ...lines, ...notes].map((l) => `    ${l}`);
}

export function recapLine(r: HostRecap, width: number, c: Colors): string {
  const color = r.unreachable || r.failed || r.rolled_back ? c.red : r.changed ? c.yellow : c.green;
  // Pad the plain text first: escape codes have no width on screen.
  const cell = (k: string, v: number, col: (s: string) => string) => {
    const text = `${k}=${v}`.padEnd(k.length + 5);
    return v ? col(text) : text;
  };
  return [
    color(r.host.padEnd(width)),
    ':',
    cell('ok', r.ok, c.green),
    cell('changed', r.changed, c.yellow),
    cell('failed', r.failed, c.red),
    cell('skipped', r.skipped, c.dim),
    cell('unreachable', r.unreachable, c.red),
    ...(r.rolled_back ? [cell('rolled_back', r.rolled_back, c.red)] : []),
    ...(r.ignored ? [cell('ignored', r.ignored, c.yellow)] : []),
  ]
    .join(' ')
    .trimEnd();
}

/**
 * How the recap lists hosts. `full`: one line per host (Ansible's recap). `fit`: the same, unless
 * that is more than `lines` lines: then hosts with identical counters share one line, named by
 * inventory-style ranges (`hv[1:30]`, pasteable into --limit); failed hosts keep their own line
 * and error.
 */
export type RecapMode = { mode: 'full' } | { mode: 'fit'; lines: number };

export function recapText(s: RunSummary, c: Colors, how: RecapMode = { mode: 'full' }): string {
  const full = recapLines(s, c, false);
  if (how.mode === 'full' || full.length <= how.lines) return full.join('\n');
  return recapLines(s, c, true).join('\n');
}

function recapLines(s: RunSummary, c: Colors, grouped: boolean): string[] {
  const byBatch = new Map<number, HostRecap[]>();
  for (const h of s.hosts) byBatch.set(h.batch ?? 0, [...(byBatch.get(h.batch ?? 0) ?? []), h]);
  const rows: Array<{ batch: number; label: string; recap: HostRecap; count: number }> = [];
  for (const [batch, hosts] of [...byBatch.entries()].sort((a, b) => a[0] - b[0])) {
    if (!grouped) {
      rows.push(...hosts.map((h) => ({ batch, label: h.host, recap: h, count: 1 })));
      continue;
    }
    const groups = new Map<string, HostRecap[]>();
    for (const h of hosts.filter((x) => !hostFailed(x))) {
      const key = [h.ok, h.changed, h.failed, h.skipped, h.unreachable, h.rolled_back, h.ignored, h.notStarted?.join('\n') ?? ''].join(',');
      groups.set(key, [...(groups.get(key) ?? []), h]);
    }
    for (const members of groups.values()) {
      rows.push({ batch, label: hostRanges(members.map((m) => m.host)), recap: members[0]!, count: members.length });
    }
    rows.push(...hosts.filter(hostFailed).map((h) => ({ batch, label: h.host, recap: h, count: 1 })));
  }
  // Very long range lists overflow their column rather than pushing every other line's counters.
  const width = Math.max(8, ...rows.map((r) => (r.label.length <= 40 ? r.label.length : 0)));
  const header = `RECAP${s.check ? ' (check mode: nothing was changed)' : ''}`;
  const lines = [c.bold(grouped ? `${header} · hosts with the same counters on one line (every host: -v or --recap full)` : header)];
  let batch = -1;
  for (const r of rows) {
    if (r.batch !== batch && (byBatch.size > 1 || r.batch > 0)) lines.push(c.dim(`batch ${r.batch}`));
    batch = r.batch;
    const line = recapLine({ ...r.recap, host: r.label }, width, c);
    lines.push(r.count > 1 ? `${line}    ${c.dim(`(${r.count} hosts)`)}` : line);
    if (r.count === 1 && r.recap.error) lines.push(`${' '.repeat(width)}   ${c.red(r.recap.error)}`);
    if (r.recap.notStarted?.length) lines.push(`${' '.repeat(width)}   ${c.yellow(`never started: ${r.recap.notStarted.join(', ')}`)}`);
  }
  if (s.notTouched.length) lines.push(c.yellow(`never touched (rollout stopped): ${grouped ? hostRanges(s.notTouched) : s.notTouched.join(', ')}`));
  const t = totals(s.hosts);
  lines.push(
    `${s.hosts.length} hosts · ok ${t.ok} · ${s.check ? 'would change' : 'changed'} ${t.changed} · failed ${t.failed} · skipped ${t.skipped} · unreachable ${t.unreachable}${t.rolled_back ? ` · rolled back ${t.rolled_back}` : ''} · ${(s.elapsedMs / 1000).toFixed(1)} s`,
  );
  return lines;
}

export function totals(hosts: HostRecap[]): { ok: number; changed: number; failed: number; skipped: number; unreachable: number; rolled_back: number } {
  const t = { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0, rolled_back: 0 };
  for (const h of hosts) {
    t.ok += h.ok;
    t.changed += h.changed;
    t.failed += h.failed;
    t.skipped += h.skipped;
    t.unreachable += h.unreachable;
    t.rolled_back += h.rolled_back;
  }
  return t;
}

/** The fleet summary line of the live view. */
export function progressLine(done: number, total: number, hosts: HostRecap[]): string {
  const count = (pred: (h: HostRecap) => boolean) => hosts.filter(pred).length;
  const failed = count((h) => (h.failed > 0 || h.rolled_back > 0) && h.unreachable === 0);
  const unreachable = count((h) => h.unreachable > 0);
  const changed = count((h) => !h.failed && !h.unreachable && !h.rolled_back && h.changed > 0);
  const ok = hosts.length - failed - unreachable - changed;
  return `done ${done}/${total} · ok ${ok} · changed ${changed} · failed ${failed} · unreachable ${unreachable}`;
}
