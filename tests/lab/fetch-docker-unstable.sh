#!/usr/bin/env bash
# Obtains Debian unstable's docker.io (28.5.x) and containerd for the lab,
# WITHOUT installing them: a private apt configuration naming the unstable
# suite downloads the two .debs, dpkg-deb -x unpacks them into a cache folder
# and the runc they ship is deleted (it needs a newer glibc; the lab uses
# Debian 12's /usr/sbin/runc). Nothing outside the cache folder is changed.
#
#   cache folder: /var/cache/swarmwall-lab/docker-unstable
#                 (override with SWARMWALL_LAB_CACHE)
#
# Idempotent: does nothing when the folder already holds a working dockerd.
# Exits 0 with a warning when the download is impossible (no network, no
# mirror, package gone), so the lab's 28.5 tests skip instead of failing.
set -uo pipefail

CACHE="${SWARMWALL_LAB_CACHE:-/var/cache/swarmwall-lab/docker-unstable}"
# The Debian mirror this machine already uses (its apt sources), never one
# named here: the first URI serving the main archive (not -security).
mirror_uri() {
  local uri
  uri=$( { cat /etc/apt/sources.list 2>/dev/null | awk '$1=="deb"{for(i=2;i<=NF;i++) if($i ~ /^[a-z+]+:\/\//){print $i; break}}'
           cat /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1=="deb"{for(i=2;i<=NF;i++) if($i ~ /^[a-z+]+:\/\//){print $i; break}}'
           cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/{for(i=2;i<=NF;i++) print $i}'
         } | grep -v -- '-security' | grep -v -i 'snapshot' | head -n 1)
  [ -n "$uri" ] && echo "${uri%/}"
}

warn() { echo "fetch-docker-unstable: WARNING: $*" >&2; }
info() { echo "fetch-docker-unstable: $*"; }

dockerd_version() {
  # Prints the unpacked dockerd's version, fails when it does not run here.
  [ -x "$CACHE/usr/sbin/dockerd" ] || return 1
  PATH="$CACHE/usr/sbin:$CACHE/usr/bin:$PATH" \
    "$CACHE/usr/sbin/dockerd" --version 2>/dev/null | grep -q 'Docker version' || return 1
  PATH="$CACHE/usr/sbin:$CACHE/usr/bin:$PATH" "$CACHE/usr/sbin/dockerd" --version
}

if v="$(dockerd_version)"; then
  info "already present in $CACHE: $v"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  warn "must run as root to fetch Docker 28.5; the lab's 28.5 tests will skip"
  exit 0
fi
for tool in apt-get dpkg-deb; do
  if ! command -v "$tool" >/dev/null; then
    warn "$tool not found; the lab's 28.5 tests will skip"
    exit 0
  fi
done

WORK="$(mktemp -d /tmp/swl-fetch.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/lists/partial" "$WORK/debs"
if ! MIRROR=$(mirror_uri); then
  warn "no Debian mirror in this machine's apt sources; the lab's 28.5 tests will skip"
  exit 0
fi
echo "deb $MIRROR unstable main" >"$WORK/sources.list"

APT_OPTS=(
  -o "Dir::Etc::sourcelist=$WORK/sources.list"
  -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$WORK/lists"
  -o "Dir::Cache::pkgcache="
  -o "Dir::Cache::srcpkgcache="
  -o "APT::Get::List-Cleanup=0"
  -o "Acquire::Retries=2"
  -o "Debug::NoLocking=1"
)

info "apt-get update (private lists, suite unstable)"
if ! apt-get "${APT_OPTS[@]}" -qq update >"$WORK/update.log" 2>&1; then
  warn "apt-get update for unstable failed; the lab's 28.5 tests will skip"
  tail -n 5 "$WORK/update.log" >&2
  exit 0
fi

info "apt-get download docker.io containerd (and docker-cli)"
if ! (cd "$WORK/debs" && apt-get "${APT_OPTS[@]}" -qq download docker.io containerd) \
    >"$WORK/download.log" 2>&1; then
  warn "apt-get download failed; the lab's 28.5 tests will skip"
  tail -n 5 "$WORK/download.log" >&2
  exit 0
fi
# The matching CLI (split out of docker.io in unstable). Optional: without it
# the lab drives the 28.5 daemon with Debian 12's docker CLI (API negotiation).
if ! (cd "$WORK/debs" && apt-get "${APT_OPTS[@]}" -qq download docker-cli) \
    >>"$WORK/download.log" 2>&1; then
  warn "docker-cli not downloaded; the lab falls back to /usr/bin/docker"
fi

# Unpack into a fresh folder next to the cache, then swap it in, so an
# interrupted run never leaves a half-filled cache behind.
mkdir -p "$(dirname "$CACHE")"
STAGE="$(mktemp -d "$(dirname "$CACHE")/.stage.XXXXXX")"
for deb in "$WORK"/debs/*.deb; do
  info "unpacking $(basename "$deb")"
  if ! dpkg-deb -x "$deb" "$STAGE"; then
    warn "dpkg-deb -x $deb failed; the lab's 28.5 tests will skip"
    rm -rf "$STAGE"
    exit 0
  fi
done
# Debian 12's own runc must be used: unstable's needs a newer glibc.
find "$STAGE" -name runc \( -type f -o -type l \) -delete

rm -rf "$CACHE"
mv "$STAGE" "$CACHE"
chmod 755 "$CACHE"

if v="$(dockerd_version)"; then
  info "ready in $CACHE: $v"
else
  warn "the unpacked dockerd does not run on this system; the lab's 28.5 tests will skip"
fi
exit 0
