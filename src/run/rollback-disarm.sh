read -r kind pid < @@DIR@@/timer || true
if [ "$kind" = systemd ]; then systemctl stop kvmnet-rollback-@@ID@@.timer kvmnet-rollback-@@ID@@.service 2>/dev/null || true
elif [ -n "$pid" ]; then kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; fi
