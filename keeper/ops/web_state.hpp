// What the web view (issue 19) shows, as the keeper's tick left it: a thread-safe snapshot the
// tick publishes and the operations server reads. Every figure on the page comes from the JSON
// rendered here (docs/operations.md, "Web view and JSON API"):
//
//   GET /api/v1/state            the latest snapshot (portfolios, components, keeper, oprisk)
//   GET /api/v1/portfolio/<id>   one portfolio's history (computed, published and on-chain VaR
//                                and CVaR per tick, breaker states, actions) and its backtest
//   GET /api/v1/stream           server-sent events: one `state` event per tick (the snapshot)
//
// The keeper thread calls publish() once per tick; the server thread calls the readers. Renders
// happen in publish(), so a reader only copies a string under the lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace varkeeper::keeper {

struct WebComponent {
  std::string asset;
  double quantity = 0.0;
  double value = 0.0;  // quantity x price, USD
  double var = 0.0;    // Euler component of VaR, a fraction of the portfolio value
  double cvar = 0.0;   // Euler component of CVaR
};

// The oracle's stored report for a portfolio (RiskOracle.latest), read after the tick.
struct WebOnchainReport {
  std::uint64_t round = 0;
  double var = 0.0;  // valueAtRisk / 1e18
  double cvar = 0.0;
  std::int64_t observed_at = 0;
  std::int64_t accepted_at = 0;
  std::string breaker;
};

struct WebPortfolio {
  std::uint64_t id = 0;
  std::string name;
  std::string method;
  double confidence = 0.0;
  int horizon = 1;  // periods
  std::int64_t period_s = 86'400;
  bool has_estimate = false;
  std::string note;    // why there is no estimate
  std::int64_t t = 0;  // observation time of the prices
  double value = 0.0;  // USD
  double var = 0.0;    // computed (fractions of value)
  double cvar = 0.0;
  double published_var = 0.0;  // what the keeper's report carries
  double published_cvar = 0.0;
  std::string breaker = "normal";
  std::string publish = "none";    // why (or whether) a report was made this tick
  std::string rebalance = "none";  // hysteresis edge this tick: none, fired, reset
  std::string payout = "none";
  std::vector<WebComponent> components;
  std::optional<WebOnchainReport> onchain;
};

struct WebEndpoint {
  std::string endpoint;
  std::uint64_t head = 0;
  std::uint64_t head_lag = 0;
  std::map<std::string, std::uint64_t> errors;  // RPC error kind -> count since start
};

struct WebKeeperHealth {
  std::map<std::string, double> tx_by_state;  // open transactions per state
  std::uint64_t tx_finalized = 0;             // since start
  std::uint64_t tx_fatal = 0;
  double oldest_unconfirmed_s = 0.0;
  std::optional<double> sender_balance_eth;
  std::vector<WebEndpoint> endpoints;
  std::vector<std::string> errors;         // this tick's RPC failures
  std::vector<std::string> actions;        // "rebalance sent", ...
  std::vector<std::string> confirmations;  // "round 3 of portfolio 1 accepted in block 42, ..."
  double tick_seconds = 0.0;
};

struct WebOpriskRow {
  std::string category;
  double aro_hybrid = 0.0;
  double aro_internal = 0.0;
  double ale = 0.0;
};

// A contract the keeper drives (VaRProtection, RiskRebalancer) and what it holds, as read.
struct WebInstrument {
  std::string name;
  std::string address;
  std::vector<std::pair<std::string, std::string>> fields;  // label -> display value
};

struct WebSnapshot {
  std::uint64_t tick = 0;
  std::uint64_t block = 0;
  std::int64_t time = 0;  // the keeper's clock (Unix seconds)
  std::string mode;       // "local", "daemon"
  std::vector<std::string> assets;
  std::map<std::string, double> prices;
  double rebalance_upper = 0.0;  // breaker.actions thresholds (VaR fractions)
  double rebalance_lower = 0.0;
  double payout_upper = 0.0;
  double payout_lower = 0.0;
  std::vector<WebPortfolio> portfolios;
  WebKeeperHealth keeper;
  std::vector<std::string> incidents;  // categories of this tick's incidents
  std::vector<WebOpriskRow> oprisk;    // ARO/ALE when [oprisk] is configured
  std::vector<WebInstrument> instruments;
};

class WebState {
 public:
  // `history_points`: ticks kept per portfolio (and of incident counts).
  explicit WebState(std::size_t history_points = 2'000);
  ~WebState();
  WebState(const WebState&) = delete;
  WebState& operator=(const WebState&) = delete;

  // The keeper thread, once per tick. Renders the JSON documents and calls the listener with the
  // stream event.
  void publish(const WebSnapshot& snapshot);

  // The server thread.
  [[nodiscard]] std::string state_json() const;  // {"seq":0,...} before the first tick
  [[nodiscard]] std::optional<std::string> portfolio_json(std::uint64_t id) const;
  // The latest `state` event in text/event-stream form (empty before the first tick).
  [[nodiscard]] std::string stream_event() const;
  [[nodiscard]] std::uint64_t seq() const;

  // Called by publish() with each new stream event (the server broadcasts it to its streams).
  void set_listener(std::function<void(const std::string& event)> listener);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One server-sent event: "id: <id>\nevent: <name>\ndata: <json>\n\n" (the JSON on one line).
[[nodiscard]] std::string sse_event(std::uint64_t id, const std::string& name,
                                    const std::string& data);

}  // namespace varkeeper::keeper
