// One run per host at a time, without an extra round trip: the facts exec takes a flock on the
// host and hands it to a tiny detached holder that lives as long as this run's SSH connection (it
// watches the connection's sshd process, named in SSHD_FILE; for `connection: local`, the
// controller process). When the run ends or the controller dies, the connection goes and the
// lock with it. A guarded change replaces the connection: `lockTakeover` names the new one's sshd
// in SSHD_FILE before the old one closes, and the holder goes on watching that one.
import { shellProgram, shellTemplate } from '../shell/program.js';

export const LOCK_FILE = '/run/lock/kvmnet.lock';
/** Where a fired rollback timer leaves a line (time, id, what and why); the next run reports it. */
export const ROLLBACK_LOG = '/run/kvmnet/rollbacks.log';

/** Moves the host's unreported rollback records to the reported ones. */
export const ACK_ROLLBACKS = `if [ -s ${ROLLBACK_LOG} ]; then cat ${ROLLBACK_LOG} >> ${ROLLBACK_LOG}.reported && : > ${ROLLBACK_LOG}; fi`;
/** Who holds the lock, and the sshd process its holder watches (the rollback timer reads them, src/run/rollback-timer.sh). */
export const OWNER_FILE = '/run/lock/kvmnet.owner';
export const SSHD_FILE = '/run/lock/kvmnet.sshd';
const HOLDER_FILE = '/run/lock/kvmnet.holder';

// The programs (lock-*.sh): the nearest ancestor that is not a shell or sudo is sshd's process for
// this connection (builtins only). The holder waits with GNU tail, which waits for a process
// without forking (checks 5 times a second); elsewhere with a slower sleep loop. When it is gone,
// the holder follows the process SSHD_FILE names now, if another one.
const HOLDER = shellTemplate(shellProgram(new URL('./lock-holder.sh', import.meta.url)))({ SSHD_FILE }).trimEnd();
const TAKE = shellTemplate(shellProgram(new URL('./lock-take.sh', import.meta.url)));
const TAKEOVER = shellTemplate(shellProgram(new URL('./lock-takeover.sh', import.meta.url)));

export interface LockRequest {
  /** Who holds it, shown to a second run: `kvmnet pid 123 on ctl (root) since …`. */
  owner: string;
  waitSeconds: number;
}

export function lockPreamble(req: LockRequest): string {
  return TAKE({ LOCK_FILE, WAIT_S: Math.max(0, Math.round(req.waitSeconds)), OWNER: req.owner, OWNER_FILE, SSHD_FILE, HOLDER, HOLDER_FILE, ROLLBACK_LOG });
}

/**
 * Run on a NEW connection of the run that holds the lock: the holder follows this connection from
 * now on. If the holder is gone meanwhile (a fired rollback ends the connection it watched), the
 * lock is taken again.
 */
export function lockTakeover(owner: string): string {
  return TAKEOVER({ OWNER_FILE, OWNER: owner, HOLDER_FILE, SSHD_FILE }) + lockPreamble({ owner, waitSeconds: 5 });
}

/** `ok`, or who holds the lock. */
export function parseLock(stdout: string): { ok: true } | { ok: false; holder: string } | undefined {
  const m = /@@kvmnet:lock@@(ok|busy ?([^\n]*))/.exec(stdout);
  if (!m) return undefined;
  return m[1] === 'ok' ? { ok: true } : { ok: false, holder: m[2]?.trim() || 'another kvmnet run' };
}

export interface RollbackRecord {
  at: string;
  id: string;
  what: string;
}

/** The rollback records a lock preamble printed (none when there were none). */
export function parseRollbacks(stdout: string): RollbackRecord[] {
  const m = /@@kvmnet:rollbacks@@\n([\s\S]*?)(?=@@kvmnet:|$)/.exec(stdout);
  if (!m) return [];
  return m[1]!
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [at = '', id = '', ...what] = line.split('\t');
      return { at, id, what: what.join('\t') };
    });
}
