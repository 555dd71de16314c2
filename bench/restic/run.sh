#!/usr/bin/env bash
# Benchmark of the restic mover entrypoint (images/restic) against bare `restic backup` with
# the same flags, to a local-path repository.
#
#   bench/restic/run.sh [--files N] [--runs R]
#
# 1. Initial backup of N (default 100000) small files in 100 directories to a new (already
#    initialised) repository: the entrypoint (`volsync-restic backup`, FORGET_OPTIONS empty)
#    against bare `restic backup --host volsync --exclude lost+found .` run in the tree; R runs
#    (default 3) each, interleaved (which goes first alternates), a fresh repository and cache
#    each run, the page cache flushed (sync) before each. Wall time and CPU
#    (user+sys of the process tree).
# 2. No-change incremental backup of the same tree (warm cache), R runs each, interleaved.
# 3. Peak RSS of the process tree (the entrypoint and its restic children: sum of RSS sampled
#    from /proc every 20 ms, found by parent PID) and each process's VmHWM; and
#    the kernel's maximum resident set of the largest process of the tree (ru_maxrss).
# Needs go, python3 and restic (images/tools.conf, built by images/hack/gotools.sh, cached).
# About 4 minutes on 2 cores with the defaults; ~1.5 GiB in $TMPDIR.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/restic-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

TOOLS="$("$REPO/images/hack/gotools.sh" restic)"
(cd "$REPO/images" && GOWORK=off go build -o "$WORK/volsync-restic" ./restic)
echo "## restic benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "restic: $("$TOOLS/restic" version | head -1); local-path repository"
python3 "$(dirname "${BASH_SOURCE[0]}")/bench.py" --bin "$WORK/volsync-restic" --tools "$TOOLS" --work "$WORK" "$@"
