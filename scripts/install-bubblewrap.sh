#!/usr/bin/env bash
# Installs Debian's bubblewrap (and busybox-static) for the demo's isolated pod shells when
# missing: `janus dev up` runs each exec'd command under bwrap over a minimal root file system
# (cached under ~/.cache/janus/demo-rootfs), so the demo terminal never shows the host's files.
set -euo pipefail

if command -v bwrap >/dev/null 2>&1 && [[ -x /bin/busybox ]]; then
    exit 0
fi

if [[ "$(id -u)" != "0" ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "install-bubblewrap: bwrap or busybox is missing and this is not root; install Debian's 'bubblewrap' and 'busybox-static' packages" >&2
        exit 1
    fi
else
    SUDO=""
fi

echo "[install-bubblewrap] installing Debian's bubblewrap and busybox-static with apt-get"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends bubblewrap busybox-static >/dev/null

bwrap --version
