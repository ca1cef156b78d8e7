#!/usr/bin/env bash
# ci/bench-soak.sh: soak seeds per minute (`the0-sim soak`, safety mode, 1 simulated hour per seed, 2 worker
# processes) at 100 and at 500 bots, BENCH_SOAK_SEEDS seeds per round (default 200). Rounds: BENCH_SOAK_ROUNDS at
# 100 bots (default 3; the median round is the figure), BENCH_SOAK_ROUNDS_500 at 500 bots (default 1: a round takes
# minutes). Besides seeds per wall minute it prints the CPU seconds per seed (the workers' user + system time),
# and what 2 idle cores would do with that (2 x 60 / CPU s per seed): the machine is shared.
# Usage: ci/bench-soak.sh [BUILD_DIR].
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD="${1:-build}"
SEEDS="${BENCH_SOAK_SEEDS:-200}"
make --no-print-directory BUILD="$BUILD" "$BUILD/the0-sim" >&2
out=$(mktemp -d /tmp/the0-soak-bench-XXXXXX)
trap 'rm -rf "$out"' EXIT

# rounds BOTS ROUNDS TARGET: runs the rounds and prints the figure
rounds() {
    local bots=$1 n=$2 target=$3 r
    : >"$out/rounds"
    for r in $(seq 1 "$n"); do
        set +e
        /usr/bin/time -f "%e %U %S" -o "$out/time" "$BUILD/the0-sim" soak --seeds "$SEEDS" --jobs 2 --bots "$bots" --hours 1 \
            --json --shrink-max 0 --out "$out/fail" >"$out/report" 2>"$out/progress"
        local rc=$?
        set -e
        local failed
        failed=$(grep '^{' "$out/report" | tail -1 | python3 -c 'import json,sys
try: print(json.loads(sys.stdin.read()).get("failed", "?"))
except ValueError: print("?")')
        echo "$(tail -1 "$out/time") $rc $failed" >>"$out/rounds"
    done
    python3 - "$SEEDS" "$bots" "$target" "$out/rounds" <<'PY'
import statistics, sys
seeds, bots, target = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
rows = [l.split() for l in open(sys.argv[4]) if l.strip()]
rates = sorted(seeds / (float(w) / 60.0) for w, _, _, _, _ in rows)
cpu = sorted((float(u) + float(s)) / seeds for _, u, s, _, _ in rows)
med, medcpu = statistics.median(rates), statistics.median(cpu)
bad = sum(1 for r in rows if r[3] != "0")
print("soak: %d seeds x %d bots x 1 simulated hour, 2 worker processes, %d round%s: median %.0f seeds/min (%.0f-%.0f) "
      "[target >= %.0f: %.2fx the target, %s]; %.2f CPU s per seed (2 idle cores: %.0f seeds/min); rounds with a failing "
      "seed or error: %d (failing seeds per round: %s)"
      % (seeds, bots, len(rows), "s" if len(rows) > 1 else "", med, rates[0], rates[-1], target, med / target,
         "met" if med >= target else "not met", medcpu, 120 / medcpu, bad, ",".join(r[4] for r in rows)))
PY
}
rounds 100 "${BENCH_SOAK_ROUNDS:-3}" 3000
rounds 500 "${BENCH_SOAK_ROUNDS_500:-1}" 500
