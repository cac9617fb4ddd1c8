// The daemon's operations endpoint in one piece: the metrics registry with the keeper's families,
// the readiness tracker, the web view's state (keeper/ops/web_state.hpp), and the HTTP server
// answering /metrics, /healthz, /readyz, the web page (/), its JSON API (/api/v1/state,
// /api/v1/portfolio?id=N) and its server-sent events (/api/v1/stream) from them.
//
//   auto ops = Operations::start({settings.metrics_host + ":" + port, settings.metrics_public});
//   if (!ops) -> one-sentence startup error: ops.error().message
//   ops->metrics().tick_seconds.observe(summary.seconds);
//   ops->readiness().prices_fresh(now);  ops->readiness().publish_succeeded(now);
//   ...; ops->stop();  // before exit (also on destruction)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "chain/expected.hpp"
#include "keeper/ops/http_server.hpp"
#include "keeper/ops/metrics.hpp"
#include "keeper/ops/readiness.hpp"
#include "keeper/ops/web_state.hpp"

namespace varkeeper::keeper {

struct OperationsOptions {
  std::string address = "127.0.0.1:9464";  // [keeper] metrics_address
  bool allow_non_loopback = false;         // [keeper] metrics_public
  ReadinessPolicy readiness;
  // The keeper's clock in Unix seconds (the wall clock by default), for /readyz's ages.
  std::function<std::int64_t()> now;
};

class Operations {
 public:
  [[nodiscard]] static chain::Expected<Operations, HttpServerError> start(
      OperationsOptions options);
  Operations(Operations&&) noexcept;
  Operations& operator=(Operations&&) noexcept;
  ~Operations();  // stops the server first, then frees what its handlers read

  [[nodiscard]] MetricsRegistry& registry() noexcept;
  [[nodiscard]] KeeperMetrics& metrics() noexcept;
  [[nodiscard]] ReadinessTracker& readiness() noexcept;
  [[nodiscard]] WebState& web() noexcept;  // the tick publishes here; the page reads it
  [[nodiscard]] std::string url() const;   // "http://127.0.0.1:9464"
  void stop();                             // stops the HTTP server; idempotent

 private:
  struct State;
  explicit Operations(std::unique_ptr<State> state) noexcept;
  std::unique_ptr<State> state_;
};

}  // namespace varkeeper::keeper
