#!/usr/bin/env bash
# Regenerates tests/corpus/fffuu_reference.json: fffuu's service matrices
# (filter table, FORWARD chain, TCP 10000 -> 22 and 10000 -> 80) for every file
# of ../shared/corpus/net-network, stored only as fingerprints (class count,
# edge count, SHA-256 of a canonical text form), never as corpus content.
# Needs a built fffuu (and fffuu6) from diekmann/Iptables_Semantics; see
# tests/corpus/FFFUU.md. Not run in CI.
#
# Usage: tests/corpus/fffuu_reference.sh [OUT_JSON]
#   FFFUU=/path/to/fffuu FFFUU6=/path/to/fffuu6 (default ../fffuu-build/ beside the repository)
#   FFFUU_COMMIT=<sha>
#   SWARMWALL_SHARED=DIR (default ../shared beside the repository)
#   FFFUU_OUT=DIR (fffuu's outputs; default ../fffuu-out beside the repository)
#   FFFUU_ONLY=<substring>   only files whose path contains it (debugging)
#   FFFUU_REUSE=1            keep the outputs of an earlier run's successful
#                            runs (FFFUU_OUT/runs.tsv), run fffuu only for the rest
#   FFFUU_TIMEOUT=<seconds>  give up on a file after that long (default: none)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out_json=${1:-$here/fffuu_reference.json}
fffuu=${FFFUU:-$here/../../../fffuu-build/fffuu}
fffuu6=${FFFUU6:-$here/../../../fffuu-build/fffuu6}
shared=${SWARMWALL_SHARED:-$here/../../../shared}
corpus=$shared/corpus/net-network
ipassmt_dir=$shared/corpus/ipassmt
out=${FFFUU_OUT:-$here/../../../fffuu-out}
commit=${FFFUU_COMMIT:-unknown}
only=${FFFUU_ONLY:-}
reuse=${FFFUU_REUSE:-0}
limit=${FFFUU_TIMEOUT:-0}

[[ -x $fffuu && -x $fffuu6 ]] || { echo "fffuu / fffuu6 not found (FFFUU, FFFUU6)" >&2; exit 2; }
[[ -d $corpus ]] || { echo "no corpus at $corpus (SWARMWALL_SHARED)" >&2; exit 2; }
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The interface-to-address assignments fffuu's authors used for these files.
ipassmt_for() {
  case $1 in
    configs_chair_for_Network_Architectures_and_Services/ip6*) echo "" ;;
    configs_chair_for_Network_Architectures_and_Services/*) echo ipassmt_tumi8 ;;
    configs_sqrl_shorewall/*) echo ipassmt_sqrl ;;
    *) echo "" ;;
  esac
}

runs=$out/runs.tsv
prev=$tmp/runs.prev
if [[ $reuse == 1 && -f $runs ]]; then cp "$runs" "$prev"; else : > "$prev"; fi
printf 'file\tfamily\tipassmt\tstatus\tseconds\tmax_rss_kb\tinput\n' > "$runs"
(cd "$corpus" && find . -type f ! -name 'README*' ! -name LICENSE | sed 's|^\./||' | LC_ALL=C sort) > "$tmp/files"
while IFS= read -r rel; do
  [[ -z $only || $rel == *"$only"* ]] || continue
  name=${rel//\//__}
  old=$(awk -F'\t' -v f="$rel" '$1 == f && $4 == "ok"' "$prev" | tail -n1)
  if [[ -n $old ]] && grep -q '^== calculating service matrices ==' "$out/$name.$(cut -f2 <<< "$old").out"; then
    echo "$old" >> "$runs"
    echo "$rel: reused" >&2
    continue
  fi
  src=$corpus/$rel
  # fffuu's parser is stricter than iptables-restore: it refuses CRLF line
  # ends, a last line without its newline and chain policies without
  # counters (":INPUT ACCEPT"). It is given the same ruleset with LF ends, a
  # final newline and " [0:0]" counters. A file that still does not parse
  # (a dump mixed with other text) is given its table blocks only ("*table"
  # to "COMMIT"), as swarmwall's test reads it.
  { tr -d '\r' < "$src"; echo; } | sed -E 's/^(:[^ ]+ [^ ]+)$/\1 [0:0]/' | sed -e '${/^$/d}' > "$tmp/input"
  input="as is"
  if ! cmp -s "$src" "$tmp/input"; then input=normalised; src=$tmp/input; fi
  assmt=$(ipassmt_for "$rel")
  args=(--table filter --chain FORWARD --service_matrix_dport 22 --service_matrix_dport 80)
  [[ -n $assmt ]] && args+=(--ipassmt "$ipassmt_dir/$assmt")
  family=ipv4
  bin=$fffuu
  if head -c 4096 "$src" | grep -q 'ip6tables-save'; then family=ipv6; bin=$fffuu6; fi
  attempt=0
  while ((++attempt <= 3)); do
    status=ok
    /usr/bin/time -f '%e %M' -o "$tmp/time" timeout "$limit" "$bin" "${args[@]}" "$src" \
      > "$out/$name.$family.out" 2> "$out/$name.$family.err" || rc=$?
    if [[ ${rc:-0} != 0 ]]; then
      status=fail
      [[ $rc == 124 ]] && echo "fffuu: timed out after $limit s (FFFUU_TIMEOUT)" >> "$out/$name.$family.err"
    fi
    rc=0
    if ! grep -q '^== calculating service matrices ==' "$out/$name.$family.out"; then status=fail; fi
    if [[ $status == fail && $input != "table blocks" ]] && grep -q '(line [0-9]*, column [0-9]*):' "$out/$name.$family.out"; then
      awk '/^\*/ {f = 1} f {print} /^COMMIT/ {f = 0}' "$src" > "$tmp/blocks"
      if [[ -s $tmp/blocks ]] && ! cmp -s "$src" "$tmp/blocks"; then
        mv "$tmp/blocks" "$tmp/input"; src=$tmp/input; input="table blocks"; attempt=0; continue
      fi
    fi
    # An unlabelled dump that fffuu cannot read as IPv4 may be IPv6.
    if [[ $status == fail && $attempt == 1 && $family == ipv4 ]] && grep -qE '^-A .*(-s|-d) [0-9a-fA-F]*:' "$src"; then
      family=ipv6; bin=$fffuu6; continue
    fi
    break
  done
  read -r secs rss < <(tail -n1 "$tmp/time")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rel" "$family" "${assmt:--}" "$status" "$secs" "$rss" "$input" >> "$runs"
  echo "$rel $family ${assmt:--} $status ${secs}s" >&2
done < "$tmp/files"

python3 - "$runs" "$out" "$out_json" "$commit" <<'PY'
import hashlib, ipaddress, json, re, sys

runs_path, out_dir, out_json, commit = sys.argv[1:5]

def parse_addr(text, family):
    return int(ipaddress.ip_address(text)) if family == "ipv4" else int(ipaddress.IPv6Address(text))

def fmt(n, family):
    return str(ipaddress.IPv4Address(n)) if family == "ipv4" else ipaddress.IPv6Address(n).exploded

def parse_class(desc, family):
    ranges = []
    for item in desc.split(" u "):
        item = item.strip()
        m = re.fullmatch(r"\{(\S+) \.\. (\S+)\}", item)
        if m:
            ranges.append((parse_addr(m.group(1), family), parse_addr(m.group(2), family)))
        else:
            a = parse_addr(item, family)
            ranges.append((a, a))
    ranges.sort()
    merged = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged

def canonical(nodes, edges, family):
    # nodes: name -> ranges. Classes sorted by lowest address; edges by index.
    order = sorted(nodes, key=lambda n: nodes[n][0][0])
    index = {n: i for i, n in enumerate(order)}
    lines = ["fffuu-service-matrix v1 " + family]
    for n in order:
        lines.append("class " + ",".join(fmt(lo, family) if lo == hi else fmt(lo, family) + "-" + fmt(hi, family)
                                         for lo, hi in nodes[n]))
    for i, j in sorted({(index[a], index[b]) for a, b in edges}):
        lines.append("edge %d %d" % (i, j))
    return "".join(l + "\n" for l in lines), len(order), len(set(edges))

def matrices(path, family):
    result, port, nodes, edges = {}, None, None, None
    def flush():
        if port is not None:
            result[port] = (nodes, edges)
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        m = re.fullmatch(r"=========== TCP port (\d+)->(\d+) =========", line)
        if m:
            flush()
            port, nodes, edges = int(m.group(2)), {}, []
            continue
        if port is None:
            continue
        m = re.fullmatch(r"(\S+) \|-> (.*)", line)
        if m:
            nodes[m.group(1)] = parse_class(m.group(2), family)
            continue
        m = re.fullmatch(r"\((\S+),(\S+)\)", line)
        if m:
            edges.append((m.group(1), m.group(2)))
    flush()
    return result

def reason(out):
    # Only fffuu's own words and positions, never a piece of the corpus.
    text = open(out, errors="replace").read() + open(out[:-4] + ".err", errors="replace").read()
    m = re.search(r'" \(line (\d+), column (\d+)\):', text)
    if m:
        return "parse error at line %s, column %s" % m.groups()
    m = re.search(r"^fffuu\S*: (.*)$", text, re.M)
    if m:
        return re.sub(r"`[^']*'", "`...'", m.group(1))[:200]
    return "no service matrix in the output"

entries, rejected = [], []
for row in list(open(runs_path))[1:]:
    rel, family, assmt, status, secs, rss, *rest = row.rstrip("\n").split("\t")
    fed = rest[0] if rest else "as is"
    name = rel.replace("/", "__")
    out = "%s/%s.%s.out" % (out_dir, name, family)
    if status != "ok":
        rejected.append({"file": rel, "family": family, "reason": reason(out)})
        continue
    for port, (nodes, edges) in sorted(matrices(out, family).items()):
        text, nclasses, nedges = canonical(nodes, edges, family)
        with open("%s/%s.%s.port%d.canonical" % (out_dir, name, family, port), "w") as f:
            f.write(text)
        entries.append({"file": rel, "family": family, "ipassmt": None if assmt == "-" else assmt,
                        "fffuu_input": fed, "port": port, "classes": nclasses, "edges": nedges,
                        "sha256": hashlib.sha256(text.encode()).hexdigest()})
doc = {
    "what": "fffuu service matrices (filter table, FORWARD, TCP sport 10000, NEW connections, "
            "over-approximation) of ../shared/corpus/net-network as fingerprints; see tests/corpus/FFFUU.md",
    "fffuu_repository": "diekmann/Iptables_Semantics (haskell_tool)",
    "fffuu_commit": commit,
    "canonical_form": "fffuu-service-matrix v1",
    "entries": entries,
    "not_accepted": rejected,
}
with open(out_json, "w") as f:
    json.dump(doc, f, indent=1, sort_keys=False)
    f.write("\n")
print("%d entries, %d files not accepted -> %s" % (len(entries), len(rejected), out_json), file=sys.stderr)
PY
