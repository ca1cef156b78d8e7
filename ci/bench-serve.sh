#!/usr/bin/env bash
# ci/bench-serve.sh: `the0-sim serve` holding BENCH_SERVE_PODS pods (default 100,000: KWOK's anchor for one
# machine), each the pod the controller makes for a bot (`the0-runtime render`, renamed), on 1,000 nodes:
#   - serve's raw create rate: curl POSTing RAW (2,000) such pods one after another on one keep-alive
#     connection (median of 3 runs), with the namespace empty and again once it holds every pod (it should
#     not fall);
#   - the fill rate (two python clients at once) and serve's resident memory per pod held;
#   - list, watch and kubectl with every pod held: a full list (python, bytes and seconds), `kubectl get pods`
#     (its row count must be the pod count), a label-selected list of one pod, and `kubectl get pods
#     --watch-only` seeing a pod created after the fill. A count or event that is wrong fails the script;
#     the times are figures only.
# Usage: ci/bench-serve.sh [BUILD_DIR]. serve is stopped on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD="${1:-build}"
N="${BENCH_SERVE_PODS:-100000}"
RAW=2000
make --no-print-directory BUILD="$BUILD" "$BUILD/the0-sim" "$BUILD/the0-runtime" "$BUILD/e2e/publish" >&2
source ci/servers.sh
DIR=$(mktemp -d /tmp/the0-bench-serve-XXXXXX)
WATCH_PID=""
cleanup() {
    local rc=$?
    [ -n "$WATCH_PID" ] && { kill "$WATCH_PID" 2>/dev/null || true; wait "$WATCH_PID" 2>/dev/null || true; }
    servers_stop
    [ $rc -ne 0 ] && [ -f "$DIR/serve.log" ] && { echo "---- serve.log (tail)"; tail -15 "$DIR/serve.log"; }
    rm -rf "$DIR"
    exit $rc
}
trap cleanup EXIT
PORT=$(servers_free_port)
servers_start_serve "$BUILD/the0-sim" "$PORT" "$DIR/serve.log" --nodes 1000
SERVE_PID=${SERVER_PIDS[-1]}
servers_kubeconfig "$DIR/kubeconfig" "$PORT"
KC=(kubectl --kubeconfig "$DIR/kubeconfig" --namespace the0 --request-timeout 600s)
"$BUILD/e2e/publish" --print-document bot created pod >"$DIR/doc"
"$BUILD/the0-runtime" render pod "$DIR/doc" --namespace the0 >"$DIR/pod.json"
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVE_PID/status"; }

# raw_rate PREFIX: creates/s of RAW pods named bot-PREFIX1..RAW (curl, one connection), then deleted
raw_rate() {
    python3 ci/raw_pods.py curl-config "$DIR/pod.json" "$PORT" "$1" "$RAW" >"$DIR/raw.cfg"
    local t0 t1 codes
    t0=$(date +%s%N)
    codes=$(curl -s -K "$DIR/raw.cfg" | sort | uniq -c | tr -s ' ')
    t1=$(date +%s%N)
    [ "$codes" == " $RAW 201" ] || { echo "bench-serve: raw creates answered $codes" >&2; return 1; }
    python3 ci/raw_pods.py delete "$PORT" "$1" "$RAW" bench-serve
    echo "$RAW $t0 $t1" | awk '{ printf "%.0f", $1 / (($3 - $2) / 1e9) }'
}

# raw_median PREFIX: the median of three raw_rate runs
raw_median() { for k in 1 2 3; do raw_rate "$1$k"x; echo; done | sort -n | sed -n 2p; }
RAW_EMPTY=$(raw_median rawa)
RSS0=$(rss_kib)
# fill: two clients, each half of the pods (fill-<client>-<i>), on one connection each
t0=$(date +%s%N)
fillers=()
for c in 0 1; do
    python3 - "$DIR/pod.json" "$PORT" "$N" "$c" <<'PY' &
import http.client, json, sys
pod, port, n, c = json.load(open(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
conn = http.client.HTTPConnection("127.0.0.1", port)
for i in range(c, n, 2):
    pod["metadata"]["name"] = "bot-fill%d" % i
    pod["metadata"]["labels"]["the0.dev/bot-id"] = "fill%d" % i
    conn.request("POST", "/api/v1/namespaces/the0/pods", json.dumps(pod), {"Content-Type": "application/json"})
    r = conn.getresponse(); r.read()
    if r.status != 201: raise SystemExit("bench-serve: POST bot-fill%d -> %d" % (i, r.status))
PY
    fillers+=($!)
done
for p in "${fillers[@]}"; do wait "$p"; done
t1=$(date +%s%N)
FILL_S=$(echo "$t0 $t1" | awk '{ printf "%.1f", ($2 - $1) / 1e9 }')
sleep 2 # the kubelet binds and starts what was created last
RSS1=$(rss_kib)
RAW_FULL=$(raw_median rawb)

# list, kubectl, selector, watch with every pod held
read -r LIST_B LIST_S LIST_N <<<"$(python3 - "$PORT" <<'PY'
import http.client, json, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=600)
t0 = time.perf_counter()
c.request("GET", "/api/v1/namespaces/the0/pods")
r = c.getresponse(); body = r.read()
t1 = time.perf_counter()
print(len(body), "%.2f" % (t1 - t0), len(json.loads(body)["items"]))
PY
)"
t0=$(date +%s%N)
KUBECTL_N=$("${KC[@]}" get pods --no-headers | wc -l)
t1=$(date +%s%N)
KUBECTL_S=$(echo "$t0 $t1" | awk '{ printf "%.1f", ($2 - $1) / 1e9 }')
t0=$(date +%s%N)
SEL_N=$("${KC[@]}" get pods -l the0.dev/bot-id=fill7 --no-headers | wc -l)
t1=$(date +%s%N)
SEL_S=$(echo "$t0 $t1" | awk '{ printf "%.2f", ($2 - $1) / 1e9 }')
"${KC[@]}" get pods --watch-only --output-watch-events --no-headers >"$DIR/watch.out" 2>&1 &
WATCH_PID=$!
# kubectl lists before it watches, and a pod created before its watch starts is not an event: a new pod every
# 5 s until one is seen (60 s at most)
WATCHED=no
for k in $(seq 1 12); do
    python3 - "$DIR/pod.json" "$PORT" "$k" <<'PY'
import http.client, json, sys
pod, port, k = json.load(open(sys.argv[1])), int(sys.argv[2]), sys.argv[3]
pod["metadata"]["name"] = "bot-watched" + k
pod["metadata"]["labels"]["the0.dev/bot-id"] = "watched" + k
c = http.client.HTTPConnection("127.0.0.1", port)
c.request("POST", "/api/v1/namespaces/the0/pods", json.dumps(pod), {"Content-Type": "application/json"})
r = c.getresponse(); r.read()
if r.status != 201: raise SystemExit("bench-serve: POST bot-watched%s -> %d" % (k, r.status))
PY
    for _ in $(seq 1 50); do
        grep -q 'ADDED *bot-watched' "$DIR/watch.out" && { WATCHED=yes; break 2; }
        sleep 0.1
    done
done

python3 - "$N" "$RAW" "$RAW_EMPTY" "$RAW_FULL" "$FILL_S" "$RSS0" "$RSS1" "$LIST_B" "$LIST_S" "$LIST_N" "$KUBECTL_N" \
    "$KUBECTL_S" "$SEL_N" "$SEL_S" "$WATCHED" <<'PY'
import sys
a = sys.argv[1:]
n, raw, raw_empty, raw_full, fill_s = int(a[0]), int(a[1]), float(a[2]), float(a[3]), float(a[4])
rss0, rss1, list_b, list_s, list_n = int(a[5]), int(a[6]), int(a[7]), float(a[8]), int(a[9])
kubectl_n, kubectl_s, sel_n, sel_s, watched = int(a[10]), float(a[11]), int(a[12]), float(a[13]), a[14]
print("serve: %d pods (the controller's pod for a bot, renamed) on 1,000 nodes, one run:" % n)
print("  raw create rate (curl, one keep-alive connection, %d POSTs, median of 3): %.0f/s with the namespace empty, "
      "%.0f/s holding %d pods (%.2fx)" % (raw, raw_empty, raw_full, n, raw_full / raw_empty))
print("  filled by two python clients in %.1f s (%.0f creates/s); resident memory %.0f MiB, %.1f KiB per pod held"
      % (fill_s, n / fill_s, rss1 / 1024, (rss1 - rss0) / n))
print("  full list: %d items, %.1f MB in %.2f s; kubectl get pods: %d rows in %.1f s; kubectl get pods -l (one pod): "
      "%d row in %.2f s; kubectl get pods --watch-only saw a pod created after the fill: %s"
      % (list_n, list_b / 1e6, list_s, kubectl_n, kubectl_s, sel_n, sel_s, watched))
ok = list_n == n and kubectl_n == n and sel_n == 1 and watched == "yes"
print("  [target: serve holds %d pods with list, watch and kubectl working: %s]" % (n, "met" if ok else "NOT met"))
sys.exit(0 if ok else 1)
PY
