// The byte pipe under the JSON-RPC client: one request body in, one response body out.
// HTTP(S) is the production implementation; tests plug in fault-injecting ones.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// A bound on the blocking I/O of the threads that install it (issue 15, defect 9): a deadline
// (the tick's), a stop flag (SIGTERM) and a cancel() of its own (a broadcast that no longer needs
// an endpoint's answer). Once one of them applies, the HTTP transport aborts the request in
// progress within ~50 ms and fails every new one at once (kTimeout, with the reason), so a stalled
// endpoint cannot hold a tick, or the process, for minutes. A budget's `parent` bounds it too.
class IoBudget {
 public:
  explicit IoBudget(const IoBudget* parent = nullptr, const std::atomic<bool>* stop = nullptr,
                    std::string deadline_label = "deadline") noexcept;
  IoBudget(const IoBudget&) = delete;
  IoBudget& operator=(const IoBudget&) = delete;

  void set_deadline(std::chrono::steady_clock::time_point t) noexcept;
  void clear_deadline() noexcept;
  void cancel() noexcept { cancelled_.store(true); }
  // Why I/O must stop now ("tick deadline passed", "stop requested", "cancelled"), or nothing.
  [[nodiscard]] std::optional<std::string> stop_reason(
      std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) const;
  // The earliest deadline of this budget and its parents, if any.
  [[nodiscard]] std::optional<std::chrono::steady_clock::time_point> deadline() const noexcept;
  // How many times stop_reason() found a reason in this budget itself (not its parents): I/O it
  // refused or cut short.
  [[nodiscard]] std::uint64_t stops() const noexcept { return stops_.load(); }
  // True once this budget's own deadline has passed (not its parents').
  [[nodiscard]] bool expired(
      std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) const noexcept;

 private:
  const IoBudget* parent_;
  const std::atomic<bool>* stop_;
  std::string label_;
  std::atomic<bool> cancelled_{false};
  std::atomic<std::int64_t> deadline_ns_;
  mutable std::atomic<std::uint64_t> stops_{0};
};

// Makes `budget` the calling thread's budget for the scope's lifetime (the previous one comes
// back at its end). current_io_budget() is what the transports of this thread obey.
class IoBudgetScope {
 public:
  explicit IoBudgetScope(const IoBudget& budget) noexcept;
  ~IoBudgetScope();
  IoBudgetScope(const IoBudgetScope&) = delete;
  IoBudgetScope& operator=(const IoBudgetScope&) = delete;

 private:
  const IoBudget* previous_;
};
[[nodiscard]] const IoBudget* current_io_budget() noexcept;

// Host name -> numeric addresses ("127.0.0.1", "::1"), or why not. The HTTP transport runs it on a
// thread of its own and gives up after the timeout (getaddrinfo has none of its own).
using Resolver = std::function<Expected<std::vector<std::string>, std::string>(
    const std::string& host, std::uint16_t port)>;
// getaddrinfo(3).
[[nodiscard]] Expected<std::vector<std::string>, std::string> system_resolve(
    const std::string& host, std::uint16_t port);

struct HttpOptions {
  std::chrono::milliseconds timeout{5'000};  // per step: resolve, connect, write, read
  std::string ca_file;                       // extra trusted CA (PEM); system store otherwise
  std::size_t max_response_bytes = 64u << 20;
  // Name resolution for a host that is not a numeric address (empty: system_resolve), bounded by
  // `timeout` (issue 15, defect 9: a slow DNS server must not block the tick).
  Resolver resolver;
};

// HTTP/1.1 with keep-alive, or HTTPS (peer verification and SNI), on Boost.Beast.
[[nodiscard]] std::unique_ptr<Transport> make_http_transport(const Url& url,
                                                             HttpOptions options = {});

}  // namespace varkeeper::chain
