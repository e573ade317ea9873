// How a planned task's changes reach the host: the ONE choice, made from what is known about the
// task and the run, before anything is sent. Pure.

/**
 * check: only the facts change (nothing is sent). group: held for the task's confirm_group, sent
 * with its last task as one guarded step. guarded: alone, under commit-confirmed rollback.
 * alone: sent now in its own exec (its result is needed before the next task). batch: queued,
 * sent with the next tasks' changes in one exec.
 */
export type ApplyStrategy = 'check' | 'group' | 'guarded' | 'alone' | 'batch';

export interface StrategyInput {
  check: boolean;
  /** Why the change is guarded (the SSH path, confirm), or undefined. */
  guarded?: string;
  confirmGroup?: string;
  /** strategy: linear keeps hosts in step task by task. */
  linear: boolean;
  ignoreErrors: boolean;
  /** The task's changes fit in what is queued (the exec's size limit). */
  fitsBatch: boolean;
}

export function chooseStrategy(o: StrategyInput): ApplyStrategy {
  if (o.check) return 'check';
  if (o.guarded) return o.confirmGroup ? 'group' : 'guarded';
  // A task that needs its own result first (ignore_errors, strategy linear) or is too big for the batch goes alone.
  return o.linear || o.ignoreErrors || !o.fitsBatch ? 'alone' : 'batch';
}
