# e2e/checks.sh: the check helpers of the live e2e scripts (sourced): each prints what it expected and what it
# got; a mismatch exits 1.
#   expect WHAT WANT GOT              exact equality
#   until_eq WHAT WANT SECONDS CMD... run CMD (a command or a shell function) until its output equals WANT
pass() { echo "  ok   $1: expected [$2], got [$3]"; }
fail() { echo "  FAIL $1: expected [$2], got [$3]"; exit 1; }
expect() { if [ "$2" == "$3" ]; then pass "$@"; else fail "$@"; fi; }
until_eq() {
    local what=$1 want=$2 secs=$3 out=""; shift 3
    local end=$((SECONDS + secs))
    while :; do
        out=$("$@" 2>&1 || true)
        if [ "$out" == "$want" ]; then pass "$what" "$want" "$out"; return 0; fi
        [ $SECONDS -lt $end ] || fail "$what" "$want within ${secs}s" "$out"
        sleep 0.2
    done
}
