#!/usr/bin/env bash
# Benchmark of the rsync-tls mover entrypoint (images/rsync-tls) against bare rsync, on loopback.
#
#   bench/rsync-tls/run.sh [--files N] [--runs R] [--skip-delta] [--skip-nochange]
#
# 1. No-change sync of N (default 100000) small files in 100 directories: the entrypoints
#    (server + client over stunnel TLS-PSK) against bare `rsync -a` to an rsync daemon over
#    plain TCP, same trees, and bare rsync with the entrypoint's flags (to separate the cost of
#    TLS + entrypoint from the cost of the fidelity flags). Reports wall time (client) and CPU
#    time of all processes of a run (bench/rsync-tls/nochange.py), R runs (default 3).
#    Destination trees are hard-linked copies of the source (cp -al): identical metadata, and
#    setting up does not cost another full copy.
# 2. Bytes on the wire for a 1% change of a 1 GiB tree: 1024 files of 1 MiB of random data,
#    then 128 of them get an 80 KiB region overwritten at a random offset (10 MiB = 1%).
#    Reports the client's bytesSent (rsync's "Total bytes sent", the plaintext going into TLS)
#    against the changed bytes.
# Needs rsync, stunnel (images/hack/install-deps.sh), go, python3. Runs in about 3-5 minutes on
# 2 cores; uses ~2.5 GiB in $TMPDIR.
set -euo pipefail

FILES=100000
RUNS=3
DO_DELTA=1
DO_NOCHANGE=1
while [ $# -gt 0 ]; do
	case "$1" in
	--files) FILES="$2"; shift 2 ;;
	--runs) RUNS="$2"; shift 2 ;;
	--skip-delta) DO_DELTA=0; shift ;;
	--skip-nochange) DO_NOCHANGE=0; shift ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rsync-tls-bench.XXXXXX")"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "bench: $*" >&2; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }
median() { python3 -c "import statistics,sys; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.3f}')" "$@"; }
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }

BIN="$WORK/rsync-tls"
(cd "$REPO/images" && GOWORK=off go build -o "$BIN" ./rsync-tls)
echo "volsync:$(head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$WORK/psk.txt"
chmod 600 "$WORK/psk.txt"
mkdir -p "$WORK/tmp"

# entrypoint_sync SRC DST: runs server + client once; prints "client_seconds server_seconds".
entrypoint_sync() {
	local src="$1" dst="$2" port out
	port="$(free_port)"
	out="$WORK/server.out"
	DATA_DIR="$dst" KEY_FILE="$WORK/psk.txt" LISTEN_PORT="$port" TMPDIR="$WORK/tmp" \
		TERMINATION_LOG="$WORK/server.json" "$BIN" server >"$out" 2>&1 &
	local spid=$!
	PIDS+=("$spid")
	local deadline=$((SECONDS + 30))
	until grep -q "Waiting for the source" "$out"; do
		[ $SECONDS -lt $deadline ] || { cat "$out" >&2; exit 1; }
		sleep 0.05
	done
	local t0 t1 t2
	t0="$(now)"
	DATA_DIR="$src" KEY_FILE="$WORK/psk.txt" DESTINATION_ADDRESS=127.0.0.1 DESTINATION_PORT="$port" \
		TMPDIR="$WORK/tmp" TERMINATION_LOG="$WORK/client.json" "$BIN" client >"$WORK/client.out" 2>&1 ||
		{ cat "$WORK/client.out" >&2; exit 1; }
	t1="$(now)"
	wait "$spid" || { cat "$out" >&2; exit 1; }
	t2="$(now)"
	echo "$(elapsed "$t0" "$t1") $(elapsed "$t0" "$t2")"
}

echo "## rsync-tls benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "rsync: $(rsync --version | head -1)"
echo "stunnel: $(stunnel -version 2>&1 | grep -m1 '^stunnel')"

if [ "$DO_NOCHANGE" = 1 ]; then
	log "creating $FILES small files"
	SRC="$WORK/nc-src"
	python3 - "$SRC" "$FILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
per = max(1, n // 100)
for i in range(n):
    d = os.path.join(root, "d%03d" % (i // per))
    if i % per == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d" % i), "w") as f:
        f.write("content of file %d\n" % i)
PY
	cp -al "$SRC" "$WORK/nc-dst-tls"
	cp -al "$SRC" "$WORK/nc-dst-bare"
	echo
	echo "### 1. No-change sync, $FILES files in 100 directories, $RUNS runs (after one warm-up each)"
	python3 "$(dirname "${BASH_SOURCE[0]}")/nochange.py" "$BIN" "$WORK/psk.txt" "$WORK" "$SRC" \
		"$WORK/nc-dst-tls" "$WORK/nc-dst-bare" "$RUNS"
	echo "client result (last run): $(cat "$WORK/client.json")"
	rm -rf "$SRC" "$WORK/nc-dst-tls" "$WORK/nc-dst-bare"
fi

if [ "$DO_DELTA" = 1 ]; then
	log "creating 1 GiB in 1024 files"
	SRC="$WORK/d-src" DST="$WORK/d-dst"
	mkdir -p "$SRC" "$DST"
	python3 - "$SRC" <<'PY'
import os, sys
root = sys.argv[1]
for i in range(1024):
    with open(os.path.join(root, "f%04d" % i), "wb") as f:
        f.write(os.urandom(1 << 20))
PY
	log "initial sync"
	read -r c s < <(entrypoint_sync "$SRC" "$DST")
	initial="$(cat "$WORK/client.json")"
	log "changing 1%"
	CHANGED="$(python3 - "$SRC" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(42)
region = 80 * 1024
total = 0
for i in range(0, 1024, 8):  # 128 files
    p = os.path.join(root, "f%04d" % i)
    off = rng.randrange(0, (1 << 20) - region)
    with open(p, "r+b") as f:
        f.seek(off)
        f.write(os.urandom(region))
    total += region
print(total)
PY
)"
	read -r c s < <(entrypoint_sync "$SRC" "$DST")
	delta="$(cat "$WORK/client.json")"
	sent="$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['bytesSent'])" "$WORK/client.json")"
	if ! diff -r "$SRC" "$DST" >/dev/null; then echo "destination differs from source" >&2; exit 1; fi
	echo
	echo "### 2. 1% change of 1 GiB (1024 x 1 MiB, 128 files x 80 KiB rewritten)"
	echo "| | bytes |"
	echo "|---|---|"
	echo "| changed bytes | $CHANGED |"
	echo "| bytesSent (client result) | $sent |"
	echo "| ratio (target <= 1.1) | $(python3 -c "print(f'{$sent/$CHANGED:.3f}')") |"
	echo "| delta sync client time, s | $c |"
	echo "initial sync result: $initial"
	echo "delta sync result: $delta"
fi
