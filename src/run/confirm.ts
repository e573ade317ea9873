// Commit-confirmed changes (like a router's `commit confirmed`): before a guarded change, the host
// gets its own rollback and a detached timer that runs it. Then a NEW SSH connection must work: if
// it does, the timer is disarmed; if not, the timer restores the host by itself — whatever happens
// to kvmnet or its connection meanwhile — and kvmnet reconnects, checks the old state is back and
// reports `rolled_back`. A fired rollback leaves a line in ROLLBACK_LOG that the next run reports.
//
// Planned changes run detached (a cut session cannot stop them half way). A `command` runs in the
// foreground as usual (its output and exit code are its result), with the timer armed around it.
import { randomBytes } from 'node:crypto';
import { shellQuote } from '../connection/quote.js';
import type { Connection } from '../connection/types.js';
import { CommandTimeoutError, UnreachableError } from '../errors.js';
import { ACK_ROLLBACKS, lockTakeover, OWNER_FILE, parseLock, ROLLBACK_LOG, SSHD_FILE } from '../facts/lock-script.js';
import type { Facts } from '../model/facts.js';
import { applyChanges, changeLines, changeOps, type Change } from '../model/plan.js';
import { verifyOps } from '../ops/index.js';
import { shellProgram, shellTemplate } from '../shell/program.js';
import { gatherHostFacts } from './host-facts.js';
import { fragmentsByIds } from '../facts/needs.js';
import { restoredDifferences, restoreScript } from './restore-script.js';

export interface GuardOptions {
  host: string;
  conn: Connection;
  /** A fresh connection (never the cached one): the proof that the host is still reachable. */
  reconnect: () => Promise<Connection>;
  before: Facts;
  devices: string[];
  networks: string[];
  timeoutS: number;
  /** What is guarded and why, for the host's rollback record: `task 'x' (migrate: true)`. */
  what: string;
  /** The run lock's owner: the lock moves to the confirming connection (the old one is closed). */
  lockOwner?: string;
  /** How long the first connection to this host took: the confirming one gets a window well above it. */
  connectMs?: number;
  /** A command task: also delete virtual links the command may have created. */
  anyLink?: boolean;
  /** For tests: how long to let the detached change run before confirming. */
  settleMs?: number;
}

export type ConfirmResult =
  | { outcome: 'changed'; conn: Connection; message: string }
  | { outcome: 'failed' | 'rolled_back'; conn?: Connection; message: string }
  | { outcome: 'unreachable'; message: string };

const b64 = (s: string) => shellQuote(Buffer.from(s).toString('base64'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SETTLE_MS = 1500;
/** The confirming connection never gets less than this, nor less than 3 × the first connection's setup. */
const MIN_CONFIRM_WINDOW_MS = 2000;

/** The time a new connection gets to prove the host reachable: 60 % of the timer, minus the settle time. */
export function confirmWindowMs(timeoutS: number, settleMs = SETTLE_MS): number {
  return timeoutS * 600 - settleMs;
}

/** Why a confirm_timeout is too short for this host, or undefined when it leaves enough time. */
export function confirmWindowProblem(timeoutS: number, connectMs: number | undefined, settleMs = SETTLE_MS): string | undefined {
  const need = Math.max(MIN_CONFIRM_WINDOW_MS, 3 * (connectMs ?? 0));
  const window = confirmWindowMs(timeoutS, settleMs);
  if (window >= need) return undefined;
  const enough = Math.ceil((need + settleMs) / 600);
  return `confirm_timeout ${timeoutS} s leaves ${(window / 1000).toFixed(1)} s for the confirming SSH connection, and it needs at least ${(need / 1000).toFixed(1)} s here${connectMs ? ` (connecting took ${(connectMs / 1000).toFixed(2)} s)` : ''}: set confirm_timeout to ${enough} or more; nothing was changed`;
}

/**
 * The detached change (planned changes), or for a command the file it touches when it ends: a
 * command's timer counts from its end (waiting at most `runS` for it), so a long command is never
 * rolled back while it still runs, and a command that cuts the host quickly is undone quickly.
 */
export type Guarded = { changes: readonly Change[] } | { command: { runS: number } };

// The host's side of the guard, in src/run/rollback-*.sh.
const ARM = shellTemplate(shellProgram(new URL('./rollback-arm.sh', import.meta.url)));
const TIMER = shellTemplate(shellProgram(new URL('./rollback-timer.sh', import.meta.url)))({ ROLLBACK_LOG, OWNER_FILE, SSHD_FILE });
const DISARM = shellTemplate(shellProgram(new URL('./rollback-disarm.sh', import.meta.url)));
const WAIT_CHANGE = shellTemplate(shellProgram(new URL('./rollback-wait-change.sh', import.meta.url)));

export function armScript(id: string, dir: string, rollback: string, guarded: Guarded, timeoutS: number, what: string, lockOwner?: string): string {
  return ARM({
    DIR: dir,
    ID: id,
    ROLLBACK: Buffer.from(rollback).toString('base64'),
    CHANGE: 'changes' in guarded ? Buffer.from(['set -e', ...changeLines(guarded.changes)].join('\n') + '\n').toString('base64') : '',
    WHAT: `${what}; restored after ${timeoutS} s without confirmation`,
    LOCK_OWNER: lockOwner ?? '',
    TIMER,
    SECONDS: timeoutS,
    COMMAND_S: 'command' in guarded ? Math.ceil(guarded.command.runS) : 0,
  });
}

/** Wraps a guarded command so that the host's timer knows when it ended. */
export const commandDoneWrapper =
  (dir: string) =>
  (script: string): string =>
    `(\n${script}\n)\nrc=$?; : > ${shellQuote(`${dir}/cmd-done`)}; exit $rc`;

/**
 * Stops the timer if the rollback has not begun (this claims it), or waits for a begun one to end
 * (at most a minute). Prints `rolled-back` and the host's rollback record (`record <line>`) if it ran.
 */
export function disarmScript(id: string, dir: string, remove = true): string {
  return DISARM({ DIR: dir, ID: id, ROLLBACK_LOG }) + (remove ? `rm -rf ${shellQuote(dir)}\n` : '');
}

/** The host's record of a rollback (`DATE\tID\tWHAT`), as `when` and `what`. */
export function parseRollbackRecord(stdout: string): { when: string; what: string } | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith('record '));
  if (!line) return undefined;
  const [when = '', , ...what] = line.slice(7).split('\t');
  return { when, what: what.join('\t') };
}

/** Waits (on the host) for the detached change to finish, then prints its exit code and log. */
const waitChangeScript = (dir: string): string => WAIT_CHANGE({ DIR: dir });

/** Keeps trying new connections until one works or the deadline passes (a late one is closed). */
async function tryReconnect(reconnect: () => Promise<Connection>, deadlineMs: number): Promise<Connection | undefined> {
  while (Date.now() < deadlineMs) {
    const attempt = reconnect();
    let timeout: NodeJS.Timeout | undefined;
    const timer = new Promise<undefined>((r) => (timeout = setTimeout(() => r(undefined), Math.max(0, deadlineMs - Date.now()))));
    const won = await Promise.race([attempt.catch(() => null), timer]);
    clearTimeout(timeout);
    if (won) return won;
    if (won === undefined) {
      void attempt.then((c) => c.close()).catch(() => undefined);
      return undefined;
    }
    await sleep(500);
  }
  return undefined;
}

interface Armed {
  id: string;
  dir: string;
  rollback: string;
  at: number;
  /** When the timer fires at the latest, from `at`. */
  timerS: number;
  /** A command's timer starts when the command ends. */
  afterCommand: boolean;
}

/** How long a change runs before it is confirmed: SETTLE_MS, or longer when a change says its effect shows later. */
export function settleMsOf(changes: readonly Change[], settleMs = SETTLE_MS): number {
  return Math.max(settleMs, ...changes.map((c) => (c.settleS ?? 0) * 1000));
}

async function arm(o: GuardOptions, guarded: Guarded): Promise<Armed | string> {
  const tooShort = confirmWindowProblem(o.timeoutS, o.connectMs, 'changes' in guarded ? settleMsOf(guarded.changes, o.settleMs) : o.settleMs);
  if (tooShort) return tooShort;
  const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const dir = `/run/kvmnet/confirm-${id}`;
  const rollback = restoreScript(o.before, o.devices, o.networks, { anyLink: o.anyLink, ops: 'changes' in guarded ? changeOps(guarded.changes) : undefined });
  const timerS = o.timeoutS + ('command' in guarded ? Math.ceil(guarded.command.runS) : 0);
  const armed = await o.conn.exec(armScript(id, dir, rollback, guarded, o.timeoutS, o.what, o.lockOwner));
  if (armed.exitCode !== 0 || !armed.stdout.includes('armed')) return `could not arm the rollback timer, nothing was changed: ${armed.stderr.trim()}`;
  return { id, dir, rollback, at: Date.now(), timerS, afterCommand: 'command' in guarded };
}

/** The run lock goes to the confirming connection before the old one (whose sshd its holder watches) is closed. */
async function moveLock(o: GuardOptions, fresh: Connection): Promise<string> {
  if (!o.lockOwner) {
    await o.conn.close().catch(() => undefined);
    return '';
  }
  const state = parseLock((await fresh.exec(lockTakeover(o.lockOwner))).stdout);
  await o.conn.close().catch(() => undefined);
  return state?.ok ? '' : `; the run lock could not be kept on the new connection (${state && !state.ok ? state.holder : 'no answer'})`;
}

/** Confirms over a NEW connection: disarms, and tells whether the timer had already fired. */
async function confirm(
  o: GuardOptions,
  a: Armed,
  from = a.at,
): Promise<{ fresh: Connection; firedAlready: boolean; record?: { when: string; what: string }; rc: string; log: string; lockNote: string } | undefined> {
  // From `from` (the arming, or the end of a guarded command) the new connection gets 60 % of confirm_timeout.
  const fresh = await tryReconnect(o.reconnect, from + confirmWindowMs(o.timeoutS, 0));
  if (!fresh) return undefined;
  try {
    const lockNote = await moveLock(o, fresh);
    const waited = await fresh.exec(waitChangeScript(a.dir));
    const [rc = 'none', ...log] = waited.stdout.split('\n');
    // Disarm first, then look: if the timer already fired, the change is gone.
    const disarm = await fresh.exec(disarmScript(a.id, a.dir, false));
    const record = parseRollbackRecord(disarm.stdout);
    return {
      fresh,
      firedAlready: disarm.stdout.split('\n').includes('rolled-back'),
      ...(record ? { record } : {}),
      rc: rc.trim(),
      log: log.join(' ').trim(),
      lockNote,
    };
  } catch (err) {
    // The new connection died before the timer was disarmed (the path broke just after it was
    // made): not a confirmation. The timer restores the host.
    if (!(err instanceof UnreachableError)) throw err;
    await fresh.close().catch(() => undefined);
    return undefined;
  }
}

/** Cut off: the timer restores the host. Wait for it, then prove the old state is back. */
async function awaitRollback(o: GuardOptions, a: Armed): Promise<ConfirmResult> {
  await sleep(Math.max(0, a.at + a.timerS * 1000 + 3000 - Date.now()));
  const back = await tryReconnect(o.reconnect, Date.now() + 60_000);
  if (!back) return { outcome: 'unreachable', message: `the change cut ${o.host} off and the host did not come back after the rollback timer (${a.timerS} s)` };
  await moveLock(o, back);
  return verifyRollback(o, back, a);
}

export async function applyConfirmed(o: GuardOptions & { changes: Change[] }): Promise<ConfirmResult> {
  const a = await arm(o, { changes: o.changes });
  if (typeof a === 'string') return { outcome: 'failed', conn: o.conn, message: a };
  await sleep(settleMsOf(o.changes, o.settleMs));
  const c = await confirm(o, a);
  if (!c) return awaitRollback(o, a);
  if (c.firedAlready) return verifyRollback(o, c.fresh, a, c.record);
  await c.fresh.exec(`rm -rf ${shellQuote(a.dir)}`);
  if (c.rc === '0') {
    // Read back over the confirming connection: a change the host did not take is undone like one that failed.
    const expected = structuredClone(o.before);
    applyChanges(o.changes, expected);
    const notInEffect = verifyOps(changeOps(o.changes), expected, await gatherHostFacts(c.fresh, o.host));
    if (notInEffect.length === 0) return { outcome: 'changed', conn: c.fresh, message: `confirmed over a new SSH connection; rollback disarmed${c.lockNote}` };
    await c.fresh.exec(`printf %s ${b64(a.rollback)} | base64 -d | sh >/dev/null 2>&1`);
    return { outcome: 'rolled_back', conn: c.fresh, message: `applied, not in effect: ${notInEffect.join('; ')}; rolled back${c.lockNote}` };
  }
  await c.fresh.exec(`printf %s ${b64(a.rollback)} | base64 -d | sh >/dev/null 2>&1`);
  return { outcome: 'failed', conn: c.fresh, message: `the change failed (exit ${c.rc}) and was rolled back: ${c.log}${c.lockNote}` };
}

/**
 * Runs `run` (a command, wrapped by `wrap` so the host sees it end) on the current connection with
 * the rollback armed around it. A command that fails or times out while the host stays reachable
 * is its own failure (no rollback); one that cuts the host off is rolled back by the timer.
 */
export async function runGuarded<T>(
  o: GuardOptions & { runS: number; command?: string },
  run: (conn: Connection, wrap: (script: string) => string) => Promise<T>,
): Promise<{ result?: T; guard: ConfirmResult }> {
  const a = await arm(o, { command: { runS: o.runS } });
  if (typeof a === 'string') return { guard: { outcome: 'failed', conn: o.conn, message: a } };
  let result: T | undefined;
  try {
    result = await run(o.conn, commandDoneWrapper(a.dir));
  } catch (err) {
    if (err instanceof UnreachableError) return { guard: await afterLostCommand(o, a, err) };
    if (!(err instanceof CommandTimeoutError)) throw err;
    // Timed out: killed on a host that still answers, or an answer that cannot come back.
    const c = await confirm(o, a, Date.now());
    if (!c) return { guard: await afterLostCommand(o, a, err) };
    if (c.firedAlready) return { guard: await verifyRollback(o, c.fresh, a, c.record) };
    await c.fresh.exec(`rm -rf ${shellQuote(a.dir)}`).catch(() => undefined);
    return { guard: { outcome: 'failed', conn: c.fresh, message: `timed out: ${err.message}` } };
  }
  // The command is done: the window for the confirming connection starts now.
  const c = await confirm(o, a, Date.now());
  if (!c) return { result, guard: await awaitCommandRollback(o, a, 'the command cut the host off') };
  if (c.firedAlready) return { result, guard: await verifyRollback(o, c.fresh, a, c.record) };
  await c.fresh.exec(`rm -rf ${shellQuote(a.dir)}`);
  return { result, guard: { outcome: 'changed', conn: c.fresh, message: `confirmed over a new SSH connection; rollback disarmed${c.lockNote}` } };
}

/**
 * The connection died (or its answer never came) while a guarded command ran. One quick new
 * connection tells a dead sshd (refused: nothing to wait for) from a cut path; for a cut, the
 * host's timer restores it once the command has ended there.
 */
async function afterLostCommand(o: GuardOptions & { command?: string }, a: Armed, err: Error): Promise<ConfirmResult> {
  // The connection's own message names the first line of what it ran: the guard's wrapper, `(`.
  const why = /connection lost \(([^)]*)\)/.exec(err.message)?.[1] ?? err.message;
  const lost = `connection lost (${why}) while running ${o.command ? `\`${o.command}\`` : 'the command'}; whether the command ran to completion is unknown`;
  try {
    const probe = await Promise.race([o.reconnect(), sleep(5000).then(() => undefined)]);
    if (probe) return settleReachable(o, a, probe, lost);
  } catch (e) {
    if (/refused|ECONNREFUSED/i.test((e as Error).message)) {
      return {
        outcome: 'unreachable',
        message: `${lost}; sshd on the host refuses new connections, and the rollback armed there restores the state before the task ${a.timerS} s after arming at the latest`,
      };
    }
  }
  return awaitCommandRollback(o, a, lost);
}

/** Reachable again: the timer fired (verify the old state is back), or it had not (disarm). */
async function settleReachable(o: GuardOptions, a: Armed, conn: Connection, lost: string): Promise<ConfirmResult> {
  const c = await confirm({ ...o, reconnect: async () => conn }, a, Date.now());
  if (!c) return { outcome: 'unreachable', message: lost };
  if (c.firedAlready) return verifyRollback(o, c.fresh, a, c.record);
  await c.fresh.exec(`rm -rf ${shellQuote(a.dir)}`).catch(() => undefined);
  return { outcome: 'unreachable', message: `${lost} (a new connection works; the rollback was disarmed)` };
}

/** Cut off during or by a command: new connections are tried until the host's timer has restored it. */
async function awaitCommandRollback(o: GuardOptions, a: Armed, lost: string): Promise<ConfirmResult> {
  const back = await tryReconnect(o.reconnect, a.at + a.timerS * 1000 + 60_000);
  if (!back) return { outcome: 'unreachable', message: `${lost}; the host did not come back after its rollback timer (${o.timeoutS} s after the command)` };
  return settleReachable(o, a, back, lost);
}

async function verifyRollback(o: GuardOptions, conn: Connection, a: Armed, record?: { when: string; what: string }): Promise<ConfirmResult> {
  // Read again what the facts before the change were read with (not more: no firewall dump for a bridge).
  const after = await gatherHostFacts(conn, o.host, undefined, o.before.gathered ? fragmentsByIds(o.before.gathered).found : undefined);
  const diffs = restoredDifferences(o.before, after, o.devices);
  // This run reports it now: the record moves to the reported ones, so the next run does not again.
  await conn.exec(`rm -rf ${shellQuote(a.dir)}; ${ACK_ROLLBACKS}`).catch(() => undefined);
  if (diffs.length)
    return {
      outcome: 'failed',
      conn,
      message: `the change cut ${o.host} off; after the rollback the host is reachable but not as before: ${diffs.join('; ')}`,
    };
  const when = a.afterCommand ? `${o.timeoutS} s after the command ended` : `after ${a.timerS} s`;
  // What the host itself recorded: when it rolled back, and what it restored.
  const recorded = record ? ` (host's rollback log: ${record.when}, ${record.what})` : '';
  return {
    outcome: 'rolled_back',
    conn,
    message: `the change cut ${o.host} off (no new SSH connection was possible); the rollback timer restored it ${when} and the host is reachable again${recorded}`,
  };
}
