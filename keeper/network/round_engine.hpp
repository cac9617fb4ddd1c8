// The keeper network's deterministic state (issue 18): the pipeline advanced one tick per trigger
// block from the genesis trigger, every input read at (pinned to) that block, so a keeper's state
// at a trigger block is a pure function of chain data and the config. Two keepers that run the
// same binary and config -- whatever their thread counts, their start times, or whether one just
// replayed everything after a restart -- build the same report for a round and sign the same
// EIP-712 digest (keeper/network/round_rule.hpp has the rules).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "keeper/core/change_limit.hpp"
#include "keeper/core/pipeline.hpp"
#include "keeper/core/reporter.hpp"
#include "keeper/core/risk_report.hpp"
#include "keeper/network/round_rule.hpp"

namespace varkeeper::keeper::network {

// Everything a trigger block contributes, each read pinned to `block`.
struct TriggerInputs {
  std::uint64_t block = 0;
  std::int64_t timestamp = 0;  // timestamp(block): the tick's time
  std::vector<PriceReading> readings;
  // RiskOracle.latest(p) at `block` per portfolio (absent: no report yet).
  std::map<std::uint64_t, AcceptedReport> latest;
  // RiskOracle.limits / changePolicy at `block` per portfolio (absent: none read).
  std::map<std::uint64_t, ChangeLimit> limits;
};

// A report every honest keeper builds for (portfolio, round) at a trigger block.
struct RoundReport {
  std::uint64_t trigger_block = 0;
  OnchainReport report;  // quantised
  PortfolioUpdate update;
};

struct TriggerResult {
  std::uint64_t block = 0;
  TickResult tick;
  std::vector<RoundReport> reports;   // the portfolios the publish policy sends this round
  std::vector<std::string> unbuilt;   // publish decisions whose report cannot be built
  std::vector<std::string> not_sent;  // publish decisions the oracle would refuse (TooSoon)
};

class RoundEngine {
 public:
  RoundEngine(PipelineConfig config, RoundRule rule);

  // History before the genesis trigger (walk_back pinned at genesis, or the configured CSV).
  void seed_history(const std::string& asset,
                    const std::vector<std::pair<std::int64_t, double>>& closes);

  // One trigger block, after every earlier one (in order: a block at or before the last one
  // advanced is refused with std::invalid_argument).
  [[nodiscard]] TriggerResult advance(const TriggerInputs& in);

  [[nodiscard]] std::optional<std::uint64_t> last_trigger() const noexcept { return last_; }
  [[nodiscard]] const RoundRule& rule() const noexcept { return rule_; }
  [[nodiscard]] const PipelineConfig& config() const noexcept { return pipeline_.config(); }

 private:
  RoundRule rule_;
  Pipeline pipeline_;
  std::map<std::uint64_t, PortfolioSpec> specs_;
  std::map<std::uint64_t, AcceptedReport> known_;  // the oracle's report last handed over
  std::optional<std::uint64_t> last_;
};

}  // namespace varkeeper::keeper::network
