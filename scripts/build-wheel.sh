#!/usr/bin/env bash
# Builds Janus's wheel into OUTDIR from a copy of the build inputs,
# so the checkout is never written to (no build/, no egg-info churn) and concurrent builds (the
# wheel test, `make image`) cannot trip over each other.
#
#   scripts/build-wheel.sh OUTDIR
#
# (`python -m build` on the checkout makes the sdist and the wheel; both carry the assets.)
#
# setup.py fetches the pinned web assets when the copy has none (npm; cached in ~/.cache/janus)
# and refuses to build unless they match janus/web/static/vendor.sha256.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:?usage: build-wheel.sh OUTDIR}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[[ -x "$PY" ]] || PY=python3

src="$(mktemp -d /tmp/janus-wheel-src.XXXXXX)"
trap 'rm -rf "$src"' EXIT
mkdir -p "$src/scripts" "$OUT"
cp -r "$ROOT/janus" "$src/"
cp "$ROOT/pyproject.toml" "$ROOT/setup.py" "$ROOT/MANIFEST.in" "$ROOT/README.md" "$ROOT/LICENSE" "$src/"
cp "$ROOT/scripts/fetch-web-assets.sh" "$src/scripts/"
find "$src" -name __pycache__ -prune -exec rm -rf {} + 2>/dev/null || true
rm -rf "$src"/*.egg-info

"$PY" -m pip wheel --quiet --no-deps --wheel-dir "$OUT" "$src"
