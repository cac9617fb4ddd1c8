// /readyz's decision: fresh prices and a recent accepted report, with the reason when not.
#include "keeper/ops/readiness.hpp"

#include <doctest/doctest.h>

using varkeeper::keeper::ReadinessPolicy;
using varkeeper::keeper::ReadinessTracker;

TEST_CASE("a keeper that has neither prices nor a publish is not ready and says both") {
  ReadinessTracker t(ReadinessPolicy{60, 600});
  const auto r = t.check(1'000);
  CHECK_FALSE(r.ready);
  CHECK(r.reason == "no fresh prices yet; no successful publish yet");
}

TEST_CASE("fresh prices and a recent publish make the keeper ready, up to the limits inclusive") {
  ReadinessTracker t(ReadinessPolicy{60, 600});
  t.prices_fresh(1'000);
  CHECK(t.check(1'000).reason == "no successful publish yet");
  t.publish_succeeded(1'000);
  CHECK(t.check(1'000).ready);
  CHECK(t.check(1'060).ready);  // exactly at the price limit
  const auto stale = t.check(1'061);
  CHECK_FALSE(stale.ready);
  CHECK(stale.reason == "prices are 61 s old (limit 60 s)");
  t.prices_fresh(1'600);
  CHECK(t.check(1'600).ready);  // the publish is exactly 600 s old
  CHECK(t.check(1'601).reason == "last successful publish 601 s ago (limit 600 s)");
}

TEST_CASE("an older time recorded after a newer one does not make the keeper look staler") {
  ReadinessTracker t(ReadinessPolicy{60, 600});
  t.prices_fresh(2'000);
  t.publish_succeeded(2'000);
  t.prices_fresh(1'000);
  t.publish_succeeded(1'000);
  CHECK(t.check(2'010).ready);
}
