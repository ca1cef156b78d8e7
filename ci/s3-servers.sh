#!/usr/bin/env bash
# ci/s3-servers.sh: install (pinned) and start/stop the S3 test servers (s3rver, moto with SigV4 auth) on 127.0.0.1.
#
#   ci/s3-servers.sh install          npm ci s3rver into ci/node (pinned by the committed package-lock.json);
#                                     check that moto imports (fails loudly when it does not)
#   ci/s3-servers.sh start DIR        start both on free ports; write DIR/env (shell assignments):
#                                       S3RVER_ENDPOINT=127.0.0.1:P  (keys S3RVER/S3RVER; does not verify SigV4;
#                                        the buckets the tests share, S3RVER_BUCKETS, exist from the start)
#                                       MOTO_ENDPOINT=127.0.0.1:Q MOTO_ACCESS_KEY=.. MOTO_SECRET_KEY=..
#                                       (moto with INITIAL_NO_AUTH_ACTION_COUNT: an IAM user whose key is
#                                        verified; a wrong secret is refused with SignatureDoesNotMatch)
#   ci/s3-servers.sh stop DIR         stop what start started (pids in DIR); safe to call twice
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NODE_DIR="$HERE/node"

die() { echo "s3-servers: $*" >&2; exit 1; }

install() {
    command -v node >/dev/null || die "node is not installed (apt-get install nodejs npm)"
    command -v npm >/dev/null || die "npm is not installed (apt-get install npm)"
    if [ ! -x "$NODE_DIR/node_modules/.bin/s3rver" ] ||
       ! grep -q '"version": "3.7.1"' "$NODE_DIR/node_modules/s3rver/package.json" 2>/dev/null; then
        echo "s3-servers: npm ci s3rver@3.7.1 into $NODE_DIR" >&2
        (cd "$NODE_DIR" && npm ci --ignore-scripts --no-audit --no-fund >&2) || die "npm ci failed"
    fi
    python3 -c 'import moto, boto3, flask' 2>/dev/null ||
        die "python3 cannot import moto/boto3/flask: the moto server is required for the S3 auth tests"
}

# Created by s3rver before it listens, so that no test has to HEAD them: s3rver answers a HEAD bucket by
# listing the whole bucket and parsing every object's metadata file, and fails it with a 500 (no error
# code; "Unexpected end of JSON input" in its log) when another test is rewriting one of those files.
S3RVER_BUCKETS="custom-bots bot-state bot-logs"

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

wait_port() { # wait_port PORT PID NAME
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        kill -0 "$2" 2>/dev/null || die "$3 exited during start-up (see its log)"
        sleep 0.05
    done
    die "$3 did not open port $1 within 10 s"
}

start() {
    local dir="$1"
    mkdir -p "$dir"
    install
    local p1 p2
    p1=$(free_port)
    mkdir -p "$dir/s3rver-data"
    local b buckets=()
    for b in $S3RVER_BUCKETS; do buckets+=(--configure-bucket "$b"); done
    node "$NODE_DIR/node_modules/.bin/s3rver" -d "$dir/s3rver-data" -a 127.0.0.1 -p "$p1" --silent "${buckets[@]}" \
        >"$dir/s3rver.log" 2>&1 &
    echo $! >"$dir/s3rver.pid"
    p2=$(free_port)
    INITIAL_NO_AUTH_ACTION_COUNT=3 python3 -m moto.server -H 127.0.0.1 -p "$p2" >"$dir/moto.log" 2>&1 &
    echo $! >"$dir/moto.pid"
    wait_port "$p1" "$(cat "$dir/s3rver.pid")" s3rver
    wait_port "$p2" "$(cat "$dir/moto.pid")" moto
    # Three unauthenticated IAM calls make a user whose key moto then verifies.
    local creds
    creds=$(python3 - "$p2" <<'PY'
import json, sys, boto3
ep = "http://127.0.0.1:%s" % sys.argv[1]
iam = boto3.client("iam", endpoint_url=ep, region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="the0")
k = iam.create_access_key(UserName="the0")["AccessKey"]
iam.put_user_policy(UserName="the0", PolicyName="s3", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
print(k["AccessKeyId"], k["SecretAccessKey"])
PY
) || die "could not create the moto IAM user (see $dir/moto.log)"
    cat >"$dir/env" <<EOF
S3RVER_ENDPOINT=127.0.0.1:$p1
MOTO_ENDPOINT=127.0.0.1:$p2
MOTO_ACCESS_KEY=${creds%% *}
MOTO_SECRET_KEY=${creds##* }
EOF
    echo "s3-servers: s3rver on 127.0.0.1:$p1, moto (auth on) on 127.0.0.1:$p2" >&2
}

stop() {
    local dir="$1" f pid
    for f in "$dir/s3rver.pid" "$dir/moto.pid"; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$f"
    done
}

case "${1:-}" in
install) install ;;
start) [ $# -eq 2 ] || die "usage: $0 start DIR"; start "$2" ;;
stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
*) die "usage: $0 install | start DIR | stop DIR" ;;
esac
