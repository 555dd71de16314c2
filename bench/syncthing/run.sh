#!/usr/bin/env bash
# Benchmark of the Syncthing mover (images/syncthing) against bare syncthing: three peers in a
# full mesh on loopback (no discovery, relays, NAT or global announce), N small files written
# into peer 1's folder, the time until peers 2 and 3 have all of them.
#
#   bench/syncthing/run.sh [--files N] [--dirs D] [--runs R]
#
# - "ours": each peer started through `volsync-syncthing run` (the entrypoint's config.xml
#   template, its API certificate and key), then configured the way the controller does it:
#   GET /rest/config, the two other devices (tcp://127.0.0.1:PORT) added and the folder
#   syncthing-folder-id shared with them, PUT /rest/config (everything else as GET returned it).
# - "bare": `syncthing serve --home=DIR --no-browser --no-restart --no-upgrade
#   --skip-port-probing --no-default-folder` with a hand-written config.xml (syncthing's
#   defaults except the shared folder and the three devices, the listen address, the GUI
#   address and API key, global/local announce, relays and NAT off); device keys made by
#   `syncthing generate`.
# Each run: fresh directories and ports, the three peers started and waited for (all connected
# to each other, the folder valid on both ends, idle), then the clock: write N files of 1-4 KiB
# (default 10,000 in 100 directories) into peer 1's folder, POST /rest/db/scan on peer 1 (both
# variants; the watcher stays on, as by default, and would scan after 10 s otherwise), and poll
# GET /rest/db/status on peers 2 and 3 every 200 ms until both are idle with globalFiles ==
# localFiles == N, globalDirectories == localDirectories == D and needTotalItems 0. Then a sample
# of files is compared byte for byte and the trees are counted. R runs (default 3) of each,
# interleaved (which goes first alternating). Reports the median, the ratio ours/bare, the CPU
# of the peers inside the clock and each syncthing process's peak RSS (VmHWM).
# Needs go, python3, openssl and syncthing (images/tools.conf, built by images/hack/gotools.sh,
# cached). About 3.5 minutes on 2 cores with the defaults; ~200 MiB in $TMPDIR.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/syncthing-bench.XXXXXX")"
# bench.py lists the process groups of the syncthing peers it runs in $WORK/pgids while they
# run (it stops them itself; this is for a bench.py killed before it could).
PY=""
cleanup() {
  local pg
  if [ -n "$PY" ] && kill -0 "$PY" 2>/dev/null; then
    kill -TERM "$PY" 2>/dev/null || true
    wait "$PY" 2>/dev/null || true
  fi
  if [ -s "$WORK/pgids" ]; then
    while read -r pg; do
      [ -n "$pg" ] && kill -TERM -- "-$pg" 2>/dev/null || true
    done <"$WORK/pgids"
    sleep 1
    while read -r pg; do
      [ -n "$pg" ] && kill -KILL -- "-$pg" 2>/dev/null || true
    done <"$WORK/pgids"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TOOLS="$("$REPO/images/hack/gotools.sh" syncthing)"
(cd "$REPO" && go build -o "$WORK/volsync-syncthing" ./images/syncthing)
echo "## syncthing benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "syncthing: $("$TOOLS/syncthing" serve --version | head -1)"
# In the background, so that a signal to this script runs the cleanup at once.
python3 "$(dirname "${BASH_SOURCE[0]}")/bench.py" --bin "$WORK/volsync-syncthing" --tools "$TOOLS" --work "$WORK" "$@" &
PY=$!
wait "$PY"
