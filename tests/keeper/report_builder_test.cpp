// The one builder of the on-chain report (keeper/core/report_builder.hpp), used by the daemon's
// Reporter and the simulator. Before issue 13 each had its own copy and they differed: the
// Reporter wrapped a horizon above uint32 and a negative time and threw on a figure it could not
// represent; the simulator clamped horizon and time and sent a CVaR below the VaR (which
// RiskOracle refuses as InvalidFigures). Each case below failed on one of the two copies.
#include "keeper/core/report_builder.hpp"

#include <doctest/doctest.h>

#include <limits>

#include "keeper/core/units.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper;

namespace {

PortfolioSpec spec() {
  PortfolioSpec s;
  s.id = 7;
  s.method = risk::RiskMethod::kFilteredHistorical;
  s.risk.confidence = 0.975;
  s.risk.horizon = 10;
  s.period_s = 86'400;
  s.config_hash[0] = 0xab;
  s.config_hash[31] = 0xcd;
  return s;
}

PortfolioUpdate update(double var, double cvar) {
  PortfolioUpdate u;
  u.portfolio_id = 7;
  u.has_estimate = true;
  u.observed_at = 1'700'000'123;
  u.value = 1'234'567.891;
  u.published_var = var;
  u.published_cvar = cvar;
  u.status = risk::BreakerStatus::kTripped;
  u.publish = PublishReason::kDeviation;
  return u;
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

TEST_CASE("a report carries the update's figures in the contract's units") {
  const auto r = build_report(spec(), update(0.052, 0.071), 42);
  REQUIRE(r);
  CHECK(r->portfolio_id == 7);
  CHECK(r->round == 42);
  CHECK(r->observed_at == 1'700'000'123);
  CHECK(r->horizon == 864'000);  // 10 periods of one day, in seconds
  CHECK(r->confidence == 975'000'000'000'000'000ULL);
  CHECK(r->method == static_cast<std::uint8_t>(risk::RiskMethod::kFilteredHistorical));
  CHECK(r->breaker_status == 1);
  CHECK(r->portfolio_value == chain::U256(123'456'789'100'000ULL));  // 8 decimals, rounded half up
  CHECK(r->value_at_risk == 52'000'000'000'000'000ULL);
  CHECK(r->expected_shortfall == 71'000'000'000'000'000ULL);
  CHECK(r->config_hash == spec().config_hash);
}

TEST_CASE("an expected shortfall below the VaR is lifted to the VaR (RiskOracle: VaR <= CVaR)") {
  // The simulator's copy sent CVaR 0.04 < VaR 0.05 and the oracle refused it (InvalidFigures).
  const auto r = build_report(spec(), update(0.05, 0.04), 1);
  REQUIRE(r);
  CHECK(r->value_at_risk == 50'000'000'000'000'000ULL);
  CHECK(r->expected_shortfall == 50'000'000'000'000'000ULL);
}

TEST_CASE("a horizon that does not fit the contract's uint32 is an error, not a wrapped number") {
  // 366 days x 200 periods = 6,324,480,000 s > 4,294,967,295. The Reporter's copy wrapped it to
  // 2,029,512,704 s and the simulator's clamped it to 4,294,967,295 s: both signed a horizon the
  // figures were not computed for.
  PortfolioSpec s = spec();
  s.period_s = 366 * 86'400;
  s.risk.horizon = 200;
  const auto r = build_report(s, update(0.05, 0.06), 1);
  REQUIRE_FALSE(r);
  CHECK(r.error().field == ReportField::kHorizon);
  CHECK(r.error().message.find("6324480000") != std::string::npos);

  s.risk.horizon = 135;  // 4,269,024,000 s: fits
  const auto fits = build_report(s, update(0.05, 0.06), 1);
  REQUIRE(fits);
  CHECK(fits->horizon == 4'269'024'000U);
}

TEST_CASE("a figure the report cannot carry is an error value naming the field, never a throw") {
  // The Reporter's copy threw UnitError out of publish (and out of the keeper's tick).
  struct Case {
    double value, var, cvar;
    ReportField field;
  };
  const Case cases[] = {
      {1e6, kNaN, 0.06, ReportField::kValueAtRisk},
      {1e6, 1.5, 1.6, ReportField::kValueAtRisk},
      {1e6, -0.01, 0.06, ReportField::kValueAtRisk},
      {1e6, 0.05, kNaN, ReportField::kExpectedShortfall},
      {1e6, 0.05, 1.2, ReportField::kExpectedShortfall},
      {-5.0, 0.05, 0.06, ReportField::kPortfolioValue},
      {1e30, 0.05, 0.06, ReportField::kPortfolioValue},  // above uint96 at 8 decimals
  };
  for (const auto& c : cases) {
    CAPTURE(c.value);
    CAPTURE(c.var);
    CAPTURE(c.cvar);
    PortfolioUpdate u = update(c.var, c.cvar);
    u.value = c.value;
    std::optional<chain::Expected<OnchainReport, ReportError>> r;
    CHECK_NOTHROW(r.emplace(build_report(spec(), u, 1)));
    REQUIRE(r);
    REQUIRE_FALSE(*r);
    CHECK(r->error().field == c.field);
    CHECK(r->error().message.find("portfolio 7") != std::string::npos);
    CHECK(r->error().message.find(to_string(c.field)) != std::string::npos);
  }
}

TEST_CASE("an observation time before 1970 is an error, not wrapped or clamped to 0") {
  // The Reporter's copy wrapped -1 to 18446744073709551615; the simulator's clamped it to 0.
  PortfolioUpdate u = update(0.05, 0.06);
  u.observed_at = -1;
  const auto r = build_report(spec(), u, 1);
  REQUIRE_FALSE(r);
  CHECK(r.error().field == ReportField::kObservedAt);
}

TEST_CASE("a confidence above 1 is an error (RiskOracle: InvalidConfidence)") {
  PortfolioSpec s = spec();
  s.risk.confidence = 1.5;
  const auto r = build_report(s, update(0.05, 0.06), 1);
  REQUIRE_FALSE(r);
  CHECK(r.error().field == ReportField::kConfidence);
}
