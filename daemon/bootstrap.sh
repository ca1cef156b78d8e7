#!/bin/bash
# bootstrap.sh: Docker-mode container command (reference §12): init, sync in the background, run the bot, and on
# exit or SIGTERM forward the signal to the bot, write the done file and wait for the final sync.
#
# Env (as the Docker runner sets it): BOT_ID, CODE_FILE, RUNTIME, ENTRYPOINT, IS_SCHEDULED, MINIO_*.
# Overridable for tests: THE0_RUNTIME (/app/runtime), THE0_BOT_DIR (/bot), THE0_STATE_DIR (/state),
# THE0_VAR_DIR (/var/the0), THE0_SYNC_GRACE (seconds to wait for the final sync, default 60).
# Differences from the reference: SIGTERM/SIGINT reach the bot (it runs in the background and bash waits
# for it, so the trap runs at once instead of after the bot exits); the done file always gets the exit
# status (the sync process is always told via SIGTERM, and also via the done file when scheduled).
set -e
RUNTIME_BIN="${THE0_RUNTIME:-/app/runtime}"
BOT_DIR="${THE0_BOT_DIR:-/bot}"
STATE_DIR="${THE0_STATE_DIR:-/state}"
VAR_DIR="${THE0_VAR_DIR:-/var/the0}"
GRACE="${THE0_SYNC_GRACE:-60}"
export THE0_BOT_DIR="$BOT_DIR" THE0_VAR_DIR="$VAR_DIR"

# 1. init: a failure exits here, before anything runs (no trap installed yet).
"$RUNTIME_BIN" daemon init --bot-id "$BOT_ID" --code-path "$BOT_DIR" --state-path "$STATE_DIR" \
    --code-file "$CODE_FILE" --runtime "$RUNTIME" --entrypoint "$ENTRYPOINT"

# 2. sync in the background.
mkdir -p "$VAR_DIR/logs"
SYNC_ARGS=(--bot-id "$BOT_ID" --state-path "$STATE_DIR" --logs-path "$VAR_DIR/logs")
if [ "$IS_SCHEDULED" = "true" ]; then SYNC_ARGS+=(--watch-done "$VAR_DIR/done"); fi
"$RUNTIME_BIN" daemon sync "${SYNC_ARGS[@]}" &
SYNC_PID=$!
BOT_PID=""

finish() {
    local status=$1
    trap - EXIT INT TERM
    set +e
    if [ "$IS_SCHEDULED" = "true" ]; then echo "$status" > "$VAR_DIR/done"; fi
    # The final sync: SIGTERM makes the sidecar ship state and logs within its deadline, then exit.
    if kill -0 "$SYNC_PID" 2>/dev/null; then
        kill -TERM "$SYNC_PID" 2>/dev/null
        for _ in $(seq 1 $((GRACE * 10))); do kill -0 "$SYNC_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SYNC_PID" 2>/dev/null
    fi
    wait "$SYNC_PID" 2>/dev/null
    exit "$status"
}

# The bot proper is a child of entrypoint.sh's bash (next to tee). Signal it, not tee or that bash, so the
# bot can shut down cleanly, its last output still reaches bot.log, and the EXIT trap records its status.
children_of() {
    local f stat
    for f in /proc/[0-9]*/stat; do
        read -r stat < "$f" 2>/dev/null || continue
        stat=${stat##*) }   # fields after "pid (comm) "
        set -- $stat        # $1 state, $2 ppid
        if [ "$2" = "$BOT_PID" ]; then f=${f#/proc/}; echo "${f%/stat}"; fi
    done
}

on_signal() {
    local sig=$1 pid comm sent=0
    if [ -n "$BOT_PID" ] && kill -0 "$BOT_PID" 2>/dev/null; then
        for pid in $(children_of); do
            read -r comm < "/proc/$pid/comm" 2>/dev/null || continue
            [ "$comm" = tee ] && continue
            kill "-$sig" "$pid" 2>/dev/null && sent=1
        done
        [ "$sent" = 1 ] || kill "-$sig" "$BOT_PID" 2>/dev/null
        wait "$BOT_PID"
        finish $?
    fi
    finish $((128 + $(kill -l "$sig")))
}

trap 'finish $?' EXIT
trap 'on_signal TERM' TERM
trap 'on_signal INT' INT

# 3. the bot, in the background so that bash acts on signals while it runs.
cd "$BOT_DIR"
set +e
/bin/bash "$BOT_DIR/entrypoint.sh" &
BOT_PID=$!
wait "$BOT_PID"
finish $?
