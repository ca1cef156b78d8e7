#!/usr/bin/env bash
# ci/images.sh: build, from Debian's packages and with no registry, the images real pods run (make images):
#   localhost/debian:bookworm-slim          the base: mmdebstrap --variant=minbase bookworm, podman import
#   localhost/runtime:latest                deploy/Dockerfile, built as a user builds it (podman build)
#   localhost/the0/python311:latest         deploy/images/python311.Dockerfile (Debian's python3 3.11)
#   localhost/the0/nodejs20:latest          deploy/images/nodejs20.Dockerfile (Debian's nodejs: 18, see there)
#   localhost/the0-sim:latest               deploy/soak/Dockerfile (the soak Job's image: the simulator)
# Cached: each image carries the label dev.the0.inputs = the SHA-256 of what it is made from (the base:
# the mmdebstrap command and its date; runtime:latest: the Dockerfile, .dockerignore and every file of the
# build context; a bot image: its Dockerfile; each also the inputs of its base). An image whose label
# matches is kept; otherwise it is rebuilt. The base tarball is reproducible (SOURCE_DATE_EPOCH fixed) for
# the same Debian package versions; the image labels record dev.the0.debian = the packages' versions digest.
#
#   ci/images.sh [build]     build what is missing or stale (prints what it did and the time it took)
#   ci/images.sh check       exit 1 (listing them) when an image is missing or stale; builds nothing
#   ci/images.sh inputs      print each image's inputs hash
#   ci/images.sh prune       remove unnamed images (earlier builds' stages; the next build redoes them). A build
#                            removes the image it replaces and unnamed images older than a day by itself.
# Podman's settings come from ci/podman/containers.conf (CONTAINERS_CONF), not /etc.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/ci/podman/containers.conf}"
LABEL=dev.the0.inputs
SUITE=bookworm
EPOCH=1735689600 # 2025-01-01: file times in the base tarball
BASE=localhost/debian:bookworm-slim # `FROM debian:bookworm-slim` finds it: podman looks a short name up locally first
# what the official slim image leaves out (docs, man pages, locales), also for packages installed later
MMDEBSTRAP=(mmdebstrap --variant=minbase --include=ca-certificates
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-exclude=/usr/share/info/*' "$SUITE")
# name|Dockerfile|context
DERIVED=("localhost/runtime:latest|deploy/Dockerfile|."
    "localhost/the0/python311:latest|deploy/images/python311.Dockerfile|deploy/images"
    "localhost/the0/nodejs20:latest|deploy/images/nodejs20.Dockerfile|deploy/images"
    "localhost/the0-sim:latest|deploy/soak/Dockerfile|.")

die() { echo "images: $*" >&2; exit 1; }

need_tools() {
    local t
    for t in podman mmdebstrap runc; do command -v "$t" >/dev/null || bash "$ROOT/ci/deps.sh" >&2; done
    for t in podman mmdebstrap runc; do command -v "$t" >/dev/null || die "$t is not installed (ci/deps.sh installs it)"; done
}

base_inputs() { printf '%s\n' "${MMDEBSTRAP[*]}" "$EPOCH" "$BASE" | sha256sum | cut -c1-64; }

# context_inputs DOCKERFILE CONTEXT: the Dockerfile, the .dockerignore and the files git sees in CONTEXT
# (tracked and untracked, not ignored; .gitignore covers what .dockerignore leaves out: build/, node_modules)
context_inputs() {
    local df=$1 ctx=$2
    {
        echo "$(base_inputs)"
        sha256sum "$df"
        if [ "$ctx" = . ]; then
            sha256sum .dockerignore
            { git ls-files -z --cached --others --exclude-standard 2>/dev/null ||
                find . -path ./build -prune -o -path ./.git -prune -o -type f -printf '%P\0'; } | dockerignored | sort -z |
                while IFS= read -r -d '' f; do [ -f "$f" ] && sha256sum "$f"; done
        fi
    } | sha256sum | cut -c1-64
}

# dockerignored: the NUL-separated paths on stdin that .dockerignore keeps in the build context (its
# patterns as used there: "dir/", "**/name", "*.ext")
dockerignored() {
    python3 -c '
import fnmatch, sys
pats = [l.strip().rstrip("/") for l in open(".dockerignore") if l.strip() and not l.startswith("#")]
def out(p):
    for q in pats:
        bare = q[3:] if q.startswith("**/") else q
        parts = p.split("/")
        if fnmatch.fnmatch(p, q) or p.startswith(q + "/") or any(fnmatch.fnmatch(x, bare) for x in parts) and q.startswith("**/"):
            return True
    return False
for p in sys.stdin.buffer.read().decode().split("\0"):
    if p and not out(p): sys.stdout.write(p + "\0")
'
}

inputs_of() { # NAME
    local e
    [ "$1" = "$BASE" ] && { base_inputs; return; }
    for e in "${DERIVED[@]}"; do
        IFS='|' read -r n df ctx <<<"$e"
        [ "$n" = "$1" ] && { context_inputs "$df" "$ctx"; return; }
    done
    die "unknown image $1"
}

label_of() { podman image inspect --format "{{index .Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }

fresh() { [ "$(label_of "$1")" = "$(inputs_of "$1")" ]; }

build_base() {
    local want tmp t0
    want=$(base_inputs)
    t0=$SECONDS
    tmp=$(mktemp -d /tmp/the0-base-XXXXXX)
    echo "images: $BASE: mmdebstrap ${SUITE} (minbase) ..." >&2
    SOURCE_DATE_EPOCH=$EPOCH "${MMDEBSTRAP[@]}" "$tmp/base.tar" >"$tmp/mmdebstrap.log" 2>&1 ||
        { tail -20 "$tmp/mmdebstrap.log" >&2; rm -rf "$tmp"; die "mmdebstrap failed"; }
    local debs
    debs=$(tar -xOf "$tmp/base.tar" ./var/lib/dpkg/status | grep -E '^(Package|Version):' | sha256sum | cut -c1-16)
    podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/bash"]' --change "LABEL $LABEL=$want" --change "LABEL dev.the0.debian=$debs" \
        "$tmp/base.tar" "$BASE" >/dev/null 2>"$tmp/import.log" || { cat "$tmp/import.log" >&2; rm -rf "$tmp"; die "podman import failed"; }
    echo "images: $BASE built in $((SECONDS - t0)) s ($(du -h "$tmp/base.tar" | cut -f1) tarball, sha256 $(sha256sum "$tmp/base.tar" | cut -c1-16), packages $debs)" >&2
    rm -rf "$tmp"
}

build_derived() { # NAME DOCKERFILE CONTEXT
    local name=$1 df=$2 ctx=$3 want t0 log old
    want=$(context_inputs "$df" "$ctx")
    t0=$SECONDS
    log=$(mktemp /tmp/the0-image-XXXXXX.log)
    old=$(podman image inspect --format '{{.Id}}' "$name" 2>/dev/null || true)
    echo "images: $name: podman build -f $df $ctx ..." >&2
    # --network host: RUN steps reach Debian's mirror without a CNI network; --pull=never: the base is local
    if ! podman build --pull=never --network host --label "$LABEL=$want" -f "$df" -t "$name" "$ctx" >"$log" 2>&1; then
        tail -30 "$log" >&2
        rm -f "$log"
        die "podman build of $name failed"
    fi
    rm -f "$log"
    # the image this one replaces, now unnamed. podman refuses while a container (an earlier run's, stopped)
    # uses it: then it stays, and a later prune takes it. Written as an if: under set -e a failing last
    # command of an && list ends this function silently (CI once lost a good build that way).
    if [ -n "$old" ] && [ "$old" != "$(podman image inspect --format '{{.Id}}' "$name")" ]; then
        podman rmi "$old" >/dev/null 2>&1 || echo "images: $name: the image it replaces (${old:0:12}) is still used by a container; kept" >&2
    fi
    echo "images: $name built in $((SECONDS - t0)) s ($(podman image inspect --format '{{.Size}}' "$name" | awk '{printf "%d MB", $1/1e6}'))" >&2
}

cmd_build() {
    need_tools
    local t0=$SECONDS built=0 e pids=() names=()
    if fresh "$BASE"; then echo "images: $BASE up to date" >&2; else build_base; built=1; fi
    # the images on the base build side by side (the runtime's compile and the bot images' downloads overlap)
    for e in "${DERIVED[@]}"; do
        IFS='|' read -r n df ctx <<<"$e"
        if ((built == 0)) && fresh "$n"; then # a new base makes every image on it stale
            echo "images: $n up to date" >&2
            continue
        fi
        build_derived "$n" "$df" "$ctx" &
        pids+=($!)
        names+=("$n")
    done
    local i rc=0
    for i in "${!pids[@]}"; do wait "${pids[$i]}" || { echo "images: ${names[$i]} failed" >&2; rc=1; }; done
    ((rc == 0)) || die "some images failed to build"
    # build stages of earlier builds: kept a day as podman's layer cache, then removed
    ((${#pids[@]} == 0)) || podman image prune -f --filter until=24h >/dev/null 2>&1 || true
    echo "images: ready in $((SECONDS - t0)) s" >&2
}

cmd_check() {
    command -v podman >/dev/null || die "podman is not installed"
    local bad=0 e
    fresh "$BASE" || { echo "images: $BASE missing or stale" >&2; bad=1; }
    for e in "${DERIVED[@]}"; do
        IFS='|' read -r n _ _ <<<"$e"
        fresh "$n" || { echo "images: $n missing or stale" >&2; bad=1; }
    done
    return $bad
}

case "${1:-build}" in
build) cmd_build ;;
check) cmd_check ;;
inputs)
    echo "$BASE $(inputs_of "$BASE")"
    for e in "${DERIVED[@]}"; do IFS='|' read -r n _ _ <<<"$e"; echo "$n $(inputs_of "$n")"; done
    ;;
prune) podman image prune -f ;;
*) die "usage: $0 [build|check|inputs|prune]" ;;
esac
