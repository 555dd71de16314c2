#!/usr/bin/env bash
# Benchmark of the rclone mover entrypoint (images/rclone) against bare `rclone sync` with the
# same flags, against one S3 server (versitygw, posix backend) on loopback.
#
#   bench/rclone/run.sh [--files N] [--big-mib M] [--big-files K] [--runs R] [--big-runs B]
#                       [--skip-nochange] [--skip-big]
#
# 1. No-change sync of N (default 100000) small files in 100 directories, both directions:
#    source (volume -> S3) and destination (S3 -> volume), the entrypoint against bare
#    `rclone sync` with the entrypoint's flags and environment (RCLONE_CHECKSUM=1,
#    RCLONE_TRANSFERS=10: the reference's defaults). Same remote path for both (the bare sync
#    excludes the manifest as the entrypoint does; to a volume it is followed by the reference's
#    `sync -f`, the entrypoint's syncfs), R runs (default 5) after one warm-up,
#    interleaved. Reports wall time and CPU (user+sys of the process tree: the mover and rclone;
#    the S3 server's CPU separately).
# 2. Initial upload of M MiB (default 1024) in K files (default 8) of random data to an empty
#    remote path, B runs (default 3) each: wall time and CPU, throughput.
# 3. The manifest's own cost for the N entries, from the entrypoint's log: walk, encode,
#    upload (source), fetch, prepare, apply (destination), size.
# Needs go, python3 and the tools of images/tools.conf (built by images/hack/gotools.sh, cached).
# About 8-9 minutes on 2 cores with the defaults; ~3.5 GiB in $TMPDIR. A smaller run:
#   bench/rclone/run.sh --files 20000 --big-mib 256 --runs 2 --big-runs 1
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rclone-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

TOOLS="$("$REPO/images/hack/gotools.sh" rclone versitygw)"
(cd "$REPO/images" && GOWORK=off go build -o "$WORK/volsync-rclone" ./rclone)
echo "## rclone benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "rclone: $("$TOOLS/rclone" version | head -1); S3 server: versitygw $(awk '$1 == "versitygw" {print $3}' "$REPO/images/tools.conf") (posix backend)"
python3 "$(dirname "${BASH_SOURCE[0]}")/bench.py" --bin "$WORK/volsync-rclone" --tools "$TOOLS" --work "$WORK" "$@"
