// What the live view shows, given the terminal's size and the hosts' states: a pure function, so
// "it never draws more lines than the terminal has" is a property of this module, tested as such.
import { hostRanges } from './host-range.js';

export interface LiveSnapshot {
  /** The play's name, with "(check mode)". */
  title: string;
  /** The fleet totals line (`progressLine`). */
  totals: string;
  /** `batch 2/5 (10 hosts)`, while a play is rolled out in batches. */
  batch?: string;
  /** Hosts working, in the order they started. */
  running: Array<{ host: string; task: string }>;
  /** Failed, unreachable and rolled-back hosts, in the order they finished. */
  failed: Array<{ host: string; outcome: string; error: string }>;
  waiting: number;
}

export interface Screen {
  rows: number;
  columns: number;
}

export type LineTone = 'title' | 'totals' | 'failed' | 'running' | 'more';
export interface LiveLine {
  tone: LineTone;
  text: string;
}

/**
 * The lines of one frame, at most `rows - 1` (the cursor keeps the last row, so nothing scrolls)
 * and each at most `columns - 1` cells wide (no line wraps). Priority, top down: the totals and
 * the batch (always, even on one row), the play's title, failed hosts (what the operator must act
 * on), then hosts in progress — one per line when they fit, else one line per current task when
 * those fit (`NAT network net10: 18 hosts (hv[1:18])`), else as many as fit and `… and 22 more in
 * progress`.
 */
export function layoutLive(s: LiveSnapshot, screen: Screen, spinner = '⠋'): LiveLine[] {
  const budget = Math.max(1, Math.floor(screen.rows) - 1);
  const width = Math.max(10, Math.floor(screen.columns) - 1);
  const line = (tone: LineTone, text: string): LiveLine => ({ tone, text: fit(text, width) });
  const totals = line('totals', `${s.totals}${s.batch ? ` · ${s.batch}` : ''}`);
  const counts = `running ${s.running.length} · waiting ${s.waiting}`;
  if (budget < 3) return [totals];
  const out: LiveLine[] = [line('title', `${s.title} · ${counts}`), totals];
  let left = budget - out.length;

  // Failed hosts come first, but one row stays for the hosts still working.
  const failRoom = s.running.length > 0 ? left - 1 : left;
  if (s.failed.length <= failRoom) out.push(...s.failed.map((f) => line('failed', failedText(f))));
  else if (failRoom > 0) {
    const shown = s.failed.slice(0, failRoom - 1);
    out.push(...shown.map((f) => line('failed', failedText(f))));
    out.push(
      line('failed', `✖ … and ${s.failed.length - shown.length} more failed or unreachable (${hostRanges(s.failed.slice(shown.length).map((f) => f.host))})`),
    );
  }
  left = budget - out.length;
  if (left <= 0 || s.running.length === 0) return out;

  if (s.running.length <= left) return [...out, ...s.running.map((r) => line('running', `${spinner} ${r.host}: ${r.task}`))];
  const byTask = new Map<string, string[]>();
  for (const r of s.running) byTask.set(r.task, [...(byTask.get(r.task) ?? []), r.host]);
  if (byTask.size <= left) {
    const groups = [...byTask.entries()].sort((a, b) => b[1].length - a[1].length);
    return [
      ...out,
      ...groups.map(([task, hosts]) =>
        line('running', hosts.length === 1 ? `${spinner} ${hosts[0]}: ${task}` : `${spinner} ${task}: ${plural(hosts.length)} (${hostRanges(hosts)})`),
      ),
    ];
  }
  const shown = s.running.slice(0, left - 1);
  return [
    ...out,
    ...shown.map((r) => line('running', `${spinner} ${r.host}: ${r.task}`)),
    line('more', `… and ${s.running.length - shown.length} ${shown.length ? 'more ' : ''}in progress`),
  ];
}

const plural = (n: number) => `${n} hosts`;

function failedText(f: LiveSnapshot['failed'][number]): string {
  return `✖ ${f.host}: ${f.outcome}${f.error ? `: ${f.error}` : ''}`;
}

// Cells on a terminal: East Asian wide characters and emoji take two, combining marks none.
const WIDE = /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]|\p{Emoji_Presentation}/u;
const ZERO = /\p{M}/u;
export function cellWidth(ch: string): number {
  return ZERO.test(ch) ? 0 : WIDE.test(ch) ? 2 : 1;
}

/** One line of at most `width` cells: control characters (a newline in a task name) become spaces, the end is cut with '…'. */
export function fit(text: string, width: number): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it replaces
  const chars = Array.from(text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' '));
  let used = 0;
  for (let i = 0; i < chars.length; i++) {
    used += cellWidth(chars[i]!);
    if (used > width) {
      // Back off until '…' fits too.
      let cut = i;
      let w = used - cellWidth(chars[i]!);
      while (cut > 0 && w + 1 > width) w -= cellWidth(chars[--cut]!);
      return chars.slice(0, cut).join('') + '…';
    }
  }
  return chars.join('');
}

export const displayWidth = (text: string): number => Array.from(text).reduce((n, ch) => n + cellWidth(ch), 0);
