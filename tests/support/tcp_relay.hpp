// A TCP relay on a loopback port that forwards bytes to an upstream port and can cut every
// connection (and refuse new ones for a while): for tests of reconnection logic.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace varkeeper::test {

class TcpRelay {
 public:
  explicit TcpRelay(std::uint16_t upstream_port);
  ~TcpRelay();
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  // Closes every relayed connection now.
  void cut_all();
  // While refusing, new connections are accepted and closed at once.
  void set_refusing(bool refusing) { refusing_ = refusing; }
  [[nodiscard]] std::uint64_t connections() const noexcept { return connections_.load(); }

 private:
  void serve();
  std::uint16_t upstream_;
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
