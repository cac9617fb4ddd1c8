// HTTP(S) transport on Boost.Beast. Beast and Asio stay inside this file.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include "chain/transport.hpp"

namespace varkeeper::chain {

std::string_view to_string(TransportErrorKind k) noexcept {
  switch (k) {
    case TransportErrorKind::kConnect: return "connect";
    case TransportErrorKind::kTimeout: return "timeout";
    case TransportErrorKind::kTls: return "tls";
    case TransportErrorKind::kHttpStatus: return "http_status";
    case TransportErrorKind::kClosed: return "closed";
    case TransportErrorKind::kProtocol: return "protocol";
  }
  return "transport";
}

namespace {
constexpr std::int64_t kNoDeadline = std::numeric_limits<std::int64_t>::max();
thread_local const IoBudget* t_budget = nullptr;
}  // namespace

IoBudget::IoBudget(const IoBudget* parent, const std::atomic<bool>* stop,
                   std::string deadline_label) noexcept
    : parent_(parent), stop_(stop), label_(std::move(deadline_label)), deadline_ns_(kNoDeadline) {}

void IoBudget::set_deadline(std::chrono::steady_clock::time_point t) noexcept {
  deadline_ns_.store(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

void IoBudget::clear_deadline() noexcept { deadline_ns_.store(kNoDeadline); }

bool IoBudget::expired(std::chrono::steady_clock::time_point now) const noexcept {
  const auto d = deadline_ns_.load();
  return d != kNoDeadline &&
         std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count() >= d;
}

std::optional<std::chrono::steady_clock::time_point> IoBudget::deadline() const noexcept {
  std::optional<std::chrono::steady_clock::time_point> out;
  for (const IoBudget* b = this; b != nullptr; b = b->parent_) {
    const auto d = b->deadline_ns_.load();
    if (d == kNoDeadline) {
      continue;
    }
    const std::chrono::steady_clock::time_point t{std::chrono::nanoseconds(d)};
    if (!out || t < *out) {
      out = t;
    }
  }
  return out;
}

std::optional<std::string> IoBudget::stop_reason(std::chrono::steady_clock::time_point now) const {
  for (const IoBudget* b = this; b != nullptr; b = b->parent_) {
    std::optional<std::string> why;
    if (b->stop_ != nullptr && b->stop_->load()) {
      why = "stop requested";
    } else if (b->cancelled_.load()) {
      why = "cancelled";
    } else if (b->expired(now)) {
      why = b->label_ + " passed";
    }
    if (why) {
      ++b->stops_;
      return why;
    }
  }
  return std::nullopt;
}

IoBudgetScope::IoBudgetScope(const IoBudget& budget) noexcept : previous_(t_budget) {
  t_budget = &budget;
}

IoBudgetScope::~IoBudgetScope() { t_budget = previous_; }

const IoBudget* current_io_budget() noexcept { return t_budget; }

Expected<std::vector<std::string>, std::string> system_resolve(const std::string& host,
                                                               std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) {
    return unexpected(std::string(::gai_strerror(rc)));
  }
  std::vector<std::string> out;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* addr =
        a->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) &&
        ::inet_ntop(a->ai_family, addr, text, sizeof text) != nullptr) {
      out.emplace_back(text);
    }
  }
  ::freeaddrinfo(found);
  if (out.empty()) {
    return unexpected(std::string("no address"));
  }
  return out;
}

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// Runs one asynchronous operation to completion on `ioc` and returns its error code. The
// stream's own timer (tcp_stream::expires_after) bounds it; the thread's IoBudget is checked every
// 50 ms and, once it says stop, the operation is cancelled (`aborted` says why).
template <class Start>
beast::error_code run_op(asio::io_context& ioc, beast::tcp_stream& stream,
                         std::optional<std::string>& aborted, Start&& start) {
  beast::error_code result = asio::error::would_block;
  bool done = false;
  start([&result, &done](beast::error_code ec, auto&&...) {
    result = ec;
    done = true;
  });
  const IoBudget* budget = current_io_budget();
  while (!done) {
    ioc.restart();
    ioc.run_for(std::chrono::milliseconds(50));
    if (!done && !aborted && budget != nullptr) {
      if ((aborted = budget->stop_reason())) {
        stream.cancel();
      }
    }
  }
  return result;
}

// A resolution that runs on a thread of its own: the caller may give up on it (timeout, budget)
// and the thread finishes alone.
struct Resolution {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Expected<std::vector<std::string>, std::string> result = unexpected(std::string("pending"));
};

class HttpTransport final : public Transport {
 public:
  HttpTransport(Url url, HttpOptions options)
      : url_(std::move(url)), options_(std::move(options)), ssl_ctx_(ssl::context::tls_client) {
    if (url_.tls()) {
      ssl_ctx_.set_default_verify_paths();
      if (!options_.ca_file.empty()) {
        beast::error_code ec;
        ssl_ctx_.load_verify_file(options_.ca_file, ec);
        ca_error_ = ec ? "cannot load CA file " + options_.ca_file + ": " + ec.message() : "";
      }
      ssl_ctx_.set_verify_mode(ssl::verify_peer);
    }
  }

  std::string describe() const override { return redacted(url_); }

  Expected<std::string, TransportError> post(std::string_view body) override {
    if (!ca_error_.empty()) {
      return unexpected(TransportError{TransportErrorKind::kTls, ca_error_});
    }
    if (const IoBudget* budget = current_io_budget()) {
      if (auto why = budget->stop_reason()) {
        return unexpected(
            TransportError{TransportErrorKind::kTimeout, describe() + ": not sent: " + *why, 0});
      }
    }
    // A kept-alive connection may have been closed by the server since the last request:
    // if sending on a reused connection fails before any answer, reconnect once and resend.
    const bool reused = connected();
    auto result = attempt(body);
    if (!result && reused &&
        (result.error().kind == TransportErrorKind::kClosed ||
         result.error().kind == TransportErrorKind::kConnect)) {
      result = attempt(body);
    }
    return result;
  }

 private:
  [[nodiscard]] bool connected() const { return url_.tls() ? tls_.has_value() : tcp_.has_value(); }
  beast::tcp_stream& lowest() { return url_.tls() ? beast::get_lowest_layer(*tls_) : *tcp_; }

  void disconnect() {
    beast::error_code ignored;
    if (tls_) {
      beast::get_lowest_layer(*tls_).socket().close(ignored);
    }
    if (tcp_) {
      tcp_->socket().close(ignored);
    }
    tls_.reset();
    tcp_.reset();
  }

  TransportError fail(TransportErrorKind kind, const std::string& what, beast::error_code ec) {
    disconnect();
    if (aborted_) {
      return {TransportErrorKind::kTimeout, describe() + ": " + what + ": " + *aborted_, 0};
    }
    if (ec == beast::error::timeout) {
      kind = TransportErrorKind::kTimeout;
      // A step cut short by the budget's deadline rather than by the request timeout.
      if (const IoBudget* budget = current_io_budget()) {
        if (auto why = budget->stop_reason()) {
          return {kind, describe() + ": " + what + ": " + *why, 0};
        }
      }
    }
    return {kind, describe() + ": " + what + ": " + ec.message(), 0};
  }

  // The request timeout, or less if the thread's budget has an earlier deadline.
  [[nodiscard]] std::chrono::steady_clock::duration step_timeout() const {
    std::chrono::steady_clock::duration t = options_.timeout;
    if (const IoBudget* budget = current_io_budget()) {
      if (const auto d = budget->deadline()) {
        t = std::min(t, std::max<std::chrono::steady_clock::duration>(
                            *d - std::chrono::steady_clock::now(), std::chrono::milliseconds(1)));
      }
    }
    return t;
  }

  template <class Start>
  beast::error_code run(Start&& start) {
    return run_op(ioc_, lowest(), aborted_, std::forward<Start>(start));
  }

  // The host's addresses: a numeric host as it is, a name through the resolver on a thread of its
  // own, given up after the step timeout or when the budget says stop.
  Expected<std::vector<tcp::endpoint>, TransportError> resolve() {
    beast::error_code ec;
    const auto numeric = asio::ip::make_address(url_.host, ec);
    if (!ec) {
      return std::vector<tcp::endpoint>{tcp::endpoint(numeric, url_.port)};
    }
    auto state = std::make_shared<Resolution>();
    const Resolver resolver = options_.resolver ? options_.resolver : Resolver(system_resolve);
    std::thread([state, resolver, host = url_.host, port = url_.port] {
      auto r = resolver(host, port);
      const std::lock_guard lock(state->mu);
      state->result = std::move(r);
      state->done = true;
      state->cv.notify_all();
    }).detach();
    const auto until = std::chrono::steady_clock::now() + step_timeout();
    const IoBudget* budget = current_io_budget();
    std::unique_lock lock(state->mu);
    while (!state->done) {
      const auto now = std::chrono::steady_clock::now();
      std::optional<std::string> why = budget != nullptr ? budget->stop_reason(now) : std::nullopt;
      if (!why && now >= until) {
        why = "no answer within " + std::to_string(options_.timeout.count()) + " ms";
      }
      if (why) {
        return unexpected(TransportError{TransportErrorKind::kTimeout,
                                         describe() + ": resolve " + url_.host + ": " + *why, 0});
      }
      state->cv.wait_for(lock, std::chrono::milliseconds(50));
    }
    if (!state->result) {
      return unexpected(
          TransportError{TransportErrorKind::kConnect,
                         describe() + ": resolve " + url_.host + ": " + state->result.error(), 0});
    }
    std::vector<tcp::endpoint> out;
    for (const auto& text : *state->result) {
      const auto addr = asio::ip::make_address(text, ec);
      if (!ec) {
        out.emplace_back(addr, url_.port);
      }
    }
    if (out.empty()) {
      return unexpected(TransportError{TransportErrorKind::kConnect,
                                       describe() + ": resolve " + url_.host + ": no address", 0});
    }
    return out;
  }

  std::optional<TransportError> connect() {
    auto endpoints = resolve();
    if (!endpoints) {
      return endpoints.error();
    }
    beast::error_code ec;
    if (url_.tls()) {
      tls_.emplace(ioc_, ssl_ctx_);
      // SNI, and verification of the certificate's name against the host we asked for.
      if (!SSL_set_tlsext_host_name(tls_->native_handle(), url_.host.c_str())) {
        return fail(TransportErrorKind::kTls, "set SNI",
                    beast::error_code(static_cast<int>(::ERR_get_error()),
                                      asio::error::get_ssl_category()));
      }
      tls_->set_verify_callback(ssl::host_name_verification(url_.host));
    } else {
      tcp_.emplace(ioc_);
    }
    lowest().expires_after(step_timeout());
    ec = run([&](auto handler) { lowest().async_connect(*endpoints, handler); });
    if (ec) {
      return fail(TransportErrorKind::kConnect, "connect", ec);
    }
    if (url_.tls()) {
      lowest().expires_after(step_timeout());
      ec = run([&](auto handler) { tls_->async_handshake(ssl::stream_base::client, handler); });
      if (ec) {
        return fail(TransportErrorKind::kTls, "TLS handshake", ec);
      }
    }
    return std::nullopt;
  }

  Expected<std::string, TransportError> attempt(std::string_view body) {
    aborted_.reset();
    if (!connected()) {
      if (auto err = connect()) {
        return unexpected(*err);
      }
    }
    http::request<http::string_body> req{http::verb::post, url_.target, 11};
    req.set(http::field::host, url_.host);
    req.set(http::field::user_agent, "varkeeper");
    req.set(http::field::content_type, "application/json");
    req.keep_alive(true);
    req.body() = std::string(body);
    req.prepare_payload();

    lowest().expires_after(step_timeout());
    beast::error_code ec = url_.tls() ? run([&](auto h) { http::async_write(*tls_, req, h); })
                                      : run([&](auto h) { http::async_write(*tcp_, req, h); });
    if (ec) {
      return unexpected(fail(TransportErrorKind::kClosed, "send", ec));
    }

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(options_.max_response_bytes);
    lowest().expires_after(step_timeout());
    ec = url_.tls() ? run([&](auto h) { http::async_read(*tls_, buffer, parser, h); })
                    : run([&](auto h) { http::async_read(*tcp_, buffer, parser, h); });
    if (aborted_) {
      return unexpected(fail(TransportErrorKind::kTimeout, "read", ec));
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset) {
      return unexpected(fail(TransportErrorKind::kClosed, "read", ec));
    }
    if (ec) {
      return unexpected(fail(TransportErrorKind::kProtocol, "read", ec));
    }
    auto res = parser.release();
    if (!res.keep_alive()) {
      disconnect();
    }
    const int status = static_cast<int>(res.result_int());
    if (status < 200 || status > 299) {
      TransportError err{TransportErrorKind::kHttpStatus,
                         describe() + ": HTTP " + std::to_string(status), status};
      return unexpected(err);
    }
    return std::move(res.body());
  }

  Url url_;
  HttpOptions options_;
  asio::io_context ioc_;
  ssl::context ssl_ctx_;
  std::string ca_error_;
  std::optional<beast::tcp_stream> tcp_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  std::optional<std::string> aborted_;  // why the budget cut the current request short
};

}  // namespace

std::unique_ptr<Transport> make_http_transport(const Url& url, HttpOptions options) {
  return std::make_unique<HttpTransport>(url, std::move(options));
}

}  // namespace varkeeper::chain
