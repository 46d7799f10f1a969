#!/usr/bin/env bash
# Build actionlint from the Go module proxy into the project's binary cache, keyed by version:
#   ${JANUS_CACHE:-~/.cache/janus}/bin/actionlint-<version>/actionlint
# `go install module@version` checks the module against the Go checksum database and builds
# with the module's own go.sum, so nothing unpinned is fetched. A warm cache makes this a no-op.
# zizmor, the other workflow linter, is a PyPI wheel pinned in pyproject.toml's test extra.
#
#   tests/workflows/build.sh           build what is missing, print the binary's path
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache="${JANUS_CACHE:-$HOME/.cache/janus}"
out="$cache/bin/actionlint-$ACTIONLINT_VERSION/actionlint"

export GOTOOLCHAIN=local CGO_ENABLED=0
export GOCACHE="${GOCACHE:-$cache/go-build}"

if [[ ! -x "$out" ]]; then
  command -v go >/dev/null || { echo "ERROR: Go is required to build actionlint" >&2; exit 3; }
  start=$(date +%s)
  tmp="$(dirname "$out").tmp.$$"
  mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  GOBIN="$tmp" go install -trimpath -ldflags "-s -w" \
    "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  mkdir -p "$(dirname "$out")"
  mv "$tmp/actionlint" "$out"
  echo "[build] actionlint $ACTIONLINT_VERSION built in $(( $(date +%s) - start ))s" >&2
fi
echo "$out"
