# e2e/checks.sh: the check helpers of the e2e scripts (sourced, after ci/servers.sh). Each check prints what
# it expected and what it got; the first mismatch exits 1.
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
# e2e_on_exit DIR: the EXIT trap of a script: stop its servers, show the tails of DIR/*.log when it failed,
# remove DIR, keep the exit status.   trap 'e2e_on_exit "$DIR"' EXIT
e2e_on_exit() {
    local rc=$?
    servers_stop
    if [ $rc -ne 0 ]; then
        for f in "$1"/*.log; do [ -f "$f" ] && { echo "---- $f (tail)"; tail -25 "$f"; }; done
    fi
    rm -rf "$1"
    exit $rc
}
# e2e_serve PORT LOG ARGS...: `the0-sim serve` ($SIM) on 127.0.0.1:PORT, stopped with the other servers
e2e_serve() {
    local port=$1 log=$2; shift 2
    "$SIM" serve --listen "127.0.0.1:$port" "$@" >"$log" 2>&1 &
    SERVER_PIDS+=($!)
    servers_wait_port "$port" "$!" the0-sim-serve "$log"
}
