// Node error messages (JSON-RPC error objects) classified into the few cases a keeper acts on.
// Each client words them differently; the tables in node_error.cpp say which client says what.
#pragma once

#include <cstdint>
#include <string_view>

namespace varkeeper::chain {

enum class NodeError {
  kUnknown,                 // not recognised: treat as non-retryable for this endpoint
  kNonceTooLow,             // the nonce was used: maybe our own tx was mined — look up receipts
  kNonceTooHigh,            // a gap below this nonce
  kAlreadyKnown,            // this exact tx is in the pool: counts as sent
  kReplacementUnderpriced,  // same nonce in the pool with a higher fee: bump more
  kUnderpriced,             // below the node's minimum gas price
  kFeeCapTooLow,            // maxFeePerGas below the block base fee
  kTipAboveFeeCap,          // maxPriorityFeePerGas > maxFeePerGas
  kInsufficientFunds,       // sender cannot pay value + gas
  kTxFeeExceedsCap,         // the node's own fee cap (e.g. geth --rpc.txfeecap)
  kIntrinsicGasTooLow,      // gas limit below intrinsic gas
  kGasLimitExceeded,        // above the block gas limit
  kPoolFull,                // txpool full or a rate limit: retry later
  kExecutionReverted,       // eth_call / estimateGas reverted; revert data in `data`
  kRateLimited,             // 429-like answers from hosted providers
  kInvalidSender,           // bad signature or chain id
};

[[nodiscard]] std::string_view to_string(NodeError e) noexcept;

// Classifies an error object by its code and message (geth, anvil/reth, erigon, nethermind, besu).
[[nodiscard]] NodeError classify_node_error(std::int64_t code, std::string_view message) noexcept;

// Whether trying the same request again later (or on another endpoint) can succeed.
[[nodiscard]] bool is_transient(NodeError e) noexcept;

}  // namespace varkeeper::chain
