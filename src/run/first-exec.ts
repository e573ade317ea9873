// What a host's first facts exec of a play reads: the needs of the tasks that will run for sure,
// and of those under `when` whose condition is already true on the play's vars alone (it names no
// registered result and no facts, and evaluates without error). The others ask for more when they
// run (host-pipeline.ts), so a task skipped by its `when` costs nothing.
import type { TaskSpec } from '../config/playbook.js';
import { selectFragments, taskNeeds } from '../facts/needs.js';
import type { FactsFragment } from '../facts/fragment.js';
import { evaluateCondition } from './condition.js';

const LATER = new Set(['facts', 'ansible_facts']);

/** `vars`: the host's and play's, in precedence order; `extraVars` win over a task's own, as when it runs. A wrong guess only costs an exec. */
export function firstExecNeeds(tasks: readonly TaskSpec[], vars: Record<string, unknown>, extraVars: Record<string, unknown>, host: string): FactsFragment[] {
  const registered = new Set(tasks.flatMap((t) => (t.register ? [t.register] : [])));
  const sure = (t: TaskSpec): boolean => {
    if (t.when === undefined) return true;
    const names = t.when.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? [];
    if (names.some((n) => registered.has(n) || LATER.has(n))) return false;
    try {
      return evaluateCondition(t.when, { ...vars, ...t.vars, ...extraVars, inventory_hostname: host });
    } catch {
      return false; // a loop variable, say: decided when the task runs
    }
  };
  return selectFragments(tasks.filter(sure).flatMap(taskNeeds));
}
