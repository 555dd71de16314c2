#!/usr/bin/env bash
# Benchmark of the rsync (ssh) mover entrypoint (images/rsync) against bare rsync over the same
# sshd, on loopback.
#
#   bench/rsync/run.sh [--files N] [--runs R] [--skip-delta] [--skip-nochange]
#
# 1. No-change sync of N (default 100000) small files in 100 directories: the entrypoints
#    (volsync-rsync destination + source: sshd started per sync, forced command, shutdown)
#    against bare rsync with the same options over the same sshd binary (a plain sshd, no forced
#    command) and the same ssh. Reports wall time (source / rsync client) and CPU time of every
#    process of a run (RUSAGE_CHILDREN), R runs (default 3) after one warm-up, interleaved.
#    Destination trees are hard-linked copies of the source (cp -al).
# 2. Bytes on the wire for a 1% change of a 1 GiB tree: 1024 files of 1 MiB of random data,
#    then 128 of them get an 80 KiB region overwritten at a random offset (10 MiB = 1%).
#    Reports the source's bytesSent (rsync's "Total bytes sent") against the changed bytes.
# Needs rsync, sshd, ssh, ssh-keygen (images/hack/install-deps.sh), go, python3; runs as root
# (sshd as root, like a privileged mover). About 3-5 minutes on 2 cores; ~2.5 GiB in $TMPDIR.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rsync-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

(cd "$REPO/images" && GOWORK=off go build -o "$WORK/volsync-rsync" ./rsync)
mkdir -p "$WORK/keys" "$WORK/gen" "$WORK/tmp"
for k in source destination; do
	ssh-keygen -q -t ed25519 -N "" -C "" -f "$WORK/gen/$k"
	cp "$WORK/gen/$k" "$WORK/gen/$k.pub" "$WORK/keys/"
done
echo "## rsync (ssh) benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "rsync: $(rsync --version | head -1)"
echo "ssh: $(ssh -V 2>&1)"
python3 "$(dirname "${BASH_SOURCE[0]}")/bench.py" --bin "$WORK/volsync-rsync" --keys "$WORK/keys" --work "$WORK" "$@"
