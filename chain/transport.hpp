// The byte pipe under the JSON-RPC client: one request body in, one response body out.
// HTTP(S) is the production implementation; tests plug in fault-injecting ones.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "chain/expected.hpp"
#include "chain/url.hpp"

namespace varkeeper::chain {

enum class TransportErrorKind {
  kConnect,     // refused, unreachable, name not resolved
  kTimeout,     // no complete answer within the request timeout
  kTls,         // handshake failed, certificate not verified
  kHttpStatus,  // an answer with a non-2xx status
  kClosed,      // the peer closed the connection mid-answer
  kProtocol,    // not HTTP, oversized, malformed framing
};

[[nodiscard]] std::string_view to_string(TransportErrorKind k) noexcept;

struct TransportError {
  TransportErrorKind kind = TransportErrorKind::kConnect;
  std::string message;
  int http_status = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  [[nodiscard]] virtual Expected<std::string, TransportError> post(std::string_view body) = 0;
  // The endpoint without secrets (path and query dropped), for logs and metrics.
  [[nodiscard]] virtual std::string describe() const = 0;
};

struct HttpOptions {
  std::chrono::milliseconds timeout{5'000};  // per request: connect + write + read
  std::string ca_file;                       // extra trusted CA (PEM); system store otherwise
  std::size_t max_response_bytes = 64u << 20;
};

// HTTP/1.1 with keep-alive, or HTTPS (peer verification and SNI), on Boost.Beast.
[[nodiscard]] std::unique_ptr<Transport> make_http_transport(const Url& url,
                                                             HttpOptions options = {});

}  // namespace varkeeper::chain
