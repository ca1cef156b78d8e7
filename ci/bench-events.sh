#!/usr/bin/env bash
# ci/bench-events.sh: do Events delay creates? N stored bots without pods (default 1,000; BENCH_EVENTS_BOTS=10000
# for the issue's full figure, about 20 minutes), `the0-runtime controller --kube-qps 20 --kube-burst 30` started
# against `the0-sim serve --access-log`, nats-server -js and CongoDB: the time from the controller's start to
# its Nth pod create (serve's access log), once with Events (their own writer, queue and --event-qps budget)
# and once with --events=false. The creates alone need (N - 30) / 20 s after the burst; the target is that
# both runs take at most 1.05 x N / 20 s (issue 16: 10,000 bots in <= 1.05 x 500 s). Figures, never pass/fail.
# Usage: ci/bench-events.sh [BUILD_DIR] (default build). Every server is stopped on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${1:-build}"
N="${BENCH_EVENTS_BOTS:-1000}"
QPS=20 BURST=30
BENCH_NAME=bench-events BENCH_POLL=0.5
source ci/bench_common.sh

# ---- the bots: published once (a controller without limits stores them and creates their pods), then their
# pods are deleted: each measured run starts with N stored bots and no pod
start_ctl --kube-qps 0 --events=false
"$PUBLISH" --url "nats://127.0.0.1:$NATS_PORT" bot created $(seq -f 'ev%g' 1 "$N") >/dev/null
wait_creates "$N" $((N / 5 + 120))
stop_ctl
delete_pods ev "$N"

# run EVENTS_FLAG: the seconds from the controller's start to its Nth create, and the Events it wrote
run() {
    local base t0 last written dropped
    base=$(creates)
    t0=$(date +%s%N)
    # ready after its first full reconcile: N creates at QPS
    BENCH_READY_S=$((N / QPS * 3 + 120)) start_ctl --kube-qps "$QPS" --kube-burst "$BURST" "$@"
    wait_creates $((base + N)) $((N / QPS * 3 + 120))
    last=$(create_times $((base + N)) $((base + N)))
    local m
    m=$(curl -s "http://127.0.0.1:$HP/metrics")
    written=$(awk '$1 == "the0_events_written_total" { print $2 }' <<<"$m")
    dropped=$(awk '$1 == "the0_events_dropped_total" { print $2 }' <<<"$m")
    stop_ctl
    delete_pods ev "$N"
    echo "$(((last - t0) / 1000000)) ${written:-0} ${dropped:-0}"
}
read -r ON_MS ON_WRITTEN ON_DROPPED <<<"$(run --events=true)"
read -r OFF_MS _ _ <<<"$(run --events=false)"
python3 - "$N" "$QPS" "$BURST" "$ON_MS" "$OFF_MS" "$ON_WRITTEN" "$ON_DROPPED" <<'PY'
import sys
n, qps, burst = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
on, off, written, dropped = int(sys.argv[4]) / 1000, int(sys.argv[5]) / 1000, sys.argv[6], sys.argv[7]
ideal, target = (n - burst) / qps, 1.05 * n / qps
print("events: %d new bots, --kube-qps %g --kube-burst %d, controller start -> %dth pod create (one run each):" % (n, qps, burst, n))
print("  with Events:    %7.1f s (%s Events written, %s dropped by the full queue; Events budget --event-qps 20 --event-burst 30)" % (on, written, dropped))
print("  without Events: %7.1f s" % off)
print("  creates alone need %.1f s after the burst; target <= 1.05 x %d / %g = %.1f s: with Events %.3f x, without %.3f x of %d/%g s%s"
      % (ideal, n, qps, target, on / (n / qps), off / (n / qps), n, qps,
         "" if n >= 10000 else " (scaled run; BENCH_EVENTS_BOTS=10000 for the issue's figure)"))
PY
