// Input checks on oracle readings, per source and per asset (issue 5 item 1, DESIGN.md §5):
// staleness against the feed's own heartbeat, zero/negative answers, round consistency, a
// single-step move beyond a bound, and disagreement between sources (outliers dropped by the median
// absolute deviation; no majority left -> the asset is unusable). Pure: the time is an argument.
// Every check returns a typed verdict whose reason the keeper records as an incident.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "risk/breaker_config.hpp"

namespace varkeeper::risk {

// Chainlink's uint80 roundId is (phaseId << 64) | aggregatorRoundId (Chainlink data feeds docs,
// "Historical price data"); ordered lexicographically.
struct RoundId {
  std::uint16_t phase = 0;
  std::uint64_t aggregator_round = 0;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads the defaulted <=>'s 0 literal
  auto operator<=>(const RoundId&) const = default;
};

// One AggregatorV3Interface.latestRoundData() answer, the answer already scaled by `decimals`.
struct RoundData {
  RoundId round_id;
  double answer = 0.0;
  std::int64_t started_at = 0;
  std::int64_t updated_at = 0;
  RoundId answered_in_round;
};

enum class SourceCheck : std::uint8_t {
  kOk,
  kIncompleteRound,         // updatedAt == 0: the round has not been answered
  kNonPositive,             // answer <= 0 (or not finite)
  kFutureTimestamp,         // updatedAt > now + max_future_skew_s
  kStale,                   // now - updatedAt > heartbeat + heartbeat_grace_s
  kRoundWentBackwards,      // roundId lower than one already seen
  kTimestampWentBackwards,  // updatedAt lower than one already seen
  kAnsweredInStaleRound,    // answeredInRound < roundId: the answer was carried over
  kStepMoveTooLarge,        // |p / p_ref - 1| > max_step_move, not yet confirmed
  kOutlier,                 // dropped by the median-absolute-deviation rule (check_asset)
};

[[nodiscard]] const char* to_string(SourceCheck c) noexcept;

struct SourceVerdict {
  SourceCheck check = SourceCheck::kOk;
  double price = 0.0;  // the reading's answer, whatever the verdict
  [[nodiscard]] bool ok() const noexcept { return check == SourceCheck::kOk; }
};

// Remembers one source's last reading and last accepted price, so that round consistency and
// single-step moves can be judged. One per (asset, source).
class SourceMonitor {
 public:
  // heartbeat_s: the feed's own heartbeat (e.g. 3600 for Chainlink ETH/USD, 86400 for USDC/USD).
  SourceMonitor(std::int64_t heartbeat_s, const PriceCheckConfig& config);

  // Judges `reading` at time `now` (seconds since the epoch) and updates the memory. Checks run
  // in the order of SourceCheck; the first failure is the verdict.
  [[nodiscard]] SourceVerdict check(const RoundData& reading, std::int64_t now);

  [[nodiscard]] std::optional<double> reference_price() const noexcept { return reference_; }

 private:
  std::int64_t heartbeat_s_;
  PriceCheckConfig config_;
  std::optional<RoundData> last_;              // last reading that was round-consistent
  std::optional<double> reference_;            // last accepted price (step-move baseline)
  std::optional<std::int64_t> pending_since_;  // first time a suspicious step was seen
};

enum class AssetCheck : std::uint8_t {
  kOk,
  kNoMajority,    // at most half of the configured sources passed the checks
  kDisagreement,  // kept sources farther apart than max_disagreement
};

[[nodiscard]] const char* to_string(AssetCheck c) noexcept;

struct AssetVerdict {
  AssetCheck check = AssetCheck::kOk;
  double price = 0.0;                  // consensus (median of kept sources) when usable
  std::vector<SourceVerdict> sources;  // per source; outliers are marked kOutlier here
  [[nodiscard]] bool usable() const noexcept { return check == AssetCheck::kOk; }
  [[nodiscard]] bool any_incident() const noexcept;  // a source or the asset failed a check
};

// Combines the per-source verdicts of one asset (all configured sources, failed ones included):
// m = median of the sources that passed, MAD = median |p - m|; a source is an outlier when
// |p - m| > mad_k * 1.4826 * MAD and |p - m| > max_disagreement * m. The asset is usable when
// more than half of all configured sources remain and every kept source is within
// max_disagreement of the kept sources' median, which is then the consensus price.
[[nodiscard]] AssetVerdict check_asset(std::span<const SourceVerdict> sources,
                                       const PriceCheckConfig& config);

// Median of a non-empty set (mean of the two middle values for an even count).
[[nodiscard]] double median_of(std::vector<double> values);

}  // namespace varkeeper::risk
