#include "risk/price_checks.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace varkeeper::risk {

const char* to_string(SourceCheck c) noexcept {
  switch (c) {
    case SourceCheck::kOk: return "ok";
    case SourceCheck::kIncompleteRound: return "incomplete round";
    case SourceCheck::kNonPositive: return "non-positive answer";
    case SourceCheck::kFutureTimestamp: return "updatedAt in the future";
    case SourceCheck::kStale: return "stale";
    case SourceCheck::kRoundWentBackwards: return "roundId went backwards";
    case SourceCheck::kTimestampWentBackwards: return "updatedAt went backwards";
    case SourceCheck::kAnsweredInStaleRound: return "answeredInRound < roundId";
    case SourceCheck::kStepMoveTooLarge: return "single-step move beyond bound";
    case SourceCheck::kOutlier: return "outlier against sibling sources";
  }
  return "unknown";
}

const char* to_string(AssetCheck c) noexcept {
  switch (c) {
    case AssetCheck::kOk: return "ok";
    case AssetCheck::kNoMajority: return "no majority of sources";
    case AssetCheck::kDisagreement: return "sources disagree beyond bound";
  }
  return "unknown";
}

namespace {

// a - b when a > b, else 0, for any int64 values (updatedAt comes from the chain: no overflow).
std::uint64_t excess(std::int64_t a, std::int64_t b) noexcept {
  return a <= b ? 0 : static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b);
}

std::uint64_t non_negative(std::int64_t x) noexcept {
  return x < 0 ? 0 : static_cast<std::uint64_t>(x);
}

}  // namespace

SourceMonitor::SourceMonitor(std::int64_t heartbeat_s, const PriceCheckConfig& config)
    : heartbeat_s_(heartbeat_s), config_(config) {}

SourceVerdict SourceMonitor::check(const RoundData& r, std::int64_t now) {
  SourceVerdict v{SourceCheck::kOk, r.answer};
  if (r.updated_at == 0) {
    v.check = SourceCheck::kIncompleteRound;
    return v;
  }
  if (!std::isfinite(r.answer) || r.answer <= 0.0) {
    v.check = SourceCheck::kNonPositive;
    return v;
  }
  if (excess(r.updated_at, now) > non_negative(config_.max_future_skew_s)) {
    v.check = SourceCheck::kFutureTimestamp;
    return v;
  }
  // Round consistency is judged before staleness so a replayed old round is named as such.
  if (last_ && r.round_id < last_->round_id) {
    v.check = SourceCheck::kRoundWentBackwards;
    return v;
  }
  // A higher phase id: the proxy switched aggregator (EACAggregatorProxy.confirmAggregator), whose
  // rounds and timestamps are a new series; its latest updatedAt may lie a few seconds before the
  // old aggregator's last answer (issue 16, defect 9). The monotonic checks restart from this
  // reading; staleness and the cross-source check still bound it.
  const bool new_phase = last_ && r.round_id.phase > last_->round_id.phase;
  if (last_ && !new_phase && r.updated_at < last_->updated_at) {
    v.check = SourceCheck::kTimestampWentBackwards;
    return v;
  }
  last_ = r;
  if (excess(now, r.updated_at) >
      non_negative(heartbeat_s_) + non_negative(config_.heartbeat_grace_s)) {
    v.check = SourceCheck::kStale;
    return v;
  }
  if (r.answered_in_round < r.round_id) {
    v.check = SourceCheck::kAnsweredInStaleRound;
    return v;
  }
  if (!reference_) {
    reference_ = r.answer;
    return v;
  }
  if (std::fabs(r.answer / *reference_ - 1.0) <= config_.max_step_move) {
    reference_ = r.answer;
    pending_since_.reset();
    return v;
  }
  // A move beyond the bound: refused until it has persisted step_confirm_s (then it is real).
  if (!pending_since_) {
    pending_since_ = now;
  }
  if (excess(now, *pending_since_) >= non_negative(config_.step_confirm_s)) {
    reference_ = r.answer;
    pending_since_.reset();
    return v;
  }
  v.check = SourceCheck::kStepMoveTooLarge;
  v.step_move = true;
  return v;
}

void SourceMonitor::accept_step(double price) noexcept {
  reference_ = price;
  pending_since_.reset();
}

std::size_t confirm_step_moves(std::span<SourceVerdict> sources, const PriceCheckConfig& config) {
  std::vector<double> candidates;
  bool any_step = false;
  for (const auto& s : sources) {
    if (s.ok() || s.check == SourceCheck::kStepMoveTooLarge) {
      candidates.push_back(s.price);
      any_step = any_step || s.check == SourceCheck::kStepMoveTooLarge;
    }
  }
  if (!any_step) {
    return 0;
  }
  const double m = median_of(candidates);
  const auto agrees = [&](double p) { return std::fabs(p - m) <= config.max_disagreement * m; };
  const auto agreeing =
      static_cast<std::size_t>(std::count_if(candidates.begin(), candidates.end(), agrees));
  if (2 * agreeing <= sources.size()) {
    return 0;
  }
  std::size_t confirmed = 0;
  for (auto& s : sources) {
    if (s.check == SourceCheck::kStepMoveTooLarge && agrees(s.price)) {
      s.check = SourceCheck::kOk;
      ++confirmed;
    }
  }
  return confirmed;
}

bool AssetVerdict::any_incident() const noexcept {
  if (check != AssetCheck::kOk) {
    return true;
  }
  return std::any_of(sources.begin(), sources.end(),
                     [](const SourceVerdict& s) { return !s.ok(); });
}

double median_of(std::vector<double> values) {
  assert(!values.empty());
  const std::size_t n = values.size();
  std::sort(values.begin(), values.end());
  // a + (b - a) / 2 rather than (a + b) / 2: no overflow for two huge prices.
  if (n % 2 == 1) {
    return values[n / 2];
  }
  const double a = values[n / 2 - 1];
  return a + 0.5 * (values[n / 2] - a);
}

AssetVerdict check_asset(std::span<const SourceVerdict> sources, const PriceCheckConfig& config) {
  AssetVerdict out;
  out.sources.assign(sources.begin(), sources.end());
  std::vector<double> passed;
  for (auto& s : out.sources) {
    // Defensive: an "ok" verdict must carry a finite positive price (the median needs an order).
    if (s.ok() && !(std::isfinite(s.price) && s.price > 0.0)) {
      s.check = SourceCheck::kNonPositive;
    }
    if (s.ok()) {
      passed.push_back(s.price);
    }
  }
  // A strict majority of all configured sources must survive every check.
  const auto majority = [&](std::size_t kept) { return 2 * kept > sources.size(); };
  if (!majority(passed.size())) {
    out.check = AssetCheck::kNoMajority;
    return out;
  }
  const double m = median_of(passed);
  std::vector<double> deviations;
  deviations.reserve(passed.size());
  for (double p : passed) {
    deviations.push_back(std::fabs(p - m));
  }
  const double mad = median_of(deviations);
  // 1.4826 = 1 / Phi^-1(3/4): MAD scaled to estimate a normal standard deviation.
  const double robust_bound = config.mad_k * 1.4826 * mad;
  const double material_bound = config.max_disagreement * m;
  std::vector<double> kept;
  for (auto& s : out.sources) {
    if (!s.ok()) {
      continue;
    }
    const double d = std::fabs(s.price - m);
    if (d > robust_bound && d > material_bound) {
      s.check = SourceCheck::kOutlier;
    } else {
      kept.push_back(s.price);
    }
  }
  if (!majority(kept.size())) {
    out.check = AssetCheck::kNoMajority;
    return out;
  }
  const double consensus = median_of(kept);
  for (double p : kept) {
    if (std::fabs(p - consensus) > config.max_disagreement * consensus) {
      out.check = AssetCheck::kDisagreement;
      return out;
    }
  }
  out.price = consensus;
  out.market_move = std::any_of(out.sources.begin(), out.sources.end(),
                                [](const SourceVerdict& s) { return s.ok() && s.step_move; });
  return out;
}

}  // namespace varkeeper::risk
