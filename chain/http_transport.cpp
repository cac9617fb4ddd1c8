// HTTP(S) transport on Boost.Beast. Beast and Asio stay inside this file.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

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

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// Runs one asynchronous operation to completion on `ioc` and returns its error code. The
// stream's own timer (tcp_stream::expires_after) bounds it.
template <class Start>
beast::error_code run_op(asio::io_context& ioc, Start&& start) {
  beast::error_code result = asio::error::would_block;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

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
    if (ec == beast::error::timeout) {
      kind = TransportErrorKind::kTimeout;
    }
    return {kind, describe() + ": " + what + ": " + ec.message(), 0};
  }

  std::optional<TransportError> connect() {
    tcp::resolver resolver(ioc_);
    beast::error_code ec;
    const auto endpoints = resolver.resolve(url_.host, std::to_string(url_.port), ec);
    if (ec) {
      return fail(TransportErrorKind::kConnect, "resolve " + url_.host, ec);
    }
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
    lowest().expires_after(options_.timeout);
    ec = run_op(ioc_, [&](auto handler) { lowest().async_connect(endpoints, handler); });
    if (ec) {
      return fail(TransportErrorKind::kConnect, "connect", ec);
    }
    if (url_.tls()) {
      lowest().expires_after(options_.timeout);
      ec = run_op(ioc_,
                  [&](auto handler) { tls_->async_handshake(ssl::stream_base::client, handler); });
      if (ec) {
        return fail(TransportErrorKind::kTls, "TLS handshake", ec);
      }
    }
    return std::nullopt;
  }

  Expected<std::string, TransportError> attempt(std::string_view body) {
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

    lowest().expires_after(options_.timeout);
    beast::error_code ec = url_.tls()
                               ? run_op(ioc_, [&](auto h) { http::async_write(*tls_, req, h); })
                               : run_op(ioc_, [&](auto h) { http::async_write(*tcp_, req, h); });
    if (ec) {
      return unexpected(fail(TransportErrorKind::kClosed, "send", ec));
    }

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(options_.max_response_bytes);
    lowest().expires_after(options_.timeout);
    ec = url_.tls() ? run_op(ioc_, [&](auto h) { http::async_read(*tls_, buffer, parser, h); })
                    : run_op(ioc_, [&](auto h) { http::async_read(*tcp_, buffer, parser, h); });
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
};

}  // namespace

std::unique_ptr<Transport> make_http_transport(const Url& url, HttpOptions options) {
  return std::make_unique<HttpTransport>(url, std::move(options));
}

}  // namespace varkeeper::chain
