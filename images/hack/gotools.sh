#!/usr/bin/env bash
# Builds tools listed in images/tools.conf from the Go module proxy, once per version.
#
#   images/hack/gotools.sh NAME...             prints the directory holding the NAMEs' binaries
#   images/hack/gotools.sh --out DIR NAME...   builds into DIR (images/Dockerfile)
#
# Cache: $VOLSYNC_CACHE/gotools/<name>-<version>-<hash of its line>/<name> (VOLSYNC_CACHE defaults to
# ~/.cache/volsync-go); the directory printed holds symlinks to every NAME asked for. The Go
# build cache makes a rebuild after a cache wipe cheaper; a cold rclone build takes minutes
# (docs/benchmarks.md, "Tool builds").
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONF="${TOOLS_CONF:-$HERE/../tools.conf}"
CACHE="${VOLSYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/volsync-go}"

log() { echo "gotools: $*" >&2; }
die() { echo "gotools: ERROR: $*" >&2; exit 1; }

out=""
if [ "${1:-}" = "--out" ]; then
  out=$2
  shift 2
fi
[ $# -gt 0 ] || die "usage: $0 [--out DIR] NAME..."

# lookup NAME: prints NAME's line of tools.conf without its name: "MODULE VERSION PACKAGE OPTIONS...".
lookup() {
  local name rest
  while read -r name rest; do
    case "$name" in ''|'#'*) continue ;; esac
    if [ "$name" = "$1" ]; then
      echo "$rest"
      return 0
    fi
  done <"$CONF"
  die "unknown tool $1 (not in $CONF)"
}

# cachedir NAME: where NAME's binary is cached, keyed by its version and its whole line.
cachedir() {
  local line ver
  line="$(lookup "$1")"
  read -r _ ver _ <<<"$line"
  echo "$CACHE/gotools/$1-$ver-$(printf '%s' "$line" | sha256sum | cut -c1-8)"
}

# build NAME DEST: builds NAME's binary as DEST unless it exists.
build() {
  local name=$1 dest=$2 mod ver pkg opts tags="" ldflags="-s -w" o dir start
  read -r mod ver pkg opts <<<"$(lookup "$name")"
  for o in $opts; do
    case "$o" in
      tags=*) tags="${o#tags=}" ;;
      version=*) ldflags="$ldflags -X ${o#version=}=$ver" ;;
      *) die "tool $name: unknown option $o" ;;
    esac
  done
  [ -x "$dest" ] && return 0
  start=$SECONDS
  log "building $name $ver from $mod (cold: minutes for rclone; cached afterwards)"
  dir="$(GOWORK=off GOFLAGS=-mod=mod go mod download -json "$mod@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
  [ -n "$dir" ] && [ -d "$dir" ] || die "go mod download $mod@$ver failed"
  mkdir -p "$(dirname "$dest")"
  # Inside the module (read-only in the module cache): its go.mod, go.sum and replaces apply.
  (cd "$dir" && GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath \
    -ldflags "$ldflags" ${tags:+-tags "$tags"} -o "$dest.tmp" "$pkg") || die "building $name failed"
  mv "$dest.tmp" "$dest"
  log "built $name $ver in $((SECONDS - start))s"
}

if [ -n "$out" ]; then
  mkdir -p "$out"
  for n in "$@"; do build "$n" "$out/$n"; done
  exit 0
fi
links="$CACHE/gotools/bin"
mkdir -p "$links"
for n in "$@"; do
  d="$(cachedir "$n")"
  build "$n" "$d/$n"
  ln -sfn "$d/$n" "$links/$n"
done
echo "$links"
