#!/usr/bin/env bash
# Times fffuu on the TUM ruleset (the issue's benchmark: filter/FORWARD, TCP
# ports 22 and 80, ipassmt_tumi8), for the figure beside exposure_perftest in
# bench/RESULTS.md. Needs a built fffuu (tests/corpus/FFFUU.md); not run in CI.
#
# Usage: tests/corpus/fffuu_time.sh [RUNS]
#   FFFUU=/path/to/fffuu (default ../fffuu-build/fffuu beside the repository)
#   SWARMWALL_SHARED=DIR (default ../shared beside the repository)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=${1:-3}
fffuu=${FFFUU:-$here/../../../fffuu-build/fffuu}
shared=${SWARMWALL_SHARED:-$here/../../../shared}
file=$shared/corpus/net-network/configs_chair_for_Network_Architectures_and_Services/iptables-save-2015-05-15_15-23-41
assmt=$shared/corpus/ipassmt/ipassmt_tumi8
[[ -x $fffuu ]] || { echo "fffuu not found (FFFUU)" >&2; exit 2; }
[[ -f $file ]] || { echo "no TUM ruleset at $file (SWARMWALL_SHARED)" >&2; exit 2; }
echo "fffuu --ipassmt ipassmt_tumi8 --table filter --chain FORWARD --service_matrix_dport 22 --service_matrix_dport 80 iptables-save-2015-05-15_15-23-41"
echo "rules: $(grep -c '^-A' "$file"), cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
times=()
for ((i = 1; i <= runs; i++)); do
  /usr/bin/time -f '%e %U %M' -o "$tmp" "$fffuu" --ipassmt "$assmt" --table filter --chain FORWARD \
    --service_matrix_dport 22 --service_matrix_dport 80 "$file" > /dev/null 2> /dev/null
  read -r wall user rss < <(tail -n1 "$tmp")
  echo "run $i: wall ${wall} s, user ${user} s, max RSS $((rss / 1024)) MiB"
  times+=("$wall")
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "fffuu TUM FORWARD 22+80: min %.1f s, median %.1f s over %d runs\n", a[1], a[int((NR+1)/2)], NR}'
