#!/bin/sh
# Builds the swarmwall container image without a registry (issue 6).
#
#   deploy/image/build.sh [--deb PATH | --binary PATH] [--out DIR] [--tag IMAGE] [--load]
#
# --deb: from the Debian package (scripts/package.sh): its /usr/sbin/swarmwall,
# and the packages its Depends field names among the image's packages
# (README's operator path); --binary: a build's binary (the tests' default).
#
# 1. A root file system from Debian 12 packages: iptables (nft and legacy),
#    ipset, iproute2, dash, libc and every library the swarmwall binary and
#    these tools need. The packages are fetched with `apt-get download` (the
#    host's apt sources, the same suite as the host) and unpacked with
#    `dpkg-deb -x`; no maintainer script runs, so what their postinst would
#    do is done here (the iptables alternatives links). The set is closed
#    over ELF DT_NEEDED: every shared object any binary of the tree needs is
#    looked up in the host's dpkg database (`dpkg -S`) and its package added,
#    until nothing is missing. Faster than `debootstrap --variant=minbase`
#    (~15 MB of packages, no apt/perl/dpkg in the image) and it needs no
#    other tool than apt, dpkg and binutils' readelf.
#    -> OUT/base.tar, a tarball for `docker import`. Cached: rebuilt only when
#       the package list (names and versions), the binary's needed libraries
#       or this script change (OUT/base.key).
# 2. OUT/context/: the build context of deploy/Dockerfile (the Dockerfile and
#    the swarmwall binary, debug info stripped).
# 3. With --load: `docker import OUT/base.tar swarmwall-base:KEY` and
#    `docker build --build-arg BASE=swarmwall-base:KEY -t IMAGE OUT/context`
#    against DOCKER_HOST (the legacy builder, DOCKER_BUILDKIT=0: no buildx is
#    needed), then `docker save IMAGE > OUT/image.tar` for `docker load` on
#    other nodes.
#
# Needs: Debian 12 host with apt sources reachable, the tools installed
# (iptables ipset iproute2, which the lab needs anyway), binutils, and for
# --load a docker CLI.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
binary=""
deb=""
out=""
tag="swarmwall:latest"
load=0
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --deb) deb=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    --load) load=1; shift ;;
    -h|--help) sed -n '2,38p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
deb_depends=""
if [ -n "$deb" ]; then
  [ -z "$binary" ] || { echo "build.sh: --deb or --binary, not both" >&2; exit 2; }
  [ -f "$deb" ] || { echo "build.sh: no package at $deb" >&2; exit 1; }
  unpacked=$(mktemp -d)
  trap 'rm -rf "$unpacked"' EXIT
  dpkg-deb -x "$deb" "$unpacked"
  binary="$unpacked/usr/sbin/swarmwall"
  # "iptables, libnftables1 (>= 1.0.2), ..." -> the names (alternatives: the first).
  deb_depends=$(dpkg-deb --field "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*//; s/ //g')
  [ -z "$out" ] && out="$repo/dist/deploy-image"
fi
[ -n "$binary" ] || binary="$repo/build/swarmwall"
[ -x "$binary" ] || { echo "build.sh: no swarmwall binary at $binary (--binary PATH)" >&2; exit 1; }
[ -n "$out" ] || out="$(dirname "$(readlink -f "$binary")")/deploy-image"
mkdir -p "$out"
out=$(cd "$out" && pwd)
arch=$(dpkg --print-architecture)
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)

say() { echo "build.sh: $*" >&2; }

# Shared objects ELF file $1 needs.
needed() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

# The package that holds library $1 (a file name) on this host.
package_of_lib() {
  for d in /lib/$triplet /usr/lib/$triplet /lib64 /usr/lib64 /lib /usr/lib; do
    p=$(dpkg -S "$d/$1" 2>/dev/null | head -n1 | cut -d: -f1) || true
    [ -n "$p" ] && { echo "$p"; return 0; }
  done
  # usrmerge: dpkg may know it by the other prefix or through a link
  real=$(readlink -f "/lib/$triplet/$1" 2>/dev/null || true)
  [ -n "$real" ] && p=$(dpkg -S "$real" 2>/dev/null | head -n1 | cut -d: -f1) && [ -n "$p" ] && { echo "$p"; return 0; }
  return 1
}

seeds="libc6 dash iptables ipset iproute2 netbase $deb_depends"
# libcurl and libnftables are loaded at run time (src/docker/libcurl.h,
# src/host/nftables.cc), not NEEDED.
for lib in $(needed "$binary") libcurl.so.4 libnftables.so.1; do
  p=$(package_of_lib "$lib") || { say "no package holds $lib (needed by $binary)"; exit 1; }
  seeds="$seeds $p"
done
seeds=$(printf '%s\n' $seeds | sort -u | tr '\n' ' ')
versions=$(dpkg-query -W -f '${Package}=${Version}\n' $seeds 2>/dev/null | sort)
key=$( { echo "$arch"; echo "$versions"; needed "$binary" | sort; cat "$0"; } | sha256sum | cut -c1-16)

if [ -f "$out/base.tar" ] && [ "$(cat "$out/base.key" 2>/dev/null)" = "$key" ]; then
  say "base $key cached: $out/base.tar"
else
  say "base $key: packages $seeds"
  debs="$out/debs"
  root="$out/rootfs"
  mkdir -p "$debs"
  rm -rf "$root"
  mkdir -p "$root"
  have=""     # packages unpacked so far
  todo="$seeds"
  round=0
  while [ -n "$todo" ]; do
    round=$((round + 1))
    [ $round -le 10 ] || { say "dependency closure does not converge: $todo"; exit 1; }
    fetch=""
    for p in $todo; do
      ls "$debs/${p}_"*"_$arch.deb" "$debs/${p}_"*"_all.deb" >/dev/null 2>&1 || fetch="$fetch $p"
    done
    if [ -n "$fetch" ]; then
      say "apt-get download$fetch"
      (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root $fetch >&2)
    fi
    for p in $todo; do
      for deb in "$debs/${p}_"*"_$arch.deb" "$debs/${p}_"*"_all.deb"; do
        [ -f "$deb" ] && dpkg-deb -x "$deb" "$root"
      done
      have="$have $p"
    done
    rm -rf "$root/usr/lib/$triplet/gconv"   # iconv charsets: nothing here converts text
    # Close over DT_NEEDED of every ELF file in the tree.
    missing=""
    for f in $(find "$root" -type f \( -perm -u+x -o -name '*.so*' \)); do
      case "$(head -c4 "$f" | od -An -c | tr -d ' ')" in *ELF*) ;; *) continue ;; esac
      for lib in $(needed "$f"); do
        found=0
        for d in lib/$triplet usr/lib/$triplet lib64 usr/lib64 lib usr/lib; do
          [ -e "$root/$d/$lib" ] && { found=1; break; }
        done
        [ $found = 1 ] || missing="$missing $lib"
      done
    done
    todo=""
    for lib in $(printf '%s\n' $missing | sort -u); do
      p=$(package_of_lib "$lib") || { say "no package holds $lib"; exit 1; }
      case " $have $todo " in *" $p "*) ;; *) todo="$todo $p" ;; esac
    done
  done
  # What maintainer scripts would have done.
  # (update-alternatives: the nft variant, as on a Debian 12 host)
  for t in iptables ip6tables; do
    for s in "" -save -restore; do
      [ -e "$root/usr/sbin/$t$s" ] || ln -s "$t-nft$s" "$root/usr/sbin/$t$s"
    done
  done
  [ -e "$root/bin/sh" ] || ln -s dash "$root/bin/sh"
  mkdir -p "$root/tmp" "$root/run" "$root/var/lib/swarmwall" "$root/etc/swarmwall" "$root/usr/local/bin"
  chmod 1777 "$root/tmp"
  echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
  echo "root:x:0:" > "$root/etc/group"
  printf '%s\n' $have | sort -u > "$root/etc/swarmwall/image-packages"
  rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/locale" \
         "$root/usr/share/lintian"
  tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$out/base.tar.new" .
  mv "$out/base.tar.new" "$out/base.tar"
  echo "$key" > "$out/base.key"
  say "base $key: $(wc -c < "$out/base.tar") bytes, $(printf '%s\n' $have | sort -u | wc -l) packages -> $out/base.tar"
fi

ctx="$out/context"
mkdir -p "$ctx"
cp "$repo/deploy/Dockerfile" "$ctx/Dockerfile"
strip --strip-debug -o "$ctx/swarmwall.new" "$binary"
mv "$ctx/swarmwall.new" "$ctx/swarmwall"
echo "swarmwall-base:$key" > "$out/base.image"
say "context: $ctx (Dockerfile, swarmwall $(wc -c < "$ctx/swarmwall") bytes)"

if [ $load = 1 ]; then
  docker=${DOCKER:-docker}
  if ! $docker image inspect "swarmwall-base:$key" >/dev/null 2>&1; then
    $docker import "$out/base.tar" "swarmwall-base:$key" >&2
  fi
  DOCKER_BUILDKIT=0 $docker build -q --build-arg "BASE=swarmwall-base:$key" -t "$tag" "$ctx" >&2
  $docker save "$tag" -o "$out/image.tar"
  say "image $tag built; saved to $out/image.tar (docker load -i on other nodes)"
fi
