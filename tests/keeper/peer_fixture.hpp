// Shared by the peer exchange tests (unit, hostile, integration): keys, a domain, a report and
// a peer message signed the way a keeper signs its own (sign_report over the EIP-712 digest).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>

#include "chain/address.hpp"
#include "chain/hex.hpp"
#include "chain/secp256k1.hpp"
#include "chain/secret_key.hpp"
#include "keeper/core/risk_report.hpp"
#include "keeper/network/peer_message.hpp"

namespace varkeeper::test::peer {

// A valid secp256k1 key whose 32 bytes are all `b` (b in 1..0x7f).
inline chain::SecretKey key(std::uint8_t b) {
  chain::FixedBytes<32> k{};
  k.fill(b);
  return chain::SecretKey::from_bytes(k).value();
}

inline keeper::OracleDomain domain() {
  return {31337, chain::parse_address("0x5FbDB2315678afecb367f032d93F642f64180aa3").value()};
}

inline keeper::OnchainReport report(std::uint64_t pid, std::uint64_t round) {
  keeper::OnchainReport r;
  r.portfolio_id = pid;
  r.round = round;
  r.observed_at = 1'765'000'000 + round * 12;
  r.horizon = 86'400;
  r.confidence = 990'000'000'000'000'000ULL;
  r.method = 3;
  r.breaker_status = 0;
  r.portfolio_value = chain::U256("123456789000000000");  // 1.23e9 USD, 8 decimals
  r.value_at_risk = 41'000'000'000'000'000ULL;
  r.expected_shortfall = 52'000'000'000'000'000ULL;
  r.config_hash = chain::from_hex_fixed<32>(
                      "0x9c1b6a0d1f3e5a7c9b2d4f6e8a0c2e4f6a8c0e2f4a6c8e0a2c4e6a8c0e2f4a6c")
                      .value();
  return r;
}

inline keeper::network::PeerReport signed_by(const chain::SecretKey& k,
                                             const keeper::OnchainReport& r,
                                             std::uint64_t trigger_block = 0) {
  keeper::network::PeerReport m;
  m.report = r;
  m.signature = keeper::sign_report(domain(), r, k);
  m.signer = chain::address_of(k);
  m.trigger_block = trigger_block;
  return m;
}

// A blocking loopback HTTP/1.1 client that writes the bytes itself (what an attacker sends).
class RawClient {
 public:
  explicit RawClient(std::uint16_t port,
                     std::chrono::milliseconds recv_timeout = std::chrono::seconds(5)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(recv_timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((recv_timeout.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  [[nodiscard]] bool connected() const { return connected_; }

  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // One response framed by Content-Length; status 0 if the peer closed or timed out first.
  struct Response {
    int status = 0;
    std::string head;
    std::string body;
  };
  Response read_response() {
    for (;;) {
      const auto head_end = buf_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const auto cl = buf_.find("Content-Length: ");
        const std::size_t length =
            cl != std::string::npos && cl < head_end ? std::stoul(buf_.substr(cl + 16)) : 0;
        if (buf_.size() >= head_end + 4 + length) {
          Response r;
          r.status = std::stoi(buf_.substr(9, 3));
          r.head = buf_.substr(0, head_end);
          r.body = buf_.substr(head_end + 4, length);
          buf_.erase(0, head_end + 4 + length);
          return r;
        }
      }
      char chunk[8192];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return {};
      buf_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  // True once the peer has closed the connection (recv returns 0 or a reset).
  bool closed_by_peer() {
    char c = 0;
    const ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

inline std::string post_request(const std::string& body, bool keep_alive = true) {
  return "POST /peer/v1/report HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n" + (keep_alive ? "" : "Connection: close\r\n") +
         "\r\n" + body;
}

inline RawClient::Response one_request(std::uint16_t port, const std::string& request) {
  RawClient c(port);
  if (!c.connected() || !c.send(request)) return {};
  return c.read_response();
}

}  // namespace varkeeper::test::peer
