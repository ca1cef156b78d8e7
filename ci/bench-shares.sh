#!/usr/bin/env bash
# ci/bench-shares.sh: where the simulator's CPU goes, shipped code against the simulator's own, and what the shipped
# code alone costs against issue 17's budgets (docs/bench.md, "What the fidelity rule costs"):
#   - bench_sim's fleet of 1,000 bots: its first hour, and its further hours (a run of 1 + BENCH_SHARES_HOURS
#     hours less a run of the first hour, sample counts category by category); budget 36 us per bot-hour
#     (100,000x real time);
#   - a soak of BENCH_SHARES_SEEDS seeds (default 40) at 100 bots, one job; budget 40 ms per seed (3,000 seeds a
#     minute on 2 cores).
# Needs perf with DWARF call chains (linux-perf); without it, says so and measures nothing.
# Usage: ci/bench-shares.sh [BUILD_DIR] (default build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD="${1:-build}"
HOURS="${BENCH_SHARES_HOURS:-6}"
SEEDS="${BENCH_SHARES_SEEDS:-40}"
# (bench_sim runs on its own in ci/bench.sh too: its path is not quoted here, or bench.sh would leave it to us)
BSIM=$BUILD/bench/bench_sim
make --no-print-directory BUILD="$BUILD" "$BUILD/the0-sim" $BSIM >&2
dir=$(mktemp -d /tmp/the0-shares-XXXXXX)
trap 'rm -rf "$dir"' EXIT
if ! command -v perf >/dev/null || ! perf record -q --call-graph dwarf -o "$dir/probe.data" true >/dev/null 2>&1; then
    echo "shares: not measured: perf cannot record call chains here (install linux-perf; perf_event_paranoid <= 2)"
    exit 0
fi
rec() { perf record -q --call-graph dwarf,16384 -F "${BENCH_SHARES_HZ:-4000}" -o "$dir/$1.data" "${@:2}" >"$dir/$1.out" 2>&1
        perf script -i "$dir/$1.data" -F ip,sym,srcline --full-source-path >"$dir/$1.script" 2>/dev/null; }
root=$(pwd)

# the figures to scale by, measured without the profiler (medians of 3 runs)
line=$(BENCH_STEADY_HOURS=3 $BSIM 1000)
first=$(sed -n 's/.*; \([0-9.]*\) us CPU per bot-hour; .*/\1/p' <<<"$line" | head -1)
further=$(sed -n 's/.*real time; \([0-9.]*\) us CPU per bot-hour (the first hour.*/\1/p' <<<"$line")

BENCH_PROFILE_HOURS=1 rec one $BSIM 1000
BENCH_PROFILE_HOURS=$((1 + HOURS)) rec more $BSIM 1000
echo "bench_sim, 1,000 bots, the first hour (creates the fleet: $first us CPU per bot-hour):"
ci/cpu_shares.py "$root" "$dir/one.script" --per-bot-hour "$first" --budget 36
echo "bench_sim, 1,000 bots, each further hour of the running fleet ($further us CPU per bot-hour; $HOURS hours):"
ci/cpu_shares.py "$root" "$dir/more.script" --minus "$dir/one.script" --per-bot-hour "$further" --budget 36

# CPU per seed without the profiler (user + sys of one job), then the profile
/usr/bin/time -o "$dir/soak.time" -f "%U %S" "$BUILD/the0-sim" soak --seeds "$SEEDS" --bots 100 --jobs 1 \
    --out "$dir/soak-out" >/dev/null 2>&1 || true
cpu=$(awk -v n="$SEEDS" 'END { printf "%.4f", ($1 + $2) / n }' "$dir/soak.time")
rec soak "$BUILD/the0-sim" soak --seeds "$SEEDS" --bots 100 --jobs 1 --out "$dir/soak-out"
# a seed is 100 bots and 10 schedules for an hour (110 bot-hours); 3,000 seeds a minute on 2 cores is 40 ms a seed
echo "soak, 100 bots, $SEEDS seeds, one job ($cpu CPU s per seed):"
ci/cpu_shares.py "$root" "$dir/soak.script" --per-bot-hour "$(awk -v c="$cpu" 'BEGIN { print c * 1e6 / 110 }')" \
    --budget "$(awk 'BEGIN { print 40e3 / 110 }')"
