if [ "$(cat @@OWNER_FILE@@ 2>/dev/null)" = @@OWNER@@ ] && read -r h < @@HOLDER_FILE@@ && kill -0 "$h" 2>/dev/null; then
  w=$$; while [ "$w" -gt 1 ]; do read -r c < /proc/$w/comm || break; case "$c" in sh|dash|bash|sudo) read -r _ _ _ w _ < /proc/$w/stat || break;; *) break;; esac; done
  printf '%s\n' "$w" > @@SSHD_FILE@@
  echo '@@kvmnet:lock@@ok'
  exit 0
fi
