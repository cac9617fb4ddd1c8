#include "keeper/ops/http_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <cerrno>
#include <charconv>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "keeper/ops/metrics.hpp"

namespace varkeeper::keeper {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct Endpoint {
  net::ip::address address;
  std::uint16_t port = 0;
};

chain::Expected<Endpoint, HttpServerError> parse_address(const std::string& text,
                                                         const std::string& name) {
  const auto bad = [&](std::string_view why) {
    return chain::unexpected(HttpServerError{
        HttpServerErrorKind::kBadAddress,
        name + " address '" + text + "' " + std::string(why) + " (expected \"host:port\")"});
  };
  std::string_view host;
  std::string_view port;
  std::string_view s = text;
  if (!s.empty() && s.front() == '[') {  // RFC 3986 IP-literal: [v6]:port
    const auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return bad("has an unterminated [IPv6] host or no port");
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) {
      return bad("has no port");
    }
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return bad("needs brackets around an IPv6 host");
    }
  }
  unsigned value = 0;
  const auto r = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || r.ec != std::errc{} || r.ptr != port.data() + port.size() || value > 65535) {
    return bad("has a port that is not a number in 0..65535");
  }
  Endpoint e;
  e.port = static_cast<std::uint16_t>(value);
  if (host == "localhost") {
    e.address = net::ip::address_v4::loopback();
    return e;
  }
  boost::system::error_code ec;
  e.address = net::ip::make_address(std::string(host), ec);
  if (ec) {
    return bad("has a host that is not a numeric IP address or localhost");
  }
  return e;
}

http::response<http::string_body> text_response(
    unsigned version, http::status status, std::string body,
    std::string_view content_type = "text/plain; charset=utf-8") {
  http::response<http::string_body> res{status, version};
  res.set(http::field::server, "varkeeper");
  res.set(http::field::content_type, beast::string_view(content_type.data(), content_type.size()));
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

}  // namespace

class HttpSession;

// Everything the server thread and its sessions share (HttpServer::Impl is private to the class).
struct HttpServerCore {
  HttpServerOptions options;
  HttpServerHandlers handlers;
  std::vector<HttpRoute> routes;
  std::set<HttpSession*> sessions;  // live connections; touched on the server thread only
  std::set<HttpSession*> streams;   // those of them that are event streams
  std::uint64_t activity = 0;       // counter ordering when sessions began waiting for a request
  // Declared after what sessions use, so it is destroyed first (with the sessions it owns).
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  net::steady_timer accept_retry{ioc};
  net::steady_timer keepalive{ioc};
  std::uint16_t port = 0;
  std::string host_text;
  std::thread thread;
  bool stopped = false;

  void accept();
  // Closes the connection that has waited longest for a request (or is lingering after its
  // response), to make room for a new one; false when every connection is busy.
  bool evict_idle();
  void broadcast(const std::shared_ptr<const std::string>& bytes);
  void schedule_keepalive();
  http::response<http::string_body> handle(const http::request<http::string_body>& req) const;
  http::response<http::string_body> handle_route(const http::request<http::string_body>& req,
                                                 std::string_view path,
                                                 std::string_view query) const;
};

struct HttpServer::Impl : HttpServerCore {};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, HttpServerCore& server)
      : stream_(std::move(socket)), buffer_(server.options.max_request_bytes), server_(server) {
    server_.sessions.insert(this);
  }
  ~HttpSession() {
    server_.sessions.erase(this);
    server_.streams.erase(this);
  }
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  // Cancels pending operations; their handlers release the session.
  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  // Evictable while waiting for a request or lingering; `since` orders them, oldest first.
  [[nodiscard]] bool idle() const noexcept {
    return phase_ == Phase::kWaiting || phase_ == Phase::kLingering;
  }
  [[nodiscard]] std::uint64_t since() const noexcept { return since_; }

  void read() {
    phase_ = Phase::kWaiting;
    since_ = ++server_.activity;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_request_bytes));
    parser_->body_limit(server_.options.max_request_bytes);
    // One deadline for the whole request (idle keep-alive time included): a client trickling a
    // byte at a time cannot hold the connection past it.
    stream_.expires_after(server_.options.request_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec == http::error::header_limit || ec == http::error::body_limit ||
        ec == http::error::buffer_overflow) {
      const bool headers = ec != http::error::body_limit;
      write(text_response(11,
                          headers ? http::status::request_header_fields_too_large
                                  : http::status::payload_too_large,
                          "request too large\n"),
            false);
      return;
    }
    if (ec && ec.category() == beast::http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      write(text_response(11, http::status::bad_request, "bad request\n"), false);  // malformed
      return;
    }
    if (ec) {  // timeout, end of stream, reset: just close
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream_.close();
      return;
    }
    phase_ = Phase::kBusy;
    const auto& req = parser_->get();
    if (!server_.options.stream_path.empty()) {
      std::string_view target(req.target().data(), req.target().size());
      target = target.substr(0, target.find('?'));
      if (target == server_.options.stream_path && req.method() == http::verb::get) {
        start_stream();
        return;
      }
    }
    auto res = server_.handle(req);
    write(std::move(res), req.keep_alive());
  }

  void write(http::response<http::string_body> res, bool keep_alive) {
    res.keep_alive(keep_alive);
    response_ = std::move(res);
    stream_.expires_after(server_.options.write_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                        if (!ec && keep_alive) {
                          self->read();
                          return;
                        }
                        self->linger();
                      });
  }

  // Lingering close: send FIN, then discard what the client still sends for a short while, so an
  // unread request tail does not turn the close into a reset that destroys the response in the
  // client's receive buffer before it is read (RFC 9112 section 9.6).
  void linger() {
    phase_ = Phase::kLingering;
    since_ = ++server_.activity;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(1));
    drain();
  }
  void drain() {
    stream_.async_read_some(net::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (!ec) {
                                self->drain();
                                return;
                              }
                              self->stream_.close();
                            });
  }

  // Event stream: the response head (close-delimited body), then events as they are broadcast.
  void start_stream() {
    if (server_.streams.size() >= server_.options.max_streams) {
      auto res = text_response(11, http::status::service_unavailable, "too many streams\n");
      res.set(http::field::retry_after, "2");
      write(std::move(res), false);
      return;
    }
    phase_ = Phase::kStreaming;
    server_.streams.insert(this);
    std::string head =
        "HTTP/1.1 200 OK\r\nServer: varkeeper\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-store\r\nConnection: close\r\n\r\nretry: 1000\n\n";
    if (server_.options.stream_first) {
      try {
        head += server_.options.stream_first();
      } catch (const std::exception&) {
        // the stream starts without the latest event; the next broadcast brings one
      }
    }
    stream_.expires_never();
    watch_close();
    enqueue(std::make_shared<const std::string>(std::move(head)));
  }

 public:
  void enqueue(const std::shared_ptr<const std::string>& bytes) {
    if (phase_ != Phase::kStreaming) {
      return;
    }
    if (queued_bytes_ + bytes->size() > server_.options.stream_max_queued_bytes) {
      close();  // a reader this far behind is gone or hostile: it reconnects if it is alive
      return;
    }
    queued_bytes_ += bytes->size();
    queue_.push_back(bytes);
    if (!writing_) {
      write_next();
    }
  }

 private:
  void write_next() {
    writing_ = true;
    stream_.expires_after(server_.options.write_timeout);
    net::async_write(stream_, net::buffer(*queue_.front()),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->writing_ = false;
                       if (ec) {
                         self->close();
                         return;
                       }
                       self->queued_bytes_ -= self->queue_.front()->size();
                       self->queue_.pop_front();
                       if (!self->queue_.empty()) {
                         self->write_next();
                       } else {
                         self->stream_.expires_never();
                       }
                     });
  }
  // A stream's client sends nothing more; a read ending (close, reset) ends the stream.
  void watch_close() {
    stream_.socket().async_read_some(
        net::buffer(discard_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) {
            self->close();
            return;
          }
          self->watch_close();
        });
  }

  enum class Phase : std::uint8_t { kWaiting, kBusy, kLingering, kStreaming };
  Phase phase_ = Phase::kWaiting;
  std::uint64_t since_ = 0;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::array<char, 1024> discard_{};
  HttpServerCore& server_;
};

void HttpServerCore::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) {
      return;
    }
    if (ec) {
      // EMFILE and friends: free a descriptor held by an idle connection and accept again at
      // once; with none to free, back off briefly instead of spinning on a failing accept.
      if ((ec == net::error::no_descriptors || ec.value() == ENFILE) && evict_idle()) {
        accept();
        return;
      }
      accept_retry.expires_after(std::chrono::milliseconds(100));
      accept_retry.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) {
          accept();
        }
      });
      return;
    }
    if (sessions.size() - streams.size() >= options.max_connections && !evict_idle()) {
      beast::error_code ignored;
      socket.close(ignored);  // every connection is busy: refuse by closing at once
    } else {
      std::make_shared<HttpSession>(std::move(socket), *this)->read();
    }
    accept();
  });
}

bool HttpServerCore::evict_idle() {
  HttpSession* oldest = nullptr;
  for (HttpSession* s : sessions) {
    if (s->idle() && (oldest == nullptr || s->since() < oldest->since())) {
      oldest = s;
    }
  }
  if (oldest == nullptr) {
    return false;
  }
  oldest->close();  // its pending read fails and releases it; the slot counts as free now
  sessions.erase(oldest);
  return true;
}

void HttpServerCore::broadcast(const std::shared_ptr<const std::string>& bytes) {
  // A copy: enqueue may close a stream, whose release erases it from `streams`.
  const std::vector<HttpSession*> open(streams.begin(), streams.end());
  for (HttpSession* s : open) {
    if (streams.count(s) != 0) {
      s->enqueue(bytes);
    }
  }
}

void HttpServerCore::schedule_keepalive() {
  keepalive.expires_after(options.stream_keepalive);
  keepalive.async_wait([this](beast::error_code ec) {
    if (ec) {
      return;
    }
    // A comment line: proxies keep the connection, and a vanished client is found by the write.
    broadcast(std::make_shared<const std::string>(": keepalive\n\n"));
    schedule_keepalive();
  });
}

http::response<http::string_body> HttpServerCore::handle(
    const http::request<http::string_body>& req) const {
  std::string_view target(req.target().data(), req.target().size());
  if (const auto q = target.find('?'); q != std::string_view::npos) {
    target = target.substr(0, q);
  }
  const unsigned v = req.version();
  const bool known = target == "/metrics" || target == "/healthz" || target == "/readyz";
  if (!known) {
    const std::string_view full(req.target().data(), req.target().size());
    const std::string_view query =
        target.size() < full.size() ? full.substr(target.size() + 1) : std::string_view();
    return handle_route(req, target, query);
  }
  if (req.method() != http::verb::get) {
    auto res = text_response(v, http::status::method_not_allowed, "method not allowed\n");
    res.set(http::field::allow, "GET");
    return res;
  }
  try {
    if (target == "/healthz") {
      return text_response(v, http::status::ok, "ok\n");
    }
    if (target == "/readyz") {
      const Readiness r = handlers.readiness ? handlers.readiness() : Readiness{true, {}};
      if (r.ready) {
        return text_response(v, http::status::ok, "ready\n");
      }
      return text_response(v, http::status::service_unavailable, "not ready: " + r.reason + "\n");
    }
    std::string body = handlers.metrics ? handlers.metrics() : std::string();
    return text_response(v, http::status::ok, std::move(body), kMetricsContentType);
  } catch (const std::exception&) {
    return text_response(v, http::status::internal_server_error, "internal error\n");
  }
}

http::response<http::string_body> HttpServerCore::handle_route(
    const http::request<http::string_body>& req, std::string_view path,
    std::string_view query) const {
  const unsigned v = req.version();
  const std::string_view method(req.method_string().data(), req.method_string().size());
  const HttpRoute* match = nullptr;
  std::string allow;
  for (const HttpRoute& r : routes) {
    if (r.path != path) {
      continue;
    }
    allow += allow.empty() ? "" : ", ";
    allow += r.method;
    if (r.method == method && match == nullptr) {
      match = &r;
    }
  }
  if (allow.empty()) {
    return text_response(v, http::status::not_found, "not found\n");
  }
  if (match == nullptr) {
    auto res = text_response(v, http::status::method_not_allowed, "method not allowed\n");
    res.set(http::field::allow, allow);
    return res;
  }
  if (req.body().size() > match->max_body_bytes) {
    return text_response(v, http::status::payload_too_large, "request too large\n");
  }
  try {
    const HttpRouteReply reply = match->handler(HttpRouteRequest{method, path, query, req.body()});
    auto res =
        text_response(v, static_cast<http::status>(reply.status), reply.body, reply.content_type);
    for (const auto& [name, value] : reply.headers) {
      res.set(name, value);
    }
    return res;
  } catch (const std::exception&) {
    return text_response(v, http::status::internal_server_error, "internal error\n");
  }
}

chain::Expected<HttpServer, HttpServerError> HttpServer::start(HttpServerOptions options,
                                                               HttpServerHandlers handlers,
                                                               std::vector<HttpRoute> routes) {
  auto endpoint = parse_address(options.address, options.name);
  if (!endpoint) {
    return chain::unexpected(endpoint.error());
  }
  if (!endpoint->address.is_loopback() && !options.allow_non_loopback) {
    return chain::unexpected(HttpServerError{HttpServerErrorKind::kNotLoopback,
                                             options.name + " address '" + options.address +
                                                 "' is not a loopback address; set " +
                                                 options.non_loopback_setting + " to expose it"});
  }
  if (options.max_connections == 0) {
    options.max_connections = 1;
  }
  if (options.max_request_bytes < 512) {
    options.max_request_bytes = 512;
  }

  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->handlers = std::move(handlers);
  impl->routes = std::move(routes);
  const tcp::endpoint ep(endpoint->address, endpoint->port);
  beast::error_code ec;
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) {
    impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    impl->acceptor.bind(ep, ec);
  }
  if (!ec) {
    impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return chain::unexpected(HttpServerError{
        HttpServerErrorKind::kBind, "cannot listen on " + impl->options.name + " address '" +
                                        impl->options.address + "': " + ec.message()});
  }
  impl->port = impl->acceptor.local_endpoint().port();
  impl->host_text = endpoint->address.is_v6() ? "[" + endpoint->address.to_string() + "]"
                                              : endpoint->address.to_string();
  impl->accept();
  if (!impl->options.stream_path.empty()) {
    impl->schedule_keepalive();
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    for (;;) {  // a handler that throws must not take the endpoint down
      try {
        raw->ioc.run();
        return;
      } catch (...) {
      }
    }
  });
  return HttpServer(std::move(impl));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
HttpServer::HttpServer(HttpServer&&) noexcept = default;
HttpServer& HttpServer::operator=(HttpServer&& other) noexcept {
  if (this != &other) {
    stop();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
HttpServer::~HttpServer() { stop(); }

void HttpServer::stop() {
  if (!impl_ || impl_->stopped) {
    return;
  }
  impl_->stopped = true;
  Impl* impl = impl_.get();
  // On the server thread: stop listening, close every connection, then stop the loop. Handlers
  // still queued are destroyed with the io_context (and release their sessions then).
  net::post(impl->ioc, [impl] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    impl->accept_retry.cancel();
    impl->keepalive.cancel();
    for (HttpSession* s : impl->sessions) {
      s->close();
    }
    impl->ioc.stop();
  });
  if (impl->thread.joinable()) {
    impl->thread.join();
  }
}

void HttpServer::broadcast(std::string bytes) {
  if (!impl_ || impl_->stopped) {
    return;
  }
  Impl* impl = impl_.get();
  net::post(impl->ioc, [impl, b = std::make_shared<const std::string>(std::move(bytes))] {
    impl->broadcast(b);
  });
}

std::uint16_t HttpServer::port() const noexcept { return impl_ ? impl_->port : 0; }

std::string HttpServer::url() const {
  return impl_ ? "http://" + impl_->host_text + ":" + std::to_string(impl_->port) : std::string();
}

}  // namespace varkeeper::keeper
