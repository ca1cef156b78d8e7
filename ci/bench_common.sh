# ci/bench_common.sh: the set-up the live benchmarks share (sourced by ci/bench-live.sh and ci/bench-events.sh;
# with BENCH_NAME and BUILD set): builds what they run, starts nats-server -js, CongoDB and
# `the0-sim serve --access-log` (each line ends with at=NS: the wall-clock time the request had arrived) on free
# 127.0.0.1 ports, and defines
#   creates                    pod creates serve answered 201 so far
#   create_times [FROM [TO]]   the arrival times (ns) of those creates, FROM-th to TO-th (1-based; default all)
#   wait_creates N SECONDS     until N creates were seen (polling every BENCH_POLL s, default 0.01)
#   start_ctl [FLAGS...]       a controller (identity bench, --log-level warn) until /readyz (BENCH_READY_S, default
#                              30); HP: its health port
#   stop_ctl                   SIGTERM and wait
#   delete_pods PREFIX N       pods bot-PREFIX1 .. bot-PREFIXN deleted with grace 0 (404 is fine)
# Every process is stopped on exit; BENCH_KEEP=1 keeps the run's directory as /tmp/<name>-kept.
make --no-print-directory BUILD="$BUILD" "$BUILD/the0-sim" "$BUILD/the0-runtime" "$BUILD/e2e/publish" >&2
SIM="$BUILD/the0-sim" RUNTIME="$BUILD/the0-runtime" PUBLISH="$BUILD/e2e/publish"
source ci/servers.sh
servers_install >&2
DIR=$(mktemp -d "/tmp/the0-$BENCH_NAME-XXXXXX")
CTL_PID=""
bench_cleanup() {
    local rc=$?
    [ -n "$CTL_PID" ] && { kill "$CTL_PID" 2>/dev/null || true; wait "$CTL_PID" 2>/dev/null || true; }
    servers_stop
    if [ $rc -ne 0 ]; then
        for f in "$DIR"/*.log; do [ -f "$f" ] && { echo "---- $f (tail)"; tail -15 "$f"; }; done
    fi
    [ -n "${BENCH_KEEP:-}" ] && cp -r "$DIR" "/tmp/$BENCH_NAME-kept"
    rm -rf "$DIR"
    exit $rc
}
trap bench_cleanup EXIT

NATS_PORT=$(servers_free_port)
servers_start_nats "$NATS_PORT" "$DIR/js" "$DIR/nats-server.log" >&2
MONGO_PORT=$(servers_free_port)
servers_start_congo "$MONGO_PORT" "$DIR/congodb.log" >&2
KPORT=$(servers_free_port)
servers_start_serve "$SIM" "$KPORT" "$DIR/serve.log" --nodes 3 --access-log
servers_kubeconfig "$DIR/kubeconfig" "$KPORT"
creates() { grep -c 'POST /api/v1/namespaces/the0/pods -> 201' "$DIR/serve.log" || true; }
create_times() {
    grep 'POST /api/v1/namespaces/the0/pods -> 201' "$DIR/serve.log" | sed -n "${1:-1},${2:-\$}p" | sed 's/.* at=//'
}
wait_creates() { # N SECONDS
    local end=$((SECONDS + $2))
    while [ "$(creates)" -lt "$1" ]; do
        [ $SECONDS -lt $end ] || { echo "$BENCH_NAME: $1 pod creates not seen within $2 s (saw $(creates))" >&2; return 1; }
        sleep "${BENCH_POLL:-0.01}"
    done
}
start_ctl() {
    HP=$(servers_free_port)
    "$RUNTIME" controller --kubeconfig "$DIR/kubeconfig" --namespace the0 --identity bench \
        --mongo-uri "mongodb://127.0.0.1:$MONGO_PORT/?serverSelectionTimeoutMS=5000" --nats-url "nats://127.0.0.1:$NATS_PORT" \
        --health-addr "127.0.0.1:$HP" --log-level warn "$@" >>"$DIR/ctl.log" 2>&1 &
    CTL_PID=$!
    servers_wait_port "$HP" "$CTL_PID" controller "$DIR/ctl.log"
    local end=$((SECONDS + ${BENCH_READY_S:-30}))
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HP/readyz")" == 200 ]; do
        [ $SECONDS -lt $end ] || { echo "$BENCH_NAME: controller not ready in ${BENCH_READY_S:-30} s" >&2; return 1; }
        sleep 0.05
    done
}
stop_ctl() { kill -TERM "$CTL_PID"; wait "$CTL_PID" 2>/dev/null || true; CTL_PID=""; }
delete_pods() { python3 ci/raw_pods.py delete "$KPORT" "$1" "$2" "$BENCH_NAME"; } # PREFIX N
