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
  // The answer moved beyond max_step_move from the source's reference this tick: kStepMoveTooLarge
  // until confirm_step_moves finds the other sources moved with it (then kOk: a market move).
  bool step_move = false;
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

  // The step move this tick's reading made was confirmed by the sibling sources
  // (confirm_step_moves): `price` is the new reference, nothing is pending.
  void accept_step(double price) noexcept;

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
  bool market_move = false;  // usable, and kept sources made a confirmed step move this tick
  [[nodiscard]] bool usable() const noexcept { return check == AssetCheck::kOk; }
  [[nodiscard]] bool any_incident() const noexcept;  // a source or the asset failed a check
};

// Step moves seen by the sibling sources in the same tick are a market move, not manipulation
// (issue 16, defect 8: BTC -39 % on 2020-03-12 on every source): among the sources that passed
// every check but the step bound, m = their median; when more than half of all configured sources
// are within max_disagreement of m, every step-moved source within it is confirmed (kOk, step_move
// kept). A source that moved alone stays kStepMoveTooLarge: the manipulation candidate. Returns the
// number of sources confirmed; their monitors must then accept_step.
std::size_t confirm_step_moves(std::span<SourceVerdict> sources, const PriceCheckConfig& config);

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
