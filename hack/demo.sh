#!/usr/bin/env bash
# The main job, end to end on a fresh machine: bring up the local cluster, build the images,
# deploy VolSync-Go, create a volume with data, replicate it with rsync-TLS to another
# namespace, restore the replica into a new PVC, and compare checksums.
#
#   hack/demo.sh          (make demo)      hack/demo.sh down   (make demo-down)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
export KUBECONFIG="${KUBECONFIG:-/var/lib/volsync-go-cluster/kubeconfig}"
SRC=demo-source
DST=demo-destination
SYNC_TIMEOUT=${SYNC_TIMEOUT:-600}
k() { "$HERE/kubectl.sh" "$@"; }
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

if [ "${1:-}" = down ]; then
  say "Removing the demo and stopping the local cluster"
  k delete namespace "$SRC" "$DST" --ignore-not-found --wait=true --timeout=180s 2>/dev/null || true
  "$ROOT/hack/cluster/down.sh"
  exit 0
fi

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND every 2 s until it succeeds.
wait_for() {
  local what=$1 limit=$2; shift 2
  local start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - start > limit )); then echo "timed out after ${limit}s waiting for $what" >&2; return 1; fi
    sleep 2
  done
}

say "Installing the Debian packages the cluster needs (idempotent)"
"$ROOT/hack/cluster/deps.sh"
say "Bringing up the local Kubernetes cluster (first run builds everything: ~15-25 min on 2 cores)"
"$ROOT/hack/cluster/up.sh" >/dev/null
say "Building the images (controller, mover, tools) without docker"
"$ROOT/hack/images/build.sh"
say "Deploying the rsync-TLS controller (deploy/kustomize/overlays/local)"
"$HERE/deploy.sh" local

say "Creating namespaces $SRC and $DST (restricted Pod Security, unprivileged movers: the default), and a volume with data in $SRC"
k delete namespace "$SRC" "$DST" --ignore-not-found --wait=true --timeout=180s >/dev/null
k create namespace "$SRC" >/dev/null
k create namespace "$DST" >/dev/null
# The default path most users run: both namespaces enforce the restricted Pod Security Standard
# and do not carry the volsync.backube/privileged-movers annotation, so the movers run
# unprivileged (uid 65534). They copy every file the application left readable by others; the
# replica's files belong to the mover's user. (With the annotation, movers run as root and keep
# ownership; with moverSecurityContext they run as the application's user.)
k label namespace "$SRC" "$DST" pod-security.kubernetes.io/enforce=restricted >/dev/null
k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: $SRC}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: write-data, namespace: $SRC}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      securityContext: {runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: write
          image: localhost/busybox:dev
          imagePullPolicy: IfNotPresent
          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
          command: [/bin/sh, -ec]
          args:
            - |
              mkdir -p /data/docs/2026 /data/empty
              for i in \$(seq 1 200); do echo "record \$i" > /data/docs/2026/r\$i.txt; done
              dd if=/dev/urandom of=/data/blob.bin bs=1M count=20 2>/dev/null
              ln -s docs/2026/r1.txt /data/latest
              ln /data/blob.bin /data/blob-hardlink
          volumeMounts: [{name: data, mountPath: /data}]
      volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
YAML
k -n "$SRC" wait --for=condition=Complete job/write-data --timeout=300s >/dev/null

say "Creating the ReplicationDestination (receives data, keeps a VolumeSnapshot of each sync)"
k apply -f - >/dev/null <<YAML
apiVersion: volsync.backube/v1alpha1
kind: ReplicationDestination
metadata: {name: replica, namespace: $DST}
spec:
  trigger: {manual: demo-1}
  rsyncTLS:
    copyMethod: Snapshot
    capacity: 1Gi
    accessModes: [ReadWriteOnce]
YAML
wait_for "the destination's address" 180 sh -c "[ -n \"\$('$HERE/kubectl.sh' -n $DST get replicationdestination replica -o jsonpath='{.status.rsyncTLS.address}')\" ]"
ADDRESS=$(k -n "$DST" get replicationdestination replica -o jsonpath='{.status.rsyncTLS.address}')
KEY=$(k -n "$DST" get replicationdestination replica -o jsonpath='{.status.rsyncTLS.keySecret}')
echo "destination listens on $ADDRESS:8000; its pre-shared key is in Secret $KEY"

say "Copying the key Secret to $SRC (as you would to another cluster) and creating the ReplicationSource"
k -n "$DST" get secret "$KEY" -o go-template='{{index .data "psk.txt"}}' | base64 -d >/tmp/volsync-demo-psk
k -n "$SRC" create secret generic "$KEY" --from-file=psk.txt=/tmp/volsync-demo-psk >/dev/null
rm -f /tmp/volsync-demo-psk
k apply -f - >/dev/null <<YAML
apiVersion: volsync.backube/v1alpha1
kind: ReplicationSource
metadata: {name: data, namespace: $SRC}
spec:
  sourcePVC: data
  trigger: {manual: demo-1}
  rsyncTLS:
    copyMethod: Snapshot
    address: $ADDRESS
    keySecret: $KEY
YAML

say "Waiting for the synchronization (status.lastManualSync = demo-1 on both sides)"
synced() {
  [ "$(k -n "$SRC" get replicationsource data -o jsonpath='{.status.lastManualSync}')" = demo-1 ] &&
    [ "$(k -n "$DST" get replicationdestination replica -o jsonpath='{.status.lastManualSync}')" = demo-1 ]
}
if ! wait_for "the synchronization" "$SYNC_TIMEOUT" synced; then
  k -n "$SRC" get replicationsource data -o yaml; k -n "$DST" get replicationdestination replica -o yaml
  exit 1
fi
k -n "$SRC" get replicationsource data
k -n "$DST" get replicationdestination replica
IMAGE=$(k -n "$DST" get replicationdestination replica -o jsonpath='{.status.latestImage.name}')
echo "latestImage: VolumeSnapshot $IMAGE"

say "Restoring the replica into a new PVC and comparing checksums"
k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: restored, namespace: $DST}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  dataSourceRef: {apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: $IMAGE}
YAML
checksum() { # namespace pvc
  k -n "$1" delete pod checksum --ignore-not-found --wait=true >/dev/null
  k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: checksum, namespace: $1}
spec:
  restartPolicy: Never
  securityContext: {runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: sum
      image: localhost/busybox:dev
      imagePullPolicy: IfNotPresent
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
      command: [/bin/sh, -ec, 'cd /data && { find . -type f -exec sha256sum {} + ; find . -type l -exec ls -l {} + | sed "s/.* \\.\\//.\\//"; find . -type d; } | sort | sha256sum | cut -c1-64; find . | wc -l']
      volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: $2}}]
YAML
  wait_for "the checksum pod in $1" 300 sh -c "[ \"\$('$HERE/kubectl.sh' -n $1 get pod checksum -o jsonpath='{.status.phase}')\" = Succeeded ]"
  k -n "$1" logs checksum | tr '\n' ' '
}
A=$(checksum "$SRC" data)
B=$(checksum "$DST" restored)
printf '\n  source   %s/data      : %s\n  restored %s/restored : %s\n' "$SRC" "$A" "$DST" "$B"
if [ "$A" = "$B" ]; then
  say "OK: the restored replica is identical to the source (same checksums and entry count)"
  echo "Explore: hack/kubectl.sh -n $SRC describe replicationsource data"
  echo "Clean up: make demo-down"
else
  say "MISMATCH: the replica differs from the source"
  exit 1
fi
