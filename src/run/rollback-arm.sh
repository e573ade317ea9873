set -e
umask 077
mkdir -p @@DIR@@ /run/kvmnet
printf %s @@ROLLBACK@@ | base64 -d > @@DIR@@/rollback.sh
# What the rollback record says, and whose run lock a fired rollback releases (none: empty).
printf '%s\n' @@WHAT@@ > @@DIR@@/what
printf %s @@LOCK_OWNER@@ > @@DIR@@/lock-owner
# A guarded change (base64; none for a guarded command, which runs in the foreground).
change=@@CHANGE@@
if [ -n "$change" ]; then printf %s "$change" | base64 -d > @@DIR@@/change.sh; fi
# A systemd unit survives anything short of a reboot; without systemd a setsid'd sleeper does.
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --quiet --unit=kvmnet-rollback-@@ID@@ /bin/sh -c @@TIMER@@ kvmnet-rollback @@DIR@@ @@SECONDS@@ @@COMMAND_S@@ @@ID@@
  echo systemd > @@DIR@@/timer
else
  setsid sh -c @@TIMER@@ kvmnet-rollback @@DIR@@ @@SECONDS@@ @@COMMAND_S@@ @@ID@@ </dev/null >/dev/null 2>&1 &
  echo "pid $!" > @@DIR@@/timer
fi
# The change runs detached: a cut session cannot stop it half way.
if [ -n "$change" ]; then
  setsid sh -c 'sh "$1/change.sh" > "$1/change.log" 2>&1; echo $? > "$1/change.rc"' kvmnet-change @@DIR@@ </dev/null >/dev/null 2>&1 &
else
  echo 0 > @@DIR@@/change.rc
fi
echo armed
