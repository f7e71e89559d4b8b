#!/usr/bin/env bash
# Self-test of scripts/check_layers.sh: fake src/ trees in a temp dir, one
# good, then one bad edge at a time; each must give the exit code and the
# line that names the edge.
#   tests/layering/check_layers_test.sh [path/to/check_layers.sh]
set -uo pipefail

check=${1:-"$(dirname "$0")/../../scripts/check_layers.sh"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# A small good tree: sub-folders count as their top folder; a library header
# in quotes and a commented-out include are not edges.
good() {
  rm -rf "$tmp/src"
  mkdir -p "$tmp/src"/{base,netfilter,host,analyze/trace,apply,cli}
  printf '#pragma once\n' >"$tmp/src/base/b.h"
  printf '#include "base/b.h"\n' >"$tmp/src/netfilter/r.h"
  printf '#include "netfilter/r.h"\n#include "base/b.h"\n' >"$tmp/src/host/h.cc"
  printf '#include "netfilter/r.h"\n#include "nlohmann/json.hpp"\n// #include "apply/a.h"\n#include "analyze/trace/t.h"\n' \
    >"$tmp/src/analyze/trace/t.cc"
  printf '#pragma once\n#include "host/h.h"\n' >"$tmp/src/analyze/trace/t.h"
  printf '#include "analyze/trace/t.h"\n' >"$tmp/src/apply/a.cc"
  printf '#include "apply/a.h"\n  #  include "base/b.h"\n' >"$tmp/src/cli/main.cc"
}

# expect NAME CODE PATTERN [ARGS...]: runs the check, wants CODE and PATTERN in its output.
expect() {
  local name=$1 code=$2 pattern=$3; shift 3
  local out rc
  out=$("$check" "$@" 2>&1); rc=$?
  if [[ $rc != "$code" ]] || ! grep -qF -- "$pattern" <<<"$out"; then
    echo "FAIL $name: exit $rc (want $code), output:"; echo "$out" | sed 's/^/  /'
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

good
expect "good tree passes" 0 "" "$tmp/src"
expect "graph counts sub-folder includes" 0 "analyze -> netfilter  1" --graph "$tmp/src"
expect "graph counts across folders" 0 "apply -> analyze  1" --graph "$tmp/src"

good
printf '#include "base/b.h"\n#include "apply/a.h"\n' >"$tmp/src/analyze/trace/bad.cc"
expect "analyze -> apply fails" 1 'src/analyze/trace/bad.cc:2: analyze -> apply (#include "apply/a.h")' "$tmp/src"
expect "graph marks it" 0 "analyze -> apply  1  NOT ALLOWED" --graph "$tmp/src"

good
printf '#include "cli/main.h"\n' >"$tmp/src/apply/uses_cli.h"
expect "nothing includes cli" 1 "src/apply/uses_cli.h:1: apply -> cli" "$tmp/src"

good
printf '#include "host/h.h"\n' >"$tmp/src/base/up.h"
expect "base includes only base" 1 "src/base/up.h:1: base -> host" "$tmp/src"

good
printf '#include "../apply/a.h"\n' >"$tmp/src/analyze/sneaky.cc"
expect "relative path refused" 1 "src/analyze/sneaky.cc:1: analyze -> ?" "$tmp/src"

good
mkdir -p "$tmp/src/newlayer"
expect "folder not in the table fails" 1 "src/newlayer/: folder not in the layering table" "$tmp/src"

expect "missing src dir" 2 "is not a directory" "$tmp/nothing"

if ((failures)); then
  echo "check_layers_test: $failures failure(s)"
  exit 1
fi
echo "check_layers_test: ok"
