// Plans a task the way the executor does (module planner, then its persistence), from
// arguments as a playbook would give them, parsed by the task type's own schema.
import type { Facts } from '../../../src/model/facts.js';
import type { Plan } from '../../../src/model/plan.js';
import { planTask } from '../../../src/run/prepare.js';
import type { PlannedTaskModule } from '../../../src/tasks/contract.js';
import { taskModule, type TaskType } from '../../../src/tasks/registry.js';

export function planOf(type: Exclude<TaskType, 'command'>, args: object, facts: Facts, host = 'hv1', input: object = {}): Plan {
  const module = taskModule(type) as unknown as PlannedTaskModule<string, never, unknown>;
  const parsed = (module.schema as unknown as { parse(v: unknown): object }).parse(args);
  return planTask({ kind: 'planned', module, input: { ...parsed, ...input }, args: parsed }, facts, host);
}
