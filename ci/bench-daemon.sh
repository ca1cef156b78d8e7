#!/usr/bin/env bash
# ci/bench-daemon.sh: print `daemon sync` figures against a real s3rver: state-change -> object-updated latency
# (median, p99), write -> MinIO latency under a steady writer (one write every 100 ms: p50, p99, max) and
# log-shipping throughput. Usage: ci/bench-daemon.sh [BUILD_DIR] (default build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD="${1:-build}"
make --no-print-directory BUILD="$BUILD" "$BUILD/the0-runtime" "$BUILD/bench/bench_daemon" >&2
dir=$(mktemp -d /tmp/the0-s3-bench-XXXXXX)
trap 'bash ci/s3-servers.sh stop "$dir"; rm -rf "$dir"' EXIT
bash ci/s3-servers.sh start "$dir"
set -a; . "$dir/env"; set +a
MINIO_ENDPOINT="$S3RVER_ENDPOINT" MINIO_ACCESS_KEY=S3RVER MINIO_SECRET_KEY=S3RVER \
    "$BUILD/bench/bench_daemon" "$(pwd)/$BUILD/the0-runtime" "${BENCH_ROUNDS:-40}" "${BENCH_LOG_MIB:-8}" "${BENCH_STEADY_S:-20}"
