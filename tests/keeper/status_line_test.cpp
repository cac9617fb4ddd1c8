// Issue 19, the terminal view: the default tick line is short (<= 160 characters for the embedded
// default's two portfolios), details are behind --verbose, refusals read in human units, and
// every publish decision that is not sent says why.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "chain/abi.hpp"
#include "keeper/core/contract_errors.hpp"
#include "keeper/daemon/keeper_loop.hpp"

using namespace varkeeper;
using keeper::KeeperLoop;
using keeper::PortfolioUpdate;
using keeper::PublishReason;
using keeper::TickSummary;

namespace {

keeper::PortfolioUpdate update(std::uint64_t id, double var, double cvar, PublishReason publish) {
  PortfolioUpdate u;
  u.portfolio_id = id;
  u.has_estimate = true;
  u.published_var = var;
  u.published_cvar = cvar;
  u.target_var = var;
  u.target_cvar = cvar;
  u.publish = publish;
  return u;
}

keeper::OnchainReport report(std::uint64_t id, std::uint64_t round) {
  keeper::OnchainReport r;
  r.portfolio_id = id;
  r.round = round;
  return r;
}

// An action refused as KeeperLoop::try_action words it, the revert decoded as explain() does.
std::string refusal(const std::string& label, const std::string& error,
                    const std::vector<chain::AbiValue>& args) {
  const auto sig = chain::parse_abi_signature(error);
  REQUIRE(sig);
  const auto data = chain::encode_call(*sig, args);
  REQUIRE(data);
  return label + " not possible: reverted: " + keeper::describe_revert(*data);
}

chain::AbiValue wad(std::uint64_t v) { return chain::AbiValue::from_uint(chain::U256(v)); }

const std::string kHash = "0xbbb0203645ddc59b25dc4970f56579d319ffcb4b48b15dc7ce3bd0e4a99969fc";

// The embedded default's busiest tick: both portfolios' first reports sent, five actions refused.
TickSummary first_tick() {
  TickSummary s;
  s.tick = 1;
  s.block = 12;
  s.seconds = 0.055;
  s.pipeline.prices = {{"BTC", 60145.49}, {"ETH", 2963.99}};
  s.pipeline.portfolios = {update(1, 0.1631, 0.1847, PublishReason::kFirst),
                           update(2, 0.1113, 0.1450, PublishReason::kFirst)};
  s.submitted.reports = {report(1, 1), report(2, 1)};
  s.submitted.tx_id = 1;
  s.actions = {refusal("rebalance", "NoReport(uint64)", {wad(1)}),
               refusal("startCoverage", "NoActiveEpoch()", {}),
               refusal("settle", "NoActiveEpoch()", {}),
               refusal("refundEpoch", "NoActiveEpoch()", {}),
               refusal("startEpoch", "NoReport(uint64)", {wad(1)})};
  return s;
}

}  // namespace

TEST_CASE("the default tick line is short; --verbose has the prices, hashes and human refusals") {
  const TickSummary s = first_tick();
  const std::string line = KeeperLoop::status_line(s);
  const std::string full = KeeperLoop::status_line(s, /*verbose=*/true);
  CAPTURE(line);
  CAPTURE(full);
  CHECK(line.size() <= 160);
  CHECK(line.find('\n') == std::string::npos);
  // Refusals grouped by error; the one that does not fit is counted.
  CHECK(line ==
        "tick 1 block 12 | p1 VaR 16.31% CVaR 18.47% normal sent r1 | p2 VaR 11.13% CVaR 14.50% "
        "normal sent r1 | rebalance, startEpoch: NoReport | +1 more");
  CHECK(line.find("BTC") == std::string::npos);  // prices are a detail
  // Verbose: everything, refusals in human form.
  CHECK(full.size() > 300);
  CHECK(full.find("BTC 60145.49 ETH 2963.99") != std::string::npos);
  CHECK(full.find("publish(first) sent round 1 in transaction 1") != std::string::npos);
  CHECK(full.find("rebalance not possible: reverted: NoReport: portfolio 1 has no report yet") !=
        std::string::npos);
  CHECK(full.find("settle not possible: reverted: NoActiveEpoch: no epoch is running") !=
        std::string::npos);
  CHECK(full.find(" more") == std::string::npos);
  CHECK(full.find("| 0.055 s") != std::string::npos);
}

TEST_CASE(
    "a tick of confirmations and an InsideBand refusal fits the default line without hashes") {
  TickSummary s;
  s.tick = 2;
  s.block = 13;
  s.seconds = 0.017;
  s.pipeline.portfolios = {update(1, 0.1631, 0.1848, PublishReason::kNone),
                           update(2, 0.1113, 0.1450, PublishReason::kNone)};
  s.confirmations = {"round 1 of portfolio 1 accepted in block 13, gas 214647, tx " + kHash,
                     "round 1 of portfolio 2 accepted in block 13, gas 214647, tx " + kHash};
  s.actions = {refusal("rebalance", "InsideBand(uint64,uint64,uint64)",
                       {wad(114'532'657'858'049'100ULL), wad(50'000'000'000'000'000ULL),
                        wad(250'000'000'000'000'000ULL)}),
               "startEpoch sent"};
  const std::string line = KeeperLoop::status_line(s);
  CAPTURE(line);
  CHECK(line ==
        "tick 2 block 13 | p1 VaR 16.31% CVaR 18.48% normal | p2 VaR 11.13% CVaR 14.50% normal | "
        "accepted p1 r1, p2 r1 | startEpoch sent | rebalance: InsideBand");
  CHECK(line.size() <= 160);
  const std::string full = KeeperLoop::status_line(s, true);
  CHECK(full.find("rebalance not possible: reverted: InsideBand: VaR 11.45 % inside 5 %–25 %") !=
        std::string::npos);
  CHECK(full.find(kHash) != std::string::npos);
}

TEST_CASE("every publish decision that is not sent says why, short and verbose") {
  // p1 waits for its report in flight; p2's prices are not newer than its last report; p3's
  // report cannot be built; p4 was sent.
  TickSummary s;
  s.tick = 9;
  s.block = 40;
  s.pipeline.portfolios = {update(1, 0.12, 0.15, PublishReason::kDeviation),
                           update(2, 0.12, 0.15, PublishReason::kHeartbeat),
                           update(3, 0.12, 0.15, PublishReason::kBreaker),
                           update(4, 0.12, 0.15, PublishReason::kCatchUp)};
  s.submitted.waiting = {report(1, 7)};
  s.submitted.not_sent = {
      "p2 heartbeat: observedAt 1796685792 is not after the last report's 1796685792 (RiskOracle "
      "would refuse it: TooSoon)"};
  s.submitted.unbuilt = {"portfolio 3: portfolioValue: above 2^96"};
  s.submitted.reports = {report(4, 3)};
  s.submitted.tx_id = 5;
  const std::string line = KeeperLoop::status_line(s);
  const std::string full = KeeperLoop::status_line(s, true);
  CAPTURE(line);
  CAPTURE(full);
  CHECK(line.find("p1 VaR 12.00% CVaR 15.00% normal held r7: tx in flight") != std::string::npos);
  CHECK(line.find("p2 VaR 12.00% CVaR 15.00% normal not sent: no newer prices") !=
        std::string::npos);
  CHECK(line.find("p3 VaR 12.00% CVaR 15.00% normal not sent: not built") != std::string::npos);
  CHECK(line.find("p4 VaR 12.00% CVaR 15.00% normal sent r3") != std::string::npos);
  CHECK(full.find("publish(deviation) round 7 held: it waits for the portfolio's report "
                  "transaction in flight") != std::string::npos);
  CHECK(full.find("publish(heartbeat) not sent: heartbeat: observedAt 1796685792 is not after") !=
        std::string::npos);
  CHECK(full.find("publish(breaker) not sent: report not built: portfolio 3: portfolioValue") !=
        std::string::npos);
  CHECK(full.find("publish(catch-up) sent round 3 in transaction 5") != std::string::npos);
  CHECK(line.find("no report") == std::string::npos);

  // The whole batch refused in simulation: each portfolio in it says so.
  TickSummary r;
  r.pipeline.portfolios = {update(1, 0.3, 0.35, PublishReason::kDeviation)};
  r.submitted.reports = {report(1, 8)};
  r.submitted.refused = "reverted: VaRChangeTooLarge: VaR 12 % → 30 % exceeds the change limit";
  CHECK(KeeperLoop::status_line(r).find("p1 VaR 30.00% CVaR 35.00% normal not sent: refused") !=
        std::string::npos);
  CHECK(KeeperLoop::status_line(r, true).find(
            "publish(deviation) not sent: round 8 refused in simulation: reverted: "
            "VaRChangeTooLarge: VaR 12 % → 30 % exceeds the change limit") != std::string::npos);

  // Endpoints that disagree on the prices: nothing is signed, and the line says why.
  TickSummary d;
  d.reads_disagree = true;
  d.pipeline.portfolios = {update(2, 0.1, 0.12, PublishReason::kHeartbeat)};
  CHECK(KeeperLoop::status_line(d).find("p2 VaR 10.00% CVaR 12.00% normal not sent: reads "
                                        "disagree") != std::string::npos);
  CHECK(KeeperLoop::status_line(d, true).find(
            "publish(heartbeat) not sent: the endpoints disagree on this tick's prices") !=
        std::string::npos);
}

TEST_CASE("errors and a crowd of events stay within the default line, counted") {
  TickSummary s = first_tick();
  s.errors = {"cannot read the latest block: http://127.0.0.1:8545: timeout after 5000 ms",
              "report transaction failed: nonce too low"};
  const std::string line = KeeperLoop::status_line(s);
  CAPTURE(line);
  CHECK(line.size() <= 160);
  CHECK(line.find(" | error: cannot read the latest block:... (+1) | +2 more") !=
        std::string::npos);
  CHECK(line.find(" more") != std::string::npos);
  const std::string full = KeeperLoop::status_line(s, true);
  CHECK(full.find("error: report transaction failed: nonce too low") != std::string::npos);
}
