#!/bin/bash
# swarmwall agent figures on an nftables node (issue 15), in a network
# namespace this script makes and removes (never the root namespace's
# netfilter): `swarmwall agent --backend nftables` keeps tables ip/ip6
# swarmwall; N drift events (default 60), in turn: an owned chain flushed,
# table ip swarmwall deleted, the input base chain's jump deleted. For each:
# the time from just before the change command to the agent's repair record
# (wall clock), and the agent's own since_event_ms (nf_tables event received
# -> repair committed) and duration_ms (the check and repair themselves).
# BIG=1 puts apply_bench.sh's 100,000-entry set into the policy (a host rule
# matches it), so each repair after a drift reads a table holding it.
# INTERVAL=MS passes --interval-ms MS (the periodic check; default 2000).
# Usage: bench/nft_agent_bench.sh [BUILD_DIR]   (root; env N, BIG, INTERVAL;
#        BUILD_DIR defaults to build/ of this repository)
set -euo pipefail
BUILD=${1:-$(cd "$(dirname "$0")/.." && pwd)/build}
BIN=$BUILD/swarmwall
N=${N:-60}
NS=swlnagbench$$
DIR=$(mktemp -d /tmp/nft-agent-bench.XXXXXX)
AGENT=
cleanup() {
  [ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
in_ns() { nsenter --net=/var/run/netns/$NS "$@"; }

office="[198.51.100.0/24, 2001:db8:100::/48]"
if [ "${BIG:-0}" = 1 ]; then
  # 2 addresses apart, as in nft_apply_bench.sh: 100,000 intervals, not one.
  awk 'BEGIN { for (i = 0; i < 100000; i++) { a = 2 * i; printf "10.%d.%d.%d/32\n", 100 + int(a / 65536), int(a / 256) % 256, a % 256 } }' >"$DIR/office.txt"
  office="{ file: office.txt }"
fi
cat > "$DIR/policy.yaml" <<YAML
version: 1
interfaces: { public: [eth0] }
sets:
  office: $office
nodes:
  - { name: node-a, role: manager, address: 203.0.113.21 }
host:
  allow:
    - { service: ssh, from: office }
swarm: { from: nodes }
containers:
  default: drop
  allow:
    - { ports: [8080], from: office }
YAML

ip netns add "$NS"
ip -n "$NS" link add eth0 type veth peer name eth1
ip -n "$NS" addr add 203.0.113.21/24 dev eth0
for l in lo eth0 eth1; do ip -n "$NS" link set $l up; done

start_agent() {
  : > "$DIR/agent.log"
  # nsenter and env exec: $! is the agent itself.
  nsenter --net=/var/run/netns/$NS env SWARMWALL_STATE_DIR="$DIR/state" DOCKER_HOST=unix://$DIR/no-docker.sock \
    "$BIN" agent "$DIR/policy.yaml" --backend nftables --log-format json ${INTERVAL:+--interval-ms "$INTERVAL"} 2>> "$DIR/agent.log" &
  AGENT=$!
  for i in $(seq 300); do grep -q '"event":"watching"' "$DIR/agent.log" && return; sleep 0.1; done
  echo "the agent did not start:"; cat "$DIR/agent.log"; exit 1
}

# An owned chain the input base chain jumps to, and the handle of that jump.
input_target() { in_ns nft list chain ip swarmwall input | awk '$1 == "jump" { print $2; exit }'; }
jump_handle() { in_ns nft -a list chain ip swarmwall input | awk '$1 == "jump" { print $NF; exit }'; }

latency() {  # N drift events, one at a time
  local marks="$DIR/marks"; : > "$marks"
  local chain; chain=$(input_target)
  for ((i = 0; i < N; i++)); do
    local before; before=$(grep -c '"event":"repair"' "$DIR/agent.log" || true)
    local handle=; [ $((i % 3)) = 2 ] && handle=$(jump_handle)
    local t0; t0=$(date +%s%N)
    case $((i % 3)) in
      0) in_ns nft flush chain ip swarmwall "$chain" ;;
      1) in_ns nft delete table ip swarmwall ;;
      2) in_ns nft delete rule ip swarmwall input handle "$handle" ;;
    esac
    for j in $(seq 1000); do
      [ "$(grep -c '"event":"repair"' "$DIR/agent.log" || true)" -gt "$before" ] && break; sleep 0.01
    done
    echo "$t0 $((i % 3))" >> "$marks"
    sleep 0.2
  done
  python3 - "$DIR/agent.log" "$marks" <<'PY'
import json, sys, datetime, statistics
recs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
reps = [r for r in recs if r.get("event") == "repair"]
marks = [tuple(map(int, l.split())) for l in open(sys.argv[2])]
def ms(t): return datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1e3
kinds = ["flushed chain", "deleted table", "deleted jump"]
wall = {k: [] for k in range(3)}
dur = {k: [] for k in range(3)}
for m, k in marks:
    after = [(ms(r["time"]) - m / 1e6, r) for r in reps if ms(r["time"]) >= m / 1e6]
    if after:
        d, r = min(after, key=lambda x: x[0])
        wall[k].append(d)
        dur[k].append(r.get("duration_ms", 0))
ev = [r["since_event_ms"] for r in reps if "since_event_ms" in r]
triggers = sorted(set(r.get("trigger", "?") for r in reps))
def line(name, xs):
    if not xs:
        print(f"| {name} | 0 | | | | |"); return
    xs = sorted(xs)
    print(f"| {name} | {len(xs)} | {statistics.median(xs):.1f} | {xs[max(0, -(-len(xs)*9//10)-1)]:.1f} | {xs[-1]:.1f} |")
print("| what | n | median ms | p90 ms | max ms |")
print("|---|---:|---:|---:|---:|")
line("change command start -> repair logged, all", sum(wall.values(), []))
for k in range(3): line(f"... {kinds[k]}", wall[k])
line("nf_tables event -> repair committed (since_event_ms)", ev)
line("the repair's own check + write (duration_ms), all", sum(dur.values(), []))
for k in range(3): line(f"... {kinds[k]}", dur[k])
print()
print(f"repairs logged: {len(reps)} for {len(marks)} drift events; their triggers: {', '.join(triggers)}")
PY
}

echo "### swarmwall agent on an nftables node (issue 15): $(in_ns nft --version), $(nproc) cores, $(date -u +%FT%TZ)"
echo
echo "Policy: bench/agent_bench.sh's; agent interval ${INTERVAL:-2000 (default)} ms$([ "${BIG:-0}" = 1 ] && echo ", with office a 100,000-entry set (a file, 2 addresses apart: 100,000 intervals)"); $N drift events."
echo
start_agent
echo "Agent start: \`$(grep '"event":"watching"' "$DIR/agent.log" | head -1)\`"
echo
latency
cp "$DIR/agent.log" /tmp/nft_agent_bench.log
kill "$AGENT"; wait "$AGENT" 2>/dev/null || true; AGENT=
