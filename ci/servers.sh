# ci/servers.sh: shared helpers (sourced) that install and start the test servers on free 127.0.0.1 ports:
# nats-server -js (Debian) and CongoDB (MongoDB wire protocol; pinned smartmongo tarball, see
# reference/environment.md §4). The caller owns the processes: every servers_start_* appends its pid to
# the array SERVER_PIDS, and servers_stop kills and reaps them (call it from an EXIT trap).
#
#   source ci/servers.sh
#   servers_install                                   # deps.sh + CongoDB's npm packages (idempotent)
#   port=$(servers_free_port)
#   servers_start_nats PORT STORE_DIR LOG             # nats-server -js, waits for the port
#   servers_start_congo PORT LOG                      # CongoDB, waits for the port
#   servers_wait_port PORT PID NAME LOG               # 10 s; fails naming the log when PID exits
#   servers_start_serve SIM PORT LOG [ARGS...]        # `the0-sim serve` (ARGS: --nodes 3 ...), waits for the port
#   servers_start_serve_timed SIM PORT LOG [ARGS...]  # the same with --access-log, each line prefixed with the
#                                                     # wall time (ns) serve wrote it at (benchmarks)
#   servers_kubeconfig FILE PORT                      # a kubeconfig for the served cluster (namespace the0)
#   servers_stop
SERVERS_CI="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SERVERS_CONGO="$SERVERS_CI/congo"
SERVERS_SMARTMONGO_SHA256=1f9915eb73859a62183e589a699f58b9fd006c972deb5ce6f61fa945defbc22e
SERVER_PIDS=()

servers_die() { echo "servers: $*" >&2; return 1; }

servers_install() {
    bash "$SERVERS_CI/deps.sh" || return 1
    command -v nats-server >/dev/null || servers_die "nats-server is not installed (ci/deps.sh)" || return 1
    command -v node >/dev/null || servers_die "node is not installed (apt-get install nodejs npm)" || return 1
    command -v npm >/dev/null || servers_die "npm is not installed (apt-get install npm)" || return 1
    if [ ! -d "$SERVERS_CONGO/node_modules/mingo" ] || [ "$SERVERS_CONGO/package-lock.json" -nt "$SERVERS_CONGO/node_modules" ]; then
        echo "servers: npm ci CongoDB's dependencies into $SERVERS_CONGO" >&2
        (cd "$SERVERS_CONGO" && npm ci --ignore-scripts --no-audit --no-fund >&2) || servers_die "npm ci failed" || return 1
        touch "$SERVERS_CONGO/node_modules"
    fi
    if [ ! -f "$SERVERS_CONGO/vendor/package/dist_ts/congodb/index.js" ]; then
        # smartmongo@2.2.0's own dependency ranges do not resolve on the registry, so it is unpacked, not
        # installed; its checksum pins the exact tarball.
        echo "servers: npm pack @push.rocks/smartmongo@2.2.0" >&2
        (cd "$SERVERS_CONGO" && npm pack @push.rocks/smartmongo@2.2.0 >/dev/null 2>&1) || servers_die "npm pack failed" || return 1
        echo "$SERVERS_SMARTMONGO_SHA256  $SERVERS_CONGO/push.rocks-smartmongo-2.2.0.tgz" | sha256sum -c --quiet - ||
            servers_die "smartmongo tarball checksum mismatch" || return 1
        mkdir -p "$SERVERS_CONGO/vendor"
        tar xzf "$SERVERS_CONGO/push.rocks-smartmongo-2.2.0.tgz" -C "$SERVERS_CONGO/vendor"
        rm -f "$SERVERS_CONGO/push.rocks-smartmongo-2.2.0.tgz"
    fi
}

servers_free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

servers_wait_port() { # PORT PID NAME LOG
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        kill -0 "$2" 2>/dev/null || servers_die "$3 exited during start-up (log: $4)" || return 1
        sleep 0.05
    done
    servers_die "$3 did not open port $1 within 10 s (log: $4)"
}

servers_start_nats() { # PORT STORE_DIR LOG
    nats-server -a 127.0.0.1 -p "$1" -js -sd "$2" >"$3" 2>&1 &
    SERVER_PIDS+=($!)
    servers_wait_port "$1" "$!" nats-server "$3"
}

servers_start_congo() { # PORT LOG
    node "$SERVERS_CONGO/start.mjs" "$1" >"$2" 2>&1 &
    SERVER_PIDS+=($!)
    servers_wait_port "$1" "$!" congodb "$2"
}

servers_start_serve() { # SIM PORT LOG [ARGS...]
    local sim=$1 port=$2 log=$3; shift 3
    "$sim" serve --listen "127.0.0.1:$port" "$@" >"$log" 2>&1 &
    SERVER_PIDS+=($!)
    servers_wait_port "$port" "$!" the0-sim-serve "$log"
}

servers_start_serve_timed() { # SIM PORT LOG [ARGS...]
    local sim=$1 port=$2 log=$3; shift 3
    "$sim" serve --listen "127.0.0.1:$port" --access-log "$@" \
        2> >(exec python3 -u -c 'import sys,time
for l in sys.stdin: sys.stdout.write("%d %s" % (time.time_ns(), l)); sys.stdout.flush()' >"$log") &
    SERVER_PIDS+=($!)
    servers_wait_port "$port" "$!" the0-sim-serve "$log"
}

servers_kubeconfig() { # FILE PORT
    cat >"$1" <<KC
apiVersion: v1
kind: Config
current-context: sim
clusters: [{name: sim, cluster: {server: "http://127.0.0.1:$2"}}]
users: [{name: the0, user: {token: the0}}]
contexts: [{name: sim, context: {cluster: sim, user: the0, namespace: the0}}]
KC
}

servers_stop() {
    local p
    for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    SERVER_PIDS=()
}
