// A small HTTP(S) server for integration tests that forwards JSON-RPC to a real node or injects
// one fault per request: the faults a keeper meets from real endpoints. Each fault is a named
// behaviour (fault_name()); set_fault() applies one to every request, script() plays a sequence
// of them on the requests (or the requests of one method) that come next.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
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
  kHttp429,     // HTTP 429 Too Many Requests (a hosted provider's rate limit)
  kHttp503,     // HTTP 503 Service Unavailable (a 5xx storm, with kHttp500)
  // Receipt lookups (eth_getTransactionReceipt) that fail while every other method, nonce counts
  // included, is forwarded: a load-balanced provider whose receipt index is behind or down.
  kFailReceipts,
  // Receipt lookups answered `null` (a backend that has not indexed the block yet), the rest
  // forwarded.
  kNullReceipts,
  // Receipt lookups answered with the receipt of another transaction (set_receipt_decoy()): a
  // lying or buggy endpoint.
  kWrongReceipt,
  // A chain whose intrinsic gas is above Ethereum's 21,000 (an L2 that charges its L1 data cost
  // in gas): eth_estimateGas answers the node's estimate plus set_gas_surcharge(), and
  // eth_sendRawTransaction of a transaction whose gas limit is below 21,000 plus the surcharge is
  // refused with geth's "intrinsic gas too low"; the rest is forwarded.
  kGasSurcharge,
  // A node without the `finalized` and `safe` block tags (a pre-merge chain, some L2 nodes):
  // eth_getBlockByNumber("finalized" | "safe") fails; every other call is forwarded.
  kNoFinalizedTag,
  // A batch answered without its last answer (a proxy or node that cuts batches short); single
  // calls are forwarded.
  kTruncatedBatch,
  // A batch whose answers come back in reverse order (JSON-RPC 2.0 allows any order: they are
  // matched by id); single calls are forwarded.
  kReorderedBatch,
  // A node stuck at one block: eth_blockNumber answers the head it had when the fault first
  // applied, and eth_getBlockByNumber("latest") that block; the rest is forwarded.
  kFrozenHead,
  // A node set_head_lag() blocks behind its upstream: eth_blockNumber and
  // eth_getBlockByNumber("latest") answer the head minus the lag; the rest is forwarded.
  kLaggingHead,
  // A lying price endpoint: eth_calls of latestRoundData() or getRoundData(uint80) (a Chainlink
  // aggregator's reads, alone or in a batch) are forwarded and their answer word (int256, the
  // price) is multiplied by set_price_scale() (default 1.2, rounded down); only the aggregators
  // of set_lying_feeds() if any are set. Every other call, and a negative answer, is forwarded
  // untouched. For the keeper network's divergence case (issue 18).
  kLyingPrice,
};

// The behaviour's name, as tests and docs/operations.md call it ("drop", "fail_receipts", ...).
[[nodiscard]] std::string_view fault_name(Fault f) noexcept;

// One step of a script: `fault` for the next `count` requests calling `method` ("" = any method).
struct FaultStep {
  Fault fault = Fault::kNone;
  std::string method;
  std::uint64_t count = std::numeric_limits<std::uint64_t>::max();
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

  // The fault every request gets when no script step applies.
  void set_fault(Fault f) { fault_.store(f); }
  void set_delay_ms(int ms) { delay_ms_.store(ms); }
  // Replaces the script: each request is matched against the steps in order; the first step
  // whose method matches and whose count is not used up applies (and its count goes down).
  void script(std::vector<FaultStep> steps);
  void clear_script() { script({}); }
  // The transaction whose receipt kWrongReceipt answers with (0x-prefixed hash).
  void set_receipt_decoy(std::string tx_hash);
  // The gas kGasSurcharge adds to the 21,000 a transaction needs (and to each estimate).
  void set_gas_surcharge(std::uint64_t gas) { gas_surcharge_.store(gas); }
  // How many blocks kLaggingHead stays behind the upstream head.
  void set_head_lag(std::uint64_t blocks) { head_lag_.store(blocks); }
  // kLyingPrice's factor as numerator / denominator (default 6/5 = 1.2).
  void set_price_scale(std::uint64_t numerator, std::uint64_t denominator);
  // kLyingPrice lies about these aggregators only (empty, the default: every aggregator).
  void set_lying_feeds(std::vector<std::string> addresses);
  // How many price answers kLyingPrice has altered (each call of a batch counts).
  [[nodiscard]] std::uint64_t prices_altered() const noexcept { return prices_altered_.load(); }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::uint64_t requests() const noexcept { return requests_.load(); }
  // How many requests got `f` (kNone: forwarded untouched).
  [[nodiscard]] std::uint64_t injected(Fault f) const;

 private:
  void serve();
  void handle(int fd);
  [[nodiscard]] Fault fault_for(const std::string& method);
  [[nodiscard]] std::string lie_about_prices(const std::string& request_body,
                                             const std::string& out);

  std::string upstream_;
  std::optional<TlsFiles> tls_;
  void* ssl_ctx_ = nullptr;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<Fault> fault_{Fault::kNone};
  std::atomic<int> delay_ms_{3000};
  std::atomic<std::uint64_t> gas_surcharge_{50'000};
  std::atomic<std::uint64_t> head_lag_{10};
  std::uint64_t scale_num_ = 6, scale_den_ = 5;  // kLyingPrice's factor, under script_mu_
  std::vector<std::string> lying_feeds_;         // lower-case 0x addresses, under script_mu_
  std::atomic<std::uint64_t> prices_altered_{0};
  std::optional<std::uint64_t> frozen_head_;  // kFrozenHead's block, under script_mu_
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> requests_{0};
  mutable std::mutex script_mu_;
  std::vector<FaultStep> script_;
  std::string receipt_decoy_;
  std::map<Fault, std::uint64_t> injected_;
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
