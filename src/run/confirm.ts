// Commit-confirmed changes (like a router's `commit confirmed`): before a change that touches
// the management path, the host gets its own rollback and a detached timer that runs it. The
// change itself runs detached too, so a cut session cannot stop it half way. Then a NEW SSH
// connection must work: if it does, the timer is disarmed; if not, the timer restores the host,
// kvmnet reconnects, checks the old state is back and reports `rolled_back`.
import { randomBytes } from 'node:crypto';
import { shellQuote } from '../connection/quote.js';
import type { Connection } from '../connection/types.js';
import type { Facts } from '../model/facts.js';
import type { Change } from '../model/plan.js';
import { changeLines } from './change-script.js';
import { gatherHostFacts } from './host-facts.js';
import { restoredDifferences, restoreScript } from './restore-script.js';

export interface ConfirmOptions {
  host: string;
  conn: Connection;
  /** A fresh connection (never the cached one): the proof that the host is still reachable. */
  reconnect: () => Promise<Connection>;
  changes: Change[];
  before: Facts;
  devices: string[];
  networks: string[];
  timeoutS: number;
  /** For tests: how long to let the detached change run before confirming. */
  settleMs?: number;
}

export type ConfirmResult =
  | { outcome: 'changed'; conn: Connection; message: string }
  | { outcome: 'failed' | 'rolled_back'; conn?: Connection; message: string }
  | { outcome: 'unreachable'; message: string };

const b64 = (s: string) => shellQuote(Buffer.from(s).toString('base64'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function armScript(id: string, dir: string, rollback: string, changes: readonly Change[], timeoutS: number): string {
  const d = shellQuote(dir);
  const rollbackCmd = `sh ${dir}/rollback.sh > ${dir}/rollback.log 2>&1; echo done > ${dir}/rolled-back`;
  return [
    'set -e',
    'umask 077',
    `mkdir -p ${d}`,
    `printf %s ${b64(rollback)} | base64 -d > ${d}/rollback.sh`,
    `printf %s ${b64(['set -e', ...changeLines(changes)].join('\n') + '\n')} | base64 -d > ${d}/change.sh`,
    // systemd-run survives anything short of a reboot; without systemd a setsid'd sleeper does.
    'if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then',
    `  systemd-run --quiet --unit=kvmnet-rollback-${id} --on-active=${timeoutS}s /bin/sh -c ${shellQuote(rollbackCmd)}`,
    `  echo systemd > ${d}/timer`,
    'else',
    `  setsid sh -c ${shellQuote(`sleep ${timeoutS}; ${rollbackCmd}`)} </dev/null >/dev/null 2>&1 &`,
    `  echo "pid $!" > ${d}/timer`,
    'fi',
    `setsid sh -c ${shellQuote(`sh ${dir}/change.sh > ${dir}/change.log 2>&1; echo $? > ${dir}/change.rc`)} </dev/null >/dev/null 2>&1 &`,
    'echo armed',
  ].join('\n');
}

export function disarmScript(id: string, dir: string, remove = true): string {
  const d = shellQuote(dir);
  return [
    `read kind pid < ${d}/timer || true`,
    `if [ "$kind" = systemd ]; then systemctl stop kvmnet-rollback-${id}.timer kvmnet-rollback-${id}.service 2>/dev/null || true;`,
    `elif [ -n "$pid" ]; then kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; fi`,
    ...(remove ? [`rm -rf ${d}`] : []),
  ].join('\n');
}

/** Waits (on the host) for the detached change to finish, then prints its exit code and log. */
function waitChangeScript(dir: string): string {
  const d = shellQuote(dir);
  return `i=0; while [ ! -s ${d}/change.rc ] && [ $i -lt 120 ]; do sleep 0.25; i=$((i+1)); done; cat ${d}/change.rc 2>/dev/null || echo none; cat ${d}/change.log 2>/dev/null`;
}

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

export async function applyConfirmed(o: ConfirmOptions): Promise<ConfirmResult> {
  const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const dir = `/run/kvmnet/confirm-${id}`;
  const rollback = restoreScript(o.before, o.devices, o.networks);
  const armed = await o.conn.exec(armScript(id, dir, rollback, o.changes, o.timeoutS));
  if (armed.exitCode !== 0 || !armed.stdout.includes('armed')) {
    return { outcome: 'failed', conn: o.conn, message: `could not arm the rollback timer, nothing was changed: ${armed.stderr.trim()}` };
  }
  const armedAt = Date.now();
  await sleep(o.settleMs ?? 1500);

  // The proof: a NEW connection, well before the rollback timer fires.
  const fresh = await tryReconnect(o.reconnect, armedAt + o.timeoutS * 600);
  if (fresh) {
    await o.conn.close().catch(() => undefined);
    const waited = await fresh.exec(waitChangeScript(dir));
    const [rc = 'none', ...log] = waited.stdout.split('\n');
    // Disarm first, then look: if the timer already fired, the change is gone.
    const disarm = await fresh.exec(`${disarmScript(id, dir, false)}\n[ -e ${shellQuote(`${dir}/rolled-back`)} ] && echo rolled-back; rm -rf ${shellQuote(dir)}`);
    if (disarm.stdout.includes('rolled-back')) return verifyRollback(o, fresh, dir);
    if (rc.trim() === '0') return { outcome: 'changed', conn: fresh, message: 'confirmed over a new SSH connection; rollback disarmed' };
    await fresh.exec(`printf %s ${b64(rollback)} | base64 -d | sh >/dev/null 2>&1`);
    return { outcome: 'failed', conn: fresh, message: `the change failed (exit ${rc.trim()}) and was rolled back: ${log.join(' ').trim()}` };
  }

  // Cut off: the timer restores the host. Wait for it, then prove the old state is back.
  await sleep(Math.max(0, armedAt + o.timeoutS * 1000 + 3000 - Date.now()));
  const back = await tryReconnect(o.reconnect, Date.now() + 60_000);
  if (!back) return { outcome: 'unreachable', message: `the change cut ${o.host} off and the host did not come back after the rollback timer (${o.timeoutS} s)` };
  await o.conn.close().catch(() => undefined);
  return verifyRollback(o, back, dir);
}

async function verifyRollback(o: ConfirmOptions, conn: Connection, dir: string): Promise<ConfirmResult> {
  const after = await gatherHostFacts(conn, o.host);
  const diffs = restoredDifferences(o.before, after, o.devices);
  await conn.exec(`rm -rf ${shellQuote(dir)}`).catch(() => undefined);
  if (diffs.length) return { outcome: 'failed', conn, message: `the change cut ${o.host} off; after the rollback the host is reachable but not as before: ${diffs.join('; ')}` };
  return { outcome: 'rolled_back', conn, message: `the change cut ${o.host} off (no new SSH connection was possible); the rollback timer restored it after ${o.timeoutS} s and the host is reachable again` };
}
