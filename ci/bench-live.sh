#!/usr/bin/env bash
# ci/bench-live.sh: live figures against real processes on 127.0.0.1 (nats-server -js, CongoDB, `the0-sim serve
# --access-log`, `the0-runtime controller`): NATS event -> pod create request latency (median, p99 over
# BENCH_LIVE_EVENTS single events, default 50) and pod creates/s by the controller (500 stored bots without
# pods at its start, --kube-qps 0) against the raw create rate the same server answers (one keep-alive client, 500 POSTs).
# Usage: ci/bench-live.sh [BUILD_DIR] (default build). Every server is stopped on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${1:-build}"
EVENTS="${BENCH_LIVE_EVENTS:-50}"
BURST=500
BENCH_NAME=bench-live
source ci/bench_common.sh
pub() { "$PUBLISH" --url "nats://127.0.0.1:$NATS_PORT" "$@" >/dev/null; }

# ---- 1. raw create rate: one keep-alive client, BURST pod POSTs, then as many DELETEs (grace 0) ---------
python3 - "$KPORT" "$BURST" >"$DIR/raw" <<'PY'
import http.client, json, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
def req(m, path, body=None):
    c.request(m, path, body=json.dumps(body) if body is not None else None, headers={"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    if r.status >= 300: raise SystemExit("bench-live: %s %s -> %d" % (m, path, r.status))
pods = "/api/v1/namespaces/the0/pods"
t0 = time.perf_counter()
for i in range(n):
    req("POST", pods, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "raw-%d" % i, "labels": {"bench": "raw"}},
                       "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
t1 = time.perf_counter()
for i in range(n):
    req("DELETE", pods + "/raw-%d?gracePeriodSeconds=0" % i)
t2 = time.perf_counter()
print(n / (t1 - t0), 2 * n / (t2 - t0))
PY
read -r RAW_CREATE RAW_MIXED <"$DIR/raw"
base=$(creates)

# ---- 2. latency: single events, spaced out -------------------------------------------------------------
start_ctl --kube-qps 0
: >"$DIR/pub.times"
for i in $(seq 1 "$EVENTS"); do
    t0=$(date +%s%N)
    pub bot created "lat$i"
    t1=$(date +%s%N)
    echo "$t0 $t1" >>"$DIR/pub.times"
    wait_creates $((base + i)) 20
    sleep 0.1
done
base=$(creates)

# ---- 3. controller create rate: BURST bots in MongoDB and no pod, the controller starts -----------------
# The bots are published (the controller stores them and creates their pods), then the controller stops
# and their pods are deleted: at its start, the first full resync finds BURST bots without a pod and
# creates them from the documents it read in one find (per-bot MongoDB round trips would measure CongoDB).
pub bot created $(seq -f 'burst%g' 1 "$BURST")
wait_creates $((base + BURST)) 120
stop_ctl
python3 - "$KPORT" "$BURST" <<'PY'
import http.client, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
for i in range(1, n + 1):
    c.request("DELETE", "/api/v1/namespaces/the0/pods/bot-burst%d?gracePeriodSeconds=0" % i)
    r = c.getresponse(); r.read()
    if r.status >= 300: raise SystemExit("bench-live: DELETE bot-burst%d -> %d" % (i, r.status))
PY
base=$(creates)
start_ctl --kube-qps 0
wait_creates $((base + BURST)) 120
stop_ctl

python3 - "$DIR/serve.log" "$DIR/pub.times" "$EVENTS" "$BURST" "$RAW_CREATE" "$RAW_MIXED" <<'PY'
import sys
log, times, events, burst = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
raw_create, raw_mixed = float(sys.argv[5]), float(sys.argv[6])
posts = [int(l.split()[0]) for l in open(log) if "POST /api/v1/namespaces/the0/pods -> 201" in l]
posts = posts[burst:]  # the raw client's creates come first
pubs = [tuple(map(int, l.split())) for l in open(times)]
lat_start = sorted((p - s) / 1e6 for (s, _), p in zip(pubs, posts[:events]))
lat_ack = sorted((p - a) / 1e6 for (_, a), p in zip(pubs, posts[:events]))
tool = sorted((a - s) / 1e6 for s, a in pubs)
def q(v, f): return v[min(len(v) - 1, int(round(f * (len(v) - 1))))]
print("live: NATS event -> pod create request (serve's access log), %d single events:" % events)
print("  from the publish ack:      median %6.1f ms, p99 %6.1f ms (target p99 <= 50 ms)" % (q(lat_ack, .5), q(lat_ack, .99)))
print("  from the publish start:    median %6.1f ms, p99 %6.1f ms (includes the publish tool's start, NATS connect"
      " and JetStream ack: median %.1f ms)" % (q(lat_start, .5), q(lat_start, .99), q(tool, .5)))
b = posts[events + burst:events + 2 * burst]  # after the latency events and the published burst
ctl_rate = (len(b) - 1) / ((b[-1] - b[0]) / 1e9) if len(b) > 1 and b[-1] > b[0] else 0.0
print("live: pod creates/s against the0-sim serve: controller %.0f/s (%d stored bots without pods at its start, --kube-qps 0, first to last"
      " create) vs raw %.0f creates/s (one keep-alive client, %d POSTs; create+delete mix %.0f requests/s): ratio %.0f %%"
      " (target >= 50 %%); one run each" % (ctl_rate, burst, raw_create, burst, raw_mixed, 100 * ctl_rate / raw_create))
PY
