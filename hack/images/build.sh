#!/usr/bin/env bash
# Builds the project's container images without a docker engine and imports them into the local
# cluster's containerd.
#
#   hack/images/build.sh [--import|--no-import] [NAME ...]
#
# NAMEs come from hack/images/images.conf (default: all of them). Each image is a docker-archive
# tarball (manifest.json + config + layer tars, written here by hand) of a base layer (scratch,
# busybox-static, or a cached `debootstrap --variant=minbase bookworm` root filesystem with extra
# Debian packages) and a layer holding one static Go binary, its entrypoint.
#
# Caching: an image is re-packed only when its inputs change: the hash of its config line, its
# base layer and its binary (Go builds are reproducible with -trimpath, and the go build cache
# makes rebuilding an unchanged binary take about a second). Archives live under
# $VOLSYNC_CACHE/images/. With --import (the default when the cluster's containerd is running)
# each image is imported as localhost/NAME:<hash> and tagged localhost/NAME:$IMAGE_TAG (dev),
# unless containerd already has that hash.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/cluster/lib.sh
source "$HERE/../cluster/lib.sh"

CONF="${IMAGES_CONF:-$HERE/images.conf}"
IMG_CACHE="$CACHE/images"
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
CTR=(ctr --address "$CONTAINERD_SOCK" --namespace k8s.io)

ilog() { echo "images: [${SECONDS}s] $*" >&2; }

import=auto
names=()
for a in "$@"; do
  case "$a" in
    --import) import=yes ;;
    --no-import) import=no ;;
    -*) die "unknown flag $a" ;;
    *) names+=("$a") ;;
  esac
done
if [ "$import" = auto ]; then
  if [ -S "$CONTAINERD_SOCK" ] && "${CTR[@]}" version >/dev/null 2>&1; then import=yes; else import=no; fi
fi

sha() { sha256sum "$1" | cut -d' ' -f1; }
strsha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# tar_dir DIR OUT: a reproducible layer tarball of DIR's contents.
tar_dir() {
  tar -C "$1" --sort=name --numeric-owner --mtime=@0 --format=gnu -cf "$2.tmp" . && mv "$2.tmp" "$2"
}

# Small files every image gets: a passwd/group with root and nobody, and a world-writable /tmp.
add_etc() {
  local root=$1
  mkdir -p "$root/etc" "$root/tmp"
  chmod 1777 "$root/tmp"
  [ -f "$root/etc/passwd" ] || printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  [ -f "$root/etc/group" ] || printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

# base_layer BASE PACKAGES...: prints the path of the cached base layer tarball.
base_layer() {
  local base=$1
  shift
  local dir="$IMG_CACHE/base"
  mkdir -p "$dir"
  case "$base" in
    scratch)
      local out="$dir/scratch.tar"
      if [ ! -f "$out" ]; then
        local t
        t="$(mktemp -d)"
        add_etc "$t"
        tar_dir "$t" "$out"
        rm -rf "$t"
      fi
      echo "$out" ;;
    busybox)
      [ -x /bin/busybox ] || die "busybox-static is missing: run make cluster-deps"
      local bbsum out
      bbsum="$(sha /bin/busybox)"
      out="$dir/busybox-${bbsum:0:16}.tar"
      if [ ! -f "$out" ]; then
        local t applet
        t="$(mktemp -d)"
        add_etc "$t"
        mkdir -p "$t/bin" "$t/usr/local/bin"
        install -m 0755 /bin/busybox "$t/bin/busybox"
        for applet in $(/bin/busybox --list); do
          [ "$applet" = busybox ] || ln -sf busybox "$t/bin/$applet"
        done
        tar_dir "$t" "$out"
        rm -rf "$t"
      fi
      echo "$out" ;;
    debian)
      local key out
      key="$(strsha "$DEBIAN_SUITE $DEBIAN_MIRROR $*")"
      out="$dir/debian-$DEBIAN_SUITE-${key:0:16}.tar"
      if [ ! -f "$out" ]; then
        debian_rootfs_layer "$out" "$@"
      fi
      echo "$out" ;;
    *) die "unknown base $base" ;;
  esac
}

# The minbase root filesystem is cached once; each package set gets its own copy and layer.
debian_rootfs_layer() {
  local out=$1
  shift
  command -v debootstrap >/dev/null || die "debootstrap is missing: run make cluster-deps"
  require_root
  local minbase="$IMG_CACHE/rootfs/$DEBIAN_SUITE-minbase"
  if [ ! -f "$minbase/.complete" ]; then
    ilog "debootstrap --variant=minbase $DEBIAN_SUITE (about 40 s)"
    rm -rf "$minbase"
    mkdir -p "$minbase"
    debootstrap --variant=minbase "$DEBIAN_SUITE" "$minbase" "$DEBIAN_MIRROR" >"$IMG_CACHE/debootstrap.log" 2>&1 \
      || die "debootstrap failed, see $IMG_CACHE/debootstrap.log"
    touch "$minbase/.complete"
  fi
  local work
  work="$(mktemp -d "$IMG_CACHE/rootfs/work.XXXXXX")"
  cp -a "$minbase/." "$work/"
  rm -f "$work/.complete"
  cat >"$work/etc/apt/sources.list" <<SRC
deb $DEBIAN_MIRROR $DEBIAN_SUITE main
deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main
deb $DEBIAN_SECURITY_MIRROR $DEBIAN_SUITE-security main
SRC
  if [ $# -gt 0 ]; then
    ilog "apt-get install $* into a $DEBIAN_SUITE root filesystem"
    cp /etc/resolv.conf "$work/etc/resolv.conf"
    # Packages with a service (openssh-server) must not start it in the chroot, on this host.
    printf '#!/bin/sh\nexit 101\n' >"$work/usr/sbin/policy-rc.d"
    chmod 0755 "$work/usr/sbin/policy-rc.d"
    mount -t proc proc "$work/proc"
    local rc=0
    chroot "$work" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
      "apt-get update -q && apt-get install -y -q --no-install-recommends $* && apt-get clean" \
      >"$IMG_CACHE/apt.log" 2>&1 || rc=$?
    umount "$work/proc"
    rm -f "$work/usr/sbin/policy-rc.d"
    [ $rc = 0 ] || { rm -rf "$work"; die "apt-get in the chroot failed, see $IMG_CACHE/apt.log"; }
    : >"$work/etc/resolv.conf"
  fi
  # Documentation, manuals and caches are of no use in a mover image.
  rm -rf "$work/var/lib/apt/lists/"* "$work/var/cache/apt/"*.bin "$work/var/cache/debconf/"*-old \
    "$work/var/log/"*.log "$work/dev/"* "$work/usr/share/doc/"* "$work/usr/share/man/"* \
    "$work/usr/share/info/"* "$work/usr/share/lintian" "$work/usr/share/locale/"*
  add_etc "$work"
  tar -C "$work" --sort=name --numeric-owner --format=gnu -cf "$out.tmp" . && mv "$out.tmp" "$out"
  rm -rf "$work"
}

# binary SPEC NAME: prints the path of the built binary.
binary() {
  local spec=$1 name=$2
  case "$spec" in
    @pause) echo "$PAUSE_BIN/pause" ;;
    @coredns) echo "$COREDNS_BIN/coredns" ;;
    @snapshot-controller|@csi-snapshotter) echo "$SNAP_BIN/${spec#@}" ;;
    @*) die "unknown prebuilt binary $spec" ;;
    tool:*) echo "$(gotool "${spec#tool:}")" ;;
    ./*)
      local out="$IMG_CACHE/bin/$name/$(basename "$spec")"
      mkdir -p "$(dirname "$out")"
      (cd "$REPO" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out" "$spec") \
        || die "building $spec failed"
      echo "$out" ;;
    *) die "binary must be ./path, @name or tool:name, got $spec" ;;
  esac
}

# gotool NAME: prints the path of a tool of images/tools.conf, built once (images/hack/gotools.sh).
gotool() {
  local dir
  dir="$("$REPO/images/hack/gotools.sh" "$1")" || die "building tool $1 failed"
  echo "$dir/$1"
}

build_one() {
  local name=$1 base=$2 spec=$3
  shift 3
  # key=value tokens configure the image; the other tokens are Debian packages.
  local user="" extra_env="" binname="" dirs=() tools=() pkgs=() tok
  for tok in "$@"; do
    case "$tok" in
      tool=*) tools+=("${tok#tool=}") ;;
      user=*) user="${tok#user=}" ;;
      env=*) extra_env="$extra_env,\"${tok#env=}\"" ;;
      bin=*) binname="${tok#bin=}" ;;
      dir=/*) dirs+=("${tok#dir=}") ;;
      *=*) die "image $name: unknown option $tok" ;;
      *) pkgs+=("$tok") ;;
    esac
  done
  set -- "${pkgs[@]}"
  local bin="" blayer binsum="" target=/bin/sh
  if [ "$spec" != - ]; then
    bin="$(binary "$spec" "$name")"
    [ -x "$bin" ] || die "binary $bin for image $name is missing (run hack/cluster/build.sh)"
    binsum="$(sha "$bin")"
    target="/usr/local/bin/${binname:-$(basename "$bin")}"
  fi
  blayer="$(base_layer "$base" "$@")"
  local toolbins=() toolsums="" tb
  for tb in "${tools[@]}"; do
    toolbins+=("$(gotool "$tb")")
    toolsums="$toolsums $tb=$(sha "${toolbins[-1]}")"
  done
  local hash
  hash="$(strsha "v2 $name $base $spec $* user=$user env=$extra_env bin=$binname dir=${dirs[*]} tools=$toolsums $binsum $(basename "$blayer")")"
  hash="${hash:0:16}"
  local archive="$IMG_CACHE/archives/$name-$hash.tar"
  if [ ! -f "$archive" ]; then
    ilog "packing localhost/$name:$hash"
    mkdir -p "$IMG_CACHE/archives"
    local t
    t="$(mktemp -d)"
    mkdir -p "$t/app/usr/local/bin" "$t/out"
    [ -z "$bin" ] || install -m 0755 "$bin" "$t/app$target"
    for tb in "${toolbins[@]}"; do install -m 0755 "$tb" "$t/app/usr/local/bin/$(basename "$tb")"; done
    local d
    for d in "${dirs[@]}"; do install -d -m 0755 "$t/app$d"; done
    tar_dir "$t/app" "$t/app.tar"
    local l1 l2
    l1="$(sha "$blayer")"
    l2="$(sha "$t/app.tar")"
    mkdir -p "$t/out/$l1" "$t/out/$l2"
    ln "$blayer" "$t/out/$l1/layer.tar" 2>/dev/null || cp "$blayer" "$t/out/$l1/layer.tar"
    mv "$t/app.tar" "$t/out/$l2/layer.tar"
    cat >"$t/config.json" <<JSON
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Entrypoint":["$target"],"User":"$user","Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"$extra_env],"WorkingDir":"/","Labels":{"io.volsync-go.image.inputs":"$hash"}},"rootfs":{"type":"layers","diff_ids":["sha256:$l1","sha256:$l2"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"hack/images/build.sh base $base $*"},{"created":"1970-01-01T00:00:00Z","created_by":"hack/images/build.sh $spec"}]}
JSON
    local c
    c="$(sha "$t/config.json")"
    mv "$t/config.json" "$t/out/$c.json"
    printf '[{"Config":"%s.json","RepoTags":["localhost/%s:%s"],"Layers":["%s/layer.tar","%s/layer.tar"]}]\n' \
      "$c" "$name" "$hash" "$l1" "$l2" >"$t/out/manifest.json"
    (cd "$t/out" && tar --sort=name --mtime=@0 --owner=0 --group=0 -cf "$archive.tmp" -- *) && mv "$archive.tmp" "$archive"
    rm -rf "$t"
  fi
  # Older archives of this image are superseded.
  find "$IMG_CACHE/archives" -maxdepth 1 -name "$name-????????????????.tar" ! -name "$(basename "$archive")" -delete
  ln -sf "$(basename "$archive")" "$IMG_CACHE/archives/$name.tar"
  if [ "$import" = yes ]; then
    if [ -z "$("${CTR[@]}" images ls -q "name==localhost/$name:$hash")" ]; then
      ilog "importing localhost/$name:$hash"
      "${CTR[@]}" images import "$archive" >/dev/null
    fi
    "${CTR[@]}" images tag --force "localhost/$name:$hash" "localhost/$name:$IMAGE_TAG" >/dev/null
  fi
  echo "localhost/$name:$IMAGE_TAG (localhost/$name:$hash)"
}

found=0
while read -r name base spec pkgs; do
  case "$name" in ''|'#'*) continue ;; esac
  if [ ${#names[@]} -gt 0 ]; then
    want=0
    for n in "${names[@]}"; do [ "$n" = "$name" ] && want=1; done
    [ $want = 1 ] || continue
  fi
  found=$((found + 1))
  # shellcheck disable=SC2086
  build_one "$name" "$base" "$spec" $pkgs
done <"$CONF"
[ ${#names[@]} -eq 0 ] || [ "$found" = ${#names[@]} ] || die "unknown image among: ${names[*]}"
