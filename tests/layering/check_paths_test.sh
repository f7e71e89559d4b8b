#!/usr/bin/env bash
# Self-test of scripts/check_paths.sh on fake repositories in a temp dir:
# a clean one passes; a machine path in a tracked file, or a document that
# points outside the repository, fails with the file and line.
#   tests/layering/check_paths_test.sh [path/to/check_paths.sh]
set -uo pipefail

check=${1:-"$(dirname "$0")/../../scripts/check_paths.sh"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# A clean repo (no git: the script walks the tree); a link from docs/ to
# ../examples stays inside it.
clean() {
  rm -rf "$tmp/repo"
  mkdir -p "$tmp/repo"/{docs,examples,scripts,build/x}
  printf '# demo\nSee docs/a.md.\n' >"$tmp/repo/README.md"
  printf 'Examples: [examples](../examples).\n' >"$tmp/repo/docs/a.md"
  printf 'version: 1\n' >"$tmp/repo/examples/p.yaml"
  printf 'shared=${SWARMWALL_SHARED:-../shared}\n' >"$tmp/repo/scripts/run.sh"
  printf 'built in /%s/somewhere\n' work >"$tmp/repo/build/x/log"   # build dirs are not the repo's
}

expect() {
  local name=$1 code=$2 pattern=$3
  local out rc
  out=$("$check" "$tmp/repo" 2>&1); rc=$?
  if [[ $rc != "$code" ]] || ! grep -qF -- "$pattern" <<<"$out"; then
    echo "FAIL $name: exit $rc (want $code), output:"; echo "$out" | sed 's/^/  /'
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

clean
expect "clean repo passes" 0 ""

clean
printf 'a\nDATA=/%s/shared/x\n' work >"$tmp/repo/scripts/run.sh"   # spelt so this file passes the check
expect "machine path fails" 1 "scripts/run.sh:2: a path of the machine"

clean
printf 'See `../shared/seeds`.\n' >>"$tmp/repo/README.md"
expect "README pointing outside fails" 1 "README.md:3: ../shared/seeds points outside"

clean
printf 'x\n(../shared/fixtures/m1)\n' >>"$tmp/repo/docs/a.md"
expect "docs pointing outside fails" 1 "docs/a.md:3: ../shared/fixtures/m1 points outside"

clean
mkdir -p "$tmp/repo/src/apply"
printf 'x\n' >"$tmp/repo/src/apply/plan.h"
printf 'See src/apply/plan.h, `src/apply/plan.*` and tests/golden/EXAMPLE/NODE.sh.\n' >>"$tmp/repo/docs/a.md"
expect "named files that exist pass" 0 ""

clean
printf 'x\nThe code: (src/apply/moved_away.cc).\n' >>"$tmp/repo/docs/a.md"
expect "a named file that does not exist fails" 1 "docs/a.md:3: src/apply/moved_away.cc does not exist"

if ((failures)); then
  echo "check_paths_test: $failures failure(s)"
  exit 1
fi
echo "check_paths_test: ok"
