// A small HTTP(S) server for integration tests that forwards JSON-RPC to a real node or injects
// one fault per request: the faults a keeper meets from real endpoints.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace varkeeper::test {

enum class Fault {
  kNone,        // forward to the upstream node
  kDrop,        // close the connection without an answer
  kDelay,       // wait `delay_ms` before answering (beyond the client's timeout)
  kGarbage,     // HTTP 200 with a body that is not JSON
  kWrongId,     // forward, then change every answer's id
  kHttp500,     // HTTP 500
  kWrongChain,  // answer eth_chainId with 0x1, forward the rest
};

struct TlsFiles {
  std::string cert_pem;  // server certificate chain
  std::string key_pem;
};

class FaultProxy {
 public:
  // Listens on 127.0.0.1 at a free port; forwards to `upstream_url` (http://...).
  explicit FaultProxy(std::string upstream_url, std::optional<TlsFiles> tls = std::nullopt);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  void set_fault(Fault f) { fault_.store(f); }
  void set_delay_ms(int ms) { delay_ms_.store(ms); }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::uint64_t requests() const noexcept { return requests_.load(); }

 private:
  void serve();
  void handle(int fd);

  std::string upstream_;
  std::optional<TlsFiles> tls_;
  void* ssl_ctx_ = nullptr;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<Fault> fault_{Fault::kNone};
  std::atomic<int> delay_ms_{3000};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> requests_{0};
  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

// Generates a CA and a server certificate for `host` (CN and subjectAltName, DNS and IP
// 127.0.0.1) under `dir` with the openssl command-line tool; returns {ca.pem, server files}.
struct TestPki {
  std::string ca_pem;
  TlsFiles server;
};
TestPki make_test_pki(const std::string& dir, const std::string& host);

}  // namespace varkeeper::test
