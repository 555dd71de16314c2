#!/usr/bin/env bash
# End-to-end tests on the local real cluster: brings it up if needed, builds the images,
# deploys the local overlay, runs the smoke suite, every mover's replication suite (e2e/<mover>),
# the volume populator's (e2e/populator) and the kubectl plugin's (e2e/kubectlvolsync;
# go test runs the packages in parallel, each in its own namespaces), and tears the cluster down
# again (if this script brought it up) unless E2E_KEEP_CLUSTER=1. E2E_SUITES picks suites, e.g.
# E2E_SUITES=./rsynctls/... .
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
export KUBECONFIG="${KUBECONFIG:-/var/lib/volsync-go-cluster/kubeconfig}"
SUITES="${E2E_SUITES:-./smoke/... ./rsynctls/... ./rsync/... ./rclone/... ./restic/... ./syncthing/... ./populator/... ./kubectlvolsync/...}"
TIMEOUT="${E2E_TIMEOUT:-45m}"

"$ROOT/hack/cluster/deps.sh" >&2   # Debian packages, idempotent
started=0
if ! "$HERE/kubectl.sh" get --raw /readyz >/dev/null 2>&1; then
  echo "e2e: starting the local cluster" >&2
  "$ROOT/hack/cluster/up.sh" >/dev/null
  started=1
fi
cleanup() {
  rc=$?
  if [ "$started" = 1 ] && [ "${E2E_KEEP_CLUSTER:-0}" != 1 ]; then
    echo "e2e: tearing the cluster down (E2E_KEEP_CLUSTER=1 keeps it)" >&2
    "$ROOT/hack/cluster/down.sh" >&2 || rc=1
  fi
  exit $rc
}
trap cleanup EXIT

"$ROOT/hack/images/build.sh" >&2
"$HERE/deploy.sh" local
cd "$ROOT/e2e"
set +e
# -p: every suite at once, -parallel: up to 4 scenarios of each at once (they mostly wait on
# the cluster; go test defaults both to the number of cores).
# shellcheck disable=SC2086
go test -tags e2e -count=1 -p 8 -parallel "${E2E_PARALLEL:-4}" -timeout "$TIMEOUT" -v $SUITES 2>&1 | tee "${E2E_LOG:-/tmp/volsync-go-e2e.log}"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" != 0 ]; then
  # The log is long and CI shows its tail: repeat there what the failed tests printed.
  awk -f "$ROOT/hack/test-failures.awk" "${E2E_LOG:-/tmp/volsync-go-e2e.log}"
fi
exit "$rc"
