// A run as the HTML report reads it: the JSON events of `kvmnet run --output json` (each with
// its `time`), whether recorded during the run or read back from a saved JSON Lines file. Pure.
import { UsageError } from '../errors.js';
import { emptyRecap, hostFailed, type HostRecap, type RunSummary, type TaskEvent } from '../model/result.js';

export type Timed<T> = T & { time: string };

export interface RunLog {
  plays: Array<Timed<{ play: string; hosts: string[]; check: boolean }>>;
  batches: Array<Timed<{ batch: number; batches: number; hosts: string[] }>>;
  tasks: Array<Timed<TaskEvent>>;
  warnings: Array<Timed<{ message: string }>>;
  /** Absent when the run was cut short before its summary. */
  summary?: Timed<RunSummary>;
}

export const emptyRunLog = (): RunLog => ({ plays: [], batches: [], tasks: [], warnings: [] });

/** Adds one event object (as JsonReporter writes it) to the log. */
export function addEvent(log: RunLog, e: Record<string, unknown>): void {
  const { event, ...rest } = e;
  const time = typeof rest.time === 'string' ? rest.time : new Date(0).toISOString();
  const timed = { ...rest, time } as never;
  if (event === 'play') log.plays.push(timed);
  else if (event === 'batch') log.batches.push(timed);
  else if (event === 'task') log.tasks.push(timed);
  else if (event === 'warning') log.warnings.push(timed);
  else if (event === 'summary') log.summary = timed;
}

export function parseRunLog(text: string, file: string): RunLog {
  const log = emptyRunLog();
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new UsageError(`${file}:${i + 1}: not JSON (expected the output of \`kvmnet run --output json\`): ${(e as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || typeof (value as { event?: unknown }).event !== 'string') {
      throw new UsageError(`${file}:${i + 1}: expected an event object with "event" (the output of \`kvmnet run --output json\`)`);
    }
    addEvent(log, value as Record<string, unknown>);
  });
  if (!log.tasks.length && !log.summary && !log.plays.length) throw new UsageError(`${file}: no run events in it`);
  return log;
}

/** Per host: the recap of the summary, or, for a run cut short, one counted from its task events. */
export function hostRecaps(log: RunLog): HostRecap[] {
  if (log.summary) return log.summary.hosts;
  const recaps = new Map<string, HostRecap>();
  for (const t of log.tasks) {
    const r = recaps.get(t.host) ?? emptyRecap(t.host);
    if (t.ignored) r.ignored++;
    else r[t.outcome]++;
    if ((t.outcome === 'failed' || t.outcome === 'unreachable') && !t.ignored) r.error ??= `${t.task}: ${t.message}`;
    recaps.set(t.host, r);
  }
  for (const b of log.batches) for (const h of b.hosts) if (recaps.has(h)) recaps.get(h)!.batch ??= b.batch;
  return [...recaps.values()];
}

const rank = (r: HostRecap): number => (hostFailed(r) ? 0 : r.changed ? 1 : 2);

/** Failed, unreachable and rolled-back hosts first, then changed ones, then the rest; by name within. */
export function hostsWorstFirst(recaps: readonly HostRecap[]): HostRecap[] {
  return [...recaps].sort((a, b) => rank(a) - rank(b) || a.host.localeCompare(b.host, 'en', { numeric: true }));
}

export interface TimelineBar {
  host: string;
  task: string;
  outcome: TaskEvent['outcome'];
  /** Milliseconds from the start of the run. */
  start: number;
  end: number;
}

/** Each task event as a bar: it ended at its `time` and took `durationMs`. */
export function timeline(log: RunLog): { bars: TimelineBar[]; startMs: number; totalMs: number } {
  const ends = log.tasks.map((t) => Date.parse(t.time));
  const starts = log.tasks.map((t, i) => ends[i]! - t.durationMs);
  const firstPlay = log.plays.length ? Date.parse(log.plays[0]!.time) : Infinity;
  const startMs = Math.min(firstPlay, ...starts);
  const endMs = Math.max(...ends, log.summary ? Date.parse(log.summary.time) : -Infinity);
  if (!Number.isFinite(startMs) || !Number.isFinite(endMs)) return { bars: [], startMs: 0, totalMs: 0 };
  const bars = log.tasks.map((t, i) => ({ host: t.host, task: t.task, outcome: t.outcome, start: starts[i]! - startMs, end: ends[i]! - startMs }));
  return { bars, startMs, totalMs: Math.max(1, endMs - startMs) };
}
