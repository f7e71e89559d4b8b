#!/usr/bin/env bash
# Issue 14's figures for the native nftables model, side by side in one run,
# inside a network namespace this script creates (never the root
# namespace's rules):
#  (a) a 10,000-rule nftables ruleset (an own inet table: an input chain of
#      5,000 `ip saddr A tcp dport P accept` rules and a forward chain of
#      5,000 `ct original ip daddr A ct original proto-dst P drop` rules, a
#      1,000-element interval set, a vmap) loaded with `nft -f`: `nft -j list
#      ruleset` itself vs swarmwall reading it live (libnftables list + parse
#      + model) and from the saved JSON (parse + model);
#  (b) trace throughput (packets/s) on that ruleset;
#  (c) exposure of that host, and of a real Docker 29.7.2 nftables-mode
#      Swarm worker (tests/fixtures/docker-29.7-nftables/w1).
# Prints a markdown block. Usage (root):
#   bench/nft_bench.sh BUILD_DIR      (BUILD_DIR holds src/analyze/nft_perftest)
set -euo pipefail

build=$(cd "${1:?usage: nft_bench.sh BUILD_DIR}" && pwd)
perf="$build/src/analyze/nft_perftest"
repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${NFT_BENCH_RUNS:-7}

if [[ "${NFT_BENCH_INSIDE:-}" != 1 ]]; then
  ns="swarmwall-nbench-$$"
  ip netns add "$ns"
  trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
  NFT_BENCH_INSIDE=1 ip netns exec "$ns" "$0" "$@"
  exit $?
fi

work=$(mktemp -d /tmp/swarmwall-nbench.XXXXXX)
trap 'rm -rf "$work"' EXIT
ip link set lo up

python3 - "$work/big.nft" <<'PY'
import sys
out = open(sys.argv[1], "w")
w = out.write
w("table inet bench {\n")
w("  set allowed { type ipv4_addr; flags interval; elements = { ")
w(", ".join(f"10.{i // 250}.{i % 250}.0/24" for i in range(1000)))
w(" } }\n")
w("  chain dispatch { }\n")
w("  chain input { type filter hook input priority filter; policy drop;\n")
w("    ct state established,related accept\n    iifname \"lo\" accept\n")
w("    ip saddr @allowed tcp dport 22 accept\n")
for i in range(5000 - 3):
    w(f"    ip saddr 192.0.{i // 250}.{i % 250} tcp dport {1000 + i % 2000} accept\n")
w("  }\n")
w("  chain forward { type filter hook forward priority filter - 10; policy accept;\n")
w("    ct state established,related accept\n")
w("    iifname vmap { \"docker0\" : jump dispatch, \"eth1\" : accept }\n")
for i in range(5000 - 2):
    w(f"    ct status dnat meta l4proto tcp ct original ip daddr 203.0.113.{i % 250} ct original proto-dst {2000 + i % 3000} drop\n")
w("  }\n}\n")
PY
nft -f "$work/big.nft"
count=$(nft -a list ruleset | grep -c "# handle" || true)

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms_of() {   # ms_of CMD...: the median wall time of RUNS runs, in ms
  for _ in $(seq "$runs"); do
    local a b
    a=$(date +%s%N); "$@" >/dev/null; b=$(date +%s%N)
    echo $(( (b - a) / 1000 ))
  done | median | awk '{printf "%.2f", $1 / 1000}'
}

nft -j list ruleset > "$work/big.json"
list_ms=$(ms_of nft -j list ruleset)
live=$("$perf" live "$runs")
read_=$("$perf" read "$work/big.json" "$runs")
live_ms=$(echo "$live" | awk '{print $2}')
read_ms=$(echo "$read_" | awk '{print $2}')
rules=$(echo "$read_" | awk '{print $3}')
trace=$("$perf" trace "$work/big.json" 200000)
cat > "$work/addr.json" <<'J'
[{"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
 {"ifname":"eth0","addr_info":[{"family":"inet","local":"203.0.113.11","prefixlen":24}]},
 {"ifname":"docker0","addr_info":[{"family":"inet","local":"172.17.0.1","prefixlen":16}]},
 {"ifname":"bridge1","addr_info":[{"family":"inet","local":"192.0.2.1","prefixlen":24}]}]
J
cat > "$work/route.json" <<'J'
[{"dst":"default","gateway":"203.0.113.1","dev":"eth0"},{"dst":"203.0.113.0/24","dev":"eth0"},
 {"dst":"172.17.0.0/16","dev":"docker0"},{"dst":"192.0.2.0/24","dev":"bridge1"}]
J
exp_big=$("$perf" exposure "$work/big.json" "$work/addr.json" "$work/route.json")
fx="$repo/tests/fixtures/docker-29.7-nftables"
exp_docker=$("$perf" exposure "$fx/w1.nft.json" "$fx/w1.ip-addr.json" "$fx/w1.ip-route.json")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo "| What (nftables ruleset of $count rules; swarmwall models $rules) | Time | Ratio |"
echo "|---|---|---|"
echo "| \`nft -j list ruleset\` (the kernel tool, JSON out) | ${list_ms} ms | 1.00x |"
echo "| swarmwall live: libnftables list + parse + model | ${live_ms} ms | $(ratio "$live_ms" "$list_ms")x |"
echo "| swarmwall from the saved JSON: parse + model | ${read_ms} ms | $(ratio "$read_ms" "$list_ms")x |"
echo "| trace fast path on it | $(echo "$trace" | awk '{printf "%d", $2}') packets/s | |"
echo "| exposure of that host (4 interfaces) | $(echo "$exp_big" | awk '{print $2}') ms | |"
echo "| exposure of a real Docker 29.7.2 nftables-mode Swarm worker (tests/fixtures/docker-29.7-nftables/w1) | $(echo "$exp_docker" | awk '{print $2}') ms | |"
echo
echo "(medians of $runs runs; \`bench/nft_bench.sh $1\`)"
