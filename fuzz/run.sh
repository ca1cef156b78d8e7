#!/usr/bin/env bash
# fuzz/run.sh SECONDS FUZZ_DIR NAME...: replay regressions, fuzz each target for SECONDS, fail with reproducers on crashes.
set -uo pipefail
secs=$1
dir=$2
shift 2
rc=0
failed=()
for name in "$@"; do
    bin=$dir/fuzz_$name
    corpus=$dir/corpus/$name
    art=$dir/crashes/$name
    log=$dir/logs/$name.log
    mkdir -p "$corpus" "$art" "$dir/logs"
    opts=(-rss_limit_mb=2048 -timeout=5 -artifact_prefix="$art/" -print_final_stats=1)
    [ -f "fuzz/$name.dict" ] && opts+=(-dict="fuzz/$name.dict")

    # 1. every saved regression input must run clean
    regs=()
    [ -d "fuzz/regressions/$name" ] && mapfile -t regs < <(find "fuzz/regressions/$name" -type f ! -name '*.md' | sort)
    if ((${#regs[@]})); then
        if ! "$bin" "${opts[@]}" "${regs[@]}" >"$dir/logs/$name.regressions.log" 2>&1; then
            echo "fuzz $name: a regression input fails again; see $dir/logs/$name.regressions.log"
            echo "  re-run: $bin ${regs[*]}"
            rc=1
            failed+=("$name")
            continue
        fi
    fi

    # 2. fuzz from the committed seeds; new inputs go to the first directory (build/, not the repo)
    seeds=()
    [ -d "fuzz/corpus/$name" ] && seeds=("fuzz/corpus/$name")
    "$bin" "${opts[@]}" -max_total_time="$secs" "$corpus" "${seeds[@]}" >"$log" 2>&1
    st=$?
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
    printf 'fuzz %-10s %3ss  execs %-9s exec/s %-7s cov %-5s ft %-6s corpus %-12s rss %sMB\n' "$name" "$secs" \
        "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rss:-?}"
    if ((st != 0)); then
        rc=1
        failed+=("$name")
        repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        echo "fuzz $name: FAILED (exit $st); log $log"
        grep -m1 -E 'ERROR: |runtime error:|fuzz archive oracle' "$log" | sed 's/^/  /'
        if [ -n "$repro" ]; then
            echo "  reproducer: $repro"
            echo "  re-run:     $bin $repro"
            echo "  then save it as fuzz/regressions/$name/<short-name> (see fuzz/README.md)"
        fi
    fi
done
if ((rc)); then echo "make fuzz: FAILED: ${failed[*]}"; else echo "make fuzz: ${#@} targets ran clean"; fi
exit $rc
