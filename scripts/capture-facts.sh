#!/bin/sh
# Captures the raw output of kvmnet's facts command from a lab host, for parser unit tests.
# usage: scripts/capture-facts.sh LAB_DIR HOST_ADDRESS NAME
set -eu
dir=$1 addr=$2 name=$3
out=test/fixtures/facts
script=$(node -e "import('./dist/run/host-facts.js').then(m => process.stdout.write(m.HOST_FACTS_SCRIPT))")
set +e
ssh -i "$dir/id_ed25519" -o UserKnownHostsFile="$dir/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes \
  "root@$addr" "$script" > "$out/$name.stdout" 2> "$out/$name.stderr"
echo $? > "$out/$name.exit"
