#!/usr/bin/env bash
# Checks the layering of src/: every `#include "folder/..."` line of a file
# under src/ must follow an edge allowed below. A file in a sub-folder counts
# as its top folder (src/analyze/trace/x.cc is `analyze`); a folder may
# always include itself. Prints each disallowed edge with the file and line
# that makes it and exits 1 if there is any.
#
#   scripts/check_layers.sh [SRC_DIR]            check (default: the repo's src/)
#   scripts/check_layers.sh --graph [SRC_DIR]    print the real folder graph:
#                                                one edge a line with its include count
#
# bash, grep, sed, sort and awk only: it runs on a fresh Debian 12 before
# anything is installed. docs/ARCHITECTURE.md draws the same table.
set -euo pipefail

# The allowed edges: folder -> the folders it may #include. Written once, here.
# `*` means every folder. tests/ and bench/ are not checked (they may include anything).
ALLOWED='
base:      base
netfilter: base
policy:    base netfilter
compile:   base netfilter policy
host:      base netfilter
docker:    base
analyze:   base netfilter policy compile host docker
backend:   base netfilter policy compile host analyze
apply:     base netfilter policy compile host docker backend analyze
agent:     base netfilter policy compile host docker apply
cli:       *
'

graph=0
if [[ ${1:-} == --graph ]]; then graph=1; shift; fi
if [[ ${1:-} == -h || ${1:-} == --help || $# -gt 1 ]]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -gt 1 ]] && exit 2 || exit 0
fi
src=${1:-"$(dirname "$0")/../src"}
if [[ ! -d $src ]]; then
  echo "check_layers: $src is not a directory" >&2
  exit 2
fi

# Paths are printed relative to the folder that holds src/ (src/apply/x.cc).
src_abs=$(cd "$src" && pwd)
cd "$src_abs/.."
base=$(basename "$src_abs")
folders=$(find "$base" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort | tr '\n' ' ')

# FILE:LINE:TEXT for every quoted include that names a folder.
{ grep -rnIE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*/' "$base" || true; } |
  sort -t: -k1,1 -k2,2n |
  awk -v allowed="$ALLOWED" -v folders="$folders" -v graph="$graph" -v src="$base" '
    BEGIN {
      n = split(allowed, rows, "\n")
      for (i = 1; i <= n; i++) {
        if (rows[i] !~ /:/) continue
        from = rows[i]; sub(/:.*/, "", from); gsub(/[[:space:]]/, "", from)
        rest = rows[i]; sub(/^[^:]*:/, "", rest)
        known[from] = 1
        m = split(rest, tos, /[[:space:]]+/)
        for (j = 1; j <= m; j++) if (tos[j] != "") ok[from, tos[j]] = 1
      }
      nf = split(folders, fs, " ")
      for (i = 1; i <= nf; i++) if (fs[i] != "") isfolder[fs[i]] = 1
      bad = 0
      # A folder the table does not name is an error: the table must say where it sits.
      for (i = 1; i <= nf; i++)
        if (!graph && fs[i] != "" && !(fs[i] in known)) {
          print src "/" fs[i] "/: folder not in the layering table of scripts/check_layers.sh"
          bad++
        }
    }
    {
      # FILE:LINE:TEXT (paths under src/ hold no colon)
      file = $0; sub(/:.*/, "", file)
      rest = substr($0, length(file) + 2)
      line = rest; sub(/:.*/, "", line)
      text = substr(rest, length(line) + 2)
      inc = text; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
      split(file, parts, "/"); from = parts[2]
      if (inc ~ /(^|\/)\.\.\//) {
        print file ":" line ": " from " -> ? (#include \"" inc "\": a relative path hides the layer)"
        bad++; next
      }
      to = inc; sub(/\/.*/, "", to)
      if (!(to in isfolder)) next          # not one of ours (e.g. a library header)
      if (from == to) next
      count[from " -> " to]++
      if (!ok[from, to] && !ok[from, "*"]) {
        if (!graph) print file ":" line ": " from " -> " to " (#include \"" inc "\")"
        notallowed[from " -> " to] = 1
        bad++
      }
    }
    END {
      if (graph) {
        for (e in count) print e "  " count[e] (e in notallowed ? "  NOT ALLOWED" : "")
        exit 0
      }
      if (bad) {
        print "check_layers: " bad " include(s) break the layering (allowed edges: scripts/check_layers.sh)"
        exit 1
      }
    }' | { if ((graph)); then sort; else cat; fi; }
