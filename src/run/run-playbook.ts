// Runs a loaded playbook against an inventory: plays in order, hosts in batches (`serial`),
// each host as its own pipeline under p-limit(forks). One SSH connection per host for the run.
import { dirname, resolve } from 'node:path';
import { hostname, userInfo } from 'node:os';
import pLimit from 'p-limit';
import type { Playbook, PlaySpec } from '../config/playbook.js';
import { hostVars, type Inventory } from '../config/inventory.js';
import { selectHosts } from '../config/patterns.js';
import { resolveConnectionVars } from '../config/connection-vars.js';
import { inventoryMagicVars } from '../config/magic-vars.js';
import { shownOnce } from '../config/ssh-client-settings.js';
import { readVarsFiles } from './vars-files.js';
import { connect, type SshHooks } from '../connection/index.js';
import type { Connection, ConnectionSettings } from '../connection/types.js';
import { InvalidInputError, UnreachableError, formatDiagnostic } from '../errors.js';
import { emptyRecap, hostFailed, type HostRecap, type RunSummary } from '../model/result.js';
import type { Facts } from '../model/facts.js';
import { exceedsFailThreshold, splitBatches } from './batches.js';
import { runHost, type HostOutcome } from './host-pipeline.js';
import { HostRecording, HostReplay, type SavedPlan } from './saved-plan.js';
import { LinearBarrier } from './barrier.js';
import { validatePlaybook } from './validate.js';
import type { Reporter } from './reporter.js';

export interface RunOptions {
  check: boolean;
  forks: number;
  /** Hosts allowed by --limit (already resolved); undefined = no limit. */
  limit?: Set<string>;
  extraVars: Record<string, unknown>;
  forceHandlers?: boolean;
  /** Connection settings overrides from the command line (timeouts). */
  connectionOverrides?: Partial<ConnectionSettings>;
  sshHooks?: SshHooks;
  /** Seconds to wait for another run's lock on a host (default 2: a run that just ended releases within 0.2 s). */
  waitLockSeconds?: number;
  /** Set by the CLI on SIGINT/SIGTERM: no new task starts. */
  stopping?: () => boolean;
  /** Check mode with --out: each host's decisions and the facts they read, for a saved plan. */
  record?: Map<string, HostRecording>;
  /** `kvmnet apply`: the saved plan whose decisions are applied instead of planning. */
  replay?: SavedPlan;
  /** The transport (default: ssh or local, as the host's variables say); tests give a fake host. */
  connect?: (settings: ConnectionSettings) => Promise<Connection>;
}

export async function runPlaybook(playbook: Playbook, inventory: Inventory, options: RunOptions, reporter: Reporter): Promise<RunSummary> {
  const started = Date.now();
  const recaps = new Map<string, HostRecap>();
  const connections = new Map<string, Promise<Connection>>();
  const dead = new Set<string>();
  const notTouched: string[] = [];
  const stopping = options.stopping ?? (() => false);
  const playbookDir = dirname(resolve(playbook.file));
  // Read every play's vars files and render every task for every host before contacting any:
  // a broken file or an undefined variable is an input error, reported once with its hosts.
  const playVarsList = playbook.plays.map((p) => ({ ...p.vars, ...readVarsFiles(p.varsFiles) }));
  const preflight = validatePlaybook(playbook, inventory, options.extraVars, options.limit, playVarsList).renderDiagnostics;
  if (preflight.length) throw new InvalidInputError(preflight);

  // A slow sudo is worth one warning per host per run, in the run's output (JSON too), whichever connection saw it.
  const slowBecomeWarned = new Set<string>();
  const open =
    options.connect ??
    ((settings: ConnectionSettings) =>
      connect(settings, {
        ...options.sshHooks,
        onBecomeWarning: (message) => {
          if (!slowBecomeWarned.has(settings.name)) reporter.warn(message);
          slowBecomeWarned.add(settings.name);
        },
      }));
  const connectionFor =
    (host: string, settings: ConnectionSettings): (() => Promise<Connection>) =>
    () => {
      let c = connections.get(host);
      if (!c) {
        c = open({ ...settings, ...options.connectionOverrides });
        // A failed connect is remembered: the host is unreachable for the rest of the run.
        connections.set(host, c);
      }
      return c;
    };

  // Fresh connections for commit-confirmed checks; the host's pipeline keeps the one it gets.
  const extra: Connection[] = [];
  const reconnect = async (settings: ConnectionSettings) => {
    const c = await open({ ...settings, ...options.connectionOverrides, connectTimeoutMs: Math.min(settings.connectTimeoutMs, 5000) });
    extra.push(c);
    return c;
  };

  const replays = new Map<string, HostReplay>();
  const locked = new Set<string>();
  const factsCache = new Map<string, Facts>();
  const factsTopUps = { count: 0 };
  const owner = `kvmnet pid ${process.pid} on ${hostname()} (${userInfo().username}) since ${new Date().toISOString()}`;

  try {
    for (const [p, play] of playbook.plays.entries()) {
      if (stopping()) break;
      const hosts = playHosts(play, inventory, options, reporter).filter((h) => !dead.has(h));
      reporter.playStart(play, hosts, options.check);
      const playVars = playVarsList[p]!;
      const batches = splitBatches(hosts, play.serial);
      for (const [b, batch] of batches.entries()) {
        if (stopping()) {
          notTouched.push(...batch);
          continue;
        }
        if (batches.length > 1) reporter.batchStart?.(b + 1, batches.length, batch);
        // free: each host runs its whole list under a fork slot. linear: all hosts of the batch
        // run together, synchronised per task, and the fork slots bound each task's work instead.
        const forks = pLimit(Math.max(1, options.forks));
        const linear = play.strategy === 'linear' ? new LinearBarrier(batch.length) : undefined;
        const hostLimit = <T>(fn: () => Promise<T>): Promise<T> => (linear ? fn() : forks(fn));
        // any_errors_fatal: the first failure stops every host of the batch after its current task.
        let fatalFailure = false;
        const ctx: PlayContext = {
          play,
          playVars,
          inventory,
          options,
          reporter,
          playbookDir,
          connectionFor,
          reconnect,
          locked,
          owner,
          factsCache,
          replays,
          factsTopUps,
          stopping: () => stopping() || fatalFailure,
          onHostFailure: () => {
            if (play.anyErrorsFatal) fatalFailure = true;
          },
          beforeTask: linear ? (i) => linear.arrive(i) : undefined,
          withSlot: <T>(fn: () => Promise<T>): Promise<T> => (linear ? forks(fn) : fn()),
        };
        const results = await Promise.all(
          batch.map((host) =>
            hostLimit(async () => {
              const recap = await runOneHost(host, ctx).finally(() => linear?.leave());
              if (batches.length > 1) recap.batch = b + 1;
              merge(recaps, recap);
              reporter.hostDone(recap);
              if (hostFailed(recap)) dead.add(host);
              return recap;
            }),
          ),
        );
        const failed = results.filter(hostFailed).length;
        const fatal = play.anyErrorsFatal && failed > 0;
        if (fatal || exceedsFailThreshold(failed, batch.length, play.maxFailPercentage)) {
          const rest = batches.slice(b + 1).flat();
          notTouched.push(...rest);
          reporter.warn(
            fatal
              ? `any_errors_fatal: stopping the rollout after a failure in batch ${b + 1}`
              : `${failed} of ${batch.length} hosts failed in batch ${b + 1}, more than max_fail_percentage ${play.maxFailPercentage}%: stopping the rollout`,
          );
          if (rest.length) reporter.warn(`never touched: ${rest.join(', ')}`);
          break;
        }
      }
      if (notTouched.length) break;
    }
  } finally {
    await Promise.all([...connections.values()].map((c) => c.then((x) => x.close()).catch(() => undefined)));
    await Promise.all(extra.map((c) => c.close().catch(() => undefined)));
  }
  const stats = { connections: 0, execs: 0, factsTopUps: factsTopUps.count };
  for (const conn of [...(await Promise.all([...connections.values()].map((c) => c.catch(() => undefined)))), ...extra]) {
    if (conn) {
      stats.connections += conn.stats.connections;
      stats.execs += conn.stats.execs;
    }
  }
  // Recap in inventory order, not in the order hosts happened to finish.
  const order = [...inventory.hosts.keys()];
  const hosts = [...recaps.values()].sort((a, b) => order.indexOf(a.host) - order.indexOf(b.host));
  const summary: RunSummary = { hosts, elapsedMs: Date.now() - started, check: options.check, notTouched, stats };
  await reporter.finish(summary);
  return summary;
}

function playHosts(play: PlaySpec, inventory: Inventory, options: RunOptions, reporter: Reporter): string[] {
  const { hosts, diagnostics } = selectHosts(inventory, play.hosts, play.loc);
  diagnostics.forEach((d) => reporter.warn(formatDiagnostic(d)));
  return options.limit ? hosts.filter((h) => options.limit!.has(h)) : hosts;
}

interface PlayContext {
  play: PlaySpec;
  playVars: Record<string, unknown>;
  inventory: Inventory;
  options: RunOptions;
  reporter: Reporter;
  playbookDir: string;
  connectionFor: (host: string, s: ConnectionSettings) => () => Promise<Connection>;
  stopping: () => boolean;
  onHostFailure: () => void;
  beforeTask?: (index: number) => Promise<void>;
  reconnect: (s: ConnectionSettings) => Promise<Connection>;
  locked: Set<string>;
  owner: string;
  factsCache: Map<string, Facts>;
  replays: Map<string, HostReplay>;
  /** Execs that read facts fragments a host's first exec did not (counted for the summary). */
  factsTopUps: { count: number };
  withSlot: <T>(fn: () => Promise<T>) => Promise<T>;
}

async function runOneHost(host: string, ctx: PlayContext): Promise<HostRecap> {
  const { play, playVars, inventory, options, reporter, playbookDir, connectionFor, stopping } = ctx;
  const vars = { ...inventoryMagicVars(inventory), ...hostVars(inventory, host), ...playVars };
  if (play.become !== undefined) vars.become = play.become;
  const origin = inventory.hostOrigin.get(host) ?? { file: '(inventory)' };
  const resolved = resolveConnectionVars(host, { ...vars, ...options.extraVars }, origin);
  for (const notice of resolved.notices ?? []) if (shownOnce(reporter, notice)) reporter.warn(notice);
  if (!resolved.settings) {
    const recap = emptyRecap(host);
    recap.unreachable = 1;
    recap.error = resolved.diagnostics.map((d: { message: string }) => d.message).join('; ');
    reporter.taskDone({
      host,
      play: play.name,
      task: 'connect',
      type: 'connect',
      outcome: 'unreachable',
      message: recap.error ?? 'invalid connection variables',
      changes: [],
      check: options.check,
      durationMs: 0,
    });
    return recap;
  }
  reporter.taskStart(host, 'connecting');
  const outcome = await runHost({
    host,
    play: play.name,
    tasks: play.tasks,
    handlers: play.handlers,
    forceHandlers: options.forceHandlers ?? false,
    vars,
    extraVars: options.extraVars,
    playbookDir,
    check: options.check,
    getConnection: connectionFor(host, resolved.settings),
    reconnect: () => ctx.reconnect(resolved.settings!),
    confirm: play.confirm,
    cachedFacts: ctx.factsCache.get(host),
    // The lock lives as long as the host's connection: take it with the first facts of the run.
    lock: ctx.locked.has(host) ? undefined : (ctx.locked.add(host), { owner: ctx.owner, waitSeconds: options.waitLockSeconds ?? 2 }),
    lockOwner: ctx.owner,
    commandTimeoutS: (options.connectionOverrides?.commandTimeoutMs ?? resolved.settings.commandTimeoutMs) / 1000,
    confirmTimeoutS: play.confirmTimeout,
    reporter,
    stopping,
    onFailure: ctx.onHostFailure,
    beforeTask: ctx.beforeTask,
    withSlot: ctx.withSlot,
    recording: options.record && getOrAdd(options.record, host, () => new HostRecording()),
    replay: options.replay && getOrAdd(ctx.replays, host, () => new HostReplay(host, options.replay!.hosts[host] ?? { reads: [], tasks: [] })),
  }).catch((err: unknown): HostOutcome => {
    // A bug or an unexpected error on one host must not take the others down.
    const recap = emptyRecap(host);
    if (err instanceof UnreachableError) recap.unreachable = 1;
    else recap.failed = 1;
    recap.error = (err as Error).message;
    return { recap, notified: new Set<string>(), factsTopUps: 0 };
  });
  ctx.factsTopUps.count += outcome.factsTopUps;
  if (outcome.facts) ctx.factsCache.set(host, outcome.facts);
  else ctx.factsCache.delete(host);
  return outcome.recap;
}

function getOrAdd<T>(map: Map<string, T>, key: string, make: () => T): T {
  let v = map.get(key);
  if (v === undefined) map.set(key, (v = make()));
  return v;
}

function merge(all: Map<string, HostRecap>, r: HostRecap): void {
  const prev = all.get(r.host);
  if (!prev) {
    all.set(r.host, { ...r });
    return;
  }
  prev.ok += r.ok;
  prev.changed += r.changed;
  prev.failed += r.failed;
  prev.skipped += r.skipped;
  prev.unreachable += r.unreachable;
  prev.rolled_back += r.rolled_back;
  prev.ignored += r.ignored;
  prev.error = r.error ?? prev.error;
  prev.batch = r.batch ?? prev.batch;
  if (r.notStarted) prev.notStarted = [...(prev.notStarted ?? []), ...r.notStarted];
}
