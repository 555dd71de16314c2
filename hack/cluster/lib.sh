# Shared settings and helpers for hack/cluster/*.sh and hack/images/*.sh. Sourced, not run.
# shellcheck shell=bash

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${VOLSYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/volsync-go}"

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.14.7}"
SNAPSHOTTER_VERSION="${SNAPSHOTTER_VERSION:-v8.7.0}"
# The pause binary is this repository's own (hack/images/pause): versioned by its source.
PAUSE_VERSION="src-$(cat "$REPO"/hack/images/pause/go.mod "$REPO"/hack/images/pause/*.go | sha256sum | cut -c1-12)"

K8S_BIN="$CACHE/k8s/$K8S_VERSION"
COREDNS_BIN="$CACHE/coredns/$COREDNS_VERSION"
SNAP_BIN="$CACHE/snapshotter/$SNAPSHOTTER_VERSION"
PAUSE_BIN="$CACHE/pause/$PAUSE_VERSION"

# Everything a running cluster owns lives under STATE, apart from the paths containerd, the kubelet
# and the CNI plugins hard-code (listed in HARDCODED_DIRS and cleaned by cluster-down).
STATE="${VOLSYNC_CLUSTER_DIR:-/var/lib/volsync-go-cluster}"
PKI="$STATE/pki"
KUBECONFIG_ADMIN="$STATE/kubeconfig"
LOGS="$STATE/logs"
PIDS="$STATE/pids"
RUN="$STATE/run"
KUBELET_ROOT="$STATE/kubelet"
CONTAINERD_ROOT="$STATE/containerd"
CONTAINERD_SOCK="$RUN/containerd/containerd.sock"
CSI_DATA="$STATE/csi-hostpath"
HARDCODED_DIRS=(/var/lib/kubelet/device-plugins /var/lib/cni/results /var/lib/cni/networks/volsync-go
  /var/log/containers /var/log/pods /run/containerd/s /run/containerd/fifo /run/containerd/runc/k8s.io)

NODE_NAME="${NODE_NAME:-volsync-node}"
BRIDGE="vsbr0"
ISOLATE_CHAIN="VOLSYNC-GO-ISOLATE"
POD_CIDR="10.244.0.0/24"
POD_GW="10.244.0.1"
SERVICE_CIDR="10.96.0.0/16"
KUBERNETES_SVC_IP="10.96.0.1"
DNS_SVC_IP="10.96.0.10"
CLUSTER_DOMAIN="cluster.local"
APISERVER_PORT=6443
ETCD_CLIENT_PORT=23790
ETCD_PEER_PORT=23800

CSI_DRIVER_NAME="hostpath.csi.volsync.test"

# Images the cluster itself runs (built by hack/images/build.sh, imported under localhost/).
IMAGE_TAG="${IMAGE_TAG:-dev}"

# Deadlines (seconds) for polling loops.
DEADLINE_PROCESS_READY=60
DEADLINE_NODE_READY=120
DEADLINE_ADDONS_READY=180
DEADLINE_STOP=30

log() { echo "cluster: [${SECONDS}s] $*" >&2; }
die() { echo "cluster: ERROR: $*" >&2; exit 1; }

require_go() {
  command -v go >/dev/null 2>&1 || die "go is not on PATH; install Go 1.26 or newer first"
}

require_root() {
  [ "$(id -u)" = 0 ] || die "must run as root (the cluster runs containerd, kubelet and iptables)"
}

# wait_for DEADLINE DESCRIPTION COMMAND...: polls COMMAND until it succeeds or DEADLINE seconds pass.
wait_for() {
  local deadline=$1 what=$2
  shift 2
  local end=$((SECONDS + deadline))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$end" ]; then
      log "timed out after ${deadline}s waiting for $what"
      return 1
    fi
    sleep 0.5
  done
}

# pid_alive NAME: is the process recorded in $PIDS/NAME.pid still running (and still ours)?
pid_alive() {
  local f="$PIDS/$1.pid" pid
  [ -f "$f" ] || return 1
  pid="$(cat "$f")"
  [ -n "$pid" ] && [ -d "/proc/$pid" ] && grep -q -- "$(cat "$PIDS/$1.exe" 2>/dev/null || echo /)" "/proc/$pid/cmdline" 2>/dev/null
}

kubectl_admin() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }
