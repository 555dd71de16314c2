#!/usr/bin/env bash
# Applies a kustomize overlay (CRDs + controllers) to the current cluster and waits for the
# controllers to be ready.
#
#   hack/deploy.sh [OVERLAY]     (default: local — the local cluster with `make images` images)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
OVERLAY="${1:-${OVERLAY:-local}}"
DIR="$ROOT/deploy/kustomize/overlays/$OVERLAY"
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-180s}"
[ -d "$DIR" ] || { echo "deploy: no overlay $OVERLAY (have: $(ls "$ROOT/deploy/kustomize/overlays" | tr '\n' ' '))" >&2; exit 2; }
k() { "$HERE/kubectl.sh" "$@"; }

echo "deploy: applying overlay $OVERLAY" >&2
# Server-side apply: the CRDs are too large for the last-applied annotation of client-side apply.
k apply --server-side --force-conflicts --field-manager=volsync-go-deploy -k "$DIR" >&2
# Polled: `kubectl wait --for=condition=Established` fails at once when it reads a new CRD
# before its status has any condition.
for crd in replicationsources replicationdestinations; do
  end=$((SECONDS + 60))
  until [ "$(k get "crd/$crd.volsync.backube" -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>/dev/null)" = True ]; do
    [ "$SECONDS" -lt "$end" ] || { echo "deploy: crd/$crd.volsync.backube was not established within 60s" >&2; exit 1; }
    sleep 0.5
  done
done
for d in $(k -n volsync-system get deploy -o name); do
  # A new image under the same tag needs new pods.
  [ "$OVERLAY" = local ] && k -n volsync-system rollout restart "$d" >&2
  k -n volsync-system rollout status "$d" --timeout="$ROLLOUT_TIMEOUT" >&2
done
echo "deploy: $OVERLAY is ready" >&2
