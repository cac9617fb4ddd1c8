#include "tests/support/tcp_relay.hpp"

#include "tests/support/test_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace varkeeper::test {

TcpRelay::TcpRelay(std::uint16_t upstream_port, std::optional<TlsFiles> tls)
    : upstream_(upstream_port) {
  if (tls) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(ctx, tls->cert_pem.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, tls->key_pem.c_str(), SSL_FILETYPE_PEM) != 1) {
      SSL_CTX_free(ctx);
      throw std::runtime_error("tcp relay: cannot load the test certificate");
    }
    ssl_ctx_ = ctx;
  }
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
  if (ssl_ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
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
    pumps_.emplace_back([this, client, server] { pump(client, server); });
  }
}

void TcpRelay::pump(int client, int server) {
  SSL* ssl = nullptr;
  if (ssl_ctx_) {
    ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
    SSL_set_fd(ssl, client);
    if (SSL_accept(ssl) != 1) {
      ++tls_failures_;
      SSL_free(ssl);
      ssl = nullptr;
      stop_pump(client, server);
      return;
    }
  }
  pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
  char buf[16384];
  while (!stop_) {
    const bool buffered = ssl != nullptr && SSL_pending(ssl) > 0;
    if (buffered) {
      fds[0].revents = fds[1].revents = 0;  // only the bytes TLS already holds
    } else if (::poll(fds, 2, 50) < 0) {
      break;
    }
    bool closed = false;
    for (int i = 0; i < 2 && !closed; ++i) {
      const bool ready =
          (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0 || (i == 0 && buffered);
      if (!ready) continue;
      long n = 0;
      if (i == 0 && ssl) {
        n = SSL_read(ssl, buf, sizeof buf);
      } else {
        n = ::read(fds[i].fd, buf, sizeof buf);
      }
      if (n <= 0) {
        closed = true;
      } else if (i == 1 && ssl) {
        closed = SSL_write(ssl, buf, static_cast<int>(n)) != n;
      } else {
        closed = ::write(fds[1 - i].fd, buf, static_cast<std::size_t>(n)) != n;
      }
    }
    if (closed) break;
  }
  if (ssl) {
    SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  stop_pump(client, server);
}

void TcpRelay::stop_pump(int client, int server) {
  ::shutdown(client, SHUT_RDWR);
  ::shutdown(server, SHUT_RDWR);
  std::lock_guard l(mu_);
  std::erase(fds_, client);
  std::erase(fds_, server);
  ::close(client);
  ::close(server);
}

}  // namespace varkeeper::test
