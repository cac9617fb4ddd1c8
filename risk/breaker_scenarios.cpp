#include "risk/breaker_scenarios.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "risk/feed_emulator.hpp"
#include "risk/random_stream.hpp"

namespace varkeeper::risk {

namespace {

constexpr std::int64_t kStart = 1'700'000'000;  // 2023-11-14T22:13:20Z
constexpr std::int64_t kStep = 300;
constexpr int kUpdates = 3 * 288;  // three days of 5-minute polls
constexpr int kOnset = 288;        // the event starts after one day
constexpr int kSources = 3;

// SplitMix64 (risk/random_stream.hpp) and Box-Muller: portable, unlike std::normal_distribution.
class Normals {
 public:
  explicit Normals(std::uint64_t seed) : state_(seed) {}
  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = (static_cast<double>(bits() >> 11) + 0.5) * 0x1.0p-53;
    const double u2 = static_cast<double>(bits() >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * std::numbers::pi * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  std::uint64_t bits() { return splitmix64(state_); }
  std::uint64_t state_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

// The scenario's name, description and event window (onset is already set).
void describe(Scenario& s, std::int64_t last_t) {
  switch (s.kind) {
    case ScenarioKind::kCalm:
      s.name = "calm (control)";
      s.description = "no event: 3.5 % daily volatility for three days";
      s.onset = last_t + 1;
      s.event_end = last_t + 1;
      break;
    case ScenarioKind::kFlashCrash:
      s.name = "flash crash";
      s.description = "all sources -35 % for 10 minutes, then back to -3 %";
      s.event_end = s.onset + kStep;
      break;
    case ScenarioKind::kManipulatedSource:
      s.name = "manipulated source";
      s.description = "one of three sources +15 % for 30 minutes (inside the step bound)";
      s.event_end = s.onset + 5 * kStep;
      break;
    case ScenarioKind::kStaleSource:
      s.name = "stale source";
      s.description = "one source stops at 24 h; all three stop from 30 h to 32 h";
      s.event_end = last_t;
      break;
    case ScenarioKind::kStablecoinDepeg:
      s.name = "stablecoin depeg";
      s.description = "1.00 -> 0.90 linearly over 6 hours, then stays at 0.90";
      s.event_end = s.onset + 72 * kStep;
      break;
    case ScenarioKind::kSlowGrind:
      s.name = "slow grind down";
      s.description = "-30 % over 48 hours, volatility unchanged";
      s.event_end = s.onset + 576 * kStep;
      break;
    case ScenarioKind::kVolRegimeShift:
      s.name = "volatility regime shift";
      s.description = "daily volatility 3.5 % -> 10 % at 24 h";
      s.event_end = last_t;
      break;
  }
}

// The scripted log shift of the common price `since` updates after the onset (negative before).
double scripted_level(ScenarioKind kind, int since) {
  if (since < 0) {
    return 0.0;
  }
  switch (kind) {
    case ScenarioKind::kFlashCrash: return since < 2 ? std::log(0.65) : std::log(0.97);
    case ScenarioKind::kStablecoinDepeg: return std::log(1.0 - 0.10 * std::min(1.0, since / 72.0));
    case ScenarioKind::kSlowGrind: return std::log(0.70) * std::min(1.0, since / 576.0);
    default: return 0.0;
  }
}

}  // namespace

Scenario make_scenario(ScenarioKind kind) {
  Scenario s;
  s.kind = kind;
  s.start = kStart;
  s.step_s = kStep;
  s.onset = kStart + kOnset * kStep;
  const bool stable = kind == ScenarioKind::kStablecoinDepeg;
  const double p0 = stable ? 1.0 : 2000.0;
  s.daily_vol = stable ? 0.001 : 0.035;
  const double idio = stable ? 0.00005 : 0.0002;  // per-source venue noise (log)
  FeedEmulator feed_template{stable ? 0.0025 : 0.005, stable ? 86'400 : 3'600, {}, false};
  s.heartbeats_s.assign(kSources, feed_template.heartbeat_s);
  const std::int64_t last_t = kStart + (kUpdates - 1) * kStep;
  const std::uint64_t seed = 0x5eed0000ULL + static_cast<std::uint64_t>(kind);
  describe(s, last_t);

  Normals rng(seed);
  std::vector<FeedEmulator> feeds(kSources, feed_template);
  const double step_vol = s.daily_vol * std::sqrt(static_cast<double>(kStep) / 86'400.0);
  double x = std::log(p0);  // the market's log-price without scripted level shifts
  for (int k = 0; k < kUpdates; ++k) {
    const std::int64_t t = kStart + k * kStep;
    const int since = k - kOnset;  // updates since onset (negative before)
    double vol = step_vol;
    if (kind == ScenarioKind::kVolRegimeShift && since >= 0) {
      vol *= 10.0 / 3.5;
    }
    if (k > 0) {
      x += vol * rng.next();
    }
    const double level = scripted_level(kind, since);
    s.true_price.push_back(std::exp(x + level));
    std::vector<RoundData> row;
    for (int i = 0; i < kSources; ++i) {
      double p = std::exp(x + level + idio * rng.next());
      bool frozen = false;
      if (kind == ScenarioKind::kManipulatedSource && i == 1 && since >= 0 && since < 6) {
        p *= 1.15;
      }
      if (kind == ScenarioKind::kStaleSource) {
        frozen = (i == 2 && since >= 0) || (since >= 72 && since < 96);
      }
      row.push_back(feeds[static_cast<std::size_t>(i)].poll(t, p, frozen));
    }
    s.readings.push_back(std::move(row));
  }
  return s;
}

SignalVarConfig scenario_var_config(const Scenario& s) {
  SignalVarConfig c;
  c.confidence = 0.99;
  c.horizon_s = 86'400;
  c.variance_half_life_s = 43'200;
  c.initial_daily_vol = s.daily_vol;
  return c;
}

namespace {

// Tracks the reports a deviation/heartbeat rule would send.
struct SendCounter {
  ScenarioPublishRule rule;
  std::optional<double> last_value;
  std::int64_t last_t = 0;
  int count = 0;
  bool offer(std::int64_t t, double value, bool status_changed) {
    const bool send = !last_value || status_changed || t - last_t >= rule.heartbeat_s ||
                      std::fabs(value - *last_value) > rule.deviation * *last_value;
    if (send) {
      last_value = value;
      last_t = t;
      ++count;
    }
    return send;
  }
};

std::string first_incident(const AssetVerdict& v) {
  if (!v.usable()) {
    return std::string("incident: ") + to_string(v.check);
  }
  for (const auto& s : v.sources) {
    if (!s.ok()) {
      return std::string("incident: ") + to_string(s.check);
    }
  }
  return "incident";
}

}  // namespace

ScenarioResult run_scenario(const Scenario& s, const BreakerConfig& config,
                            const ScenarioPublishRule& rule) {
  ScenarioResult result;
  std::vector<SourceMonitor> monitors;
  for (auto hb : s.heartbeats_s) {
    monitors.emplace_back(hb, config.checks);
  }
  EwmaNormalVar model(scenario_var_config(s));
  CircuitBreaker breaker(config);
  HysteresisTrigger rebalance(config.actions.rebalance);
  HysteresisTrigger payout(config.actions.payout);
  SendCounter sent{rule, {}, 0, 0};
  SendCounter sent_raw{rule, {}, 0, 0};
  for (std::size_t k = 0; k < s.readings.size(); ++k) {
    ScenarioUpdate u;
    u.t = s.start + static_cast<std::int64_t>(k) * s.step_s;
    std::vector<SourceVerdict> verdicts;
    for (std::size_t i = 0; i < monitors.size(); ++i) {
      verdicts.push_back(monitors[i].check(s.readings[k][i], u.t));
    }
    u.verdict = check_asset(verdicts, config.checks);
    u.computed = u.verdict.usable() ? model.update(u.t, u.verdict.price) : model.var();
    u.breaker = breaker.step({u.t, u.computed, trip_reasons(u.verdict)});
    u.rebalance = rebalance.update(u.t, u.breaker.published);
    u.payout = payout.update(u.t, u.breaker.published);
    u.sent = sent.offer(u.t, u.breaker.published, u.breaker.status_changed);
    sent_raw.offer(u.t, u.computed, false);

    const bool trip = u.breaker.status_changed && u.breaker.status == BreakerStatus::kTripped;
    if (trip) {
      ++result.trips;
      if (u.t < s.onset || u.t > s.event_end) {
        ++result.false_trips;
      }
      if (!result.time_to_trip && u.t >= s.onset) {
        result.time_to_trip = u.t - s.onset;
      }
    }
    if (u.rebalance == ActionEdge::kFired) {
      ++result.rebalances;
    }
    if (!result.time_to_detect && u.t >= s.onset) {
      if (trip) {
        result.detected_by = "trip (" + describe(u.breaker.reasons) + ")";
      } else if (u.verdict.any_incident()) {
        result.detected_by = first_incident(u.verdict);
      } else if (u.rebalance == ActionEdge::kFired) {
        result.detected_by = "rebalance threshold";
      }
      if (!result.detected_by.empty()) {
        result.time_to_detect = u.t - s.onset;
      }
    }
    result.max_gap = std::max(result.max_gap, std::fabs(u.breaker.published - u.computed));
    result.peak_computed = std::max(result.peak_computed, u.computed);
    result.peak_published = std::max(result.peak_published, u.breaker.published);
    result.updates.push_back(std::move(u));
  }
  result.sent = sent.count;
  result.sent_raw = sent_raw.count;
  return result;
}

}  // namespace varkeeper::risk
