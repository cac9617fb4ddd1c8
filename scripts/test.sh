#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: unit, hostile-input (also under
# AddressSanitizer + UBSan), differential tests against cast/anvil, the CLI commands, integration
# tests against anvil, the room map, the relocatable install, the Foundry tests, and lint.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
scripts/setup.sh
# Everything the tests use (the benchmarks are built by `scripts/build.sh` alone).
scripts/build.sh varkeeper varkeeper_contracts varkeeper_unit_tests varkeeper_hostile_tests \
  varkeeper_peer_tests varkeeper_cli_tests varkeeper_integration_tests
# Lint: clang-format over the whole tree, clang-tidy (the checked-in .clang-tidy) over every
# chain/ risk/ keeper/ source; any finding fails the run (scripts/lint.sh).
scripts/lint.sh
# Every doctest case is its own CTest test (ctest -N lists them, ctest -R NAME runs one). Most of
# them wait on anvil's blocks, child processes and timeouts rather than compute, so CTest runs
# nproc + 1 at a time (VARKEEPER_TEST_JOBS to change it); tests that must not overlap say so with
# RESOURCE_LOCK or RUN_SERIAL (tests/CMakeLists.txt).
ctest --test-dir build --output-on-failure --timeout 1800 -j"${VARKEEPER_TEST_JOBS:-$(($(nproc) + 1))}"

# The decoders again, under ASan + UBSan: random and mutated bytes must never read out of bounds.
jobs="${VARKEEPER_JOBS:-$(nproc)}"
# -O1 with line tables only: quick to compile on 2 cores, and reports still name file and line.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DVARKEEPER_SANITIZE=ON -DVARKEEPER_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs" --target varkeeper_hostile_tests
build-asan/tests/varkeeper_hostile_tests --no-intro
echo "test.sh: all tests passed"
