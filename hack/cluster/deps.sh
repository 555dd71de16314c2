#!/usr/bin/env bash
# Installs the Debian packages the local cluster and the image builder need. Idempotent: packages
# already installed are left alone, and apt is only asked when something is missing.
#
#   hack/cluster/deps.sh          install what is missing (runs apt-get update first)
#   hack/cluster/deps.sh --check  exit 1 and print the install command when something is missing
set -euo pipefail

# Package -> a command (or file) that proves it is installed.
PACKAGES=(
  "containerd:/usr/bin/containerd"
  "runc:/usr/sbin/runc"
  "containernetworking-plugins:/usr/lib/cni/bridge"
  "iptables:/usr/sbin/iptables"
  "conntrack:/usr/sbin/conntrack"
  "debootstrap:/usr/sbin/debootstrap"
  "busybox-static:/bin/busybox"
  "iproute2:/usr/sbin/ip"
  "util-linux:/usr/bin/nsenter"
  "kmod:/usr/sbin/modprobe"
  "socat:/usr/bin/socat"
  "ethtool:/usr/sbin/ethtool"
  "e2fsprogs:/usr/sbin/mkfs.ext4"
  "procps:/usr/bin/pgrep"
  "ca-certificates:/etc/ssl/certs/ca-certificates.crt"
  "openssl:/usr/bin/openssl"
  "curl:/usr/bin/curl"
  "rsync:/usr/bin/rsync" "openssh-client:/usr/bin/ssh"
)

log() { echo "cluster-deps: $*" >&2; }

missing=()
for entry in "${PACKAGES[@]}"; do
  pkg="${entry%%:*}"
  probe="${entry#*:}"
  [ -e "$probe" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  log "all packages present"
  exit 0
fi

if [ "${1:-}" = "--check" ]; then
  log "missing Debian packages: ${missing[*]}"
  log "install them with: make cluster-deps   (or: apt-get update && apt-get install -y ${missing[*]})"
  exit 1
fi

if [ "$(id -u)" != 0 ]; then
  log "must run as root to install: ${missing[*]}"
  exit 1
fi

log "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
# The Debian containerd package starts its own service on the default socket. The cluster runs a
# private containerd; stop the packaged one so two daemons do not fight over /run/containerd.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet containerd 2>/dev/null; then
  log "stopping the packaged containerd service (the cluster runs its own)"
  systemctl stop containerd || true
  systemctl disable containerd >/dev/null 2>&1 || true
fi
log "done"
