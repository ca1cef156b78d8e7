#!/usr/bin/env bash
# ci/bench-live.sh: live figures against real processes on 127.0.0.1 (nats-server -js, CongoDB, `the0-sim serve
# --access-log`, `the0-runtime controller`):
#   1. NATS publish ack (the publish tool's --ack-times) -> pod create request arrival (serve's access log's at=):
#      median, p99 over BENCH_LIVE_EVENTS single events (default 100); target p99 <= 10 ms;
#   2. pod creates/s by the controller (BURST stored bots without pods at its start, --kube-qps 0, first to last
#      create) against serve's raw create rate (curl, one keep-alive connection, BURST POSTs of the same pod), in
#      BENCH_LIVE_ROUNDS interleaved rounds (default 7): the machine is shared, so each round's ratio is taken under
#      the same load and the median ratio is the figure; target >= 80 %.
# Usage: ci/bench-live.sh [BUILD_DIR] (default build). Every server is stopped on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${1:-build}"
EVENTS="${BENCH_LIVE_EVENTS:-100}"
ROUNDS="${BENCH_LIVE_ROUNDS:-7}"
BURST=500
BENCH_NAME=bench-live
source ci/bench_common.sh
pub() { "$PUBLISH" --url "nats://127.0.0.1:$NATS_PORT" "$@" >/dev/null; }

# The raw rate: BURST copies of the pod the controller makes for a bot (`the0-runtime render`, renamed), POSTed by
# curl one after another on one keep-alive connection; like the controller's, first to last create as serve's
# access log stamps their arrival, so both figures count the same server work per create.
"$PUBLISH" --print-document bot created rawpod >"$DIR/raw.doc"
"$RUNTIME" render pod "$DIR/raw.doc" --namespace the0 >"$DIR/raw.pod"
for r in $(seq 1 "$ROUNDS"); do python3 ci/raw_pods.py curl-config "$DIR/raw.pod" "$KPORT" "raw${r}x" "$BURST" >"$DIR/raw.$r.cfg"; done
rate() { awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.1f", (NR - 1) / ((b - a) / 1e9) }'; }
raw_round() { # R: the raw creates/s of round R; its pods are deleted after
    local base codes
    base=$(creates)
    codes=$(curl -s -K "$DIR/raw.$1.cfg" | sort | uniq -c | tr -s ' ')
    [ "$codes" == " $BURST 201" ] || { echo "bench-live: raw creates answered $codes" >&2; return 1; }
    create_times $((base + 1)) $((base + BURST)) | rate
    delete_pods "raw$1x" "$BURST"
}

# ---- 1. latency: single events, spaced out -------------------------------------------------------------
base=$(creates)
start_ctl --kube-qps 0
: >"$DIR/pub.times"
for i in $(seq 1 "$EVENTS"); do
    t0=$(date +%s%N)
    ack=$("$PUBLISH" --url "nats://127.0.0.1:$NATS_PORT" --ack-times bot created "lat$i" | cut -d' ' -f2)
    echo "$t0 $ack" >>"$DIR/pub.times"
    wait_creates $((base + i)) 20
    sleep 0.05
done
create_times 1 "$EVENTS" >"$DIR/lat.posts"

# ---- 2. the burst's bots: published once (stored), their pods created, then deleted before each round ----
base=$(creates)
pub bot created $(seq -f 'burst%g' 1 "$BURST")
wait_creates $((base + BURST)) 120
stop_ctl
: >"$DIR/rounds"
for r in $(seq 1 "$ROUNDS"); do
    delete_pods burst "$BURST"
    raw_create=$(raw_round "$r")
    base=$(creates)
    start_ctl --kube-qps 0
    wait_creates $((base + BURST)) 120
    stop_ctl
    ctl=$(create_times $((base + 1)) $((base + BURST)) | rate)
    echo "$raw_create $ctl $(cut -d' ' -f1 /proc/loadavg)" >>"$DIR/rounds"
done

python3 - "$DIR/lat.posts" "$DIR/pub.times" "$EVENTS" "$BURST" "$DIR/rounds" <<'PY'
import statistics, sys
posts_f, times_f, events, burst, rounds_f = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
posts = [int(l) for l in open(posts_f)]
pubs = [tuple(map(int, l.split())) for l in open(times_f)]
lat_start = sorted((p - s) / 1e6 for (s, _), p in zip(pubs, posts))
lat_ack = sorted((p - a) / 1e6 for (_, a), p in zip(pubs, posts))
tool = sorted((a - s) / 1e6 for s, a in pubs)
def q(v, f): return v[min(len(v) - 1, int(round(f * (len(v) - 1))))]
p99 = q(lat_ack, .99)
print("live: NATS event -> pod create request (serve's access log), %d single events:" % events)
print("  from the publish ack:      median %6.1f ms, p99 %6.1f ms, max %6.1f ms [target p99 <= 10 ms: %.2fx the target, %s]"
      % (q(lat_ack, .5), p99, lat_ack[-1], p99 / 10, "met" if p99 <= 10 else "not met"))
print("  from the publish start:    median %6.1f ms, p99 %6.1f ms (includes the publish tool's start, NATS connect"
      " and JetStream ack: median %.1f ms to the ack)" % (q(lat_start, .5), q(lat_start, .99), q(tool, .5)))
rows = [list(map(float, l.split())) for l in open(rounds_f) if l.strip()]
raw = [r[0] for r in rows]; ctl = [r[1] for r in rows]; ratio = [100 * r[1] / r[0] for r in rows]
med = statistics.median(ratio)
print("live: pod creates/s against the0-sim serve, %d interleaved rounds (median, range):" % len(rows))
print("  serve's raw create rate (curl, one keep-alive connection, %d POSTs of the controller's pod): %.0f/s (%.0f-%.0f)"
      % (burst, statistics.median(raw), min(raw), max(raw)))
print("  the controller (%d stored bots without pods at its start, --kube-qps 0, first to last create): %.0f/s (%.0f-%.0f)"
      % (burst, statistics.median(ctl), min(ctl), max(ctl)))
print("  ratio per round: median %.0f %% (%s) [target >= 80 %%: %.2fx the target, %s]; load average %s"
      % (med, " ".join("%.0f" % x for x in ratio), med / 80, "met" if med >= 80 else "not met",
         "-".join("%.1f" % x for x in (min(r[2] for r in rows), max(r[2] for r in rows)))))
PY
