// Turns a task as written into the arguments its planner gets on one host: render the
// Handlebars strings with that host's variables, validate again, render the network XML.
import { readFileSync } from 'node:fs';
import { validateTaskArgs, PACKAGE_TEMPLATES, type TaskSpec } from '../config/playbook.js';
import { taskArgSchemas, type CommandArgs } from '../config/task-schemas.js';
import { RenderError } from '../errors.js';
import { renderValue, renderXml } from '../render/template.js';
import type { PlannerInput } from '../tasks/index.js';
import { resolve } from 'node:path';
import { findTemplate } from '../config/playbook.js';

export type PreparedTask =
  | { [K in keyof PlannerInput]: { type: K; args: PlannerInput[K] } }[keyof PlannerInput]
  | { type: 'command'; args: CommandArgs };

const templateCache = new Map<string, string>();
function readTemplate(file: string): string {
  let text = templateCache.get(file);
  if (text === undefined) {
    text = readFileSync(file, 'utf8');
    templateCache.set(file, text);
  }
  return text;
}

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
  const issues = validateTaskArgs(task.type, rendered, false);
  if (issues.length) {
    const list = issues.map((i) => `${task.type}.${i.path.join('.')}: ${i.message}`).join('; ');
    throw new RenderError(`invalid arguments after rendering, in ${where}: ${list}`);
  }
  const args = taskArgSchemas[task.type].parse(rendered);
  if (task.type === 'ensure_libvirt_net') {
    const net = args as PlannerInput['ensure_libvirt_net'];
    net.desiredXml = networkXml(net, task, vars, where, playbookDir);
  }
  return { type: task.type, args } as PreparedTask;
}

function networkXml(net: PlannerInput['ensure_libvirt_net'], task: TaskSpec, vars: Record<string, unknown>, where: string, playbookDir: string): string | undefined {
  if (net.xml !== undefined) return net.xml;
  if (net.template !== undefined) {
    const file = task.templateFile ?? findTemplate(net.template, playbookDir);
    if (!file) throw new RenderError(`template file not found: '${net.template}', in ${where}`);
    return renderXml(readTemplate(file), { ...vars, ...(net.vars ?? {}), name: net.name }, `template ${file} of ${where}`);
  }
  if (net.forward !== undefined || net.bridge !== undefined || net.ip !== undefined) {
    return renderXml(readTemplate(resolve(PACKAGE_TEMPLATES, 'network.xml.hbs')), { ...net }, `the structured definition of ${where}`);
  }
  return undefined;
}
