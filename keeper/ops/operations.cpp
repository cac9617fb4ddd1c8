#include "keeper/ops/operations.hpp"

#include <charconv>
#include <chrono>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "keeper/ops/web_assets.hpp"

namespace varkeeper::keeper {

struct Operations::State {
  explicit State(ReadinessPolicy policy) : readiness(policy) {}
  MetricsRegistry registry;
  KeeperMetrics metrics{registry};
  ReadinessTracker readiness;
  WebState web;
  std::function<std::int64_t()> now;
  std::optional<HttpServer> server;  // last: stopped before what its handlers read is destroyed
};

namespace {

HttpRouteReply json_reply(std::string body) {
  HttpRouteReply r;
  r.body = std::move(body);
  r.content_type = "application/json";
  return r;
}

HttpRouteReply not_found(std::string why) {
  HttpRouteReply r;
  r.status = 404;
  r.body = std::move(why);
  return r;
}

// The page's files and its JSON API (docs/operations.md, "Web view and JSON API").
std::vector<HttpRoute> web_routes(const WebState& web) {
  std::vector<HttpRoute> routes;
  for (const char* path : {"/", "/app.js", "/style.css"}) {
    routes.push_back({"GET", path, 0, [path](const HttpRouteRequest&) {
                        const WebAsset* a = find_web_asset(path);
                        if (a == nullptr) {
                          return not_found("not found\n");
                        }
                        HttpRouteReply r;
                        r.body = std::string(a->body);
                        r.content_type = std::string(a->content_type);
                        return r;
                      }});
  }
  routes.push_back({"GET", "/api/v1/state", 0,
                    [&web](const HttpRouteRequest&) { return json_reply(web.state_json()); }});
  routes.push_back({"GET", "/api/v1/portfolio", 0, [&web](const HttpRouteRequest& req) {
                      // ?id=N
                      std::uint64_t id = 0;
                      const auto at = req.query.find("id=");
                      if (at != 0 && (at == std::string_view::npos || req.query[at - 1] != '&')) {
                        return not_found("no portfolio id (?id=N)\n");
                      }
                      const std::string_view v = req.query.substr(at + 3);
                      const auto r = std::from_chars(v.data(), v.data() + v.size(), id);
                      if (r.ec != std::errc{}) {
                        return not_found("no portfolio id (?id=N)\n");
                      }
                      auto doc = web.portfolio_json(id);
                      if (!doc) {
                        return not_found("no portfolio " + std::to_string(id) + "\n");
                      }
                      return json_reply(std::move(*doc));
                    }});
  return routes;
}

}  // namespace

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
  http.stream_path = "/api/v1/stream";  // the page's live updates, one event per tick
  http.stream_first = [s] { return s->web.stream_event(); };
  HttpServerHandlers handlers;
  handlers.metrics = [s] { return s->registry.render(); };
  handlers.readiness = [s] { return s->readiness.check(s->now()); };
  auto server = HttpServer::start(std::move(http), std::move(handlers), web_routes(s->web));
  if (!server) {
    return chain::unexpected(server.error());
  }
  state->server.emplace(std::move(server).value());
  s->web.set_listener([s](const std::string& event) {
    if (s->server) {
      s->server->broadcast(event);
    }
  });
  return Operations(std::move(state));
}

Operations::Operations(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}
Operations::Operations(Operations&&) noexcept = default;
Operations& Operations::operator=(Operations&&) noexcept = default;
Operations::~Operations() = default;

MetricsRegistry& Operations::registry() noexcept { return state_->registry; }
KeeperMetrics& Operations::metrics() noexcept { return state_->metrics; }
ReadinessTracker& Operations::readiness() noexcept { return state_->readiness; }
WebState& Operations::web() noexcept { return state_->web; }

std::string Operations::url() const {
  return state_ && state_->server ? state_->server->url() : std::string();
}

void Operations::stop() {
  if (state_ && state_->server) {
    state_->server->stop();
  }
}

}  // namespace varkeeper::keeper
