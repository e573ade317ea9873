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
  return `[ -d /run/lock ] || mkdir -p /run/lock
exec 9>>${LOCK_FILE}
if flock -w ${Math.max(0, Math.round(req.waitSeconds))} 9; then
  printf '%s\\n' ${shellQuote(req.owner)} > ${OWNER_FILE}
  # the nearest ancestor that is not a shell or sudo: sshd's process for this connection (builtins only)
  w=$$; while [ "$w" -gt 1 ]; do read -r c < /proc/$w/comm || break; case "$c" in sh|dash|bash|sudo) read -r _ _ _ w _ < /proc/$w/stat || break;; *) break;; esac; done
  # GNU tail waits for it without forking (checks 5 times a second); elsewhere a slower sleep loop.
  setsid sh -c "tail --pid=$w -s 0.2 -f /dev/null 2>/dev/null || while kill -0 $w 2>/dev/null; do sleep 1; done" </dev/null >/dev/null 2>&1 &
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
