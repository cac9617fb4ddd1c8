#include "keeper/ops/web_state.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <exception>
#include <mutex>
#include <utility>

#include "risk/backtest.hpp"

namespace varkeeper::keeper {

namespace {

using nlohmann::json;

// Non-finite figures are null in JSON (nlohmann would write them as null too; explicit here).
json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

struct HistoryPoint {
  std::uint64_t tick = 0;
  std::int64_t time = 0;
  std::int64_t t = 0;
  double value = 0.0;
  double var = 0.0;
  double cvar = 0.0;
  double published_var = 0.0;
  double published_cvar = 0.0;
  std::optional<double> onchain_var;
  std::optional<double> onchain_cvar;
  std::optional<std::uint64_t> onchain_round;
  std::string breaker;
  std::string publish;
  std::string rebalance;
  std::string payout;
};

json point_json(const HistoryPoint& p) {
  json j = {{"tick", p.tick},
            {"time", p.time},
            {"t", p.t},
            {"value", num(p.value)},
            {"var", num(p.var)},
            {"cvar", num(p.cvar)},
            {"published_var", num(p.published_var)},
            {"published_cvar", num(p.published_cvar)},
            {"onchain_var", p.onchain_var ? num(*p.onchain_var) : json(nullptr)},
            {"onchain_cvar", p.onchain_cvar ? num(*p.onchain_cvar) : json(nullptr)},
            {"onchain_round", p.onchain_round ? json(*p.onchain_round) : json(nullptr)},
            {"breaker", p.breaker},
            {"publish", p.publish},
            {"rebalance", p.rebalance},
            {"payout", p.payout}};
  return j;
}

// The rolling backtest of the published VaR (the oracle's where it has one, else the keeper's
// report) against the realised move of the portfolio's value over the VaR's horizon: each
// observation time t with a forecast is paired with the first later observation at or after
// t + horizon x period; a loss beyond the VaR is an exception.
json backtest_json(const std::deque<HistoryPoint>& history, const WebPortfolio& p) {
  // One forecast per observation time (several ticks may see the same prices).
  std::vector<const HistoryPoint*> obs;
  for (const auto& h : history) {
    if (h.value <= 0.0 || h.t == 0) {
      continue;
    }
    if (!obs.empty() && obs.back()->t == h.t) {
      obs.back() = &h;
    } else if (obs.empty() || h.t > obs.back()->t) {
      obs.push_back(&h);
    }
  }
  std::vector<double> realized;
  std::vector<double> var;
  std::vector<double> es;
  const std::int64_t span = static_cast<std::int64_t>(p.horizon) * p.period_s;
  std::size_t j = 0;
  for (std::size_t i = 0; i < obs.size(); ++i) {
    const double f_var = obs[i]->onchain_var.value_or(obs[i]->published_var);
    const double f_es = obs[i]->onchain_cvar.value_or(obs[i]->published_cvar);
    if (f_var <= 0.0) {
      continue;
    }
    j = std::max(j, i + 1);
    while (j < obs.size() && obs[j]->t < obs[i]->t + span) {
      ++j;
    }
    if (j >= obs.size()) {
      break;
    }
    realized.push_back(obs[j]->value / obs[i]->value - 1.0);
    var.push_back(f_var);
    es.push_back(std::max(f_es, f_var));
  }
  json j_out = {{"n", realized.size()}, {"confidence", p.confidence}};
  if (realized.size() < 10) {
    j_out["note"] =
        "needs 10 forecasts with a realised move (has " + std::to_string(realized.size()) + ")";
    return j_out;
  }
  try {
    risk::BacktestOptions options;
    options.confidence = p.confidence;
    options.shortfall.simulations = 0;
    const auto r = risk::run_backtest(realized, var, es, options);
    j_out["exceptions"] = r.exceptions;
    j_out["expected_exceptions"] = num(r.expected_exceptions);
    j_out["kupiec_p"] = num(r.pof.p_value);
    j_out["christoffersen_p"] = num(r.independence.p_value);
    j_out["conditional_coverage_p"] = num(r.conditional_coverage.p_value);
    j_out["zone"] = risk::to_string(r.traffic_light.zone);
  } catch (const std::exception& e) {
    j_out["note"] = e.what();
  }
  return j_out;
}

json portfolio_json_of(const WebPortfolio& p) {
  json comps = json::array();
  for (const auto& c : p.components) {
    comps.push_back({{"asset", c.asset},
                     {"quantity", num(c.quantity)},
                     {"value", num(c.value)},
                     {"var", num(c.var)},
                     {"cvar", num(c.cvar)}});
  }
  json j = {{"id", p.id},
            {"name", p.name},
            {"method", p.method},
            {"confidence", num(p.confidence)},
            {"horizon", p.horizon},
            {"period_s", p.period_s},
            {"has_estimate", p.has_estimate},
            {"note", p.note},
            {"t", p.t},
            {"value", num(p.value)},
            {"var", num(p.var)},
            {"cvar", num(p.cvar)},
            {"published_var", num(p.published_var)},
            {"published_cvar", num(p.published_cvar)},
            {"breaker", p.breaker},
            {"publish", p.publish},
            {"rebalance", p.rebalance},
            {"payout", p.payout},
            {"components", std::move(comps)},
            {"onchain", nullptr}};
  if (p.onchain) {
    j["onchain"] = {{"round", p.onchain->round},
                    {"var", num(p.onchain->var)},
                    {"cvar", num(p.onchain->cvar)},
                    {"observed_at", p.onchain->observed_at},
                    {"accepted_at", p.onchain->accepted_at},
                    {"breaker", p.onchain->breaker}};
  }
  return j;
}

}  // namespace

std::string sse_event(std::uint64_t id, const std::string& name, const std::string& data) {
  std::string out = "id: " + std::to_string(id) + "\nevent: " + name + "\ndata: ";
  for (const char c : data) {  // one data line: JSON dumps escape newlines in strings already
    if (c != '\n' && c != '\r') {
      out += c;
    }
  }
  out += "\n\n";
  return out;
}

struct WebState::Impl {
  explicit Impl(std::size_t points) : history_points(points) {}
  std::size_t history_points;
  mutable std::mutex mutex;
  std::uint64_t seq = 0;
  std::string state;
  std::string event;
  std::map<std::uint64_t, std::deque<HistoryPoint>> history;
  std::map<std::uint64_t, json> portfolio_docs;  // the latest figures and backtest
  json thresholds;
  std::map<std::string, std::uint64_t> incidents_total;
  std::deque<std::pair<std::uint64_t, std::map<std::string, std::uint64_t>>> incident_ticks;
  std::function<void(const std::string&)> listener;
};

WebState::WebState(std::size_t history_points)
    : impl_(std::make_unique<Impl>(std::max<std::size_t>(history_points, 2))) {
  impl_->state = json{{"seq", 0}, {"portfolios", json::array()}}.dump();
}
WebState::~WebState() = default;

void WebState::publish(const WebSnapshot& s) {
  std::function<void(const std::string&)> listener;
  std::string event;
  {
    const std::lock_guard lock(impl_->mutex);
    auto& im = *impl_;
    ++im.seq;
    // History and backtests, per portfolio.
    json portfolios = json::array();
    std::map<std::uint64_t, json> docs;
    for (const auto& p : s.portfolios) {
      auto& h = im.history[p.id];
      if (p.has_estimate) {
        HistoryPoint pt;
        pt.tick = s.tick;
        pt.time = s.time;
        pt.t = p.t;
        pt.value = p.value;
        pt.var = p.var;
        pt.cvar = p.cvar;
        pt.published_var = p.published_var;
        pt.published_cvar = p.published_cvar;
        if (p.onchain) {
          pt.onchain_var = p.onchain->var;
          pt.onchain_cvar = p.onchain->cvar;
          pt.onchain_round = p.onchain->round;
        }
        pt.breaker = p.breaker;
        pt.publish = p.publish;
        pt.rebalance = p.rebalance;
        pt.payout = p.payout;
        h.push_back(std::move(pt));
        while (h.size() > im.history_points) {
          h.pop_front();
        }
      }
      json pj = portfolio_json_of(p);
      pj["backtest"] = backtest_json(h, p);
      docs[p.id] = pj;
      portfolios.push_back(std::move(pj));
    }
    im.portfolio_docs = std::move(docs);
    im.thresholds = {{"rebalance_upper", s.rebalance_upper},
                     {"rebalance_lower", s.rebalance_lower},
                     {"payout_upper", s.payout_upper},
                     {"payout_lower", s.payout_lower}};
    // Incidents: totals and per-tick counts.
    std::map<std::string, std::uint64_t> this_tick;
    for (const auto& c : s.incidents) {
      ++this_tick[c];
      ++im.incidents_total[c];
    }
    im.incident_ticks.emplace_back(s.tick, std::move(this_tick));
    while (im.incident_ticks.size() > im.history_points) {
      im.incident_ticks.pop_front();
    }
    json incident_series = json::array();
    for (const auto& [tick, counts] : im.incident_ticks) {
      if (!counts.empty()) {
        incident_series.push_back({{"tick", tick}, {"counts", counts}});
      }
    }
    json endpoints = json::array();
    for (const auto& e : s.keeper.endpoints) {
      endpoints.push_back({{"endpoint", e.endpoint},
                           {"head", e.head},
                           {"head_lag", e.head_lag},
                           {"errors", e.errors}});
    }
    json oprisk_rows = json::array();
    for (const auto& r : s.oprisk) {
      oprisk_rows.push_back({{"category", r.category},
                             {"aro_hybrid", num(r.aro_hybrid)},
                             {"aro_internal", num(r.aro_internal)},
                             {"ale", num(r.ale)}});
    }
    json instruments = json::array();
    for (const auto& i : s.instruments) {
      json fields = json::array();
      for (const auto& [label, value] : i.fields) {
        fields.push_back({label, value});
      }
      instruments.push_back(
          {{"name", i.name}, {"address", i.address}, {"fields", std::move(fields)}});
    }
    json prices = json::object();
    for (const auto& [a, v] : s.prices) {
      prices[a] = num(v);
    }
    const json state = {
        {"seq", im.seq},
        {"tick", s.tick},
        {"block", s.block},
        {"time", s.time},
        {"mode", s.mode},
        {"assets", s.assets},
        {"prices", std::move(prices)},
        {"thresholds", im.thresholds},
        {"portfolios", std::move(portfolios)},
        {"keeper",
         {{"tx_by_state", s.keeper.tx_by_state},
          {"tx_finalized", s.keeper.tx_finalized},
          {"tx_fatal", s.keeper.tx_fatal},
          {"oldest_unconfirmed_s", num(s.keeper.oldest_unconfirmed_s)},
          {"sender_balance_eth",
           s.keeper.sender_balance_eth ? num(*s.keeper.sender_balance_eth) : json(nullptr)},
          {"endpoints", std::move(endpoints)},
          {"errors", s.keeper.errors},
          {"actions", s.keeper.actions},
          {"confirmations", s.keeper.confirmations},
          {"tick_seconds", num(s.keeper.tick_seconds)}}},
        {"oprisk",
         {{"incidents_total", im.incidents_total},
          {"incidents", std::move(incident_series)},
          {"rows", std::move(oprisk_rows)}}},
        {"instruments", std::move(instruments)}};
    im.state = state.dump();
    im.event = sse_event(im.seq, "state", im.state);
    event = im.event;
    listener = im.listener;
  }
  if (listener) {
    listener(event);
  }
}

std::string WebState::state_json() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->state;
}

std::optional<std::string> WebState::portfolio_json(std::uint64_t id) const {
  const std::lock_guard lock(impl_->mutex);
  const auto it = impl_->portfolio_docs.find(id);
  if (it == impl_->portfolio_docs.end()) {
    return std::nullopt;
  }
  // Rendered on request: the history is long and most ticks nobody asks for it.
  json doc = it->second;
  json series = json::array();
  if (const auto h = impl_->history.find(id); h != impl_->history.end()) {
    for (const auto& pt : h->second) {
      series.push_back(point_json(pt));
    }
  }
  doc["history"] = std::move(series);
  doc["thresholds"] = impl_->thresholds;
  return doc.dump();
}

std::string WebState::stream_event() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->event;
}

std::uint64_t WebState::seq() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->seq;
}

void WebState::set_listener(std::function<void(const std::string&)> listener) {
  const std::lock_guard lock(impl_->mutex);
  impl_->listener = std::move(listener);
}

}  // namespace varkeeper::keeper
