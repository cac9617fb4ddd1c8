#include "tests/support/tcp_relay.hpp"

#include "tests/support/test_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace varkeeper::test {

TcpRelay::TcpRelay(std::uint16_t upstream_port) : upstream_(upstream_port) {
  listen_fd_ = listen_on_loopback(port_, 16, "tcp relay");
  acceptor_ = std::thread([this] { serve(); });
}

TcpRelay::~TcpRelay() {
  stop_ = true;
  cut_all();
  if (acceptor_.joinable()) acceptor_.join();
  for (auto& t : pumps_) {
    if (t.joinable()) t.join();
  }
  ::close(listen_fd_);
}

void TcpRelay::cut_all() {
  std::lock_guard lock(mu_);
  for (const int fd : fds_) ::shutdown(fd, SHUT_RDWR);
}

void TcpRelay::serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int client = ::accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    if (refusing_) {
      ::close(client);
      continue;
    }
    const int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in up{};
    up.sin_family = AF_INET;
    up.sin_port = htons(upstream_);
    up.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(server, reinterpret_cast<sockaddr*>(&up), sizeof up) != 0) {
      ::close(client);
      ::close(server);
      continue;
    }
    ++connections_;
    std::lock_guard lock(mu_);
    fds_.push_back(client);
    fds_.push_back(server);
    pumps_.emplace_back([this, client, server] {
      pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      char buf[16384];
      while (!stop_) {
        if (::poll(fds, 2, 50) < 0) break;
        bool closed = false;
        for (int i = 0; i < 2 && !closed; ++i) {
          if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
          const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
          if (n <= 0 || ::write(fds[1 - i].fd, buf, static_cast<std::size_t>(n)) != n)
            closed = true;
        }
        if (closed) break;
      }
      ::shutdown(client, SHUT_RDWR);
      ::shutdown(server, SHUT_RDWR);
      std::lock_guard l(mu_);
      std::erase(fds_, client);
      std::erase(fds_, server);
      ::close(client);
      ::close(server);
    });
  }
}

}  // namespace varkeeper::test
