#!/usr/bin/env bash
# e2e/ops.sh: what a platform team checks on day one, against the production binary as a process with real
# servers (nats-server -js, CongoDB, `the0-sim serve`), observed through curl, kubectl and promtool:
#   1. probes: two replicas: the leader and the standby are both Ready (/readyz), /livez and /healthz answer,
#      leader_election_master_status says who leads; a control loop that is stuck fails /livez;
#   2. Events: on Pods and CronJobs, naming the object with its uid, so `kubectl describe` of a replaced pod
#      shows its own Events only; repeats are counted on one Event (count 2);
#   3. metrics: `promtool check metrics` passes; the standard families are there; a 404 is a code="404"
#      request, not an API error;
#   4. logs: --log-format json writes one JSON object per line with the data in keys; logfmt keeps the
#      message constant (msg="created Pod" bot=.. pod=..); passwords in the NATS URL and the MongoDB URI
#      are never printed; the MongoDB connect error names its cause;
#   5. readiness follows MongoDB and NATS: both go away and come back.
# Each check prints what it expected and what it got; the first mismatch fails the script. Every process
# is stopped on exit, failing or not.
#
#   e2e/ops.sh SIM_BINARY RUNTIME_BINARY PUBLISH_BINARY
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIM="$1" RUNTIME="$2" PUBLISH="$3"
source "$ROOT/ci/servers.sh"
command -v kubectl >/dev/null || { echo "ops: kubectl is not installed (it comes with the base image)" >&2; exit 1; }
servers_install
command -v promtool >/dev/null || { echo "ops: promtool is not installed (Debian package prometheus, ci/deps.sh)" >&2; exit 1; }

DIR=$(mktemp -d /tmp/the0-ops-XXXXXX)
declare -A CTL=() # controller name -> pid
source "$ROOT/e2e/checks.sh"
trap e2e_cleanup EXIT

NATS_PORT=$(servers_free_port)
servers_start_nats "$NATS_PORT" "$DIR/js" "$DIR/nats-server.log"
NATS_PID=${SERVER_PIDS[-1]}
MONGO_PORT=$(servers_free_port)
servers_start_congo "$MONGO_PORT" "$DIR/congodb.log"
MONGO_PID=${SERVER_PIDS[-1]}
KPORT=$(servers_free_port)
servers_start_serve "$SIM" "$KPORT" "$DIR/serve.log" --nodes 3
NATS_URL="nats://127.0.0.1:$NATS_PORT"
MONGO_URI="mongodb://127.0.0.1:$MONGO_PORT/?serverSelectionTimeoutMS=2000"
servers_kubeconfig "$DIR/kubeconfig" "$KPORT"
export KUBECONFIG=/dev/null
K() { kubectl --server="http://127.0.0.1:$KPORT" --cache-dir="$DIR/cache" -n the0 "$@"; }
pub() { "$PUBLISH" --url "$NATS_URL" "$@" >/dev/null; }

# start_ctl NAME KUBECONFIG [flags...]: a controller process with identity NAME; its health port in HP_<NAME>
start_ctl() {
    local name=$1 kc=$2; shift 2
    local hp
    hp=$(servers_free_port)
    # as after a SIGKILLed restart in one pod: the mongo driver's /dev/shm/mongoc-PID of an earlier process
    # with this pid is there (exec keeps the pid), and the driver says so when it loads, before main
    sh -c 'touch "/dev/shm/mongoc-$$"; exec "$@"' sh "$RUNTIME" controller --kubeconfig "$kc" --namespace the0 \
        --identity "$name" --mongo-uri "$MONGO_URI" --health-addr "127.0.0.1:$hp" --reconcile-interval 5s "$@" \
        >>"$DIR/ctl-$name.log" 2>&1 &
    E2E_LEFT+=("/dev/shm/mongoc-$!")
    CTL[$name]=$!
    printf -v "HP_$name" '%s' "$hp"
    servers_wait_port "$hp" "$!" "controller-$name" "$DIR/ctl-$name.log"
}
probe() { local v="HP_$1"; curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${!v}/$2"; }
probe_body() { local v="HP_$1"; curl -s "http://127.0.0.1:${!v}/$2"; }
metrics() { local v="HP_$1"; curl -s "http://127.0.0.1:${!v}/metrics"; }
# metric NAME SERIES: the value of one sample line of controller NAME (empty when absent)
metric() { metrics "$1" | awk -v s="$2" '$1 == s { print $2 }'; }
holder() { K get lease the0-runtime-controller -o jsonpath='{.spec.holderIdentity}'; }

echo "== 1. probes: two replicas, leader and standby"
start_ctl c1 "$DIR/kubeconfig" --nats-url "$NATS_URL" --log-format json
until_eq "c1 leads and is ready (/readyz)" 200 20 probe c1 readyz
start_ctl c2 "$DIR/kubeconfig" --nats-url "$NATS_URL"
until_eq "c2, the standby, is ready too (/readyz): a 2-replica Deployment becomes Available" 200 20 probe c2 readyz
expect "the Lease holder" c1 "$(holder)"
expect "c2 /readyz?verbose" "[+]controller ok|readyz check passed" "$(probe_body c2 'readyz?verbose' | tr '\n' '|' | sed 's/|$//')"
for c in c1 c2; do
    expect "$c /livez" 200 "$(probe $c livez)"
    expect "$c /healthz (kept for compatibility)" 200 "$(probe $c healthz)"
done
expect "c1 leader_election_master_status" 1 "$(metric c1 'leader_election_master_status{name="the0-runtime-controller"}')"
expect "c2 leader_election_master_status" 0 "$(metric c2 'leader_election_master_status{name="the0-runtime-controller"}')"

# a control loop that is stuck: an API server that accepts connections and never answers holds the loop
# in its first request (the Lease GET, 30 s timeout); with --liveness-timeout 2s, /livez must fail
HOLE_PORT=$(servers_free_port)
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); held = []
while True: held.append(s.accept()[0])' "$HOLE_PORT" >"$DIR/blackhole.log" 2>&1 &
SERVER_PIDS+=($!)
servers_wait_port "$HOLE_PORT" "$!" blackhole "$DIR/blackhole.log"
servers_kubeconfig "$DIR/kubeconfig-hole" "$HOLE_PORT"
start_ctl stuck "$DIR/kubeconfig-hole" --liveness-timeout 2s
until_eq "a stuck control loop fails /livez" 503 20 probe stuck livez
body=$(probe_body stuck livez | head -1)
[[ "$body" == "[-]loop failed: the control loop made no progress for "* ]] && pass "its /livez says why" "[-]loop failed: ... no progress ..." "$body" ||
    fail "its /livez says why" "[-]loop failed: ... no progress ..." "$body"
expect "and it is not ready" 503 "$(probe stuck readyz)"
kill -9 "${CTL[stuck]}"; wait "${CTL[stuck]}" 2>/dev/null || true; unset "CTL[stuck]"

echo "== 2. Events on Pods and CronJobs, by uid"
pub bot created b1
until_eq "pod bot-b1" "pod/bot-b1" 20 K get pods -l the0.dev/bot-id=b1 -o name
uid1=$(K get pod bot-b1 -o jsonpath='{.metadata.uid}')
# reasons_of UID: the reasons of the Events about object UID, sorted
reasons_of() { K get events --field-selector "involvedObject.uid=$1" -o jsonpath='{range .items[*]}{.reason}{"\n"}{end}' | sort | tr '\n' ' ' | sed 's/ $//'; }
descr() { K describe pod bot-b1 | sed -n '/^Events:/,$p' | awk 'NR > 3 { print $2 }' | sort | tr '\n' ' ' | sed 's/ $//'; }
until_eq "kubectl describe pod bot-b1 shows its Events" "BotRunning SuccessfulCreate" 20 descr
expect "the Events name the pod's uid" "BotRunning SuccessfulCreate" "$(reasons_of "$uid1")"
ev=$(K get events --field-selector "involvedObject.uid=$uid1,reason=SuccessfulCreate" -o jsonpath='{.items[0].involvedObject.apiVersion} {.items[0].involvedObject.kind} {.items[0].involvedObject.name} {.items[0].involvedObject.namespace} {.items[0].source.component}')
expect "their involvedObject and source" "v1 Pod bot-b1 the0 the0-bot-controller" "$ev"
rv=$(K get events --field-selector "involvedObject.uid=$uid1" -o jsonpath='{.items[0].involvedObject.resourceVersion}')
[ -n "$rv" ] && pass "their involvedObject.resourceVersion" "non-empty" "$rv" || fail "their involvedObject.resourceVersion" "non-empty" "$rv"
pub --config '{"symbol":"ETH/USD"}' bot updated b1
new_pod() { local u; u=$(K get pod bot-b1 -o jsonpath='{.metadata.uid}' 2>/dev/null); [ -n "$u" ] && [ "$u" != "$uid1" ] && echo replaced || echo "same ($u)"; }
until_eq "config update: bot-b1 replaced by a new pod" replaced 30 new_pod
until_eq "the old pod's Events say why it was deleted" "BotRunning Replacing SuccessfulCreate" 20 reasons_of "$uid1"
expect "the Replacing Event's message" "Deleted Pod bot-b1 to replace it: the bot's spec changed" \
    "$(K get events --field-selector "involvedObject.uid=$uid1,reason=Replacing" -o jsonpath='{.items[0].message}')"
until_eq "kubectl describe pod bot-b1 (the new pod) shows its own Events only" "BotRunning SuccessfulCreate" 20 descr
pub schedule created s1
until_eq "CronJob schedule-s1" "cronjob.batch/schedule-s1" 20 K get cronjobs -o name
cjuid=$(K get cronjob schedule-s1 -o jsonpath='{.metadata.uid}')
until_eq "the CronJob's Event names its uid" "SuccessfulCreate" 20 reasons_of "$cjuid"
expect "its involvedObject" "batch/v1 CronJob" "$(K get events --field-selector "involvedObject.uid=$cjuid" -o jsonpath='{.items[0].involvedObject.apiVersion} {.items[0].involvedObject.kind}')"
# a repeat is counted on the Event already written: the same invalid bot reported twice (an unknown runtime:
# stored, but no pod can be generated for it)
pub --runtime cobol bot created bad9
inv_count() { K get events --field-selector involvedObject.name=bot-bad9,reason=InvalidBotSpec -o jsonpath='{range .items[*]}{.count}{" "}{end}' | sed 's/ $//'; }
until_eq "an invalid bot is reported (Warning InvalidBotSpec)" 1 20 inv_count
pub bot deleted bad9
sleep 1
pub --runtime cobol bot created bad9
until_eq "reported again: one Event, count 2" 2 20 inv_count

echo "== 3. metrics"
for c in c1 c2; do
    metrics $c >"$DIR/metrics-$c.txt"
    out=$(promtool check metrics <"$DIR/metrics-$c.txt" 2>&1; echo "exit $?")
    expect "promtool check metrics on $c" "exit 0" "$out"
done
missing=""
for f in controller_runtime_reconcile_total controller_runtime_reconcile_errors_total controller_runtime_reconcile_time_seconds \
    controller_runtime_max_concurrent_reconciles controller_runtime_active_workers workqueue_depth workqueue_adds_total \
    workqueue_queue_duration_seconds workqueue_work_duration_seconds workqueue_retries_total workqueue_unfinished_work_seconds \
    workqueue_longest_running_processor_seconds leader_election_master_status rest_client_requests_total \
    rest_client_request_duration_seconds process_cpu_seconds_total process_resident_memory_bytes process_open_fds \
    process_start_time_seconds the0_build_info the0_controller_reconciles_total; do
    grep -q "^# TYPE $f " "$DIR/metrics-c1.txt" || missing="$missing $f"
done
expect "the standard families next to the0_*" "" "$missing"
ok=$(awk '$1 == "controller_runtime_reconcile_total{controller=\"bot-controller\",result=\"success\"}" { print ($2 > 0) ? "yes" : "no" }' "$DIR/metrics-c1.txt")
expect "c1 counted successful bot reconciles" yes "$ok"
# c1's first Lease GET was answered 404 (no Lease yet): a code="404" request, not an API error
n404=$(awk -v s="rest_client_requests_total{code=\"404\",host=\"127.0.0.1:$KPORT\",method=\"GET\"}" '$1 == s { print ($2 >= 1) ? "yes" : "no" }' "$DIR/metrics-c1.txt")
expect "c1: the Lease GET's 404 is a code=\"404\" request" yes "$n404"
expect "c1: and no get counted as an API error" 0 "$(awk '$1 == "the0_kube_api_errors_total{verb=\"get\"}" { print $2 }' "$DIR/metrics-c1.txt")"
expect "c1: Events written by their own writer" yes "$(awk '$1 == "the0_events_written_total" { print ($2 > 0) ? "yes" : "no" }' "$DIR/metrics-c1.txt")"

echo "== 4. logs"
bad=$(python3 -c '
import json, sys
bad = 0
for n, l in enumerate(open(sys.argv[1]), 1):
    try:
        o = json.loads(l)
        assert isinstance(o, dict) and {"ts", "level", "component", "msg"} <= o.keys()
    except Exception:
        bad += 1
        print("line %d: %s" % (n, l.strip()[:160]), file=sys.stderr)
print(bad)' "$DIR/ctl-c1.log")
expect "c1 --log-format json: every line one JSON object with ts, level, component, msg" 0 "$bad"
expect "c1: the mongo driver's load-time line is one of them" "info mongoc" \
    "$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["msg"] == "Falling back to malloc for counters.":
        print(o["level"], o["component"]); break' "$DIR/ctl-c1.log")"
line=$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["msg"] == "created Pod" and o.get("bot") == "b1":
        print(o["msg"], o["bot"], o["pod"]); break' "$DIR/ctl-c1.log")
expect "c1's create of bot b1 as keys" "created Pod b1 bot-b1" "$line"
pub bot created b2
until_eq "pod bot-b2" "pod/bot-b2" 20 K get pods -l the0.dev/bot-id=b2 -o name
stop_c1() { kill -TERM "${CTL[c1]}"; wait "${CTL[c1]}" 2>/dev/null || true; unset "CTL[c1]"; }
stop_c1
until_eq "c2 takes over" c2 30 holder
pub bot created b3
until_eq "pod bot-b3 from c2" "pod/bot-b3" 20 K get pods -l the0.dev/bot-id=b3 -o name
expect "c2 (logfmt): the data in keys" 1 "$(grep -c 'level=info component=bot-controller msg="created Pod" bot=b3 pod=bot-b3 namespace=the0$' "$DIR/ctl-c2.log" || true)"
DEAD=$(servers_free_port)
set +e
"$RUNTIME" controller --kubeconfig "$DIR/kubeconfig" --mongo-uri "$MONGO_URI" --health-addr 127.0.0.1:0 \
    --nats-url "nats://e2e:s3cretpw@127.0.0.1:$DEAD" >"$DIR/nats-pw.log" 2>&1
rc=$?
"$RUNTIME" controller --kubeconfig "$DIR/kubeconfig" --health-addr 127.0.0.1:0 \
    --mongo-uri "mongodb://root:m0ngopw@127.0.0.1:$DEAD/?serverSelectionTimeoutMS=300" >"$DIR/mongo-pw.log" 2>&1
rc2=$?
set -e
expect "unreachable NATS: exit code" 1 "$rc"
expect "the NATS password is not printed" 0 "$(grep -c s3cretpw "$DIR/nats-pw.log" || true)"
expect "the NATS URL is printed redacted" 1 "$(grep -c "msg=\"failed to connect to NATS\" error=\"nats: connecting to nats://e2e:xxxxx@127.0.0.1:$DEAD" "$DIR/nats-pw.log" || true)"
expect "unreachable MongoDB: exit code" 1 "$rc2"
expect "the MongoDB password is not printed" 0 "$(grep -c m0ngopw "$DIR/mongo-pw.log" || true)"
cause=$(sed -n 's/.*msg="failed to connect to MongoDB" error="mongo ping: \([^"]*\).*/\1/p' "$DIR/mongo-pw.log")
[ -n "$cause" ] && pass "the MongoDB connect error names its cause" "mongo ping: <cause>" "mongo ping: $cause" ||
    fail "the MongoDB connect error names its cause" "mongo ping: <cause>" "$(grep MongoDB "$DIR/mongo-pw.log")"

echo "== 5. readiness follows MongoDB and NATS"
first_line() { probe_body "$1" "$2" | head -1; }
mongo_reason() { [[ "$(first_line c2 readyz)" == "[-]controller failed: MongoDB unreachable: mongo ping: "?* ]] && echo yes || first_line c2 readyz; }
until_eq "c2 (now the leader) ready" 200 30 probe c2 readyz
kill "$NATS_PID"; wait "$NATS_PID" 2>/dev/null || true
until_eq "NATS stopped: c2 not ready, and says why" "[-]controller failed: NATS not connected" 20 first_line c2 readyz
expect "its /readyz code" 503 "$(probe c2 readyz)"
nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$DIR/js" >>"$DIR/nats-server.log" 2>&1 &
SERVER_PIDS+=($!)
servers_wait_port "$NATS_PORT" "$!" nats-server "$DIR/nats-server.log"
until_eq "NATS back: c2 ready" 200 30 probe c2 readyz
kill "$MONGO_PID"; wait "$MONGO_PID" 2>/dev/null || true
until_eq "MongoDB stopped: c2 not ready, and says why ([-]controller failed: MongoDB unreachable: mongo ping: ...)" yes 30 mongo_reason
expect "its /readyz code" 503 "$(probe c2 readyz)"
expect "while it stays alive (/livez)" 200 "$(probe c2 livez)"
node "$SERVERS_CONGO/start.mjs" "$MONGO_PORT" >>"$DIR/congodb.log" 2>&1 &
SERVER_PIDS+=($!)
servers_wait_port "$MONGO_PORT" "$!" congodb "$DIR/congodb.log"
until_eq "MongoDB back: c2 ready" 200 40 probe c2 readyz

kill -TERM "${CTL[c2]}"
set +e
wait "${CTL[c2]}"
rc=$?
set -e
unset "CTL[c2]"
expect "c2 exit code after SIGTERM" 0 "$rc"
echo "ops: all checks passed"
