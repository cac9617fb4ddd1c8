// Several JSON-RPC endpoints for one chain: health-ranked failover for reads, reads that must
// agree across two endpoints, and raw transactions broadcast to every endpoint.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "chain/json_rpc.hpp"

namespace varkeeper::chain {

struct EndpointHealth {
  std::string endpoint;
  bool enabled = true;  // false after a wrong chain id
  std::uint64_t consecutive_failures = 0;
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;
  double latency_ms_ewma = 0.0;
  std::string last_error;
};

class EndpointPool {
 public:
  explicit EndpointPool(std::vector<std::unique_ptr<JsonRpcClient>> clients);

  // Asks every endpoint for eth_chainId; endpoints on another chain are disabled (and reported
  // in the error if none is left). Returns how many endpoints serve `expected_chain_id`.
  [[nodiscard]] Expected<std::size_t, RpcError> connect(std::uint64_t expected_chain_id);

  // Tries endpoints from healthiest to least healthy until one answers. A node's refusal of the
  // request itself (e.g. execution reverted) is an answer and is returned at once.
  [[nodiscard]] RpcResult call(std::string_view method, const Json& params = Json::array());
  [[nodiscard]] std::vector<RpcResult> batch(std::span<const RpcRequest> requests);

  // The same call on `quorum` different healthy endpoints; their results must be identical
  // (use with block-pinned calls). kDisagreement otherwise.
  [[nodiscard]] RpcResult agreeing_call(std::string_view method, const Json& params,
                                        std::size_t quorum = 2);

  // eth_sendRawTransaction to every enabled endpoint; success if any accepted it or said it is
  // already known. The returned error, if all failed, is the most actionable one (a node refusal
  // rather than a transport failure).
  [[nodiscard]] RpcResult broadcast_raw_transaction(const std::string& raw_hex);

  [[nodiscard]] std::vector<EndpointHealth> health() const { return health_; }
  [[nodiscard]] std::size_t size() const noexcept { return clients_.size(); }
  [[nodiscard]] JsonRpcClient& client(std::size_t i) { return *clients_.at(i); }

 private:
  [[nodiscard]] std::vector<std::size_t> ranked() const;
  void record(std::size_t i, const RpcResult& r, std::chrono::steady_clock::duration took);

  std::vector<std::unique_ptr<JsonRpcClient>> clients_;
  std::vector<EndpointHealth> health_;
};

}  // namespace varkeeper::chain
