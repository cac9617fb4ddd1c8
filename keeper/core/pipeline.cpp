#include "keeper/core/pipeline.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "keeper/core/units.hpp"
#include "risk/oprisk.hpp"
#include "risk/returns.hpp"

namespace varkeeper::keeper {

const char* to_string(PublishReason r) noexcept {
  switch (r) {
    case PublishReason::kNone: return "none";
    case PublishReason::kFirst: return "first";
    case PublishReason::kDeviation: return "deviation";
    case PublishReason::kHeartbeat: return "heartbeat";
    case PublishReason::kBreaker: return "breaker";
    case PublishReason::kCatchUp: return "catch-up";
  }
  return "none";
}

namespace {

using Closes = std::map<std::int64_t, double>;  // period start -> close

std::int64_t period_start(std::int64_t t, std::int64_t period) {
  const std::int64_t q = t / period;
  return (t % period < 0 ? q - 1 : q) * period;
}

// The incident category of a risk method that threw inside a tick.
constexpr std::string_view kModelFailure = "model_failure";

// The incident category of a failed source check (risk/oprisk.hpp taxonomy).
std::string_view category_of(risk::SourceCheck c) {
  switch (c) {
    case risk::SourceCheck::kStale:
    case risk::SourceCheck::kIncompleteRound:
    case risk::SourceCheck::kAnsweredInStaleRound: return risk::oprisk::kStaleFeed;
    default:
      // Wrong, inconsistent or disagreeing answers: candidate manipulation of the oracle.
      return risk::oprisk::kOracleManipulation;
  }
}

struct PortfolioState {
  explicit PortfolioState(const risk::BreakerConfig& b)
      : breaker(b), rebalance(b.actions.rebalance), payout(b.actions.payout) {}
  risk::CircuitBreaker breaker;
  risk::HysteresisTrigger rebalance;
  risk::HysteresisTrigger payout;
  std::optional<std::pair<std::int64_t, double>> last_published;
  std::optional<ChangeLimit> change_limit;
  std::optional<OnchainReport> last_report;  // the oracle's stored figures (change-limit base)
  bool restored = false;  // last_report is the oracle's at startup; no decision made since
  std::optional<risk::RiskEstimate> last_estimate;
  std::vector<double> estimate_key;  // inputs of last_estimate (last row and row count)
  bool engine_failed = false;        // the last estimate threw (one incident per failure)
};

}  // namespace

struct Pipeline::State {
  std::map<std::pair<std::string, std::string>, risk::SourceMonitor> monitors;
  std::map<std::pair<std::string, std::string>, risk::SourceCheck> last_check;
  std::map<std::string, risk::AssetCheck> last_asset_check;
  std::map<std::pair<std::string, std::int64_t>, Closes> history;
  std::map<std::string, double> last_price;
  // When each asset last had a usable consensus (its sources each fresh within their heartbeat).
  std::map<std::string, std::int64_t> consensus_at;
  std::map<std::uint64_t, PortfolioState> portfolios;
  std::set<std::int64_t> periods;
  std::size_t max_rows = 0;
  std::vector<Incident> engine_incidents;  // risk-engine failures of this tick (update_portfolio)
  // The aligned window of returns of each (assets held, period, window) estimated this tick:
  // portfolios holding the same assets share it instead of each re-aligning the histories (issue
  // 17, scale: ~1 ms per portfolio of map look-ups at 20 assets). History does not change while
  // the portfolios are updated; tick() empties it first.
  struct AlignedWindow {
    std::vector<std::string> symbols;
    std::int64_t period_s = 0;
    std::size_t window = 0;
    std::size_t rows = 0;  // closes in the window (returns + 1)
    std::vector<double>
        key;  // last common period, rows, last closes (PortfolioState::estimate_key)
    std::vector<double> returns;
  };
  std::vector<AlignedWindow> aligned;
  const AlignedWindow& aligned_window(const PortfolioSpec& spec);

  // The steps of Pipeline::tick, in order.
  risk::AssetVerdict consensus_of(const AssetSpec& asset, const risk::PriceCheckConfig& checks,
                                  std::int64_t now, const std::vector<PriceReading>& readings,
                                  TickResult& out);
  void record_incidents(const AssetSpec& asset, const risk::AssetVerdict& verdict, std::int64_t now,
                        std::vector<Incident>& incidents);
  void record_price(const std::string& symbol, double price, std::int64_t now);
  PortfolioUpdate update_portfolio(const PortfolioSpec& spec, std::int64_t now,
                                   const std::map<std::string, risk::AssetVerdict>& verdicts);
  bool estimate(const PortfolioSpec& spec, PortfolioState& ps, const std::vector<double>& values,
                PortfolioUpdate& u);
};

namespace {

// Steps u's published figures from the last report towards the breaker's within the oracle's
// change limit (keeper/core/change_limit.hpp), so the report is never refused for it.
void step_within_change_limit(const PortfolioState& ps, PortfolioUpdate& u) {
  u.target_var = u.published_var;
  u.target_cvar = u.published_cvar;
  if (!ps.change_limit || !ps.last_report || ps.change_limit->max_change == 0 ||
      !std::isfinite(u.published_var) || !std::isfinite(u.published_cvar)) {
    return;
  }
  const OnchainReport& last = *ps.last_report;
  // Elapsed observation time; none (the oracle refuses the report as TooSoon anyway): no move.
  const std::uint64_t elapsed = u.observed_at > static_cast<std::int64_t>(last.observed_at)
                                    ? static_cast<std::uint64_t>(u.observed_at) - last.observed_at
                                    : 0;
  const bool normal = u.status == risk::BreakerStatus::kNormal;
  const std::uint64_t var = step_within_limit(*ps.change_limit, last.value_at_risk,
                                              to_wad(u.target_var), elapsed, normal);
  const std::uint64_t cvar = step_within_limit(*ps.change_limit, last.expected_shortfall,
                                               to_wad(u.target_cvar), elapsed, normal);
  u.published_var = from_wad(var);
  u.published_cvar = from_wad(std::max(cvar, var));
  u.stepped = var != to_wad(u.target_var) || cvar != to_wad(u.target_cvar);
}

}  // namespace

Pipeline::Pipeline(PipelineConfig config)
    : config_(std::move(config)), state_(std::make_unique<State>()) {
  std::set<std::string> symbols;
  for (const auto& a : config_.assets) {
    if (!symbols.insert(a.symbol).second) {
      throw std::invalid_argument("asset " + a.symbol + " declared twice");
    }
    for (const auto& s : a.sources) {
      state_->monitors.emplace(std::pair{a.symbol, s.name},
                               risk::SourceMonitor(s.heartbeat_s, config_.breaker.checks));
    }
  }
  for (const auto& p : config_.portfolios) {
    if (p.period_s <= 0) {
      throw std::invalid_argument("portfolio " + p.name + ": period must be > 0");
    }
    for (const auto& [sym, qty] : p.positions) {
      if (symbols.count(sym) == 0) {
        throw std::invalid_argument("portfolio " + p.name + " holds undeclared asset " + sym);
      }
    }
    state_->periods.insert(p.period_s);
    state_->max_rows = std::max(state_->max_rows, p.window + 2);
    state_->portfolios.emplace(p.id, PortfolioState(config_.breaker));
  }
}

Pipeline::~Pipeline() = default;
Pipeline::Pipeline(Pipeline&&) noexcept = default;
Pipeline& Pipeline::operator=(Pipeline&&) noexcept = default;

void Pipeline::seed_history(const std::string& asset,
                            const std::vector<std::pair<std::int64_t, double>>& closes) {
  for (const auto period : state_->periods) {
    auto& h = state_->history[{asset, period}];
    for (const auto& [t, price] : closes) {
      if (price > 0.0 && std::isfinite(price)) {
        h[period_start(t, period)] = price;
      }
    }
    while (h.size() > state_->max_rows) {
      h.erase(h.begin());
    }
  }
  if (!closes.empty()) {
    state_->last_price[asset] = closes.back().second;
    state_->consensus_at[asset] = closes.back().first;
  }
}

std::size_t Pipeline::history_size(const std::string& asset, std::int64_t period_s) const {
  const auto it = state_->history.find({asset, period_s});
  return it == state_->history.end() ? 0 : it->second.size();
}

void Pipeline::mark_published(std::uint64_t portfolio_id, std::int64_t t, double var) {
  const auto it = state_->portfolios.find(portfolio_id);
  if (it != state_->portfolios.end()) {
    it->second.last_published = {t, var};
  }
}

void Pipeline::mark_published(const OnchainReport& report, std::int64_t t) {
  const auto it = state_->portfolios.find(report.portfolio_id);
  if (it != state_->portfolios.end()) {
    it->second.last_published = {t, from_wad(report.value_at_risk)};
    it->second.last_report = report;
    it->second.restored = false;
  }
}

void Pipeline::restore_published(const OnchainReport& report, std::int64_t accepted_at) {
  mark_published(report, accepted_at);
  const auto it = state_->portfolios.find(report.portfolio_id);
  if (it != state_->portfolios.end()) {
    it->second.restored = true;
  }
}

void Pipeline::set_change_limit(std::uint64_t portfolio_id, const ChangeLimit& limit) {
  const auto it = state_->portfolios.find(portfolio_id);
  if (it != state_->portfolios.end()) {
    it->second.change_limit = limit;
  }
}

void Pipeline::set_risk_seed(std::uint64_t portfolio_id, std::uint64_t seed) {
  for (auto& spec : config_.portfolios) {
    if (spec.id != portfolio_id || spec.risk.seed == seed) {
      continue;
    }
    spec.risk.seed = seed;
    if (const auto it = state_->portfolios.find(portfolio_id); it != state_->portfolios.end()) {
      it->second.last_estimate.reset();
    }
  }
}

TickResult Pipeline::tick(std::int64_t now, const std::vector<PriceReading>& readings) {
  auto& st = *state_;
  TickResult out;
  out.t = now;
  // 1. Input checks and consensus per asset.
  std::map<std::string, risk::AssetVerdict> verdicts;
  for (const auto& asset : config_.assets) {
    verdicts.emplace(asset.symbol,
                     st.consensus_of(asset, config_.breaker.checks, now, readings, out));
  }
  // 2. Per portfolio: value, returns, risk, breaker, publish policy, actions.
  st.aligned.clear();
  for (const auto& spec : config_.portfolios) {
    out.portfolios.push_back(st.update_portfolio(spec, now, verdicts));
  }
  std::move(st.engine_incidents.begin(), st.engine_incidents.end(),
            std::back_inserter(out.incidents));
  st.engine_incidents.clear();
  return out;
}

// Checks each source's answer, takes the consensus, records incidents and, if the asset is
// usable, its price (in out.prices and the history).
risk::AssetVerdict Pipeline::State::consensus_of(const AssetSpec& asset,
                                                 const risk::PriceCheckConfig& checks,
                                                 std::int64_t now,
                                                 const std::vector<PriceReading>& readings,
                                                 TickResult& out) {
  std::vector<risk::SourceVerdict> per_source;
  for (const auto& src : asset.sources) {
    const auto key = std::pair{asset.symbol, src.name};
    const auto it = std::find_if(readings.begin(), readings.end(), [&](const PriceReading& r) {
      return r.asset == asset.symbol && r.source == src.name && r.fetched;
    });
    risk::SourceVerdict v;
    if (it == readings.end()) {
      v.check = risk::SourceCheck::kStale;  // no answer this tick is no fresher than a stale one
    } else {
      v = monitors.at(key).check(it->round, now);
    }
    per_source.push_back(v);
  }
  // Step moves the sibling sources made in the same tick are a market move (issue 16, defect 8):
  // confirmed at once, so the crash enters the history in the tick it happened.
  if (risk::confirm_step_moves(per_source, checks) > 0) {
    for (std::size_t i = 0; i < asset.sources.size(); ++i) {
      if (per_source[i].ok() && per_source[i].step_move) {
        monitors.at({asset.symbol, asset.sources[i].name}).accept_step(per_source[i].price);
      }
    }
  }
  auto verdict = risk::check_asset(per_source, checks);
  record_incidents(asset, verdict, now, out.incidents);
  if (verdict.usable()) {
    out.prices[asset.symbol] = verdict.price;
    record_price(asset.symbol, verdict.price, now);
  }
  return verdict;
}

// Incidents on transitions only: a feed stale for a day is one incident, not thousands.
void Pipeline::State::record_incidents(const AssetSpec& asset, const risk::AssetVerdict& verdict,
                                       std::int64_t now, std::vector<Incident>& incidents) {
  for (std::size_t i = 0; i < asset.sources.size(); ++i) {
    const auto key = std::pair{asset.symbol, asset.sources[i].name};
    const auto check = verdict.sources[i].check;
    const auto prev = last_check.find(key);
    const bool was_ok = prev == last_check.end() || prev->second == risk::SourceCheck::kOk;
    if (check != risk::SourceCheck::kOk && (was_ok || prev->second != check)) {
      Incident inc;
      inc.time = now;
      inc.category = std::string(category_of(check));
      inc.subject = asset.symbol + "/" + asset.sources[i].name;
      nlohmann::json evidence{{"check", risk::to_string(check)},
                              {"answer", verdict.sources[i].price}};
      if (check == risk::SourceCheck::kStepMoveTooLarge) {
        // Sibling sources that moved with it would have confirmed a market move: it moved alone.
        evidence["step"] = "lone source: the other sources did not move with it";
      }
      inc.evidence = evidence.dump();
      incidents.push_back(std::move(inc));
    }
    last_check[key] = check;
  }
  const auto prev_asset = last_asset_check.find(asset.symbol);
  if (!verdict.usable() &&
      (prev_asset == last_asset_check.end() || prev_asset->second != verdict.check)) {
    // Unusable because feeds went quiet is a stale feed; because they disagree, candidate
    // manipulation.
    const bool all_quiet =
        verdict.check == risk::AssetCheck::kNoMajority &&
        std::all_of(verdict.sources.begin(), verdict.sources.end(),
                    [](const risk::SourceVerdict& v) {
                      return v.ok() || category_of(v.check) == risk::oprisk::kStaleFeed;
                    });
    Incident inc;
    inc.time = now;
    inc.category =
        std::string(all_quiet ? risk::oprisk::kStaleFeed : risk::oprisk::kOracleManipulation);
    inc.subject = asset.symbol;
    inc.evidence = nlohmann::json{{"asset_unusable", risk::to_string(verdict.check)}}.dump();
    incidents.push_back(std::move(inc));
  }
  last_asset_check[asset.symbol] = verdict.check;
}

// The consensus price becomes the latest price and this period's close at every interval.
void Pipeline::State::record_price(const std::string& symbol, double price, std::int64_t now) {
  last_price[symbol] = price;
  consensus_at[symbol] = now;
  for (const auto period : periods) {
    auto& h = history[{symbol, period}];
    h[period_start(now, period)] = price;
    while (h.size() > max_rows) {
      h.erase(h.begin());
    }
  }
}

PortfolioUpdate Pipeline::State::update_portfolio(
    const PortfolioSpec& spec, std::int64_t now,
    const std::map<std::string, risk::AssetVerdict>& verdicts) {
  auto& ps = portfolios.at(spec.id);
  PortfolioUpdate u;
  u.portfolio_id = spec.id;
  u.t = now;
  // 2a. Value at the latest prices; the sources' faults for the breaker.
  risk::TripReasons faults;
  bool prices_known = true;
  std::vector<double> values;
  std::int64_t observed_at = now;
  for (const auto& [sym, qty] : spec.positions) {
    const auto& v = verdicts.at(sym);
    faults |= risk::trip_reasons(v);
    if (v.market_move) {
      faults.set(risk::TripReason::kStepMove);  // a confirmed market move is a breaker input
    }
    const auto lp = last_price.find(sym);
    if (lp == last_price.end()) {
      prices_known = false;
      values.push_back(0.0);
      continue;
    }
    values.push_back(qty * lp->second);
    if (const auto at = consensus_at.find(sym); at != consensus_at.end()) {
      observed_at = std::min(observed_at, at->second);
    }
  }
  u.observed_at = observed_at;
  for (double v : values) {
    u.value += v;
  }
  if (!prices_known || !(u.value > 0.0)) {
    u.note = "no price yet for every position";
    return u;
  }
  // 2b. Risk of the window of returns. A method that throws must not stop the keeper (issue 16,
  // defect 6): the failure is an incident (on the transition) and an invalid VaR for the breaker,
  // which trips and holds the last published figure; no report goes out (has_estimate false), and
  // the next tick estimates afresh.
  try {
    if (!estimate(spec, ps, values, u)) {
      return u;
    }
    ps.engine_failed = false;
  } catch (const std::exception& e) {
    if (!ps.engine_failed) {
      Incident inc;
      inc.time = now;
      inc.category = std::string(kModelFailure);
      inc.subject = spec.name;
      inc.evidence =
          nlohmann::json{{"method", risk::to_string(spec.method)}, {"error", e.what()}}.dump();
      engine_incidents.push_back(std::move(inc));
    }
    ps.engine_failed = true;
    ps.last_estimate.reset();
    u.has_estimate = false;
    u.note = std::string("the risk engine failed: ") + e.what();
    const auto b = ps.breaker.step({now, std::numeric_limits<double>::quiet_NaN(), faults});
    u.status = b.status;
    u.reasons = b.reasons;
    return u;
  }

  // 2c. Breaker: the published figures. CVaR follows VaR through the breaker in proportion (the
  // tail's shape is the engine's); it is never below the published VaR and never above a total
  // loss.
  const auto b = ps.breaker.step({now, u.computed.var, faults});
  u.status = b.status;
  u.reasons = b.reasons;
  u.published_var = std::clamp(b.published, 0.0, 1.0);
  const double scale = u.computed.var > 0.0 ? u.published_var / u.computed.var : 1.0;
  u.published_cvar = std::clamp(u.computed.cvar * scale, u.published_var, 1.0);
  // No silent clamp (issue 16, defect 3): a figure outside [0, 1] is published as 0 or 1 and
  // the update's diagnostics say so (the tick line and the metric show them).
  if (b.published < 0.0) {
    risk::add_diagnostic(u.computed.diagnostics, risk::DiagnosticKind::kNonPositiveVar,
                         "the VaR to publish is " + std::to_string(b.published) +
                             " (no loss at this confidence); published as 0.");
  }
  if (b.published > 1.0 || u.computed.cvar * scale > 1.0) {
    risk::add_diagnostic(u.computed.diagnostics, risk::DiagnosticKind::kLossBeyondValue,
                         "the CVaR to publish is " + std::to_string(u.computed.cvar * scale) +
                             " of the portfolio value (short positions can lose more than it); "
                             "published as 1.");
  }
  step_within_change_limit(ps, u);

  // 2d. Publish policy and action edges. While the change limit holds the figures back, a report
  // goes out once the limit's allowance is full (a whole change period since the last report),
  // unless the deviation rule sends one sooner.
  if (!ps.last_published) {
    u.publish = PublishReason::kFirst;
  } else if (b.status_changed) {
    u.publish = PublishReason::kBreaker;
  } else {
    // The relative change of VaR, and of CVaR when the last report is known: RiskOracle v2
    // guards both and consumers price from CVaR, so a CVaR move is as much a reason to publish.
    const double last = ps.last_published->second;
    double change = std::fabs(u.published_var - last) / std::max(last, 1e-12);
    if (ps.last_report) {
      const double last_cvar = from_wad(ps.last_report->expected_shortfall);
      change =
          std::max(change, std::fabs(u.published_cvar - last_cvar) / std::max(last_cvar, 1e-12));
    }
    const bool allowance_full =
        ps.change_limit && ps.last_report &&
        u.observed_at - static_cast<std::int64_t>(ps.last_report->observed_at) >=
            static_cast<std::int64_t>(ps.change_limit->period_s);
    if (change >= spec.publish.deviation) {
      u.publish = PublishReason::kDeviation;
    } else if (u.stepped && allowance_full) {
      u.publish = PublishReason::kCatchUp;
    } else if (now - ps.last_published->first >= spec.publish.heartbeat_s) {
      u.publish = PublishReason::kHeartbeat;
    } else if (ps.restored && ps.last_report &&
               (to_wad(u.published_var) != ps.last_report->value_at_risk ||
                to_wad(u.published_cvar) != ps.last_report->expected_shortfall)) {
      // A restarted keeper's first decision: the stored report is another run's
      // (restore_published).
      u.publish = PublishReason::kFirst;
    }
  }
  ps.restored = false;
  u.rebalance = ps.rebalance.update(now, u.published_var);
  u.payout = ps.payout.update(now, u.published_var);
  return u;
}

// The aligned log-returns of the common period starts of every asset `spec` holds (the last
// spec.window of them), memoised for the tick by (assets, period, window).
const Pipeline::State::AlignedWindow& Pipeline::State::aligned_window(const PortfolioSpec& spec) {
  for (const auto& a : aligned) {
    if (a.period_s == spec.period_s && a.window == spec.window &&
        a.symbols.size() == spec.positions.size() &&
        std::equal(a.symbols.begin(), a.symbols.end(), spec.positions.begin(),
                   [](const std::string& s, const auto& p) { return s == p.first; })) {
      return a;
    }
  }
  AlignedWindow a;
  a.period_s = spec.period_s;
  a.window = spec.window;
  std::vector<const Closes*> series;
  for (const auto& [sym, qty] : spec.positions) {
    a.symbols.push_back(sym);
    series.push_back(&history[{sym, spec.period_s}]);
  }
  std::vector<std::int64_t> common;
  for (const auto& entry : *series[0]) {
    // A copy, not a structured binding: a lambda cannot capture a binding before C++20 P1091,
    // which clang-tidy's (clang 14) parser does not implement.
    const std::int64_t t = entry.first;
    if (std::all_of(series.begin() + 1, series.end(),
                    [&](const Closes* c) { return c->count(t) != 0; })) {
      common.push_back(t);
    }
  }
  a.rows = common.size() > spec.window + 1 ? spec.window + 1 : common.size();
  if (a.rows > 0) {
    a.key.push_back(static_cast<double>(common.back()));
    a.key.push_back(static_cast<double>(a.rows));
    for (const auto* c : series) {
      a.key.push_back(c->at(common.back()));
    }
    std::vector<double> prices;
    prices.reserve(a.rows * series.size());
    for (std::size_t r = common.size() - a.rows; r < common.size(); ++r) {
      for (const auto* c : series) {
        prices.push_back(c->at(common[r]));
      }
    }
    if (a.rows >= 2) {
      a.returns = risk::log_returns(prices, series.size());
    }
  }
  aligned.push_back(std::move(a));
  return aligned.back();
}

// The engine's estimate over the aligned log-returns of the common period starts of every asset
// held, recomputed only when the window changed. False (with a note) while history is short.
bool Pipeline::State::estimate(const PortfolioSpec& spec, PortfolioState& ps,
                               const std::vector<double>& values, PortfolioUpdate& u) {
  const AlignedWindow& a = aligned_window(spec);
  const std::size_t rows = a.rows;
  const std::size_t n_assets = spec.positions.size();
  if (rows < spec.min_obs + 1) {
    u.note = "collecting history (" + std::to_string(rows == 0 ? 0 : rows - 1) + " of " +
             std::to_string(spec.min_obs) + " returns)";
    return false;
  }
  if (!ps.last_estimate || a.key != ps.estimate_key) {
    std::vector<double> weights;
    weights.reserve(values.size());
    for (double v : values) {
      weights.push_back(v / u.value);
    }
    const risk::ReturnWindow window{a.returns, n_assets};
    ps.last_estimate = risk::estimate_risk(spec.method, window, weights, spec.risk);
    ps.estimate_key = a.key;
  }
  u.has_estimate = true;
  u.computed = *ps.last_estimate;
  return true;
}

}  // namespace varkeeper::keeper
