// Issues 7 and 17: the compute part of one keeper tick — input checks and consensus on 3 sources
// per asset, history, the risk engine (filtered historical simulation and Monte Carlo Student-t at
// 100k paths for every portfolio), breaker and publish policy — for 100 portfolios x 10 assets
// (issue 7) and 1,000 portfolios x 20 assets (issue 17), every portfolio holding every asset.
// Target: <= 1.5 s on the 2-core machine for the sum of the two methods' ticks.
//
// Arguments of each benchmark: assets, portfolios, seeds. seeds = 0: portfolio p has Monte Carlo
// seed p + 1 (issue 7's bench: no two portfolios draw the same numbers); seeds = 1: every
// portfolio keeps the config's default seed (1), as a keeper config that does not set `seed`
// per portfolio does.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <string>

#include "keeper/core/pipeline.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper;

namespace {

constexpr std::int64_t kPeriod = 3600;
constexpr std::int64_t kT0 = 1'800'000'000;

struct Market {
  explicit Market(int assets) : prices(static_cast<std::size_t>(assets), 100.0) {}
  std::mt19937_64 rng{42};
  std::vector<double> prices;
  std::uint64_t round = 0;
  std::vector<PriceReading> step(std::int64_t t) {
    std::normal_distribution<double> z(0.0, 0.02);
    std::vector<PriceReading> out;
    ++round;
    for (std::size_t a = 0; a < prices.size(); ++a) {
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

PipelineConfig config(risk::RiskMethod method, std::size_t paths, int assets, int portfolios,
                      bool default_seed) {
  PipelineConfig c;
  for (int a = 0; a < assets; ++a) {
    c.assets.push_back({"A" + std::to_string(a), {{"a", 7200}, {"b", 7200}, {"c", 7200}}});
  }
  std::mt19937_64 rng(7);
  for (int p = 0; p < portfolios; ++p) {
    PortfolioSpec s;
    s.id = static_cast<std::uint64_t>(p) + 1;
    s.name = "p" + std::to_string(p);
    for (int a = 0; a < assets; ++a) {
      s.positions.emplace_back("A" + std::to_string(a), 1.0 + static_cast<double>(rng() % 100));
    }
    s.method = method;
    s.risk.paths = paths;
    if (!default_seed) {
      s.risk.seed = static_cast<std::uint64_t>(p) + 1;
    }
    s.risk.components = false;
    s.period_s = kPeriod;
    s.window = 500;
    s.min_obs = 30;
    c.portfolios.push_back(s);
  }
  return c;
}

void run(benchmark::State& state, risk::RiskMethod method, std::size_t paths) {
  const auto assets = static_cast<int>(state.range(0));
  const auto portfolios = static_cast<int>(state.range(1));
  Pipeline pipe(config(method, paths, assets, portfolios, state.range(2) != 0));
  Market m(assets);
  // 520 periods of history, seeded (not ticked: ticking would estimate every portfolio each time).
  std::int64_t t = kT0;
  std::vector<std::vector<std::pair<std::int64_t, double>>> closes(
      static_cast<std::size_t>(assets));
  for (int i = 0; i < 520; ++i, t += kPeriod) {
    (void)m.step(t);
    for (std::size_t a = 0; a < closes.size(); ++a) {
      closes[a].emplace_back(t, m.prices[a]);
    }
  }
  for (std::size_t a = 0; a < closes.size(); ++a) {
    pipe.seed_history("A" + std::to_string(a), closes[a]);
  }
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
    ->ArgNames({"assets", "portfolios", "seeds"})
    ->Args({10, 100, 0})
    ->Args({20, 1000, 0})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Iterations(3);

static void BM_TickMonteCarloT100k(benchmark::State& state) {
  run(state, risk::RiskMethod::kMcT, 100'000);
}
BENCHMARK(BM_TickMonteCarloT100k)
    ->ArgNames({"assets", "portfolios", "seeds"})
    ->Args({10, 100, 0})
    ->Args({10, 100, 1})
    ->Args({20, 1000, 0})
    ->Args({20, 1000, 1})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Iterations(3);

BENCHMARK_MAIN();
