// The peer listener of a networked keeper (issue 18), on its own port (`[network] listen`):
//   POST /peer/v1/report                       body: encode_peer_report (<= kMaxPeerMessageBytes)
//        202 accepted | held | duplicate
//        400 malformed (the decoder's sentence)   403 unknown peer | our own signature | not an
//        on-chain signer   409 diverges (our digest) | stale   413 too large
//        429 rate limited | pending full (Retry-After: 1)
//   GET  /peer/v1/reports?portfolio=P&round=R  200 our own signed report (same JSON) | 404 | 400
// Each answer is one line of text (the GET's 200 is the JSON). Runs on keeper/ops/http_server
// (a route hook), so it has that server's bounds: connections, request size, a deadline for each
// request to arrive in full (a trickling client is cut), loopback only unless allowed.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "chain/expected.hpp"
#include "keeper/network/signature_book.hpp"
#include "keeper/ops/http_server.hpp"

namespace varkeeper::keeper::network {

struct PeerServerOptions {
  std::string address = "127.0.0.1:0";  // "host:port"; port 0 = any free port
  bool allow_non_loopback = false;      // a real keeper set listens on a routable address
  std::string non_loopback_setting = "allow_non_loopback";  // named in the refusal
  std::size_t max_connections = 64;
  std::chrono::milliseconds request_timeout{5'000};
  std::chrono::milliseconds write_timeout{5'000};
  // Unix seconds for the rate limits; unset: the system clock.
  std::function<std::int64_t()> clock;
};

// What the listener answered, by class (for logs and tests).
struct PeerServerCounters {
  std::uint64_t accepted = 0;   // 202
  std::uint64_t malformed = 0;  // 400
  std::uint64_t forbidden = 0;  // 403
  std::uint64_t conflict = 0;   // 409
  std::uint64_t limited = 0;    // 429 (a body over the bound gets 413 from the HTTP server)
  std::uint64_t pulls = 0;      // GETs answered 200
};

class PeerServer {
 public:
  // `book` must outlive the server. The error is one sentence naming the address.
  [[nodiscard]] static chain::Expected<PeerServer, std::string> start(PeerServerOptions options,
                                                                      SignatureBook& book);
  PeerServer(PeerServer&&) noexcept;
  PeerServer& operator=(PeerServer&&) noexcept;
  ~PeerServer();

  void stop();  // idempotent
  [[nodiscard]] std::uint16_t port() const noexcept;
  [[nodiscard]] std::string url() const;  // "http://127.0.0.1:PORT"
  [[nodiscard]] PeerServerCounters counters() const;

 private:
  struct Shared;
  PeerServer(std::shared_ptr<Shared> shared, HttpServer server);
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<HttpServer> server_;
};

// The answer to one POST body (what the route does; exposed for tests): status and one line.
struct PeerPostAnswer {
  int status = 0;
  std::string text;
};
[[nodiscard]] PeerPostAnswer answer_peer_post(SignatureBook& book, std::string_view body,
                                              std::int64_t now_s);

}  // namespace varkeeper::keeper::network
