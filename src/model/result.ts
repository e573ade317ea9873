// What happened on each host: the events the reporters show and the exit code is derived from.
import type { Op } from '../ops/types.js';
import type { TaskDiff } from './plan.js';

/** rolled_back: a guarded change cut the host off and its rollback timer restored it (a failure). */
export type TaskOutcome = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable' | 'rolled_back';

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
  /** A changed task's operations, in order, as a saved plan holds them (`{ op: 'link.add', name, … }`). */
  ops?: Op[];
  diff?: TaskDiff;
  check: boolean;
  /** A failure of a task with ignore_errors. */
  ignored?: boolean;
  durationMs: number;
}

export interface HostRecap {
  host: string;
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: number;
  rolled_back: number;
  /** Failures of tasks with ignore_errors: reported, but the host goes on and is not failed. */
  ignored: number;
  /** The error that stopped the host, with the task it was on. */
  error?: string;
  /** Batch number (1-based) when the play is rolled out in batches. */
  batch?: number;
  /** Tasks that never started because the run was stopping (Ctrl-C, any_errors_fatal). */
  notStarted?: string[];
}

export interface RunSummary {
  hosts: HostRecap[];
  elapsedMs: number;
  check: boolean;
  /** Hosts never touched because a rollout stopped early. */
  notTouched: string[];
  /** factsTopUps: execs that read facts a later task needed beyond what a host's first exec read (src/facts/needs.ts). */
  stats: { connections: number; execs: number; factsTopUps?: number };
}

export function emptyRecap(host: string): HostRecap {
  return { host, ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0, rolled_back: 0, ignored: 0 };
}

/** Failed, unreachable or rolled back: what counts against max_fail_percentage and the exit code. */
export const hostFailed = (r: HostRecap): boolean => r.failed > 0 || r.unreachable > 0 || r.rolled_back > 0;
