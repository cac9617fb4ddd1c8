// Monte Carlo multivariate-t VaR + CVaR: 1e6 paths x 10 assets x 1 step (issue 3 target: <= 120 ms
// on the 2-core CI machine, >= 8 M paths/s), and the cost of only drawing the random numbers
// (the floor). Same model as bench/mc_t_numpy.py. Figures: docs/benchmarks.md, "Risk engine".
//   build-bench/mc_t_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "risk/monte_carlo.hpp"

namespace {

using namespace varkeeper::risk;

constexpr std::size_t kAssets = 10;
constexpr std::size_t kPaths = 1'000'000;

// Daily volatilities 1 %..3.25 %, equicorrelation 0.3, zero drift, nu = 5, equal weights.
McModel model() {
  McModel m;
  m.distribution = McDistribution::kStudentT;
  m.nu = 5.0;
  m.drift.assign(kAssets, 0.0);
  m.covariance.resize(kAssets * kAssets);
  for (std::size_t i = 0; i < kAssets; ++i)
    for (std::size_t j = 0; j < kAssets; ++j) {
      const double si = 0.01 + 0.0025 * static_cast<double>(i);
      const double sj = 0.01 + 0.0025 * static_cast<double>(j);
      m.covariance[i * kAssets + j] = (i == j ? 1.0 : 0.3) * si * sj;
    }
  return m;
}

McSettings settings(unsigned threads) {
  McSettings s;
  s.paths = kPaths;
  s.seed = 42;
  s.threads = threads;
  s.antithetic = true;
  s.revaluation = Revaluation::kFull;
  s.components = false;
  return s;
}

void BM_McTVarCvar(benchmark::State& state) {
  const auto m = model();
  const std::vector<double> w(kAssets, 1.0 / kAssets);
  const auto s = settings(static_cast<unsigned>(state.range(0)));
  for (auto _ : state) {
    const auto r = monte_carlo_risk(m, w, 0.99, s);
    benchmark::DoNotOptimize(r.var);
    benchmark::DoNotOptimize(r.cvar);
  }
  state.counters["paths_per_s"] =
      benchmark::Counter(static_cast<double>(kPaths) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

void BM_McTDrawOnly(benchmark::State& state) {
  const auto m = model();
  const auto s = settings(static_cast<unsigned>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(monte_carlo_draw_only(m, s));
  state.counters["paths_per_s"] =
      benchmark::Counter(static_cast<double>(kPaths) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

// Arg: threads (0 = all cores). Wall time is the figure; the CPU column is the whole process's
// (all threads), comparable with NumPy's process_time.
BENCHMARK(BM_McTVarCvar)
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();
BENCHMARK(BM_McTDrawOnly)
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
