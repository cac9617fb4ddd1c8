#!/usr/bin/env bash
# Configures and builds varkeeper (Release) into build/. Used by run.sh and test.sh.
# Arguments are CMake targets (default: everything, benchmarks included).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
jobs="${VARKEEPER_JOBS:-$(nproc)}"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
if (($#)); then
  cmake --build build -j"$jobs" --target "$@"
else
  cmake --build build -j"$jobs"
fi
