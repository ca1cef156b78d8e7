#!/usr/bin/env bash
# e2e/conformance.sh: hold `the0-sim serve` to what real clients need (reference/environment.md §6): kubectl
# (create, get -o wide, get cronjobs, label selectors, get -w, apply --server-side, client-side apply twice,
# delete then NotFound, Status errors, the deploy/ manifests) and python3-kubernetes (e2e/pyclient.py).
# Each check prints what it expected and what it got; the script stops at the first mismatch.
#
#   e2e/conformance.sh SIM_BINARY
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIM="$1"
source "$ROOT/ci/servers.sh"
source "$ROOT/e2e/checks.sh"
command -v kubectl >/dev/null || { echo "conformance: kubectl is not installed (it comes with the base image)" >&2; exit 1; }
/usr/bin/python3 -c 'import kubernetes' 2>/dev/null || bash "$ROOT/ci/deps.sh"

DIR=$(mktemp -d /tmp/the0-conformance-XXXXXX)
CTL=()
trap e2e_cleanup EXIT

PORT=$(servers_free_port)
e2e_serve "$PORT" "$DIR/serve.log" --nodes 2 --access-log
URL="http://127.0.0.1:$PORT"
export KUBECONFIG=/dev/null
K() { kubectl --server="$URL" --cache-dir="$DIR/cache" "$@"; }


cat >"$DIR/pod.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  labels: {app: web, tier: front}
spec:
  containers:
  - name: web
    image: nginx:1.25
EOF
sed 's/web-1/web-2/; s/tier: front/tier: back/' "$DIR/pod.yaml" >"$DIR/pod2.yaml"
cat >"$DIR/cj.yaml" <<'EOF'
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
  labels: {app: report}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: report
            image: busybox:1.36
EOF
# the CronJob must not fire while the checks run (the served cluster keeps wall-clock time): its minute
# is half an hour away from now
CJ_MIN=$(( (10#$(date -u +%M) + 30) % 60 ))
sed -i "s#\*/5 \* \* \* \*#$CJ_MIN * * * *#" "$DIR/cj.yaml"

echo "== kubectl against the0-sim serve at $URL"
expect "server version (the dispatcher then runs kubectl 1.30)" "v1.30.0" \
    "$(K version -o json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])')"
expect "kubectl client chosen by the dispatcher" "v1.30" \
    "$(K version -o json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"][:5])')"
expect "create -f pod" "rc=0: pod/web-1 created" "$(run K create -f "$DIR/pod.yaml")"
expect_re "create -f the same pod again" "^rc=1: Error from server \(AlreadyExists\): error when creating .*: pods \"web-1\" already exists$" \
    "$(run K create -f "$DIR/pod.yaml")"
expect "create -f cronjob" "rc=0: cronjob.batch/report created" "$(run K create -f "$DIR/cj.yaml")"
until_re "get pods -o wide: wide columns and a Running pod on a node" \
    "NAME +READY +STATUS +RESTARTS +AGE +IP +NODE +NOMINATED NODE +READINESS GATES"$'\n'"web-1 +1/1 +Running +0 +[0-9]+s +10\.244\.[0-9]+\.[0-9]+ +node-[12] +<none> +<none>" \
    10 K get pods -o wide
expect_re "get pods (no wide columns)" "^NAME +READY +STATUS +RESTARTS +AGE"$'\n'"web-1 +1/1 +Running +0 +[0-9]+s$" "$(K get pods)"
expect_re "get cronjobs" "^NAME +SCHEDULE +SUSPEND +ACTIVE +LAST SCHEDULE +AGE"$'\n'"report +$CJ_MIN \* \* \* \* +False +0 +<none> +[0-9]+s$" \
    "$(K get cronjobs)"
expect_re "get cj -o wide" "CONTAINERS +IMAGES +SELECTOR"$'\n'"report .* report +busybox:1\.36 +<none>$" "$(K get cj -o wide)"
expect_re "get all (categories: pods and cronjobs)" "pod/web-1 .*cronjob.batch/report" "$(K get all | tr '\n' ' ')"
expect "get po (short name) -o name" "pod/web-1" "$(K get po -o name)"
expect "get pods -o jsonpath (plain JSON answer)" "web-1 default" "$(K get pods -o jsonpath='{.items[0].metadata.name} {.items[0].metadata.namespace}')"

echo "== label selectors"
expect "create a second pod" "rc=0: pod/web-2 created" "$(run K create -f "$DIR/pod2.yaml")"
expect "-l app=web" "pod/web-1 pod/web-2" "$(K get pods -l app=web -o name | tr '\n' ' ' | sed 's/ $//')"
expect "-l tier=back" "pod/web-2" "$(K get pods -l tier=back -o name)"
expect "-l 'tier in (front,x)'" "pod/web-1" "$(K get pods -l 'tier in (front,x)' -o name)"
expect "-l tier!=front" "pod/web-2" "$(K get pods -l 'tier!=front' -o name)"
expect "-l app=nope" "rc=0: No resources found in default namespace." "$(run K get pods -l app=nope)"
expect_re "a malformed selector is a 400 from the server" "^rc=1: .*(BadRequest|unable to parse requirement|invalid)" \
    "$(run K get pods -l 'app in (')"

echo "== get -w"
K get pods -w --request-timeout=5s >"$DIR/watch.out" 2>&1 &
WPID=$!
sleep 1
K delete pod web-2 --wait=false >/dev/null
K create -f "$DIR/pod.yaml" --dry-run=client -o json | sed 's/web-1/web-3/' | K create -f - >/dev/null
set +e
wait $WPID
wrc=$?
set -e
expect "get -w exits 0 when the server ends the watch (timeoutSeconds)" "0" "$wrc"
wout=$(cat "$DIR/watch.out")
expect_re "get -w printed the table header once" "^NAME +READY +STATUS +RESTARTS +AGE"$'\n' "$wout"
expect "get -w header count" "1" "$(grep -c '^NAME ' "$DIR/watch.out")"
expect_re "get -w saw web-2 terminate" "web-2 +[0-9]/1 +Terminating" "$wout"
expect_re "get -w saw web-3 created and running" "web-3 +0/1 +(Pending|ContainerCreating).*web-3 +1/1 +Running" "$(tr '\n' ' ' <<<"$wout")"

echo "== apply"
sed 's/name: report/name: ssa/' "$DIR/cj.yaml" >"$DIR/ssa.yaml"
expect "apply --server-side (absent: created)" "rc=0: cronjob.batch/ssa serverside-applied" "$(run K apply --server-side -f "$DIR/ssa.yaml")"
sed -i "s#$CJ_MIN \* \* \* \*#0 3 * * *#" "$DIR/ssa.yaml"
expect "apply --server-side (present: merged)" "rc=0: cronjob.batch/ssa serverside-applied" "$(run K apply --server-side -f "$DIR/ssa.yaml")"
expect "the applied change is stored" "0 3 * * *" "$(K get cj ssa -o jsonpath='{.spec.schedule}')"
sed 's/web-1/web-4/' "$DIR/pod.yaml" >"$DIR/pod4.yaml"
expect "apply -f (client-side, absent)" "rc=0: pod/web-4 created" "$(run K apply -f "$DIR/pod4.yaml")"
expect "apply -f again" "rc=0: pod/web-4 unchanged" "$(run K apply -f "$DIR/pod4.yaml")"
sed -i 's/nginx:1.25/nginx:1.26/' "$DIR/pod4.yaml"
expect "apply -f with a new image" "rc=0: pod/web-4 configured" "$(run K apply -f "$DIR/pod4.yaml")"
expect "the new image is stored" "nginx:1.26" "$(K get pod web-4 -o jsonpath='{.spec.containers[0].image}')"
expect "patch --type=merge" "rc=0: cronjob.batch/report patched" "$(run K patch cj report --type=merge -p '{"spec":{"suspend":true}}')"
expect_re "suspend shows in the table" "report +$CJ_MIN \* \* \* \* +True" "$(K get cj report)"

echo "== delete and Status errors"
expect "delete pod (waits for the GET to say 404)" "rc=0: pod \"web-1\" deleted" "$(run K delete pod web-1)"
expect "get the deleted pod" "rc=1: Error from server (NotFound): pods \"web-1\" not found" "$(run K get pod web-1)"
expect "delete cronjob" "rc=0: cronjob.batch \"report\" deleted" "$(run K delete cronjob report)"
expect "get the deleted cronjob (qualified resource)" "rc=1: Error from server (NotFound): cronjobs.batch \"report\" not found" \
    "$(run K get cronjob report)"
expect "delete a missing pod" "rc=1: Error from server (NotFound): pods \"nope\" not found" "$(run K delete pod nope)"
expect "delete --ignore-not-found" "rc=0: " "$(run K delete pod nope --ignore-not-found)"
expect "Status body of a 404" '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"nope\" not found","reason":"NotFound","details":{"name":"nope","kind":"pods"},"code":404}' \
    "$(curl -s "$URL/api/v1/namespaces/default/pods/nope")"
expect "HTTP code of a 404" "404" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/namespaces/default/pods/nope")"
expect_re "a PUT with a stale resourceVersion is a 409 Conflict" '"reason":"Conflict".*"code":409' \
    "$(K get pod web-4 -o json | sed 's/"resourceVersion": "[0-9]*"/"resourceVersion": "1"/' |
        curl -s -X PUT -H 'Content-Type: application/json' --data-binary @- "$URL/api/v1/namespaces/default/pods/web-4")"
expect_re "an invalid CronJob is a 422 Invalid" "^rc=1: .*CronJob.batch \"bad\" is invalid: spec.schedule: Invalid value" \
    "$(run K create cronjob bad --image=busybox --schedule='not a schedule')"
expect "openapi v2 is 404 (kubectl falls back to v3)" "404" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/openapi/v2")"

echo "== watch from a too-old resourceVersion (410 as an ERROR event)"
# kfake keeps the last 1000 events per kind: make more than that with one keep-alive connection
/usr/bin/python3 - "$PORT" <<'EOF' >"$DIR/churn.out"
import http.client, json, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
t = time.time()
for i in range(600):
    body = json.dumps({"apiVersion": "v1", "kind": "Event", "metadata": {"name": f"churn-{i}"},
                       "involvedObject": {"kind": "Pod", "name": "web-4"}, "reason": "Churn", "type": "Normal"})
    c.request("POST", "/api/v1/namespaces/default/events", body, {"Content-Type": "application/json"})
    assert c.getresponse().read() and True
    c.request("DELETE", f"/api/v1/namespaces/default/events/churn-{i}")
    c.getresponse().read()
print(f"{1200 / (time.time() - t):.0f}")
EOF
echo "   (server-side throughput: $(cat "$DIR/churn.out") event creates+deletes/s over one connection)"
expect_re "watch?resourceVersion=1" '^\{"type":"ERROR","object":\{"kind":"Status","apiVersion":"v1","metadata":\{\},"status":"Failure","message":"too old resource version: 1 \([0-9]+\)","reason":"Expired","code":410\}\}$' \
    "$(curl -s -m 5 "$URL/api/v1/namespaces/default/events?watch=true&resourceVersion=1")"

echo "== deploy/ manifests (kubectl kustomize deploy/base, applied)"
# serve has no policy/v1 (PodDisruptionBudget): the rest of the base is applied; ci/check-deploy.sh checks all
kubectl kustomize "$ROOT/deploy/base" | /usr/bin/python3 -c '
import sys, yaml
docs = [d for d in yaml.safe_load_all(sys.stdin) if d and d["kind"] != "PodDisruptionBudget"]
yaml.safe_dump_all(docs, sys.stdout)' >"$DIR/base.yaml"
out=$(run K apply -f "$DIR/base.yaml")
expect_re "apply -k deploy/base" "^rc=0: .*namespace/the0 (created|configured).*deployment.apps/the0-controller created" "$(echo $out)"
expect_re "the objects are listed" "serviceaccount/the0-controller .*role.rbac.authorization.k8s.io/the0-controller .*rolebinding.rbac.authorization.k8s.io/the0-controller .*configmap/the0-controller-config-[a-z0-9]+ .*secret/the0-controller-env .*secret/the0-minio .*service/the0-controller-metrics .*deployment.apps/the0-controller" \
    "$(K -n the0 get sa,role,rolebinding,configmap,secret,svc,deploy -o name | tr '\n' ' ')"
expect "namespace the0 is Active" "Active" "$(K get ns the0 -o jsonpath='{.status.phase}')"
expect "Secret stringData is stored as base64 data" "CHANGE-ME" "$(K -n the0 get secret the0-minio -o jsonpath='{.data.access-key}' | base64 -d)"
expect_re "apply the base again" "deployment.apps/the0-controller unchanged" "$(run K apply -f "$DIR/base.yaml")"
expect_re "delete the base's RBAC" "^rc=0: serviceaccount \"the0-controller\" deleted" "$(run K -n the0 delete sa,role,rolebinding the0-controller)"
expect "the Role is gone" "rc=1: Error from server (NotFound): roles.rbac.authorization.k8s.io \"the0-controller\" not found" \
    "$(run K -n the0 get role the0-controller)"

echo "== kubectl latency (wall clock of the whole kubectl process, discovery cached)"
t0=$(date +%s%N)
for _ in $(seq 1 10); do K get pods >/dev/null; done
t1=$(date +%s%N)
for _ in $(seq 1 10); do K get pod web-4 >/dev/null; done
t2=$(date +%s%N)
echo "   kubectl get pods: $(((t1 - t0) / 10000000)) ms per call; kubectl get pod NAME: $(((t2 - t1) / 10000000)) ms per call"

echo "== python3-kubernetes"
/usr/bin/python3 "$ROOT/e2e/pyclient.py" "$URL"
echo "conformance: all checks passed"
