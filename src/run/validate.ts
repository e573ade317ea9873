// `kvmnet validate`, and the check `run` makes before contacting any host: render every task for
// every selected host. A mistake is reported once, where the value that makes it is written,
// with the hosts it affects (200 hosts with one undefined variable are one error, not 200).
import { inventoryMagicVars } from '../config/magic-vars.js';
import { dirname, resolve } from 'node:path';
import { hostVars, type Inventory } from '../config/inventory.js';
import { resolveConnectionVars } from '../config/connection-vars.js';
import { selectHosts } from '../config/patterns.js';
import type { Playbook, SpecLocation, TaskSpec } from '../config/playbook.js';
import type { PathSegment } from '../config/yaml-source.js';
import type { Diagnostic } from '../errors.js';
import { hasTemplate, renderString, renderValue } from '../render/template.js';
import { evaluateCondition } from './condition.js';
import { prepareTask } from './prepare.js';
import { readVarsFiles } from './vars-files.js';
import { MtuSense } from './validate-mtu.js';

export interface ValidationReport {
  plays: number;
  hosts: Set<string>;
  tasks: number;
  renderings: number;
  diagnostics: Diagnostic[];
  /** The rendering problems alone (what `run` refuses to start with). */
  renderDiagnostics: Diagnostic[];
}

const UNDEFINED = /undefined variable '([^']+)'/;
const SHOWN_HOSTS = 5;

/** One problem, the hosts it was found on, in the order they came. */
class ProblemsByPlace {
  private readonly found = new Map<string, { loc: SpecLocation; message: string; hosts: string[] }>();
  add(loc: SpecLocation, message: string, host: string): void {
    const key = `${loc.file}:${loc.line}:${loc.col}\n${message}`;
    const entry = this.found.get(key) ?? { loc, message, hosts: [] };
    if (!entry.hosts.includes(host)) entry.hosts.push(host);
    this.found.set(key, entry);
  }
  diagnostics(): Diagnostic[] {
    return [...this.found.values()].map(({ loc, message, hosts }) => {
      const shown = hosts.slice(0, SHOWN_HOSTS).join(', ') + (hosts.length > SHOWN_HOSTS ? ` … and ${hosts.length - SHOWN_HOSTS} more` : '');
      return {
        severity: 'error',
        file: loc.file,
        line: loc.line,
        col: loc.col,
        path: loc.path,
        message: `${message} (${hosts.length === 1 ? 'host' : `${hosts.length} hosts`}: ${shown})`,
      };
    });
  }
}

/** `playVars`: each play's vars with its vars files read, when the caller has them already. */
export function validatePlaybook(
  playbook: Playbook,
  inventory: Inventory,
  extraVars: Record<string, unknown>,
  limit?: Set<string>,
  playVars?: Array<Record<string, unknown>>,
): ValidationReport {
  const report: ValidationReport = { plays: playbook.plays.length, hosts: new Set(), tasks: 0, renderings: 0, diagnostics: [], renderDiagnostics: [] };
  const problems = new ProblemsByPlace();
  const mtu = new MtuSense();
  const dir = dirname(resolve(playbook.file));
  // Registered results of earlier plays are known at run time too.
  const registered = new Set<string>();
  for (const [p, play] of playbook.plays.entries()) {
    const sel = selectHosts(inventory, play.hosts, play.loc);
    report.diagnostics.push(...sel.diagnostics);
    const hosts = limit ? sel.hosts.filter((h) => limit.has(h)) : sel.hosts;
    const varsOfPlay = playVars?.[p] ?? { ...play.vars, ...readVarsFiles(play.varsFiles) };
    const allTasks = [...play.tasks, ...play.handlers];
    report.tasks += allTasks.length;
    for (const t of allTasks) if (t.register) registered.add(t.register);
    // Values known only at run time: registered results and facts. Tasks using them are rendered then.
    const runtimeNames = new Set(['facts', 'ansible_facts', ...registered]);
    for (const host of hosts) {
      report.hosts.add(host);
      const vars = { ...inventoryMagicVars(inventory), ...hostVars(inventory, host), ...varsOfPlay, ...extraVars, inventory_hostname: host };
      const origin = inventory.hostOrigin.get(host) ?? { file: '(inventory)' };
      const conn = resolveConnectionVars(host, play.become !== undefined ? { ...vars, become: play.become } : vars, origin);
      report.diagnostics.push(...conn.diagnostics);
      for (const task of allTasks) {
        const taskVars = { ...vars, ...task.vars, ...extraVars };
        if (!mayRun(task, taskVars)) continue;
        for (const itemVars of loopVars(task, taskVars, host, runtimeNames, problems)) {
          report.renderings += 1;
          checkTask(task, { ...taskVars, ...itemVars }, host, dir, runtimeNames, problems, mtu);
        }
      }
    }
  }
  report.renderDiagnostics = problems.diagnostics();
  report.diagnostics.push(...report.renderDiagnostics, ...mtu.diagnostics());
  return report;
}

/** A task whose `when` is false here is not checked; one that depends on run-time values is. */
function mayRun(task: TaskSpec, vars: Record<string, unknown>): boolean {
  if (task.when === undefined) return true;
  try {
    return evaluateCondition(task.when, vars);
  } catch {
    // Undefined here (a registered result, a fact, or `x is defined` style guards): decided at run time.
    return false;
  }
}

const isRuntime = (message: string, runtime: Set<string>) => {
  const undef = UNDEFINED.exec(message);
  return undef !== null && runtime.has(undef[1]!.split('.')[0]!);
};

function checkTask(
  task: TaskSpec,
  vars: Record<string, unknown>,
  host: string,
  dir: string,
  runtime: Set<string>,
  problems: ProblemsByPlace,
  mtu: MtuSense,
): void {
  // Each templated value on its own first, so a problem points at the line that has it.
  let valuesRender = true;
  for (const [path, value] of templatedLeaves(task.args)) {
    try {
      renderString(value, vars, 'this value');
    } catch (err) {
      valuesRender = false;
      const message = (err as Error).message;
      if (isRuntime(message, runtime)) continue;
      const undef = UNDEFINED.exec(message);
      problems.add(task.argLoc(path), undef ? `undefined variable '${undef[1]}'` : message, host);
    }
  }
  if (!valuesRender) return;
  try {
    const prepared = prepareTask(task, vars, host, dir);
    mtu.observe(task.type, prepared.args as Record<string, unknown>, host, task.loc);
  } catch (err) {
    const message = (err as Error).message;
    if (isRuntime(message, runtime)) return;
    problems.add(task.loc, message.replaceAll(` on ${host}`, ''), host);
  }
}

function templatedLeaves(value: unknown, path: PathSegment[] = []): Array<[PathSegment[], string]> {
  if (typeof value === 'string') return hasTemplate(value) ? [[path, value]] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => templatedLeaves(v, [...path, i]));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => templatedLeaves(v, [...path, k]));
  return [];
}

function loopVars(
  task: TaskSpec,
  vars: Record<string, unknown>,
  host: string,
  runtime: Set<string>,
  problems: ProblemsByPlace,
): Array<Record<string, unknown>> {
  if (task.loop === undefined) return [{}];
  try {
    const items = renderValue(task.loop, vars, `loop of '${task.name}'`);
    if (Array.isArray(items)) return (items as unknown[]).map((item) => ({ [task.loopVar]: item }));
    problems.add(task.loc, 'loop is not a list', host);
  } catch (err) {
    const message = (err as Error).message;
    if (!isRuntime(message, runtime)) problems.add(task.loc, message, host);
  }
  return [];
}
