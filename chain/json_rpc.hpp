// JSON-RPC 2.0 client over a Transport: single calls and batches (answers matched by id), typed
// errors that keep transport failures, node error objects and malformed answers apart, and
// retries with exponential backoff and jitter for the retryable ones only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chain/expected.hpp"
#include "chain/node_error.hpp"
#include "chain/transport.hpp"

namespace varkeeper::chain {

using Json = nlohmann::json;

enum class RpcErrorKind {
  kTransport,          // connect/TLS/closed/protocol failure (TransportErrorKind in `transport`)
  kTimeout,            // no answer in time
  kHttpStatus,         // non-2xx HTTP answer
  kMalformedResponse,  // not JSON-RPC 2.0, wrong or missing id, result and error both/neither
  kRpcError,           // the node answered with an error object (code, message, data)
  kWrongChain,         // the endpoint serves another chain id
  kDisagreement,       // endpoints that must agree gave different answers
  kNoEndpoint,         // every endpoint failed or is disabled
};

[[nodiscard]] std::string_view to_string(RpcErrorKind k) noexcept;

// The implicit default constructor is noexcept; the throw clang-tidy finds in it is nlohmann's
// unreachable one in json_value(value_t) for a null Json.
struct RpcError {  // NOLINT(bugprone-exception-escape): see above
  RpcErrorKind kind = RpcErrorKind::kTransport;
  std::string endpoint;  // redacted endpoint that produced it
  std::string message;
  int http_status = 0;
  std::int64_t code = 0;  // JSON-RPC error code
  Json data;              // JSON-RPC error data (revert bytes, ...)
  NodeError node_error = NodeError::kUnknown;

  // Worth retrying (same or another endpoint): transport, timeout, HTTP 5xx/429, malformed
  // answers (a broken proxy), and node errors that are transient (pool full, rate limit).
  [[nodiscard]] bool retryable() const noexcept;
  // Says the endpoint is unhealthy (as opposed to the node refusing this request).
  [[nodiscard]] bool endpoint_fault() const noexcept;
  [[nodiscard]] std::string describe() const;
};

using RpcResult = Expected<Json, RpcError>;

struct RpcRequest {
  std::string method;
  Json params = Json::array();
};

struct RetryPolicy {
  int max_attempts = 3;  // including the first
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{2'000};
  double multiplier = 2.0;
  double jitter = 0.5;  // each delay is scaled by a uniform factor in [1 - jitter, 1]
};

struct RpcCounters {
  std::uint64_t requests = 0;  // HTTP requests sent (a batch is one)
  std::uint64_t calls = 0;     // JSON-RPC calls made (a batch of 100 is 100)
  std::uint64_t retries = 0;
  std::uint64_t errors_by_kind[8] = {};  // indexed by RpcErrorKind
};

class JsonRpcClient {
 public:
  using Sleeper = std::function<void(std::chrono::milliseconds)>;

  explicit JsonRpcClient(std::unique_ptr<Transport> transport, RetryPolicy retry = {},
                         Sleeper sleeper = {});

  [[nodiscard]] RpcResult call(std::string_view method, const Json& params = Json::array());
  // One HTTP request for all calls; results in the order of `requests`.
  [[nodiscard]] std::vector<RpcResult> batch(std::span<const RpcRequest> requests);

  [[nodiscard]] std::string endpoint() const { return endpoint_; }
  [[nodiscard]] const RpcCounters& counters() const noexcept { return counters_; }

 private:
  std::vector<RpcResult> send_once(std::span<const RpcRequest> requests, bool as_batch);
  void backoff(int attempt);

  std::unique_ptr<Transport> transport_;
  RetryPolicy retry_;
  Sleeper sleeper_;
  std::string endpoint_;
  std::uint64_t next_id_ = 1;
  std::uint64_t jitter_state_;
  RpcCounters counters_;
};

// Parses one JSON-RPC response object for the request with `id` (exposed for tests).
[[nodiscard]] RpcResult parse_rpc_response(const Json& response, std::uint64_t id,
                                           const std::string& endpoint);

}  // namespace varkeeper::chain
