#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when it is missing.
# Playwright drives this system browser through executable_path; `playwright install` is never
# used because browser downloads are not possible (and not wanted: the distro build is patched).
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ -x "$CHROMIUM" ]]; then
    exit 0
fi

if [[ "$(id -u)" != "0" ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "install-chromium: $CHROMIUM is missing and this is not root; install Debian's 'chromium' package" >&2
        exit 1
    fi
else
    SUDO=""
fi

echo "[install-chromium] installing Debian's chromium with apt-get"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# fonts-liberation: readable text in screenshots on a minimal image.
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null

"$CHROMIUM" --version
