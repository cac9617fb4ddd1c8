// Input checks of issue 5 item 1: every per-source failure is named, the MAD outlier rule and the
// majority rule are checked on hand-computed examples.
#include "risk/price_checks.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "risk/circuit_breaker.hpp"

using namespace varkeeper::risk;

namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::int64_t kHeartbeat = 3600;

RoundData reading(std::uint64_t round, double answer, std::int64_t updated_at,
                  std::uint16_t phase = 1) {
  const RoundId id{phase, round};
  return RoundData{id, answer, updated_at, updated_at, id};
}

SourceVerdict ok(double p) { return {SourceCheck::kOk, p}; }
SourceVerdict failed(SourceCheck c, double p) { return {c, p}; }

}  // namespace

TEST_CASE("a fresh positive reading passes and becomes the step reference") {
  SourceMonitor m(kHeartbeat, PriceCheckConfig{});
  const auto v = m.check(reading(10, 2000.0, kNow - 60), kNow);
  CHECK(v.check == SourceCheck::kOk);
  CHECK(v.price == 2000.0);
  REQUIRE(m.reference_price().has_value());
  CHECK(*m.reference_price() == 2000.0);
}

TEST_CASE("each malformed reading is refused with its own reason") {
  const PriceCheckConfig cfg;  // grace 300 s, future skew 60 s
  struct Row {
    const char* what;
    RoundData r;
    SourceCheck expected;
  };
  RoundData carried = reading(11, 2000.0, kNow - 10);
  carried.answered_in_round = RoundId{1, 10};
  const Row rows[] = {
      {"zero answer", reading(10, 0.0, kNow), SourceCheck::kNonPositive},
      {"negative answer", reading(10, -1.0, kNow), SourceCheck::kNonPositive},
      {"NaN answer", reading(10, std::numeric_limits<double>::quiet_NaN(), kNow),
       SourceCheck::kNonPositive},
      {"unanswered round", reading(10, 2000.0, 0), SourceCheck::kIncompleteRound},
      {"61 s in the future", reading(10, 2000.0, kNow + 61), SourceCheck::kFutureTimestamp},
      {"60 s in the future is clock skew", reading(10, 2000.0, kNow + 60), SourceCheck::kOk},
      {"age = heartbeat + grace", reading(10, 2000.0, kNow - 3900), SourceCheck::kOk},
      {"age = heartbeat + grace + 1", reading(10, 2000.0, kNow - 3901), SourceCheck::kStale},
      {"answeredInRound < roundId", carried, SourceCheck::kAnsweredInStaleRound},
  };
  for (const auto& row : rows) {
    CAPTURE(row.what);
    SourceMonitor m(kHeartbeat, cfg);
    CHECK(m.check(row.r, kNow).check == row.expected);
  }
}

TEST_CASE("a round or timestamp going backwards is refused, a new phase counts as later") {
  SourceMonitor m(kHeartbeat, PriceCheckConfig{});
  REQUIRE(m.check(reading(500, 2000.0, kNow - 100), kNow).ok());
  CHECK(m.check(reading(499, 2000.0, kNow - 50), kNow).check == SourceCheck::kRoundWentBackwards);
  CHECK(m.check(reading(501, 2000.0, kNow - 200), kNow).check ==
        SourceCheck::kTimestampWentBackwards);
  // roundId = (phaseId << 64) | aggregatorRoundId: phase 2 round 1 follows phase 1 round 500.
  CHECK(m.check(reading(1, 2000.0, kNow - 10, 2), kNow).ok());
}

TEST_CASE("a single-step move beyond the bound is refused until it has persisted") {
  PriceCheckConfig cfg;  // max_step_move 0.20, step_confirm_s 1800
  SourceMonitor m(kHeartbeat, cfg);
  REQUIRE(m.check(reading(1, 100.0, kNow), kNow).ok());
  // Exactly 20 % is within the bound (|p / p_ref - 1| <= 0.20).
  CHECK(m.check(reading(2, 120.0, kNow + 300), kNow + 300).ok());
  // 120 -> 60 is -50 %: refused at first sight and for less than 1800 s after.
  CHECK(m.check(reading(3, 60.0, kNow + 600), kNow + 600).check == SourceCheck::kStepMoveTooLarge);
  CHECK(m.check(reading(3, 60.0, kNow + 600), kNow + 2100).check == SourceCheck::kStepMoveTooLarge);
  CHECK(*m.reference_price() == 120.0);
  // 1800 s after it was first seen, the new level is accepted as real.
  CHECK(m.check(reading(4, 61.0, kNow + 2400), kNow + 2400).ok());
  CHECK(*m.reference_price() == 61.0);
}

TEST_CASE("a reverted spike never becomes the step reference") {
  SourceMonitor m(kHeartbeat, PriceCheckConfig{});
  REQUIRE(m.check(reading(1, 100.0, kNow), kNow).ok());
  CHECK_FALSE(m.check(reading(2, 65.0, kNow + 300), kNow + 300).ok());
  CHECK(m.check(reading(3, 97.0, kNow + 600), kNow + 600).ok());
  CHECK(*m.reference_price() == 97.0);
  // The pending clock restarted: a new spike is refused again.
  CHECK_FALSE(m.check(reading(4, 65.0, kNow + 2700), kNow + 2700).ok());
}

TEST_CASE("median of odd and even counts") {
  CHECK(median_of({3.0, 1.0, 2.0}) == 2.0);
  CHECK(median_of({100.0, 102.0}) == 101.0);
  CHECK(median_of({5.0}) == 5.0);
}

TEST_CASE("one manipulated source of three is dropped by the MAD rule") {
  // m = 101, |p - m| = {1, 0, 49}, MAD = 1: 49 > 3 * 1.4826 * 1 and 49 > 0.02 * 101.
  const std::vector<SourceVerdict> s{ok(100.0), ok(101.0), ok(150.0)};
  const AssetVerdict v = check_asset(s, PriceCheckConfig{});
  REQUIRE(v.usable());
  CHECK(v.price == 100.5);  // median of the two kept
  CHECK(v.sources[2].check == SourceCheck::kOutlier);
  CHECK(v.any_incident());
  CHECK_FALSE(trip_reasons(v).any());  // the median protected the figure: incident, no trip
}

TEST_CASE("a small spread is not an outlier even when the MAD is zero") {
  // MAD = 0, but |100.5 - 100| = 0.5 <= 0.02 * 100: kept.
  const std::vector<SourceVerdict> s{ok(100.0), ok(100.0), ok(100.5)};
  const AssetVerdict v = check_asset(s, PriceCheckConfig{});
  REQUIRE(v.usable());
  CHECK(v.price == 100.0);
  CHECK_FALSE(v.any_incident());
}

TEST_CASE("sources split without a clear outlier make the asset unusable") {
  // m = 110, MAD = 10, robust bound 44.478: nobody is an outlier, but 10 > 0.02 * 110.
  const std::vector<SourceVerdict> s{ok(100.0), ok(110.0), ok(120.0)};
  const AssetVerdict v = check_asset(s, PriceCheckConfig{});
  CHECK(v.check == AssetCheck::kDisagreement);
  CHECK(trip_reasons(v).has(TripReason::kSourceDisagreement));
}

TEST_CASE("without a strict majority of healthy sources the asset is unusable") {
  const PriceCheckConfig cfg;
  SUBCASE("two of three stale") {
    const std::vector<SourceVerdict> s{ok(100.0), failed(SourceCheck::kStale, 100.0),
                                       failed(SourceCheck::kStale, 100.0)};
    const AssetVerdict v = check_asset(s, cfg);
    CHECK(v.check == AssetCheck::kNoMajority);
    const TripReasons r = trip_reasons(v);
    CHECK(r.has(TripReason::kNoMajority));
    CHECK(r.has(TripReason::kStalePrice));
    CHECK(describe(r) == "stale+no-majority");
  }
  SUBCASE("one stale and one outlier of three") {
    const std::vector<SourceVerdict> s{ok(100.0), failed(SourceCheck::kStale, 100.0), ok(150.0)};
    // Two passed: m = 125, MAD = 25, robust bound 111.2: 150 is kept, but 25 > 0.02 * 125.
    CHECK(check_asset(s, cfg).check == AssetCheck::kDisagreement);
  }
  SUBCASE("two of four is not a majority") {
    const std::vector<SourceVerdict> s{ok(100.0), ok(100.0), failed(SourceCheck::kStale, 100.0),
                                       failed(SourceCheck::kNonPositive, 0.0)};
    CHECK(check_asset(s, cfg).check == AssetCheck::kNoMajority);
  }
  SUBCASE("one stale of three leaves a majority") {
    const std::vector<SourceVerdict> s{ok(100.0), ok(100.2), failed(SourceCheck::kStale, 90.0)};
    const AssetVerdict v = check_asset(s, cfg);
    REQUIRE(v.usable());
    CHECK(v.price == doctest::Approx(100.1).epsilon(1e-15));
  }
}

TEST_CASE("extreme updatedAt values from the chain are judged without overflow") {
  SourceMonitor m(kHeartbeat, PriceCheckConfig{});
  CHECK(m.check(reading(1, 2000.0, std::numeric_limits<std::int64_t>::max()), kNow).check ==
        SourceCheck::kFutureTimestamp);
  CHECK(m.check(reading(1, 2000.0, std::numeric_limits<std::int64_t>::min()), kNow).check ==
        SourceCheck::kStale);
  SourceMonitor n(std::numeric_limits<std::int64_t>::max(), PriceCheckConfig{});
  CHECK(n.check(reading(1, 2000.0, 1), kNow).ok());  // heartbeat + grace saturates, not wraps
}

TEST_CASE("the median of two huge prices does not overflow") {
  CHECK(median_of({1e308, 1.5e308}) == 1.25e308);
}
