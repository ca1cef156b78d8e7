#!/usr/bin/env bash
# ci/adapters-integration.sh: the adapters integration stage: install (pinned) and start nats-server -js and
# CongoDB (MongoDB wire protocol) on free 127.0.0.1 ports, run the Criterion integration tests of
# mongo_store and nats_bus, smoke-test `the0-runtime controller` start-up/health/metrics/SIGTERM against
# them, and stop the servers even when something fails.
#
#   ci/adapters-integration.sh ITEST_BINARY RUNTIME_BINARY [criterion flags...]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ITEST="$1"
RUNTIME="$2"
shift 2

die() { echo "adapters-integration: $*" >&2; exit 1; }

# the install recipe and the port helpers are shared with the e2e stage (ci/servers.sh)
source "$HERE/servers.sh"
install() { servers_install || die "installing nats-server and CongoDB failed"; }
free_port() { servers_free_port; }
wait_port() { servers_wait_port "$1" "$2" "$3" "$DIR/$3.log" || exit 1; } # wait_port PORT PID NAME

DIR=$(mktemp -d /tmp/the0-adapters-it-XXXXXX)
PIDS=()
cleanup() {
    local rc=$?
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ $rc -ne 0 ]; then
        for f in "$DIR"/*.log; do [ -f "$f" ] && { echo "---- $f (tail)"; tail -20 "$f"; }; done
    fi
    rm -rf "$DIR"
    exit $rc
}
trap cleanup EXIT

install
NATS_PORT=$(free_port)
nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$DIR/js" >"$DIR/nats-server.log" 2>&1 &
PIDS+=($!)
wait_port "$NATS_PORT" "${PIDS[-1]}" nats-server
MONGO_PORT=$(free_port)
node "$SERVERS_CONGO/start.mjs" "$MONGO_PORT" >"$DIR/congodb.log" 2>&1 &
PIDS+=($!)
wait_port "$MONGO_PORT" "${PIDS[-1]}" congodb
export T0_NATS_URL="nats://127.0.0.1:$NATS_PORT"
export T0_MONGO_URI="mongodb://127.0.0.1:$MONGO_PORT/?serverSelectionTimeoutMS=5000"
echo "== $ITEST (nats-server $T0_NATS_URL, CongoDB $T0_MONGO_URI)"
"$ITEST" "$@"

# Smoke test of the controller process: no API server here (the0-sim serve comes later), so the kubeconfig
# points at a closed port: the process must start, serve /healthz (200), /readyz (503: not leader, not
# ready) and /metrics, and exit 0 on SIGTERM; an unreachable MongoDB must make it exit 1.
echo "== the0-runtime controller smoke test"
DEAD=$(free_port)
cat >"$DIR/kubeconfig" <<KC
apiVersion: v1
kind: Config
current-context: c
clusters: [{name: k, cluster: {server: "http://127.0.0.1:$DEAD"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: k, user: u, namespace: the0}}]
KC
HP=$(free_port)
"$RUNTIME" controller --kubeconfig "$DIR/kubeconfig" --mongo-uri "$T0_MONGO_URI" --nats-url "$T0_NATS_URL" \
    --health-addr "127.0.0.1:$HP" --identity smoke --log-level info >"$DIR/controller.log" 2>&1 &
CPID=$!
PIDS+=($CPID)
wait_port "$HP" "$CPID" controller
sleep 1.5
h=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HP/healthz")
r=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HP/readyz")
m=$(curl -s "http://127.0.0.1:$HP/metrics")
[ "$h" = 200 ] || die "/healthz answered $h, want 200"
[ "$r" = 503 ] || die "/readyz answered $r, want 503 (no API server, so never ready)"
grep -q '^the0_controller_ready 0$' <<<"$m" || die "/metrics lacks 'the0_controller_ready 0'"
grep -q '^the0_kube_api_errors_total{verb="get"} [1-9]' <<<"$m" || die "/metrics shows no failed lease get"
grep -q '^the0_nats_connected 1$' <<<"$m" || die "/metrics: NATS not connected"
kill -TERM "$CPID"
set +e
wait "$CPID"
crc=$?
set -e
[ "$crc" = 0 ] || die "controller exited $crc after SIGTERM, want 0"
grep -q 'msg="received signal: not ready, releasing the lease, stopping" signal=15' "$DIR/controller.log" || die "no shutdown log line"
echo "   healthz=$h readyz=$r metrics ok, SIGTERM exit $crc"
set +e
"$RUNTIME" controller --kubeconfig "$DIR/kubeconfig" --mongo-uri "mongodb://127.0.0.1:$DEAD/?serverSelectionTimeoutMS=500" \
    --health-addr "127.0.0.1:0" >"$DIR/controller-nomongo.log" 2>&1
crc=$?
set -e
[ "$crc" = 1 ] || die "controller without MongoDB exited $crc, want 1"
# the error names its cause (it was empty: the ping's message was formatted from itself)
grep -qE 'msg="failed to connect to MongoDB" error="mongo ping: [^"]+' "$DIR/controller-nomongo.log" ||
    die "no MongoDB error message with a cause: $(grep MongoDB "$DIR/controller-nomongo.log")"
echo "   unreachable MongoDB: exit $crc"
echo "adapters-integration: passed"
