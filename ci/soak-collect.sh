#!/usr/bin/env bash
# soak-collect.sh: merge the JSON report lines of sharded soak runs (`the0-sim soak --json`, one per pod of
# deploy/soak/job.yaml) into one campaign report. Reads logs on stdin or from the Job:
#   kubectl logs -l job-name=the0-soak --tail=-1 --prefix=false | ci/soak-collect.sh
#   ci/soak-collect.sh --job the0-soak [-n NAMESPACE]
set -euo pipefail
if [ "${1:-}" = "--job" ]; then
  job=$2; shift 2
  exec < <(kubectl logs -l "job-name=$job" --tail=-1 --max-log-requests=100 "$@")
fi
# keep only the report lines; OR the row bitmaps ('1' wins over '0'), sum the rest
grep -E '^\{"first_seed":' | jq -s '
  def orrows: (map(split("")) | transpose | map(if any(.[]; . == "1") then "1" elif any(.[]; . == "0") then "0" else "-" end) | join(""));
  def covered(r): {fired: (r | split("") | map(select(. == "1")) | length), total: (r | split("") | map(select(. != "-")) | length)};
  if length == 0 then error("soak-collect: no report lines (the0-sim soak --json) in the input") else . end |
  (map(.bot_rows) | orrows) as $b | (map(.schedule_rows) | orrows) as $s |
  {shards: length, seeds: (map(.seeds) | add), failed: (map(.failed) | add),
   failed_seeds: (map(.failed_seeds[]) | sort), sim_hours: (map(.sim_hours) | add),
   faults: (map(.faults | to_entries[]) | group_by(.key) | map({key: .[0].key, value: (map(.value) | add)}) | from_entries),
   fault_hits: (map(.fault_hits | to_entries[]) | group_by(.key) | map({key: .[0].key, value: (map(.value) | add)}) | from_entries),
   bot_rows: covered($b), schedule_rows: covered($s),
   max_shard_wall_s: (map(.wall_s) | max)}'
