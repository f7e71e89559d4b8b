#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds swarmwall and runs every test:
#   unit tests (release build), lab and end-to-end tests (real netfilter in
#   network namespaces, real dockerd 20.10, 28.5 and 29.7.2 in both firewall
#   modes, README.md says which suite runs on which; SWARMWALL_LAB_FULL_MATRIX=1
#   runs every suite on every version; the adversarial suite),
#   the same unit tests under ASan+UBSan, and short libFuzzer runs of the
#   parser, the policy loader and every file swarmwall reads back.
# Usage: scripts/test.sh [--unit]   (--unit: only the fast unit tests)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
unit_only=0
[ "${1:-}" = "--unit" ] && unit_only=1

if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: run as root (the lab creates network namespaces and runs dockerd)" >&2
  exit 1
fi
scripts/setup.sh || exit 1

jobs=$(nproc)
failed=0
total_passed=0
total_failed=0

# Runs ctest in BUILD with ARGS, adds its counts to the totals.
run_ctest() {
  local build=$1; shift
  local log
  log=$(mktemp)
  (cd "$build" && ctest --output-on-failure --no-tests=error "$@") 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line
  line=$(grep -E "tests passed, [0-9]+ tests failed out of" "$log" | tail -1)
  if [ -n "$line" ]; then
    local pct_failed total
    pct_failed=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
    total=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/')
    total_failed=$((total_failed + pct_failed))
    total_passed=$((total_passed + total - pct_failed))
  fi
  rm -f "$log"
  [ "$rc" -eq 0 ] || failed=1
}

build() {   # build DIR [cmake args...] [-- targets...]
  local dir=$1; shift
  local args=() targets=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift && targets=("$@")
  cmake -S "$root" -B "$dir" -G Ninja "${args[@]}" >/dev/null || { failed=1; return 1; }
  ninja -C "$dir" -j "$jobs" "${targets[@]}" || { failed=1; return 1; }
}

echo "== release build"
release_targets=()   # everything; with --unit only what the unit tests run
[ $unit_only -eq 1 ] && release_targets=(-- unit_tests)
if build build -DCMAKE_BUILD_TYPE=RelWithDebInfo "${release_targets[@]}"; then
  echo "== unit tests"
  run_ctest build -L unit -j "$jobs"
  if [ $unit_only -eq 0 ]; then
    matrix="CI matrix (SWARMWALL_LAB_FULL_MATRIX=1: every suite on every Docker version)"
    [ "${SWARMWALL_LAB_FULL_MATRIX:-}" = 1 ] && matrix="full matrix"
    echo "== lab and end-to-end tests (real netfilter, real dockerd; $matrix)"
    run_ctest build -L 'lab|e2e'
  fi
fi

# The names of the tests labelled unit that ctest finds in BUILD.
unit_test_names() {
  (cd "$1" && ctest -N -L unit) | sed -nE 's/^ *Test +#[0-9]+: (.*)$/\1/p' | sort
}

if [ $unit_only -eq 0 ]; then
  # Only what the unit tests run (cmake/unit_tests.cmake): not the lab,
  # end-to-end and adversarial suites, which run in the release build.
  echo "== ASan+UBSan build (unit tests)"
  if build build-asan -DCMAKE_BUILD_TYPE=Debug -DSWARMWALL_SANITIZE=ON -- unit_tests; then
    # A gtest executable that was not built has no tests to find, not a
    # failing one: the same unit tests as the release build's, or an error.
    if [ -d build ] && ! diff <(unit_test_names build) <(unit_test_names build-asan) >/dev/null; then
      echo "test.sh: build-asan lacks unit tests of the release build (a target not named with swarmwall_unit_test?):" >&2
      diff <(unit_test_names build) <(unit_test_names build-asan) | grep '^<' >&2
      failed=1
    fi
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      run_ctest build-asan -L unit -j "$jobs"
  fi
  echo "== fuzzing (libFuzzer, short runs)"
  if build build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSWARMWALL_FUZZ=ON \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -- parser_fuzz policy_fuzz state_fuzz address_cache_fuzz agent_state_fuzz host_facts_fuzz; then
    run_ctest build-fuzz -L fuzz
  fi
fi

echo
echo "all suites: ${total_passed} passed, ${total_failed} failed"
exit $failed
