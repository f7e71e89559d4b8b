#!/usr/bin/env bash
# Installs everything swarmwall's build, demo and tests need on a fresh
# Debian 12 machine (run as root). Idempotent: a second run only checks.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libfmt-dev
  libcurl4-openssl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libnftables-dev
  # the kernel tools swarmwall drives and the tests judge it by
  iptables ipset nftables conntrack iproute2
  # the lab: real dockerd nodes in namespaces, probes from outside
  docker.io busybox-static socat curl nmap netcat-openbsd
  # the agent's image, made from Debian packages (deploy/image/build.sh)
  binutils dpkg-dev
  # docs and checks
  graphviz systemd firewalld time
  python3-jsonschema python3-yaml
  # promtool, for the alert rules of deploy/monitoring/ (the server is not used)
  prometheus
  # the Debian package: its lintian check, and its test in a throwaway root
  lintian debootstrap man-db
  # the HTML reports opened in a real browser (tests/browser: playwright-core
  # from the npm registry drives Debian's Chromium)
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's docker.io package may try to start a system dockerd; the lab runs
# its own daemons per namespace and must not share the host's.
# Node.js for tests/browser (a machine may have its own, newer one).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
# The prometheus package starts a server where systemd runs: only its
# promtool is wanted.
if [ -d /run/systemd/system ] && systemctl is-enabled prometheus >/dev/null 2>&1; then
  systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
# Docker 28.5 (Debian unstable) for the lab, unpacked into a cache, never installed.
"$(dirname "$0")/../tests/lab/fetch-docker-unstable.sh"
echo "setup: ok"
