#!/bin/sh
# A fleet-wide canary, then the fleet: shard 1 of 4 alone (canary-job.yaml); if it succeeds, all 4
# shards at once (indexed-job.yaml; shard 1 runs again and finds nothing to change); then the
# shards' JSON Lines merged into one result, whose exit code is this script's.
# Needs kubectl (a context with the namespace to use) and kvmnet (npx kvmnet, or the image).
set -eu
here=$(dirname "$0")
n=4   # = completions of indexed-job.yaml
out=${OUT:-./kvmnet-results}
mkdir -p "$out"

# Waits for job $1 to succeed or fail; returns 0 on success.
wait_job() {
  while :; do
    ok=$(kubectl get job "$1" -o jsonpath='{.status.succeeded}')
    bad=$(kubectl get job "$1" -o jsonpath='{.status.failed}')
    [ "${ok:-0}" -ge "$2" ] && return 0
    # An Indexed Job with backoffLimit 0 ends at its first failed index; the others finish first.
    cond=$(kubectl get job "$1" -o jsonpath='{.status.conditions[?(@.type=="Failed")].status}')
    [ "$cond" = True ] && return 1
    [ "${bad:-0}" -gt 0 ] && [ "$2" -eq 1 ] && return 1
    sleep 5
  done
}

# The stdout of a pod is its JSON Lines; stderr (warnings, "shard 2/4 …") shares the log: keep the JSON.
json_of() { kubectl logs "$1" --tail=-1 | grep '^{' || true; }

kubectl apply -f "$here/inputs.yaml"
kubectl delete job kvmnet-canary kvmnet-fleet --ignore-not-found
kubectl apply -f "$here/canary-job.yaml"
if ! wait_job kvmnet-canary 1; then
  echo "canary failed: the fleet is not touched; its result:" >&2
  json_of job/kvmnet-canary > "$out/canary.jsonl"
  npx kvmnet merge "$out/canary.jsonl" >&2 || true
  exit 1
fi

kubectl apply -f "$here/indexed-job.yaml"
wait_job kvmnet-fleet "$n" || echo "some shards failed: merging what ran" >&2
i=0
files=
while [ "$i" -lt "$n" ]; do
  pod=$(kubectl get pods -l "batch.kubernetes.io/job-name=kvmnet-fleet,batch.kubernetes.io/job-completion-index=$i" -o jsonpath='{.items[-1:].metadata.name}')
  # A shard whose pod never ran has no file: merge names its hosts.
  if [ -n "$pod" ]; then json_of "pod/$pod" > "$out/shard-$i.jsonl"; files="$files $out/shard-$i.jsonl"; fi
  i=$((i + 1))
done
# shellcheck disable=SC2086
exec npx kvmnet merge $files -o "$out/merged.jsonl" --report "$out/report.html"
