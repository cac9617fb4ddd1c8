// The one Chainlink feed emulator (risk/feed_emulator.hpp) of the breaker study and the
// simulator: a round on deviation or heartbeat, none while frozen.
#include "risk/feed_emulator.hpp"

#include <doctest/doctest.h>

using namespace varkeeper::risk;

TEST_CASE("a feed opens a round on its deviation or its heartbeat, and none while frozen") {
  FeedEmulator feed{0.005, 3600, {}, false};
  // The first poll opens round 1000 of phase 1 at that price.
  RoundData r = feed.poll(1000, 100.0, false);
  CHECK(r.round_id.phase == 1);
  CHECK(r.round_id.aggregator_round == 1000);
  CHECK(r.answer == 100.0);
  CHECK(r.updated_at == 1000);
  CHECK(r.answered_in_round == r.round_id);
  // 0.4 % is inside the deviation: the same round.
  r = feed.poll(1300, 100.4, false);
  CHECK(r.round_id.aggregator_round == 1000);
  CHECK(r.answer == 100.0);
  // 0.6 % is beyond it: a new round with the new price.
  r = feed.poll(1600, 100.6, false);
  CHECK(r.round_id.aggregator_round == 1001);
  CHECK(r.answer == 100.6);
  CHECK(r.started_at == 1600);
  // No move, but the heartbeat (3600 s after the last update) elapsed.
  CHECK(feed.poll(5199, 100.6, false).round_id.aggregator_round == 1001);
  r = feed.poll(5200, 100.6, false);
  CHECK(r.round_id.aggregator_round == 1002);
  CHECK(r.updated_at == 5200);
  // Frozen: neither a 50 % move nor the heartbeat opens a round; the last one stays.
  r = feed.poll(20'000, 150.0, true);
  CHECK(r.round_id.aggregator_round == 1002);
  CHECK(r.answer == 100.6);
  // Thawed: the move opens the next round.
  CHECK(feed.poll(20'300, 150.0, false).round_id.aggregator_round == 1003);
}

TEST_CASE("a feed frozen from the start has no round yet") {
  FeedEmulator feed{0.005, 3600, {}, false};
  const RoundData r = feed.poll(1000, 100.0, true);
  CHECK_FALSE(feed.started);
  CHECK(r.updated_at == 0);
  CHECK(r.round_id.aggregator_round == 0);
}
