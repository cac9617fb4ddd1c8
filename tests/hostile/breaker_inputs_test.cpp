// Hostile input for the breaker stage (issue 5): readings straight from the chain (any roundId,
// answer, updatedAt), verdict lists with non-finite prices, and non-finite or negative VaR figures.
// Nothing may crash, overflow (scripts/test.sh runs this under ASan + UBSan) or publish a value
// that is not a finite, non-negative VaR while the breaker is on.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "risk/circuit_breaker.hpp"
#include "risk/price_checks.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::risk;

namespace {

constexpr std::int64_t kNow = 1'700'000'000;

double hostile_double(std::mt19937_64& rng) {
  static const double specials[] = {0.0,
                                    -0.0,
                                    -1.0,
                                    1e-308,
                                    5e-324,
                                    1e308,
                                    std::numeric_limits<double>::infinity(),
                                    -std::numeric_limits<double>::infinity(),
                                    std::numeric_limits<double>::quiet_NaN(),
                                    2000.0,
                                    2000.0 * (1.0 + 1e-12)};
  std::uniform_int_distribution<int> pick(0, 14);
  const int k = pick(rng);
  if (k < 11) return specials[k];
  std::uniform_real_distribution<double> u(-10.0, 10.0);
  return std::pow(10.0, u(rng)) * (k == 14 ? -1.0 : 1.0);
}

std::int64_t hostile_time(std::mt19937_64& rng) {
  static const std::int64_t specials[] = {0,
                                          1,
                                          -1,
                                          std::numeric_limits<std::int64_t>::min(),
                                          std::numeric_limits<std::int64_t>::max(),
                                          kNow,
                                          kNow + 61,
                                          kNow - 3901};
  std::uniform_int_distribution<int> pick(0, 9);
  const int k = pick(rng);
  if (k < 8) return specials[k];
  std::uniform_int_distribution<std::int64_t> near(kNow - 100'000, kNow + 100'000);
  return near(rng);
}

RoundId hostile_round(std::mt19937_64& rng) {
  std::uniform_int_distribution<std::uint64_t> any;
  return RoundId{static_cast<std::uint16_t>(any(rng) & 3),
                 any(rng) % 4 == 0 ? any(rng) : any(rng) % 8};
}

}  // namespace

TEST_CASE("source checks survive any reading and always name a verdict") {
  std::mt19937_64 rng(varkeeper::test::test_seed(5005));
  std::uniform_int_distribution<std::int64_t> hb(0, 200'000);
  for (int monitor = 0; monitor < 500; ++monitor) {
    PriceCheckConfig cfg;
    SourceMonitor m(monitor % 7 == 0 ? std::numeric_limits<std::int64_t>::max() : hb(rng), cfg);
    for (int k = 0; k < 200; ++k) {
      const RoundData r{hostile_round(rng), hostile_double(rng), hostile_time(rng),
                        hostile_time(rng), hostile_round(rng)};
      const std::int64_t now = k % 10 == 0 ? hostile_time(rng) : kNow + k;
      const SourceVerdict v = m.check(r, now);
      CHECK(static_cast<int>(v.check) <= static_cast<int>(SourceCheck::kOutlier));
      if (v.ok()) {
        CHECK(std::isfinite(v.price));
        CHECK(v.price > 0.0);
      }
    }
  }
}

TEST_CASE("asset consensus survives non-finite prices in verdicts marked ok") {
  std::mt19937_64 rng(varkeeper::test::test_seed(5005) + 1);
  std::uniform_int_distribution<int> n(0, 7);
  std::uniform_int_distribution<int> check(0, 9);
  for (int k = 0; k < 20'000; ++k) {
    std::vector<SourceVerdict> sources(static_cast<std::size_t>(n(rng)));
    for (auto& s : sources) {
      s.check = static_cast<SourceCheck>(check(rng) < 7 ? 0 : check(rng));
      s.price = hostile_double(rng);
    }
    const AssetVerdict v = check_asset(sources, PriceCheckConfig{});
    CHECK(v.sources.size() == sources.size());
    if (v.usable()) {
      CHECK(std::isfinite(v.price));
      CHECK(v.price > 0.0);
    }
  }
}

TEST_CASE("the breaker publishes a finite non-negative VaR whatever the computed figure") {
  std::mt19937_64 rng(varkeeper::test::test_seed(5005) + 2);
  std::uniform_int_distribution<int> coin(0, 3);
  for (int path = 0; path < 500; ++path) {
    BreakerConfig c;
    c.breaker.policy = static_cast<TripPolicy>(path % 3);
    CircuitBreaker b(c);
    std::int64_t t = kNow;
    for (int k = 0; k < 200; ++k) {
      t += 300;
      const double v = coin(rng) == 0 ? hostile_double(rng) : 0.05 * (1 + coin(rng));
      TripReasons faults(coin(rng) == 0 ? static_cast<std::uint32_t>(TripReason::kStalePrice) : 0u);
      const BreakerOutput out = b.step({t, v, faults});
      CHECK(std::isfinite(out.published));
      CHECK(out.published >= 0.0);
      if (!(std::isfinite(v) && v >= 0.0)) {
        CHECK(out.reasons.has(TripReason::kInvalidVar));
        CHECK(out.status == BreakerStatus::kTripped);
      }
    }
  }
}
