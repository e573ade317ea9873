// One run per host at a time, without an extra round trip: the facts exec takes a flock on the
// host and hands it to a tiny detached holder that lives as long as this SSH connection (it
// watches the connection's sshd process; for `connection: local`, the controller process).
// When the run ends or the controller dies, the connection goes and the lock with it.
import { shellQuote } from '../connection/quote.js';

export const LOCK_FILE = '/run/lock/kvmnet.lock';
const OWNER_FILE = '/run/lock/kvmnet.owner';

export interface LockRequest {
  /** Who holds it, shown to a second run: `kvmnet pid 123 on ctl (root) since …`. */
  owner: string;
  waitSeconds: number;
}

export function lockPreamble(req: LockRequest): string {
  return `mkdir -p /run/lock
exec 9>>${LOCK_FILE}
if flock -w ${Math.max(0, Math.round(req.waitSeconds))} 9; then
  printf '%s\\n' ${shellQuote(req.owner)} > ${OWNER_FILE}
  # the nearest ancestor that is not a shell or sudo: sshd's process for this connection
  w=$$; while [ "$w" -gt 1 ]; do c=$(cat /proc/$w/comm 2>/dev/null); case "$c" in sh|dash|bash|sudo) w=$(cut -d' ' -f4 /proc/$w/stat);; *) break;; esac; done
  setsid sh -c "while kill -0 $w 2>/dev/null; do sleep 0.2; done" </dev/null >/dev/null 2>&1 &
  exec 9>&-
  echo '@@kvmnet:lock@@ok'
else
  echo "@@kvmnet:lock@@busy $(cat ${OWNER_FILE} 2>/dev/null)"
  exit 0
fi
`;
}

/** `ok`, or who holds the lock. */
export function parseLock(stdout: string): { ok: true } | { ok: false; holder: string } | undefined {
  const m = /@@kvmnet:lock@@(ok|busy ?([^\n]*))/.exec(stdout);
  if (!m) return undefined;
  return m[1] === 'ok' ? { ok: true } : { ok: false, holder: m[2]?.trim() || 'another kvmnet run' };
}
