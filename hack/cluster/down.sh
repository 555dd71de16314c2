#!/usr/bin/env bash
# Tears down the cluster hack/cluster/up.sh started and leaves nothing behind: pods are deleted
# through the kubelet (so CNI tears down their network namespaces), every process it started is
# stopped by its recorded PID, mounts under the state directory and the hard-coded runtime paths are
# unmounted, the KUBE-/CNI- iptables chains, the bridge and sysctls are restored, and the state
# directory is removed. Idempotent: running it with no cluster is a no-op. Caches are kept.
#
#   hack/cluster/down.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/cluster/lib.sh
source "$HERE/lib.sh"

require_root
START=$SECONDS
if [ ! -d "$STATE" ]; then
  log "no cluster state at $STATE; nothing to do"
  exit 0
fi
log "tearing down the cluster in $STATE"
CTR=(ctr --address "$CONTAINERD_SOCK" --namespace k8s.io)

# stop NAME: SIGTERM the recorded PID, wait with a deadline, then SIGKILL.
stop() {
  local name=$1
  if pid_alive "$name"; then
    local pid
    pid="$(cat "$PIDS/$name.pid")"
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for "$DEADLINE_STOP" "$name to exit" test ! -d "/proc/$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
      wait_for "$DEADLINE_STOP" "$name to die" test ! -d "/proc/$pid" || true
    fi
  fi
  rm -f "$PIDS/$name.pid" "$PIDS/$name.exe"
}

# 1. Let the kubelet remove every pod (CNI DEL tears down their netns and veths). Controllers are
#    stopped first so nothing recreates them.
stop kube-controller-manager
stop kube-scheduler
if pid_alive kube-apiserver && pid_alive kubelet; then
  log "deleting all pods through the kubelet"
  kubectl_admin delete daemonsets,deployments,replicasets,statefulsets,jobs --all --all-namespaces \
    --wait=false >/dev/null 2>&1 || true
  kubectl_admin delete pods --all --all-namespaces --grace-period=1 --wait=false >/dev/null 2>&1 || true
  no_pods() { [ -z "$(kubectl_admin get pods -A -o name 2>/dev/null)" ]; }
  wait_for "$DEADLINE_ADDONS_READY" "pods to be deleted" no_pods || true
  no_netns() { ! ls /var/run/netns/cni-* >/dev/null 2>&1; }
  wait_for "$DEADLINE_STOP" "pod network namespaces to be removed" no_netns || true
fi
stop kubelet
stop kube-proxy
stop kube-apiserver
stop etcd

# 2. Any container the kubelet did not remove: kill and delete it through containerd (this also
#    ends its shim), then stop containerd itself.
if pid_alive containerd; then
  for id in $("${CTR[@]}" tasks ls -q 2>/dev/null); do
    log "removing leftover container task $id"
    "${CTR[@]}" tasks delete --force "$id" >/dev/null 2>&1 || true
  done
  for id in $("${CTR[@]}" containers ls -q 2>/dev/null); do
    "${CTR[@]}" containers delete "$id" >/dev/null 2>&1 || true
  done
fi
stop containerd
# Shims of this containerd are identified by its private socket path (unique to this cluster) and
# killed by PID; with all tasks deleted there normally are none.
for f in $(grep -lsF -- "$CONTAINERD_SOCK" /proc/[0-9]*/cmdline 2>/dev/null || true); do
  pid="${f#/proc/}"
  pid="${pid%/cmdline}"
  if [[ "$(tr '\0' ' ' 2>/dev/null <"$f" || true)" == /usr/bin/containerd-shim*" -address $CONTAINERD_SOCK "* ]]; then
    log "killing leftover shim pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
  fi
done

# 3. Mounts: everything under the state dir and the runtime's hard-coded paths, deepest first.
unmount_under() {
  local prefix=$1 m
  for _ in 1 2 3; do
    local mounts
    mounts="$(awk -v p="$prefix" '$5 == p || index($5, p "/") == 1 {print $5}' /proc/self/mountinfo | sort -r)"
    [ -n "$mounts" ] || return 0
    for m in $mounts; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  done
}
for d in /run/containerd /var/lib/kubelet "$STATE"; do
  unmount_under "$d"
done
# Pod network namespaces are the cni-* ones (other tools' namespaces in /run/netns are left alone).
for ns in /run/netns/cni-*; do
  [ -e "$ns" ] || continue
  log "removing leftover pod network namespace $ns"
  umount "$ns" 2>/dev/null || umount -l "$ns" 2>/dev/null || true
  rm -f "$ns"
done

# 4. Network: KUBE-*, CNI-* and VOLSYNC-GO-* iptables chains (kube-proxy's own cleanup first), the bridge.
if [ -x "$K8S_BIN/kube-proxy" ]; then
  "$K8S_BIN/kube-proxy" --cleanup --v=0 >"$LOGS/kube-proxy-cleanup.log" 2>&1 || true
fi
clean_iptables() {
  local ipt=$1 table chain
  for table in filter nat mangle raw; do
    # Rules in any chain that jump to one of ours, then our chains themselves.
    local rules
    rules="$("$ipt" -t "$table" -S 2>/dev/null | grep -E -- '-j (KUBE-|CNI-|VOLSYNC-GO-)' | sed 's/^-A /-D /' || true)"
    while read -r rule; do
      [ -z "$rule" ] || eval "$ipt -t $table $rule" 2>/dev/null || true
    done <<<"$rules"
    for chain in $("$ipt" -t "$table" -S 2>/dev/null | awk '/^-N (KUBE-|CNI-|VOLSYNC-GO-)/ {print $2}'); do
      "$ipt" -t "$table" -F "$chain" 2>/dev/null || true
    done
    for chain in $("$ipt" -t "$table" -S 2>/dev/null | awk '/^-N (KUBE-|CNI-|VOLSYNC-GO-)/ {print $2}'); do
      "$ipt" -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
}
clean_iptables iptables
clean_iptables ip6tables
if ip link show "$BRIDGE" >/dev/null 2>&1; then
  ip link del "$BRIDGE"
fi
# The pods' veths went with their network namespaces.
# Conntrack entries of the pod and service ranges.
if command -v conntrack >/dev/null; then
  conntrack -D -s "$POD_CIDR" >/dev/null 2>&1 || true
  conntrack -D -d "$POD_CIDR" >/dev/null 2>&1 || true
  conntrack -D -d "$SERVICE_CIDR" >/dev/null 2>&1 || true
fi

# 5. Cgroups the kubelet created (cgroupfs driver), deepest first. A process still in one is a
#    container process that outlived its shim: kill it by PID first.
for pid in $(cat /sys/fs/cgroup/*/kubepods/cgroup.procs /sys/fs/cgroup/*/kubepods/*/cgroup.procs \
  /sys/fs/cgroup/*/kubepods/*/*/cgroup.procs /sys/fs/cgroup/*/kubepods/*/*/*/cgroup.procs 2>/dev/null | sort -u); do
  log "killing leftover container process $pid"
  kill -KILL "$pid" 2>/dev/null || true
done
for hier in /sys/fs/cgroup/*/; do
  if [ -d "$hier/kubepods" ]; then
    find "$hier/kubepods" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  fi
done

# 6. Sysctls back to what they were before the first cluster-up.
if [ -f "$STATE/sysctls.saved" ]; then
  while read -r key value; do
    [ -f "/proc/sys/$key" ] && echo "$value" >"/proc/sys/$key" 2>/dev/null || true
  done <"$STATE/sysctls.saved"
fi

# 7. Files: hard-coded runtime paths that did not exist before, then the state directory.
preexisting="$(cat "$STATE/preexisting" 2>/dev/null || true)"
for d in "${HARDCODED_DIRS[@]}"; do
  if [ -e "$d" ] && ! grep -qxF "$d" <<<"$preexisting"; then
    rm -rf "$d"
  fi
done
# Their parents only when empty (other tools may keep e.g. their own network namespaces there).
for d in /var/lib/kubelet /var/lib/cni/networks /var/lib/cni /run/containerd/runc /run/containerd /var/run/netns; do
  if [ -d "$d" ] && ! grep -qxF "$d" <<<"$preexisting"; then
    rmdir "$d" 2>/dev/null || true
  fi
done
# Keep the last logs for debugging, outside the state dir.
if [ -d "$LOGS" ]; then
  rm -rf "$CACHE/cluster-last-logs"
  mkdir -p "$CACHE"
  cp -a "$LOGS" "$CACHE/cluster-last-logs" 2>/dev/null || true
  cp "$STATE/sysctls.saved" "$CACHE/cluster-last-logs/" 2>/dev/null || true
fi
if findmnt -n -M "$STATE" >/dev/null 2>&1; then
  die "something is still mounted at $STATE; see findmnt -R $STATE"
fi
rm -rf "$STATE"
log "cluster removed in $((SECONDS - START))s (last logs kept in $CACHE/cluster-last-logs)"
