#!/usr/bin/env bash
# ci/bench.sh BUILD: run every benchmark and print its figures (medians and ratios; never pass/fail on
# timing). Each benchmark binary in BUILD/bench runs in turn, then the benchmark scripts in ci/bench-*.sh.
set -uo pipefail
build=${1:-build}
echo "bench: $(date -u +%FT%TZ), $(nproc) cores, $(uname -m); figures are medians unless stated; this machine is shared"
rc=0
for b in "$build"/bench/*; do
    [ -x "$b" ] || continue
    # a binary that needs servers is run by the ci/bench-*.sh script that names it
    if grep -q "bench/$(basename "$b")\"" ci/bench-*.sh 2>/dev/null; then continue; fi
    echo "== $(basename "$b")"
    "$b" || rc=1
done
for s in ci/bench-*.sh; do
    [ -f "$s" ] || continue
    echo "== $s"
    bash "$s" "$build" || rc=1
done
exit $rc
