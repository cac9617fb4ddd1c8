// Property tests of issue 5 over thousands of seeded random paths (VARKEEPER_TEST_SEED to vary):
//  - outside the tripped state, the published VaR never moves more than the rate limiter allows
//    (per update against the previous value, per hour against every value of the last hour);
//  - an action never fires (or resets) inside the hysteresis band, and only after the dwell;
//  - with the breaker off, the published value equals the computed value.
// The laws are restated here from the configuration, independently of the limiter's bookkeeping.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "risk/circuit_breaker.hpp"
#include "risk/smoothing.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::risk;

namespace {

constexpr int kPaths = 2000;
constexpr int kUpdates = 250;

struct RandomPath {
  std::vector<BreakerInput> inputs;
};

// A lognormal VaR walk with random volatility, jumps, irregular spacing and runs of input faults.
RandomPath random_path(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> n(0.0, 1.0);
  const double vol = 0.01 + 0.3 * u(rng);
  const double jump_p = 0.05 * u(rng);
  const double fault_p = 0.05 * u(rng);
  RandomPath p;
  std::int64_t t = 1'700'000'000;
  double v = 0.001 + 0.3 * u(rng);
  int fault_run = 0;
  for (int k = 0; k < kUpdates; ++k) {
    t += 30 + static_cast<std::int64_t>(u(rng) * 1200.0);
    v *= std::exp(vol * n(rng));
    if (u(rng) < jump_p) v *= u(rng) < 0.5 ? 4.0 : 0.25;
    v = std::clamp(v, 0.0, 0.999);
    if (u(rng) < 0.02) v = 0.0;
    if (fault_run == 0 && u(rng) < fault_p) fault_run = 1 + static_cast<int>(u(rng) * 6.0);
    TripReasons faults;
    if (fault_run > 0) {
      faults.set(u(rng) < 0.5 ? TripReason::kStalePrice : TripReason::kStepMove);
      faults.set(TripReason::kNoMajority);
      --fault_run;
    }
    p.inputs.push_back({t, v, faults});
  }
  return p;
}

BreakerConfig random_config(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  BreakerConfig c;
  const TripPolicy policies[] = {TripPolicy::kFreeze, TripPolicy::kConservative,
                                 TripPolicy::kPassThrough};
  c.breaker.policy = policies[static_cast<int>(u(rng) * 3.0) % 3];
  const std::int64_t half_lives[] = {0, 300, 900, 3600};
  c.smoothing.ema_half_life_s = half_lives[static_cast<int>(u(rng) * 4.0) % 4];
  c.smoothing.max_rise_per_update = 0.05 + u(rng);
  c.smoothing.max_fall_per_update = 0.005 + 0.1 * u(rng);
  c.smoothing.max_rise_per_hour = 0.1 + 3.0 * u(rng);
  c.smoothing.max_fall_per_hour = 0.01 + 0.3 * u(rng);
  c.breaker.var_jump_factor = 1.5 + 3.0 * u(rng);
  c.breaker.clear_s = static_cast<std::int64_t>(u(rng) * 3600.0);
  c.breaker.cooldown_s = static_cast<std::int64_t>(u(rng) * 7200.0);
  return c;
}

}  // namespace

TEST_CASE(
    "outside the tripped state the published VaR moves no more than the rate limiter allows") {
  std::mt19937_64 rng(varkeeper::test::test_seed(20'261'122));
  long checked = 0;
  long tripped = 0;
  for (int path = 0; path < kPaths; ++path) {
    const BreakerConfig c = random_config(rng);
    const RandomPath p = random_path(rng);
    CircuitBreaker b(c);
    // The published values the limiter must respect: the anchor (last value before the segment)
    // and every value of the current non-tripped segment.
    std::vector<std::pair<std::int64_t, double>> history;
    for (const auto& in : p.inputs) {
      const BreakerOutput out = b.step(in);
      if (out.status == BreakerStatus::kTripped || history.empty()) {
        history.assign(1, {in.t, out.published});
        tripped += out.status == BreakerStatus::kTripped ? 1 : 0;
        continue;
      }
      const RateBounds per_update = rate_bounds(history.back().second, false, c.smoothing);
      bool ok =
          out.published >= per_update.lower - 1e-15 && out.published <= per_update.upper + 1e-15;
      for (const auto& [s, v] : history) {
        if (in.t - s >= 3600) continue;
        const RateBounds hour = rate_bounds(v, true, c.smoothing);
        ok = ok && out.published >= hour.lower - 1e-15 && out.published <= hour.upper + 1e-15;
      }
      if (!ok) {
        CAPTURE(path);
        CAPTURE(in.t);
        CHECK(ok);
      }
      ++checked;
      history.emplace_back(in.t, out.published);
    }
  }
  // The random paths exercise both states.
  CHECK(checked > kPaths * kUpdates / 2);
  CHECK(tripped > 1000);
}

TEST_CASE("while tripped the published VaR follows the configured policy") {
  std::mt19937_64 rng(varkeeper::test::test_seed(20'261'122) + 1);
  for (int path = 0; path < kPaths; ++path) {
    BreakerConfig c = random_config(rng);
    const RandomPath p = random_path(rng);
    CircuitBreaker b(c);
    double previous = 0.0;
    double last_good = 0.0;
    BreakerStatus previous_status = BreakerStatus::kNormal;
    bool first = true;
    for (const auto& in : p.inputs) {
      const BreakerOutput out = b.step(in);
      // A faulty first update trips on its own figure, which is then the last good value.
      if (first) last_good = out.published;
      if (!first && out.status == BreakerStatus::kTripped) {
        if (previous_status != BreakerStatus::kTripped) last_good = previous;
        double expected = in.computed_var;
        if (c.breaker.policy == TripPolicy::kFreeze) expected = last_good;
        if (c.breaker.policy == TripPolicy::kConservative) {
          expected = std::max(last_good, in.computed_var);
        }
        if (out.published != expected) {
          CAPTURE(path);
          CHECK(out.published == expected);
        }
      }
      first = false;
      previous = out.published;
      previous_status = out.status;
    }
  }
}

TEST_CASE("an action never fires or resets inside the hysteresis band, and only after the dwell") {
  std::mt19937_64 rng(varkeeper::test::test_seed(20'261'122) + 2);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  long fired = 0;
  long reset = 0;
  for (int path = 0; path < kPaths; ++path) {
    const double lower = 0.02 + 0.2 * u(rng);
    const HysteresisConfig h{lower + 0.1 * u(rng), lower,
                             static_cast<std::int64_t>(u(rng) * 3600.0)};
    HysteresisTrigger trigger(h);
    std::int64_t t = 0;
    double v = lower;
    std::vector<std::pair<std::int64_t, double>> values;
    bool active = false;
    for (int k = 0; k < kUpdates; ++k) {
      t += 30 + static_cast<std::int64_t>(u(rng) * 900.0);
      v = std::max(0.0, v + 0.03 * (u(rng) - 0.5));
      values.emplace_back(t, v);
      const ActionEdge e = trigger.update(t, v);
      const bool inside = v > h.lower && v < h.upper;
      bool ok = !(inside && e != ActionEdge::kNone);
      if (e != ActionEdge::kNone) {
        // Every value from the dwell's start to now is beyond the band on the right side, and the
        // run of such values began at least min_dwell_s ago.
        const bool firing = e == ActionEdge::kFired;
        ok = ok && firing == !active;
        std::size_t i = values.size();
        while (i > 0 &&
               (firing ? values[i - 1].second >= h.upper : values[i - 1].second <= h.lower)) {
          --i;
        }
        ok = ok && i < values.size() && t - values[i].first >= h.min_dwell_s;
        active = firing;
        (firing ? fired : reset) += 1;
      }
      if (!ok) {
        CAPTURE(path);
        CAPTURE(t);
        CHECK(ok);
      }
    }
  }
  CHECK(fired > 1000);
  CHECK(reset > 500);
}

TEST_CASE("with the breaker off the published VaR equals the computed VaR on every path") {
  std::mt19937_64 rng(varkeeper::test::test_seed(20'261'122) + 3);
  for (int path = 0; path < kPaths; ++path) {
    BreakerConfig c = random_config(rng);
    c.enabled = false;
    const RandomPath p = random_path(rng);
    CircuitBreaker b(c);
    for (const auto& in : p.inputs) {
      const BreakerOutput out = b.step(in);
      if (out.published != in.computed_var || out.status != BreakerStatus::kNormal) {
        CAPTURE(path);
        CHECK(out.published == in.computed_var);
        CHECK(out.status == BreakerStatus::kNormal);
      }
    }
  }
}
