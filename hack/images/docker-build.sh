#!/usr/bin/env bash
# Builds a mover image with docker from its line in hack/images/images.conf and the one
# images/Dockerfile, for registries (the local cluster uses hack/images/build.sh, no docker):
#
#   hack/images/docker-build.sh NAME [TAG]     e.g.  hack/images/docker-build.sh rsync quay.io/me/rsync:v1
#
# DRY_RUN=1 prints the command instead of running it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
name="${1:?usage: docker-build.sh NAME [TAG]}"
tag="${2:-volsync-go/$name:dev}"
line="$(awk -v n="$name" '$1 == n && $2 == "debian" && $3 ~ /^\.\/images\//' "$HERE/images.conf")"
[ -n "$line" ] || { echo "docker-build: no debian mover image $name in images.conf" >&2; exit 2; }
read -r _ _ spec rest <<<"$line"
mover="${spec#./images/}" bin="" dirs=() tools=() pkgs=()
for tok in $rest; do
  case "$tok" in
    user=* | env=*) ;; # the Dockerfile sets USER 65534 and TMPDIR=/tmp for every mover
    bin=*) bin="${tok#bin=}" ;;
    dir=*) dirs+=("${tok#dir=}") ;;
    tool=*) tools+=("${tok#tool=}") ;;
    *) pkgs+=("$tok") ;;
  esac
done
cmd=(docker build -f "$ROOT/images/Dockerfile" --build-arg "MOVER=$mover" --build-arg "BIN=${bin:-$mover}"
  --build-arg "PACKAGES=${pkgs[*]}" --build-arg "DIRS=${dirs[*]}" --build-arg "TOOLS=${tools[*]}" -t "$tag" "$ROOT/images")
if [ "${DRY_RUN:-0}" = 1 ]; then printf '%q ' "${cmd[@]}"; echo; else "${cmd[@]}"; fi
