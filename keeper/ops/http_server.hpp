// The operations endpoint: a tiny HTTP/1.1 server (RFC 9112) on its own thread serving
//   GET /metrics  200, Content-Type: text/plain; version=0.0.4 (Prometheus text format)
//   GET /healthz  200 "ok" while the process runs (liveness)
//   GET /readyz   200 "ready" when the readiness callback says so, else 503 with its reason
//   routes        extra paths and methods given to start() (HttpRoute)
//   stream_path   server-sent events (text/event-stream): broadcast() to every open stream
//   other paths   404;  other methods 405 with "Allow: GET"
// Binds 127.0.0.1 by default and refuses a non-loopback address unless allowed explicitly: the
// metrics say which portfolios a team runs and when it publishes. Hardened against slow or greedy
// clients (issue 19): a bounded request size; a deadline for each request to arrive in full (a
// slowloris client is cut when it passes); two budgets. Connections waiting for a request (idle
// keep-alive, partial headers) are held cheaply by Asio up to max_connections, and past it the
// one waiting longest is closed to make room, so a new connection (a liveness probe, a scrape)
// is always read: hundreds of idle or reconnecting clients cannot keep /healthz from answering.
// Event streams have a budget of their own (max_streams; past it 503), are never closed to make
// room for requests, and a stream that does not take its events is closed (write_timeout, or
// stream_max_queued_bytes queued).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chain/expected.hpp"

namespace varkeeper::keeper {

struct Readiness {
  bool ready = false;
  std::string reason;  // why not ready (e.g. "prices stale for 95 s: ETH/USD"); in the 503 body
};

struct HttpServerOptions {
  std::string address = "127.0.0.1:9464";  // "host:port", "[v6]:port"; port 0 = any free port
  bool allow_non_loopback = false;         // the config's metrics_public
  // Connections that are not streams: past this, the one waiting longest for a request is
  // closed to make room (one busy writing a response is not; if all are, the new one is closed).
  std::size_t max_connections = 1024;
  std::size_t max_streams = 32;  // open event streams; past this a new one gets 503
  std::size_t max_request_bytes = std::size_t{8} * 1024;  // request line + headers + body
  std::chrono::milliseconds request_timeout{5'000};       // a whole request must arrive within
  std::chrono::milliseconds write_timeout{10'000};        // a response must be taken within
  // What the listener is, in error messages ("metrics address '...'"), and the setting that
  // allows a non-loopback address (named in the kNotLoopback message).
  std::string name = "metrics";
  std::string non_loopback_setting = "metrics_public = true";
  // Server-sent events: GET stream_path answers 200 text/event-stream and keeps the connection,
  // sending "retry: 1000", then stream_first() (the latest event, if set), then every
  // broadcast(), and a comment line every stream_keepalive. Empty: no stream.
  std::string stream_path;
  std::function<std::string()> stream_first;  // runs on the server thread
  std::chrono::milliseconds stream_keepalive{15'000};
  std::size_t stream_max_queued_bytes = std::size_t{4} * 1024 * 1024;
};

// A request as a route sees it (views into the server's buffers, valid during the call).
struct HttpRouteRequest {
  std::string_view method;  // "GET", "POST", ...
  std::string_view path;    // the target before '?'
  std::string_view query;   // after '?', empty if none
  std::string_view body;
};

struct HttpRouteReply {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // extra fields (Retry-After, ...)
};

// An extra path served besides /metrics, /healthz and /readyz (which keep their behaviour): a
// request for `path` with another method is 405 with Allow listing the route methods of that
// path; a body longer than max_body_bytes is 413 without calling the handler (the whole request
// is also bounded by max_request_bytes, as every request is).
struct HttpRoute {
  std::string method;  // "GET" or "POST" (upper case)
  std::string path;    // exact, without query
  std::size_t max_body_bytes = 0;
  // Runs on the server thread (thread-safe); an exception becomes a 500.
  std::function<HttpRouteReply(const HttpRouteRequest&)> handler;
};

struct HttpServerHandlers {
  // Both run on the server thread, so must be thread-safe; an exception becomes a 500.
  std::function<std::string()> metrics;  // the exposition text
  std::function<Readiness()> readiness;  // unset: always ready
};

enum class HttpServerErrorKind {
  kBadAddress,   // not "host:port" with a numeric IP (or localhost) and a port in 0..65535
  kNotLoopback,  // a non-loopback address without allow_non_loopback
  kBind,         // the address is in use, not local, or not permitted
};

struct HttpServerError {
  HttpServerErrorKind kind = HttpServerErrorKind::kBadAddress;
  std::string message;  // one sentence naming the address
};

class HttpServer {
 public:
  // Binds, listens and starts the server thread; returns once it accepts connections.
  [[nodiscard]] static chain::Expected<HttpServer, HttpServerError> start(
      HttpServerOptions options, HttpServerHandlers handlers, std::vector<HttpRoute> routes = {});

  HttpServer(HttpServer&&) noexcept;
  HttpServer& operator=(HttpServer&&) noexcept;
  ~HttpServer();  // stop()

  // Closes the listener and every connection, and joins the thread. Idempotent.
  void stop();

  // Queues `bytes` (one or more whole events) for every open stream. Thread-safe.
  void broadcast(std::string bytes);

  [[nodiscard]] std::uint16_t port() const noexcept;  // the bound port (useful with port 0)
  [[nodiscard]] std::string url() const;              // "http://127.0.0.1:PORT"

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace varkeeper::keeper
