// The circuit breaker's state machine (issue 5 item 2): transitions at the times the configuration
// implies, the three tripped policies, the VaR-jump trigger, the on-chain status values, and the
// switch that turns the whole stage into a pass-through.
#include "risk/circuit_breaker.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <optional>
#include <string>

#include "risk/breaker_config.hpp"
#include "risk/signal_var.hpp"

using namespace varkeeper::risk;

namespace {

TripReasons stale() {
  TripReasons r;
  r.set(TripReason::kStalePrice);
  r.set(TripReason::kNoMajority);
  return r;
}

BreakerConfig no_smoothing(TripPolicy policy) {
  BreakerConfig c;
  c.smoothing.enabled = false;
  c.breaker.policy = policy;
  return c;
}

}  // namespace

TEST_CASE("the breaker status values are the on-chain uint8 codes") {
  static_assert(sizeof(BreakerStatus) == 1);
  CHECK(static_cast<int>(BreakerStatus::kNormal) == 0);
  CHECK(static_cast<int>(BreakerStatus::kTripped) == 1);
  CHECK(static_cast<int>(BreakerStatus::kCooldown) == 2);
  CHECK(std::string(to_string(BreakerStatus::kCooldown)) == "cooldown");
}

TEST_CASE("an input fault trips, clear_s without one starts cooldown, cooldown_s ends it") {
  // clear_s 900, cooldown_s 3600; updates every 300 s; faults at t = 300 and 600.
  CircuitBreaker b(no_smoothing(TripPolicy::kFreeze));
  CHECK(b.step({0, 0.05, {}}).status == BreakerStatus::kNormal);
  auto out = b.step({300, 0.07, stale()});
  CHECK(out.status == BreakerStatus::kTripped);
  CHECK(out.status_changed);
  CHECK(out.published == 0.05);  // freeze: the last good value
  CHECK(b.step({600, 0.08, stale()}).published == 0.05);
  // Last trigger at 600: tripped while t - 600 < 900.
  CHECK(b.step({900, 0.06, {}}).status == BreakerStatus::kTripped);
  CHECK(b.step({1200, 0.06, {}}).status == BreakerStatus::kTripped);
  out = b.step({1500, 0.06, {}});
  CHECK(out.status == BreakerStatus::kCooldown);
  CHECK(out.published == 0.06);  // no smoothing: the computed value outside tripped
  for (std::int64_t t = 1800; t < 5100; t += 300) {
    CAPTURE(t);
    CHECK(b.step({t, 0.06, {}}).status == BreakerStatus::kCooldown);
  }
  out = b.step({5100, 0.06, {}});  // 5100 - 1500 = 3600
  CHECK(out.status == BreakerStatus::kNormal);
  CHECK(out.status_changed);
}

TEST_CASE("a trigger during cooldown trips again") {
  CircuitBreaker b(no_smoothing(TripPolicy::kFreeze));
  b.step({0, 0.05, {}});
  b.step({300, 0.05, stale()});
  REQUIRE(b.step({1200, 0.05, {}}).status == BreakerStatus::kCooldown);
  const auto out = b.step({1500, 0.05, stale()});
  CHECK(out.status == BreakerStatus::kTripped);
  CHECK(out.status_changed);
}

TEST_CASE("tripped policies: freeze, conservative and pass-through") {
  struct Row {
    TripPolicy policy;
    double computed;
    double expected;
  };
  // Last good 0.05 (published before the trip).
  const Row rows[] = {
      {TripPolicy::kFreeze, 0.08, 0.05},       {TripPolicy::kFreeze, 0.03, 0.05},
      {TripPolicy::kConservative, 0.08, 0.08}, {TripPolicy::kConservative, 0.03, 0.05},
      {TripPolicy::kPassThrough, 0.08, 0.08},  {TripPolicy::kPassThrough, 0.03, 0.03},
  };
  for (const auto& row : rows) {
    CAPTURE(to_string(row.policy));
    CAPTURE(row.computed);
    CircuitBreaker b(no_smoothing(row.policy));
    b.step({0, 0.05, {}});
    const auto out = b.step({300, row.computed, stale()});
    CHECK(out.status == BreakerStatus::kTripped);
    CHECK(out.published == row.expected);
    CHECK(b.last_good() == 0.05);
  }
}

TEST_CASE("a VaR jump beyond the factor of the last published value trips") {
  // var_jump_factor 2, var_jump_min_abs 0.01.
  struct Row {
    double published;
    double computed;
    bool trips;
  };
  const Row rows[] = {
      {0.05, 0.1001, true},   // > 2x and +0.0501
      {0.05, 0.10, false},    // exactly 2x is not beyond
      {0.005, 0.012, false},  // > 2x but only +0.007 <= 0.01
      {0.05, 0.0249, true},   // below half and -0.0251
      {0.05, 0.03, false},
  };
  for (const auto& row : rows) {
    CAPTURE(row.published);
    CAPTURE(row.computed);
    CircuitBreaker b(no_smoothing(TripPolicy::kConservative));
    b.step({0, row.published, {}});
    const auto out = b.step({300, row.computed, {}});
    CHECK((out.status == BreakerStatus::kTripped) == row.trips);
    CHECK(out.reasons.has(TripReason::kVarJump) == row.trips);
  }
}

TEST_CASE("while tripped the jump reference is the computed VaR at the trip") {
  CircuitBreaker b(no_smoothing(TripPolicy::kConservative));
  b.step({0, 0.05, {}});
  REQUIRE(b.step({300, 0.12, {}}).reasons.has(TripReason::kVarJump));
  // 0.2 < 2 * 0.12: no new trigger; the trip clears 900 s after the jump.
  CHECK_FALSE(b.step({600, 0.20, {}}).reasons.any());
  CHECK(b.step({1200, 0.20, {}}).status == BreakerStatus::kCooldown);
  // In cooldown the reference is still 0.12: 0.24 is not beyond 2 * 0.12, 0.2401 is.
  CHECK(b.step({1500, 0.24, {}}).status == BreakerStatus::kCooldown);
  CHECK(b.step({1800, 0.2401, {}}).status == BreakerStatus::kTripped);
}

TEST_CASE("outside the tripped state the smoother shapes the published value") {
  BreakerConfig c;  // EMA half-life 900 s, rise cap 50 % per update
  c.breaker.var_jump_factor = 100.0;
  CircuitBreaker b(c);
  b.step({0, 0.10, {}});
  // EMA after one half-life: 0.10 + 0.5 * (0.12 - 0.10) = 0.11, inside the caps.
  const auto out = b.step({900, 0.12, {}});
  CHECK(out.smoothed == doctest::Approx(0.11).epsilon(1e-14));
  CHECK(out.published == doctest::Approx(0.11).epsilon(1e-14));
  // Falling: EMA 0.11 -> 0.075 after one half-life, but at most -2 % per update: 0.1078.
  CHECK(b.step({1800, 0.04, {}}).published == doctest::Approx(0.11 * 0.98).epsilon(1e-14));
}

TEST_CASE("with the breaker off the published value is the computed value") {
  BreakerConfig c;
  c.enabled = false;
  CircuitBreaker b(c);
  struct Row {
    std::int64_t t;
    double computed;
    bool faulty;
  };
  const Row rows[] = {{0, 0.05, false}, {300, 0.50, true}, {600, 0.001, false}, {900, 0.3, true}};
  for (const auto& row : rows) {
    const auto out = b.step({row.t, row.computed, row.faulty ? stale() : TripReasons{}});
    CHECK(out.status == BreakerStatus::kNormal);
    CHECK(out.published == row.computed);
  }
}

TEST_CASE("a faulty first update starts tripped on its own figure") {
  CircuitBreaker b(BreakerConfig{});
  const auto out = b.step({0, 0.07, stale()});
  CHECK(out.status == BreakerStatus::kTripped);
  CHECK(out.published == 0.07);
}

TEST_CASE("the default configuration is valid and each bad field is named") {
  CHECK_FALSE(validate(BreakerConfig{}).has_value());
  struct Row {
    void (*mutate)(BreakerConfig&);
    const char* message;
  };
  const Row rows[] = {
      {[](BreakerConfig& c) { c.breaker.var_jump_factor = 1.0; },
       "breaker.var_jump_factor must be > 1"},
      {[](BreakerConfig& c) { c.checks.max_disagreement = 0.0; },
       "checks.max_disagreement must be in (0, 1)"},
      {[](BreakerConfig& c) { c.smoothing.max_fall_per_update = 1.0; },
       "smoothing.max_fall_per_update must be in (0, 1)"},
      {[](BreakerConfig& c) { c.checks.heartbeat_grace_s = -1; },
       "checks.heartbeat_grace_s must be >= 0"},
      {[](BreakerConfig& c) { c.actions.rebalance.lower = 0.2; },
       "actions.rebalance.lower must be >= 0 and <= actions.rebalance.upper"},
      {[](BreakerConfig& c) { c.actions.payout.min_dwell_s = -1; },
       "actions.payout.min_dwell_s must be >= 0"},
  };
  for (const auto& row : rows) {
    BreakerConfig c;
    row.mutate(c);
    const auto e = validate(c);
    REQUIRE(e.has_value());
    CHECK(*e == row.message);
  }
}

TEST_CASE("trip policies round-trip through their config names") {
  for (auto p : {TripPolicy::kFreeze, TripPolicy::kConservative, TripPolicy::kPassThrough}) {
    CHECK(parse_trip_policy(to_string(p)) == p);
  }
  CHECK_FALSE(parse_trip_policy("Freeze").has_value());
}

TEST_CASE("normal quantiles match the published table values") {
  // Abramowitz & Stegun table 26.5 / NIST: z_0.95, z_0.975, z_0.99, z_0.999.
  CHECK(signal_normal_quantile(0.95) == doctest::Approx(1.6448536269514722).epsilon(1e-13));
  CHECK(signal_normal_quantile(0.975) == doctest::Approx(1.959963984540054).epsilon(1e-13));
  CHECK(signal_normal_quantile(0.99) == doctest::Approx(2.3263478740408408).epsilon(1e-13));
  CHECK(signal_normal_quantile(0.999) == doctest::Approx(3.090232306167813).epsilon(1e-13));
}

TEST_CASE("the signal VaR follows the EWMA recursion in closed form") {
  // Prior daily vol 2 %; returns of +1 % every 3600 s with a 7200 s half-life:
  // s_n = L^n s_0 + (1 - L^n) r^2 / dt with L = 2^(-1/2); VaR = 1 - exp(-z sqrt(s_n * 86400)).
  SignalVarConfig cfg;
  cfg.variance_half_life_s = 7200;
  cfg.initial_daily_vol = 0.02;
  EwmaNormalVar m(cfg);
  const double z = 2.3263478740408408;
  CHECK(m.update(0, 100.0) == doctest::Approx(1.0 - std::exp(-z * 0.02)).epsilon(1e-12));
  double p = 100.0;
  const double r = std::log(1.01);
  const double s0 = 0.02 * 0.02 / 86400.0;
  for (int n = 1; n <= 5; ++n) {
    p *= 1.01;
    const double v = m.update(3600 * n, p);
    const double ln = std::pow(2.0, -0.5 * n);
    const double s = ln * s0 + (1.0 - ln) * r * r / 3600.0;
    CAPTURE(n);
    CHECK(v == doctest::Approx(1.0 - std::exp(-z * std::sqrt(s * 86400.0))).epsilon(1e-12));
  }
}

TEST_CASE("a non-finite or negative computed VaR trips and is replaced by the last published") {
  CircuitBreaker b(no_smoothing(TripPolicy::kPassThrough));
  b.step({0, 0.05, {}});
  for (double bad : {std::nan(""), -0.01, HUGE_VAL}) {
    CAPTURE(bad);
    const auto out = b.step({300, bad, {}});
    CHECK(out.status == BreakerStatus::kTripped);
    CHECK(out.reasons.has(TripReason::kInvalidVar));
    CHECK(out.published == 0.05);
  }
  CHECK(describe(TripReasons(static_cast<std::uint32_t>(TripReason::kInvalidVar))) ==
        "invalid-var");
}
