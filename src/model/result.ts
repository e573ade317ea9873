// What happened on each host: the events the reporters show and the exit code is derived from.
import type { TaskDiff } from './plan.js';

export type TaskOutcome = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable';

export interface TaskEvent {
  host: string;
  play: string;
  task: string;
  type: string;
  outcome: TaskOutcome;
  /** The no-op reason, the error, or what changed. */
  message: string;
  /** One line per change (planned in check mode, applied otherwise). */
  changes: string[];
  diff?: TaskDiff;
  check: boolean;
  durationMs: number;
}

export interface HostRecap {
  host: string;
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: number;
  /** The error that stopped the host, with the task it was on. */
  error?: string;
  /** Batch number (1-based) when the play is rolled out in batches. */
  batch?: number;
}

export interface RunSummary {
  hosts: HostRecap[];
  elapsedMs: number;
  check: boolean;
  /** Hosts never touched because a rollout stopped early. */
  notTouched: string[];
  stats: { connections: number; execs: number };
}

export function emptyRecap(host: string): HostRecap {
  return { host, ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0 };
}
