// Loops and `register`, as Ansible has them: a task's items, and what a registered variable holds
// for a task or a loop of it. Pure.
import type { TaskSpec } from '../config/playbook.js';
import { KvmnetError } from '../errors.js';
import { renderValue } from '../render/template.js';

/** The one "item" of a task without `loop`. */
export const NO_LOOP = Symbol('no loop');

/** What one run of a task (or of one loop item) gives the rest of the play. */
export interface TaskResult {
  changed: boolean;
  stop: boolean;
  registered: Record<string, unknown>;
}

/** The task's loop items, rendered with what the task sees; [NO_LOOP] without a loop. */
export function loopItems(task: TaskSpec, vars: Record<string, unknown>, host: string): unknown[] {
  if (task.loop === undefined) return [NO_LOOP];
  const items = renderValue(task.loop, vars, `loop of task '${task.name}' on ${host}`);
  if (!Array.isArray(items)) throw new KvmnetError(`loop of task '${task.name}' on ${host} is not a list`);
  return items;
}

/** What `register` holds for a loop, as in Ansible: changed/failed if any item was, skipped if all were, and every item's result. */
export function loopResult(results: Array<Record<string, unknown>>): Record<string, unknown> {
  return {
    changed: results.some((r) => r.changed === true),
    failed: results.some((r) => r.failed === true),
    skipped: results.length > 0 && results.every((r) => r.skipped === true),
    msg: 'all items completed',
    results,
  };
}

/** What `register` holds for a task's result (Ansible's shape). */
export function registeredResult(
  outcome: 'ok' | 'changed' | 'failed' | 'skipped',
  msg: string | undefined,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { changed: outcome === 'changed', failed: outcome === 'failed', skipped: outcome === 'skipped', msg, ...extra };
}

/** What a task that never started returns when the queued changes before it failed. */
export const STOPPED: TaskResult = { changed: false, stop: true, registered: registeredResult('failed', 'an earlier task failed') };

/** The result of a changed task, as long as its changes are not known to have failed. */
export function changedResult(summaries: string[], data: Record<string, unknown>): TaskResult {
  return { changed: true, stop: false, registered: registeredResult('changed', summaries.join('; '), { changes: summaries, ...data }) };
}
