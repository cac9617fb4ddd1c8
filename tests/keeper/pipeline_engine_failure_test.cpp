// Issue 16, defect 6: a risk method that throws inside Pipeline::tick becomes an incident and a
// breaker input; the keeper keeps ticking.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "keeper/core/pipeline.hpp"
#include "tests/keeper/pipeline_fixture.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper;

namespace {

constexpr std::int64_t kPeriod = 60;
constexpr std::int64_t kT0 = 1'700'000'040;  // a period start

}  // namespace

TEST_CASE("a risk method that throws inside a tick is an incident and a breaker input") {
  // Historical simulation over a 25-period horizon with estimates from 20 returns: from the 20th
  // to the 24th return estimate_risk throws ("needs at least 25 observations"); from the 25th it
  // works. Before the handler the first of those ticks threw out of Pipeline::tick (the daemon's
  // loop died); now the tick returns.
  PipelineConfig c;
  c.assets.push_back({"ETH", {{"a", 3600}, {"b", 3600}, {"c", 3600}}});
  PortfolioSpec p;
  p.id = 1;
  p.name = "eth";
  p.positions = {{"ETH", 10.0}};
  p.method = risk::RiskMethod::kHistorical;
  p.risk.confidence = 0.9;
  p.risk.horizon = 25;
  p.period_s = kPeriod;
  p.window = 50;
  p.min_obs = 20;
  c.portfolios.push_back(p);
  c.breaker.enabled = true;
  Pipeline pipe(c);
  std::size_t failures = 0;
  std::size_t model_incidents = 0;
  for (std::size_t i = 0; i <= 30; ++i) {
    CAPTURE(i);
    const std::int64_t t = kT0 + static_cast<std::int64_t>(i) * kPeriod;
    const double price = 2000.0 * std::exp(0.01 * std::sin(static_cast<double>(i)));
    TickResult r;
    REQUIRE_NOTHROW(r = pipe.tick(t, test::eth_answers(t, i + 1, price, price, price)));
    REQUIRE(r.portfolios.size() == 1);
    const auto& u = r.portfolios[0];
    for (const auto& inc : r.incidents) {
      if (inc.category == "model_failure") {
        ++model_incidents;
        CHECK(inc.subject == "eth");
        CHECK(inc.time == t);
        CHECK(inc.evidence.find("historical") != std::string::npos);
        CHECK(inc.evidence.find("needs at least 25 observations") != std::string::npos);
      }
    }
    if (i >= 20 && i < 25) {  // 20..24 returns: the method throws
      ++failures;
      CHECK_FALSE(u.has_estimate);
      CHECK(u.note.find("the risk engine failed") != std::string::npos);
      // The breaker saw an invalid VaR and tripped.
      CHECK(u.reasons.has(risk::TripReason::kInvalidVar));
      CHECK(u.status == risk::BreakerStatus::kTripped);
      CHECK(u.publish == PublishReason::kNone);
    } else if (i >= 25) {  // the next ticks run and estimate
      CHECK(u.has_estimate);
      CHECK(std::isfinite(u.computed.var));
      CHECK(std::isfinite(u.computed.cvar));
      CHECK(u.computed.n_scenarios == i - 25 + 1);
    }
  }
  CHECK(failures == 5);
  CHECK(model_incidents == 1);  // one incident for one failure, not one per tick
}
