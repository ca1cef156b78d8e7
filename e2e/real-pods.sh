#!/usr/bin/env bash
# e2e/real-pods.sh: the whole system with real pods. The production controller runs inside the production
# image (runtime:latest, from deploy/Dockerfile) as a pod made from deploy/base's Deployment; bots run as the
# pods it generates, exactly as `the0-runtime render` prints them, as real containers: `the0-sim serve
# --run-pods` (podman) is the kubelet. Around it: nats-server -js, CongoDB, moto with SigV4 auth as MinIO.
# A python bot (e2e/realpods/bot) is zipped into custom-bots; it writes state and logs. Observed with kubectl
# (statuses, Events, logs), podman inspect (what actually ran) and boto3 (what reached S3):
#   0. the kubelet on plain pods: restartPolicy Always (CrashLoopBackOff), OnFailure, Never; a missing image;
#      runAsNonRoot against a root image; deletion with SIGKILL after the grace period; logs --previous;
#   1. bot.created: init downloads and extracts the code; the bot runs as uid 1000; init and sync have a
#      read-only root; the pod's containers are the rendered ones; each state write reaches S3 within 1 s;
#      its log lines reach bot-logs once each;
#   2. the sync container killed: restarted, no log line lost or duplicated;
#   3. kubectl delete pod: the replacement restores the state the bot last wrote;
#   4. a config change: the pod is replaced; the new bot starts from the shipped state;
#   5. a scheduled bot: CronJob -> Job -> pod -> the bot exits -> done file -> final sync -> Job Complete;
#      state and logs in S3; the bot ran exactly once;
#   6. a bot whose code object is missing: its init fails, the other bot is unaffected;
#   the soak Job's pod (deploy/soak rendered, shard 0, 3 seeds) in the0-sim:latest, its report through
#      ci/soak-collect.sh;
#   7. serve stopped: every container it started is gone.
# Every check prints what it expected and what it observed; the stage prints its time and a closing
# "N passed, M failed" line, and exits 1 when a check failed. Servers, pods and containers are stopped on
# exit, failing or not.
#
#   e2e/real-pods.sh SIM_BINARY RUNTIME_BINARY PUBLISH_BINARY
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIM="$(realpath "$1")" RUNTIME="$(realpath "$2")" PUBLISH="$(realpath "$3")"
T_START=$SECONDS
source "$ROOT/ci/servers.sh"
export CONTAINERS_CONF="$ROOT/ci/podman/containers.conf"
command -v kubectl >/dev/null || { echo "real-pods: kubectl is not installed (it comes with the base image)" >&2; exit 1; }
servers_install || exit 1
bash "$ROOT/ci/images.sh" build || exit 1
bash "$ROOT/ci/s3-servers.sh" install || exit 1

DIR=$(mktemp -d /tmp/the0-realpods-XXXXXX)
SERVE_PID=""
PASSED=0 FAILED=0
cleanup() {
    local rc=$?
    if [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2>/dev/null; then
        kill -TERM "$SERVE_PID"
        wait "$SERVE_PID" 2>/dev/null
    fi
    bash "$ROOT/ci/s3-servers.sh" stop "$DIR/s3" 2>/dev/null
    servers_stop
    if [ $rc -ne 0 ]; then
        for f in "$DIR"/*.log; do [ -f "$f" ] && { echo "---- $f (tail)"; tail -15 "$f"; }; done
    fi
    rm -rf "$DIR"
    exit $rc
}
trap cleanup EXIT

pass() { echo "  ok   $1: expected [$2], got [$3]"; PASSED=$((PASSED + 1)); }
fail() { echo "  FAIL $1: expected [$2], got [$3]"; FAILED=$((FAILED + 1)); }
expect() { if [ "$2" == "$3" ]; then pass "$@"; else fail "$@"; fi; }
# until_eq WHAT WANT SECONDS CMD...: run CMD until its output equals WANT; a check either way
until_eq() {
    local what=$1 want=$2 secs=$3 out=""; shift 3
    local end=$((SECONDS + secs))
    while :; do
        out=$("$@" 2>&1)
        if [ "$out" == "$want" ]; then pass "$what" "$want" "$out"; return 0; fi
        [ $SECONDS -lt $end ] || { fail "$what" "$want within ${secs}s" "$out"; return 1; }
        sleep 0.3
    done
}
finish() {
    echo "real-pods: stage time $((SECONDS - T_START)) s"
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ] || exit 1
    exit 0
}

echo "== servers: nats-server -js, CongoDB, moto (SigV4 auth), the0-sim serve --run-pods"
NATS_PORT=$(servers_free_port)
servers_start_nats "$NATS_PORT" "$DIR/js" "$DIR/nats-server.log" || exit 1
MONGO_PORT=$(servers_free_port)
servers_start_congo "$MONGO_PORT" "$DIR/congodb.log" || exit 1
bash "$ROOT/ci/s3-servers.sh" start "$DIR/s3" || exit 1
source "$DIR/s3/env"
S3=(python3 "$ROOT/e2e/realpods/s3.py" "$MOTO_ENDPOINT" "$MOTO_ACCESS_KEY" "$MOTO_SECRET_KEY")
KPORT=$(servers_free_port)
"$SIM" serve --listen "127.0.0.1:$KPORT" --nodes 2 --run-pods --containers-conf "$CONTAINERS_CONF" \
    --pods-dir "$DIR/pods" --log-level info >"$DIR/serve.log" 2>&1 &
SERVE_PID=$!
servers_wait_port "$KPORT" "$SERVE_PID" the0-sim-serve "$DIR/serve.log" || exit 1
export KUBECONFIG=/dev/null
K() { kubectl --server="http://127.0.0.1:$KPORT" --cache-dir="$DIR/cache" -n the0 "$@"; }
pub() { "$PUBLISH" --url "nats://127.0.0.1:$NATS_PORT" "$@"; }
jp() { K get "$1" -o jsonpath="$2" 2>/dev/null; }
# podman_name POD CONTAINER: the podman container the kubelet runs for it (containerID podman://NAME)
podman_name() {
    K get pod "$1" -o jsonpath="{range .status.initContainerStatuses[*]}{.name}={.containerID}{'\n'}{end}{range .status.containerStatuses[*]}{.name}={.containerID}{'\n'}{end}" |
        sed -n "s|^$2=podman://||p"
}
restarts() { jp "pod/$1" "{.status.containerStatuses[?(@.name==\"$2\")].restartCount}"; }
state_of() { jp "pod/$1" "{.status.containerStatuses[?(@.name==\"$2\")].state}" | sed 's/{"\([a-z]*\)".*/\1/'; }
pod_uid() { jp "pod/$1" '{.metadata.uid}'; }

echo "== 0. the kubelet of serve --run-pods on plain pods (restart policies, back-off, grace, images, runAsNonRoot)"
KD() { kubectl --server="http://127.0.0.1:$KPORT" --cache-dir="$DIR/cache" -n default "$@"; }
cat >"$DIR/kubelet-pods.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  containers: [{name: c, image: "the0/python311:latest", command: ["bash", "-c", "echo run at $(date +%s.%N); exit 3"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: onfailure}
spec:
  restartPolicy: OnFailure
  containers:
  - name: c
    image: "the0/python311:latest"
    command: ["bash", "-c", "test -f /d/ran && exit 0; touch /d/ran; exit 1"]
    volumeMounts: [{name: d, mountPath: /d}]
  volumes: [{name: d, emptyDir: {}}]
---
apiVersion: v1
kind: Pod
metadata: {name: never}
spec:
  restartPolicy: Never
  containers: [{name: c, image: "the0/python311:latest", command: ["bash", "-c", "exit 2"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: stubborn}
spec:
  terminationGracePeriodSeconds: 2
  containers: [{name: c, image: "the0/python311:latest", command: ["bash", "-c", "trap 'echo TERM ignored' TERM; while :; do sleep 0.2; done"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: noimage}
spec:
  containers: [{name: c, image: "the0/no-such-image:1"}]
---
apiVersion: v1
kind: Pod
metadata: {name: rootimage}
spec:
  securityContext: {runAsNonRoot: true}
  containers: [{name: c, image: "the0/python311:latest", command: ["true"]}]
YAML
KD create -f "$DIR/kubelet-pods.yaml" >/dev/null || exit 1
kstat() { KD get pod "$1" -o jsonpath="$2" 2>&1; }
until_eq "restartPolicy Never, exit 2: pod Failed, no restart" "Failed 2 0" 30 kstat never '{.status.phase} {.status.containerStatuses[0].state.terminated.exitCode} {.status.containerStatuses[0].restartCount}'
until_eq "restartPolicy OnFailure: exit 1 restarted once, then exit 0: Succeeded" "Succeeded 1 0" 30 kstat onfailure '{.status.phase} {.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].state.terminated.exitCode}'
until_eq "missing image: waiting ImagePullBackOff" ImagePullBackOff 30 kstat noimage '{.status.containerStatuses[0].state.waiting.reason}'
until_eq "runAsNonRoot with an image that runs as root: CreateContainerConfigError" CreateContainerConfigError 30 kstat rootimage '{.status.containerStatuses[0].state.waiting.reason}'
until_eq "restartPolicy Always, exit 3: restarted at once, then CrashLoopBackOff after 10 s" "CrashLoopBackOff 2 3" 40 kstat crash '{.status.containerStatuses[0].state.waiting.reason} {.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].lastState.terminated.exitCode}'
# A failing pull alternates: ErrImagePull at each look (every 10 s, doubling), ImagePullBackOff 1 s later
# until the next; the crash pod's wait above spans a look, so either reason is the truthful column.
expect "kubectl get pods (STATUS column; noimage: ErrImagePull or ImagePullBackOff)" \
    "crash CrashLoopBackOff never Error noimage ErrImagePull|ImagePullBackOff onfailure Completed rootimage CreateContainerConfigError" \
    "$(KD get pods --no-headers | awk '$1 != "stubborn" {printf "%s %s ", $1, $3}' | sed 's/ $//;
        s/noimage \(ErrImagePull\|ImagePullBackOff\) /noimage ErrImagePull|ImagePullBackOff /')"
expect "kubectl logs crash (the current run) and --previous: one line each, different runs" "1 1 different" \
    "$(KD logs crash | grep -c '^run at') $(KD logs crash --previous | grep -c '^run at') $([ "$(KD logs crash)" != "$(KD logs crash --previous)" ] && echo different || echo same)"
ev=$(KD describe pod crash | sed -n '/^Events:/,$p')
expect "kubectl describe pod crash: Warning BackOff Event" 1 "$(echo "$ev" | grep -c 'Warning  *BackOff .*Back-off restarting failed container c')"
expect "kubectl describe pod noimage: ErrImagePull and ImagePullBackOff Events" "1 1" \
    "$(KD describe pod noimage | grep -c 'Error: ErrImagePull') $(KD describe pod noimage | grep -c 'Error: ImagePullBackOff')"
until_eq "stubborn (ignores SIGTERM, grace 2 s) runs" Running 30 kstat stubborn '{.status.phase}'
KD get pod stubborn -w -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}{"\n"}' >"$DIR/stubborn-watch.txt" 2>&1 &
WPID=$!
sleep 1
KD delete pod stubborn >/dev/null
kill "$WPID" 2>/dev/null
wait "$WPID" 2>/dev/null
expect "kubectl delete: SIGTERM ignored, SIGKILL at the end of the grace period (exit code seen by get -w)" 137 "$(grep -m1 -o '[0-9][0-9]*' "$DIR/stubborn-watch.txt")"
KD delete pod crash onfailure never noimage rootimage --wait=false >/dev/null

echo "== the controller: deploy/base's Deployment as a pod in runtime:latest"
K create namespace the0 >/dev/null
HP=$(servers_free_port)
cat >"$DIR/kubeconfig" <<KC
apiVersion: v1
kind: Config
current-context: sim
clusters: [{name: sim, cluster: {server: "http://127.0.0.1:$KPORT"}}]
users: [{name: controller, user: {token: controller}}]
contexts: [{name: sim, context: {cluster: sim, user: controller, namespace: the0}}]
KC
K create configmap the0-kubeconfig --from-file=config="$DIR/kubeconfig" >/dev/null
# deploy/base as kustomize renders it (kubectl kustomize): its Secrets and settings ConfigMap with this run's
# values, and the Deployment's pod template as one Pod. What differs from deploy/base, and why, is printed:
# there is no cluster DNS (servers are on 127.0.0.1, pods on the host's network) and serve speaks plain HTTP
# (a kubeconfig instead of the in-cluster config).
kubectl kustomize "$ROOT/deploy/base" >"$DIR/base.yaml" || exit 1
python3 - "$DIR" "$MOTO_ACCESS_KEY" "$MOTO_SECRET_KEY" "$MONGO_PORT" "$NATS_PORT" "$MOTO_ENDPOINT" "$HP" <<'PY' || exit 1
import json, sys, yaml
d, ak, sk, mport, nport, s3ep, hp = sys.argv[1:]
docs = [x for x in yaml.safe_load_all(open(d + "/base.yaml")) if x]
out = []
print("   from deploy/base (kubectl kustomize), with this run's values:")
for o in docs:
    kind, name = o["kind"], o["metadata"]["name"]
    if kind == "Secret" and name == "the0-minio":
        o["stringData"] = {"access-key": ak, "secret-key": sk}
        print("     Secret the0-minio: moto's IAM key (SigV4 verified)")
    elif kind == "Secret":
        o["stringData"].update({"MONGO_URI": "mongodb://127.0.0.1:%s/?serverSelectionTimeoutMS=5000" % mport,
                                "NATS_URL": "nats://127.0.0.1:%s" % nport, "KUBECONFIG": "/etc/the0/kubeconfig/config"})
        print("     Secret %s: MONGO_URI, NATS_URL on 127.0.0.1; KUBECONFIG added" % name)
    elif kind == "ConfigMap":
        print("     ConfigMap %s: MINIO_ENDPOINT %s -> %s" % (name, o["data"]["MINIO_ENDPOINT"], s3ep))
        o["data"]["MINIO_ENDPOINT"] = s3ep
    elif kind == "Deployment":
        tmpl = o["spec"]["template"]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "the0-controller-0", "namespace": "the0",
               "labels": tmpl["metadata"]["labels"]}, "spec": tmpl["spec"]}
        c = pod["spec"]["containers"][0]
        changed = {"--health-addr": "127.0.0.1:" + hp, "--metrics-addr": "127.0.0.1:" + hp, "--termination-grace-period-seconds": "15"}
        args = [a for a in c["args"] if a.split("=")[0] not in changed]
        print("     Deployment %s: its pod template as Pod the0-controller-0 (image %s, command %s); args:" % (name, c["image"], c["command"]))
        for k, v in changed.items():
            old = [a for a in c["args"] if a.split("=")[0] == k]
            print("       %s -> %s=%s" % (old[0] if old else "(unset)", k, v))
            args.append("%s=%s" % (k, v))
        c["args"] = args
        c.setdefault("volumeMounts", []).append({"name": "kubeconfig", "mountPath": "/etc/the0/kubeconfig"})
        pod["spec"].setdefault("volumes", []).append({"name": "kubeconfig", "configMap": {"name": "the0-kubeconfig"}})
        print("       added: a ConfigMap volume with a kubeconfig at /etc/the0/kubeconfig")
        print("     (the host's network instead of cluster DNS and per-pod ports; serve speaks plain HTTP, so no")
        print("      in-cluster config; bot pods stop 15 s after SIGTERM instead of 90 s to keep the stage short)")
        json.dump(pod, open(d + "/controller-pod.json", "w"))
        continue
    else:
        continue
    json.dump(o, open("%s/%s-%s.json" % (d, kind.lower(), name), "w"))
PY
K apply -f "$DIR/secret-the0-minio.json" -f "$DIR/secret-the0-controller-env.json" -f "$DIR"/configmap-*.json >/dev/null || exit 1
K create -f "$DIR/controller-pod.json" >/dev/null || exit 1
until_eq "the controller pod runs" Running 60 jp pod/the0-controller-0 '{.status.phase}' ||
    { K describe pod the0-controller-0 | tail -8; finish; }
ready() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HP/readyz"; }
until_eq "the controller is the leader and ready (/readyz)" 200 30 ready || { K logs the0-controller-0 | tail -8; finish; }
ctl=$(podman_name the0-controller-0 controller)
expect "the controller container runs as uid 1000, read-only root, from runtime:latest" "1000:1000 true localhost/runtime:latest" \
    "$(podman inspect --format '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}} {{.ImageName}}' "$ctl" 2>&1)"
expect "its args: \$(POD_NAMESPACE) and \$(POD_NAME) expanded from fieldRef env" "--namespace=the0 --identity=the0-controller-0" \
    "$(podman inspect --format '{{range .Config.Cmd}}{{.}} {{end}}' "$ctl" | grep -o -- '--namespace=[^ ]*\|--identity=[^ ]*' | tr '\n' ' ' | sed 's/ $//')"

echo "== 1. bot.created: init, the bot, state and logs"
"${S3[@]}" put-code user-1/bot-b1/1.0.0 "$ROOT/e2e/realpods/bot" >/dev/null || exit 1
"${S3[@]}" put-code user-1/bot-s1/1.0.0 "$ROOT/e2e/realpods/bot" >/dev/null || exit 1
# the scheduled bot fires once, at the first whole minute at least 20 s from now; it runs while the
# realtime checks go on, and its checks come last
fire=$(( ( $(date +%s) + 20 + 59 ) / 60 * 60 ))
SCHED="$(date -u -d "@$fire" +%-M) * * * *"
pub --config "{\"schedule\":\"$SCHED\",\"writes\":1,\"mode\":\"once\"}" schedule created s1 || exit 1
B1CONF='{"writes":12,"every":0.25,"tag":"v1"}'
"${S3[@]}" watch-state b1 40 >"$DIR/state-watch.txt" 2>"$DIR/state-watch.log" &
WATCH_PID=$!
pub --config "$B1CONF" bot created b1 || exit 1
until_eq "bot-b1 Running" Running 60 jp pod/bot-b1 '{.status.phase}' || { K describe pod bot-b1 | tail -12; finish; }
expect "init exited 0 (code downloaded and extracted)" "0 Completed" \
    "$(jp pod/bot-b1 '{.status.initContainerStatuses[0].state.terminated.exitCode} {.status.initContainerStatuses[0].state.terminated.reason}')"
until_eq "the bot started (kubectl logs -c bot)" 1 20 bash -c "kubectl --server=http://127.0.0.1:$KPORT --cache-dir=$DIR/cache -n the0 logs bot-b1 -c bot | grep -c '^start bot=b1'"
start_line=$(K logs bot-b1 -c bot | grep '^start bot=b1')
expect "the bot runs as uid 1000 gid 1000 on empty state" "uid=1000 gid=1000 restored=0" "$(echo "$start_line" | grep -o 'uid=[0-9]* gid=[0-9]* restored=[0-9]*')"
for c in init sync bot; do
    want="1000:1000 true"
    [ $c = bot ] && want="1000:1000 false" # the rendered spec lets the bot write /tmp
    expect "container $c: user, read-only root (podman inspect)" "$want" \
        "$(podman inspect --format '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}' "$(podman_name bot-b1 $c)" 2>&1)"
done
"$PUBLISH" --print-document --config "$B1CONF" bot created b1 >"$DIR/b1-doc.json"
"$RUNTIME" render pod "$DIR/b1-doc.json" --minio-endpoint "$MOTO_ENDPOINT" --minio-bucket custom-bots \
    --termination-grace-period-seconds 15 >"$DIR/b1-rendered.json" || exit 1
K get pod bot-b1 -o json >"$DIR/b1-api.json"
# the stored pod is the rendered one (the API adds only nodeName and defaults), and podman ran its containers
# with the rendered command, args, user and read-only root
cmp_out=$(python3 - "$DIR/b1-rendered.json" "$DIR/b1-api.json" <<'PY'
import json, subprocess, sys
r, a = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
diffs = []
for k in ("labels", "annotations"):
    if r["metadata"].get(k) != a["metadata"].get(k): diffs.append("metadata." + k)
def walk(want, got, path):
    if isinstance(want, dict):
        if not isinstance(got, dict): diffs.append(path); return
        for k, v in want.items(): walk(v, got.get(k), path + "." + k)
    elif isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want): diffs.append(path); return
        for i, (w, g) in enumerate(zip(want, got)): walk(w, g, "%s[%d]" % (path, i))
    elif want != got: diffs.append(path)
walk(r["spec"], a["spec"], "spec")
extra = sorted(set(a["spec"]) - set(r["spec"]))
if extra != ["nodeName"]: diffs.append("spec gained %s" % extra)
for c in r["spec"]["initContainers"] + r["spec"]["containers"]:
    cid = [s for s in a["status"].get("initContainerStatuses", []) + a["status"]["containerStatuses"] if s["name"] == c["name"]][0]["containerID"]
    i = json.loads(subprocess.check_output(["podman", "container", "inspect", cid.split("://")[1]]))[0]
    ep = i["Config"]["Entrypoint"] # podman 4.3 prints the entrypoint joined by spaces
    ran = (" ".join(ep) if isinstance(ep, list) else ep, i["Config"]["Cmd"] or [])
    if ran != (" ".join(c["command"]), c.get("args", [])): diffs.append("%s ran %s" % (c["name"], ran))
print(" ".join(diffs) if diffs else "identical")
PY
)
expect "the pod as stored and as podman ran it == the0-runtime render pod" identical "$cmp_out"
until_eq "the bot made its 12 state writes" 12 20 bash -c "kubectl --server=http://127.0.0.1:$KPORT --cache-dir=$DIR/cache -n the0 logs bot-b1 -c bot | grep -c '^wrote count='"
sleep 2
kill "$WATCH_PID" 2>/dev/null
wait "$WATCH_PID" 2>/dev/null
K logs bot-b1 -c bot | grep '^wrote count=' >"$DIR/writes.txt"
# each write's latency: when S3 first held a count >= it, minus when the bot wrote it (one clock: the host's)
lat=$(python3 - "$DIR/writes.txt" "$DIR/state-watch.txt" <<'PY'
import re, sys
writes = [(int(m.group(1)), float(m.group(2))) for m in (re.search(r"count=(\d+) at=([\d.]+)", l) for l in open(sys.argv[1])) if m]
seen = [(float(t), int(c)) for t, c in (l.split() for l in open(sys.argv[2])) if c != "None"]
worst, missing = 0.0, []
for n, at in writes:
    t = next((t for t, c in seen if c >= n), None)
    if t is None: missing.append(n)
    else: worst = max(worst, t - at)
print("never reached S3: %s" % missing if missing else "max %.2f s over %d writes" % (worst, len(writes)))
PY
)
lat_ok=$(echo "$lat" | awk '/^max/ {print ($2 <= 1.0 && $5 > 0) ? "yes" : "no"} !/^max/ {print "no"}')
if [ "$lat_ok" = yes ]; then pass "each state write reached S3 (bot-state/b1/state.tar.gz) within 1 s" "<= 1.00 s" "$lat"
else
    fail "each state write reached S3 (bot-state/b1/state.tar.gz) within 1 s" "<= 1.00 s" "$lat"
    echo "   sync container's last lines (kubectl logs bot-b1 -c sync):"
    K logs bot-b1 -c sync 2>&1 | tail -5 | sed 's/^/     /'
fi
# log lines: every line the bot printed (kubectl logs) is in bot-logs exactly once (lost: not there 10 s later)
check_logs() { # WHAT POD
    local snap
    snap=$(K logs "$2" -c bot | grep -E '^(start|wrote|heartbeat)')
    local res end=$((SECONDS + 10)) # lines not in S3 after 10 s count as lost
    while :; do
    res=$(python3 - "$snap" "$("${S3[@]}" logs b1)" <<'PY'
import re, sys
snap = [l for l in sys.argv[1].splitlines() if l]
shipped = re.findall(r"((?:start bot=|wrote count=|heartbeat )[^\n]*)", sys.argv[2])
counts = {}
for l in shipped: counts[l] = counts.get(l, 0) + 1
lost = [l for l in snap if l not in counts]
dup = sorted(l for l, n in counts.items() if n > 1)
print("%d lines, %d lost, %d duplicated%s" % (len(snap), len(lost), len(dup),
      ("; lost e.g. [%s]" % lost[0]) if lost else ("; duplicated e.g. [%s]" % dup[0]) if dup else ""))
PY
)
    [[ "$res" =~ \ 0\ lost ]] || [ $SECONDS -ge $end ] && break
    sleep 0.5
    done
    if [[ "$res" =~ ^[0-9]+\ lines,\ 0\ lost,\ 0\ duplicated$ ]] && [[ ! "$res" =~ ^0\  ]]; then pass "$1" "every line once" "$res"
    else fail "$1" "every line once" "$res"; fi
}
check_logs "the bot's log lines reached bot-logs/logs/b1/<day>.log once each" bot-b1

echo "== 2. the sync container killed"
sync_ctr=$(podman_name bot-b1 sync)
podman kill --signal KILL "$sync_ctr" >/dev/null
until_eq "sync restarted by the kubelet (restartCount)" 1 20 restarts bot-b1 sync
until_eq "sync running again" running 20 state_of bot-b1 sync
expect "its last run ended by SIGKILL" 137 "$(jp pod/bot-b1 '{.status.containerStatuses[?(@.name=="sync")].lastState.terminated.exitCode}')"
prev=$(K logs bot-b1 -c sync --previous 2>&1 | head -1)
[ -n "$prev" ] && [[ ! "$prev" =~ [Ee]rror ]] && pass "kubectl logs --previous: the killed run's output" "its first line" "$prev" ||
    fail "kubectl logs --previous: the killed run's output" "its first line" "$prev"
sleep 3
check_logs "after the sync restart: no log line lost or duplicated in bot-logs" bot-b1

echo "== 3. kubectl delete pod: the replacement restores the state"
last_written=$(K logs bot-b1 -c bot | grep -c '^wrote count=')
uid_before=$(pod_uid bot-b1)
pub bot created b3 || exit 1 # no code object: see 6.
t0=$SECONDS
K delete pod bot-b1 --wait=false >/dev/null
newpod() { local u; u=$(pod_uid bot-b1); [ -n "$u" ] && [ "$u" != "$uid_before" ] && jp pod/bot-b1 '{.status.phase}' || echo "old"; }
until_eq "a new bot-b1 runs" Running 60 newpod
echo "   replaced in $((SECONDS - t0)) s (grace period 15 s: bash as PID 1 of the bot container ignores SIGTERM)"
until_eq "the new bot restored count=$last_written (the last state it wrote)" "restored=$last_written" 20 \
    bash -c "kubectl --server=http://127.0.0.1:$KPORT --cache-dir=$DIR/cache -n the0 logs bot-b1 -c bot | grep -o 'restored=[0-9]*'"
s3_count() { "${S3[@]}" state b1 | python3 -c 'import json,sys; print(json.load(sys.stdin).get("count"))'; }
until_eq "its own 12 writes on top reached S3" $((last_written + 12)) 20 s3_count

echo "== 4. a config change replaces the pod; the new bot starts from the shipped state"
uid_before=$(pod_uid bot-b1)
hash_before=$(jp pod/bot-b1 '{.metadata.annotations.the0\.dev/config-hash}')
shipped=$(K logs bot-b1 -c bot | grep -o '^wrote count=[0-9]*' | tail -1 | cut -d= -f2)
pub --config '{"writes":2,"every":0.25,"tag":"v2"}' bot updated b1 || exit 1
until_eq "bot-b1 replaced by a pod with the new config" Running 60 newpod
hash_after=$(jp pod/bot-b1 '{.metadata.annotations.the0\.dev/config-hash}')
[ -n "$hash_after" ] && [ "$hash_after" != "$hash_before" ] && pass "new config-hash" "!= $hash_before" "$hash_after" ||
    fail "new config-hash" "!= $hash_before" "$hash_after"
until_eq "the new bot: config v2, restored the count the old one wrote last ($shipped), third run" "restored=$shipped runs=3 tag=v2" 20 \
    bash -c "kubectl --server=http://127.0.0.1:$KPORT --cache-dir=$DIR/cache -n the0 logs bot-b1 -c bot | grep -o 'restored=.*'"

echo "== 6. a bot whose code object is missing"
until_eq "bot-b3's init fails (its last run's exit code)" 1 60 jp pod/bot-b3 '{.status.initContainerStatuses[0].lastState.terminated.exitCode}'
st=$(K get pod bot-b3 --no-headers | awk '{print $3}')
[[ "$st" =~ ^Init: ]] && pass "kubectl get pod bot-b3 shows init failing" "Init:..." "$st" || fail "kubectl get pod bot-b3 shows init failing" "Init:..." "$st"
msg=$(K logs bot-b3 -c init 2>&1 | grep -o 'failed to download code[^"]*' | head -1)
[ -n "$msg" ] && pass "its init log names the cause" "failed to download code..." "$msg" || fail "its init log names the cause" "failed to download code..." "$(K logs bot-b3 -c init 2>&1 | tail -1)"
expect "bot-b1 unaffected (Running, bot and sync restarts)" "Running 0 0" \
    "$(jp pod/bot-b1 '{.status.phase}') $(restarts bot-b1 bot) $(restarts bot-b1 sync)"

echo "== 5. the scheduled bot (CronJob schedule-s1, \"$SCHED\")"
until_eq "CronJob schedule-s1 exists" "cronjob.batch/schedule-s1" 10 K get cronjobs -o name
wait_s=$((fire - $(date +%s)))
echo "   it fires at $(date -u -d "@$fire" +%T) UTC, in ${wait_s} s"
job="schedule-s1-$((fire / 60))"
until_eq "Job $job Complete" "True" $(( (wait_s > 0 ? wait_s : 0) + 60 )) jp "job/$job" '{.status.conditions[?(@.type=="Complete")].status}'
js=$(jp job/$job '{.status.succeeded}') jf=$(jp job/$job '{.status.failed}')
expect "the Job's pods: succeeded, failed" "1 0" "${js:-0} ${jf:-0}"
jpods=$(K get pods -l job-name="$job" -o name | sed 's|pod/||')
expect "pods of the Job" 1 "$(echo "$jpods" | grep -c .)"
jpod=$(echo "$jpods" | head -1)
expect "its pod: bot exited 0, sync exited 0 after the final sync (done file)" "0 0" \
    "$(jp pod/$jpod '{.status.containerStatuses[?(@.name=="bot")].state.terminated.exitCode} {.status.containerStatuses[?(@.name=="sync")].state.terminated.exitCode}')"
expect "state in S3: the bot ran once (runs=1, count=1)" "1 1" "$("${S3[@]}" state s1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("runs"), d.get("count"))')"
expect "its logs in bot-logs: one 'scheduled run done'" 1 "$(python3 "$ROOT/e2e/realpods/s3.py" "$MOTO_ENDPOINT" "$MOTO_ACCESS_KEY" "$MOTO_SECRET_KEY" logs s1 | grep -c 'scheduled run done runs=1')"
expect "no other Job ran" "$job" "$(K get jobs -o name | sed 's|job.batch/||' | tr '\n' ' ' | sed 's/ $//')"

echo "== kubectl describe, logs and Events against serve --run-pods"
ev=$(K describe pod bot-b1 | sed -n '/^Events:/,$p' | awk 'NR>3 {print $2}' | sort -u | tr '\n' ' ' | sed 's/ $//')
for r in Scheduled Pulled Created Started; do
    [[ " $ev " == *" $r "* ]] && pass "kubectl describe pod bot-b1 shows Event $r" "$r" "$ev" || fail "kubectl describe pod bot-b1 shows Event $r" "$r" "$ev"
done
# any incarnation of bot-b3 (the controller may replace a pod stuck in init)
nb=$(K get events --field-selector involvedObject.name=bot-b3,reason=BackOff -o name | wc -l)
[ "$nb" -ge 1 ] && pass "bot-b3: Warning BackOff Events (its init restarted with back-off)" ">= 1" "$nb" ||
    fail "bot-b3: Warning BackOff Events (its init restarted with back-off)" ">= 1" "$nb"

echo "== the soak Job's pod (deploy/soak) in the0-sim:latest: one shard, its report collected"
# the Job's pod template as kubectl kustomize renders it, as the Job controller would make shard 0's pod
# (JOB_COMPLETION_INDEX=0), with a small campaign: 3 seeds of 10 bots
kubectl kustomize "$ROOT/deploy/soak" | python3 -c '
import sys, yaml
job = next(d for d in yaml.safe_load_all(sys.stdin) if d and d.get("kind") == "Job")
tpl = job["spec"]["template"]
c = tpl["spec"]["containers"][0]
env = {e["name"]: e for e in c.get("env", [])}
env["SEEDS_PER_POD"] = {"name": "SEEDS_PER_POD", "value": "3"}
env["SOAK_FLAGS"] = {"name": "SOAK_FLAGS", "value": "--bots 10 --hours 1 --mode safety"}
env["JOB_COMPLETION_INDEX"] = {"name": "JOB_COMPLETION_INDEX", "value": "0"}
c["env"] = list(env.values())
c.pop("resources", None)  # the 2 CPUs a shard asks for are the whole machine here
pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "the0-soak-0", "labels": tpl["metadata"]["labels"]}, "spec": tpl["spec"]}
yaml.safe_dump(pod, sys.stdout)
' >"$DIR/soak-pod.yaml" || exit 1
KD create -f "$DIR/soak-pod.yaml" >/dev/null || exit 1
until_eq "the shard ran to completion (uid 65532, read-only root, reports on an emptyDir)" "Succeeded 0" 120 \
    kstat the0-soak-0 '{.status.phase} {.status.containerStatuses[0].state.terminated.exitCode}'
soakrep=$(KD logs the0-soak-0 | bash "$ROOT/ci/soak-collect.sh" 2>&1)
expect "ci/soak-collect.sh over its logs: seeds, failures" "3 0" "$(echo "$soakrep" | jq -r '"\(.seeds) \(.failed)"' 2>&1)"
KD delete pod the0-soak-0 --wait=false >/dev/null

echo "== 7. deleting the bots, then stopping serve removes every container"
pub bot deleted b1 b3 || exit 1
pub schedule deleted s1 || exit 1
until_eq "bot pods gone" "" 60 bash -c "kubectl --server=http://127.0.0.1:$KPORT --cache-dir=$DIR/cache -n the0 get pods -l the0.dev/managed-by=the0-bot-controller -o name"
inst=$(podman_name the0-controller-0 controller | cut -d_ -f4)
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
rc=$?
SERVE_PID=""
expect "serve exits 0 after SIGTERM" 0 "$rc"
expect "podman containers left by this serve (instance $inst)" 0 "$(podman ps -a --format '{{.Names}}' | grep -c "_${inst}_")"
finish
