#!/usr/bin/env bash
# Builds every binary the local cluster runs, from the Go module proxy, into versioned cache
# directories. Whatever already exists is reused, so a warm run takes seconds.
#
#   hack/cluster/build.sh   prints nothing on stdout; logs on stderr
#
# Outputs (VOLSYNC_CACHE defaults to ~/.cache/volsync-go):
#   $VOLSYNC_CACHE/k8s/$K8S_VERSION/{etcd,kube-*,kubelet,kubectl}    (hack/k8s-bins.sh)
#   $VOLSYNC_CACHE/coredns/$COREDNS_VERSION/coredns
#   $VOLSYNC_CACHE/snapshotter/$SNAPSHOTTER_VERSION/{snapshot-controller,csi-snapshotter}
#   $VOLSYNC_CACHE/snapshotter/$SNAPSHOTTER_VERSION/crd/*.yaml        (all six CRDs)
#   $VOLSYNC_CACHE/pause/$PAUSE_VERSION/pause
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/cluster/lib.sh
source "$HERE/lib.sh"

build_k8s() {
  "$REPO/hack/k8s-bins.sh" etcd kube-apiserver kube-controller-manager kube-scheduler kubelet \
    kube-proxy kubectl >/dev/null
}

build_coredns() {
  local out="$CACHE/coredns/$COREDNS_VERSION"
  [ -x "$out/coredns" ] && return 0
  mkdir -p "$out"
  log "building coredns $COREDNS_VERSION (cold: about 2 minutes)"
  GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 GOBIN="$out/.tmp" \
    go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
  mv "$out/.tmp/coredns" "$out/coredns"
  rmdir "$out/.tmp"
}

# The external-snapshotter module has replace directives, so `go install pkg@version` refuses it:
# build it from a throwaway module that copies those replaces (local ones pointed at the release).
build_snapshotter() {
  local out="$CACHE/snapshotter/$SNAPSHOTTER_VERSION"
  local mod="$CACHE/snapshotter/src-$SNAPSHOTTER_VERSION"
  local modpath="github.com/kubernetes-csi/external-snapshotter/v8"
  local clientpath="github.com/kubernetes-csi/external-snapshotter/client/v8"
  mkdir -p "$out/crd" "$mod"
  if [ ! -x "$out/snapshot-controller" ] || [ ! -x "$out/csi-snapshotter" ]; then
    log "building snapshot-controller and csi-snapshotter $SNAPSHOTTER_VERSION (cold: about 2-3 minutes)"
    local upstream
    upstream="$(GOWORK=off go mod download -json "$modpath@$SNAPSHOTTER_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
    {
      echo "module volsync-go/snapshotterbuild"
      echo
      echo "go 1.26"
      echo
      echo "require $modpath $SNAPSHOTTER_VERSION"
      echo
      grep -E '^replace ' "$upstream" | grep -v ' => \./' || true
      echo "replace $clientpath => $clientpath $SNAPSHOTTER_VERSION"
    } >"$mod/go.mod"
    cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter"
	_ "github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller"
)
GO
    (cd "$mod" && GOWORK=off GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true)
    (cd "$mod" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=$SNAPSHOTTER_VERSION" -o "$out/.tmp/" \
      "$modpath/cmd/snapshot-controller" "$modpath/cmd/csi-snapshotter")
    mv "$out/.tmp/snapshot-controller" "$out/.tmp/csi-snapshotter" "$out/"
    rmdir "$out/.tmp"
  fi
  if [ "$(ls "$out/crd"/*.yaml 2>/dev/null | wc -l)" -lt 6 ]; then
    local cdir
    cdir="$(GOWORK=off go mod download -json "$clientpath@$SNAPSHOTTER_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')"
    for f in "$cdir"/config/crd/*storage.k8s.io_*.yaml; do install -m 0644 "$f" "$out/crd/"; done
  fi
}

# The pause image's binary: a tiny static Go program (see hack/images/pause).
build_pause() {
  local out="$CACHE/pause/$PAUSE_VERSION"
  [ -x "$out/pause" ] && return 0
  mkdir -p "$out"
  (cd "$REPO/hack/images/pause" && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/pause" .)
}

require_go
mkdir -p "$CACHE"
build_pause
build_coredns
build_snapshotter
build_k8s
log "all cluster binaries present"
