#!/usr/bin/env bash
# ci/check-fsm-docs.sh SIM [--write]: docs/fsm/<table>.md must equal what the FSM tables generate.
# With --write, regenerate them instead. Also validates every table.
set -euo pipefail
sim=$1
mode=${2:-check}
"$sim" fsm --check
rc=0
for t in bot schedule pod sync; do
    want=$(mktemp)
    "$sim" fsm --format markdown "$t" >"$want"
    if [ "$mode" = --write ]; then
        mv "$want" "docs/fsm/$t.md"
        echo "docs: wrote docs/fsm/$t.md"
    elif ! diff -u "docs/fsm/$t.md" "$want" >/dev/null 2>&1; then
        echo "docs-check: docs/fsm/$t.md differs from the $t table; run 'make docs' and commit it:" >&2
        diff -u "docs/fsm/$t.md" "$want" | head -20 >&2 || true
        rm -f "$want"
        rc=1
    else
        rm -f "$want"
    fi
done
[ "$mode" = --write ] || [ $rc -ne 0 ] || echo "docs-check: docs/fsm/*.md match the tables"
exit $rc
