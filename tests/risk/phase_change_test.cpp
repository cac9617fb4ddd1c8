// A Chainlink proxy's phase change (issue 16, defect 9): EACAggregatorProxy's roundId is
// (phaseId << 64) | aggregatorRoundId; after confirmAggregator the round id jumps by 2^64 and the
// new aggregator's updatedAt may be a few seconds before the old one's last answer.
#include <doctest/doctest.h>

#include "risk/price_checks.hpp"

using namespace varkeeper::risk;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000;

RoundData round(std::uint16_t phase, std::uint64_t id, double answer, std::int64_t updated_at) {
  RoundData r;
  r.round_id = {phase, id};
  r.answered_in_round = {phase, id};
  r.answer = answer;
  r.started_at = updated_at;
  r.updated_at = updated_at;
  return r;
}

}  // namespace

TEST_CASE("a higher phase starts a new series: updatedAt stepping back is no incident") {
  SourceMonitor m(3600, PriceCheckConfig{});
  CHECK(m.check(round(1, 500, 2000.0, kT0), kT0 + 5).ok());
  // The old aggregator answered at kT0 + 30; the new one (phase 2, its own round 9) last at
  // kT0 + 25: before, "updatedAt went backwards" (candidate manipulation, breaker input).
  CHECK(m.check(round(1, 501, 2001.0, kT0 + 30), kT0 + 35).ok());
  CHECK(m.check(round(2, 9, 2001.5, kT0 + 25), kT0 + 40).ok());
  // Within the new phase the monotonic checks hold again.
  CHECK(m.check(round(2, 10, 2002.0, kT0 + 50), kT0 + 55).ok());
  CHECK(m.check(round(2, 11, 2002.0, kT0 + 45), kT0 + 60).check ==
        SourceCheck::kTimestampWentBackwards);
  CHECK(m.check(round(2, 9, 2002.0, kT0 + 70), kT0 + 75).check == SourceCheck::kRoundWentBackwards);
  // A lower phase after a higher one is a round going backwards (a replayed old aggregator).
  CHECK(m.check(round(1, 502, 2002.0, kT0 + 80), kT0 + 85).check ==
        SourceCheck::kRoundWentBackwards);
}

TEST_CASE("a new phase is still bounded by staleness and by the step bound") {
  SourceMonitor m(3600, PriceCheckConfig{});
  CHECK(m.check(round(1, 500, 2000.0, kT0), kT0).ok());
  // A new phase whose latest answer is older than the heartbeat (+ grace) is stale.
  CHECK(m.check(round(2, 1, 2000.0, kT0 - 7200), kT0 + 10).check == SourceCheck::kStale);
  // ... and one whose answer jumps beyond the step bound is a step move like any other.
  SourceMonitor n(3600, PriceCheckConfig{});
  CHECK(n.check(round(1, 500, 2000.0, kT0), kT0).ok());
  CHECK(n.check(round(2, 1, 2600.0, kT0 - 5), kT0 + 10).check == SourceCheck::kStepMoveTooLarge);
}
