// Loads a playbook: a YAML list of plays. Structure is checked by hand (for precise, collected
// messages and did-you-mean hints); task arguments by the zod schemas of the task modules (src/tasks/registry.ts).
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Diagnostic } from '../errors.js';
import { PERSIST_KINDS } from '../model/persist-kinds.js';
import { hasTemplate } from '../render/template.js';
import { findTemplate } from '../render/templates-dir.js';
import { isTaskType, taskModule, taskTypes, type TaskType } from '../tasks/registry.js';
import { PLAY_KEYS, TASK_KEYWORDS, validPlayValue } from './keywords.js';
import { suggest } from './suggest.js';
import { locate, parseYaml, readInputFile, type PathSegment, type YamlSource } from './yaml-source.js';
import { shown } from '../text/shown.js';

export interface SpecLocation {
  file: string;
  line: number;
  col: number;
  /** `play 1 › task 3 › ensure_ip` */
  path: string;
}

export interface TaskSpec {
  type: TaskType;
  /** As written: strings may still hold {{ templates }}; validated again after rendering. */
  args: Record<string, unknown>;
  name: string;
  when?: string;
  register?: string;
  loop?: unknown;
  loopVar: string;
  notify: string[];
  tags: string[];
  ignoreErrors: boolean;
  /** `check_mode: false` runs a command task even in --check. */
  checkMode?: boolean;
  vars: Record<string, unknown>;
  loc: SpecLocation;
  /** Absolute path of the file the task type's file argument names (ensure_libvirt_net's template). */
  file?: string;
  /** `confirm: true` on the task: guard its changes with commit-confirmed rollback. */
  confirm?: boolean;
  /** `confirm_group: NAME`: this task and its neighbours with the same NAME are ONE guarded step. */
  confirmGroup?: string;
  /** Where one of the task's arguments is written (`['address']`, `['ip', 'dhcp']`), for errors about its value. */
  argLoc: (path: readonly PathSegment[]) => SpecLocation;
  /** The play's `persist` (a format, or a {{ template }} of one): applied when a persisting task sets none. */
  persistDefault?: string;
}

export type Serial = Array<number | string>;

export interface PlaySpec {
  name: string;
  hosts: string;
  vars: Record<string, unknown>;
  varsFiles: string[];
  become?: boolean;
  serial?: Serial;
  maxFailPercentage?: number;
  anyErrorsFatal: boolean;
  strategy: 'free' | 'linear';
  /** Guard every change with commit-confirmed rollback (changes to the SSH path always are). */
  confirm: boolean;
  /** Seconds before an unconfirmed change is rolled back. */
  confirmTimeout: number;
  /** Default `persist` of the play's ensure_bridge, ensure_port and ensure_ip tasks. */
  persist?: string;
  tasks: TaskSpec[];
  handlers: TaskSpec[];
  loc: SpecLocation;
}

export interface Playbook {
  file: string;
  plays: PlaySpec[];
}

class Collector {
  readonly diagnostics: Diagnostic[] = [];
  constructor(readonly source: YamlSource) {}
  error(path: readonly PathSegment[], human: string, message: string, onKey = false): void {
    this.push('error', path, human, message, onKey);
  }
  warn(path: readonly PathSegment[], human: string, message: string, onKey = false): void {
    this.push('warning', path, human, message, onKey);
  }
  private push(severity: Diagnostic['severity'], path: readonly PathSegment[], human: string, message: string, onKey: boolean): void {
    const { line, col } = locate(this.source, path, onKey);
    this.diagnostics.push({ severity, file: this.source.file, line, col, path: human, message });
  }
  at(path: readonly PathSegment[], human: string): SpecLocation {
    return { file: this.source.file, ...locate(this.source, path), path: human };
  }
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const describe = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'a list'
      : typeof v === 'object'
        ? 'a mapping'
        : typeof v === 'string'
          ? `the string '${v}'`
          : `${typeof v} ${shown(v)}`;

function unknownKeyMessage(key: string, known: readonly string[], what: string): string {
  const hint = suggest(key, known);
  return hint ? `unknown ${what} '${key}': did you mean '${hint}'?` : `unknown ${what} '${key}'; expected one of: ${known.join(', ')}`;
}

export function loadPlaybook(file: string): { playbook?: Playbook; diagnostics: Diagnostic[] } {
  const read = readInputFile(file);
  if (read.text === undefined) return { diagnostics: read.diagnostics };
  return parsePlaybook(file, read.text);
}

export function parsePlaybook(file: string, text: string): { playbook?: Playbook; diagnostics: Diagnostic[] } {
  const parsed = parseYaml(file, text);
  if (!parsed.source) return { diagnostics: parsed.diagnostics };
  const c = new Collector(parsed.source);
  c.diagnostics.push(...parsed.diagnostics);
  const root = parsed.source.value;
  if (!Array.isArray(root)) {
    c.error([], 'playbook', `a playbook is a list of plays (each starting with '- hosts: …'), found ${describe(root)}`);
    return { diagnostics: c.diagnostics };
  }
  if (root.length === 0) c.error([], 'playbook', 'the playbook has no plays');
  const plays: PlaySpec[] = [];
  root.forEach((raw, i) => {
    const play = loadPlay(c, raw, i, dirname(resolve(file)));
    if (play) plays.push(play);
  });
  const hasErrors = c.diagnostics.some((d) => d.severity === 'error');
  return { playbook: hasErrors ? undefined : { file, plays }, diagnostics: c.diagnostics };
}

function loadPlay(c: Collector, raw: unknown, i: number, dir: string): PlaySpec | undefined {
  const human = `play ${i + 1}`;
  const p: PathSegment[] = [i];
  if (!isMap(raw)) {
    c.error(p, human, `a play is a mapping with 'hosts' and 'tasks', found ${describe(raw)}`);
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if ((PLAY_KEYS as readonly string[]).includes(key)) continue;
    const asTask = isTaskType(key) ? ` ('${key}' is a task: put it in the play's tasks list)` : '';
    c.error([...p, key], `${human} › ${key}`, unknownKeyMessage(key, PLAY_KEYS, 'play keyword') + asTask, true);
  }
  const name = typeof raw.name === 'string' ? raw.name : `play ${i + 1}`;
  if (raw.name !== undefined && typeof raw.name !== 'string') c.error([...p, 'name'], `${human} › name`, `expected a string, found ${describe(raw.name)}`);
  let hosts = '';
  if (raw.hosts === undefined) c.error(p, human, "a play needs 'hosts': a host pattern such as all, a group, or hv*");
  else if (typeof raw.hosts === 'string' && raw.hosts.trim()) hosts = raw.hosts.trim();
  else if (Array.isArray(raw.hosts) && raw.hosts.every((h) => typeof h === 'string')) hosts = raw.hosts.join(':');
  else c.error([...p, 'hosts'], `${human} › hosts`, `expected a host pattern (a string or a list of strings), found ${describe(raw.hosts)}`);

  const vars = mapOrEmpty(c, raw.vars, [...p, 'vars'], `${human} › vars`);
  const varsFiles = stringList(c, raw.vars_files, [...p, 'vars_files'], `${human} › vars_files`).map((f) => resolve(dir, f));
  varsFiles.forEach((f, j) => {
    if (!hasTemplate(f) && !existsSync(f)) c.error([...p, 'vars_files', j], `${human} › vars_files`, `vars file not found: ${f}`);
  });
  const become = optionalBool(c, raw.become, [...p, 'become'], `${human} › become`);
  const serial = loadSerial(c, raw.serial, [...p, 'serial'], `${human} › serial`);
  let maxFailPercentage: number | undefined;
  if (raw.max_fail_percentage !== undefined) {
    const v = raw.max_fail_percentage;
    if (validPlayValue('max_fail_percentage', v)) maxFailPercentage = v as number;
    else c.error([...p, 'max_fail_percentage'], `${human} › max_fail_percentage`, `expected a number from 0 to 100, found ${describe(v)}`);
  }
  const anyErrorsFatal = optionalBool(c, raw.any_errors_fatal, [...p, 'any_errors_fatal'], `${human} › any_errors_fatal`) ?? false;
  let strategy: PlaySpec['strategy'] = 'free';
  if (raw.strategy !== undefined) {
    if (validPlayValue('strategy', raw.strategy)) strategy = raw.strategy as PlaySpec['strategy'];
    else c.error([...p, 'strategy'], `${human} › strategy`, `expected 'free' or 'linear', found ${describe(raw.strategy)}`);
  }
  const confirm = optionalBool(c, raw.confirm, [...p, 'confirm'], `${human} › confirm`) ?? false;
  let confirmTimeout = 60;
  if (raw.confirm_timeout !== undefined) {
    if (validPlayValue('confirm_timeout', raw.confirm_timeout)) confirmTimeout = raw.confirm_timeout as number;
    else
      c.error(
        [...p, 'confirm_timeout'],
        `${human} › confirm_timeout`,
        `expected seconds from 6 to 3600 (below 6 s a new SSH connection has no time to confirm a change), found ${describe(raw.confirm_timeout)}`,
      );
  }
  const tasks = loadTaskList(c, raw.tasks, [...p, 'tasks'], human, 'task', dir);
  const handlers = loadTaskList(c, raw.handlers, [...p, 'handlers'], human, 'handler', dir);
  const persist = loadPersist(c, raw.persist, [...p, 'persist'], `${human} › persist`);
  if (persist !== undefined) for (const t of [...tasks, ...handlers]) if (persists(t.type)) t.persistDefault = persist;
  if (raw.tasks === undefined && raw.handlers === undefined) c.error(p, human, "a play needs 'tasks'");
  const handlerNames = new Set(handlers.map((h) => h.name));
  tasks.forEach((t) => {
    for (const n of t.notify) {
      if (!handlerNames.has(n)) {
        const hint = suggest(n, [...handlerNames]);
        c.error([...t.locPath, 'notify'], `${t.loc.path} › notify`, `no handler named '${n}' in this play${hint ? `: did you mean '${hint}'?` : ''}`);
      }
    }
  });
  return {
    name,
    hosts,
    vars,
    varsFiles,
    become,
    serial,
    maxFailPercentage,
    anyErrorsFatal,
    strategy,
    confirm,
    confirmTimeout,
    persist,
    tasks,
    handlers,
    loc: c.at(p, human),
  };
}

function persists(type: TaskType): boolean {
  const m = taskModule(type);
  return m.kind === 'planned' && m.persistence !== undefined;
}

function loadPersist(c: Collector, v: unknown, p: PathSegment[], human: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string' && (hasTemplate(v) || validPlayValue('persist', v))) return v;
  c.error(p, human, `expected one of ${PERSIST_KINDS.map((o) => `'${o}'`).join(', ')}, found ${describe(v)}`);
  return undefined;
}

function loadSerial(c: Collector, v: unknown, p: PathSegment[], human: string): Serial | undefined {
  if (v === undefined) return undefined;
  const items = Array.isArray(v) ? v : [v];
  if (!validPlayValue('serial', v)) {
    c.error(p, human, `expected a host count (1 or more), a percentage like "25%", or a list of them like [1, 5, "25%"], found ${describe(v)}`);
    return undefined;
  }
  return items as Serial;
}

function mapOrEmpty(c: Collector, v: unknown, p: PathSegment[], human: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (isMap(v)) return v;
  c.error(p, human, `expected a mapping of variables, found ${describe(v)}`);
  return {};
}

function optionalBool(c: Collector, v: unknown, p: PathSegment[], human: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return v;
  c.error(p, human, `expected true or false, found ${describe(v)}`);
  return undefined;
}

function stringList(c: Collector, v: unknown, p: PathSegment[], human: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  c.error(p, human, `expected a string or a list of strings, found ${describe(v)}`);
  return [];
}

type LoadedTask = TaskSpec & { locPath: PathSegment[] };

function loadTaskList(c: Collector, v: unknown, p: PathSegment[], playHuman: string, kind: 'task' | 'handler', dir: string): LoadedTask[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    c.error(p, `${playHuman} › ${kind}s`, `expected a list of ${kind}s, found ${describe(v)}`);
    return [];
  }
  const out: LoadedTask[] = [];
  v.forEach((raw, j) => {
    const t = loadTask(c, raw, [...p, j], `${playHuman} › ${kind} ${j + 1}`, dir);
    if (t) out.push(t);
  });
  return out;
}

function loadTask(c: Collector, raw: unknown, p: PathSegment[], human: string, dir: string): LoadedTask | undefined {
  if (!isMap(raw)) {
    c.error(p, human, `a task is a mapping with one task type (${taskTypes.join(', ')}), found ${describe(raw)}`);
    return undefined;
  }
  const types = Object.keys(raw).filter(isTaskType);
  for (const key of Object.keys(raw)) {
    if (isTaskType(key) || (TASK_KEYWORDS as readonly string[]).includes(key)) continue;
    const hint = suggest(key, [...taskTypes, ...TASK_KEYWORDS]);
    const message = hint
      ? `unknown task type or keyword '${key}': did you mean '${hint}'?`
      : `unknown task type or keyword '${key}'; task types are ${taskTypes.join(', ')}`;
    c.error([...p, key], `${human} › ${key}`, message, true);
  }
  if (types.length > 1) {
    c.error([...p, types[1]!], human, `a task has exactly one task type, found ${types.join(' and ')}: split it into ${types.length} tasks`, true);
    return undefined;
  }
  const type = types[0];
  if (!type) {
    const unknown = Object.keys(raw).some((k) => !(TASK_KEYWORDS as readonly string[]).includes(k));
    if (!unknown) c.error(p, human, `a task needs one task type: ${taskTypes.join(', ')}`);
    return undefined;
  }
  const humanTyped = `${human} › ${type}`;
  const args = raw[type];
  if (!isMap(args)) {
    c.error([...p, type], humanTyped, `expected the arguments of ${type} as a mapping, found ${describe(args)}`);
    return undefined;
  }
  for (const issue of checkTaskArgs(type, args, true).issues) {
    const at = [...p, type, ...issue.path];
    c.error(at, `${humanTyped}${issue.path.length ? '.' + issue.path.join('.') : ''}`, issue.message, issue.onKey);
  }
  const module = taskModule(type);
  let file: string | undefined;
  const fileArg = module.fileArg === undefined ? undefined : args[module.fileArg];
  if (typeof fileArg === 'string' && !hasTemplate(fileArg)) {
    file = findTemplate(fileArg, dir);
    if (!file)
      c.error(
        [...p, type, module.fileArg!],
        `${humanTyped}.${module.fileArg}`,
        `template file not found: '${fileArg}' (looked beside the playbook and in templates/)`,
      );
  }
  const name = typeof raw.name === 'string' ? raw.name : module.defaultName(args);
  if (raw.name !== undefined && typeof raw.name !== 'string') c.error([...p, 'name'], `${human} › name`, `expected a string, found ${describe(raw.name)}`);
  const when =
    raw.when === undefined
      ? undefined
      : typeof raw.when === 'string'
        ? raw.when
        : Array.isArray(raw.when)
          ? raw.when.map((w) => `(${String(w)})`).join(' and ')
          : typeof raw.when === 'boolean'
            ? String(raw.when)
            : undefined;
  if (raw.when !== undefined && when === undefined) c.error([...p, 'when'], `${human} › when`, `expected an expression string, found ${describe(raw.when)}`);
  let register: string | undefined;
  if (raw.register !== undefined) {
    if (typeof raw.register === 'string' && /^[A-Za-z_]\w*$/.test(raw.register)) register = raw.register;
    else c.error([...p, 'register'], `${human} › register`, `expected a variable name (letters, digits, _), found ${describe(raw.register)}`);
  }
  let loopVar = 'item';
  if (raw.loop_control !== undefined) {
    const lc = raw.loop_control;
    if (isMap(lc) && (lc.loop_var === undefined || (typeof lc.loop_var === 'string' && /^[A-Za-z_]\w*$/.test(lc.loop_var)))) loopVar = lc.loop_var ?? 'item';
    else c.error([...p, 'loop_control'], `${human} › loop_control`, 'expected a mapping like {loop_var: nic}');
  }
  if (raw.loop !== undefined && !Array.isArray(raw.loop) && !(typeof raw.loop === 'string' && hasTemplate(raw.loop))) {
    c.error([...p, 'loop'], `${human} › loop`, `expected a list or a '{{ variable }}' holding one, found ${describe(raw.loop)}`);
  }
  const ignoreErrors = optionalBool(c, raw.ignore_errors, [...p, 'ignore_errors'], `${human} › ignore_errors`) ?? false;
  const checkMode = optionalBool(c, raw.check_mode, [...p, 'check_mode'], `${human} › check_mode`);
  const confirm = optionalBool(c, raw.confirm, [...p, 'confirm'], `${human} › confirm`);
  let confirmGroup: string | undefined;
  if (raw.confirm_group !== undefined) {
    // A command runs on the host as it is, guarded on its own: it cannot wait for a group's changes.
    if (type === 'command')
      c.error(
        [...p, 'confirm_group'],
        `${human} › confirm_group`,
        'a command task is always guarded on its own and cannot be part of a confirm_group; use confirm: true',
      );
    else if (typeof raw.confirm_group === 'string' && /^[A-Za-z0-9_.-]+$/.test(raw.confirm_group)) confirmGroup = raw.confirm_group;
    else
      c.error(
        [...p, 'confirm_group'],
        `${human} › confirm_group`,
        `expected a group name (letters, digits, '_', '.', '-'), found ${describe(raw.confirm_group)}`,
      );
  }
  return {
    type,
    args,
    name,
    when,
    register,
    loop: raw.loop,
    loopVar,
    notify: stringList(c, raw.notify, [...p, 'notify'], `${human} › notify`),
    tags: stringList(c, raw.tags, [...p, 'tags'], `${human} › tags`),
    ignoreErrors,
    checkMode,
    confirm,
    confirmGroup,
    vars: mapOrEmpty(c, raw.vars, [...p, 'vars'], `${human} › vars`),
    loc: c.at(p, name === module.defaultName(args) ? humanTyped : `${human} (${name})`),
    file,
    argLoc: (path) => c.at([...p, type, ...path], `${humanTyped}${path.length ? `.${path.join('.')}` : ''}`),
    locPath: p,
  };
}

export interface ArgIssue {
  path: PathSegment[];
  message: string;
  onKey: boolean;
}

/**
 * Validates task arguments and returns them parsed (defaults applied) when they are valid. With
 * `deferTemplates`, values still holding {{ }} are not judged (they are checked again after
 * rendering, per host, and only then parsed).
 */
export function checkTaskArgs<K extends TaskType>(type: K, args: Record<string, unknown>, deferTemplates: boolean): { issues: ArgIssue[]; value?: unknown } {
  const issues: ArgIssue[] = [];
  const module = taskModule(type);
  const result = module.schema.safeParse(args);
  const templated = (path: PathSegment[]): boolean => {
    let v: unknown = args;
    for (const seg of path) {
      if (typeof v === 'string') break;
      v = v && typeof v === 'object' ? (v as Record<string, unknown>)[seg as string] : undefined;
    }
    return typeof v === 'string' && hasTemplate(v);
  };
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = issue.path as PathSegment[];
      if (deferTemplates && templated(path)) continue;
      if (issue.code === 'unrecognized_keys') {
        const known = Object.keys((module.schema as unknown as { shape: object }).shape);
        for (const key of issue.keys) issues.push({ path: [...path, key], message: unknownKeyMessage(key, known, `${type} argument`), onKey: true });
        continue;
      }
      issues.push({ path, message: argMessage(issue, args, path), onKey: false });
    }
  }
  for (const p of module.argProblems?.(args) ?? []) issues.push({ path: [p.field, ...(p.at ?? [])], message: p.message, onKey: args[p.field] !== undefined });
  return { issues, value: issues.length === 0 && result.success ? result.data : undefined };
}

function argMessage(
  issue: { code: string; message: string; input?: unknown; path: PropertyKey[] },
  args: Record<string, unknown>,
  path: PathSegment[],
): string {
  let found: unknown = args;
  for (const seg of path) found = found && typeof found === 'object' ? (found as Record<string, unknown>)[seg as string] : undefined;
  if (issue.code === 'invalid_type' && found === undefined) return `missing required argument '${String(path[path.length - 1])}'`;
  const shown = found === undefined ? '' : ` (found ${describe(found)})`;
  const msg = issue.message
    .replace(/^Invalid input: expected (\w+), received (\w+)$/, (_, t: string) => `expected ${/^[aeiou]/.test(t) ? 'an' : 'a'} ${t}`)
    .replace(/^Invalid option: expected one of /, 'expected one of ')
    .replace(/^Too small: expected (\w+) to be /, 'expected a value ')
    .replace(/^Too big: expected (\w+) to be /, 'expected a value ');
  return `${msg}${shown}`;
}
