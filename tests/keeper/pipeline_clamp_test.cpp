// Issue 16, defect 3: the pipeline publishes figures within [0, 1] of the portfolio value, and a
// figure it had to bring into that range carries a diagnostic instead of being clamped silently.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "keeper/core/pipeline.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper;

namespace {

constexpr std::int64_t kPeriod = 60;
constexpr std::int64_t kT0 = 1'700'000'040;  // a period start

std::vector<PriceReading> readings(std::int64_t t, const std::string& asset, double price,
                                   std::uint64_t round) {
  std::vector<PriceReading> out;
  for (const auto* s : {"a", "b", "c"}) {
    PriceReading r;
    r.asset = asset;
    r.source = s;
    r.round.round_id = {1, round};
    r.round.answered_in_round = {1, round};
    r.round.answer = price;
    r.round.started_at = t;
    r.round.updated_at = t;
    out.push_back(r);
  }
  return out;
}

PipelineConfig config(std::vector<std::pair<std::string, double>> positions, risk::MeanModel mean,
                      int horizon) {
  PipelineConfig c;
  c.assets.push_back({"AAA", {{"a", 3600}, {"b", 3600}, {"c", 3600}}});
  c.assets.push_back({"BBB", {{"a", 3600}, {"b", 3600}, {"c", 3600}}});
  PortfolioSpec p;
  p.id = 1;
  p.name = "p";
  p.positions = std::move(positions);
  p.method = risk::RiskMethod::kHistorical;
  p.risk.confidence = 0.99;
  p.risk.mean = mean;
  p.risk.horizon = horizon;
  p.period_s = kPeriod;
  p.window = 60;
  p.min_obs = 30;
  c.portfolios.push_back(p);
  c.breaker.enabled = false;
  return c;
}

// Runs 70 ticks: AAA at 100 for ever, BBB at price `level(i)`.
template <class Level>
PortfolioUpdate run(Pipeline& pipe, Level level) {
  PortfolioUpdate last;
  for (std::uint64_t i = 0; i < 70; ++i) {
    const std::int64_t t = kT0 + static_cast<std::int64_t>(i) * kPeriod;
    const double b = level(i);
    auto rd = readings(t, "AAA", 100.0, i + 1);
    const auto rb = readings(t, "BBB", b, i + 1);
    rd.insert(rd.end(), rb.begin(), rb.end());
    const auto r = pipe.tick(t, rd);
    REQUIRE(r.portfolios.size() == 1);
    last = r.portfolios[0];
  }
  REQUIRE(last.has_estimate);
  return last;
}

bool has(const PortfolioUpdate& u, risk::DiagnosticKind k) {
  return risk::has_diagnostic(u.computed.diagnostics, k);
}

}  // namespace

TEST_CASE("a short position whose CVaR exceeds the portfolio value publishes 1 and says so") {
  // 20 AAA (flat) long, 9 BBB short, BBB swinging around 100 by 30 % (capped so the net value
  // stays positive): a doubling of BBB loses more than the net value.
  Pipeline pipe(config({{"AAA", 20.0}, {"BBB", -9.0}}, risk::MeanModel::kZero, 1));
  std::mt19937_64 rng(16);
  std::normal_distribution<double> z(0.0, 0.3);
  const auto u =
      run(pipe, [&](std::uint64_t) { return 100.0 * std::exp(std::clamp(z(rng), -0.75, 0.75)); });
  CHECK(u.computed.cvar > 1.0);
  CHECK(u.published_cvar == 1.0);
  CHECK(u.published_var <= 1.0);
  CHECK(has(u, risk::DiagnosticKind::kLossBeyondValue));
}

TEST_CASE("a VaR <= 0 publishes 0 and says so; a long-only 30-period figure stays below 1") {
  // A steady 2 % rise a period with mean = sample: the model expects a gain at 99 %.
  Pipeline up(config({{"BBB", 1.0}}, risk::MeanModel::kSample, 1));
  double b = 100.0;
  const auto u = run(up, [&](std::uint64_t i) {
    b *= std::exp(0.02 + 0.001 * std::sin(1.3 * static_cast<double>(i)));
    return b;
  });
  CHECK(u.computed.var <= 0.0);
  CHECK(u.published_var == 0.0);
  CHECK(has(u, risk::DiagnosticKind::kNonPositiveVar));
  // Long only, parametric-normal over 30 periods of 30 % volatility: the loss fraction is below
  // 1, nothing clamped (the sqrt(30)-scaled log-return ES was 2.2 and was published as 1).
  auto wild_config = config({{"AAA", 1.0}, {"BBB", 1.0}}, risk::MeanModel::kZero, 30);
  wild_config.portfolios[0].method = risk::RiskMethod::kParametricNormal;
  Pipeline wild(wild_config);
  std::mt19937_64 rng(17);
  std::normal_distribution<double> z(0.0, 0.3);
  double c = 100.0;
  const auto w = run(wild, [&](std::uint64_t) {
    c *= std::exp(z(rng));
    return c;
  });
  CHECK(w.computed.cvar < 1.0);
  CHECK(w.published_cvar == doctest::Approx(w.computed.cvar));
  CHECK_FALSE(has(w, risk::DiagnosticKind::kLossBeyondValue));
}
