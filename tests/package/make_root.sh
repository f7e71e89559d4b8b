#!/usr/bin/env bash
# Prints the path of a tarball of a minimal Debian 12 root (debootstrap
# --variant=minbase, and systemd: the units are verified against its own
# units) made from this machine's own Debian mirror, as its apt
# sources name it; made once, under an flock, and kept in
# $SWARMWALL_LAB_CACHE (default /var/cache/swarmwall-lab).
set -euo pipefail
cache=${SWARMWALL_LAB_CACHE:-/var/cache/swarmwall-lab}
tarball=$cache/debian12-minbase-systemd.tar
mkdir -p "$cache"
exec 9>"$cache/.debian12-minbase-systemd.lock"
flock 9
if [ ! -s "$tarball" ]; then
  # The mirror of the machine's Debian sources (deb822 or one-line form).
  mirror=$({ cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true; } |
    grep -E '^(URIs:|deb )' | grep -v security | grep -oE 'https?://[^ ]+/debian/?' | sed -n 1p || true)
  [ -n "$mirror" ] || { echo "make_root.sh: no Debian mirror in this machine's apt sources" >&2; exit 1; }
  work=$(mktemp -d "$cache/root.XXXXXX")
  trap 'rm -rf --one-file-system "$work"' EXIT
  debootstrap --variant=minbase --include=systemd bookworm "$work/root" "$mirror" >"$work/log" 2>&1 ||
    { tail -20 "$work/log" >&2; exit 1; }
  rm -rf "$work/root/var/cache/apt/archives/"*.deb
  tar -C "$work/root" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
fi
echo "$tarball"
