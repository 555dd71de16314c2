#!/usr/bin/env bash
# Brings up a real single-node Kubernetes cluster on this machine (no docker engine needed):
# containerd + runc, etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and
# kube-proxy as host processes; CoreDNS, the snapshot-controller and the test CSI driver with the
# csi-snapshotter sidecar as pods from locally built images. Idempotent: components already running
# are left alone. Prints the admin kubeconfig path on stdout.
#
#   hack/cluster/up.sh
#
# Tear down with hack/cluster/down.sh. See docs/local-cluster.md.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/cluster/lib.sh
source "$HERE/lib.sh"

require_root
require_go
"$HERE/deps.sh" --check || die "missing prerequisites (see above)"
START=$SECONDS

# ---------------------------------------------------------------------------------------------
# Binaries and state directories
"$HERE/build.sh"
mkdir -p "$STATE" "$PKI" "$LOGS" "$PIDS" "$RUN" "$KUBELET_ROOT" "$CONTAINERD_ROOT" "$CSI_DATA" \
  "$STATE/cni/net.d" "$STATE/config" "$STATE/etcd" "$STATE/pod-logs"
chmod 0700 "$STATE/etcd"

# Remember which hard-coded paths existed before the cluster, so down.sh removes only its own.
if [ ! -f "$STATE/preexisting" ]; then
  for d in "${HARDCODED_DIRS[@]}" /var/lib/kubelet /var/lib/cni/networks /var/lib/cni /run/containerd/runc /run/containerd /var/run/netns; do
    [ -e "$d" ] && echo "$d"
  done >"$STATE/preexisting" || true
fi

# ---------------------------------------------------------------------------------------------
# Sysctls: save the originals once, restore them in down.sh.
SYSCTLS=(net/ipv4/ip_forward net/bridge/bridge-nf-call-iptables net/bridge/bridge-nf-call-ip6tables
  net/ipv4/conf/all/route_localnet vm/overcommit_memory vm/panic_on_oom kernel/panic
  kernel/panic_on_oops kernel/keys/root_maxkeys kernel/keys/root_maxbytes
  net/netfilter/nf_conntrack_max net/netfilter/nf_conntrack_tcp_timeout_established
  net/netfilter/nf_conntrack_tcp_timeout_close_wait)
if [ ! -f "$STATE/sysctls.saved" ]; then
  for s in "${SYSCTLS[@]}"; do
    [ -f "/proc/sys/$s" ] && echo "$s $(cat "/proc/sys/$s")"
  done >"$STATE/sysctls.saved" || true
fi
echo 1 >/proc/sys/net/ipv4/ip_forward
[ -f /proc/sys/net/bridge/bridge-nf-call-iptables ] && echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables

# ---------------------------------------------------------------------------------------------
# The state directory is a shared mount so the CSI driver's Bidirectional mounts reach the host.
if ! findmnt -n -M "$STATE" >/dev/null 2>&1; then
  mount --bind "$STATE" "$STATE"
fi
mount --make-rshared "$STATE"

# The pod bridge exists before the API server so the node address (the bridge gateway) is stable;
# the CNI bridge plugin reuses it. Nothing on it routes off the machine (no masquerade).
if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
  ip link add "$BRIDGE" type bridge
fi
[[ "$(ip -4 -o addr show dev "$BRIDGE")" == *" $POD_GW/24 "* ]] || ip addr add "$POD_GW/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
NODE_IP="$POD_GW"
# Pods never reach beyond this machine: nothing is forwarded from the bridge to another interface
# (pod-to-pod traffic stays on the bridge; the node address and Services are local).
iptables -N "$ISOLATE_CHAIN" 2>/dev/null || true
iptables -F "$ISOLATE_CHAIN"
iptables -A "$ISOLATE_CHAIN" -i "$BRIDGE" ! -o "$BRIDGE" -j DROP
iptables -C FORWARD -j "$ISOLATE_CHAIN" 2>/dev/null || iptables -I FORWARD 1 -j "$ISOLATE_CHAIN"

# ---------------------------------------------------------------------------------------------
# PKI: one CA, one key pair per component, the service-account key pair (ECDSA P-256: generating
# RSA keys costs seconds each on a busy 2-core machine).
gen_cert() { # name CN O SANs(comma list, may be empty) usage(client|server|both)
  local name=$1 cn=$2 o=$3 sans=$4 usage=$5
  [ -f "$PKI/$name.crt" ] && return 0
  local ext="$PKI/$name.ext"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    case "$usage" in
      client) echo "extendedKeyUsage=clientAuth" ;;
      server) echo "extendedKeyUsage=serverAuth" ;;
      both) echo "extendedKeyUsage=serverAuth,clientAuth" ;;
    esac
    [ -z "$sans" ] || echo "subjectAltName=$sans"
  } >"$ext"
  local subj="/CN=$cn"
  [ -z "$o" ] || subj="/O=$o/CN=$cn"
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$name.key" 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$ext"
}
if [ ! -f "$PKI/ca.crt" ]; then
  log "generating certificates in $PKI"
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=volsync-go-cluster-ca" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$PKI/ca.crt" 2>/dev/null
fi
gen_cert apiserver kube-apiserver "" \
  "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN,DNS:localhost,IP:127.0.0.1,IP:$KUBERNETES_SVC_IP,IP:$NODE_IP" server
gen_cert admin kubernetes-admin system:masters "" client
gen_cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters "" client
gen_cert controller-manager system:kube-controller-manager "" "" client
gen_cert scheduler system:kube-scheduler "" "" client
gen_cert kube-proxy system:kube-proxy "" "" client
gen_cert kubelet "system:node:$NODE_NAME" system:nodes "" client
gen_cert kubelet-serving "system:node:$NODE_NAME" system:nodes "DNS:$NODE_NAME,DNS:localhost,IP:$NODE_IP,IP:127.0.0.1" server
[ -f "$PKI/sa.key" ] || { openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/sa.key" 2>/dev/null; openssl ec -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null; }
chmod 0600 "$PKI"/*.key

kubeconfig() { # file cert-name
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: volsync-go
  cluster:
    certificate-authority: $PKI/ca.crt
    server: https://127.0.0.1:$APISERVER_PORT
users:
- name: $2
  user:
    client-certificate: $PKI/$2.crt
    client-key: $PKI/$2.key
contexts:
- name: volsync-go
  context: {cluster: volsync-go, user: $2}
current-context: volsync-go
KC
  chmod 0600 "$1"
}
kubeconfig "$KUBECONFIG_ADMIN" admin
for c in controller-manager scheduler kube-proxy kubelet; do kubeconfig "$STATE/config/$c.kubeconfig" "$c"; done

# ---------------------------------------------------------------------------------------------
# Process management: each component runs detached in its own session; its PID and executable
# are recorded so down.sh stops exactly it.
start() { # name exe args...
  local name=$1 exe=$2
  shift 2
  if pid_alive "$name"; then
    log "$name already running (pid $(cat "$PIDS/$name.pid"))"
    return 0
  fi
  log "starting $name"
  echo "$exe" >"$PIDS/$name.exe"
  setsid "$exe" "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}
https_ok() { [ "$(curl -s --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$1")" = ok ]; }

# containerd -------------------------------------------------------------------------------------
cat >"$STATE/config/containerd.toml" <<TOML
version = 2
root = "$CONTAINERD_ROOT"
state = "$RUN/containerd"
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:$IMAGE_TAG"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
TOML
cat >"$STATE/cni/net.d/10-volsync-go.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "volsync-go",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$POD_GW"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
mkdir -p "$(dirname "$CONTAINERD_SOCK")"
start containerd /usr/bin/containerd --config "$STATE/config/containerd.toml"
wait_for "$DEADLINE_PROCESS_READY" containerd ctr --address "$CONTAINERD_SOCK" version \
  || die "containerd did not start, see $LOGS/containerd.log"

# Images the cluster runs; pause must be there before the kubelet creates a sandbox.
# Add-on manifests name each image by its content tag, so a changed image rolls its pods on the
# next cluster-up; :dev always points at the newest too.
images_built="$("$REPO/hack/images/build.sh" --import pause coredns snapshot-controller csi-snapshotter csi-hostpath busybox)"
image_tags=()
while read -r name hash; do
  image_tags+=(-e "s|localhost/$name:@IMAGE_TAG@|localhost/$name:$hash|g")
done < <(sed -n 's|^localhost/\([^: ]*\):[^ ]* (localhost/[^:]*:\([0-9a-f]*\))$|\1 \2|p' <<<"$images_built")

# etcd -------------------------------------------------------------------------------------------
start etcd "$K8S_BIN/etcd" --name volsync-go --data-dir "$STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "volsync-go=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls "" \
  --quota-backend-bytes 4294967296 --unsafe-no-fsync
wait_for "$DEADLINE_PROCESS_READY" etcd curl -sf "http://127.0.0.1:$ETCD_CLIENT_PORT/health" \
  || die "etcd did not start, see $LOGS/etcd.log"

# kube-apiserver ---------------------------------------------------------------------------------
start kube-apiserver "$K8S_BIN/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --advertise-address "$NODE_IP" --bind-address 0.0.0.0 --secure-port "$APISERVER_PORT" \
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --client-ca-file "$PKI/ca.crt" \
  --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types InternalIP \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --service-account-issuer "https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
  --allow-privileged=true --profiling=false --v=1
wait_for "$DEADLINE_PROCESS_READY" kube-apiserver https_ok "https://127.0.0.1:$APISERVER_PORT/readyz" \
  || die "kube-apiserver did not become ready, see $LOGS/kube-apiserver.log"

# kube-controller-manager and kube-scheduler ------------------------------------------------------
start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
  --kubeconfig "$STATE/config/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$STATE/config/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$STATE/config/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
  --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
  --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" --allocate-node-cidrs=false --v=1
cat >"$STATE/config/scheduler.yaml" <<YAML
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: $STATE/config/scheduler.kubeconfig
leaderElection:
  leaderElect: false
YAML
start kube-scheduler "$K8S_BIN/kube-scheduler" --config "$STATE/config/scheduler.yaml" \
  --authentication-kubeconfig "$STATE/config/scheduler.kubeconfig" \
  --authorization-kubeconfig "$STATE/config/scheduler.kubeconfig" --bind-address 127.0.0.1 --v=1

# kubelet ----------------------------------------------------------------------------------------
cat >"$STATE/config/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
clusterDNS: [$DNS_SVC_IP]
clusterDomain: $CLUSTER_DOMAIN
resolvConf: ""
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
podLogsDir: $STATE/pod-logs
staticPodPath: ""
healthzBindAddress: 127.0.0.1
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
maxPods: 60
serializeImagePulls: false
YAML
start kubelet "$K8S_BIN/kubelet" --config "$STATE/config/kubelet.yaml" \
  --kubeconfig "$STATE/config/kubelet.kubeconfig" --root-dir "$KUBELET_ROOT" \
  --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v=1

# kube-proxy -------------------------------------------------------------------------------------
cat >"$STATE/config/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $STATE/config/kube-proxy.kubeconfig
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  localhostNodePorts: false
YAML
start kube-proxy "$K8S_BIN/kube-proxy" --config "$STATE/config/kube-proxy.yaml" --v=1

node_ready() {
  [ "$(kubectl_admin get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
wait_for "$DEADLINE_NODE_READY" "node $NODE_NAME Ready" node_ready \
  || die "node did not become Ready, see $LOGS/kubelet.log"

# ---------------------------------------------------------------------------------------------
# Add-ons: snapshot CRDs (all six), CoreDNS, snapshot-controller, the CSI driver and its classes.
render() { # manifest -> stdout with placeholders filled
  sed "${image_tags[@]}" -e "s|@IMAGE_TAG@|$IMAGE_TAG|g" -e "s|@KUBELET_ROOT@|$KUBELET_ROOT|g" -e "s|@CSI_DATA@|$CSI_DATA|g" \
    -e "s|@CSI_DRIVER_NAME@|$CSI_DRIVER_NAME|g" -e "s|@DNS_SVC_IP@|$DNS_SVC_IP|g" \
    -e "s|@CLUSTER_DOMAIN@|$CLUSTER_DOMAIN|g" "$1"
}
log "installing snapshot CRDs, CoreDNS, snapshot-controller and the csi-hostpath driver"
kubectl_admin apply --server-side --force-conflicts -f "$SNAP_BIN/crd/" >/dev/null
# Polled rather than `kubectl wait --for condition=Established`, which fails at once ("accessor
# error: <nil> is of the type <nil>") when it reads a CRD before its status has any condition.
crd_established() {
  [ "$(kubectl_admin get "crd/$1" -o jsonpath='{.status.conditions[?(@.type=="Established")].status}')" = True ]
}
for crd in volumesnapshots volumesnapshotcontents volumesnapshotclasses \
  volumegroupsnapshots volumegroupsnapshotcontents volumegroupsnapshotclasses; do
  group=snapshot.storage.k8s.io
  case "$crd" in volumegroup*) group=groupsnapshot.storage.k8s.io ;; esac
  wait_for "$DEADLINE_PROCESS_READY" "crd/$crd.$group Established" crd_established "$crd.$group" \
    || die "crd/$crd.$group was not established"
done
snapdir="$(GOWORK=off go mod download -json "github.com/kubernetes-csi/external-snapshotter/v8@$SNAPSHOTTER_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')"
kubectl_admin apply -f "$snapdir/deploy/kubernetes/snapshot-controller/rbac-snapshot-controller.yaml" >/dev/null
for m in "$HERE"/manifests/*.yaml; do
  render "$m" | kubectl_admin apply -f - >/dev/null
done

rollout() { kubectl_admin -n kube-system rollout status --timeout=2s "$1"; }
for w in deployment/coredns deployment/snapshot-controller daemonset/csi-hostpath; do
  wait_for "$DEADLINE_ADDONS_READY" "$w" rollout "$w" || {
    kubectl_admin -n kube-system get pods -o wide >&2 || true
    die "$w did not become ready; see kubectl --kubeconfig $KUBECONFIG_ADMIN -n kube-system describe $w"
  }
done
csinode_ready() {
  [[ " $(kubectl_admin get csinode "$NODE_NAME" -o jsonpath='{.spec.drivers[*].name}') " == *" $CSI_DRIVER_NAME "* ]]
}
wait_for "$DEADLINE_ADDONS_READY" "CSI driver registration with the kubelet" csinode_ready \
  || die "the kubelet did not register $CSI_DRIVER_NAME; see kubectl -n kube-system logs ds/csi-hostpath"

# Images not needed by the cluster itself (movers, controllers) are imported when already built.
log "cluster ready in $((SECONDS - START))s"
log "export KUBECONFIG=$KUBECONFIG_ADMIN   (kubectl: $K8S_BIN/kubectl)"
echo "$KUBECONFIG_ADMIN"
