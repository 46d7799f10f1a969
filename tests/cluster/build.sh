#!/usr/bin/env bash
# Build the local control plane (kube-apiserver, etcd, kwok) and helm from the Go module proxy.
#
# Each binary is built from a small scratch module under tests/cluster/<name>/ (go.mod + go.sum
# are committed; no sources, no binaries) and cached outside the repo in
#   ${JANUS_CACHE:-~/.cache/janus}/bin/<name>-<version>/<name>
# A warm cache makes this script a no-op. Progress and timings go to stderr.
#
#   tests/cluster/build.sh            build what is missing
#   tests/cluster/build.sh --print    print the cache directory and exit
#   tests/cluster/build.sh --tidy     regenerate go.mod/go.sum from versions.env (maintainers)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache="${JANUS_CACHE:-$HOME/.cache/janus}"
bindir="$cache/bin"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
export GOCACHE="${GOCACHE:-$cache/go-build}"

log() { printf '[build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

target_path() { echo "$bindir/$1-$2/$1"; }

if [[ "${1:-}" == "--print" ]]; then
  echo "$bindir"; exit 0
fi

command -v go >/dev/null || { log "ERROR: Go is required (>= 1.26) and was not found on PATH"; exit 3; }

tidy_apiserver() {
  local dir="$here/apiserver" v="${KUBERNETES_VERSION#v}" gomod mods
  gomod=$(cd "$(mktemp -d)" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" \
          | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  # Every "k8s.io/<x> v0.0.0" requirement of k8s.io/kubernetes is a staging module that only
  # resolves through a replace to its published tag (kubernetes#79384): derive the list, never
  # hand-write it.
  mods=$(grep -E '^\s+k8s\.io/[a-z0-9.-]+ v0\.0\.0(\s|$)' "$gomod" | awk '{print $1}' | sort -u)
  (
    cd "$dir"
    rm -f go.mod go.sum
    go mod init janus.dev/testbed/apiserver >/dev/null 2>&1
    go mod edit -go=1.26.0 -require="k8s.io/kubernetes@$KUBERNETES_VERSION"
    for m in $mods; do go mod edit -replace="$m=$m@v0.${v#1.}"; done
    go mod edit -tool=k8s.io/kubernetes/cmd/kube-apiserver
    go mod tidy
  )
}

tidy_simple() {  # name module version tool-package
  local dir="$here/$1"
  (
    cd "$dir"
    rm -f go.mod go.sum
    go mod init "janus.dev/testbed/$1" >/dev/null 2>&1
    go mod edit -go=1.26.0 -require="$2@$3" -tool="$4"
    go mod tidy
  )
}

if [[ "${1:-}" == "--tidy" ]]; then
  log "regenerating go.mod/go.sum"
  tidy_apiserver
  tidy_simple etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3
  tidy_simple kwok sigs.k8s.io/kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok
  tidy_simple helm helm.sh/helm/v4 "$HELM_VERSION" helm.sh/helm/v4/cmd/helm
  exit 0
fi

build() {  # name version package [ldflags]
  local name=$1 version=$2 pkg=$3 ldflags=${4:-} out start
  out=$(target_path "$name" "$version")
  if [[ -x "$out" ]]; then
    log "$name $version: cached at $out"
    return
  fi
  start=$(date +%s)
  log "$name $version: building $pkg (cold builds take minutes; progress below)"
  mkdir -p "$(dirname "$out")"
  (
    cd "$here/${moddir:-$name}"
    # Print a heartbeat so a long cold build is visibly alive.
    ( while sleep 30; do log "$name: still building ($(( $(date +%s) - start ))s)"; done ) &
    hb=$!
    trap 'kill $hb 2>/dev/null' EXIT
    go build -trimpath -tags=selinux,notest,grpcnotrace -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg"
  )
  mv "$out.tmp" "$out"
  log "$name $version: built in $(( $(date +%s) - start ))s ($(du -h "$out" | cut -f1))"
}

k8s_ldflags() {
  local v=$KUBERNETES_VERSION maj min ld=""
  maj=$(echo "${v#v}" | cut -d. -f1); min=$(echo "${v#v}" | cut -d. -f2)
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X '$p.gitVersion=$v' -X '$p.gitMajor=$maj' -X '$p.gitMinor=$min'"
    ld="$ld -X '$p.gitTreeState=clean' -X '$p.buildDate=1970-01-01T00:00:00Z'"
  done
  echo "$ld"
}

# The standalone kwok binary has no built-in stages; the stock ones ship inside its Go module.
# Copy them next to the binary (never into the repo) so the launcher needs no Go at run time.
copy_kwok_stages() {
  local dest src
  dest="$(dirname "$(target_path kwok "$KWOK_VERSION")")/stages"
  [[ -f "$dest/.complete" ]] && return
  src="$(cd "$here/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage"
  mkdir -p "$dest"
  cp "$src/node/fast/node-initialize.yaml" "$src/pod/fast/pod-ready.yaml" \
     "$src/pod/fast/pod-complete.yaml" "$src/pod/fast/pod-delete.yaml" "$dest/"
  touch "$dest/.complete"
  log "kwok stages copied to $dest"
}

total_start=$(date +%s)
build etcd "$ETCD_VERSION" go.etcd.io/etcd/server/v3
build kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok
copy_kwok_stages
moddir=apiserver build kube-apiserver "$KUBERNETES_VERSION" k8s.io/kubernetes/cmd/kube-apiserver "$(k8s_ldflags)"
# Helm renders and lints the chart in tests/helm; built here so those tests need no download.
build helm "$HELM_VERSION" helm.sh/helm/v4/cmd/helm "-X 'helm.sh/helm/v4/internal/version.version=$HELM_VERSION' -X 'helm.sh/helm/v4/internal/version.gitTreeState=clean'"
log "control plane ready in $bindir ($(( $(date +%s) - total_start ))s)"
