#!/usr/bin/env bash
# The main demo: sets up, builds, then brings up the seed-004 cluster in
# network namespaces (three Docker Swarm nodes, each its own dockerd 20.10,
# with published containers and host services; a stranger, an office and an
# admin outside), scans every node from the stranger with nmap, runs
# `swarmwall plan` and `swarmwall apply examples/swarm-cluster.yaml` on each
# node, scans again from the stranger, the office and the admin, and shows
# `swarmwall status`. Everything is removed afterwards, also on failure.
# About a minute once built.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: run as root (it creates network namespaces and runs dockerd)" >&2
  exit 1
fi
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build swarmwall swarmwall_demo
exec build/swarmwall_demo "$(pwd)/build/swarmwall" "$(pwd)/examples/swarm-cluster.yaml"
