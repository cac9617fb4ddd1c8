#include "keeper/daemon/web_publisher.hpp"

#include "chain/endpoint_pool.hpp"
#include "keeper/core/reporter.hpp"
#include "risk/circuit_breaker.hpp"

namespace varkeeper::keeper {

namespace {

constexpr double kWad = 1e18;

const char* edge_name(risk::ActionEdge e) {
  switch (e) {
    case risk::ActionEdge::kFired: return "fired";
    case risk::ActionEdge::kReset: return "reset";
    case risk::ActionEdge::kNone: break;
  }
  return "none";
}

}  // namespace

void WebPublisher::record(const TickSummary& s, chain::EthClient& eth, const chain::TxManager& tx) {
  WebSnapshot snap;
  snap.tick = s.tick;
  snap.block = s.block;
  snap.time = s.now;
  for (const auto& a : config_.assets) {
    snap.assets.push_back(a.symbol);
  }
  snap.prices = s.pipeline.prices;
  snap.rebalance_upper = config_.breaker.actions.rebalance.upper;
  snap.rebalance_lower = config_.breaker.actions.rebalance.lower;
  snap.payout_upper = config_.breaker.actions.payout.upper;
  snap.payout_lower = config_.breaker.actions.payout.lower;

  for (const auto& spec : config_.portfolios) {
    WebPortfolio p;
    p.id = spec.id;
    p.name = spec.name;
    p.method = std::string(risk::to_string(spec.method));
    p.confidence = spec.risk.confidence;
    p.horizon = spec.risk.horizon;
    p.period_s = spec.period_s;
    for (const auto& u : s.pipeline.portfolios) {
      if (u.portfolio_id != spec.id) {
        continue;
      }
      p.has_estimate = u.has_estimate;
      p.note = u.note;
      p.t = u.t;
      p.value = u.value;
      p.var = u.computed.var;
      p.cvar = u.computed.cvar;
      p.published_var = u.published_var;
      p.published_cvar = u.published_cvar;
      p.breaker = risk::to_string(u.status);
      p.publish = to_string(u.publish);
      p.rebalance = edge_name(u.rebalance);
      p.payout = edge_name(u.payout);
      for (std::size_t i = 0; i < spec.positions.size(); ++i) {
        WebComponent c;
        c.asset = spec.positions[i].first;
        c.quantity = spec.positions[i].second;
        if (const auto it = s.pipeline.prices.find(c.asset); it != s.pipeline.prices.end()) {
          c.value = c.quantity * it->second;
        }
        if (i < u.computed.component_var.size()) {
          c.var = u.computed.component_var[i];
        }
        if (i < u.computed.component_cvar.size()) {
          c.cvar = u.computed.component_cvar[i];
        }
        p.components.push_back(std::move(c));
      }
    }
    // The oracle's stored report, as a reader of the chain sees it (a failed read keeps the
    // last one). Asked once the keeper has a published figure for the portfolio: before any
    // report, latest() reverts with NoReport and would only add to the RPC error counts.
    if (p.published_var <= 0.0 && onchain_.count(spec.id) == 0) {
      snap.portfolios.push_back(std::move(p));
      continue;
    }
    if (auto data = eth.call({{}, oracle_, latest_calldata(spec.id), {}, {}})) {
      if (const auto r = decode_accepted_report(*data)) {
        WebOnchainReport o;
        o.round = r->round;
        o.var = static_cast<double>(r->value_at_risk) / kWad;
        o.cvar = static_cast<double>(r->expected_shortfall) / kWad;
        o.observed_at = static_cast<std::int64_t>(r->observed_at);
        o.accepted_at = static_cast<std::int64_t>(r->accepted_at);
        o.breaker = risk::to_string(static_cast<risk::BreakerStatus>(r->breaker_status));
        onchain_[spec.id] = o;
      }
    }
    if (const auto it = onchain_.find(spec.id); it != onchain_.end()) {
      p.onchain = it->second;
    }
    snap.portfolios.push_back(std::move(p));
  }

  auto& k = snap.keeper;
  const auto& g = tx.gauges();
  for (const auto state :
       {chain::TxState::kUnstarted, chain::TxState::kInProgress, chain::TxState::kUnconfirmed,
        chain::TxState::kConfirmedMissingReceipt, chain::TxState::kConfirmed}) {
    const auto it = g.open_by_state.find(state);
    k.tx_by_state[std::string(chain::to_string(state))] =
        it == g.open_by_state.end() ? 0.0 : static_cast<double>(it->second);
  }
  k.tx_finalized = tx.stats().finalized;
  k.tx_fatal = tx.stats().fatal;
  k.oldest_unconfirmed_s = g.oldest_unconfirmed_seconds;
  if (g.sender_balance_wei) {
    k.sender_balance_eth = static_cast<double>(g.sender_balance_wei->convert_to<long double>() /
                                               static_cast<long double>(kWad));
  }
  auto& pool = eth.pool();
  const auto health = pool.health();
  for (std::size_t i = 0; i < health.size(); ++i) {
    WebEndpoint e;
    e.endpoint = health[i].endpoint;
    e.head = health[i].head.value_or(0);
    e.head_lag = health[i].head_lag;
    if (i < pool.size()) {
      const auto& c = pool.client(i).counters();
      for (int kind = 0; kind < 8; ++kind) {
        if (c.errors_by_kind[kind] > 0) {
          e.errors[std::string(chain::to_string(static_cast<chain::RpcErrorKind>(kind)))] =
              c.errors_by_kind[kind];
        }
      }
    }
    k.endpoints.push_back(std::move(e));
  }
  k.errors = s.errors;
  k.actions = s.actions;
  k.confirmations = s.confirmations;
  k.tick_seconds = s.seconds;
  for (const auto& inc : s.pipeline.incidents) {
    snap.incidents.push_back(inc.category);
  }
  web_.publish(snap);
}

}  // namespace varkeeper::keeper
