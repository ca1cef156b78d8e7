#!/usr/bin/env bash
# e2e/kind/run.sh: the live scenarios against a real kind cluster: create the cluster, build and load the
# image, deploy the controller with its dependencies, run the checks, delete the cluster.
# Needs a running Docker engine and the kind binary; without them it says so and exits 0 as SKIPPED
# (the reason is printed, and nothing is counted as passed).
set -euo pipefail
cd "$(dirname "$0")/../.."
cluster=${KIND_CLUSTER:-the0-e2e}
if ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then
    echo "e2e/kind: SKIPPED: no Docker engine is running on this machine (docker info failed)"
    exit 0
fi
if ! command -v kind >/dev/null; then
    echo "e2e/kind: SKIPPED: the kind binary is not installed (see https://kind.sigs.k8s.io)"
    exit 0
fi
cleanup() { kind delete cluster --name "$cluster" >/dev/null 2>&1 || true; }
trap cleanup EXIT
kind create cluster --name "$cluster" --wait 120s
docker build -f deploy/Dockerfile -t runtime:latest .
kind load docker-image runtime:latest --name "$cluster"
kubectl create namespace the0 --dry-run=client -o yaml | kubectl apply -f -
kubectl -n the0 apply -f e2e/kind/deps.yaml
kubectl -n the0 rollout status deploy/the0-mongo deploy/the0-nats --timeout=180s
kubectl apply -k deploy/overlays/kind
kubectl -n the0 rollout status deploy/the0-controller --timeout=180s
bash e2e/kind/checks.sh
