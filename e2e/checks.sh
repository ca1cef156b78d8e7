# e2e/checks.sh: the check helpers of the live e2e scripts (sourced, after ci/servers.sh): each prints what it
# expected and what it got; a mismatch exits 1.
#   expect WHAT WANT GOT              exact equality
#   expect_re WHAT REGEX GOT          an extended regular expression match
#   until_eq WHAT WANT SECONDS CMD... run CMD (a command or a shell function) until its output equals WANT
#   until_re WHAT REGEX SECONDS CMD... run CMD until its output matches REGEX
#   run CMD...                        CMD's combined output and exit code as "rc=N: output"
#   e2e_serve PORT LOG ARGS...        `the0-sim serve` ($SIM) on 127.0.0.1:PORT, stopped with the servers
#   trap e2e_cleanup EXIT             kill -9 the controllers in the array CTL, stop the servers (ci/servers.sh),
#                                     print the logs' tails in DIR when the script failed, remove DIR
#                                     (E2E_KEEP=1: copied to /tmp/e2e-kept first)
pass() { echo "  ok   $1: expected [$2], got [$3]"; }
fail() { echo "  FAIL $1: expected [$2], got [$3]"; exit 1; }
expect() { if [ "$2" == "$3" ]; then pass "$@"; else fail "$@"; fi; }
expect_re() { if [[ "$3" =~ $2 ]]; then pass "$1" "/$2/" "$3"; else fail "$1" "/$2/" "$3"; fi; }
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
until_re() {
    local what=$1 re=$2 secs=$3 out=""; shift 3
    local end=$((SECONDS + secs))
    while :; do
        out=$("$@" 2>&1 || true)
        if [[ "$out" =~ $re ]]; then pass "$what" "/$re/" "$out"; return 0; fi
        [ $SECONDS -lt $end ] || fail "$what" "/$re/ within ${secs}s" "$out"
        sleep 0.2
    done
}
run() { local out rc=0; out=$("$@" 2>&1) || rc=$?; echo "rc=$rc: $out"; }

e2e_serve() {
    local port=$1 log=$2; shift 2
    "$SIM" serve --listen "127.0.0.1:$port" "$@" >"$log" 2>&1 &
    SERVER_PIDS+=($!)
    servers_wait_port "$port" "$!" the0-sim-serve "$log"
}

# e2e_cleanup: the EXIT trap: stops the controllers in CTL and the servers, removes the files in E2E_LEFT
# (files a check planted outside DIR), prints the logs' tails when the script failed.
e2e_cleanup() {
    local rc=$? p
    for p in "${CTL[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for p in "${CTL[@]}"; do wait "$p" 2>/dev/null || true; done
    servers_stop
    rm -f ${E2E_LEFT[@]+"${E2E_LEFT[@]}"}
    if [ $rc -ne 0 ]; then
        for f in "$DIR"/*.log; do [ -f "$f" ] && { echo "---- $f (tail)"; tail -25 "$f"; }; done
    fi
    [ -n "${E2E_KEEP:-}" ] && cp -r "$DIR" /tmp/e2e-kept
    rm -rf "$DIR"
    exit $rc
}
