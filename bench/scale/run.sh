#!/usr/bin/env bash
# Control-plane scale benchmark of the rsync-TLS controller (cmd/rsynctls-controller).
#
#   bench/scale/run.sh [--src DIR] [benchmark flags ...]
#
# Builds the controller binary from the source tree DIR (default: this repository; e.g. a
# baseline made with `git worktree add /tmp/bench-base HEAD`) into a temporary directory, makes
# sure the envtest binaries exist (hack/k8s-bins.sh, cached), builds the benchmark
# (bench/scale) from this repository, and runs it with the remaining arguments. The CRDs come
# from DIR, so they match the controller measured.
#
# For each N the benchmark starts a fresh kube-apiserver + etcd (no kubelet, no
# controller-manager: Jobs get no pods, PVCs stay Pending) with an audit log of the
# controller's user only, creates N source PVCs and N rsync-TLS ReplicationSources (Direct,
# schedule every minute) in one namespace, starts the controller, and reports the time until
# all N mover Jobs exist, the controller's API requests until then by verb and resource, those
# of the next seconds (the tail) and of an idle window after that, Job creates and peak RSS.
# Markdown on stdout, progress on stderr. Benchmark flags (defaults):
#   --n 100,500,2000       sizes, one fresh control plane each
#   --settle 5s            after the last Job exists, let the last reconciles finish (the "tail")
#   --idle 60s             idle window after that, in which requests per second are counted
#   --deadline 10m         how long the controller may take to create every Job
#   --json FILE            also write the results as JSON
#   --keep                 keep each run's directory (audit log, controller log, kubeconfig)
#   --controller-arg ARG   extra controller argument (repeatable)
#   --controller-env K=V   extra variable in the controller's environment (repeatable)
#   --workers 8, --namespace bench, --workdir DIR, --crd-dir DIR
# Example, from the repository root:
#   bench/scale/run.sh --n 100,500,2000 --json /tmp/scale.json | tee /tmp/scale.md
# Needs go (and, the first time, a few minutes to build kube-apiserver and etcd). About
# 15 minutes for the default sizes on 2 cores with the default idle window.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SRC="$ROOT"
if [ "${1:-}" = "--src" ]; then
	[ $# -ge 2 ] || { echo "run.sh: --src needs a directory" >&2; exit 2; }
	SRC="$(cd "$2" && pwd)"
	shift 2
fi
[ -d "$SRC/cmd/rsynctls-controller" ] || { echo "run.sh: $SRC has no cmd/rsynctls-controller" >&2; exit 2; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/volsync-scale-bin.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

echo "run.sh: building the controller from $SRC ($(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown))" >&2
# As the image builds it (cmd/Dockerfile): what ships is what is measured.
(cd "$SRC/cmd/rsynctls-controller" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$TMP/rsynctls-controller" .)
echo "run.sh: building the benchmark from $ROOT/bench" >&2
(cd "$ROOT/bench" && go build -o "$TMP/scale" ./scale)
KUBEBUILDER_ASSETS="$("$ROOT/hack/k8s-bins.sh" kube-apiserver etcd)"
export KUBEBUILDER_ASSETS

# The benchmark finds the repository (go.work) and the snapshot CRDs from its working directory.
cd "$ROOT"
"$TMP/scale" --controller "$TMP/rsynctls-controller" --crd-dir "$SRC/deploy/kustomize/crd/bases" "$@"
