#!/usr/bin/env bash
# replay-all.sh: the scenario tier of `make test`: replay every scenarios/*.scn twice per seed and compare
# the traces byte for byte; check that a deliberately wrong expectation fails with the seed and the replay
# command printed; print FSM transition coverage over the corpus (rows fired of total, rows never fired).
#   usage: ci/replay-all.sh [the0-sim binary]      env: SEEDS="1 2"
set -u
SIM=${1:-build/the0-sim}
SEEDS=${SEEDS:-"1 2"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rc=0
shopt -s nullglob
files=(scenarios/*.scn)
if [ ${#files[@]} -eq 0 ]; then echo "replay-all: no scenarios/*.scn"; exit 1; fi
for f in "${files[@]}"; do
  for s in $SEEDS; do
    ok=1
    for run in a b; do
      if ! "$SIM" replay --quiet --seed "$s" --trace "$tmp/$run.trace" "$f" >"$tmp/$run.out" 2>&1; then
        echo "FAIL $f seed=$s (run $run)"; cat "$tmp/$run.out"; rc=1; ok=0; break
      fi
    done
    [ $ok = 1 ] || continue
    ha=$(sha256sum <"$tmp/a.trace" | cut -c1-16); hb=$(sha256sum <"$tmp/b.trace" | cut -c1-16)
    if [ "$ha" != "$hb" ]; then
      echo "NONDETERMINISTIC $f seed=$s: trace $ha vs $hb"; diff "$tmp/a.trace" "$tmp/b.trace" | head -20; rc=1
    else
      echo "ok $f seed=$s twice, identical traces ($(wc -l <"$tmp/a.trace") lines, sha256 $ha)"
    fi
  done
done
# A deliberately wrong expectation must fail (exit 1) and print the seed and the command that replays it.
wrong=scenarios/tests/wrong_expectation.scn
out=$("$SIM" replay --quiet --seed 7 "$wrong" 2>&1); st=$?
if [ $st -ne 1 ] || ! grep -qx 'seed=7' <<<"$out" || ! grep -qF "replay: build/the0-sim replay --seed 7 $wrong" <<<"$out"; then
  echo "FAIL: $wrong should fail with exit 1, the seed and the replay command (exit $st):"; echo "$out"; rc=1
else
  echo "ok $wrong fails as it should, printing seed=7 and the replay command"
fi
"$SIM" replay --quiet --coverage "${files[@]}" | sed -n '/^coverage/,$p'
exit $rc
