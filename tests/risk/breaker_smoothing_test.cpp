// Smoothing of issue 5 item 3, against closed forms: alpha = 1 - 2^(-dt/H); the rate limiter's
// sequence derived by hand from its caps; the hysteresis dwell rule.
#include "risk/smoothing.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace varkeeper::risk;

TEST_CASE("EMA alpha is one minus two to the minus elapsed over half-life") {
  CHECK(half_life_alpha(900, 900) == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(half_life_alpha(1800, 900) == doctest::Approx(0.75).epsilon(1e-15));
  CHECK(half_life_alpha(300, 900) == doctest::Approx(1.0 - std::pow(2.0, -1.0 / 3.0)));
  CHECK(half_life_alpha(0, 900) == 0.0);
  CHECK(half_life_alpha(-5, 900) == 0.0);
  CHECK(half_life_alpha(300, 0) == 1.0);
}

TEST_CASE("EMA covers half the distance to a constant input in one half-life") {
  Ema ema(900);
  CHECK(ema.update(0, 0.0) == 0.0);
  CHECK(ema.update(900, 1.0) == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(ema.update(1800, 1.0) == doctest::Approx(0.75).epsilon(1e-15));
}

TEST_CASE("EMA does not depend on how a constant input is sampled") {
  // (1 - a(dt1)) (1 - a(dt2)) = 2^-(dt1 + dt2)/H: three uneven updates equal one.
  Ema a(600);
  Ema b(600);
  a.update(0, 0.2);
  b.update(0, 0.2);
  a.update(100, 0.05);
  a.update(350, 0.05);
  const double three = a.update(1000, 0.05);
  const double one = b.update(1000, 0.05);
  CHECK(three == doctest::Approx(one).epsilon(1e-14));
  CHECK(one == doctest::Approx(0.05 + 0.15 * std::pow(2.0, -1000.0 / 600.0)).epsilon(1e-14));
}

TEST_CASE("the rate limiter lets risk fall by 2 % per update and 10 % per hour") {
  // Defaults: fall caps 0.02 per update, 0.10 per hour; updates every 300 s, target 0.
  // v_k = max(0.98 v_{k-1}, 0.9 max{v_s : t_k - t_s < 3600}); falling, the max is the oldest:
  //   k <= 5: 0.1 * 0.98^k (0.98^5 = 0.9039 > 0.9);  6 <= k <= 11: 0.09 (v_0 still < 1 h old);
  //   k = 12: max(0.98 * 0.09, 0.9 * v_1) = 0.0882.
  RateLimiter lim(SmoothingConfig{});
  lim.reset(0, 0.10);
  for (int k = 1; k <= 12; ++k) {
    const double v = lim.apply(300 * k, 0.0);
    CAPTURE(k);
    if (k <= 5) {
      CHECK(v == doctest::Approx(0.1 * std::pow(0.98, k)).epsilon(1e-14));
    } else if (k <= 11) {
      CHECK(v == doctest::Approx(0.09).epsilon(1e-14));
    } else {
      CHECK(v == doctest::Approx(0.0882).epsilon(1e-14));
    }
  }
}

TEST_CASE("the rate limiter lets risk rise by 50 % per update and 200 % per hour") {
  // From 0.02 toward 1.0: 0.03, 0.045, then the hourly cap 3 * v_0 = 0.06 until v_0 is an hour
  // old (k = 12), when 3 * v_1 = 0.09 = 1.5 * 0.06.
  RateLimiter lim(SmoothingConfig{});
  lim.reset(0, 0.02);
  const double expected[] = {0.03, 0.045, 0.06, 0.06, 0.06, 0.06,
                             0.06, 0.06,  0.06, 0.06, 0.06, 0.09};
  for (int k = 1; k <= 12; ++k) {
    CAPTURE(k);
    CHECK(lim.apply(300 * k, 1.0) == doctest::Approx(expected[k - 1]).epsilon(1e-14));
  }
}

TEST_CASE("the rate limiter passes a target inside its caps unchanged") {
  RateLimiter lim(SmoothingConfig{});
  lim.reset(0, 0.10);
  CHECK(lim.apply(300, 0.099) == 0.099);
  CHECK(lim.apply(600, 0.12) == 0.12);
}

TEST_CASE("the rate limiter's caps are relative to the floor near zero") {
  // From 0 with var_floor 0.001: +0.5 * 0.001 per update.
  RateLimiter lim(SmoothingConfig{});
  lim.reset(0, 0.0);
  CHECK(lim.apply(300, 1.0) == doctest::Approx(0.0005).epsilon(1e-15));
  const RateBounds b = rate_bounds(0.0, false, SmoothingConfig{});
  CHECK(b.upper == doctest::Approx(0.0005).epsilon(1e-15));
  CHECK(b.lower == doctest::Approx(-0.00002).epsilon(1e-15));
}

TEST_CASE("an action fires only after the value stayed above the upper band for the dwell") {
  HysteresisTrigger h(HysteresisConfig{0.12, 0.09, 900});
  CHECK(h.update(0, 0.13) == ActionEdge::kNone);
  CHECK(h.update(300, 0.125) == ActionEdge::kNone);
  CHECK(h.update(600, 0.11) == ActionEdge::kNone);  // back inside the band: dwell restarts
  CHECK(h.update(900, 0.12) == ActionEdge::kNone);  // >= upper counts; dwell from 900
  CHECK(h.update(1500, 0.20) == ActionEdge::kNone);
  CHECK(h.update(1800, 0.20) == ActionEdge::kFired);  // 1800 - 900 >= 900
  CHECK(h.active());
  CHECK(h.update(2100, 0.10) == ActionEdge::kNone);  // inside the band: stays active
  CHECK(h.update(2400, 0.09) == ActionEdge::kNone);  // <= lower: dwell from 2400
  CHECK(h.update(3000, 0.05) == ActionEdge::kNone);
  CHECK(h.update(3300, 0.05) == ActionEdge::kReset);
  CHECK_FALSE(h.active());
}

TEST_CASE("with no dwell an action fires at the first update at or above the upper band") {
  HysteresisTrigger h(HysteresisConfig{0.12, 0.12, 0});
  CHECK(h.update(0, 0.1199) == ActionEdge::kNone);
  CHECK(h.update(300, 0.12) == ActionEdge::kFired);
  CHECK(h.update(600, 0.1201) == ActionEdge::kNone);
  CHECK(h.update(900, 0.12) == ActionEdge::kReset);
}
