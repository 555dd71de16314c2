#!/usr/bin/env bash
# kubectl built by the project (hack/k8s-bins.sh), pointed at the local cluster unless
# KUBECONFIG is set. Usage: hack/kubectl.sh <kubectl args>
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="$("$HERE/k8s-bins.sh" kubectl)"
export KUBECONFIG="${KUBECONFIG:-/var/lib/volsync-go-cluster/kubeconfig}"
exec "$BIN/kubectl" "$@"
