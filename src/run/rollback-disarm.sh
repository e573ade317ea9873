# Stops the timer if the rollback has not begun (the mkdir claims it), or waits for a begun one
# to end (at most a minute). Prints `rolled-back` and the host's record (`record <line>`) if it ran.
dir=@@DIR@@
id=@@ID@@
if [ ! -d "$dir" ] || mkdir "$dir/fire" 2>/dev/null; then
  read -r kind pid < "$dir/timer" 2>/dev/null || true
  if [ "$kind" = systemd ]; then systemctl stop "kvmnet-rollback-$id.timer" "kvmnet-rollback-$id.service" 2>/dev/null || true
  elif [ -n "$pid" ]; then kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; fi
else
  i=0; while [ ! -e "$dir/rolled-back" ] && [ "$i" -lt 240 ]; do sleep 0.25; i=$((i+1)); done
fi
[ -e "$dir/rolled-back" ] && echo rolled-back
tab=$(printf '\t')
grep -h "$tab$id$tab" @@ROLLBACK_LOG@@ @@ROLLBACK_LOG@@.reported 2>/dev/null | sed 's/^/record /'
true
