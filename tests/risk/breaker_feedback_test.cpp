// The feedback-loop scenario of issue 5 item 4: the loop's structural properties (open loop
// unaffected by the breaker, deterministic, the vault's sales deepen the drawdown). The AMM's
// arithmetic is tested in constant_product_amm_test.cpp.
#include "risk/feedback_loop.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace varkeeper::risk;

TEST_CASE("without the vault the breaker cannot change the market path") {
  FeedbackConfig loop;
  loop.rebalancer = false;
  BreakerConfig off;
  off.enabled = false;
  const FeedbackResult a = run_feedback_loop(loop, off);
  const FeedbackResult b = run_feedback_loop(loop, BreakerConfig{});
  REQUIRE(a.path.size() == b.path.size());
  for (std::size_t k = 0; k < a.path.size(); ++k) {
    CHECK(a.path[k].amm_price == b.path[k].amm_price);
    CHECK(a.path[k].computed_var == b.path[k].computed_var);
  }
  CHECK(a.max_drawdown == b.max_drawdown);
  CHECK(a.trades == 0);
  // The scripted -10 % jump alone is a drawdown of at least 10 %.
  CHECK(a.max_drawdown >= 0.10);
}

TEST_CASE("the loop is deterministic and the vault's sales deepen the drawdown") {
  FeedbackConfig loop;
  BreakerConfig raw;
  raw.enabled = false;
  raw.actions.rebalance = HysteresisConfig{0.12, 0.12, 0};
  const FeedbackResult a = run_feedback_loop(loop, raw);
  const FeedbackResult b = run_feedback_loop(loop, raw);
  CHECK(a.max_drawdown == b.max_drawdown);
  CHECK(a.peak_computed_var == b.peak_computed_var);
  loop.rebalancer = false;
  const FeedbackResult open = run_feedback_loop(loop, raw);
  CHECK(a.trades > 0);
  CHECK(a.max_drawdown > open.max_drawdown);
  CHECK(a.max_discount > 0.0);
  CHECK(open.max_discount == doctest::Approx(0.0).epsilon(1e-12));
}

TEST_CASE("each vault trade moves the AMM price by at most the impact cap") {
  FeedbackConfig loop;
  BreakerConfig raw;
  raw.enabled = false;
  raw.actions.rebalance = HysteresisConfig{0.12, 0.12, 0};
  const FeedbackResult r = run_feedback_loop(loop, raw);
  // Between two points the price moves by the market's own step, arbitrage and one trade; the
  // trade's share is bounded, so the excess over the fair price's move is bounded too:
  // |ln(amm_k / amm_{k-1}) - ln(fair_k / fair_{k-1})| <= |gap decay| + ln(1 / (1 - cap)).
  for (std::size_t k = 1; k < r.path.size(); ++k) {
    const auto& p = r.path[k - 1];
    const auto& q = r.path[k];
    const double gap_before = std::log(p.amm_price / p.fair);
    const double excess = std::log(q.amm_price / p.amm_price) - std::log(q.fair / p.fair);
    const double bound =
        loop.arb_speed * std::fabs(gap_before) - std::log(1.0 - loop.max_price_impact) + 1e-12;
    CAPTURE(k);
    CHECK(std::fabs(excess) <= bound);
  }
}
