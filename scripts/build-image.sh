#!/usr/bin/env bash
# Builds the Janus container image here, without Docker and without a base-image registry:
# `make image` -> local image janus:dev (localhost/janus:dev for podman).
#
# It produces the same image as the Containerfile (which the release workflow builds with Docker):
#   * Debian bookworm's python3 + tini + ca-certificates, nothing else that runs: no apt, no perl,
#     no compiler, no pip (pip is only run from its wheel file during the build);
#   * Janus and its dependencies installed from wheels into /usr/local (Debian's python3 looks in
#     /usr/local/lib/python3.11/dist-packages), /usr/local/bin/janus the console script;
#   * user 10001:10001, entrypoint `tini -- janus`, works with a read-only root filesystem
#     (PYTHONDONTWRITEBYTECODE: nothing tries to write .pyc files at run time).
#   * .pyc files: Debian's for the standard library; none for the installed packages
#     (pip --no-compile). Measured: they would add 58 MB (230 MB instead of 173 MB) to save
#     about 2 s of imports at each process start (1.0 s instead of 3.0 s for kubernetes, kopf,
#     fastapi, sqlalchemy and janus.cli); a long-running controller/receiver/web app starts once.
#
# Steps (each prints a progress line and its time; the slow ones are cached outside the repo):
#   1. tools         scripts/install-image-tools.sh (buildah, podman, mmdebstrap) when missing
#   2. wheel         scripts/build-wheel.sh (setup.py fetches and checks the pinned web assets)
#   3. wheelhouse    `pip download --require-hashes -r requirements.lock` (scripts/lock.sh: the
#                    exact versions and sha256 of every dependency) as binary wheels, plus pip:
#                    ~/.cache/janus/image/wheelhouse-<hash of the lock file>/
#   4. rootfs        mmdebstrap of the OS part, then the runtime-useless essential packages removed
#                    (scripts/prune-image.py, shared with the Containerfile):
#                    ~/.cache/janus/image/rootfs-<hash of the recipe below>.tar
#   5. install       the rootfs unpacked, wheels installed by the rootfs's own python3 (chroot),
#                    so tags, paths and shebangs are the image's, then the bloat pruned
#   6. commit        buildah from scratch + the tree + config, committed as the tag
#
#   scripts/build-image.sh [TAG]     (default janus:dev; JANUS_CACHE moves ~/.cache/janus)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TAG="${1:-janus:dev}"
CACHE="${JANUS_CACHE:-$HOME/.cache/janus}/image"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[[ -x "$PY" ]] || PY=python3

SUITE=bookworm
UID_GID=10001
# What the OS part holds. Changing any of these changes the rootfs cache key.
PACKAGES=python3,tini,ca-certificates
RECIPE_VERSION=3  # bump when the mmdebstrap command below changes

log() { printf '[image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
step_start=0
step() { step_start=$(date +%s); log "$*"; }
step_done() { log "  done in $(( $(date +%s) - step_start ))s"; }
total_start=$(date +%s)
wheel_metadata() {  # the METADATA file of wheel $1 (no unzip needed)
    "$PY" -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
print(z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode())' "$1"
}

[[ "$(id -u)" == "0" ]] || { log "ERROR: building the image needs root (mmdebstrap, chroot, buildah)"; exit 1; }

step "1/6 tools"
"$ROOT/scripts/install-image-tools.sh"
step_done

work="$(mktemp -d /tmp/janus-image.XXXXXX)"
cleanup() {
    if [[ -n "${ctr:-}" ]]; then buildah rm "$ctr" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

step "2/6 wheel (scripts/build-wheel.sh; setup.py fetches and hash-checks the web assets)"
PYTHON="$PY" "$ROOT/scripts/build-wheel.sh" "$work/dist"
wheel="$(ls "$work"/dist/*.whl)"
log "  $(basename "$wheel")"
step_done

step "3/6 wheelhouse (requirements.lock: exact versions, sha256-checked)"
lock="$ROOT/requirements.lock"
pip_spec="pip==$("$PY" -m pip --version | cut -d" " -f2)"
wh_key="$( (printf '%s\n%s\n' "$SUITE" "$pip_spec"; cat "$lock") | sha256sum | cut -c1-16)"
wheelhouse="$CACHE/wheelhouse-$wh_key"
if [[ -f "$wheelhouse/.complete" ]]; then
    log "  cached: $wheelhouse"
else
    log "  downloading the $(grep -c '==' "$lock") locked packages as binary wheels"
    rm -rf "$wheelhouse.tmp" && mkdir -p "$wheelhouse.tmp"
    # Binary wheels only (no compiler in the image, none needed to build it), for CPython 3.11 on
    # x86_64 glibc: bookworm's python3 is 3.11, its glibc 2.36. --require-hashes: each file must
    # have one of the lock's sha256 hashes.
    target=(--only-binary=:all: --python-version 3.11 --implementation cp --abi cp311
            --abi abi3 --abi none --platform manylinux_2_36_x86_64
            --platform manylinux_2_34_x86_64 --platform manylinux_2_28_x86_64
            --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
            --platform linux_x86_64 --platform any)
    "$PY" -m pip download --quiet "${target[@]}" --dest "$wheelhouse.tmp" \
        --require-hashes --no-deps -r "$lock"
    # pip itself (not a dependency of Janus, so not in the lock): only run during the build.
    "$PY" -m pip download --quiet "${target[@]}" --dest "$wheelhouse.tmp" --no-deps "$pip_spec"
    cp "$lock" "$wheelhouse.tmp/requirements.lock"
    touch "$wheelhouse.tmp/.complete"
    rm -rf "$wheelhouse" && mv "$wheelhouse.tmp" "$wheelhouse"
    log "  $(find "$wheelhouse" -name '*.whl' | wc -l) wheels in $wheelhouse"
fi
step_done

step "4/6 rootfs (mmdebstrap $SUITE: $PACKAGES)"
rootfs_key="$( (printf '%s\n' "$RECIPE_VERSION" "$SUITE" "$PACKAGES" "$UID_GID"
                cat "$ROOT/scripts/prune-image.py") | sha256sum | cut -c1-16)"
rootfs="$CACHE/rootfs-$rootfs_key.tar"
if [[ -f "$rootfs" ]]; then
    log "  cached: $rootfs"
else
    log "  bootstrapping from Debian packages (cold: about 1-2 minutes)"
    mkdir -p "$CACHE"
    # --variant=essential: dpkg's Essential set plus PACKAGES, maintainer scripts run (the CA
    # bundle is generated). merged-usr hook: /bin -> usr/bin without the usrmerge package (perl).
    # path-exclude: no docs, man pages, locales, iconv modules (Python's codecs do not use them).
    # The user janus (10001) is written into /etc/passwd directly: no passwd package needed.
    # shellcheck disable=SC2086
    mmdebstrap --quiet --variant=essential --include="$PACKAGES" \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/lintian/*' \
        --dpkgopt='path-exclude=/usr/lib/x86_64-linux-gnu/gconv/*' \
        --customize-hook="echo 'janus:x:$UID_GID:' >>\"\$1/etc/group\"" \
        --customize-hook="echo 'janus:x:$UID_GID:$UID_GID:janus:/home/janus:/usr/sbin/nologin' >>\"\$1/etc/passwd\"" \
        --customize-hook="mkdir -p \"\$1/home/janus\" && chown $UID_GID:$UID_GID \"\$1/home/janus\"" \
        --customize-hook="chroot \"\$1\" /usr/bin/python3 - packages caches <\"$ROOT/scripts/prune-image.py\"" \
        "$SUITE" "$rootfs.tmp.tar"
    mv "$rootfs.tmp.tar" "$rootfs"
fi
log "  $(du -h "$rootfs" | cut -f1) $rootfs"
step_done

step "5/6 install janus and its dependencies into the tree (the image's python3, offline)"
tree="$work/tree"
mkdir -p "$tree"
tar -xf "$rootfs" -C "$tree"
mkdir -p "$tree/wheels"
mount --bind "$wheelhouse" "$tree/wheels"
cp "$wheel" "$tree/tmp/"
mount_cleanup() { umount "$tree/wheels" 2>/dev/null || true; }
trap 'mount_cleanup; cleanup' EXIT
pipwhl="$(cd "$wheelhouse" && ls pip-*.whl)"
# pip runs from its wheel file (`python3 pip.whl/pip`): it is never installed in the image.
# As root with Debian's python3, pip's default scheme is Debian's posix_local:
# /usr/local/lib/python3.11/dist-packages and /usr/local/bin/janus (#!/usr/bin/python3); an
# explicit --prefix would pick posix_prefix (site-packages), which Debian's python3 never reads.
# --break-system-packages: Debian marks its python3 externally managed (PEP 668) to protect apt's
# packages; this image has no apt and /usr/local is exactly where local installs belong.
# The locked dependencies first (hashes checked again), then Janus itself with --no-deps.
# `env -i`: the host's PIP_* settings (a find-links folder, a config file) mean nothing inside the
# tree and made pip warn once per package; the install needs none of them.
pip_install=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$tree" /usr/bin/python3 "/wheels/$pipwhl/pip" install --quiet --no-index
             --find-links /wheels --no-compile --no-warn-script-location
             --disable-pip-version-check --root-user-action=ignore --break-system-packages)
"${pip_install[@]}" --require-hashes --no-deps -r /wheels/requirements.lock
"${pip_install[@]}" --no-deps "/tmp/$(basename "$wheel")"
mount_cleanup
rmdir "$tree/wheels"
rm -f "$tree/tmp/$(basename "$wheel")"
chroot "$tree" /usr/bin/python3 - python caches <"$ROOT/scripts/prune-image.py"
log "  tree: $(du -sh --exclude=proc "$tree" | cut -f1)"
step_done

step "6/6 commit $TAG (buildah from scratch)"
ctr="$(buildah from scratch)"
mnt="$(buildah mount "$ctr")"
tar -C "$tree" -cf - . | tar -C "$mnt" -xf -
buildah umount "$ctr" >/dev/null
version="$(wheel_metadata "$wheel" | sed -n 's/^Version: //p')"
buildah config \
    --user "$UID_GID:$UID_GID" \
    --workingdir /home/janus \
    --env HOME=/home/janus \
    --env PYTHONDONTWRITEBYTECODE=1 \
    --env PYTHONUNBUFFERED=1 \
    --env LANG=C.UTF-8 \
    --entrypoint '["/usr/bin/tini", "--", "/usr/local/bin/janus"]' \
    --cmd '["--help"]' \
    --label org.opencontainers.image.title=janus \
    --label "org.opencontainers.image.version=$version" \
    --label org.opencontainers.image.licenses=Apache-2.0 \
    --label "org.opencontainers.image.description=Just-in-time kubectl exec access to Kubernetes" \
    "$ctr"
previous="$(podman image inspect --format '{{.Id}}' "$TAG" 2>/dev/null || true)"
buildah commit --quiet --rm "$ctr" "$TAG" >/dev/null
ctr=""
# The image this tag named before is now untagged: removed, so rebuilds do not pile up (kept
# if a container still uses it).
if [[ -n "$previous" && "$previous" != "$(podman image inspect --format '{{.Id}}' "$TAG")" ]]; then
    podman rmi "$previous" >/dev/null 2>&1 || true
fi
size="$(podman image inspect --format '{{.Size}}' "$TAG")"
log "  $TAG: $(( size / 1000000 )) MB"
step_done
# The cache keeps the entries this build used; those of older keys are removed.
find "$CACHE" -maxdepth 1 \( \( -name 'rootfs-*.tar' ! -name "$(basename "$rootfs")" \) -o \
    \( -name 'wheelhouse-*' ! -name "$(basename "$wheelhouse")" \) \) -exec rm -rf {} +
log "built $TAG in $(( $(date +%s) - total_start ))s"
