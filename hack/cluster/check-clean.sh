#!/usr/bin/env bash
# Fails (and lists what is left) when anything of the local cluster remains on the machine:
# processes started from its binaries or with its containerd socket, mounts, the bridge,
# KUBE-/CNI- iptables chains, network namespaces, runtime directories, kubepods cgroups, the state
# directory, or sysctls differing from the values saved at the first cluster-up.
#
#   hack/cluster/check-clean.sh [SAVED-SYSCTLS-FILE]   (default: the copy cluster-down keeps)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/cluster/lib.sh
source "$HERE/lib.sh"

left=()
for f in $(grep -lsE -- "$CONTAINERD_SOCK|$STATE/|$COREDNS_BIN/|$SNAP_BIN/|/usr/local/bin/(csi-hostpath|pause|coredns|snapshot-controller|csi-snapshotter)" /proc/[0-9]*/cmdline 2>/dev/null || true); do
  pid="${f#/proc/}"
  pid="${pid%/cmdline}"
  [ "$pid" = $$ ] && continue
  cmd="$(tr '\0' ' ' 2>/dev/null <"$f" || true)"
  [ -n "$cmd" ] && left+=("process $pid: ${cmd:0:120}")
done
for f in $(grep -ls kubepods /proc/[0-9]*/cgroup 2>/dev/null || true); do
  pid="${f#/proc/}"
  pid="${pid%/cgroup}"
  left+=("process $pid in a kubepods cgroup: $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | cut -c1-120 || true)")
done
while read -r m; do [ -z "$m" ] || left+=("mount $m"); done < <(awk '$5 ~ /volsync-go-cluster|\/run\/containerd|\/var\/lib\/kubelet|\/run\/netns\/cni-/ {print $5}' /proc/self/mountinfo)
ip link show "$BRIDGE" >/dev/null 2>&1 && left+=("bridge $BRIDGE")
for ipt in iptables ip6tables; do
  for table in filter nat mangle raw; do
    while read -r c; do [ -z "$c" ] || left+=("$ipt -t $table chain $c"); done \
      < <("$ipt" -t "$table" -S 2>/dev/null | awk '/^-N (KUBE-|CNI-|VOLSYNC-GO-)/ {print $2}')
  done
done
for d in /var/run/netns/cni-* "${HARDCODED_DIRS[@]}" /var/lib/kubelet /var/lib/cni /run/containerd "$STATE"; do
  [ -e "$d" ] && left+=("path $d")
done
for hier in /sys/fs/cgroup/*/; do [ -d "$hier/kubepods" ] && left+=("cgroup $hier/kubepods"); done
saved="${1:-$CACHE/cluster-last-logs/sysctls.saved}"
if [ -f "$saved" ]; then
  while read -r key value; do
    [ "$(cat "/proc/sys/$key" 2>/dev/null)" = "$value" ] || left+=("sysctl $key=$(cat "/proc/sys/$key") (was $value)")
  done <"$saved"
fi
if [ ${#left[@]} -gt 0 ]; then
  printf 'left behind: %s\n' "${left[@]}" >&2
  exit 1
fi
echo "clean: no process, mount, bridge, iptables chain, pod netns, runtime path, cgroup or changed sysctl of the cluster left"
