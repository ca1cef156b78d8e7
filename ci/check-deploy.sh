#!/usr/bin/env bash
# ci/check-deploy.sh: the packaging tier of make test (deploy/README.md).
#  - `kubectl kustomize` renders deploy/base, deploy/overlays/kind, an overlay with the ServiceMonitor component
#    and deploy/soak; ci/helm-render renders the Helm chart with its defaults and with the optional parts on/off;
#    ci/check_deploy.py checks each: names, cross-references (selectors, ports, ServiceAccount, Role, ConfigMap,
#    Secret), rollout strategy, PDB, the reference chart's values and args, and that every controller flag and
#    environment variable is one `the0-runtime controller --help` documents;
#  - `kubectl apply -f deploy/` finds no manifest that would start a Job (the soak Job lives in deploy/soak/);
#  - the release binary (make release) has no fault points and does not load libfiu; the image installs no
#    libfiu and builds that binary; .dockerignore leaves build output, node_modules and .git out.
#
#   ci/check-deploy.sh RUNTIME RELEASE_RUNTIME HELM_RENDER
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNTIME=$1 RELEASE=$2 HELM=$3
cd "$ROOT"
DIR=$(mktemp -d /tmp/the0-deploy-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
export KUBECONFIG=/dev/null
PY=/usr/bin/python3
$PY -c 'import yaml' 2>/dev/null || bash ci/deps.sh
ok() { echo "  ok   $1: [$2]"; }
fail() { echo "  FAIL $1: expected [$2], got [$3]"; exit 1; }

echo "== deploy: kustomize"
"$RUNTIME" controller --help >"$DIR/help"
kubectl kustomize deploy/base | $PY ci/check_deploy.py base "$DIR/help"
kubectl kustomize deploy/overlays/kind | $PY ci/check_deploy.py kind "$DIR/help"
mkdir -p "$DIR/monitor"
# kustomize takes only relative paths
rel=$(realpath --relative-to="$DIR/monitor" "$ROOT/deploy")
printf 'resources: [%s]\ncomponents: [%s]\n' "$rel/base" "$rel/components/servicemonitor" >"$DIR/monitor/kustomization.yaml"
kubectl kustomize "$DIR/monitor" | $PY ci/check_deploy.py monitor "$DIR/help"
kubectl kustomize deploy/soak | $PY ci/check_deploy.py soak "$DIR/help"

echo "== deploy: Helm chart (rendered by ci/helm-render: text/template + sprig, as helm template)"
CHART=deploy/helm/the0-runtime
H() { "$HELM" "$CHART" --release the0 --namespace the0 "$@"; }
H | $PY ci/check_deploy.py helm-default "$DIR/help" "$DIR/help.rules"
H --set botController.metrics.serviceMonitor.enabled=true | $PY ci/check_deploy.py helm-monitor "$DIR/help" "$DIR/help.rules"
H --set botController.podDisruptionBudget.enabled=false | $PY ci/check_deploy.py helm-nopdb "$DIR/help" "$DIR/help.rules"
H --set botController.minio.plainCredentials=true | $PY ci/check_deploy.py helm-plain "$DIR/help" "$DIR/help.rules"
out=$(H --set minio.accessKey= 2>&1 || true)
[[ "$out" == *"minio.accessKey is required"* ]] && ok "helm: an empty minio.accessKey is refused" "$out" || \
    fail "helm: an empty minio.accessKey is refused" "minio.accessKey is required" "$out"
out=$(H --set botController.enabled=false)
[ -z "$out" ] && ok "helm: botController.enabled=false renders nothing" "" || fail "helm: botController.enabled=false" "" "$out"

echo "== deploy: kubectl apply -f deploy/ starts nothing"
# kubectl apply -f DIR reads DIR's own *.yaml, *.yml and *.json files (not subfolders)
top=$(find deploy -maxdepth 1 -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) | sort | tr '\n' ' ')
[ -z "$top" ] && ok "no manifest at deploy/ top level (apply -k deploy/base or an overlay)" "" || \
    fail "no manifest at deploy/ top level" "" "$top"
jobs=$(grep -rl --include='*.yaml' -E '^kind: (Job|CronJob)' deploy | grep -v '^deploy/soak/' || true)
[ -z "$jobs" ] && ok "Job manifests only under deploy/soak/" "" || fail "Job manifests only under deploy/soak/" "" "$jobs"

echo "== deploy: the production binary has no fault injection"
n=$(ldd "$RELEASE" | grep -c libfiu || true)
[ "$n" = 0 ] && ok "ldd $RELEASE: libfiu" "not loaded" || fail "ldd $RELEASE: libfiu" "not loaded" "$(ldd "$RELEASE" | grep libfiu)"
n=$(nm "$RELEASE" | grep -c ' fiu_' || true)
[ "$n" = 0 ] && ok "symbols fiu_* in $RELEASE" "0" || fail "symbols fiu_* in $RELEASE" 0 "$n"
n=$(grep -c -a -E 'posixfs/write|s3/get' "$RELEASE" || true)
[ "$n" = 0 ] && ok "fault point names in $RELEASE" "0" || fail "fault point names in $RELEASE" 0 "$n"
n=$(grep -c -a -E 'posixfs/write' "$RUNTIME" || true)
[ "$n" -gt 0 ] && ok "the test build keeps its fault points ($RUNTIME)" "$n" || fail "fault points in $RUNTIME" ">0" "$n"
"$RELEASE" version | grep -q '^the0-runtime version ' && ok "$RELEASE version" "$("$RELEASE" version)" || \
    fail "$RELEASE version" "the0-runtime version ..." "$("$RELEASE" version 2>&1)"
runtime_pkgs=$(sed -n '/^FROM .* AS build/,$p' deploy/Dockerfile | awk '/^FROM debian:bookworm-slim$/{f=1} f' | grep -c libfiu || true)
[ "$runtime_pkgs" = 0 ] && ok "deploy/Dockerfile's runtime stage installs no libfiu" "" || \
    fail "deploy/Dockerfile's runtime stage installs no libfiu" 0 "$runtime_pkgs"
grep -q 'make .*release' deploy/Dockerfile && ok "deploy/Dockerfile builds with make release" "" || \
    fail "deploy/Dockerfile builds with make release" "make release" "$(grep 'RUN make' deploy/Dockerfile)"
for p in 'build/' '.git' 'node_modules'; do
    grep -q -F "$p" .dockerignore && ok ".dockerignore leaves out $p" "" || fail ".dockerignore leaves out $p" "$p" "$(cat .dockerignore)"
done
echo "deploy: all checks passed"
