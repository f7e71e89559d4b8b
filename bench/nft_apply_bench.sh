#!/usr/bin/env bash
# Issue 15's apply figures for the nftables backend, side by side in one run,
# inside a network namespace this script creates (never the root
# namespace's rules). The policy is apply_bench.sh's: 1,000 container port
# rules and a 100,000-entry set (plus a `nodes` set of 10 Swarm nodes for (d)).
#  (a) `swarmwall apply --backend nftables` from nothing of ours vs the bare
#      `nft -f` of the same rendered text (`render --backend nftables`), end
#      states compared; and vs `swarmwall apply --backend iptables` of the
#      same policy on Docker 28's hook points (DOCKER, DOCKER-USER);
#  (b) no-op re-apply beside 10,000 foreign nftables rules (a table of
#      another owner), with the proof of zero writes (the nf_tables
#      generation before and after, `nothing written`), and the same with the
#      kernel cache off (a full libnftables listing);
#  (c) one changed port (back and forth), and its floor: one bare `nft -f`
#      that refills the changed chain;
#  (d) one node more or less in the policy's `nodes` set (the change an agent
#      with `nodes: auto` writes when a node joins), applied with `swarmwall
#      apply --backend nftables` (the whole apply path, not the agent's
#      set-entries-only path), and its floor: one bare `nft add/delete element`.
# Prints a markdown block. Usage (root):
#   bench/nft_apply_bench.sh BUILD_DIR  (BUILD_DIR holds swarmwall and bench/nft_generation)
set -euo pipefail

build=$(cd "${1:?usage: nft_apply_bench.sh BUILD_DIR}" && pwd)
bin="$build/swarmwall"
gen="$build/bench/nft_generation"
runs=${APPLY_BENCH_RUNS:-5}

if [[ "${APPLY_BENCH_INSIDE:-}" != 1 ]]; then
  ns="swarmwall-nabench-$$"
  ip netns add "$ns"
  trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
  APPLY_BENCH_INSIDE=1 APPLY_BENCH_NS="$ns" ip netns exec "$ns" "$0" "$@"
  exit $?
fi

work=$(mktemp -d /tmp/swarmwall-nabench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export SWARMWALL_STATE_DIR="$work/state"
ip link set lo up

now_us() { echo $(( $(date +%s%N) / 1000 )); }
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
best() { sort -n | head -1; }
worst() { sort -n | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
stats() { local xs=("$@"); printf '%s\n' "${xs[@]}" | best; printf '%s\n' "${xs[@]}" | median; printf '%s\n' "${xs[@]}" | worst; }

# Docker 28's hook points for the iptables backend's row (both families).
for t in iptables ip6tables; do
  $t -N DOCKER; $t -N DOCKER-USER; $t -A FORWARD -j DOCKER-USER; $t -A FORWARD -j DOCKER
done

# apply_bench.sh's policy, with 10 (or 11) Swarm nodes in the `nodes` set.
# The addresses are 2 apart: apply_bench.sh's 100,000 consecutive /32s
# would be ONE interval in an nft interval set (so would its 500).
awk 'BEGIN { for (i = 0; i < 100000; i++) { a = 2 * i; printf "10.%d.%d.%d/32\n", 100 + int(a / 65536), int(a / 256) % 256, a % 256 } }' >"$work/office.txt"
awk 'BEGIN { for (i = 0; i < 500; i++) printf "10.99.%d.%d/32\n", int(i / 125), 2 * (i % 125) + 1 }' >"$work/small.txt"
policy() {  # $1: the port that differs, $2: how many nodes
  echo "version: 1"
  echo "interfaces: { public: [eth0] }"
  echo "sets:"
  echo "  office: { file: office.txt }"
  echo "  admins: [198.51.100.0/24]"
  echo "nodes:"
  echo "  - { name: n1, role: manager, address: 192.0.2.1 }"
  for ((n = 2; n <= $2; n++)); do echo "  - { name: n$n, role: worker, address: 192.0.2.$((n * 10)) }"; done
  echo "host:"
  echo "  allow:"
  echo "    - { service: ssh, from: office }"
  echo "swarm: { from: nodes }"
  echo "containers:"
  echo "  default: drop"
  echo "  allow:"
  for ((p = 20000; p < 20999; p++)); do echo "    - { ports: [$p], from: admins }"; done
  echo "    - { ports: [$1], from: admins }"
}
policy 20999 10 >"$work/p.yaml"
policy 21999 10 >"$work/p2.yaml"
policy 20999 11 >"$work/p11.yaml"
for f in p p2 p11; do sed 's/office.txt/small.txt/' "$work/$f.yaml" >"$work/t${f#p}.yaml"; done
"$bin" check "$work/p.yaml" >/dev/null

nft_apply() { "$bin" apply "$1" --node n1 --backend nftables "${@:2}"; }
# timed_applies VAR A B EXPECT [ARGS...]: runs*2 applies of $work/A.yaml and
# $work/B.yaml in turn (with ARGS), each one's wall time appended to the
# array VAR; each must print EXPECT ("" = anything).
timed_applies() {
  local -n into=$1
  local a=$2 b=$3 expect=$4 i p out t0 t1
  shift 4
  for ((i = 0; i < runs * 2; i++)); do
    p=$([[ $((i % 2)) == 0 ]] && echo "$a" || echo "$b")
    t0=$(now_us); out=$(nft_apply "$work/$p.yaml" "$@"); t1=$(now_us)
    [[ -z "$expect" || "$out" == *"$expect"* ]] ||
      { echo "nft_apply_bench: $p.yaml did not say \"$expect\": $out" >&2; exit 1; }
    into+=($((t1 - t0)))
  done
}
ipt_apply() { "$bin" apply "$1" --node n1 --backend iptables; }
# Our tables as the kernel lists them, without handles (for "identical").
ours() { { nft list table ip swarmwall; nft list table ip6 swarmwall; } 2>/dev/null | md5sum; }

# (a) swarmwall apply --backend nftables, from nothing of ours.
sw_times=()
for ((i = 0; i < runs; i++)); do
  "$bin" remove >/dev/null
  t0=$(now_us); nft_apply "$work/p.yaml" >/dev/null; t1=$(now_us)
  sw_times+=($((t1 - t0)))
done
sw_owned=$(ours)
v4_rules=$(nft list table ip swarmwall | grep -c 'ct original proto-dst' || true)
office_n=$(nft -j list set ip swarmwall swarmwall-office-v4 | python3 -c 'import json,sys; print(len([x for x in json.load(sys.stdin)["nftables"] if "set" in x][0]["set"]["elem"]))')

# The same text, bare: `nft -f` of render's NODE.nft, from nothing of ours.
"$bin" remove >/dev/null
"$bin" render "$work/p.yaml" --node n1 --backend nftables --out-dir "$work/render" >/dev/null
bare_times=()
for ((i = 0; i < runs; i++)); do
  "$bin" remove >/dev/null
  t0=$(now_us); nft -f "$work/render/n1.nft"; t1=$(now_us)
  bare_times+=($((t1 - t0)))
done
bare_owned=$(ours)
same_text=$([[ "$sw_owned" == "$bare_owned" ]] && echo "identical" || echo "DIFFERENT")
nft_text_kib=$(( $(stat -c %s "$work/render/n1.nft") / 1024 ))

# The iptables backend on the same policy (ipset + iptables-nft here).
ipt_times=()
for ((i = 0; i < runs; i++)); do
  "$bin" remove >/dev/null
  t0=$(now_us); ipt_apply "$work/p.yaml" >/dev/null; t1=$(now_us)
  ipt_times+=($((t1 - t0)))
done
"$bin" remove >/dev/null
# Where (a)'s time goes: one apply with SWARMWALL_TIMINGS=1.
SWARMWALL_TIMINGS=1 nft_apply "$work/p.yaml" >/dev/null 2>"$work/timings-a.txt" || true
"$bin" remove >/dev/null

# (b) 10,000 foreign rules in a table of another owner, then no-op re-applies.
{
  echo "table inet foreign {"
  for ((c = 0; c < 10; c++)); do
    echo "  chain f$c {"
    for ((i = 0; i < 1000; i++)); do echo "    ip saddr 10.$((200 + c)).$((i / 250)).$((i % 250 + 1)) tcp dport $((1000 + i)) accept"; done
    echo "  }"
  done
  echo "  chain input { type filter hook input priority 10; policy accept;"
  for ((c = 0; c < 10; c++)); do echo "    jump f$c"; done
  echo "  }"
  echo "}"
} >"$work/foreign.nft"
nft -f "$work/foreign.nft"
foreign=$(nft list table inet foreign | grep -c 'accept$' || true)
nft_apply "$work/p.yaml" >/dev/null   # the state and the cache brought up to date
noop_times=()
timed_applies noop_times p p "nothing written"
# The same, 20 in a row under bash's `time`: the process alone, without the
# two `date` processes around each run above (~10 ms of their own).
loop_avg_us() {   # loop_avg_us N CMD...: the mean wall time of CMD over N runs
  local n=$1 secs; shift
  secs=$( { TIMEFORMAT=%R; time (for ((k = 0; k < n; k++)); do "$@" >/dev/null; done); } 2>&1 )
  awk -v s="$secs" -v n="$n" 'BEGIN { printf "%d", s * 1000000 / n }'
}
noop_loop_us=$(loop_avg_us 20 nft_apply "$work/p.yaml")
# The proof of zero writes: nf_tables generation and our tables unchanged.
gen_before=$("$gen"); owned_before=$(ours)
SWARMWALL_TIMINGS=1 nft_apply "$work/p.yaml" >"$work/noop-out.txt" 2>"$work/timings-b.txt"
gen_after=$("$gen"); owned_after=$(ours)
noop_said=$(grep -o 'nothing written[^.]*' "$work/noop-out.txt" | head -1)
# A read that misses the cache: the generation moves (a commit to another
# table), so the next no-op lists our tables through libnftables.
nft add table inet bump; nft delete table inet bump
t0=$(now_us); SWARMWALL_TIMINGS=1 nft_apply "$work/p.yaml" >/dev/null 2>"$work/timings-miss.txt"; t1=$(now_us)
miss_us=$((t1 - t0))
full_times=()
for ((i = 0; i < runs; i++)); do
  t0=$(now_us); SWARMWALL_KERNEL_CACHE=0 nft_apply "$work/p.yaml" >/dev/null; t1=$(now_us)
  full_times+=($((t1 - t0)))
done
t0=$(now_us); nft list table ip swarmwall >/dev/null; t1=$(now_us)
nft_list_us=$((t1 - t0))
t0=$(now_us); nft -j list table ip swarmwall >/dev/null; t1=$(now_us)
nft_list_json_us=$((t1 - t0))

# (c) one changed port, back and forth.
change_times=()
timed_applies change_times p2 p "applied"
SWARMWALL_TIMINGS=1 nft_apply "$work/p2.yaml" >/dev/null 2>"$work/timings-c.txt"
nft_apply "$work/p.yaml" >/dev/null
# The same without the check for ports other owners drop (it lists the
# host's whole nftables ruleset beside the commit: libnftables 1.0.6 loads
# the 100,000 elements for that too).
nocheck_times=()
timed_applies nocheck_times p2 p "applied" --no-other-owners-check
# The floor: one bare `nft -f` flushing and refilling the chain that changes.
user_chain=$(nft list table ip swarmwall | awk '/^\tchain /{ c = $2 } /ct original proto-dst 20999/{ print c; exit }')
{ echo "flush chain ip swarmwall $user_chain"; echo "table ip swarmwall {"; echo "chain $user_chain {"
  nft list chain ip swarmwall "$user_chain" | sed -n '/^\tchain /,/^\t}/p' | sed '1d;$d'
  echo "}"; echo "}"; } >"$work/refill.nft"
# (An earlier version of this script matched no line here: its floor
# refilled an empty chain, ~35 ms. The count says what it refills now.)
refill_rules=$(grep -c 'proto-dst' "$work/refill.nft" || true)
floor_times=()
for ((i = 0; i < runs * 2; i++)); do
  t0=$(now_us); nft -f "$work/refill.nft"; t1=$(now_us)
  floor_times+=($((t1 - t0)))
done
nft_apply "$work/p.yaml" >/dev/null   # the floor wrote; bring the cache up to date

# (d) one node more, then one less, in the `nodes` set.
nodes_set=swarmwall-nodes-v4   # addresses 10 apart: one node is one interval
member_times=()
timed_applies member_times p11 p "applied"
SWARMWALL_TIMINGS=1 nft_apply "$work/p11.yaml" >"$work/member-out.txt" 2>"$work/timings-d.txt"
in_set=$(nft list set ip swarmwall "$nodes_set" | grep -c '192.0.2.110' || true)
nft_apply "$work/p.yaml" >/dev/null
member_floor_times=()
for ((i = 0; i < runs * 2; i++)); do
  op=$([[ $((i % 2)) == 0 ]] && echo add || echo delete)
  t0=$(now_us); nft "$op" element ip swarmwall "$nodes_set" '{ 192.0.2.110 }'; t1=$(now_us)
  member_floor_times+=($((t1 - t0)))
done
nft_apply "$work/p.yaml" >/dev/null

# (b), (c), (d) with the typical policy (a 500-entry set in place of 100,000),
# from nothing of ours: applying it over the big one deletes 100,000
# elements in one transaction, which libnftables 1.0.6 takes minutes of CPU
# to prepare (seen in the first run of this script; not an item of the issue).
"$bin" remove >/dev/null
nft_apply "$work/t.yaml" >/dev/null
tnoop_times=()
timed_applies tnoop_times t t "nothing written"
tnoop_loop_us=$(loop_avg_us 20 nft_apply "$work/t.yaml")
tchange_times=()
timed_applies tchange_times t2 t "applied"
tnocheck_times=()
timed_applies tnocheck_times t2 t "applied" --no-other-owners-check
tmember_times=()
timed_applies tmember_times t11 t "applied"
t0=$(now_us); "$bin" check "$work/p.yaml" >/dev/null; t1=$(now_us); check_us=$((t1 - t0))
t0=$(now_us); "$bin" check "$work/t.yaml" >/dev/null; t1=$(now_us); tcheck_us=$((t1 - t0))
"$bin" remove >/dev/null
nft delete table inet foreign

read -r sw_best sw_med sw_max < <(stats "${sw_times[@]}" | paste -sd' ')
read -r bare_best bare_med bare_max < <(stats "${bare_times[@]}" | paste -sd' ')
read -r ipt_best ipt_med ipt_max < <(stats "${ipt_times[@]}" | paste -sd' ')
read -r noop_best noop_med noop_max < <(stats "${noop_times[@]}" | paste -sd' ')
read -r full_best full_med full_max < <(stats "${full_times[@]}" | paste -sd' ')
read -r ch_best ch_med ch_max < <(stats "${change_times[@]}" | paste -sd' ')
read -r nc_best nc_med nc_max < <(stats "${nocheck_times[@]}" | paste -sd' ')
read -r tnc_best tnc_med tnc_max < <(stats "${tnocheck_times[@]}" | paste -sd' ')
read -r fl_best fl_med fl_max < <(stats "${floor_times[@]}" | paste -sd' ')
read -r mb_best mb_med mb_max < <(stats "${member_times[@]}" | paste -sd' ')
read -r mf_best mf_med mf_max < <(stats "${member_floor_times[@]}" | paste -sd' ')
read -r tn_best tn_med tn_max < <(stats "${tnoop_times[@]}" | paste -sd' ')
read -r tc_best tc_med tc_max < <(stats "${tchange_times[@]}" | paste -sd' ')
read -r tm_best tm_med tm_max < <(stats "${tmember_times[@]}" | paste -sd' ')
met() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t ? "met" : "MISSED") }'; }

echo "### nftables backend apply (issue 15): network namespace \`${APPLY_BENCH_NS:-?}\`, $(nft --version), $(iptables --version)"
echo
echo "Policy: $v4_rules container port rules, set office: 100,000 /32s two addresses apart, $office_n elements in swarmwall-office-v4, 10 Swarm nodes in the nodes set; rendered text $nft_text_kib KiB; $runs runs each unless said; times are wall clock of the whole command (process start to exit)."
echo
echo "| what | best ms | median ms | max ms | target |"
echo "|---|---:|---:|---:|---|"
echo "| (a) \`swarmwall apply --backend nftables\` from nothing of ours | $(ms "$sw_best") | $(ms "$sw_med") | $(ms "$sw_max") | |"
echo "| (a) bare \`nft -f NODE.nft\` of the same rendered text, from nothing of ours (end state: $same_text) | $(ms "$bare_best") | $(ms "$bare_med") | $(ms "$bare_max") | |"
echo "| (a) swarmwall nftables / bare \`nft -f\` | $(ratio "$sw_best" "$bare_best") | $(ratio "$sw_med" "$bare_med") | | <= 1.2x: $(met "$(awk -v a="$sw_med" -v b="$bare_med" 'BEGIN{print a/b}')" 1.2) (median) |"
echo "| (a) \`swarmwall apply --backend iptables\` of the same policy (ipset + iptables-nft, Docker 28 hook points), from nothing of ours | $(ms "$ipt_best") | $(ms "$ipt_med") | $(ms "$ipt_max") | |"
echo "| (a) swarmwall nftables / swarmwall iptables | $(ratio "$sw_best" "$ipt_best") | $(ratio "$sw_med" "$ipt_med") | | |"
echo "| (b) no-op re-apply, $foreign foreign nftables rules in another table ($((runs * 2)) runs) | $(ms "$noop_best") | $(ms "$noop_med") | $(ms "$noop_max") | <= 20 ms, zero writes: $(met "$noop_med" 20000) (median) |"
echo "| (b) the same, mean of 20 in a row under bash's \`time\` (no \`date\` processes around each) | | $(ms "$noop_loop_us") | | <= 20 ms: $(met "$noop_loop_us" 20000) |"
echo "| (b) the same with the kernel cache off (\`SWARMWALL_KERNEL_CACHE=0\`: libnftables listing of both tables) | $(ms "$full_best") | $(ms "$full_med") | $(ms "$full_max") | |"
echo "| (b) one no-op right after a foreign commit moved the generation (cache miss, one run) | | $(ms "$miss_us") | | |"
echo "| (c) one changed port ($((runs * 2)) runs, back and forth; the chain flushed and refilled in one transaction) | $(ms "$ch_best") | $(ms "$ch_med") | $(ms "$ch_max") | <= 50 ms: $(met "$ch_med" 50000) (median) |"
echo "| (c) the same with \`--no-other-owners-check\` | $(ms "$nc_best") | $(ms "$nc_med") | $(ms "$nc_max") | <= 50 ms: $(met "$nc_med" 50000) (median) |"
echo "| (c) floor: one bare \`nft -f\` flushing and refilling that chain ($user_chain, $refill_rules rules) | $(ms "$fl_best") | $(ms "$fl_med") | $(ms "$fl_max") | |"
echo "| (d) one node more / less in the nodes set ($nodes_set), \`swarmwall apply --backend nftables\` ($((runs * 2)) runs, back and forth) | $(ms "$mb_best") | $(ms "$mb_med") | $(ms "$mb_max") | <= 100 ms: $(met "$mb_med" 100000) (median) |"
echo "| (d) floor: one bare \`nft add/delete element\` of that node | $(ms "$mf_best") | $(ms "$mf_med") | $(ms "$mf_max") | |"
echo "| (b) typical policy (500-entry set): no-op re-apply | $(ms "$tn_best") | $(ms "$tn_med") | $(ms "$tn_max") | <= 20 ms |"
echo "| (b) typical policy: no-op, mean of 20 in a row under bash's \`time\` | | $(ms "$tnoop_loop_us") | | <= 20 ms: $(met "$tnoop_loop_us" 20000) |"
echo "| (c) typical policy: one changed port | $(ms "$tc_best") | $(ms "$tc_med") | $(ms "$tc_max") | <= 50 ms |"
echo "| (c) typical policy: one changed port, \`--no-other-owners-check\` | $(ms "$tnc_best") | $(ms "$tnc_med") | $(ms "$tnc_max") | <= 50 ms |"
echo "| (d) typical policy: one node more / less | $(ms "$tm_best") | $(ms "$tm_med") | $(ms "$tm_max") | <= 100 ms |"
echo
echo "Zero writes in (b): nf_tables generation $gen_before before, $gen_after after; our tables $([[ "$owned_before" == "$owned_after" ]] && echo unchanged || echo CHANGED); swarmwall said: \"$noop_said\". (d) wrote node 192.0.2.110 into $nodes_set: $([[ "$in_set" -gt 0 ]] && echo yes || echo NO)."
echo
echo "Reads: \`nft list table ip swarmwall\` $(ms "$nft_list_us") ms, \`nft -j list table ip swarmwall\` $(ms "$nft_list_json_us") ms; policy load (\`swarmwall check\`) $(ms "$check_us") ms, typical policy $(ms "$tcheck_us") ms."
echo
for f in a b miss c d; do
  echo "SWARMWALL_TIMINGS=1, ($f):"
  echo '```'
  cat "$work/timings-$f.txt"
  echo '```'
done
