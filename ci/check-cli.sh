#!/usr/bin/env bash
# ci/check-cli.sh: the command lines of both binaries (make cli-check, part of make test): help everywhere,
# usage errors that name the flag and what it accepts with the documented exit status, one spelling per
# setting shared by `controller` and `render`, `render -o yaml` equal to `-o json`, the warning for MinIO
# keys that are set but unused, and `make help` listing every .PHONY target.
#
#   ci/check-cli.sh RUNTIME SIM
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RT=$(realpath "$1") SIM=$(realpath "$2")
DIR=$(mktemp -d /tmp/the0-cli-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
cd "$DIR" # a soak that ran by mistake would leave soak-out/ here
unset MINIO_ACCESS_KEY MINIO_SECRET_KEY MINIO_USE_SSL NAMESPACE LOG_LEVEL
n=0
pass() { n=$((n + 1)); echo "  ok   $1: expected [$2], got [$3]"; }
fail() { echo "  FAIL $1: expected [$2], got [$3]"; exit 1; }
# expect WHAT RC SUBSTRING CMD...: CMD exits RC and its output (stdout+stderr) contains SUBSTRING
expect() {
    local what=$1 rc=$2 sub=$3 out got=0; shift 3
    out=$("$@" 2>&1) || got=$?
    local first; first=$(printf '%s' "$out" | grep -F -m1 -- "$sub" || true)
    if [ "$got" = "$rc" ] && [ -n "$first" ]; then pass "$what" "exit $rc, \"$sub\"" "exit $got, $first"
    else fail "$what" "exit $rc, \"$sub\"" "exit $got, $(printf '%s' "$out" | head -3 | tr '\n' ' ')"; fi
}
# expect_not WHAT SUBSTRING CMD...: CMD's output does not contain SUBSTRING
expect_not() {
    local what=$1 sub=$2 out; shift 2
    out=$("$@" 2>&1)
    if printf '%s' "$out" | grep -q -F -- "$sub"; then fail "$what" "no \"$sub\"" "$(printf '%s' "$out" | grep -F -m1 -- "$sub")"
    else pass "$what" "no \"$sub\"" "none"; fi
}

echo "== the0-sim"
expect "no command" 2 "usage: the0-sim <command>" "$SIM"
expect "help" 0 "replay [--seed N] FILE..." "$SIM" help
expect "--help" 0 "usage: the0-sim <command>" "$SIM" --help
expect "help soak" 0 "usage: the0-sim soak [flags]" "$SIM" help soak
expect "unknown command" 2 "unknown command 'fly'" "$SIM" fly
for c in run walk fsm faults replay serve soak sweep; do
    expect "$c --help" 0 "usage: the0-sim $c" "$SIM" $c --help
    expect "$c -h" 0 "usage: the0-sim $c" "$SIM" $c -h
    expect "$c with an unknown flag" 2 "the0-sim $c: unknown option '--no-such-flag'" "$SIM" $c --no-such-flag
done
expect_not "walk --help does not walk" "walking one realtime bot" "$SIM" walk --help
expect "soak --seeds -1" 2 'invalid value "-1" for --seeds: an integer from 1 to 1000000000 is expected' "$SIM" soak --seeds -1
expect "soak --seeds abc" 2 'invalid value "abc" for --seeds: an integer from 1 to 1000000000 is expected' "$SIM" soak --seeds abc
expect "soak --seeds 0" 2 'invalid value "0" for --seeds' "$SIM" soak --seeds 0
expect "soak --seed (an abbreviation)" 2 "unknown option '--seed' (did you mean --seeds?)" "$SIM" soak --seed 3
expect "soak --jobs 0" 2 'invalid value "0" for --jobs: an integer from 1 to 256 is expected' "$SIM" soak --jobs 0
expect "soak --hours 1001" 2 'for --hours: an integer from 1 to 1000 is expected' "$SIM" soak --hours 1001
expect "soak --mode fast" 2 'invalid value "fast" for --mode: one of safety|liveness is expected' "$SIM" soak --mode fast
expect "soak --json=maybe" 2 'invalid value "maybe" for --json: true or false is expected' "$SIM" soak --json=maybe
expect "soak --seeds (no value)" 2 "--seeds needs a value" "$SIM" soak --seeds
[ ! -e soak-out ] && pass "no soak ran on a usage error" "no ./soak-out" "none" || fail "no soak ran on a usage error" "no ./soak-out" "$(ls -d soak-out)"
expect "replay without files" 2 "arguments are missing" "$SIM" replay
expect "replay --seed -1" 2 'invalid value "-1" for --seed: an integer from 0 to 18446744073709551615' "$SIM" replay --seed -1 x.scn
expect "replay --log-level loud" 2 'for --log-level: one of debug|info|warn|error|off' "$SIM" replay --log-level loud x.scn
expect "run --every 0s" 2 'invalid value "0s" for --every: a duration of at least 1ms' "$SIM" run --every 0s
expect "run with an argument" 2 "unexpected argument 'x'" "$SIM" run x
expect "serve --nodes 10001" 2 'for --nodes: an integer from 0 to 10000 is expected' "$SIM" serve --nodes 10001
expect "serve --listen nope" 2 'invalid value "nope" for --listen' "$SIM" serve --listen nope
expect "fsm --format svg" 2 'invalid value "svg" for --format: one of mermaid|dot|markdown' "$SIM" fsm --format svg
expect "fsm two tables" 2 "unexpected argument 'pod'" "$SIM" fsm bot pod
expect "fsm --check" 0 "fsm bot      ok" "$SIM" fsm --check
expect "faults with an argument" 2 "unexpected argument 'x'" "$SIM" faults x
expect "sweep without files" 2 "arguments are missing" "$SIM" sweep
expect "sweep --max-calls 0" 2 'for --max-calls: an integer from 1 to 1000000' "$SIM" sweep --max-calls 0 x.scn

echo "== the0-runtime"
expect "no command" 2 "usage: the0-runtime <command>" "$RT"
expect "help" 0 "controller [flags]" "$RT" help
expect "help render" 0 "usage: the0-runtime render pod|cronjob FILE" "$RT" help render
expect "version" 0 "the0-runtime version " "$RT" version
expect "--version" 0 "the0-runtime version " "$RT" --version
expect "unknown command" 2 "unknown command 'fly'" "$RT" fly
for c in controller render version; do
    expect "$c --help" 0 "usage: the0-runtime $c" "$RT" $c --help
    expect "$c with an unknown flag" 2 "the0-runtime $c: unknown option '--no-such-flag'" "$RT" $c --no-such-flag
done
expect "controller --minio-secret (old spelling)" 2 "unknown option '--minio-secret' (did you mean --minio-secret-name?)" "$RT" controller --minio-secret=x
expect "controller --termination-grace-period (old spelling)" 2 "(did you mean --termination-grace-period-seconds?)" "$RT" controller --termination-grace-period=30
expect "controller --kube-qps=-1" 2 'invalid value "-1" for --kube-qps: a number from 0 to 1e+06 is expected' "$RT" controller --kube-qps=-1
expect "controller --reconcile-interval=30" 2 'invalid value "30" for --reconcile-interval: a duration of at least 1ms' "$RT" controller --reconcile-interval=30
expect "controller --kube-burst=0" 2 'invalid value "0" for --kube-burst: an integer from 1 to 1000000' "$RT" controller --kube-burst=0
expect "controller --runtime-image-pull-policy=Sometimes" 2 'one of Always|IfNotPresent|Never is expected' "$RT" controller --runtime-image-pull-policy=Sometimes
expect "controller MINIO_USE_SSL=maybe" 2 'invalid value "maybe" in $MINIO_USE_SSL (for --minio-use-ssl): true or false is expected' env MINIO_USE_SSL=maybe "$RT" controller
expect "controller --health-addr=8080" 2 'invalid value "8080" for --health-addr' "$RT" controller --health-addr=8080
expect "controller leader election order" 2 "--leader-elect-retry-period < --leader-elect-renew-deadline" "$RT" controller --leader-elect-retry-period=20s
# the warning: MinIO keys set but unused (the controller then stops at the missing kubeconfig, exit 1)
expect "controller: MinIO keys set but unused" 1 "MINIO_ACCESS_KEY/MINIO_SECRET_KEY are set but unused" \
    env MINIO_ACCESS_KEY=ak KUBECONFIG="$DIR/none" "$RT" controller --health-addr=127.0.0.1:0 --kubeconfig="$DIR/none"
expect_not "controller: no warning with --plain-credentials" "set but unused" \
    env MINIO_ACCESS_KEY=ak MINIO_SECRET_KEY=sk "$RT" controller --plain-credentials --health-addr=127.0.0.1:0 --kubeconfig="$DIR/none"
# one spelling per setting: every flag of render (but -o) is a flag of the controller
rflags=$("$RT" render --help | grep -o -E '^  (-., )?--[a-z0-9-]+' | sed 's/.*--//' | grep -v -x -E 'output|help' | sort)
cflags=$("$RT" controller --help | grep -o -E '^  (-., )?--[a-z0-9-]+' | sed 's/.*--//' | sort)
missing=$(comm -23 <(echo "$rflags") <(echo "$cflags") | tr '\n' ' ')
[ -z "$missing" ] && pass "render's settings are spelled as the controller's" "$(echo $rflags | wc -w) shared flags" "none missing" || \
    fail "render's settings are spelled as the controller's" "none missing" "$missing"
cat >bot.json <<'JSON'
{"id":"ck9x2abc","config":{"symbol":"BTC/USD","type":"realtime/price-alerts","version":"1.0.0","n":"5","on":"true","e":"","schedule":"0 9 * * *"},
 "custom":{"version":"1.0.0","filePath":"u1/price-alerts/1.0.0","config":{"name":"price-alerts","runtime":"python3.11","entrypoints":{"bot":"main.py"}}}}
JSON
expect "render without a file" 2 "arguments are missing" "$RT" render pod
expect "render daemonset" 2 "what to render is pod or cronjob, not 'daemonset'" "$RT" render daemonset bot.json
expect "render -o xml" 2 'invalid value "xml" for --output: one of json|yaml is expected' "$RT" render pod bot.json -o xml
expect "render a missing file" 1 "render: open nope.json: No such file" "$RT" render pod nope.json
for kind in pod cronjob; do
    "$RT" render $kind bot.json -o json >$kind.json && "$RT" render $kind bot.json --output=yaml >$kind.yaml || fail "render $kind" "exit 0" "exit $?"
    same=$(/usr/bin/python3 -c 'import json, sys, yaml; print(yaml.safe_load(open(sys.argv[1])) == json.load(open(sys.argv[2])))' $kind.yaml $kind.json)
    [ "$same" = True ] && pass "render $kind -o yaml reads back equal to -o json" True "$same" || fail "render $kind -o yaml == -o json" True "$same"
done
expect "render: MinIO keys set but unused" 0 "render: warning: MINIO_ACCESS_KEY/MINIO_SECRET_KEY are set but unused" env MINIO_SECRET_KEY=sk "$RT" render pod bot.json
expect "render --plain-credentials puts the keys into env values" 0 '"value":	"ak"' env MINIO_ACCESS_KEY=ak MINIO_SECRET_KEY=sk "$RT" render pod bot.json --plain-credentials
expect "render --termination-grace-period-seconds=-1" 2 'an integer from 0 to 86400 is expected' "$RT" render pod bot.json --termination-grace-period-seconds=-1
expect "render NAMESPACE from the environment" 0 '"namespace":	"team-a"' env NAMESPACE=team-a "$RT" render pod bot.json
echo "== the0-runtime daemon (usage errors exit 1, as the reference)"
expect "daemon without a command" 1 "usage: the0-runtime daemon <command>" "$RT" daemon
expect "daemon help" 0 "init --bot-id ID" "$RT" daemon help
expect "daemon bogus" 1 "unknown command 'bogus'" "$RT" daemon bogus
expect "daemon init --help" 0 "usage: the0-runtime daemon init --bot-id ID" "$RT" daemon init --help
expect "daemon init without --bot-id" 1 'Error: required flag(s) "bot-id" not set' "$RT" daemon init
expect "daemon init --nope" 1 "unknown option '--nope'" "$RT" daemon init --bot-id b --nope
expect "daemon sync --interval 60" 1 'invalid value "60" for --interval: a duration from 1ms to 24h0m0s' "$RT" daemon sync --bot-id b --interval 60
expect "daemon sync --help" 0 "usage: the0-runtime daemon sync" "$RT" daemon sync --help

echo "== make help lists every .PHONY target"
cd "$ROOT"
listed=$(make -s --no-print-directory help | awk '/^  make /{print $2}' | sort -u)
phony=$(cat Makefile */*.mk 2>/dev/null | grep -h '^\.PHONY:' | sed 's/^\.PHONY://' | tr ' ' '\n' | grep -v '^$' | sort -u)
missing=$(comm -23 <(echo "$phony") <(echo "$listed") | tr '\n' ' ')
[ -z "$missing" ] && pass "make help" "$(echo $phony | wc -w) .PHONY targets listed" "none missing" || fail "make help" "every .PHONY target" "missing: $missing"
echo "$n passed, 0 failed"
