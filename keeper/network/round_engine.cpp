#include "keeper/network/round_engine.hpp"

#include <stdexcept>
#include <utility>

#include "keeper/core/report_builder.hpp"

namespace varkeeper::keeper::network {

RoundEngine::RoundEngine(PipelineConfig config, RoundRule rule)
    : rule_(rule), pipeline_(std::move(config)) {
  for (const auto& p : pipeline_.config().portfolios) {
    specs_.emplace(p.id, p);
  }
}

void RoundEngine::seed_history(const std::string& asset,
                               const std::vector<std::pair<std::int64_t, double>>& closes) {
  pipeline_.seed_history(asset, closes);
}

TriggerResult RoundEngine::advance(const TriggerInputs& in) {
  if (last_ && in.block <= *last_) {
    throw std::invalid_argument("trigger block " + std::to_string(in.block) +
                                " is not after the last one, " + std::to_string(*last_));
  }
  last_ = in.block;
  TriggerResult out;
  out.block = in.block;
  // The oracle's state at B: its stored report is the base of the publish policy and of the
  // change limit (a round that landed since the last trigger, whoever relayed it).
  for (const auto& [pid, spec] : specs_) {
    const auto lim = in.limits.find(pid);
    if (lim != in.limits.end()) {
      pipeline_.set_change_limit(pid, lim->second);
    }
    const auto at = in.latest.find(pid);
    std::uint64_t round = round_at(in.block, 0);
    if (at != in.latest.end()) {
      round = round_at(in.block, at->second.round);
      const auto known = known_.find(pid);
      if (known == known_.end() || known->second.round != at->second.round) {
        pipeline_.mark_published(onchain_report(pid, at->second),
                                 static_cast<std::int64_t>(at->second.accepted_at));
        known_[pid] = at->second;
      }
    }
    pipeline_.set_risk_seed(pid, mc_seed(pid, round));
  }
  out.tick = pipeline_.tick(in.timestamp, in.readings);
  for (const auto& u : out.tick.portfolios) {
    if (u.publish == PublishReason::kNone || !u.has_estimate) {
      continue;
    }
    const auto at = in.latest.find(u.portfolio_id);
    std::optional<OnchainReport> base;
    std::uint64_t round = round_at(in.block, 0);
    if (at != in.latest.end()) {
      base = onchain_report(u.portfolio_id, at->second);
      round = round_at(in.block, at->second.round);
    }
    auto built = build_report(specs_.at(u.portfolio_id), u, round);
    if (!built) {
      out.unbuilt.push_back(built.error().message);
      continue;
    }
    if (base && built->observed_at <= base->observed_at) {
      out.not_sent.push_back("p" + std::to_string(u.portfolio_id) + " round " +
                             std::to_string(round) + ": observedAt " +
                             std::to_string(built->observed_at) + " is not after the oracle's " +
                             std::to_string(base->observed_at));
      continue;
    }
    out.reports.push_back({in.block, quantise(*built, base, rule_.quantum_wad), u});
  }
  return out;
}

}  // namespace varkeeper::keeper::network
