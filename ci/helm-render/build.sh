#!/usr/bin/env bash
# ci/helm-render/build.sh OUT: build the renderer with Debian's Go and Debian's Go libraries (GOPATH mode,
# no module download). Debian installs sprig v3 and semver v3 under their v1 paths; a small GOPATH of
# symlinks gives them the /v3 import paths sprig uses.
set -euo pipefail
out=$1
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v go >/dev/null && [ -d /usr/share/gocode/src/github.com/Masterminds/sprig ] && \
    [ -d /usr/share/gocode/src/gopkg.in/yaml.v3 ] || bash "$here/../deps.sh" >&2
gp="$(dirname "$out")/helm-render-gopath"
mkdir -p "$gp/src/github.com/Masterminds/sprig" "$gp/src/github.com/Masterminds/semver"
ln -sfn /usr/share/gocode/src/github.com/Masterminds/sprig "$gp/src/github.com/Masterminds/sprig/v3"
ln -sfn /usr/share/gocode/src/github.com/Masterminds/semver "$gp/src/github.com/Masterminds/semver/v3"
GO111MODULE=off GOPATH="$(cd "$gp" && pwd):/usr/share/gocode" GOCACHE="$(cd "$(dirname "$out")" && pwd)/gocache" \
    GOFLAGS= go build -o "$out" "$here/main.go"
