// Turns a task as written into what its module needs on one host: render the Handlebars strings
// with that host's variables, validate and parse ONCE (the typed value is carried from here on),
// then let the module prepare its planner input (e.g. render the network XML).
import { checkTaskArgs, type TaskSpec } from '../config/playbook.js';
import { RenderError } from '../errors.js';
import type { Facts } from '../model/facts.js';
import type { Plan } from '../model/plan.js';
import { persistedFiles, resolvePersist, type PersistingArgs } from '../persist/desired.js';
import { refuseNmManaged } from '../persist/nm-guard.js';
import { withNmProfiles } from '../persist/nm-plan.js';
import { withNetplanFiles } from '../persist/netplan-plan.js';
import { withIfupdown2Files } from '../persist/ifupdown2-plan.js';
import { deviceNamingArgs } from '../persist/task-devices.js';
import { withPersistence } from '../persist/plan.js';
import { renderValue, renderXml } from '../render/template.js';
import { assertGathered, plannedNeeds } from '../facts/needs.js';
import type { CommandTaskModule, PlannedTaskModule } from '../tasks/contract.js';
import { taskModule } from '../tasks/registry.js';
import type { CommandArgs } from '../tasks/command.js';

export type PreparedTask =
  | { kind: 'planned'; module: PlannedTaskModule<string, never, unknown>; input: unknown; args: PersistingArgs }
  | { kind: 'command'; module: CommandTaskModule; args: CommandArgs };

/** Throws RenderError naming the host, the task and what is wrong. */
export function prepareTask(task: TaskSpec, vars: Record<string, unknown>, host: string, playbookDir: string): PreparedTask {
  const where = `task '${task.name}' (${task.loc.file}:${task.loc.line}:${task.loc.col}) on ${host}`;
  // The play's `persist` is the default of the tasks that persist; rendered like their own args.
  const raw = task.persistDefault !== undefined && task.args.persist === undefined ? { ...task.args, persist: task.persistDefault } : task.args;
  // Inline XML is XML: its variables are escaped, so a value like `</network>` stays text.
  const { xml, ...rest } = raw;
  const rendered = renderValue(rest, vars, `${task.type} arguments of ${where}`) as Record<string, unknown>;
  if (typeof xml === 'string') rendered.xml = renderXml(xml, vars, `xml of ${where}`);
  else if (xml !== undefined) rendered.xml = xml;
  const { issues, value } = checkTaskArgs(task.type, rendered, false);
  if (issues.length || value === undefined) {
    const list = issues.map((i) => `${task.type}.${i.path.join('.')}: ${i.message}`).join('; ');
    throw new RenderError(`invalid arguments after rendering, in ${where}: ${list}`);
  }
  const module = taskModule(task.type);
  if (module.kind === 'command') return { kind: 'command', module, args: value as CommandArgs };
  const planned = module as unknown as PlannedTaskModule<string, never, unknown>;
  const input = planned.prepare ? planned.prepare(value as never, { vars, where, playbookDir, file: task.file }) : value;
  return { kind: 'planned', module: planned, input, args: value as PersistingArgs };
}

/** The task's plan on these facts: its module's changes, then its persisted files (if it persists). */
export function planTask(task: Extract<PreparedTask, { kind: 'planned' }>, facts: Facts, host: string): Plan {
  const persists = (task.args.persist ?? 'none') !== 'none';
  assertGathered(facts, plannedNeeds(task.module, persists), `planning a ${task.module.type} task on ${host}`);
  const runtime = task.module.plan(task.input, facts, host);
  const persistence = task.module.persistence;
  if (!persistence) {
    refuseNmManaged(runtime, facts, host, undefined);
    return runtime;
  }
  // The files last: planned against the same facts (runtime effects never touch them).
  const kind = resolvePersist(task.args.persist, facts, host);
  refuseNmManaged(runtime, facts, host, kind);
  const deviceArgs = deviceNamingArgs(task.module.type, task.args as Record<string, unknown>);
  if (kind === 'networkmanager') return withNmProfiles(runtime, deviceArgs, facts, host);
  if (kind === 'netplan') return withNetplanFiles(runtime, deviceArgs, facts, host);
  if (kind === 'ifupdown2') return withIfupdown2Files(runtime, deviceArgs, facts, host, task.module.type);
  const wants = persistedFiles(persistence, { ...task.args, persist: kind } as never, facts, host);
  return withPersistence(runtime, kind ?? 'none', wants, facts);
}
