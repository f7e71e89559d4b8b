#!/usr/bin/env bash
# The main demo: sets up, builds, then brings up a real Docker host in a
# network namespace (Debian 12's dockerd 20.10, and Debian unstable's 28.5
# when available), publishes container ports, and runs
# `swarmwall explain --live` on it. Everything is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: run as root (it creates network namespaces and runs dockerd)" >&2
  exit 1
fi
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build swarmwall swarmwall_demo
exec build/swarmwall_demo "$(pwd)/build/swarmwall"
