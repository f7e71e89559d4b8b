#!/bin/bash
# swarmwall agent figures (issue 6), in a network namespace this script makes
# and removes (never the root namespace's netfilter):
#   1. repair latency over N drift events (default 100: flushed SWARMWALL-INPUT,
#      deleted INPUT jump, jump no longer first, in turn), nft variant, with
#      FOREIGN foreign rules (default 0) beside: the time from just before the
#      change command to the agent's repair record (wall clock), and the
#      agent's own since_event_ms (nf_tables event received -> repair committed);
#   2. idle CPU (the agent and the children it waits for, over IDLE seconds,
#      default 30) and RSS with 10,000 foreign rules in filter.
# Usage: bench/agent_bench.sh [BUILD_DIR]   (root; env N, FOREIGN, IDLE;
#        BUILD_DIR defaults to build/ of this repository)
set -euo pipefail
BUILD=${1:-$(cd "$(dirname "$0")/.." && pwd)/build}
BIN=$BUILD/swarmwall
N=${N:-100}
IDLE=${IDLE:-30}
NS=swlagbench$$
DIR=$(mktemp -d /tmp/agent-bench.XXXXXX)
AGENT=
cleanup() {
  [ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
in_ns() { nsenter --net=/var/run/netns/$NS "$@"; }

cat > "$DIR/policy.yaml" <<'YAML'
version: 1
interfaces: { public: [eth0] }
sets:
  office: [198.51.100.0/24, 2001:db8:100::/48]
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

foreign() {  # $1 rules in a chain of another owner, jumped to from INPUT
  { echo "*filter"; echo ":OTHER - [0:0]"
    for ((i = 0; i < $1; i++)); do
      printf -- "-A OTHER -s 10.%d.%d.0/24 -p tcp -m tcp --dport %d -j ACCEPT\n" $((i / 256 % 256)) $((i % 256)) $((1024 + i % 60000))
    done
    echo "-A INPUT -j OTHER"; echo "COMMIT"; } | in_ns iptables-restore --noflush
}

start_agent() {
  : > "$DIR/agent.log"
  # nsenter and env exec: $! is the agent itself.
  nsenter --net=/var/run/netns/$NS env SWARMWALL_STATE_DIR="$DIR/state" DOCKER_HOST=unix://$DIR/no-docker.sock \
    "$BIN" agent "$DIR/policy.yaml" --log-format json 2>> "$DIR/agent.log" &
  AGENT=$!
  for i in $(seq 100); do grep -q '"event":"watching"' "$DIR/agent.log" && return; sleep 0.1; done
  echo "the agent did not start:"; cat "$DIR/agent.log"; exit 1
}

latency() {  # N drift events, one at a time
  local marks="$DIR/marks"; : > "$marks"
  for ((i = 0; i < N; i++)); do
    local before; before=$(grep -c '"event":"repair"' "$DIR/agent.log" || true)
    local t0; t0=$(date +%s%N)
    case $((i % 3)) in
      0) in_ns iptables -F SWARMWALL-INPUT ;;
      1) in_ns iptables -D INPUT -j SWARMWALL-INPUT ;;
      2) in_ns iptables -I INPUT 1 -s 192.0.2.1 -j ACCEPT ;;
    esac
    for j in $(seq 500); do
      [ "$(grep -c '"event":"repair"' "$DIR/agent.log" || true)" -gt "$before" ] && break; sleep 0.01
    done
    echo "$t0" >> "$marks"
    [ $((i % 3)) = 2 ] && in_ns iptables -D INPUT -s 192.0.2.1 -j ACCEPT && sleep 0.2
    sleep 0.05
  done
  python3 - "$DIR/agent.log" "$marks" <<'PY'
import json, sys, datetime, statistics
recs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
reps = [r for r in recs if r.get("event") == "repair" and r.get("trigger") == "nftables-event"]
marks = [int(l) for l in open(sys.argv[2])]
def ns(t): return datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1e3
# Each mark's repair: the first repair record after it.
wall = []
for m in marks:
    after = [ns(r["time"]) - m / 1e6 for r in reps if ns(r["time"]) >= m / 1e6]
    if after: wall.append(min(after))
ev = [r["since_event_ms"] for r in reps if "since_event_ms" in r]
def line(name, xs):
    xs = sorted(xs)
    print(f"  {name}: n={len(xs)} median={statistics.median(xs):.1f} ms p90={xs[int(len(xs)*0.9)-1]:.1f} ms max={xs[-1]:.1f} ms")
line("change command start -> repair logged", wall)
line("nf_tables event -> repair committed (since_event_ms)", ev)
PY
}

idle() {
  local pid=$AGENT
  sleep 3
  local hz; hz=$(getconf CLK_TCK)
  read -r -a a < <(cut -d' ' -f14-17 /proc/$pid/stat)
  local t0; t0=$(date +%s%N)
  sleep "$IDLE"
  read -r -a b < <(cut -d' ' -f14-17 /proc/$pid/stat)
  local t1; t1=$(date +%s%N)
  python3 - "$hz" "$t0" "$t1" "${a[@]}" "${b[@]}" <<'PY'
import sys
hz, t0, t1 = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
a = list(map(int, sys.argv[4:8])); b = list(map(int, sys.argv[8:12]))
secs = (t1 - t0) / 1e9
own = (b[0] + b[1] - a[0] - a[1]) / hz
kids = (b[2] + b[3] - a[2] - a[3]) / hz
print(f"  idle over {secs:.0f} s: agent {100*own/secs:.2f}% CPU, its children (ipset save, ip, ...) {100*kids/secs:.2f}%, total {100*(own+kids)/secs:.2f}%")
PY
  echo "  RSS: $(grep VmRSS /proc/$pid/status | awk '{print $2/1024 " MB"}')  (peak $(grep VmHWM /proc/$pid/status | awk '{print $2/1024 " MB"}'))"
}

echo "swarmwall agent bench ($(in_ns iptables --version), $(nproc) cores, $(date -u +%FT%TZ))"
echo "1. repair latency, $N drift events, nft variant, ${FOREIGN:-0} foreign rules:"
[ "${FOREIGN:-0}" -gt 0 ] && foreign "$FOREIGN"
start_agent
latency
cp "$DIR/agent.log" /tmp/agent_bench_latency.log
kill "$AGENT"; wait "$AGENT" 2>/dev/null || true; AGENT=
echo "2. idle, 10,000 foreign rules in filter, checks every 2 s (default interval):"
[ "${FOREIGN:-0}" -eq 0 ] && foreign 10000
echo "  foreign rules: $(in_ns iptables -S | grep -c -- '-A OTHER')"
start_agent
idle
