// `kvmnet validate`: render every task for every selected host, without connecting.
import { dirname, resolve } from 'node:path';
import { hostVars, type Inventory } from '../config/inventory.js';
import { resolveConnectionVars } from '../config/connection-vars.js';
import { selectHosts } from '../config/patterns.js';
import type { Playbook, TaskSpec } from '../config/playbook.js';
import type { Diagnostic } from '../errors.js';
import { renderValue } from '../render/template.js';
import { prepareTask } from './prepare.js';
import { readVarsFiles } from './vars-files.js';

export interface ValidationReport {
  plays: number;
  hosts: Set<string>;
  tasks: number;
  renderings: number;
  diagnostics: Diagnostic[];
}

export function validatePlaybook(playbook: Playbook, inventory: Inventory, extraVars: Record<string, unknown>, limit?: Set<string>): ValidationReport {
  const report: ValidationReport = { plays: playbook.plays.length, hosts: new Set(), tasks: 0, renderings: 0, diagnostics: [] };
  const dir = dirname(resolve(playbook.file));
  for (const play of playbook.plays) {
    const sel = selectHosts(inventory, play.hosts, play.loc);
    report.diagnostics.push(...sel.diagnostics);
    const hosts = limit ? sel.hosts.filter((h) => limit.has(h)) : sel.hosts;
    const playVars = { ...play.vars, ...readVarsFiles(play.varsFiles) };
    const allTasks = [...play.tasks, ...play.handlers];
    report.tasks += allTasks.length;
    // Values known only at run time: registered results and facts. Tasks using them are rendered then.
    const runtimeNames = new Set(['facts', 'ansible_facts', ...allTasks.map((t) => t.register).filter((r): r is string => !!r)]);
    for (const host of hosts) {
      report.hosts.add(host);
      const vars = { ...hostVars(inventory, host), ...playVars, ...extraVars, inventory_hostname: host };
      const origin = inventory.hostOrigin.get(host) ?? { file: '(inventory)' };
      const conn = resolveConnectionVars(host, play.become !== undefined ? { ...vars, become: play.become } : vars, origin);
      report.diagnostics.push(...conn.diagnostics);
      for (const task of allTasks) {
        for (const itemVars of loopVars(task, vars, host, runtimeNames, report)) {
          report.renderings += 1;
          try {
            prepareTask(task, { ...vars, ...task.vars, ...extraVars, ...itemVars }, host, dir);
          } catch (err) {
            const message = (err as Error).message;
            const undef = /undefined variable '([^'.]+)/.exec(message);
            if (undef && runtimeNames.has(undef[1]!)) continue;
            report.diagnostics.push({ severity: 'error', file: task.loc.file, line: task.loc.line, col: task.loc.col, path: task.loc.path, message: `host ${host}: ${message}` });
          }
        }
      }
    }
  }
  return report;
}

function loopVars(task: TaskSpec, vars: Record<string, unknown>, host: string, runtime: Set<string>, report: ValidationReport): Array<Record<string, unknown>> {
  if (task.loop === undefined) return [{}];
  try {
    const items = renderValue(task.loop, vars, `loop of '${task.name}' on ${host}`);
    if (Array.isArray(items)) return items.map((item) => ({ [task.loopVar]: item }));
    report.diagnostics.push({ severity: 'error', file: task.loc.file, line: task.loc.line, col: task.loc.col, path: task.loc.path, message: `host ${host}: loop is not a list` });
  } catch (err) {
    const undef = /undefined variable '([^'.]+)/.exec((err as Error).message);
    if (!undef || !runtime.has(undef[1]!)) report.diagnostics.push({ severity: 'error', file: task.loc.file, line: task.loc.line, col: task.loc.col, path: task.loc.path, message: `host ${host}: ${(err as Error).message}` });
  }
  return [];
}
