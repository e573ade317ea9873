i=0; while [ ! -s @@DIR@@/change.rc ] && [ $i -lt 120 ]; do sleep 0.25; i=$((i+1)); done
cat @@DIR@@/change.rc 2>/dev/null || echo none
cat @@DIR@@/change.log 2>/dev/null
