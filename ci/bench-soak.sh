#!/usr/bin/env bash
# ci/bench-soak.sh: soak seeds per minute (`the0-sim soak`, 100 bots, 1 simulated hour, 2 worker processes).
# Usage: ci/bench-soak.sh [BUILD_DIR]. BENCH_SOAK_SEEDS seeds per round (default 20, to keep make bench short;
# 200 for the issue figure), BENCH_SOAK_ROUNDS rounds (default 3): the median round is the figure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD="${1:-build}"
SEEDS="${BENCH_SOAK_SEEDS:-20}"
ROUNDS="${BENCH_SOAK_ROUNDS:-3}"
make --no-print-directory BUILD="$BUILD" "$BUILD/the0-sim" >&2
out=$(mktemp -d /tmp/the0-soak-bench-XXXXXX)
trap 'rm -rf "$out"' EXIT
for r in $(seq 1 "$ROUNDS"); do
    t0=$(date +%s%N)
    set +e
    "$BUILD/the0-sim" soak --seeds "$SEEDS" --jobs 2 --bots 100 --hours 1 --json --shrink-max 0 --out "$out/fail" \
        >"$out/report.$r" 2>"$out/progress.$r"
    rc=$?
    set -e
    t1=$(date +%s%N)
    echo "$(((t1 - t0) / 1000000)) $rc $(grep '^{' "$out/report.$r" | tail -1 | python3 -c 'import json,sys
try: print(json.loads(sys.stdin.read()).get("failed", "?"))
except ValueError: print("?")')" >>"$out/rounds"
done
python3 - "$SEEDS" "$out/rounds" <<'PY'
import statistics, sys
seeds = int(sys.argv[1])
rows = [l.split() for l in open(sys.argv[2]) if l.strip()]
rates = sorted(seeds / (int(ms) / 60000.0) for ms, _, _ in rows if int(ms) > 0)
med = statistics.median(rates)
walls = sorted(int(ms) / 1000.0 for ms, _, _ in rows)
bad = sum(1 for _, rc, _ in rows if rc != "0")
failing = ",".join(f for _, _, f in rows)
print("soak: %d seeds x 100 bots x 1 simulated hour on 2 worker processes: median %.0f seeds/min over %d rounds "
      "(%.0f-%.0f; median round %.1f s wall); target >= 1000 seeds/min; rounds with a failing seed or error: %d "
      "(failing per round: %s)" % (seeds, med, len(rates), rates[0], rates[-1], statistics.median(walls), bad, failing))
PY
