#include "keeper/daemon/tick_metrics.hpp"

namespace varkeeper::keeper {

void TickMetrics::record(const TickSummary& s, chain::EthClient& eth, const chain::TxManager& tx) {
  auto& m = ops_.metrics();
  m.tick_seconds.observe(s.seconds);
  for (const auto& [asset, price] : s.pipeline.prices) {
    m.price.set({asset}, price);
  }
  if (s.pipeline.prices.size() == assets_ && s.now > 0) {
    ops_.readiness().prices_fresh(s.now);
  }
  for (const auto& u : s.pipeline.portfolios) {
    if (!u.has_estimate) {
      continue;
    }
    const std::string pid = std::to_string(u.portfolio_id);
    m.portfolio_var.set({pid}, u.computed.var);
    m.portfolio_cvar.set({pid}, u.computed.cvar);
    m.portfolio_published_var.set({pid}, u.published_var);
    m.breaker_state.set({pid}, static_cast<double>(u.status));
    for (const auto& d : u.computed.diagnostics) {
      m.risk_diagnostics.inc({pid, std::string(risk::to_string(d.kind))});
    }
  }
  for (const auto& r : s.submitted.reports) {
    for (const auto& u : s.pipeline.portfolios) {
      if (u.portfolio_id == r.portfolio_id) {
        m.reports_published.inc({std::to_string(r.portfolio_id), to_string(u.publish)});
      }
    }
  }
  for (const auto& inc : s.pipeline.incidents) {
    m.incidents.inc({inc.category});
  }
  if (!s.confirmations.empty() && s.now > 0) {
    ops_.readiness().publish_succeeded(s.now);
    for (const auto& r : s.submitted.reports) {
      m.last_publish_timestamp_seconds.set({std::to_string(r.portfolio_id)},
                                           static_cast<double>(s.now));
    }
  }
  // Gas and RPC errors are cumulative in their sources: add what is new since the last tick.
  const chain::U256 gas = tx.stats().gas_spent_wei;
  if (gas > gas_seen_) {
    m.gas_spent_wei.inc({}, static_cast<double>((gas - gas_seen_).convert_to<long double>()));
    gas_seen_ = gas;
  }
  auto& pool = eth.pool();
  const auto health = pool.health();
  for (const auto& h : health) {
    if (h.head) {
      head_lag_.set({h.endpoint}, static_cast<double>(h.head_lag));
    }
  }
  for (std::size_t i = 0; i < pool.size(); ++i) {
    const auto& c = pool.client(i).counters();
    for (int k = 0; k < 8; ++k) {
      auto& seen = rpc_errors_seen_[{health[i].endpoint, k}];
      if (c.errors_by_kind[k] > seen) {
        m.rpc_errors.inc({health[i].endpoint,
                          std::string(chain::to_string(static_cast<chain::RpcErrorKind>(k)))},
                         static_cast<double>(c.errors_by_kind[k] - seen));
        seen = c.errors_by_kind[k];
      }
    }
  }
  record_tx(tx);
}

TickMetrics::TxFamilies::TxFamilies(MetricsRegistry& r)
    : finished(r.counter("varkeeper_tx_finished_total",
                         "Transactions this process saw become finalized or fatal.", {"state"})),
      oldest_unconfirmed(
          r.gauge("varkeeper_tx_oldest_unconfirmed_seconds",
                  "Age of the oldest transaction holding a nonce without a receipt.")),
      attempts_max(
          r.gauge("varkeeper_tx_attempts_max", "Most attempts signed for one open transaction.")),
      attempts_open(
          r.gauge("varkeeper_tx_attempts_open", "Attempts signed for all open transactions.")),
      sender_balance(r.gauge("varkeeper_sender_balance_wei",
                             "The transaction sender's balance at the last tick, in wei.")),
      alerts(r.counter("varkeeper_tx_alerts_total",
                       "Transaction-manager alerts: insufficient_funds, fee_cap_reached, "
                       "missing_receipt, wrong_receipt.",
                       {"kind"})) {}

void TickMetrics::record_tx(const chain::TxManager& tx) {
  auto& m = ops_.metrics();
  const auto& g = tx.gauges();
  for (const auto state :
       {chain::TxState::kUnstarted, chain::TxState::kInProgress, chain::TxState::kUnconfirmed,
        chain::TxState::kConfirmedMissingReceipt, chain::TxState::kConfirmed}) {
    const auto it = g.open_by_state.find(state);
    m.tx_state.set({std::string(chain::to_string(state))},
                   it == g.open_by_state.end() ? 0.0 : static_cast<double>(it->second));
  }
  tx_.oldest_unconfirmed.set(g.oldest_unconfirmed_seconds);
  tx_.attempts_max.set(static_cast<double>(g.max_attempts));
  tx_.attempts_open.set(static_cast<double>(g.attempts_open));
  if (g.sender_balance_wei) {
    tx_.sender_balance.set(static_cast<double>(g.sender_balance_wei->convert_to<long double>()));
  }
  // Cumulative in the manager: add what is new since the last tick.
  const auto& st = tx.stats();
  const auto add = [&](Counter& c, const std::string& label, std::uint64_t total) {
    auto& seen = tx_.seen[label];
    if (total > seen) {
      c.inc({label}, static_cast<double>(total - seen));
      seen = total;
    }
  };
  add(tx_.finished, "finalized", st.finalized);
  add(tx_.finished, "fatal", st.fatal);
  add(tx_.alerts, "insufficient_funds", st.insufficient_funds);
  add(tx_.alerts, "fee_cap_reached", st.fee_cap_reached);
  add(tx_.alerts, "missing_receipt", st.missing_receipts);
  add(tx_.alerts, "wrong_receipt", st.wrong_receipts);
  add(tx_.alerts, "reorg", st.reorgs);
}

}  // namespace varkeeper::keeper
