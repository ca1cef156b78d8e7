#!/usr/bin/env bash
# soak-smoke.sh: the soak tier of `make test`: a short soak campaign (safety mode, small fleets, invariants
# after every step), a liveness campaign on 100-bot fleets (faults stop, then convergence within the bound,
# pods matching the intent oracle), a short liveness slice on 500-bot fleets, and exhaustive sweeps over a
# few small corpus scenarios; prints the wall time.
#   usage: ci/soak-smoke.sh [the0-sim binary]
#   env: SEEDS=200 BOTS=10 HOURS=1 JOBS=2 LIVE_SEEDS=100 LIVE500_SEEDS=4
set -u
SIM=${1:-build/the0-sim}
SEEDS=${SEEDS:-200}; BOTS=${BOTS:-10}; HOURS=${HOURS:-1}; JOBS=${JOBS:-2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s.%N)
rc=0
"$SIM" soak --seeds "$SEEDS" --bots "$BOTS" --hours "$HOURS" --jobs "$JOBS" --shrink-max 1 \
  --shrink-secs 30 --out "$out" || { echo "soak-smoke: soak failed (failing seeds above; scenarios in $out)"; rc=1; }
"$SIM" soak --mode liveness --seeds "${LIVE_SEEDS:-100}" --bots 100 --hours 1 --jobs "$JOBS" --shrink-max 1 \
  --shrink-secs 30 --out "$out/live" || { echo "soak-smoke: liveness soak failed (failing seeds above)"; rc=1; }
if [ "${LIVE500_SEEDS:-4}" -gt 0 ]; then
  "$SIM" soak --mode liveness --seeds "${LIVE500_SEEDS:-4}" --bots 500 --hours 1 --jobs "$JOBS" --shrink-max 0 \
    --out "$out/live500" || { echo "soak-smoke: 500-bot liveness soak failed (failing seeds above)"; rc=1; }
fi
if [ -n "${SWEEP_FILES:-scenarios/realtime_lifecycle.scn scenarios/controller_crash_mid_replace.scn scenarios/gap14_8_logs_and_state.scn scenarios/crash_loop.scn}" ]; then
  # shellcheck disable=SC2086
  "$SIM" sweep --jobs "$JOBS" ${SWEEP_FILES:-scenarios/realtime_lifecycle.scn scenarios/controller_crash_mid_replace.scn scenarios/gap14_8_logs_and_state.scn scenarios/crash_loop.scn} || {
    echo "soak-smoke: sweep found an invariant violation"; rc=1; }
fi
end=$(date +%s.%N)
printf 'soak-smoke: wall %.1f s\n' "$(echo "$end - $start" | bc)"
exit $rc
