#!/usr/bin/env bash
# Vendors the web UI's JavaScript and CSS from npm: pinned versions, checked integrity hashes.
#
# Tarballs are fetched once with `npm pack` into a cache outside the repo
# (~/.cache/janus/npm/web-assets), their sha512 is compared with the pinned `dist.integrity`
# below, and the few files the pages load are copied into janus/web/static/vendor/ (gitignored).
# No CDN is used at run time; a tampered or re-published tarball fails the hash check.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${JANUS_NPM_CACHE:-$HOME/.cache/janus/npm}/web-assets"
VENDOR="$ROOT/janus/web/static/vendor"

# package@version | npm dist.integrity (sha512) | file inside the tarball -> path under vendor/
ASSETS=(
  "@xterm/xterm@6.0.0|sha512-TQwDdQGtwwDt+2cgKDLn0IRaSxYu1tSUjgKarSDkUM0ZNiSRXFpjxEsvc/Zgc5kq5omJ+V0a8/kIM2WD3sMOYg==|package/lib/xterm.js:xterm/xterm.js package/css/xterm.css:xterm/xterm.css"
  "@xterm/addon-fit@0.11.0|sha512-jYcgT6xtVYhnhgxh3QgYDnnNMYTcf8ElbxxFzX0IZo+vabQqSPAjC3c1wJrKB5E19VwQei89QCiZZP86DCPF7g==|package/lib/addon-fit.js:xterm-addon-fit/addon-fit.js"
  "htmx.org@2.0.11|sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA==|package/dist/htmx.min.js:htmx/htmx.min.js"
)

tarball_name() {  # @xterm/xterm@6.0.0 -> xterm-xterm-6.0.0.tgz (npm pack's naming)
  local spec="$1" name version
  name="${spec%@*}"; version="${spec##*@}"
  name="${name#@}"; name="${name//\//-}"
  echo "${name}-${version}.tgz"
}

integrity_of() {
  echo "sha512-$(openssl dgst -sha512 -binary "$1" | base64 -w0)"
}

mkdir -p "$CACHE" "$VENDOR"
for entry in "${ASSETS[@]}"; do
  IFS='|' read -r spec expected files <<<"$entry"
  tgz="$CACHE/$(tarball_name "$spec")"
  if [[ ! -f "$tgz" ]] || [[ "$(integrity_of "$tgz")" != "$expected" ]]; then
    echo "[assets] fetching $spec"
    rm -f "$tgz"
    (cd "$CACHE" && npm pack --silent "$spec" >/dev/null)
  fi
  actual="$(integrity_of "$tgz")"
  if [[ "$actual" != "$expected" ]]; then
    echo "[assets] integrity mismatch for $spec: expected $expected, got $actual" >&2
    rm -f "$tgz"
    exit 1
  fi
  for mapping in $files; do
    src="${mapping%%:*}"; dst="$VENDOR/${mapping#*:}"
    mkdir -p "$(dirname "$dst")"
    tar -xzf "$tgz" -O "$src" >"$dst.tmp"
    mv "$dst.tmp" "$dst"
  done
done
echo "[assets] vendored into ${VENDOR#"$ROOT"/}"
