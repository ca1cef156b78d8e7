#!/usr/bin/env bash
# ci/deps.sh: install the Debian packages the build and the tests need. Idempotent; quick when done.
set -euo pipefail
PKGS=(build-essential pkg-config libcurl4-openssl-dev libcjson-dev libmongoc-dev libbson-dev libnats-dev
      libcriterion-dev libfiu-dev fiu-utils nats-server libarchive-dev libmicrohttpd-dev libyaml-dev
      libssl-dev zlib1g-dev libjemalloc-dev libxxhash-dev nodejs python3-kubernetes python3-yaml
      golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev bubblewrap
      podman runc catatonit mmdebstrap prometheus jq)
# golang-*: ci/helm-render (the Helm chart rendered in make test; Debian has no helm package)
# bubblewrap: the daemon integration tier runs the pod spec's init and sync containers read-only, uid 1000
# podman, runc and catatonit (its pause image; only recommended by podman) run real pods (serve --run-pods);
# mmdebstrap makes their base image (ci/images.sh).
# prometheus: promtool checks /metrics (e2e/ops.sh); 22.5 MB download, 332 MB installed
# jq: ci/soak-collect.sh merges the soak Job's shard reports (e2e/real-pods.sh runs one shard)
# `ci/deps.sh fuzz` also installs the clang toolchain and fuzzer runtime that `make fuzz` needs.
if [ "${1:-}" = fuzz ]; then PKGS+=(clang-14 libclang-rt-14-dev); fi
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
    echo "deps: all ${#PKGS[@]} Debian packages present" >&2
    exit 0
fi
echo "deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
