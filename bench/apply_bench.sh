#!/usr/bin/env bash
# Issue 4's apply figures, side by side in one run, inside a network
# namespace this script creates (never the root namespace's rules):
#  (a) apply of a policy with 1,000 container port rules and 100,000 set
#      entries: `swarmwall apply` vs the bare `ipset restore` +
#      `iptables-restore --noflush` (+ ip6tables) of the same rendered text,
#      and vs the per-rule method, the way the articles do it: (i) rules
#      only, `iptables -I` x 1,000 vs `swarmwall apply` of the same 1,000
#      rules with a one-entry set; (ii) the whole (a) policy, `iptables -I`
#      x 1,000 plus one `ipset add` per set entry (APPLY_BENCH_IPSET_ADDS
#      real calls, 10,000 by default, extrapolated to 100,000 and said so;
#      100000 runs them all);
#  (b) no-op re-apply on a host that also holds 10,000 foreign rules, with
#      the proof of zero writes (no restore / ipset write run, nf_tables
#      generation and ipset contents unchanged);
#  (c) one changed port on the same host (owned chains edited in place),
#      and the same with SWARMWALL_INCREMENTAL=0 (flush and refill).
# Prints a markdown block. Usage (root):
#   bench/apply_bench.sh BUILD_DIR     (BUILD_DIR holds swarmwall and bench/nft_generation)
set -euo pipefail

build=$(cd "${1:?usage: apply_bench.sh BUILD_DIR}" && pwd)
bin="$build/swarmwall"
gen="$build/bench/nft_generation"
runs=${APPLY_BENCH_RUNS:-5}
ipset_adds=${APPLY_BENCH_IPSET_ADDS:-10000}

if [[ "${APPLY_BENCH_INSIDE:-}" != 1 ]]; then
  ns="swarmwall-abench-$$"
  ip netns add "$ns"
  trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
  APPLY_BENCH_INSIDE=1 APPLY_BENCH_NS="$ns" ip netns exec "$ns" "$0" "$@"
  exit $?
fi

work=$(mktemp -d /tmp/swarmwall-abench.XXXXXX)
trap 'rm -rf "$work"' EXIT
state="$work/state"
export SWARMWALL_STATE_DIR="$state"
ip link set lo up

now_us() { echo $(( $(date +%s%N) / 1000 )); }
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
best() { sort -n | head -1; }

# A Docker host's hook points, as Docker 28 makes them (both families).
for t in iptables ip6tables; do
  $t -N DOCKER; $t -N DOCKER-USER; $t -A FORWARD -j DOCKER-USER; $t -A FORWARD -j DOCKER
done

# The policy: 1,000 container port rules, a 100,000-entry set (a file).
# The big set is matched by a host rule and the container rules match a
# small one. (This shape dates from when 1,000 rules on the big set made the
# policy's shadowing check take ~18 s; since a5f3fe5 that policy loads in
# ~0.1 s, see bench/policy_bench.cc. The shape is kept so that the figures
# stay comparable between runs.)
awk 'BEGIN { for (i = 0; i < 100000; i++) printf "10.%d.%d.%d/32\n", 100 + int(i / 65536), int(i / 256) % 256, i % 256 }' >"$work/office.txt"
policy() {  # $1: the port that differs between the two policies
  echo "version: 1"
  echo "interfaces: { public: [eth0] }"
  echo "sets:"
  echo "  office: { file: office.txt }"
  echo "  admins: [198.51.100.0/24]"
  echo "nodes:"
  echo "  - { name: n1, role: manager, address: 192.0.2.1 }"
  echo "host:"
  echo "  allow:"
  echo "    - { service: ssh, from: office }"
  echo "containers:"
  echo "  default: drop"
  echo "  allow:"
  for ((p = 20000; p < 20999; p++)); do echo "    - { ports: [$p], from: ${2:-admins} }"; done
  echo "    - { ports: [$1], from: ${2:-admins} }"
}
awk 'BEGIN { for (i = 0; i < 500; i++) printf "10.99.%d.%d/32\n", int(i / 250), i % 250 + 1 }' >"$work/small.txt"
policy 20999 >"$work/p.yaml"
policy 21999 >"$work/p2.yaml"
policy 20999 office >"$work/all-office.yaml"
# A typical policy: the same 1,000 rules, a 500-entry set in place of 100,000.
sed 's/office.txt/small.txt/' "$work/p.yaml" >"$work/t.yaml"
sed 's/office.txt/small.txt/' "$work/p2.yaml" >"$work/t2.yaml"
# Rules only: the same 1,000 rules, a one-entry set.
sed 's/office: { file: office.txt }/office: [203.0.113.0\/24]/' "$work/p.yaml" >"$work/r.yaml"
"$bin" check "$work/p.yaml" >/dev/null
t0=$(now_us); "$bin" check "$work/all-office.yaml" >/dev/null; t1=$(now_us)
check_all_office_us=$((t1 - t0))
t0=$(now_us); "$bin" check "$work/p.yaml" >/dev/null; t1=$(now_us)
check_us=$((t1 - t0))
owned() { { iptables-save -t filter; ip6tables-save -t filter; } | grep SWARMWALL | sed 's/\[[0-9]*:[0-9]*\]//'; ipset save | grep swarmwall | sed 's/ initval 0x[0-9a-f]*//; s/ hashsize [0-9]*//; s/ bucketsize [0-9]*//' | sort; }

# (a) swarmwall apply, from nothing of swarmwall's.
sw_times=()
for ((i = 0; i < runs; i++)); do
  "$bin" remove >/dev/null
  t0=$(now_us); "$bin" apply "$work/p.yaml" --node n1 >/dev/null; t1=$(now_us)
  sw_times+=($((t1 - t0)))
done
sw_owned=$(owned | md5sum)
v4_rules=$(iptables -S SWARMWALL-USER | grep -c -- '--ctorigdstport')
entries=$(ipset save swarmwall-office-v4 | grep -c '^add')
ours_total=$(iptables -S | grep -c '^-A SWARMWALL')

# The same text, bare: rendered once (on this host: for the state the bare
# runs start from, nothing of ours), loaded by the tools themselves.
"$bin" remove >/dev/null
"$bin" render "$work/p.yaml" --node n1 --out-dir "$work/render" >/dev/null
# render keeps the hooks in NODE.hooks.sh (safe to run by hand on a live
# host); the bare tools get them as apply writes them from nothing of ours,
# `-I CHAIN 1 -j TARGET` in the same single restore, so both do the same work.
with_hooks() {   # DIR: NODE.v4/v6.rules get the hooks of NODE.hooks.sh
  for fam in v4 v6; do
    lines=$(awk -v t="\"\$$fam\"" '$1 == "hook" && $2 == t { print "-I " $3 " 1 -j " $4 }' "$1/n1.hooks.sh")
    awk -v add="$lines" '/^COMMIT$/ && !done { if (add != "") print add; done = 1 } { print }' \
      "$1/n1.$fam.rules" >"$1/n1.$fam.rules.tmp" && mv "$1/n1.$fam.rules.tmp" "$1/n1.$fam.rules"
  done
}
with_hooks "$work/render"
# Loads DIR's rendered text with the tools alone, RUNS times from nothing of
# ours; prints each time (microseconds).
bare_loads() {
  for ((i = 0; i < runs; i++)); do
    "$bin" remove >/dev/null
    t0=$(now_us)
    ipset restore <"$1/n1.ipset"
    iptables-restore --noflush <"$1/n1.v4.rules"
    ip6tables-restore --noflush <"$1/n1.v6.rules"
    t1=$(now_us)
    echo $((t1 - t0))
  done
}
bare_times=($(bare_loads "$work/render"))
bare_owned=$(owned | md5sum)
same_text=$([[ "$sw_owned" == "$bare_owned" ]] && echo "identical" || echo "DIFFERENT")

# The per-rule method: one `iptables -I` per rule, the same 1,000 rules.
iptables -N PERRULE
grep -- '^-A SWARMWALL-USER .*--ctorigdstport' "$work/render/n1.v4.rules" | head -1000 | sed 's/^-A SWARMWALL-USER //' >"$work/perrule"
t0=$(now_us)
while IFS= read -r spec; do eval "iptables -w -I PERRULE 1 $spec"; done <"$work/perrule"
t1=$(now_us)
perrule_us=$((t1 - t0))
perrule_n=$(iptables -S PERRULE | grep -c '^-A')
iptables -F PERRULE; iptables -X PERRULE

# The per-rule method's sets: one `ipset add` per entry of the 100,000.
ipset create perrule-v4 hash:net family inet maxelem 1048576
head -"$ipset_adds" "$work/office.txt" >"$work/perrule-entries"
t0=$(now_us)
while IFS= read -r e; do ipset add perrule-v4 "$e"; done <"$work/perrule-entries"
t1=$(now_us)
ipset_add_us=$((t1 - t0))
ipset_add_n=$(ipset save perrule-v4 | grep -c '^add')
ipset destroy perrule-v4
ipset_add_all_us=$(( ipset_add_us * entries / ipset_add_n ))

# Rules only: swarmwall apply of the same 1,000 rules and a one-entry set.
ro_times=()
for ((i = 0; i < runs; i++)); do
  "$bin" remove >/dev/null
  t0=$(now_us); "$bin" apply "$work/r.yaml" --node n1 >/dev/null; t1=$(now_us)
  ro_times+=($((t1 - t0)))
done

# The floor of (i): the same rendered text loaded by the tools themselves.
"$bin" remove >/dev/null
"$bin" render "$work/r.yaml" --node n1 --out-dir "$work/render-r" >/dev/null
with_hooks "$work/render-r"
ro_bare_times=($(bare_loads "$work/render-r"))

# The same 1,000 rules applied by swarmwall with a small set (what the
# per-rule method does, plus a set), from nothing of ours.
typ_times=()
for ((i = 0; i < runs; i++)); do
  "$bin" remove >/dev/null
  t0=$(now_us); "$bin" apply "$work/t.yaml" --node n1 >/dev/null; t1=$(now_us)
  typ_times+=($((t1 - t0)))
done
"$bin" remove >/dev/null

# (b) 10,000 foreign rules beside ours, then no-op re-applies.
{
  echo "*filter"
  for ((c = 0; c < 10; c++)); do echo ":FOREIGN-$c - [0:0]"; done
  for ((c = 0; c < 10; c++)); do
    echo "-A INPUT -j FOREIGN-$c"
    for ((i = 0; i < 999; i++)); do echo "-A FOREIGN-$c -s 10.$((200 + c)).$((i / 250)).$((i % 250 + 1))/32 -p tcp -m tcp --dport $((1000 + i)) -j ACCEPT"; done
  done
  echo "COMMIT"
} | iptables-restore --noflush
foreign=$(iptables-save -t filter | grep -- '^-A' | grep -vc SWARMWALL)
"$bin" apply "$work/p.yaml" --node n1 >/dev/null   # brings swarmwall's state up to date (and reads once)
noop_times=()
for ((i = 0; i < runs * 2; i++)); do
  t0=$(now_us); out=$("$bin" apply "$work/p.yaml" --node n1); t1=$(now_us)
  [[ "$out" == *"nothing written"* ]] || { echo "apply_bench: the no-op apply wrote: $out" >&2; exit 1; }
  noop_times+=($((t1 - t0)))
done
# The proof of zero writes: every tool swarmwall runs, logged through
# wrappers first in PATH; the nf_tables generation and the sets unchanged.
mkdir -p "$work/wrap"
for tool in iptables iptables-nft iptables-nft-save iptables-nft-restore ip6tables-nft-save ip6tables-nft-restore \
            iptables-legacy-save iptables-legacy-restore ip6tables-legacy-save ip6tables-legacy-restore ipset; do
  real=$(command -v "$tool") || continue
  printf '#!/bin/sh\necho "%s $*" >>"%s/tools.log"\nexec "%s" "$@"\n' "$tool" "$work" "$real" >"$work/wrap/$tool"
  chmod +x "$work/wrap/$tool"
done
: >"$work/tools.log"
gen_before=$("$gen"); sets_before=$(ipset save | sed 's/ initval 0x[0-9a-f]*//' | md5sum)
PATH="$work/wrap:$PATH" "$bin" apply "$work/p.yaml" --node n1 >/dev/null
gen_after=$("$gen"); sets_after=$(ipset save | sed 's/ initval 0x[0-9a-f]*//' | md5sum)
tools=$(sort "$work/tools.log" | uniq -c | awk '{ $1 = $1; print }' | paste -sd ';' | sed 's/;/; /g')
tools=${tools:-none (the kernel was read over netlink only)}
writes=$(grep -cE 'restore|ipset (add|del|create|destroy|swap|flush)' "$work/tools.log" 2>/dev/null || true)

# A full read (no cache), for comparison: what every no-op cost before.
full_times=()
for ((i = 0; i < runs; i++)); do
  t0=$(now_us); SWARMWALL_KERNEL_CACHE=0 "$bin" apply "$work/p.yaml" --node n1 >/dev/null; t1=$(now_us)
  full_times+=($((t1 - t0)))
done

# (c) one changed port, back and forth.
change_times=()
for ((i = 0; i < runs * 2; i++)); do
  p=$([[ $((i % 2)) == 0 ]] && echo p2 || echo p)
  t0=$(now_us); out=$("$bin" apply "$work/$p.yaml" --node n1); t1=$(now_us)
  [[ "$out" == *"applied"* ]] || { echo "apply_bench: the changed port was not applied: $out" >&2; exit 1; }
  change_times+=($((t1 - t0)))
done
# (c) with the in-place edit off: owned chains flushed and refilled.
refill_times=()
for ((i = 0; i < runs * 2; i++)); do
  p=$([[ $((i % 2)) == 0 ]] && echo p2 || echo p)
  t0=$(now_us); out=$(SWARMWALL_INCREMENTAL=0 "$bin" apply "$work/$p.yaml" --node n1); t1=$(now_us)
  [[ "$out" == *"applied"* ]] || { echo "apply_bench: the changed port was not applied: $out" >&2; exit 1; }
  refill_times+=($((t1 - t0)))
done
# (b) and (c) again with the typical policy.
"$bin" apply "$work/t.yaml" --node n1 >/dev/null
tnoop_times=()
for ((i = 0; i < runs * 2; i++)); do
  t0=$(now_us); out=$("$bin" apply "$work/t.yaml" --node n1); t1=$(now_us)
  [[ "$out" == *"nothing written"* ]] || { echo "apply_bench: the no-op apply wrote: $out" >&2; exit 1; }
  tnoop_times+=($((t1 - t0)))
done
tchange_times=()
for ((i = 0; i < runs * 2; i++)); do
  p=$([[ $((i % 2)) == 0 ]] && echo t2 || echo t)
  t0=$(now_us); out=$("$bin" apply "$work/$p.yaml" --node n1); t1=$(now_us)
  [[ "$out" == *"applied"* ]] || { echo "apply_bench: the changed port was not applied: $out" >&2; exit 1; }
  tchange_times+=($((t1 - t0)))
done
t0=$(now_us); "$bin" check "$work/t.yaml" >/dev/null; t1=$(now_us)
tcheck_us=$((t1 - t0))
# The floor of (c) here: one bare iptables-restore --noflush that refills
# SWARMWALL-USER (1,000 rules) beside the 10,000 foreign rules.
{ echo "*filter"; echo ":SWARMWALL-USER - [0:0]"; iptables -S SWARMWALL-USER | grep '^-A'; echo "COMMIT"; } >"$work/refill.rules"
floor_times=()
for ((i = 0; i < runs * 2; i++)); do
  t0=$(now_us); iptables-restore --noflush <"$work/refill.rules"; t1=$(now_us)
  floor_times+=($((t1 - t0)))
done
# The floor of the in-place edit: one bare restore deleting one rule of
# SWARMWALL-USER by spec and inserting it back, beside the foreign rules.
iptables -S SWARMWALL-USER >"$work/user.rules"
one=$(grep -m1 -- '--ctorigdstport' "$work/user.rules" | sed 's/^-A SWARMWALL-USER //')
printf '*filter\n-D SWARMWALL-USER %s\n-I SWARMWALL-USER 2 %s\nCOMMIT\n' "$one" "$one" >"$work/edit.rules"
edit_floor_times=()
for ((i = 0; i < runs * 2; i++)); do
  t0=$(now_us); iptables-restore --noflush <"$work/edit.rules"; t1=$(now_us)
  edit_floor_times+=($((t1 - t0)))
done
t0=$(now_us); ipset save >/dev/null; t1=$(now_us)
ipset_save_us=$((t1 - t0))
"$bin" remove >/dev/null
t0=$(now_us); ipset restore <"$work/render/n1.ipset"; t1=$(now_us)
t0=$(now_us); ipset save >/dev/null; t1=$(now_us)
ipset_save_big_us=$((t1 - t0))
"$bin" remove >/dev/null

sw_best=$(printf '%s\n' "${sw_times[@]}" | best); sw_med=$(printf '%s\n' "${sw_times[@]}" | median)
bare_best=$(printf '%s\n' "${bare_times[@]}" | best); bare_med=$(printf '%s\n' "${bare_times[@]}" | median)
noop_best=$(printf '%s\n' "${noop_times[@]}" | best); noop_med=$(printf '%s\n' "${noop_times[@]}" | median)
full_med=$(printf '%s\n' "${full_times[@]}" | median)
ch_best=$(printf '%s\n' "${change_times[@]}" | best); ch_med=$(printf '%s\n' "${change_times[@]}" | median)
floor_med=$(printf '%s\n' "${floor_times[@]}" | median)
edit_floor_med=$(printf '%s\n' "${edit_floor_times[@]}" | median)
refill_best=$(printf '%s\n' "${refill_times[@]}" | best); refill_med=$(printf '%s\n' "${refill_times[@]}" | median)
ro_best=$(printf '%s\n' "${ro_times[@]}" | best); ro_med=$(printf '%s\n' "${ro_times[@]}" | median)
ro_bare_best=$(printf '%s\n' "${ro_bare_times[@]}" | best); ro_bare_med=$(printf '%s\n' "${ro_bare_times[@]}" | median)
perrule_all_us=$((perrule_us + ipset_add_all_us))
typ_med=$(printf '%s\n' "${typ_times[@]}" | median)
tnoop_best=$(printf '%s\n' "${tnoop_times[@]}" | best); tnoop_med=$(printf '%s\n' "${tnoop_times[@]}" | median)
tch_best=$(printf '%s\n' "${tchange_times[@]}" | best); tch_med=$(printf '%s\n' "${tchange_times[@]}" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

echo "### Apply (issue 4): network namespace \`${APPLY_BENCH_NS:-?}\`, $(iptables --version), $(ipset --version | head -1 | cut -d, -f1)"
echo
echo "Policy: $v4_rules container port rules ($ours_total IPv4 rules of ours in all), a set of $entries entries; Docker 28's hook points (DOCKER, DOCKER-USER, FORWARD jumps) made by hand; $runs runs each unless said."
echo
echo "| what | best ms | median ms | target |"
echo "|---|---:|---:|---|"
echo "| (a) \`swarmwall apply\` (read, compile, diff, journal, ipset twins + swap, iptables-restore --noflush x2) from nothing of ours | $(ms "$sw_best") | $(ms "$sw_med") | |"
echo "| (a) bare \`ipset restore\` + \`iptables-restore --noflush\` + \`ip6tables-restore --noflush\` of the same rendered text (end state: $same_text) | $(ms "$bare_best") | $(ms "$bare_med") | |"
echo "| (a) swarmwall / bare | $(ratio "$sw_best" "$bare_best") | $(ratio "$sw_med" "$bare_med") | <= 1.3x |"
echo "| (a) \`swarmwall apply\` of the same 1,000 rules with a 500-entry set in place of 100,000 (typical policy), from nothing of ours | | $(ms "$typ_med") | |"
echo "| (i) per-rule method, rules only: \`iptables -I\` x $perrule_n (one run) | $(ms "$perrule_us") | | |"
echo "| (i) \`swarmwall apply\` of the same 1,000 rules with a one-entry set, from nothing of ours | $(ms "$ro_best") | $(ms "$ro_med") | |"
echo "| (i) per-rule / swarmwall, rules only | $(ratio "$perrule_us" "$ro_best") (vs best) | $(ratio "$perrule_us" "$ro_med") (vs median) | >= 50x |"
echo "| (i) the floor: bare \`ipset restore\` + \`iptables-restore --noflush\` + \`ip6tables-restore --noflush\` of the same rendered 1,000 rules | $(ms "$ro_bare_best") | $(ms "$ro_bare_med") | |"
echo "| (i) per-rule / the floor: the most any tool loading these rules could reach | $(ratio "$perrule_us" "$ro_bare_best") (vs best) | $(ratio "$perrule_us" "$ro_bare_med") (vs median) | |"
if [[ "$ipset_add_n" == "$entries" ]]; then how="all $entries run"; else how="$ipset_add_n run, x$(awk -v a="$entries" -v b="$ipset_add_n" 'BEGIN { printf "%g", a / b }') EXTRAPOLATED to $entries"; fi
echo "| (ii) per-rule method, the (a) policy: \`ipset add\` x $entries ($how: $(ms "$ipset_add_us") ms measured) + \`iptables -I\` x $perrule_n | $(ms "$perrule_all_us") | | |"
echo "| (ii) per-rule / swarmwall apply (a) | $(ratio "$perrule_all_us" "$sw_best") (vs best) | $(ratio "$perrule_all_us" "$sw_med") (vs median) | >= 50x |"
echo "| (b) no-op re-apply, $foreign foreign rules in filter ($((runs * 2)) runs) | $(ms "$noop_best") | $(ms "$noop_med") | <= 50 ms, zero writes |"
echo "| (b) the same with the kernel cache off (\`SWARMWALL_KERNEL_CACHE=0\`: iptables-save of both families) | | $(ms "$full_med") | |"
echo "| (c) one changed port, same host ($((runs * 2)) runs, back and forth; owned chains edited in place) | $(ms "$ch_best") | $(ms "$ch_med") | <= 100 ms |"
echo "| (c) the same with \`SWARMWALL_INCREMENTAL=0\` (owned chains flushed and refilled, as before) | $(ms "$refill_best") | $(ms "$refill_med") | |"
echo "| (b) typical policy: no-op re-apply beside the same foreign rules ($((runs * 2)) runs) | $(ms "$tnoop_best") | $(ms "$tnoop_med") | <= 50 ms, zero writes |"
echo "| (c) typical policy: one changed port ($((runs * 2)) runs) | $(ms "$tch_best") | $(ms "$tch_med") | <= 100 ms |"
echo "| (c) floor of a refill: one bare \`iptables-restore --noflush\` refilling SWARMWALL-USER beside the foreign rules | | $(ms "$floor_med") | |"
echo "| (c) floor of an in-place edit: one bare \`iptables-restore --noflush\` of one \`-D\` by spec + one \`-I\` in SWARMWALL-USER beside the foreign rules | | $(ms "$edit_floor_med") | |"
echo
echo "Where a no-op goes with the 100,000-entry set: \`ipset save\` alone $(ms "$ipset_save_big_us") ms (owned sets are always read and compared exactly: ipset has no generation), policy load (\`swarmwall check\`) $(ms "$check_us") ms. Typical policy: \`ipset save\` $(ms "$ipset_save_us") ms, policy load $(ms "$tcheck_us") ms."
echo
echo "Policy load alone (\`swarmwall check\`): $(ms "$check_us") ms for this policy; $(ms "$check_all_office_us") ms when the 1,000 container rules all match the 100,000-entry set."
echo
echo "Zero writes in (b): tools run by one no-op apply: $tools; writes among them: $writes; nf_tables generation $gen_before before, $gen_after after; ipset contents $([[ "$sets_before" == "$sets_after" ]] && echo unchanged || echo CHANGED)."
