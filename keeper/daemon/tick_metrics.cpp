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
  const auto& st = tx.stats();
  m.tx_state.set({"confirmed"}, static_cast<double>(st.confirmed));
  m.tx_state.set({"finalized"}, static_cast<double>(st.finalized));
  m.tx_state.set({"fatal"}, static_cast<double>(st.fatal));
}

}  // namespace varkeeper::keeper
