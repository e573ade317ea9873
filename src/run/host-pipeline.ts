// One host's run of one play: connect, gather facts, then plan and apply each task in order.
// A failed task stops this host only; the other hosts' pipelines never wait on it.
import type { TaskSpec } from '../config/playbook.js';
import type { Connection } from '../connection/types.js';
import { KvmnetError, UnreachableError } from '../errors.js';
import type { LockRequest } from '../facts/lock-script.js';
import type { Facts } from '../model/facts.js';
import { touchedLinks, touchedNetworks, type Change, type Plan, type TaskDiff } from '../model/plan.js';
import { emptyRecap, type HostRecap, type TaskEvent, type TaskOutcome } from '../model/result.js';
import { renderValue } from '../render/template.js';
import type { CommandArgs } from '../tasks/command.js';
import { ChangeBatch } from './change-batch.js';
import { runCommandTask } from './command-task.js';
import { evaluateCondition } from './condition.js';
import { applyConfirmed, runGuarded, type GuardOptions } from './confirm.js';
import { deviceDiff } from './diff.js';
import { gatherHostFacts } from './host-facts.js';
import { planTask, prepareTask, type PreparedTask } from './prepare.js';
import type { Reporter } from './reporter.js';
import { sshPathTouch } from './ssh-path.js';

export interface HostJob {
  host: string;
  play: string;
  tasks: TaskSpec[];
  handlers: TaskSpec[];
  forceHandlers: boolean;
  /** Inventory, play and extra vars, already merged in precedence order (task vars come on top). */
  vars: Record<string, unknown>;
  extraVars: Record<string, unknown>;
  playbookDir: string;
  check: boolean;
  getConnection: () => Promise<Connection>;
  /** A brand-new connection, for confirming a guarded change. */
  reconnect: () => Promise<Connection>;
  /** play `confirm: true`: guard every change, not only those on the SSH path. */
  confirm: boolean;
  confirmTimeoutS: number;
  /** Facts a previous play of this run left for this host (skips gathering). */
  cachedFacts?: Facts;
  /** Take the host's run lock with the facts (the first play of a run on this host). */
  lock?: LockRequest;
  /** Who holds this run's locks: the lock follows a guarded change onto its new connection. */
  lockOwner?: string;
  /** The per-command timeout: a guarded command's rollback timer waits that much longer. */
  commandTimeoutS: number;
  reporter: Reporter;
  /** Set when the run is being interrupted: no new change starts. */
  stopping: () => boolean;
  /** Told when a failure stops this host (any_errors_fatal stops the others). */
  onFailure?: () => void;
  /** strategy linear: wait until every host of the batch reached task `index`. */
  beforeTask?: (index: number) => Promise<void>;
  /** Bounds how many hosts work at once when host pipelines are not limited themselves (linear). */
  withSlot: <T>(fn: () => Promise<T>) => Promise<T>;
}

export interface HostOutcome {
  recap: HostRecap;
  /** Handlers notified by a task that changed something. */
  notified: Set<string>;
  /** The facts as the play left them (kept up to date by every change), unless a command task may have changed the host behind them. */
  facts?: Facts;
}

class HostStopped extends Error {}

export async function runHost(job: HostJob): Promise<HostOutcome> {
  const recap = emptyRecap(job.host);
  const notified = new Set<string>();
  const registered: Record<string, unknown> = {};
  // strategy linear keeps the hosts in step task by task: there every task is sent on its own.
  const link: HostLink = { conn: undefined as unknown as Connection, batch: new ChangeBatch() };
  const later = (event: () => void) => afterQueued(link, event);
  const emit = (task: TaskSpec | { name: string; type: string }, outcome: TaskOutcome, message: string, started: number, extra: Partial<TaskEvent> = {}) => {
    const durationMs = Date.now() - started;
    // After a change still queued in the batch, the event is reported once that change is applied (dropped if it fails).
    later(() => {
      // ignore_errors: the failure is reported, but the host is not failed (Ansible's `ignored`).
      const ignored = outcome === 'failed' && 'ignoreErrors' in task && task.ignoreErrors;
      if (ignored) recap.ignored += 1;
      else recap[outcome] += 1;
      if (!ignored && (outcome === 'failed' || outcome === 'unreachable' || outcome === 'rolled_back')) recap.error = `${task.name}: ${message}`;
      job.reporter.taskDone({ host: job.host, play: job.play, task: task.name, type: task.type, outcome, message, changes: [], check: job.check, durationMs, ...(ignored ? { ignored: true } : {}), ...extra });
    });
  };

  let facts: Facts;
  const factsStart = Date.now();
  job.reporter.taskStart(job.host, 'gathering facts');
  try {
    link.conn = await job.withSlot(() => job.getConnection());
    // A later play of the same run reuses the facts the previous one kept up to date.
    facts = job.cachedFacts ?? (await job.withSlot(() => gatherHostFacts(link.conn, job.host, job.lock)));
    // A guarded change that nobody confirmed (the controller died, say): its timer restored the host.
    for (const r of facts.rollbacks ?? []) job.reporter.warn(`${job.host}: a rollback timer fired at ${r.at} (${r.id}): ${r.what}`);
    delete facts.rollbacks;
  } catch (err) {
    const unreachable = err instanceof UnreachableError;
    emit({ name: 'gathering facts', type: 'facts' }, unreachable ? 'unreachable' : 'failed', (err as Error).message, factsStart);
    job.onFailure?.();
    return { recap, notified };
  }

  try {
    for (const [index, task] of job.tasks.entries()) {
      await job.beforeTask?.(index);
      if (job.stopping()) {
        recap.notStarted = job.tasks.slice(index).map((t) => t.name);
        break;
      }
      // The loop sees what the task sees (extra vars, task vars, facts), not only host and play vars.
      const taskVars = { ...job.vars, ...registered, ...task.vars, ...job.extraVars, inventory_hostname: job.host, ansible_facts: facts, facts };
      let items: unknown[];
      try {
        items = loopItems(task, taskVars, job.host);
      } catch (err) {
        if (!(err instanceof Error)) throw err;
        // Reported as this task's failure, like any other error of the task: the host's recap keeps what it did before.
        emit(task, 'failed', err.message, Date.now());
        if (task.register) registered[task.register] = { changed: false, failed: true, skipped: false, msg: err.message };
        if (task.ignoreErrors) continue;
        job.onFailure?.();
        throw new HostStopped();
      }
      if (items.length === 0) {
        // An empty loop: the task is skipped, as in Ansible, and `register` still holds a result.
        emit(task, 'skipped', 'the loop has no items', Date.now());
        if (task.register) registered[task.register] = { ...loopResult([]), skipped: true, msg: 'the loop has no items' };
        continue;
      }
      const results: Array<Record<string, unknown>> = [];
      for (const item of items) {
        const vars = { ...taskVars, ...(item === NO_LOOP ? {} : { [task.loopVar]: item }) };
        const label = item === NO_LOOP ? task.name : `${task.name} (${task.loopVar}=${JSON.stringify(item)})`;
        const result = await job.withSlot(() => runTask(job, link, facts, { ...task, name: label }, vars, emit));
        results.push(item === NO_LOOP ? result.registered : { ...result.registered, [task.loopVar]: item, item });
        if (task.register) registered[task.register] = item === NO_LOOP ? result.registered : loopResult(results);
        if (result.changed) later(() => task.notify.forEach((n) => notified.add(n)));
        if (result.stop) {
          job.onFailure?.();
          throw new HostStopped();
        }
      }
      // The last task of a confirm_group: its held changes go to the host as one guarded step.
      if (link.group && job.tasks[index + 1]?.confirmGroup !== link.group.name && !(await commitGroup(job, link, facts, emit))) {
        job.onFailure?.();
        throw new HostStopped();
      }
    }
    if (link.group) await abandonGroup(link, facts, emit, 'the run is stopping');
    // The changes still queued are applied before the handlers: only a change that happened notifies.
    if (!(await flushChanges(link))) {
      job.onFailure?.();
      throw new HostStopped();
    }
  } catch (err) {
    if (!(err instanceof HostStopped)) throw err;
    if (link.group) await abandonGroup(link, facts, emit, 'a later task of its confirm_group failed');
    // The tasks before the one that stopped the host still run, as they would have one by one.
    await flushChanges(link);
    if (!job.forceHandlers) return { recap, notified };
  }
  // Handlers run once each, at the end of the play, in the order they are defined.
  for (const handler of job.handlers) {
    if (!notified.has(handler.name) || job.stopping()) continue;
    const vars = { ...job.vars, ...registered, ...handler.vars, ...job.extraVars, inventory_hostname: job.host, facts };
    const result = await job.withSlot(() => runTask(job, link, facts, handler, vars, emit));
    if (result.stop) break;
    // Handlers run one by one: a handler's confirm_group is a group of its own.
    if (link.group && !(await commitGroup(job, link, facts, emit))) break;
  }
  await flushChanges(link);
  return { recap, notified, facts: link.factsStale ? undefined : facts };
}

const NO_LOOP = Symbol('no loop');

/** What `register` holds for a loop, as in Ansible: changed/failed if any item was, skipped if all were, and every item's result. */
function loopResult(results: Array<Record<string, unknown>>): Record<string, unknown> {
  return {
    changed: results.some((r) => r.changed === true),
    failed: results.some((r) => r.failed === true),
    skipped: results.length > 0 && results.every((r) => r.skipped === true),
    msg: 'all items completed',
    results,
  };
}

function loopItems(task: TaskSpec, vars: Record<string, unknown>, host: string): unknown[] {
  if (task.loop === undefined) return [NO_LOOP];
  const items = renderValue(task.loop, vars, `loop of task '${task.name}' on ${host}`);
  if (!Array.isArray(items)) throw new KvmnetError(`loop of task '${task.name}' on ${host} is not a list`);
  return items;
}

interface TaskResult {
  changed: boolean;
  stop: boolean;
  registered: Record<string, unknown>;
}

type Emit = (task: TaskSpec, outcome: TaskOutcome, message: string, started: number, extra?: Partial<TaskEvent>) => void;

/** The host's current connection (a guarded change ends with a new one) and the changes queued for it. */
interface HostLink {
  /** The changes of a confirm_group held back until its last task, with the facts before its first. */
  group?: HeldGroup;
  /** A command task ran, or a batch failed: the in-memory facts no longer describe the host for sure. */
  factsStale?: boolean;
  conn: Connection;
  batch: ChangeBatch;
}

interface HeldGroup {
  name: string;
  before: Facts;
  changes: Change[];
  devices: Set<string>;
  networks: Set<string>;
  why: string[];
  tasks: Array<{ task: TaskSpec; summaries: string[]; diff: TaskDiff | undefined; started: number }>;
}

/**
 * Applies a confirm_group's held changes as ONE guarded step (one rollback script from the facts
 * before its first task, one timer, one confirming connection) and reports each of its tasks.
 */
async function commitGroup(job: HostJob, link: HostLink, facts: Facts, emit: Emit): Promise<boolean> {
  const g = link.group!;
  link.group = undefined;
  if (g.changes.length === 0) return true;
  const names = g.tasks.map((t) => `'${t.task.name}'`).join(', ');
  const r = await applyConfirmed({
    ...guardOptions(job, link, g.before, `confirm_group '${g.name}' (${names}; ${g.why.join('; ')})`),
    changes: g.changes,
    devices: [...g.devices],
    networks: [...g.networks],
  });
  if (r.outcome === 'changed') {
    link.conn = r.conn;
    for (const t of g.tasks) emit(t.task, 'changed', t.summaries.join('; '), t.started, { changes: t.summaries, diff: t.diff });
    return true;
  }
  if (r.outcome !== 'unreachable' && r.conn) link.conn = r.conn;
  // Rolled back (or never applied): the host is as it was before the group's first task.
  Object.assign(facts, g.before);
  for (const t of g.tasks) emit(t.task, r.outcome, `${r.message} (guarded as one step: confirm_group '${g.name}', tasks ${names})`, t.started, { changes: t.summaries });
  return false;
}

/** A confirm_group that cannot be completed is never sent: its tasks fail, and the facts go back. */
async function abandonGroup(link: HostLink, facts: Facts, emit: Emit, why: string): Promise<void> {
  const g = link.group!;
  link.group = undefined;
  Object.assign(facts, g.before);
  for (const t of g.tasks) emit(t.task, 'failed', `not applied: ${why} (confirm_group '${g.name}' is applied as one step)`, t.started, { changes: t.summaries });
}

/** Runs `event` now, or after the changes queued so far have been applied. */
function afterQueued(link: HostLink, event: () => void): void {
  link.batch.defer(event);
}

/** Applies the queued changes; false when one failed or the connection was lost (the host stops). */
async function flushChanges(link: HostLink): Promise<boolean> {
  if (link.batch.size === 0) return true;
  const ok = await link.batch.flush(link.conn);
  if (!ok) link.factsStale = true;
  return ok;
}

/** What `register` holds for a task's result (Ansible's shape). */
function registeredResult(outcome: 'ok' | 'changed' | 'failed' | 'skipped', msg: string | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { changed: outcome === 'changed', failed: outcome === 'failed', skipped: outcome === 'skipped', msg, ...extra };
}

/** What a task that never started returns when the queued changes before it failed. */
const STOPPED: TaskResult = { changed: false, stop: true, registered: registeredResult('failed', 'an earlier task failed') };

async function runTask(job: HostJob, link: HostLink, facts: Facts, task: TaskSpec, vars: Record<string, unknown>, emit: Emit): Promise<TaskResult> {
  const started = Date.now();
  afterQueued(link, () => job.reporter.taskStart(job.host, task.name));
  const fail = (message: string, outcome: TaskOutcome = 'failed', extra: Partial<TaskEvent> = {}): TaskResult => {
    emit(task, outcome, message, started, extra);
    const stop = outcome !== 'failed' || !task.ignoreErrors;
    return { changed: false, stop, registered: registeredResult('failed', message) };
  };

  let taskPlan: Plan;
  let prepared: Extract<PreparedTask, { kind: 'planned' }>;
  try {
    if (task.when !== undefined && !evaluateCondition(task.when, vars)) {
      emit(task, 'skipped', `condition is false: ${task.when}`, started);
      return { changed: false, stop: false, registered: registeredResult('skipped', 'condition is false') };
    }
    const p = prepareTask(task, vars, job.host, job.playbookDir);
    if (p.kind === 'command') {
      if (!job.check || task.checkMode === false) {
        // The command runs on the host as it is: the changes queued before it go first.
        if (!(await flushChanges(link))) return STOPPED;
        link.factsStale = true;
      }
      return await commandTask(job, link, facts, task, p.args, vars, emit, started);
    }
    prepared = p;
    taskPlan = planTask(prepared, facts, job.host);
  } catch (err) {
    if (err instanceof UnreachableError) return fail(err.message, 'unreachable');
    if (!(err instanceof Error)) throw err;
    return fail(err.message);
  }

  const data = taskPlan.data ?? {};
  if (taskPlan.changes.length === 0) {
    emit(task, 'ok', taskPlan.noop ?? 'nothing to change', started);
    return { changed: false, stop: false, registered: registeredResult('ok', taskPlan.noop, data) };
  }

  const summaries = taskPlan.changes.map((c) => c.summary);
  // The SSH path is judged on the facts as they are before this task (earlier tasks' effects included).
  const onPath = sshPathTouch(taskPlan.changes, facts);
  const confirmBy = task.confirm ? 'the task sets confirm: true' : task.confirmGroup ? `confirm_group ${task.confirmGroup}` : job.confirm ? 'the play sets confirm: true' : undefined;
  if (onPath && !taskPlan.consent && !confirmBy) {
    return fail(`refused: this change ${onPath}; it could cut the host off. Set confirm: true on the task or play to apply it under automatic rollback`, 'failed', { changes: summaries });
  }
  const guarded = onPath ? `${onPath} (${taskPlan.consent ?? confirmBy})` : confirmBy;

  // Queued changes go to the host with the next tasks' changes in one exec; a task that needs its
  // own result first (ignore_errors, strategy linear) or is too big for the batch goes alone.
  const alone = !job.check && !guarded && (job.beforeTask !== undefined || task.ignoreErrors || !link.batch.fits(taskPlan.changes));
  // The facts before this task, copied only where needed: the rollback snapshot of a guarded change,
  // the "before" of a link diff, and what a task sent alone goes back to when it fails.
  const before = guarded || alone || (!taskPlan.diff && taskPlan.devices) ? structuredClone(facts) : undefined;
  // Effects are applied to the in-memory facts when the change is taken as done; the diff is
  // taken right then, before later tasks' effects.
  const applyEffects = (): TaskDiff | undefined => {
    for (const c of taskPlan.changes) c.effect(facts);
    return taskPlan.diff ?? (taskPlan.devices ? deviceDiff(before!, facts, taskPlan.devices) : undefined);
  };
  const changed = (diff: TaskDiff | undefined, durationMs?: number): TaskResult => {
    emit(task, 'changed', summaries.join('; '), started, { changes: summaries, diff, ...(durationMs === undefined ? {} : { durationMs }) });
    return { changed: true, stop: false, registered: registeredResult('changed', summaries.join('; '), { changes: summaries, ...data }) };
  };

  if (job.check) return changed(applyEffects());
  if (guarded && task.confirmGroup) {
    // Held: planned and taken as done in the facts (the next task of the group plans on them),
    // sent with the rest of the group by commitGroup.
    if (!link.group) {
      if (!(await flushChanges(link))) return STOPPED;
      link.group = { name: task.confirmGroup, before: before!, changes: [], devices: new Set(), networks: new Set(), why: [], tasks: [] };
    }
    const g = link.group;
    g.changes.push(...taskPlan.changes);
    for (const d of guardDevices(taskPlan.changes, facts)) g.devices.add(d);
    for (const n of touchedNetworks(taskPlan.changes)) g.networks.add(n);
    if (!g.why.includes(guarded)) g.why.push(guarded);
    g.tasks.push({ task, summaries, diff: applyEffects(), started });
    return changedPending(summaries, data);
  }
  if (guarded) {
    if (!(await flushChanges(link))) return STOPPED;
    const r = await applyConfirmed({
      ...guardOptions(job, link, before!, `task '${task.name}' (${guarded})`),
      changes: taskPlan.changes,
      devices: guardDevices(taskPlan.changes, facts),
      networks: touchedNetworks(taskPlan.changes),
    });
    if (r.outcome === 'unreachable') return fail(r.message, 'unreachable', { changes: summaries });
    if (r.conn) link.conn = r.conn;
    if (r.outcome !== 'changed') return fail(`${r.message} (guarded: ${guarded})`, r.outcome, { changes: summaries });
    return changed(applyEffects());
  }

  // Queued: the facts and the result assume success; a failure stops the host, so nothing planned
  // on that assumption is ever applied.
  if (alone && !(await flushChanges(link))) return STOPPED;
  const diff = applyEffects();
  let result = changedPending(summaries, data);
  let lost = false;
  link.batch.add({
    changes: taskPlan.changes,
    applied: (durationMs) => {
      result = changed(diff, durationMs);
    },
    failed: (error, durationMs) => emit(task, 'failed', `${summaries.join('; ')}: ${error}`, started, { changes: summaries, durationMs }),
    lost: async (error, durationMs) => {
      lost = true;
      const what = `connection lost while applying: ${error.message}; ${await inFlightFate(job, task, prepared)}`;
      emit(task, 'unreachable', what, started, { changes: summaries, durationMs });
    },
  });
  if (!alone) return result;
  if (await flushChanges(link)) return result;
  // Sent on its own, a failure is known now: the facts go back to what they were before the task.
  Object.assign(facts, before!);
  link.factsStale = false;
  return { changed: false, stop: lost || !task.ignoreErrors, registered: registeredResult('failed', summaries.join('; ')) };
}

/** The result of a queued task, as long as its changes are not known to have failed. */
function changedPending(summaries: string[], data: Record<string, unknown>): TaskResult {
  return { changed: true, stop: false, registered: registeredResult('changed', summaries.join('; '), { changes: summaries, ...data }) };
}

/** What every guard of this host needs; the caller adds what the change touches. */
function guardOptions(job: HostJob, link: HostLink, before: Facts, what: string): Omit<GuardOptions, 'devices' | 'networks'> {
  return {
    host: job.host,
    conn: link.conn,
    reconnect: job.reconnect,
    before,
    timeoutS: job.confirmTimeoutS,
    what: `${what} by ${job.lockOwner ?? 'kvmnet'}`,
    lockOwner: job.lockOwner,
    connectMs: link.conn.connectMs,
  };
}

/**
 * A command's effect is unknown, so it always runs guarded: the rollback restores every link,
 * address, route, libvirt network and persisted file as the facts had them before it, and removes
 * virtual links it created, if the host cannot be reached over a new connection afterwards.
 */
async function commandTask(job: HostJob, link: HostLink, facts: Facts, task: TaskSpec, args: CommandArgs, vars: Record<string, unknown>, emit: Emit, started: number): Promise<TaskResult> {
  if (job.check && task.checkMode !== false) {
    emit(task, 'skipped', 'command tasks do not run in check mode (set check_mode: false to run it anyway)', started);
    return { changed: false, stop: false, registered: registeredResult('skipped', 'check mode') };
  }
  const before = structuredClone(facts);
  const devices = Object.values(before.links).filter((l) => l.kind !== 'tun').map((l) => l.name);
  const networks = before.libvirt.available ? Object.keys(before.libvirt.networks) : [];
  const { result: r, guard } = await runGuarded({ ...guardOptions(job, link, before, `command task '${task.name}'`), devices, networks, anyLink: true, runS: job.commandTimeoutS, command: Array.isArray(args.cmd) ? args.cmd.join(' ') : args.cmd }, (conn, wrap) =>
    runCommandTask(conn, args, vars, wrap),
  );
  if (guard.outcome === 'unreachable') {
    emit(task, 'unreachable', guard.message, started);
    return { changed: false, stop: true, registered: registeredResult('failed', guard.message) };
  }
  if (guard.conn) link.conn = guard.conn;
  if (guard.outcome === 'rolled_back' || (guard.outcome === 'failed' && !r)) {
    emit(task, guard.outcome, guard.message, started);
    return { changed: false, stop: guard.outcome === 'rolled_back' || !task.ignoreErrors, registered: registeredResult('failed', guard.message) };
  }
  if (!r) throw new Error('a guarded command without a result');
  const registered = { rc: r.rc, stdout: r.stdout, stderr: r.stderr, stdout_lines: r.stdout ? r.stdout.split('\n') : [] };
  if (r.skipped !== undefined) {
    emit(task, 'skipped', r.skipped, started);
    return { changed: false, stop: false, registered: registeredResult('skipped', r.skipped, registered) };
  }
  if (r.failed) {
    const msg = `command failed (rc=${r.rc})${r.stderr || r.stdout ? `: ${(r.stderr || r.stdout).split('\n')[0]}` : ', no output'}`;
    emit(task, 'failed', msg, started);
    return { changed: false, stop: !task.ignoreErrors, registered: registeredResult('failed', msg, registered) };
  }
  const msg = `rc=${r.rc}${r.stdout ? `: ${r.stdout.split('\n')[0]}` : ''}`;
  emit(task, r.changed ? 'changed' : 'ok', msg, started, { changes: r.changed ? [msg] : [] });
  return { changed: r.changed, stop: false, registered: registeredResult(r.changed ? 'changed' : 'ok', msg, registered) };
}

/**
 * After a connection died mid-change: was the change applied? Reconnect once, re-read the facts
 * and plan again: no changes left means it was. Says "unknown" when the host stays unreachable.
 */
async function inFlightFate(job: HostJob, task: TaskSpec, prepared: Extract<PreparedTask, { kind: 'planned' }>): Promise<string> {
  try {
    const conn = await job.reconnect();
    const fresh = await gatherHostFacts(conn, job.host);
    const again = planTask(prepared, fresh, job.host);
    return again.changes.length === 0 ? 'on reconnect, the change turned out to be applied' : `on reconnect, the change turned out NOT to be applied (still to do: ${again.changes.map((c) => c.summary).join('; ')})`;
  } catch {
    return `the host could not be reached again, so whether '${task.name}' was applied is unknown`;
  }
}

/** The links a guarded change may touch, and the bridges they are ports of: what the rollback restores. */
function guardDevices(changes: Change[], facts: Facts): string[] {
  const devices = new Set(touchedLinks(changes));
  for (const d of [...devices]) if (facts.links[d]?.master) devices.add(facts.links[d]!.master!);
  return [...devices];
}
