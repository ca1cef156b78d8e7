#!/usr/bin/env bash
# ci/bench-soak.sh: soak seeds per minute (`the0-sim soak`, 100 bots, 1 simulated hour, 2 worker processes).
# Usage: ci/bench-soak.sh [BUILD_DIR]; BENCH_SOAK_SEEDS (default 20, to keep make bench short; 200 for the issue figure).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD="${1:-build}"
SEEDS="${BENCH_SOAK_SEEDS:-20}"
make --no-print-directory BUILD="$BUILD" "$BUILD/the0-sim" >&2
out=$(mktemp -d /tmp/the0-soak-bench-XXXXXX)
trap 'rm -rf "$out"' EXIT
t0=$(date +%s%N)
set +e
"$BUILD/the0-sim" soak --seeds "$SEEDS" --jobs 2 --bots 100 --hours 1 --json --shrink-max 0 --out "$out/fail" \
    >"$out/report" 2>"$out/progress"
rc=$?
set -e
t1=$(date +%s%N)
wall=$(((t1 - t0) / 1000000))
json=$(grep '^{' "$out/report" | tail -1 || true)
python3 - "$SEEDS" "$wall" "$rc" "$json" <<'PY'
import json, sys
seeds, wall_ms, rc, line = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rep = {}
try:
    rep = json.loads(line) if line else {}
except ValueError:
    pass
done = rep.get("seeds", seeds)
failed = rep.get("failed", rep.get("failing", "?"))
mins = wall_ms / 60000.0
print("soak: %s seeds x 100 bots x 1 simulated hour on 2 worker processes in %.1f s wall = %.0f seeds/min "
      "(target >= 1000 seeds/min; one run; exit %d, failing seeds %s)" % (done, wall_ms / 1000.0, done / mins if mins else 0, rc, failed))
PY
