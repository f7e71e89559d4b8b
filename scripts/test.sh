#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds swarmwall and runs every test:
#   unit tests (release build), lab and end-to-end tests (real netfilter in
#   network namespaces, real dockerd 20.10, 28.5 and 29.7.2 in both firewall
#   modes, README.md says which suite runs on which; SWARMWALL_LAB_FULL_MATRIX=1
#   runs every suite on every version; the adversarial suite),
#   the Debian package (built from the release build, lintian, installed
#   and purged in a throwaway Debian 12 root),
#   the same unit tests under ASan+UBSan, and short libFuzzer runs of the
#   parser, the policy loader and every file swarmwall reads back.
# The release build makes what the lab suites run first and starts them;
# the unit tests' programs, the package test and the ASan+UBSan and
# libFuzzer builds run in the background, at the lowest priority, while the
# lab suites wait on dockerd; the unit tests (release, then ASan+UBSan) and
# the fuzz runs after the lab.
# Usage: scripts/test.sh [--unit] [--ci]
#   --unit: only the fast unit tests (built and run alone)
#   --ci:   the release build without debug info (-O2, no -g: a quarter less
#           compile time and far smaller links), without the benchmarks and
#           with the tests' own code at -O0, for a clean clone nobody runs a
#           debugger in (.ci/run); the sanitizer and fuzz builds keep -g
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
unit_only=0
ci=0
for arg in "$@"; do
  case $arg in
    --unit) unit_only=1 ;;
    --ci) ci=1 ;;
    *) echo "usage: scripts/test.sh [--unit] [--ci]" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: run as root (the lab creates network namespaces and runs dockerd)" >&2
  exit 1
fi
# Each phase's wall time, printed as it ends and summed up at the end, so
# that a CI log says where the time went.
phases=()
phase_name=""
phase_t0=0
phase() {   # phase NAME [MORE]: ends the running phase (if any), starts NAME
  phase_end
  phase_name=$1
  phase_t0=$SECONDS
  echo "== $1${2:+ ($2)}"
}
phase_end() {
  [ -n "$phase_name" ] || return 0
  local s=$((SECONDS - phase_t0))
  echo "== $phase_name: $s s"
  phases+=("$(printf '%6d s  %s' "$s" "$phase_name")")
  phase_name=""
}

phase "setup"
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

# The names of the tests labelled unit that ctest finds in BUILD.
unit_test_names() {
  (cd "$1" && ctest -N -L unit) | sed -nE 's/^ *Test +#[0-9]+: (.*)$/\1/p' | sort
}

fuzz_targets=(parser_fuzz policy_fuzz state_fuzz address_cache_fuzz agent_state_fuzz host_facts_fuzz nft_json_fuzz)

# Everything CI builds beyond what the lab suites run, one job after the
# other at the lowest CPU and I/O priority, while the lab suites wait on
# dockerd: the rest of the release build (the unit tests' programs; they run
# after the lab), then the Debian package test (ctest label package:
# scripts/package.sh of the release build, lintian, apt-get install into a
# debootstrap root, purge; it waits mostly on the mirror and dpkg, so it
# runs beside the next two), the ASan+UBSan build (only what the unit tests
# run, cmake/unit_tests.cmake: not the lab, end-to-end and adversarial
# suites, which run in the release build) and the libFuzzer build. Each
# job's exit code and seconds go to DIR/NAME.rc and DIR/NAME.secs
# (release, package, asan, fuzz); the package test's log to DIR/package.log.
side_builds() {
  local dir=$1 t0=$SECONDS rc package_pid
  renice -n 19 -p "$BASHPID" >/dev/null 2>&1 || true
  ionice -c 3 -p "$BASHPID" >/dev/null 2>&1 || true
  echo "== release build, the rest (the unit tests' programs)"
  ninja -C build -j "$jobs"
  rc=$?
  echo "$rc" > "$dir/release.rc"
  echo $((SECONDS - t0)) > "$dir/release.secs"
  if [ "$rc" -eq 0 ]; then
    (t=$SECONDS; cd build && ctest --output-on-failure -L package >"$dir/package.log" 2>&1
     echo $? >"$dir/package.rc"; echo $((SECONDS - t)) >"$dir/package.secs") &
    package_pid=$!
  fi
  t0=$SECONDS
  echo "== ASan+UBSan build (unit tests)"
  # gtest_discover_tests lists each executable's tests when it is linked,
  # with a 5 s timeout: an ASan executable at nice 19 beside a busy lab suite
  # can take longer and fail the build. PRE_TEST lists them when ctest runs.
  # clang: it compiles this code ~40% faster than GCC 12 at -O0 with the
  # sanitizers (check.cc 15.5 s vs 26 s, apply_policy_test.cc 7.8 vs 12.3 s),
  # and this build is the longest job of CI. The release build stays GCC, so
  # both compilers build the whole tree with warnings as errors.
  build build-asan -DCMAKE_BUILD_TYPE=Debug -DSWARMWALL_SANITIZE=ON -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE=PRE_TEST -- unit_tests
  rc=$?
  echo "$rc" > "$dir/asan.rc"
  echo $((SECONDS - t0)) > "$dir/asan.secs"
  t0=$SECONDS
  echo "== fuzz build (clang, libFuzzer)"
  build build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSWARMWALL_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -- "${fuzz_targets[@]}"
  rc=$?
  echo "$rc" > "$dir/fuzz.rc"
  echo $((SECONDS - t0)) > "$dir/fuzz.secs"
  [ -n "${package_pid:-}" ] && wait "$package_pid"
}

phase "release build"
release_ok=0
# CMake's RelWithDebInfo flags, or the same without -g (--ci); said each
# time, so that a build dir configured by the other mode is set back.
# --ci also leaves out the benchmarks (no test runs them) and compiles the
# tests' own code at -O0 (cmake/test_code_opt.cmake).
release_flags=("-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g -DNDEBUG" -DSWARMWALL_BENCH=ON -DSWARMWALL_TEST_CODE_O0=OFF)
[ $ci -eq 1 ] && release_flags=("-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -DNDEBUG" -DSWARMWALL_BENCH=OFF
                                -DSWARMWALL_TEST_CODE_O0=ON)
# With --unit only what the unit tests run; else first what the lab suites
# run (cmake/lab_tests.cmake), the rest beside the lab (side_builds).
release_targets=(-- lab_tests)
[ $unit_only -eq 1 ] && release_targets=(-- unit_tests)
if build build -DCMAKE_BUILD_TYPE=RelWithDebInfo "${release_flags[@]}" "${release_targets[@]}"; then
  release_ok=1
  if [ $unit_only -eq 1 ]; then
    phase "unit tests"
    run_ctest build -L unit -j "$jobs"
  else
    # The Debian package of this build (~10 s): the stack suite builds its
    # image from it (SWARMWALL_DEB), as README's operator path does. A copy:
    # the package test makes dist/ again beside the lab.
    phase "Debian package"
    if scripts/package.sh build && mkdir -p build/package &&
       cp dist/swarmwall_*_amd64.deb build/package/swarmwall.deb; then
      export SWARMWALL_DEB="$root/build/package/swarmwall.deb"
    else
      echo "test.sh: scripts/package.sh failed" >&2
      failed=1
    fi
  fi
fi

if [ $unit_only -eq 0 ]; then
  phase_end
  side=$(mktemp -d)
  if [ $release_ok -eq 1 ]; then
    echo "== the rest of the release build, the package test, the ASan+UBSan and fuzz builds: in the background at nice 19 (their output follows the lab suites)"
    side_builds "$side" > "$side/log" 2>&1 &
    side_pid=$!
    matrix="CI matrix (SWARMWALL_LAB_FULL_MATRIX=1: every suite on every Docker version)"
    [ "${SWARMWALL_LAB_FULL_MATRIX:-}" = 1 ] && matrix="full matrix"
    phase "lab and end-to-end tests" "real netfilter, real dockerd; $matrix"
    run_ctest build -L 'lab|e2e'
  else
    failed=1
    side_pid=""
  fi
  if [ -n "$side_pid" ]; then
    phase "waiting for the background jobs"
    wait "$side_pid"
    phase_end
    echo "== the background jobs' output:"
    cat "$side/log"
  fi
  for b in release package asan fuzz; do
    secs=$(cat "$side/$b.secs" 2>/dev/null || echo "?")
    rc=$(cat "$side/$b.rc" 2>/dev/null || echo 1)
    [ "$rc" -eq 0 ] || failed=1
    phases+=("$(printf '%6s s  %s' "$secs" "($b, in the background$([ "$rc" -eq 0 ] || echo ": FAILED"))")")
  done
  release_rest_rc=$(cat "$side/release.rc" 2>/dev/null || echo 1)
  asan_rc=$(cat "$side/asan.rc" 2>/dev/null || echo 1)
  fuzz_rc=$(cat "$side/fuzz.rc" 2>/dev/null || echo 1)
  if [ -f "$side/package.log" ]; then
    echo "== the Debian package test:"
    cat "$side/package.log"
    if [ "$(cat "$side/package.rc" 2>/dev/null)" = 0 ]; then
      total_passed=$((total_passed + 1))
    else
      total_failed=$((total_failed + 1))
    fi
  fi
  rm -rf "$side"

  if [ "$release_rest_rc" -eq 0 ]; then
    phase "unit tests"
    run_ctest build -L unit -j "$jobs"
  fi
  if [ "$asan_rc" -eq 0 ]; then
    # A gtest executable that was not built has no tests to find, not a
    # failing one: the same unit tests as the release build's, or an error.
    if [ -d build ] && ! diff <(unit_test_names build) <(unit_test_names build-asan) >/dev/null; then
      echo "test.sh: build-asan lacks unit tests of the release build (a target not named with swarmwall_unit_test?):" >&2
      diff <(unit_test_names build) <(unit_test_names build-asan) | grep '^<' >&2
      failed=1
    fi
    phase "ASan+UBSan unit tests"
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      run_ctest build-asan -L unit -j "$jobs"
  else
    failed=1
  fi
  if [ "$fuzz_rc" -eq 0 ]; then
    # Each run is one process on one core: two at a time on two cores.
    phase "fuzzing" "libFuzzer, short runs, $jobs at a time"
    run_ctest build-fuzz -L fuzz -j "$jobs"
  else
    failed=1
  fi
fi
phase_end

echo
echo "time by phase:"
printf '%s\n' "${phases[@]}"
printf '%6d s  %s\n' "$SECONDS" "total"
echo "all suites: ${total_passed} passed, ${total_failed} failed"
exit $failed
