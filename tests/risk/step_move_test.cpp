// confirm_step_moves (risk/price_checks.hpp, issue 16 defect 8): a step move is confirmed by the
// sibling sources that moved with it in the same tick, never by a lone source.
#include <doctest/doctest.h>

#include <vector>

#include "risk/price_checks.hpp"

using namespace varkeeper::risk;

namespace {

SourceVerdict stepped(double price) { return {SourceCheck::kStepMoveTooLarge, price, true}; }
SourceVerdict ok(double price) { return {SourceCheck::kOk, price, false}; }

}  // namespace

TEST_CASE("every source stepping to the same price is a confirmed market move") {
  const PriceCheckConfig config;
  std::vector<SourceVerdict> v{stepped(61.0), stepped(61.2), stepped(60.9)};
  CHECK(confirm_step_moves(v, config) == 3);
  for (const auto& s : v) {
    CHECK(s.ok());
    CHECK(s.step_move);
  }
  const auto asset = check_asset(v, config);
  CHECK(asset.usable());
  CHECK(asset.market_move);
  CHECK(asset.price == doctest::Approx(61.0));
}

TEST_CASE("a lone source stepping is not confirmed, whatever the others say") {
  const PriceCheckConfig config;
  std::vector<SourceVerdict> v{ok(100.0), stepped(130.0), ok(100.1)};
  CHECK(confirm_step_moves(v, config) == 0);
  CHECK(v[1].check == SourceCheck::kStepMoveTooLarge);
  const auto asset = check_asset(v, config);
  CHECK(asset.usable());
  CHECK_FALSE(asset.market_move);
  CHECK(asset.price == doctest::Approx(100.05));
}

TEST_CASE("two of three stepping together confirm; two stepping apart do not") {
  const PriceCheckConfig config;
  std::vector<SourceVerdict> together{stepped(70.0), stepped(70.5), ok(100.0)};
  CHECK(confirm_step_moves(together, config) == 2);
  CHECK(together[0].ok());
  CHECK(together[1].ok());
  // 70 and 130 (both beyond 20 % from 100) agree with nothing: no majority within 2 %.
  std::vector<SourceVerdict> apart{stepped(70.0), stepped(130.0), ok(100.0)};
  CHECK(confirm_step_moves(apart, config) == 0);
  CHECK(apart[0].check == SourceCheck::kStepMoveTooLarge);
  CHECK(apart[1].check == SourceCheck::kStepMoveTooLarge);
  // Of five sources, two stepping together are no majority.
  std::vector<SourceVerdict> five{stepped(70.0), stepped(70.1), ok(100.0), ok(100.2),
                                  SourceVerdict{SourceCheck::kStale, 100.0, false}};
  CHECK(confirm_step_moves(five, config) == 0);
}
