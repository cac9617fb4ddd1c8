// Issue 7: the compute part of one keeper tick for 100 portfolios x 10 assets — input checks and
// consensus on 3 sources per asset, history, the risk engine (filtered historical simulation and
// Monte Carlo Student-t at 100k paths for every portfolio), breaker and publish policy.
// Target: <= 1.5 s on the 2-core machine.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include "keeper/core/pipeline.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper;

namespace {

constexpr int kAssets = 10;
constexpr int kPortfolios = 100;
constexpr std::int64_t kPeriod = 3600;
constexpr std::int64_t kT0 = 1'800'000'000;

struct Market {
  std::mt19937_64 rng{42};
  std::vector<double> prices = std::vector<double>(kAssets, 100.0);
  std::uint64_t round = 0;
  std::vector<PriceReading> step(std::int64_t t) {
    std::normal_distribution<double> z(0.0, 0.02);
    std::vector<PriceReading> out;
    ++round;
    for (int a = 0; a < kAssets; ++a) {
      prices[a] *= std::exp(z(rng));
      for (const char* s : {"a", "b", "c"}) {
        PriceReading r;
        r.asset = "A" + std::to_string(a);
        r.source = s;
        r.round.round_id = {1, round};
        r.round.answered_in_round = {1, round};
        r.round.answer = prices[a];
        r.round.updated_at = t;
        out.push_back(r);
      }
    }
    return out;
  }
};

PipelineConfig config(risk::RiskMethod method, std::size_t paths) {
  PipelineConfig c;
  for (int a = 0; a < kAssets; ++a) {
    c.assets.push_back({"A" + std::to_string(a), {{"a", 7200}, {"b", 7200}, {"c", 7200}}});
  }
  std::mt19937_64 rng(7);
  for (int p = 0; p < kPortfolios; ++p) {
    PortfolioSpec s;
    s.id = static_cast<std::uint64_t>(p + 1);
    s.name = "p" + std::to_string(p);
    for (int a = 0; a < kAssets; ++a) {
      s.positions.emplace_back("A" + std::to_string(a), 1.0 + static_cast<double>(rng() % 100));
    }
    s.method = method;
    s.risk.paths = paths;
    s.risk.seed = static_cast<std::uint64_t>(p + 1);
    s.risk.components = false;
    s.period_s = kPeriod;
    s.window = 500;
    s.min_obs = 30;
    c.portfolios.push_back(s);
  }
  return c;
}

void run(benchmark::State& state, risk::RiskMethod method, std::size_t paths) {
  Pipeline pipe(config(method, paths));
  Market m;
  // 520 periods of history, seeded (not ticked: ticking would estimate every portfolio each time).
  std::int64_t t = kT0;
  std::vector<std::vector<std::pair<std::int64_t, double>>> closes(kAssets);
  for (int i = 0; i < 520; ++i, t += kPeriod) {
    (void)m.step(t);
    for (int a = 0; a < kAssets; ++a) closes[a].emplace_back(t, m.prices[a]);
  }
  for (int a = 0; a < kAssets; ++a) pipe.seed_history("A" + std::to_string(a), closes[a]);
  for (auto _ : state) {
    t += kPeriod;  // a new period: every portfolio is re-estimated
    auto r = pipe.tick(t, m.step(t));
    benchmark::DoNotOptimize(r);
  }
}

}  // namespace

static void BM_TickFilteredHistorical(benchmark::State& state) {
  run(state, risk::RiskMethod::kFilteredHistorical, 0);
}
BENCHMARK(BM_TickFilteredHistorical)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

static void BM_TickMonteCarloT100k(benchmark::State& state) {
  run(state, risk::RiskMethod::kMcT, 100'000);
}
BENCHMARK(BM_TickMonteCarloT100k)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Iterations(3);

BENCHMARK_MAIN();
