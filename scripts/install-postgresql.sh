#!/usr/bin/env bash
# Installs Debian's PostgreSQL server for the tests marked `postgres` when it is missing.
# The tests (janus/dev/postgres.py) run initdb/pg_ctl from /usr/lib/postgresql/<version>/bin as
# the package's unprivileged `postgres` user, on 127.0.0.1 and a temporary data directory; the
# cluster the package's post-install may create and start (port 5432) is left alone.
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null \
        && compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; then
    exit 0
fi

if [[ "$(id -u)" != "0" ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "install-postgresql: no PostgreSQL server under /usr/lib/postgresql and this is not root; install Debian's 'postgresql' package" >&2
        exit 1
    fi
else
    SUDO=""
fi

echo "[install-postgresql] installing Debian's postgresql with apt-get"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null

ls -d /usr/lib/postgresql/*/bin
