# kvmnet's rollback timer: sh -c <this> kvmnet-rollback DIR SECONDS COMMAND_S ID (no braced
# expansions here: a newer systemd-run expands them in its arguments itself).
# A guarded command's timer counts from the command's end (DIR/cmd-done), waiting at most COMMAND_S for it.
i=0; while [ "$i" -lt "$3" ] && [ ! -e "$1/cmd-done" ]; do sleep 1; i=$((i+1)); done
sleep "$2"
sh "$1/rollback.sh" > "$1/rollback.log" 2>&1; echo 'done' > "$1/rolled-back"
printf '%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$4" "$(cat "$1/what")" >> @@ROLLBACK_LOG@@
# The run that armed it never confirmed: ending that run's SSH session releases its lock at once.
if [ -s "$1/lock-owner" ] && [ "$(cat @@OWNER_FILE@@ 2>/dev/null)" = "$(cat "$1/lock-owner")" ] && read -r w < @@SSHD_FILE@@; then kill -TERM "$w" 2>/dev/null; fi
