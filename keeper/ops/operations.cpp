#include "keeper/ops/operations.hpp"

#include <chrono>
#include <optional>
#include <utility>

namespace varkeeper::keeper {

struct Operations::State {
  explicit State(ReadinessPolicy policy) : readiness(policy) {}
  MetricsRegistry registry;
  KeeperMetrics metrics{registry};
  ReadinessTracker readiness;
  std::function<std::int64_t()> now;
  std::optional<HttpServer> server;  // last: stopped before what its handlers read is destroyed
};

chain::Expected<Operations, HttpServerError> Operations::start(OperationsOptions options) {
  auto state = std::make_unique<State>(options.readiness);
  state->now = options.now ? std::move(options.now) : [] {
    return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
  };
  State* s = state.get();
  HttpServerOptions http;
  http.address = std::move(options.address);
  http.allow_non_loopback = options.allow_non_loopback;
  auto server = HttpServer::start(std::move(http), {[s] { return s->registry.render(); },
                                                    [s] { return s->readiness.check(s->now()); }});
  if (!server) {
    return chain::unexpected(server.error());
  }
  state->server.emplace(std::move(server).value());
  return Operations(std::move(state));
}

Operations::Operations(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}
Operations::Operations(Operations&&) noexcept = default;
Operations& Operations::operator=(Operations&&) noexcept = default;
Operations::~Operations() = default;

MetricsRegistry& Operations::registry() noexcept { return state_->registry; }
KeeperMetrics& Operations::metrics() noexcept { return state_->metrics; }
ReadinessTracker& Operations::readiness() noexcept { return state_->readiness; }

std::string Operations::url() const {
  return state_ && state_->server ? state_->server->url() : std::string();
}

void Operations::stop() {
  if (state_ && state_->server) {
    state_->server->stop();
  }
}

}  // namespace varkeeper::keeper
