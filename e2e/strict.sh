#!/usr/bin/env bash
# e2e/strict.sh: `the0-sim serve` refuses what a real API server (1.30) refuses, so that a manifest that works
# against it works on a cluster: strict field validation (unknown and duplicate fields; Warn and Ignore),
# namespaces that must exist (and Namespace objects), resourceVersion and size limits, dryRun=All (kubectl
# diff, --dry-run=server), JSON patch, details.causes of a 422, OpenAPI for kubectl explain, Node objects,
# and idle connections that cannot lock clients out. The controller's own Pod and CronJob (the0-runtime
# render) pass strict validation. Each check prints what it expected and what it got; the first mismatch
# fails the script.
#
#   e2e/strict.sh SIM_BINARY RUNTIME_BINARY
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIM="$1" RUNTIME="$2"
source "$ROOT/ci/servers.sh"
source "$ROOT/e2e/checks.sh"
command -v kubectl >/dev/null || { echo "strict: kubectl is not installed (it comes with the base image)" >&2; exit 1; }

DIR=$(mktemp -d /tmp/the0-strict-XXXXXX)
CTL=()
trap e2e_cleanup EXIT

PORT=$(servers_free_port)
e2e_serve "$PORT" "$DIR/serve.log" --nodes 2
URL="http://127.0.0.1:$PORT"
export KUBECONFIG=/dev/null
K() { kubectl --server="$URL" --cache-dir="$DIR/cache" "$@"; }
# code_of METHOD PATH CTYPE BODY-FILE [QUERY]: "HTTP-CODE BODY" of a raw request
raw() { curl -s -o "$DIR/raw.out" -w '%{http_code}' -X "$1" -H "Content-Type: $3" --data-binary @"$4" "$URL$2"; echo " $(cat "$DIR/raw.out")"; }

cat >"$DIR/unknown.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: unknown
spec:
  containers:
  - name: c
    image: busybox
    imagePullPolicyy: Always
EOF

echo "== strict field validation (kubectl --validate=strict|warn|false: fieldValidation=Strict|Warn|Ignore)"
expect "an unknown field under --validate=strict (kubectl's default)" \
    "rc=1: Error from server (BadRequest): error when creating \"$DIR/unknown.yaml\": Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"spec.containers[0].imagePullPolicyy\"" \
    "$(run K create -f "$DIR/unknown.yaml")"
expect "--validate=warn: a Warning, and the pod created without the field" \
    "rc=0: Warning: unknown field \"spec.containers[0].imagePullPolicyy\"
pod/unknown created" "$(run K create -f "$DIR/unknown.yaml" --validate=warn)"
expect "the unknown field was dropped" '{"image":"busybox","name":"c"}' "$(K get pod unknown -o jsonpath='{.spec.containers[0]}')"
sed 's/name: unknown/name: ignored/' "$DIR/unknown.yaml" >"$DIR/ignored.yaml"
expect "--validate=false: no warning" "rc=0: pod/ignored created" "$(run K create -f "$DIR/ignored.yaml" --validate=false)"
printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup","name":"dup2"},"data":{"a":"1"}}' >"$DIR/dup.json"
expect "a duplicate field under fieldValidation=Strict" \
    '400 {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: duplicate field \"metadata.name\"","reason":"BadRequest","details":{"kind":"configmaps"},"code":400}' \
    "$(raw POST '/api/v1/namespaces/default/configmaps?fieldValidation=Strict' application/json "$DIR/dup.json")"
expect "fieldValidation=Warn keeps the last of duplicates" "201 dup2" \
    "$(raw POST '/api/v1/namespaces/default/configmaps' application/json "$DIR/dup.json" | sed -E 's/^([0-9]+) .*"name":"([^"]*)".*/\1 \2/')"
expect "the controller's Pod (the0-runtime render) passes strict validation" "rc=0: pod/bot-ck9x2abc created (server dry run)" \
    "$(run K create --dry-run=server --validate=strict -f <("$RUNTIME" render pod "$ROOT/controllers/tests/golden/bot_ck9x2abc.json"))"
expect "the controller's CronJob passes strict validation" "rc=0: cronjob.batch/schedule-ck9sched01 created (server dry run)" \
    "$(run K create --dry-run=server --validate=strict -f <("$RUNTIME" render cronjob "$ROOT/controllers/tests/golden/schedule_ck9sched01.json"))"

echo "== namespaces must exist"
expect "the namespaces at start" "default kube-node-lease kube-public kube-system the0" "$(K get ns -o name | sed 's#namespace/##' | tr '\n' ' ' | sed 's/ $//')"
expect "a pod in a namespace that does not exist" "rc=1: Error from server (NotFound): namespaces \"team-a\" not found" \
    "$(run K -n team-a run p --image=busybox)"
expect "create a Namespace" "rc=0: namespace/team-a created" "$(run K create namespace team-a)"
expect "then the pod is created" "rc=0: pod/p created" "$(run K -n team-a run p --image=busybox)"
expect "deleting the Namespace deletes what is in it" "rc=0: namespace \"team-a\" deleted" "$(run K delete namespace team-a --wait=false)"
until_re "its pod goes" "^No resources found in team-a namespace.$" 10 K -n team-a get pods
expect "a Namespace name is a DNS label" "rc=1: The Namespace \"a.b\" is invalid: metadata.name: Invalid value: \"a.b\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')" \
    "$(run K create namespace a.b)"

echo "== resourceVersion and size limits"
expect "list with resourceVersion=abc" '400 resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax' \
    "$(curl -s -w '%{http_code}' -o "$DIR/rv.out" "$URL/api/v1/namespaces/default/pods?resourceVersion=abc") $(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["message"])' "$DIR/rv.out")"
expect "watch with resourceVersion=-1" "400" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/namespaces/default/pods?watch=1&resourceVersion=-1")"
/usr/bin/python3 - "$DIR" <<'EOF'
import json, sys
d = sys.argv[1]
def cm(name, data, ann=None):
    md = {"name": name}
    if ann: md["annotations"] = ann
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": data})
open(f"{d}/ann.json", "w").write(cm("ann", {}, {"big": "x" * (300 * 1024)}))
open(f"{d}/body.json", "w").write(cm("body", {"a": "x" * (4 << 20)}))
open(f"{d}/obj.json", "w").write(cm("obj", {"a": "x" * (2 << 20)}))
EOF
expect_re "annotations over 256 KiB" '^422 .*"message":"ConfigMap \\"ann\\" is invalid: metadata.annotations: Too long: must have at most 262144 bytes"' \
    "$(raw POST /api/v1/namespaces/default/configmaps application/json "$DIR/ann.json")"
expect_re "a request body over 3 MiB" '^413 .*"message":"Request entity too large: limit is 3145728","reason":"RequestEntityTooLarge"' \
    "$(raw POST /api/v1/namespaces/default/configmaps application/json "$DIR/body.json")"
expect_re "an object over etcd's 1.5 MiB" '^500 .*"message":"etcdserver: request is too large"' \
    "$(raw POST /api/v1/namespaces/default/configmaps application/json "$DIR/obj.json")"

echo "== dryRun=All"
cat >"$DIR/web.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: web
    image: nginx:1.25
EOF
expect "apply --dry-run=server" "rc=0: pod/web created (server dry run)" "$(run K apply --dry-run=server -f "$DIR/web.yaml")"
expect "nothing was stored" "rc=1: Error from server (NotFound): pods \"web\" not found" "$(run K get pod web)"
expect "apply" "rc=0: pod/web created" "$(run K apply -f "$DIR/web.yaml")"
sed 's/nginx:1.25/nginx:1.26/' "$DIR/web.yaml" >"$DIR/web2.yaml"
expect_re "kubectl diff shows the change (exit 1)" "^rc=1: .*-  - image: nginx:1.25.*\+  - image: nginx:1.26" "$(run K diff -f "$DIR/web2.yaml" | tr '\n' ' ')"
expect "and the live pod is unchanged" "nginx:1.25" "$(K get pod web -o jsonpath='{.spec.containers[0].image}')"
expect "delete --dry-run=server" "rc=0: pod \"web\" deleted (server dry run)" "$(run K delete pod web --dry-run=server)"
expect "the pod is still there" "web" "$(K get pod web -o jsonpath='{.metadata.name}')"
expect_re "dryRun=Some is refused" '^422 .*CreateOptions.meta.k8s.io \\"\\" is invalid: dryRun: Unsupported value: \[\]string\{\\"Some\\"\}: supported values: \\"All\\"' \
    "$(raw POST '/api/v1/namespaces/default/configmaps?dryRun=Some' application/json "$DIR/dup.json")"

echo "== JSON patch (application/json-patch+json, RFC 6902)"
expect "patch --type=json replace" "rc=0: pod/web patched" \
    "$(run K patch pod web --type=json -p '[{"op":"replace","path":"/spec/containers/0/image","value":"nginx:1.27"}]')"
expect "the patched image" "nginx:1.27" "$(K get pod web -o jsonpath='{.spec.containers[0].image}')"
expect "add, move, remove with pointer escapes" "rc=0: pod/web patched" \
    "$(run K patch pod web --type=json -p '[{"op":"add","path":"/metadata/labels/a~1b","value":"1"},{"op":"copy","from":"/metadata/labels/app","path":"/metadata/labels/tier"},{"op":"remove","path":"/metadata/labels/app"}]')"
expect "the labels after it" '{"a/b":"1","tier":"web"}' "$(K get pod web -o jsonpath='{.metadata.labels}')"
expect_re "a failed test operation is a 422" '^rc=1: .*testing value /metadata/name failed: test failed' \
    "$(run K patch pod web --type=json -p '[{"op":"test","path":"/metadata/name","value":"x"}]')"
expect_re "remove of a missing path" '^rc=1: .*Unable to remove nonexistent key: nope: missing value' \
    "$(run K patch pod web --type=json -p '[{"op":"remove","path":"/metadata/nope"}]' | sed 's#/metadata/##')"

echo "== details.causes of a 422"
printf '{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"bad"},"spec":{"schedule":"nope","jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"Always","containers":[{"name":"c","image":"x"}]}}}}}}' >"$DIR/cj.json"
expect "the causes, one per field" \
    '[{"reason": "FieldValueInvalid", "message": "Invalid value: \"nope\": cron expression \"nope\": expected 5 fields (or 6 with seconds), found 1", "field": "spec.schedule"}, {"reason": "FieldValueNotSupported", "message": "Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"", "field": "spec.jobTemplate.spec.template.spec.restartPolicy"}]' \
    "$(raw POST /apis/batch/v1/namespaces/default/cronjobs application/json "$DIR/cj.json" | cut -d' ' -f2- | /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["details"]["causes"]))')"

echo "== OpenAPI: kubectl explain"
expect_re "explain pod.spec" "FIELD: spec <PodSpec>.*containers	<\[\]Container> -required-" "$(K explain pod.spec | tr '\n' ' ')"
expect_re "explain pod.spec.containers" "FIELD: containers <\[\]Container>.*image	<string>.*resources	<ResourceRequirements>" \
    "$(K explain pod.spec.containers | tr '\n' ' ')"
expect_re "explain cronjob.spec.schedule" "FIELD: schedule <string> .*The schedule in Cron format" "$(K explain cronjob.spec.schedule | tr '\n' ' ')"

echo "== Node objects (--nodes 2)"
expect_re "get nodes" "^NAME +STATUS +ROLES +AGE +VERSION"$'\n'"node-1 +Ready +<none> +[0-9]+s +v1.30.0"$'\n'"node-2 +Ready +<none> +[0-9]+s +v1.30.0$" "$(K get nodes)"
expect_re "pods run on them" "node-[12]" "$(K get pod web -o jsonpath='{.spec.nodeName}')"

echo "== 1,100 idle connections (--idle-timeout 2 --max-connections 1000) do not lock clients out"
P2=$(servers_free_port)
e2e_serve "$P2" "$DIR/serve2.log" --nodes 1 --idle-timeout 2 --max-connections 1000
ulimit -n 4096
/usr/bin/python3 - "$P2" >"$DIR/idle.log" 2>&1 <<'EOF' &
import socket, sys, time
socks = []
for _ in range(1100):
    s = socket.socket()
    s.connect(("127.0.0.1", int(sys.argv[1])))
    socks.append(s)
print("opened", len(socks), flush=True)
time.sleep(30)
EOF
SERVER_PIDS+=($!)
until_re "the idle connections are open" "^opened 1100" 10 cat "$DIR/idle.log"
until_re "kubectl still gets answers" "^NAME +STATUS +AGE" 20 kubectl --server="http://127.0.0.1:$P2" --cache-dir="$DIR/cache2" --request-timeout=3s get ns
echo "strict: all checks passed"
