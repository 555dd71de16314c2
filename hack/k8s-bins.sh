#!/usr/bin/env bash
# Builds Kubernetes and etcd binaries from the Go module proxy into a versioned cache
# directory and prints that directory. Binaries already built are reused.
#
#   hack/k8s-bins.sh [binary ...]
#
# Binaries: kube-apiserver etcd kube-controller-manager kube-scheduler kubelet kube-proxy kubectl
# Default: kube-apiserver etcd (what envtest needs).
# Environment: K8S_VERSION (v1.36.3), ETCD_VERSION (v3.6.16), VOLSYNC_CACHE (~/.cache/volsync-go).
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
CACHE="${VOLSYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/volsync-go}"
OUT="$CACHE/k8s/$K8S_VERSION"
STAGING_VERSION="v0.${K8S_VERSION#v1.}"

STAGING="api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
cri-client cri-streaming csi-translation-lib dynamic-resource-allocation endpointslice externaljwt
kms kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
mount-utils pod-security-admission sample-apiserver streaming"

log() { echo "k8s-bins: $*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  log "go is not on PATH; install Go 1.26 or newer first"
  exit 1
fi

bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=(kube-apiserver etcd)

mkdir -p "$OUT"
k8s_missing=()
etcd_missing=0
for b in "${bins[@]}"; do
  case "$b" in
    etcd) [ -x "$OUT/etcd" ] || etcd_missing=1 ;;
    kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy|kubectl)
      [ -x "$OUT/$b" ] || k8s_missing+=("$b") ;;
    *) log "unknown binary $b"; exit 2 ;;
  esac
done

# One lock per cache directory so parallel callers do not build the same thing twice.
exec 9>"$OUT/.lock"
flock 9

if [ ${#k8s_missing[@]} -gt 0 ]; then
  mod="$CACHE/k8s/src-$K8S_VERSION"
  mkdir -p "$mod"
  if [ ! -f "$mod/go.sum" ] || [ ! -f "$mod/.ready" ]; then
    log "preparing build module for k8s.io/kubernetes $K8S_VERSION"
    {
      echo "module volsync-go/k8sbuild"
      echo
      echo "go 1.26"
      echo
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo
      for s in $STAGING; do echo "replace k8s.io/$s => k8s.io/$s $STAGING_VERSION"; done
    } >"$mod/go.mod"
    cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    (cd "$mod" && GOWORK=off GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true)
    (cd "$mod" && GOWORK=off GOFLAGS=-mod=mod go mod download k8s.io/kubernetes)
    touch "$mod/.ready"
  fi
  pkgs=()
  for b in "${k8s_missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  log "building ${k8s_missing[*]} (cold: several minutes)"
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${K8S_VERSION#v1.}"
  (cd "$mod" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$OUT/.tmp/" "${pkgs[@]}")
  for b in "${k8s_missing[@]}"; do mv "$OUT/.tmp/$b" "$OUT/$b"; done
fi

if [ "$etcd_missing" = 1 ]; then
  mod="$CACHE/k8s/etcd-src-$ETCD_VERSION"
  mkdir -p "$mod"
  cat >"$mod/go.mod" <<GOMOD
module volsync-go/etcdbuild

go 1.26

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
GOMOD
  cat >"$mod/main.go" <<'GO'
// Command etcd runs the etcd server from its Go module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  log "building etcd $ETCD_VERSION"
  (cd "$mod" && GOWORK=off GOFLAGS=-mod=mod go mod tidy >/dev/null && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$OUT/.tmp/etcd" .)
  mv "$OUT/.tmp/etcd" "$OUT/etcd"
fi
rmdir "$OUT/.tmp" 2>/dev/null || true
echo "$OUT"
