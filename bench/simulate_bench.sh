#!/usr/bin/env bash
# Speed of `varkeeper simulate` (issue 8; docs/benchmarks.md "Simulation"): ten years of daily
# ticks for 10 portfolios x 5 synthetic assets, with filtered historical simulation (target
# <= 2 s) and with Monte Carlo Student-t at 10,000 paths per step (target <= 60 s).
# Usage: bench/simulate_bench.sh [path/to/varkeeper]   (default: build/varkeeper)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-$here/build/varkeeper}"
for s in simulate_10x5_fhs simulate_10x5_mct; do
  /usr/bin/time -f "$s: %e s wall, %U s user, %S s sys, %M KB max RSS" \
    "$bin" simulate --scenario "$here/bench/$s.toml" > /dev/null
done
