#!/usr/bin/env bash
# Runs the unit, integration (real kube-apiserver + etcd) and mover (real tools) tests of
# every module. Prerequisites are installed or built by the project's own scripts, cached.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/bin

log() { echo "test: $*" >&2; }

# Debian tools the mover tests run for real (idempotent; skips what is installed).
for deps in images/hack/install-deps.sh; do
  if [ -x "$deps" ]; then "$deps"; fi
done

# Tools the mover tests run for real, built from the Go module proxy (images/tools.conf;
# cached after the first build: a cold rclone build takes about 3 minutes on 2 idle cores).
log "building rclone, restic, syncthing and the S3 server versitygw (cached after the first run)"
PATH="$(images/hack/gotools.sh rclone restic syncthing versitygw):$PATH"
export PATH

log "building kube-apiserver and etcd for envtest (cached after the first run)"
KUBEBUILDER_ASSETS="$(hack/k8s-bins.sh kube-apiserver etcd)"
export KUBEBUILDER_ASSETS
log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"

if [ ! -x "$BIN/gotestsum" ] || [ hack/tools/go.mod -nt "$BIN/gotestsum" ]; then
  (cd hack/tools && GOWORK=off go build -o "$BIN/gotestsum" gotest.tools/gotestsum)
fi

# Every workspace module except the e2e suites, which need a cluster (make e2e).
mapfile -t modules < <(go work edit -json | sed -n 's/.*"DiskPath": "\.\/\{0,1\}\(.*\)".*/\1/p')
pkgs=()
for m in "${modules[@]}"; do
  case "$m" in
    e2e) continue ;; # cluster-only suites; run by make e2e / make e2e-smoke
  esac
  pkgs+=("./$m/...")
done
log "testing ${pkgs[*]}"
"$BIN/gotestsum" --format "${GOTESTSUM_FORMAT:-pkgname-and-test-fails}" --jsonfile "${TEST_JSON:-/tmp/volsync-go-test.json}" -- \
  -count=1 -timeout 20m "${pkgs[@]}" "$@"
