#!/usr/bin/env bash
# MC 10^6 paths x 10 assets (multivariate t, VaR + CVaR at 99 %): varkeeper (bench/mc_t_bench)
# and NumPy (bench/mc_t_numpy.py, Debian's python3-numpy) measured back to back in one run, with
# the machine and its load average before and after (docs/benchmarks.md, "Risk engine").
# Usage: bench/mc_t_vs_numpy.sh [build-dir] [repetitions]   (default build, 5)
set -euo pipefail
build=${1:-build}
reps=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
if [[ ! -x "$build/bench/mc_t_bench" ]]; then
  echo "mc_t_vs_numpy: $build/bench/mc_t_bench is missing (cmake --build $build --target mc_t_bench)" >&2
  exit 2
fi
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench/mc_t_bench" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  2>/dev/null | grep -E '_(median|mean)'
/usr/bin/python3 "$here/mc_t_numpy.py" "$reps"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
