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
  // Head tracking (observe_heads): the last block number it reported, how far that is behind
  // the highest head in the pool, and whether it is out of sync (lagging or frozen), which puts
  // it behind every in-sync endpoint.
  std::optional<std::uint64_t> head;
  std::uint64_t head_lag = 0;
  bool out_of_sync = false;
  std::string out_of_sync_reason;  // "12 blocks behind", "head 80 unchanged for 61 s"
  // false: it was unreachable when connect() checked chain ids, so it is asked for its chain id
  // before it is first used (and disabled if it serves another chain).
  bool chain_verified = true;
};

// How out of sync an endpoint may be before it is demoted (issue 15, defect 4; Chainlink's node
// pool: out-of-sync by lag behind the best head, or by no new head for a while).
struct EndpointPoolOptions {
  std::uint64_t max_head_lag_blocks = 5;         // chain.max_head_lag_blocks
  std::chrono::milliseconds head_stall{60'000};  // chain.head_stall_s: head unchanged this long
  // A broadcast asks every endpoint at once (issue 15, defect 9) and waits for every answer, but
  // no longer than broadcast_grace after the first endpoint accepted the transaction, nor than
  // broadcast_timeout in all (then the endpoints still sending are abandoned).
  std::chrono::milliseconds broadcast_grace{250};
  std::chrono::milliseconds broadcast_timeout{10'000};
};

class EndpointPool {
 public:
  explicit EndpointPool(std::vector<std::unique_ptr<JsonRpcClient>> clients,
                        EndpointPoolOptions options = {});

  // Asks every endpoint for eth_chainId; endpoints on another chain are disabled (and reported
  // in the error if none is left). Returns how many endpoints serve `expected_chain_id`.
  [[nodiscard]] Expected<std::size_t, RpcError> connect(std::uint64_t expected_chain_id);

  // Asks every enabled endpoint for eth_blockNumber (once a tick) and marks those out of sync:
  // more than max_head_lag_blocks behind the highest head, or a head unchanged for head_stall.
  // Out-of-sync endpoints are tried after every in-sync one (never dropped: if every endpoint
  // lags, the configured order decides).
  void observe_heads(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

  // Tries endpoints in rank order until one answers: in-sync before out-of-sync, then fewer
  // consecutive failures first, then the configured order (chain.rpc). A node's refusal of the
  // request itself (e.g. execution reverted) is an answer and is returned at once.
  [[nodiscard]] RpcResult call(std::string_view method, const Json& params = Json::array());
  [[nodiscard]] std::vector<RpcResult> batch(std::span<const RpcRequest> requests);

  // The same call on `quorum` different healthy endpoints; their results must be identical
  // (use with block-pinned calls). kDisagreement otherwise.
  [[nodiscard]] RpcResult agreeing_call(std::string_view method, const Json& params,
                                        std::size_t quorum = 2);
  // The same batch on `quorum` different endpoints that answer it (healthiest first); every
  // answer must be the same on each: equal results (a block compares by its hash), or the same
  // node error. kDisagreement names the two endpoints and the method; kNoEndpoint if fewer than
  // `quorum` answered. Use with block-pinned requests (issue 15, defect 3: one lying endpoint
  // must not set the prices the signers sign).
  [[nodiscard]] Expected<std::vector<RpcResult>, RpcError> agreeing_batch(
      std::span<const RpcRequest> requests, std::size_t quorum);

  // eth_sendRawTransaction to every enabled endpoint at once, each on a thread of its own (its
  // I/O bounded by the caller's IoBudget too); success if any accepted it or said it is already
  // known. The returned error, if all failed, is the most actionable one (a node refusal rather
  // than a transport failure). Returns within broadcast_timeout, or broadcast_grace after the
  // first acceptance.
  [[nodiscard]] RpcResult broadcast_raw_transaction(const std::string& raw_hex);

  [[nodiscard]] std::vector<EndpointHealth> health() const { return health_; }
  [[nodiscard]] std::size_t size() const noexcept { return clients_.size(); }
  [[nodiscard]] JsonRpcClient& client(std::size_t i) { return *clients_.at(i); }

 private:
  [[nodiscard]] std::vector<std::size_t> ranked();
  // An endpoint that was unreachable at connect() is asked for its chain id before first use;
  // false if it is still unreachable or serves another chain (then disabled).
  [[nodiscard]] bool verify_chain(std::size_t i);
  // Applies an eth_chainId answer of an endpoint not yet checked: true if it serves our chain.
  [[nodiscard]] bool chain_answer_ok(std::size_t i, const RpcResult& r);
  // An answer that says this endpoint cannot serve the request now: a transport or HTTP fault,
  // or a node that does not have the pinned block yet ("header not found"): try another.
  [[nodiscard]] static bool fails_over(const RpcError& e);
  void record(std::size_t i, const RpcResult& r, std::chrono::steady_clock::duration took);

  std::vector<std::unique_ptr<JsonRpcClient>> clients_;
  std::vector<EndpointHealth> health_;
  EndpointPoolOptions options_;
  std::optional<std::uint64_t> expected_chain_id_;
  std::vector<std::chrono::steady_clock::time_point> head_moved_at_;
};

}  // namespace varkeeper::chain
