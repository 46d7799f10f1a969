#!/usr/bin/env bash
# Regenerate the lock files: every Python package Janus (requirements.lock) and Janus with its
# test extra (requirements-test.lock) install, one exact version each with its sha256 hashes, for
# every platform (linux amd64/arm64, macOS) and every Python from 3.11 on. `make venv` (and so CI)
# installs requirements-test.lock with --require-hashes, the image requirements.lock; Janus itself
# then goes in with --no-deps.
#
#   scripts/lock.sh            # after changing [project] dependencies or the test extra
#   scripts/lock.sh --upgrade  # move every package to its newest release allowed by pyproject.toml
#
# uv (a pinned release from PyPI) resolves; it is installed into ~/.cache/janus, never the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
tool="${XDG_CACHE_HOME:-$HOME/.cache}/janus/uv-$UV_VERSION"
if [ ! -x "$tool/bin/uv" ]; then
    python3 -m venv "$tool"
    "$tool/bin/pip" install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
# Two files, one resolution: requirements-test.lock (Janus + the test extra: make venv, CI) is
# resolved first; requirements.lock (Janus alone: the image, a production install) is resolved
# within it, so a package present in both has the same version and hashes in both. Without
# --upgrade, versions already locked are kept (a dependency added changes only what it needs).
common=(--universal --python-version 3.11 --generate-hashes --no-header
        --annotation-style line --quiet)
"$tool/bin/uv" pip compile pyproject.toml --extra test "${common[@]}" \
    --output-file requirements-test.lock "$@"
"$tool/bin/uv" pip compile pyproject.toml "${common[@]}" \
    --constraint requirements-test.lock --output-file requirements.lock "$@"
