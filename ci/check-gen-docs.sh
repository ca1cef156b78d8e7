#!/usr/bin/env bash
# ci/check-gen-docs.sh SIM [--write]: the generated docs must equal what the simulator generates:
# docs/fsm/<table>.md from the FSM tables (`the0-sim fsm --format markdown TABLE`) and docs/faults.md from
# the fault-point table (`the0-sim faults`). With --write, regenerate them instead. Also validates every table.
set -euo pipefail
sim=$1
mode=${2:-check}
"$sim" fsm --check
rc=0
# gen DOC WHAT CMD...: DOC must equal CMD's output (WHAT names the source in the message)
gen() {
    local doc=$1 what=$2 want
    shift 2
    want=$(mktemp)
    "$@" >"$want"
    if [ "$mode" = --write ]; then
        mv "$want" "$doc"
        echo "docs: wrote $doc"
    elif ! diff -u "$doc" "$want" >/dev/null 2>&1; then
        echo "docs-check: $doc differs from $what; run 'make docs' and commit it:" >&2
        diff -u "$doc" "$want" | head -20 >&2 || true
        rm -f "$want"
        rc=1
    else
        rm -f "$want"
    fi
}
for t in bot schedule pod sync; do
    gen "docs/fsm/$t.md" "the $t table" "$sim" fsm --format markdown "$t"
done
gen docs/faults.md "the fault-point table (sim/faults.c)" "$sim" faults
[ "$mode" = --write ] || [ $rc -ne 0 ] || echo "docs-check: docs/fsm/*.md match the tables, docs/faults.md the fault points"
exit $rc
