// A TCP relay on a loopback port that forwards bytes to an upstream port and can cut every
// connection (and refuse new ones for a while): for tests of reconnection logic. With TlsFiles it
// terminates TLS (a wss:// endpoint in front of anvil's ws://).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "tests/support/fault_proxy.hpp"

namespace varkeeper::test {

class TcpRelay {
 public:
  explicit TcpRelay(std::uint16_t upstream_port, std::optional<TlsFiles> tls = std::nullopt);
  ~TcpRelay();
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  // Closes every relayed connection now.
  void cut_all();
  // While refusing, new connections are accepted and closed at once.
  void set_refusing(bool refusing) { refusing_ = refusing; }
  [[nodiscard]] std::uint64_t connections() const noexcept { return connections_.load(); }
  // TLS handshakes that failed (e.g. the client refused the certificate).
  [[nodiscard]] std::uint64_t tls_failures() const noexcept { return tls_failures_.load(); }

 private:
  void serve();
  void pump(int client, int server);
  void stop_pump(int client, int server);
  std::uint16_t upstream_;
  void* ssl_ctx_ = nullptr;  // SSL_CTX*, with TlsFiles
  std::atomic<std::uint64_t> tls_failures_{0};
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> refusing_{false};
  std::atomic<std::uint64_t> connections_{0};
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> pumps_;
  std::thread acceptor_;
};

}  // namespace varkeeper::test
