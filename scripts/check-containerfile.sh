#!/usr/bin/env bash
# Builds the Containerfile itself here, where Docker Hub is out of reach: its three base images
# are replaced by stand-ins made from Debian packages with mmdebstrap (debian:bookworm-slim ->
# minbase; python:3.11-slim -> minbase + python3-pip; node:22-slim -> minbase + npm), then
# `buildah bud` runs the real Containerfile, stages, RUN --mount and all, into JANUS_IMAGE
# (default localhost/janus:containerfile). Run the image tests on it with
#   JANUS_IMAGE=localhost/janus:containerfile make test-image
# It checks the file the release workflow builds with Docker, which `make image` does not run.
# Stand-ins are kept in podman's storage (rebuilt with --fresh). Needs root; ~4 min cold.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TAG="${JANUS_IMAGE:-localhost/janus:containerfile}"
log() { printf '[containerfile %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
start=$(date +%s)
"$ROOT/scripts/install-image-tools.sh"

standin() {  # tag packages
    local tag=$1 include=$2 tmp
    if [[ "${FRESH:-}" != 1 ]] && podman image exists "$tag"; then
        log "stand-in $tag: present"
        return
    fi
    log "stand-in $tag: mmdebstrap minbase ${include:++ $include}"
    tmp="$(mktemp -d)"
    mmdebstrap --quiet --variant=minbase ${include:+--include="$include"} bookworm "$tmp/rootfs.tar"
    local ctr
    ctr="$(buildah from scratch)"
    buildah add --quiet "$ctr" "$tmp/rootfs.tar" / >/dev/null
    # The host's trust store, for npm and pip in the RUN steps (as on the host: a TLS-inspecting
    # egress proxy's CA is trusted there). Not part of the Janus image: stages 1-2 only.
    buildah copy --quiet "$ctr" /etc/ssl/certs/ca-certificates.crt /etc/ssl/host-ca.crt >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca.crt --env PIP_CERT=/etc/ssl/host-ca.crt "$ctr"
    buildah commit --quiet --rm "$ctr" "$tag" >/dev/null
    rm -rf "$tmp"
}

[[ "${1:-}" == "--fresh" ]] && FRESH=1
standin localhost/janus-standin-debian:bookworm-slim ""
standin localhost/janus-standin-python:3.11-slim "python3,python3-pip,ca-certificates"
standin localhost/janus-standin-node:22-slim "npm,openssl,ca-certificates"

log "buildah bud -f Containerfile -> $TAG"
previous="$(podman image inspect --format '{{.Id}}' "$TAG" 2>/dev/null || true)"
buildah bud --quiet --network host --runtime runc --pull=never \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    --build-arg NODE_IMAGE=localhost/janus-standin-node:22-slim \
    --build-arg PYTHON_IMAGE=localhost/janus-standin-python:3.11-slim \
    --build-arg DEBIAN_IMAGE=localhost/janus-standin-debian:bookworm-slim \
    -f "$ROOT/Containerfile" -t "$TAG" "$ROOT" >/dev/null
if [[ -n "$previous" && "$previous" != "$(podman image inspect --format '{{.Id}}' "$TAG")" ]]; then
    podman rmi "$previous" >/dev/null 2>&1 || true  # the image the tag named before
fi
log "$TAG: $(( $(podman image inspect --format '{{.Size}}' "$TAG") / 1000000 )) MB, built in $(( $(date +%s) - start ))s"
