#!/usr/bin/env bash
# e2e/live.sh: the production binary as a process against real servers: nats-server -js, CongoDB (MongoDB
# wire protocol) and `the0-sim serve` (the fake cluster over the Kubernetes REST API), events published as
# the0's API publishes them (JetStream, stream THE0_EVENTS), everything observed through kubectl:
#   1. Pods and CronJobs appear, change (config update -> pod replaced with a new config-hash) and disappear;
#   2. a burst of creates, the controller killed with SIGKILL in the middle, restarted: converges, no duplicate
#      (the restarted one lists in pages of 7, --list-page-size; kubectl pages through them with --chunk-size);
#   3. two controllers at once: one Lease holder acts, the other stands by; it takes over after SIGTERM;
#   4. events published while no controller runs are applied when one starts (durable consumer);
#   5. nats-server restarted under a running controller: it reconnects and keeps applying events;
#   6. a quiet watch resumes from its last BOOKMARK: other pods churn past the server's watch history while
#      ours do not change, the watches end (--watch-timeout 3s) and resume with no 410 and no re-list.
# Each check prints what it expected and what it got; the first mismatch fails the script. Every server
# and controller is stopped on exit, failing or not.
#
#   e2e/live.sh SIM_BINARY RUNTIME_BINARY PUBLISH_BINARY
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIM="$1" RUNTIME="$2" PUBLISH="$3"
source "$ROOT/ci/servers.sh"
command -v kubectl >/dev/null || { echo "live: kubectl is not installed (it comes with the base image)" >&2; exit 1; }
servers_install

DIR=$(mktemp -d /tmp/the0-live-XXXXXX)
declare -A CTL=() # controller name -> pid
source "$ROOT/e2e/checks.sh"
trap e2e_cleanup EXIT


NATS_PORT=$(servers_free_port)
servers_start_nats "$NATS_PORT" "$DIR/js" "$DIR/nats-server.log"
NATS_PID=${SERVER_PIDS[-1]}
MONGO_PORT=$(servers_free_port)
servers_start_congo "$MONGO_PORT" "$DIR/congodb.log"
KPORT=$(servers_free_port)
servers_start_serve "$SIM" "$KPORT" "$DIR/serve.log" --nodes 3 --watch-bookmark-interval 1 --access-log
NATS_URL="nats://127.0.0.1:$NATS_PORT"
servers_kubeconfig "$DIR/kubeconfig" "$KPORT"
export KUBECONFIG=/dev/null
K() { kubectl --server="http://127.0.0.1:$KPORT" --cache-dir="$DIR/cache" -n the0 "$@"; }
pub() { "$PUBLISH" --url "$NATS_URL" "$@"; }
bot_pods() { K get pods -l the0.dev/managed-by=the0-bot-controller -o name | sort | tr '\n' ' ' | sed 's/ $//'; }
pod_count() { K get pods -l the0.dev/managed-by=the0-bot-controller -o name | wc -l; }
phase_of() { K get pod "$1" -o jsonpath='{.status.phase}'; }

# start_ctl NAME [flags...]: a controller process with identity NAME; its health port in HP_<NAME>
start_ctl() {
    local name=$1; shift
    local hp
    hp=$(servers_free_port)
    "$RUNTIME" controller --kubeconfig "$DIR/kubeconfig" --namespace the0 --identity "$name" \
        --mongo-uri "mongodb://127.0.0.1:$MONGO_PORT/?serverSelectionTimeoutMS=5000" --nats-url "$NATS_URL" \
        --health-addr "127.0.0.1:$hp" --reconcile-interval 5s "$@" >>"$DIR/ctl-$name.log" 2>&1 &
    CTL[$name]=$!
    printf -v "HP_$name" '%s' "$hp"
    servers_wait_port "$hp" "$!" "controller-$name" "$DIR/ctl-$name.log"
}
stop_ctl() { # stop_ctl NAME SIGNAL
    kill "-$2" "${CTL[$1]}"
    wait "${CTL[$1]}" 2>/dev/null || true
    unset "CTL[$1]"
}
readyz() { local v="HP_$1"; curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${!v}/readyz"; }
holder() { K get lease the0-runtime-controller -o jsonpath='{.spec.holderIdentity}'; }

echo "== 1. appear, change, disappear (one controller)"
start_ctl c1
until_eq "c1 becomes leader and ready (/readyz)" 200 20 readyz c1
expect "Lease holder" "c1" "$(holder)"
pub bot created b1 b2
pub schedule created s1
until_eq "pods for bots b1 and b2" "pod/bot-b1 pod/bot-b2" 20 bot_pods
until_eq "bot-b1 Running" Running 20 phase_of bot-b1
out=$(K get pods -o wide)
[[ "$out" =~ bot-b1\ +2/2\ +Running\ +0\ +[0-9]+s\ +10\.244\.[0-9.]+\ +node-[1-3] ]] && pass "kubectl get pods -o wide shows bot-b1 2/2 Running on a node" "bot-b1 2/2 Running ... node-N" "$out" ||
    fail "kubectl get pods -o wide shows bot-b1 2/2 Running on a node" "bot-b1 2/2 Running ... node-N" "$out"
until_eq "CronJob for schedule s1" "cronjob.batch/schedule-s1" 20 K get cronjobs -o name
out=$(K get cronjobs)
[[ "$out" =~ schedule-s1\ +\*/5\ \*\ \*\ \*\ \*\ +False ]] && pass "kubectl get cronjobs" "schedule-s1 */5 * * * * False" "$out" ||
    fail "kubectl get cronjobs" "schedule-s1 */5 * * * * False" "$out"
uid1=$(K get pod bot-b1 -o jsonpath='{.metadata.uid}')
hash1=$(K get pod bot-b1 -o jsonpath='{.metadata.annotations.the0\.dev/config-hash}')
pub --config '{"symbol":"ETH/USD"}' bot updated b1
pub --config '{"schedule":"0 * * * *"}' schedule updated s1
new_pod() { local u; u=$(K get pod bot-b1 -o jsonpath='{.metadata.uid}' 2>/dev/null); [ -n "$u" ] && [ "$u" != "$uid1" ] && echo replaced || echo "same ($u)"; }
until_eq "config update: bot-b1 replaced by a new pod" replaced 30 new_pod
hash2=$(K get pod bot-b1 -o jsonpath='{.metadata.annotations.the0\.dev/config-hash}')
[ -n "$hash2" ] && [ "$hash2" != "$hash1" ] && pass "new config-hash annotation" "!= $hash1" "$hash2" || fail "new config-hash annotation" "!= $hash1" "$hash2"
expect "the new pod carries the new config" "true" "$(K get pod bot-b1 -o json | grep -q 'ETH/USD' && echo true || echo false)"
until_eq "schedule update reaches the CronJob" "0 * * * *" 20 K get cronjob schedule-s1 -o jsonpath='{.spec.schedule}'
pub bot deleted b2
pub schedule deleted s1
until_eq "bot b2 deleted: its pod is gone" "pod/bot-b1" 30 bot_pods
until_eq "schedule s1 deleted: its CronJob is gone" "" 20 K get cronjobs -o name

echo "== 2. a burst of 100 creates; SIGKILL mid-way; restart converges with no duplicate"
ids=$(seq -f 'k%g' 1 100 | tr '\n' ' ')
t0=$(date +%s%N)
pub bot created $ids
until_eq "the first pods appear" true 20 bash -c "[ \$(kubectl --server=http://127.0.0.1:$KPORT --cache-dir=$DIR/cache -n the0 get pods -o name | wc -l) -gt 10 ] && echo true"
stop_ctl c1 9
made=$(pod_count)
echo "   c1 killed with SIGKILL after $made of 101 pods existed"
pages_before=$(grep -c 'pods labelSelector=the0.dev/managed-by=the0-bot-controller limit=7 continue=' "$DIR/serve.log" || true)
start_ctl c1 --list-page-size 7
until_eq "restarted c1 converges to 101 bot pods" 101 40 pod_count
pages=$(($(grep -c 'pods labelSelector=the0.dev/managed-by=the0-bot-controller limit=7 continue=[^ ]* -> 200' "$DIR/serve.log" || true) - pages_before))
expect "the restarted c1 listed its $made pods in pages of 7 (continuation pages)" true "$([ "$pages" -ge $(((made - 1) / 7)) ] && echo true || echo "false: $pages")"
expect "kubectl pages through the pods (--chunk-size=9)" 101 "$(K get pods -l the0.dev/managed-by=the0-bot-controller --chunk-size=9 -o name | wc -l)"
expect "serve answered kubectl's pages (limit=9 with continue)" true \
    "$(grep -q 'limit=9 continue=[^ ]* -> 200' "$DIR/serve.log" && echo true || echo false)"
t1=$(date +%s%N)
dups=$(K get pods -o jsonpath='{range .items[*]}{.metadata.labels.the0\.dev/bot-id}{"\n"}{end}' | sort | uniq -d | tr '\n' ' ')
expect "no bot has two pods" "" "$dups"
expect "every k-bot has its pod" "100" "$(K get pods -o name | grep -c 'pod/bot-k')"
until_eq "c1 ready again" 200 20 readyz c1
burst_ms=$(((t1 - t0) / 1000000))

echo "== pod create throughput (one controller, default --kube-qps 50 --kube-burst 100)"
pub bot deleted $ids
until_eq "the k-bots are deleted" 1 60 pod_count
ids=$(seq -f 'm%g' 1 200 | tr '\n' ' ')
t0=$(date +%s%N)
pub bot created $ids
until_eq "200 new bot pods" 201 60 pod_count
t1=$(date +%s%N)
rate_ms=$(((t1 - t0) / 1000000))
echo "   FIGURE: 200 pods created in $rate_ms ms from the first publish: $((200000 / (rate_ms > 0 ? rate_ms : 1))) pods/s"
echo "   (burst of 100 with a SIGKILL and restart in the middle: $burst_ms ms)"
pub bot deleted $ids
until_eq "the m-bots are deleted" 1 60 pod_count

echo "== 3. two controllers: leader election"
start_ctl c2
sleep 2
expect "c2 is ready as a standby while c1 leads (/readyz)" 200 "$(readyz c2)"
expect "Lease holder is still c1" "c1" "$(holder)"
pub bot created d1
until_eq "bot d1 gets exactly one pod" "pod/bot-b1 pod/bot-d1" 20 bot_pods
expect "c2 created nothing" 0 "$(grep -c 'msg="created Pod"' "$DIR/ctl-c2.log" || true)"
expect "c1 created bot-d1" 1 "$(grep -c 'msg="created Pod" bot=d1 pod=bot-d1' "$DIR/ctl-c1.log" || true)"
stop_ctl c1 TERM
until_eq "after c1's SIGTERM, c2 takes the Lease" c2 20 holder
until_eq "c2 ready" 200 20 readyz c2
pub bot created d2
until_eq "bot d2 gets its pod from c2" "pod/bot-b1 pod/bot-d1 pod/bot-d2" 20 bot_pods
expect "c2 created bot-d2" 1 "$(grep -c 'msg="created Pod" bot=d2 pod=bot-d2' "$DIR/ctl-c2.log" || true)"

echo "== 4. events published while no controller runs"
stop_ctl c2 TERM
pub bot created e1
pub bot deleted d1
pub schedule created s2
sleep 1
expect "nothing acts while every controller is down" "pod/bot-b1 pod/bot-d1 pod/bot-d2" "$(bot_pods)"
start_ctl c3 --watch-timeout 3s
until_eq "c3 applies them: bot-e1 created, bot-d1 deleted" "pod/bot-b1 pod/bot-d2 pod/bot-e1" 30 bot_pods
until_eq "and the CronJob of s2 exists" "cronjob.batch/schedule-s2" 20 K get cronjobs -o name

echo "== 5. nats-server restarted under a running controller"
kill "$NATS_PID"
wait "$NATS_PID" 2>/dev/null || true
sleep 1
nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$DIR/js" >>"$DIR/nats-server.log" 2>&1 &
SERVER_PIDS+=($!)
servers_wait_port "$NATS_PORT" "$!" nats-server "$DIR/nats-server.log"
pub bot created n1
until_eq "an event published after the restart is applied" "pod/bot-b1 pod/bot-d2 pod/bot-e1 pod/bot-n1" 40 bot_pods

echo "== 6. a quiet watch resumes from its bookmark"
relists() { grep -c 'watch ERROR 410' "$DIR/ctl-c3.log" || true; }
before=$(relists)
# in batches of 5 pods (about 25 events) 1.5 s apart: the server keeps the last 100 events of a kind, and a
# bookmark comes every second, so a watch that ends mid-churn still resumes inside the history, even when a
# loaded machine runs three batches' events in one second
for b in 0 1 2 3 4 5 6 7; do
    for i in $(seq $((b * 5 + 1)) $((b * 5 + 5))); do
        printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: other-%d\n  labels: {app: other}\nspec:\n' "$i"
        printf '  containers: [{name: c, image: debian:bookworm-slim, command: [sleep, infinity]}]\n---\n'
    done >"$DIR/others-$b.yaml"
    K create -f "$DIR/others-$b.yaml" >/dev/null
    sleep 1.5
done
others_running() { K get pods -l app=other --no-headers | grep -c Running; }
until_eq "40 pods of someone else run (over 100 pod events the controller's watch does not see)" 40 20 others_running
sleep 7 # two more watch timeouts of 3 s
expect "c3's watches resumed from their bookmarks: no 410, no re-list" "$before" "$(relists)"
pub bot created q1
until_eq "and c3 still sees its own pods" "pod/bot-b1 pod/bot-d2 pod/bot-e1 pod/bot-n1 pod/bot-q1" 30 bot_pods

echo "== SIGTERM: every controller exits 0"
for n in "${!CTL[@]}"; do
    kill -TERM "${CTL[$n]}"
    set +e
    wait "${CTL[$n]}"
    rc=$?
    set -e
    unset "CTL[$n]"
    expect "controller $n exit code after SIGTERM" 0 "$rc"
done
echo "live: all checks passed"
