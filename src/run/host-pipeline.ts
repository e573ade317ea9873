// One host's run of one play: connect, gather facts, then plan and apply each task in order.
// A failed task stops this host only; the other hosts' pipelines never wait on it.
import type { TaskSpec } from '../config/playbook.js';
import type { Connection } from '../connection/types.js';
import { UnreachableError } from '../errors.js';
import type { LockRequest } from '../facts/lock-script.js';
import type { Facts } from '../model/facts.js';
import { applyChanges, changeOps, touchedLinks, touchedNetworks, type Change, type Plan, type TaskDiff } from '../model/plan.js';
import { verifyOps } from '../ops/index.js';
import type { Op } from '../ops/types.js';
import { emptyRecap, type HostRecap, type TaskEvent, type TaskOutcome } from '../model/result.js';
import type { CommandArgs } from '../tasks/command.js';
import { ChangeBatch } from './change-batch.js';
import { runCommandTask } from './command-task.js';
import { evaluateCondition } from './condition.js';
import { applyConfirmed, runGuarded, type GuardOptions } from './confirm.js';
import { deviceDiff } from './diff.js';
import { missingFragments, taskNeeds } from '../facts/needs.js';
import { firstExecNeeds } from './first-exec.js';
import { gatherHostFacts, readBackFor, topUpHostFacts } from './host-facts.js';
import { planTask, prepareTask, type PreparedTask } from './prepare.js';
import type { Reporter } from './reporter.js';
import { sshPathTouch } from './ssh-path.js';
import { chooseStrategy } from './apply-strategy.js';
import { changedResult, loopItems, loopResult, NO_LOOP, registeredResult, STOPPED, type TaskResult } from './task-loop.js';
import type { HostRecording, HostReplay, SavedTask } from './saved-plan.js';

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
  /** Record every task's decision and what its planning read (check mode with --out). */
  recording?: HostRecording;
  /** Apply a saved plan's decisions instead of planning. */
  replay?: HostReplay;
  /** Bounds how many hosts work at once when host pipelines are not limited themselves (linear). */
  withSlot: <T>(fn: () => Promise<T>) => Promise<T>;
}

export interface HostOutcome {
  recap: HostRecap;
  /** Handlers notified by a task that changed something. */
  notified: Set<string>;
  /** The facts as the play left them (kept up to date by every change), unless a command task may have changed the host behind them. */
  facts?: Facts;
  /** Execs beyond the first that read facts a later task needed (src/facts/needs.ts). */
  factsTopUps: number;
}

class HostStopped extends Error {}

export async function runHost(job: HostJob): Promise<HostOutcome> {
  const recap = emptyRecap(job.host);
  const notified = new Set<string>();
  const registered: Record<string, unknown> = {};
  // strategy linear keeps the hosts in step task by task: there every task is sent on its own.
  // A batch reads the host back with the fragments its facts were read with.
  const link: HostLink = { conn: undefined as unknown as Connection, batch: new ChangeBatch(() => readBackFor(facts)), factsTopUps: 0 };
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
      job.reporter.taskDone({
        host: job.host,
        play: job.play,
        task: task.name,
        type: task.type,
        outcome,
        message,
        changes: [],
        check: job.check,
        durationMs,
        ...(ignored ? { ignored: true } : {}),
        ...extra,
      });
    });
  };

  let facts: Facts;
  const factsStart = Date.now();
  job.reporter.taskStart(job.host, 'gathering facts');
  try {
    link.conn = await job.withSlot(() => job.getConnection());
    // A later play of the same run reuses the facts the previous one kept up to date.
    // Only what this play's tasks need (src/facts/needs.ts); tasks under an undecided `when` and handlers ask for more when they run.
    const need = firstExecNeeds(job.tasks, job.vars, job.extraVars, job.host);
    facts = job.cachedFacts ?? (await job.withSlot(() => gatherHostFacts(link.conn, job.host, job.lock, need)));
    if (job.cachedFacts && (await topUpHostFacts(link.conn, job.host, facts, need))) link.factsTopUps += 1;
    job.recording?.begin(facts);
    // A saved plan applies only to a host that is as the plan read it.
    const drift = job.replay && !job.cachedFacts ? job.replay.drift(facts) : undefined;
    if (drift) {
      emit({ name: 'saved plan', type: 'plan' }, 'failed', `${job.host}: ${drift}`, factsStart);
      job.onFailure?.();
      return { recap, notified, factsTopUps: link.factsTopUps };
    }
    // A guarded change that nobody confirmed (the controller died, say): its timer restored the host.
    for (const r of facts.rollbacks ?? []) job.reporter.warn(`${job.host}: a rollback timer fired at ${r.at} (${r.id}): ${r.what}`);
    delete facts.rollbacks;
  } catch (err) {
    const unreachable = err instanceof UnreachableError;
    emit({ name: 'gathering facts', type: 'facts' }, unreachable ? 'unreachable' : 'failed', (err as Error).message, factsStart);
    job.onFailure?.();
    return { recap, notified, factsTopUps: link.factsTopUps };
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
    if (!job.forceHandlers) return { recap, notified, factsTopUps: link.factsTopUps };
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
  return { recap, notified, facts: link.factsStale ? undefined : facts, factsTopUps: link.factsTopUps };
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
  /** Execs that read facts fragments the first one did not. */
  factsTopUps: number;
}

interface HeldGroup {
  name: string;
  before: Facts;
  changes: Change[];
  devices: Set<string>;
  networks: Set<string>;
  why: string[];
  tasks: Array<{ task: TaskSpec; summaries: string[]; ops: Op[]; diff: TaskDiff | undefined; started: number }>;
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
    for (const t of g.tasks) emit(t.task, 'changed', t.summaries.join('; '), t.started, { changes: t.summaries, ops: t.ops, diff: t.diff });
    return true;
  }
  if (r.outcome !== 'unreachable' && r.conn) link.conn = r.conn;
  // Rolled back (or never applied): the host is as it was before the group's first task.
  Object.assign(facts, g.before);
  for (const t of g.tasks)
    emit(t.task, r.outcome, `${r.message} (guarded as one step: confirm_group '${g.name}', tasks ${names})`, t.started, { changes: t.summaries });
  return false;
}

/** A confirm_group that cannot be completed is never sent: its tasks fail, and the facts go back. */
async function abandonGroup(link: HostLink, facts: Facts, emit: Emit, why: string): Promise<void> {
  const g = link.group!;
  link.group = undefined;
  Object.assign(facts, g.before);
  for (const t of g.tasks)
    emit(t.task, 'failed', `not applied: ${why} (confirm_group '${g.name}' is applied as one step)`, t.started, { changes: t.summaries });
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

async function runTask(job: HostJob, link: HostLink, facts: Facts, task: TaskSpec, vars: Record<string, unknown>, emit: Emit): Promise<TaskResult> {
  const started = Date.now();
  afterQueued(link, () => job.reporter.taskStart(job.host, task.name));
  const fail = (message: string, outcome: TaskOutcome = 'failed', extra: Partial<TaskEvent> = {}): TaskResult => {
    emit(task, outcome, message, started, extra);
    const stop = outcome !== 'failed' || !task.ignoreErrors;
    return { changed: false, stop, registered: registeredResult('failed', message) };
  };

  let decided: Decided;
  try {
    decided = job.replay ? savedDecision(job.replay, task, emit, started) : await planDecision(job, link, facts, task, vars, emit, started);
  } catch (err) {
    if (err instanceof Error && !job.replay) job.recording?.tasks.push({ name: task.name, type: task.type, kind: 'failed', message: err.message });
    if (err instanceof UnreachableError) return fail(err.message, 'unreachable');
    if (!(err instanceof Error)) throw err;
    return fail(err.message);
  }
  if ('done' in decided) return decided.done;
  if ('failed' in decided) return fail(decided.failed);
  const { plan: taskPlan, prepared } = decided;

  const data = taskPlan.data ?? {};
  if (taskPlan.changes.length === 0) {
    emit(task, 'ok', taskPlan.noop ?? 'nothing to change', started);
    return { changed: false, stop: false, registered: registeredResult('ok', taskPlan.noop, data) };
  }

  const summaries = taskPlan.changes.map((c) => c.summary);
  // The SSH path is judged on the facts as they are before this task (earlier tasks' effects included).
  const onPath = sshPathTouch(taskPlan.changes, job.recording ? job.recording.view(facts) : facts);
  const confirmBy = task.confirm
    ? 'the task sets confirm: true'
    : task.confirmGroup
      ? `confirm_group ${task.confirmGroup}`
      : job.confirm
        ? 'the play sets confirm: true'
        : undefined;
  if (onPath && !taskPlan.consent && !confirmBy) {
    return fail(
      `refused: this change ${onPath}; it could cut the host off. Set confirm: true on the task or play to apply it under automatic rollback`,
      'failed',
      { changes: summaries },
    );
  }
  const guarded = onPath ? `${onPath} (${taskPlan.consent ?? confirmBy})` : confirmBy;

  const strategy = chooseStrategy({
    check: job.check,
    guarded,
    confirmGroup: task.confirmGroup,
    linear: job.beforeTask !== undefined,
    ignoreErrors: Boolean(task.ignoreErrors),
    fitsBatch: link.batch.fits(taskPlan.changes),
  });
  // The facts before this task, copied only where needed: the rollback snapshot of a guarded change,
  // the "before" of a link diff, and what a task sent alone goes back to when it fails.
  const before =
    strategy === 'group' || strategy === 'guarded' || strategy === 'alone' || (!taskPlan.diff && taskPlan.devices) ? structuredClone(facts) : undefined;
  const t: Applying = { job, link, facts, task, plan: taskPlan, summaries, data, before, started, emit, guarded: guarded ?? '', prepared };
  switch (strategy) {
    case 'check':
      return changed(t, takeEffects(t));
    case 'group':
      return holdInGroup(t);
    case 'guarded':
      return applyGuarded(t);
    case 'alone':
    case 'batch':
      return applyQueued(t, strategy === 'alone');
  }
}

/** What a task comes to before anything is applied: a plan, a result already reported, or a failure to report. */
type Decided = { plan: Plan; prepared?: Extract<PreparedTask, { kind: 'planned' }> } | { done: TaskResult } | { failed: string };

/** A saved plan: exactly its decision for this task, nothing planned again. */
function savedDecision(replay: HostReplay, task: TaskSpec, emit: Emit, started: number): Decided {
  const saved = replay.take(task.name);
  if (saved.kind === 'skipped') {
    emit(task, 'skipped', `${saved.message ?? 'skipped'} (in the saved plan)`, started);
    return { done: { changed: false, stop: false, registered: registeredResult('skipped', saved.message) } };
  }
  if (saved.kind === 'failed') return { failed: `the saved plan has this task failing: ${saved.message ?? ''}` };
  return { plan: saved.plan! };
}

/** `when`, then the task's module: a command runs (guarded), a planned task is planned; recorded for a saved plan. */
async function planDecision(
  job: HostJob,
  link: HostLink,
  facts: Facts,
  task: TaskSpec,
  vars: Record<string, unknown>,
  emit: Emit,
  started: number,
): Promise<Decided> {
  const record = (saved: Omit<SavedTask, 'name' | 'type'>) => job.recording?.tasks.push({ name: task.name, type: task.type, ...saved });
  if (task.when !== undefined && !evaluateCondition(task.when, vars)) {
    record({ kind: 'skipped', message: `condition is false: ${task.when}` });
    emit(task, 'skipped', `condition is false: ${task.when}`, started);
    return { done: { changed: false, stop: false, registered: registeredResult('skipped', 'condition is false') } };
  }
  // A task the first facts exec did not read for (a `when`, a handler): one more exec, after the
  // queued changes, so that what it reads is the host as the earlier tasks left it.
  const need = taskNeeds(task);
  if (missingFragments(facts, need).length) {
    if (!job.check && !(await flushChanges(link))) return { done: STOPPED };
    if (await topUpHostFacts(link.conn, job.host, facts, need)) link.factsTopUps += 1;
  }
  const p = prepareTask(task, vars, job.host, job.playbookDir);
  if (p.kind === 'command') {
    record({ kind: 'skipped', message: 'a command task (its effect is unknown: a saved plan holds only planned operations)' });
    if (!job.check || task.checkMode === false) {
      // The command runs on the host as it is: the changes queued before it go first.
      if (!(await flushChanges(link))) return { done: STOPPED };
      link.factsStale = true;
    }
    return { done: await commandTask(job, link, facts, task, p.args, vars, emit, started) };
  }
  // Recorded for a saved plan: what this planner reads is what the plan depends on.
  const plan = planTask(p, job.recording ? job.recording.view(facts) : facts, job.host);
  record({ kind: 'planned', plan });
  return { plan, prepared: p };
}

/** One planned task on its way to the host: what each applier needs. */
interface Applying {
  job: HostJob;
  link: HostLink;
  facts: Facts;
  task: TaskSpec;
  plan: Plan;
  summaries: string[];
  data: Record<string, unknown>;
  /** The facts before the task (when the strategy needs them). */
  before?: Facts;
  started: number;
  emit: Emit;
  guarded: string;
  prepared?: Extract<PreparedTask, { kind: 'planned' }>;
}

/**
 * The task's effects on the in-memory facts, when its changes are taken as done; the diff is
 * taken right then, before later tasks' effects.
 */
function takeEffects(t: Applying): TaskDiff | undefined {
  applyChanges(t.plan.changes, t.facts);
  return t.plan.diff ?? (t.plan.devices ? deviceDiff(t.before!, t.facts, t.plan.devices) : undefined);
}

function changed(t: Applying, diff: TaskDiff | undefined, durationMs?: number): TaskResult {
  t.emit(t.task, 'changed', t.summaries.join('; '), t.started, {
    changes: t.summaries,
    ops: changeOps(t.plan.changes),
    diff,
    ...(durationMs === undefined ? {} : { durationMs }),
  });
  return changedResult(t.summaries, t.data);
}

function failApplying(t: Applying, message: string, outcome: TaskOutcome): TaskResult {
  t.emit(t.task, outcome, message, t.started, { changes: t.summaries });
  return { changed: false, stop: outcome !== 'failed' || !t.task.ignoreErrors, registered: registeredResult('failed', message) };
}

/**
 * Held: planned and taken as done in the facts (the next task of the group plans on them), sent
 * with the rest of the group by commitGroup.
 */
async function holdInGroup(t: Applying): Promise<TaskResult> {
  const { link, facts, task } = t;
  if (!link.group) {
    if (!(await flushChanges(link))) return STOPPED;
    link.group = { name: task.confirmGroup!, before: t.before!, changes: [], devices: new Set(), networks: new Set(), why: [], tasks: [] };
  }
  const g = link.group;
  g.changes.push(...t.plan.changes);
  for (const d of guardDevices(t.plan.changes, facts)) g.devices.add(d);
  for (const n of touchedNetworks(t.plan.changes, facts)) g.networks.add(n);
  if (!g.why.includes(t.guarded)) g.why.push(t.guarded);
  g.tasks.push({ task, summaries: t.summaries, ops: changeOps(t.plan.changes), diff: takeEffects(t), started: t.started });
  return changedResult(t.summaries, t.data);
}

/** Alone, under commit-confirmed rollback (after what is queued). */
async function applyGuarded(t: Applying): Promise<TaskResult> {
  const { job, link, facts, task } = t;
  if (!(await flushChanges(link))) return STOPPED;
  const r = await applyConfirmed({
    ...guardOptions(job, link, t.before!, `task '${task.name}' (${t.guarded})`),
    changes: t.plan.changes,
    devices: guardDevices(t.plan.changes, facts),
    networks: touchedNetworks(t.plan.changes, facts),
  });
  if (r.outcome === 'unreachable') return failApplying(t, r.message, 'unreachable');
  if (r.conn) link.conn = r.conn;
  if (r.outcome !== 'changed') return failApplying(t, `${r.message} (guarded: ${t.guarded})`, r.outcome);
  return changed(t, takeEffects(t));
}

/**
 * Queued: the facts and the result assume success; a failure stops the host, so nothing planned
 * on that assumption is ever applied. `alone`: sent now, in its own exec.
 */
async function applyQueued(t: Applying, alone: boolean): Promise<TaskResult> {
  const { job, link, facts, task, summaries, started, emit } = t;
  if (alone && !(await flushChanges(link))) return STOPPED;
  const diff = takeEffects(t);
  let result = changedResult(summaries, t.data);
  let lost = false;
  link.batch.add({
    changes: t.plan.changes,
    // Judged against the facts as all queued tasks leave them, once the batch has run.
    verify: (actual) => verifyOps(changeOps(t.plan.changes), facts, actual),
    applied: (durationMs) => {
      result = changed(t, diff, durationMs);
    },
    failed: (error, durationMs) => emit(task, 'failed', `${summaries.join('; ')}: ${error}`, started, { changes: summaries, durationMs }),
    lost: async (error, durationMs) => {
      lost = true;
      const what = `connection lost while applying: ${error.message}; ${await inFlightFate(job, task, t.prepared)}`;
      emit(task, 'unreachable', what, started, { changes: summaries, durationMs });
    },
  });
  if (!alone) return result;
  if (await flushChanges(link)) return result;
  // Sent on its own, a failure is known now: the facts go back to what they were before the task.
  Object.assign(facts, t.before!);
  link.factsStale = false;
  return { changed: false, stop: lost || !task.ignoreErrors, registered: registeredResult('failed', summaries.join('; ')) };
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
async function commandTask(
  job: HostJob,
  link: HostLink,
  facts: Facts,
  task: TaskSpec,
  args: CommandArgs,
  vars: Record<string, unknown>,
  emit: Emit,
  started: number,
): Promise<TaskResult> {
  if (job.check && task.checkMode !== false) {
    emit(task, 'skipped', 'command tasks do not run in check mode (set check_mode: false to run it anyway)', started);
    return { changed: false, stop: false, registered: registeredResult('skipped', 'check mode') };
  }
  const before = structuredClone(facts);
  const devices = Object.values(before.links)
    .filter((l) => l.kind !== 'tun')
    .map((l) => l.name);
  const networks = before.libvirt.available ? Object.keys(before.libvirt.networks) : [];
  const { result: r, guard } = await runGuarded(
    {
      ...guardOptions(job, link, before, `command task '${task.name}'`),
      devices,
      networks,
      anyLink: true,
      runS: job.commandTimeoutS,
      command: Array.isArray(args.cmd) ? args.cmd.join(' ') : args.cmd,
    },
    (conn, wrap) => runCommandTask(conn, args, vars, wrap),
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
async function inFlightFate(job: HostJob, task: TaskSpec, prepared: Extract<PreparedTask, { kind: 'planned' }> | undefined): Promise<string> {
  if (!prepared) return `whether '${task.name}' was applied is unknown (a saved plan's task is not planned again)`;
  try {
    const conn = await job.reconnect();
    const fresh = await gatherHostFacts(conn, job.host, undefined, taskNeeds(task));
    const again = planTask(prepared, fresh, job.host);
    return again.changes.length === 0
      ? 'on reconnect, the change turned out to be applied'
      : `on reconnect, the change turned out NOT to be applied (still to do: ${again.changes.map((c) => c.summary).join('; ')})`;
  } catch {
    return `the host could not be reached again, so whether '${task.name}' was applied is unknown`;
  }
}

/** The links a guarded change may touch, and the bridges they are ports of: what the rollback restores. */
function guardDevices(changes: Change[], facts: Facts): string[] {
  const devices = new Set(touchedLinks(changes, facts));
  for (const d of [...devices]) if (facts.links[d]?.master) devices.add(facts.links[d].master);
  return [...devices];
}
