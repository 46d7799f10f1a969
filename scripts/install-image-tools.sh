#!/usr/bin/env bash
# Installs what `make image` and the image tests need, from Debian's packages, when missing:
#   buildah     builds the image from scratch (no Docker engine, no base-image registry here)
#   podman,runc run it in the tests (`--runtime runc`: crun is not usable on these machines)
#   mmdebstrap  makes the base root filesystem from Debian packages
#   uidmap, fuse-overlayfs, slirp4netns  what podman expects on a bare Debian host
# Idempotent: a no-op when every tool is present. CI machines are fresh, so `make image` calls it.
set -euo pipefail

need=()
for tool in buildah podman runc mmdebstrap; do
    command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [[ ${#need[@]} -eq 0 ]]; then
    exit 0
fi

if [[ "$(id -u)" != "0" ]]; then
    echo "install-image-tools: missing ${need[*]} and this is not root; install Debian's" \
         "buildah podman runc mmdebstrap uidmap fuse-overlayfs slirp4netns" >&2
    exit 1
fi

echo "[install-image-tools] installing ${need[*]} (and helpers) with apt-get"
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    buildah podman runc mmdebstrap uidmap fuse-overlayfs slirp4netns \
    containers-storage golang-github-containers-common ca-certificates >/dev/null
echo "[install-image-tools] done in $(( $(date +%s) - start ))s"
