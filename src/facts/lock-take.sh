[ -d /run/lock ] || mkdir -p /run/lock
exec 9>>@@LOCK_FILE@@
if flock -w @@WAIT_S@@ 9; then
  printf '%s\n' @@OWNER@@ > @@OWNER_FILE@@
  w=$$; while [ "$w" -gt 1 ]; do read -r c < /proc/$w/comm || break; case "$c" in sh|dash|bash|sudo) read -r _ _ _ w _ < /proc/$w/stat || break;; *) break;; esac; done
  printf '%s\n' "$w" > @@SSHD_FILE@@
  setsid sh -c @@HOLDER@@ "$w" </dev/null >/dev/null 2>&1 &
  echo $! > @@HOLDER_FILE@@
  exec 9>&-
  echo '@@kvmnet:lock@@ok'
  # Rollbacks that fired since the last run (e.g. after the controller died mid-change): reported once.
  if [ -s @@ROLLBACK_LOG@@ ]; then echo '@@kvmnet:rollbacks@@'; cat @@ROLLBACK_LOG@@; cat @@ROLLBACK_LOG@@ >> @@ROLLBACK_LOG@@.reported && : > @@ROLLBACK_LOG@@; fi
else
  echo "@@kvmnet:lock@@busy $(cat @@OWNER_FILE@@ 2>/dev/null)"
  exit 0
fi
