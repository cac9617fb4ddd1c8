#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: unit, hostile-input (also under
# AddressSanitizer + UBSan), differential tests against cast/anvil, the CLI commands, integration
# tests against anvil, the room map, the relocatable install, the Foundry tests, and lint.
#
# Timing (2 cores): most CTest tests wait on anvil's blocks, on child processes and on timeouts
# rather than computing, so while CTest runs, the two CPU-bound checks run beside it at the lowest
# CPU priority (nice 19: a test that wants a core gets it): lint (clang-tidy over every unit) and
# the AddressSanitizer build and run of the hostile tests. Their output goes to build/lint.log and
# build-asan/hostile.log and is printed after CTest; any failure of the three fails the run.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
scripts/setup.sh
# Everything the tests use (the benchmarks are built by `scripts/build.sh` alone).
scripts/build.sh varkeeper varkeeper_contracts varkeeper_unit_tests varkeeper_hostile_tests \
  varkeeper_peer_tests varkeeper_cli_tests varkeeper_integration_tests

jobs="${VARKEEPER_JOBS:-$(nproc)}"
test_jobs="${VARKEEPER_TEST_JOBS:-$(($(nproc) + 1))}"

# In the background, at nice 19, one after the other (so that at most `jobs` compilers or
# clang-tidy processes are in memory at once):
#  - the decoders again, under ASan + UBSan: random and mutated bytes must never read out of
#    bounds (-O1 with line tables only: quick to compile, and reports still name file and line);
#  - lint: clang-format over the whole tree, clang-tidy (the checked-in .clang-tidy) over every
#    chain/ risk/ keeper/ source; any finding fails the run (scripts/lint.sh).
# Each step writes its exit status to a file; setsid puts the chain in its own process group, so
# that it is stopped with this script if CTest is interrupted.
rm -f build/lint.status build-asan/hostile.status
mkdir -p build-asan
# shellcheck disable=SC2016
setsid -w nice -n 19 bash -c '
  jobs="$1"
  {
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DVARKEEPER_SANITIZE=ON \
      -DVARKEEPER_BUILD_BENCH=OFF >/dev/null &&
      cmake --build build-asan -j"$jobs" --target varkeeper_hostile_tests &&
      build-asan/tests/varkeeper_hostile_tests --no-intro
  } >build-asan/hostile.log 2>&1
  echo $? >build-asan/hostile.status
  scripts/lint.sh --jobs "$jobs" >build/lint.log 2>&1
  echo $? >build/lint.status
' bash "$jobs" &
background=$!
trap 'kill -TERM -- "-$background" 2>/dev/null || true' EXIT

# Every doctest case is its own CTest test (ctest -N lists them, ctest -R NAME runs one). Most of
# them wait on anvil's blocks, child processes and timeouts rather than compute, so CTest runs
# nproc + 1 at a time (VARKEEPER_TEST_JOBS to change it); tests that must not overlap say so with
# RESOURCE_LOCK or RUN_SERIAL (tests/CMakeLists.txt).
status=0
ctest --test-dir build --output-on-failure --timeout 1800 -j"$test_jobs" || status=1

wait "$background" || true
trap - EXIT
echo "test.sh: AddressSanitizer + UBSan build and run of the hostile tests (build-asan/hostile.log):"
cat build-asan/hostile.log
if [[ "$(cat build-asan/hostile.status 2>/dev/null)" != 0 ]]; then
  echo "test.sh: the hostile tests under ASan + UBSan failed (build-asan/hostile.log)" >&2
  status=1
fi
echo "test.sh: lint (build/lint.log):"
cat build/lint.log
if [[ "$(cat build/lint.status 2>/dev/null)" != 0 ]]; then
  echo "test.sh: lint failed (build/lint.log)" >&2
  status=1
fi
((status == 0)) || exit "$status"
echo "test.sh: all tests passed"
