# e2e/checks.sh: the check helpers of the e2e scripts (sourced). Each check prints what it expected and
# what it got; the first mismatch exits 1.
pass() { echo "  ok   $1: expected [$2], got [$3]"; }
fail() { echo "  FAIL $1: expected [$2], got [$3]"; exit 1; }
# expect WHAT WANT GOT: exact equality
expect() { if [ "$2" == "$3" ]; then pass "$@"; else fail "$@"; fi; }
# expect_re WHAT REGEX GOT: an extended regular expression match
expect_re() { if [[ "$3" =~ $2 ]]; then pass "$1" "/$2/" "$3"; else fail "$1" "/$2/" "$3"; fi; }
# until_re WHAT REGEX SECONDS CMD...: run CMD until its output matches (wall-clock time of the simulation)
until_re() {
    local what=$1 re=$2 secs=$3 out=""; shift 3
    for _ in $(seq 1 $((secs * 5))); do
        out=$("$@" 2>&1 || true)
        if [[ "$out" =~ $re ]]; then pass "$what" "/$re/" "$out"; return 0; fi
        sleep 0.2
    done
    fail "$what" "/$re/ within ${secs}s" "$out"
}
# run CMD...: its combined output and exit code as "rc=N: output"
run() { local out rc=0; out=$("$@" 2>&1) || rc=$?; echo "rc=$rc: $out"; }
