// One run per host at a time, without an extra round trip: the facts exec takes a flock on the
// host and hands it to a tiny detached holder that lives as long as this run's SSH connection (it
// watches the connection's sshd process, named in SSHD_FILE; for `connection: local`, the
// controller process). When the run ends or the controller dies, the connection goes and the
// lock with it. A guarded change replaces the connection: `lockTakeover` names the new one's sshd
// in SSHD_FILE before the old one closes, and the holder goes on watching that one.
import { shellQuote } from '../connection/quote.js';

export const LOCK_FILE = '/run/lock/kvmnet.lock';
/** Where a fired rollback timer leaves a line (time, id, what and why); the next run reports it. */
export const ROLLBACK_LOG = '/run/kvmnet/rollbacks.log';

/** Moves the host's unreported rollback records to the reported ones. */
export const ACK_ROLLBACKS = `if [ -s ${ROLLBACK_LOG} ]; then cat ${ROLLBACK_LOG} >> ${ROLLBACK_LOG}.reported && : > ${ROLLBACK_LOG}; fi`;
const OWNER_FILE = '/run/lock/kvmnet.owner';
const SSHD_FILE = '/run/lock/kvmnet.sshd';
const HOLDER_FILE = '/run/lock/kvmnet.holder';

// The nearest ancestor that is not a shell or sudo: sshd's process for this connection (builtins only).
const FIND_SSHD = `w=$$; while [ "$w" -gt 1 ]; do read -r c < /proc/$w/comm || break; case "$c" in sh|dash|bash|sudo) read -r _ _ _ w _ < /proc/$w/stat || break;; *) break;; esac; done`;

// GNU tail waits for a process without forking (checks 5 times a second); elsewhere a slower sleep
// loop. When it is gone, the holder follows the process SSHD_FILE names now, if another one.
const HOLDER = `w=$0; while :; do tail --pid=$w -s 0.2 -f /dev/null 2>/dev/null || while kill -0 $w 2>/dev/null; do sleep 1; done; read -r n < ${SSHD_FILE} 2>/dev/null || break; [ "$n" != "$w" ] && kill -0 "$n" 2>/dev/null || break; w=$n; done`;

export interface LockRequest {
  /** Who holds it, shown to a second run: `kvmnet pid 123 on ctl (root) since …`. */
  owner: string;
  waitSeconds: number;
}

export function lockPreamble(req: LockRequest): string {
  return `[ -d /run/lock ] || mkdir -p /run/lock
exec 9>>${LOCK_FILE}
if flock -w ${Math.max(0, Math.round(req.waitSeconds))} 9; then
  printf '%s\\n' ${shellQuote(req.owner)} > ${OWNER_FILE}
  ${FIND_SSHD}
  printf '%s\\n' "$w" > ${SSHD_FILE}
  setsid sh -c ${shellQuote(HOLDER)} "$w" </dev/null >/dev/null 2>&1 &
  echo $! > ${HOLDER_FILE}
  exec 9>&-
  echo '@@kvmnet:lock@@ok'
  # Rollbacks that fired since the last run (e.g. after the controller died mid-change): reported once.
  if [ -s ${ROLLBACK_LOG} ]; then echo '@@kvmnet:rollbacks@@'; cat ${ROLLBACK_LOG}; ${ACK_ROLLBACKS}; fi
else
  echo "@@kvmnet:lock@@busy $(cat ${OWNER_FILE} 2>/dev/null)"
  exit 0
fi
`;
}

/**
 * Run on a NEW connection of the run that holds the lock: the holder follows this connection from
 * now on. If the holder is gone meanwhile (a fired rollback ends the connection it watched), the
 * lock is taken again.
 */
export function lockTakeover(owner: string): string {
  return `if [ "$(cat ${OWNER_FILE} 2>/dev/null)" = ${shellQuote(owner)} ] && read -r h < ${HOLDER_FILE} && kill -0 "$h" 2>/dev/null; then
  ${FIND_SSHD}
  printf '%s\\n' "$w" > ${SSHD_FILE}
  echo '@@kvmnet:lock@@ok'
else
${lockPreamble({ owner, waitSeconds: 5 })}fi
`;
}

/**
 * For a rollback that fires: the run that armed it never confirmed, so the connection it made the
 * change over is dead or useless; ending that sshd session releases the run's lock (otherwise it
 * would be held until sshd notices the peer is gone, which can take hours after a cut).
 */
export function releaseLockOf(owner: string): string {
  return `if [ "$(cat ${OWNER_FILE} 2>/dev/null)" = ${shellQuote(owner)} ] && read -r w < ${SSHD_FILE}; then kill -TERM "$w" 2>/dev/null; fi`;
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
