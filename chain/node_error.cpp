#include "chain/node_error.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace varkeeper::chain {

std::string_view to_string(NodeError e) noexcept {
  switch (e) {
    case NodeError::kUnknown: return "unknown";
    case NodeError::kNonceTooLow: return "nonce_too_low";
    case NodeError::kNonceTooHigh: return "nonce_too_high";
    case NodeError::kAlreadyKnown: return "already_known";
    case NodeError::kReplacementUnderpriced: return "replacement_underpriced";
    case NodeError::kUnderpriced: return "underpriced";
    case NodeError::kFeeCapTooLow: return "fee_cap_too_low";
    case NodeError::kTipAboveFeeCap: return "tip_above_fee_cap";
    case NodeError::kInsufficientFunds: return "insufficient_funds";
    case NodeError::kTxFeeExceedsCap: return "tx_fee_exceeds_cap";
    case NodeError::kIntrinsicGasTooLow: return "intrinsic_gas_too_low";
    case NodeError::kGasLimitExceeded: return "gas_limit_exceeded";
    case NodeError::kPoolFull: return "pool_full";
    case NodeError::kExecutionReverted: return "execution_reverted";
    case NodeError::kRateLimited: return "rate_limited";
    case NodeError::kInvalidSender: return "invalid_sender";
  }
  return "unknown";
}

namespace {

struct Pattern {
  std::string_view needle;  // lower-case substring of the lower-cased message
  NodeError error;
};

// Order matters: more specific phrases first ("replacement transaction underpriced" before
// "transaction underpriced", "max priority fee per gas higher" before "max fee per gas").
// Sources: go-ethereum core/txpool/errors.go and core/error.go (also used by erigon and
// reth/anvil, whose wording follows geth's), Nethermind's AcceptTxResult names, Besu's
// JsonRpcError messages, anvil's own messages as observed in tests/integration.
constexpr std::array kPatterns{
    // geth / erigon / anvil / reth
    Pattern{"replacement transaction underpriced", NodeError::kReplacementUnderpriced},
    Pattern{"replacement underpriced", NodeError::kReplacementUnderpriced},
    Pattern{"nonce too low", NodeError::kNonceTooLow},
    Pattern{"nonce too high", NodeError::kNonceTooHigh},
    Pattern{"already known", NodeError::kAlreadyKnown},
    Pattern{"known transaction", NodeError::kAlreadyKnown},
    Pattern{"already imported", NodeError::kAlreadyKnown},
    Pattern{"existing tx with same hash", NodeError::kAlreadyKnown},
    Pattern{"max priority fee per gas higher than max fee per gas", NodeError::kTipAboveFeeCap},
    Pattern{"maxpriorityfeepergas higher than maxfeepergas", NodeError::kTipAboveFeeCap},
    Pattern{"max fee per gas less than block base fee", NodeError::kFeeCapTooLow},
    Pattern{"fee cap less than block base fee", NodeError::kFeeCapTooLow},
    Pattern{"transaction underpriced", NodeError::kUnderpriced},
    Pattern{"insufficient funds", NodeError::kInsufficientFunds},
    Pattern{"insufficient balance", NodeError::kInsufficientFunds},
    Pattern{"exceeds the configured cap", NodeError::kTxFeeExceedsCap},
    Pattern{"intrinsic gas too low", NodeError::kIntrinsicGasTooLow},
    Pattern{"exceeds block gas limit", NodeError::kGasLimitExceeded},
    Pattern{"txpool is full", NodeError::kPoolFull},
    Pattern{"execution reverted", NodeError::kExecutionReverted},
    Pattern{"invalid sender", NodeError::kInvalidSender},
    Pattern{"invalid chain id", NodeError::kInvalidSender},
    Pattern{"rate limit", NodeError::kRateLimited},
    Pattern{"too many requests", NodeError::kRateLimited},
    // Nethermind (AcceptTxResult identifiers, compared lower-cased)
    Pattern{"oldnonce", NodeError::kNonceTooLow},
    Pattern{"noncegap", NodeError::kNonceTooHigh},
    Pattern{"alreadyknown", NodeError::kAlreadyKnown},
    Pattern{"ownnoncealreadyused", NodeError::kAlreadyKnown},
    Pattern{"feetoolowtocompete", NodeError::kReplacementUnderpriced},
    Pattern{"feetoolow", NodeError::kUnderpriced},
    Pattern{"insufficientfunds", NodeError::kInsufficientFunds},
    Pattern{"gaslimitexceeded", NodeError::kGasLimitExceeded},
    Pattern{"failedtoresolvesender", NodeError::kInvalidSender},
    // Besu
    Pattern{"upfront cost exceeds account balance", NodeError::kInsufficientFunds},
    Pattern{"transaction fee cap exceeded", NodeError::kTxFeeExceedsCap},
    Pattern{"intrinsic gas exceeds gas limit", NodeError::kIntrinsicGasTooLow},
    Pattern{"transaction gas limit exceeds block gas limit", NodeError::kGasLimitExceeded},
    Pattern{"gas price below configured minimum gas price", NodeError::kUnderpriced},
    Pattern{"gas price below current base fee", NodeError::kFeeCapTooLow},
    Pattern{"invalid signature", NodeError::kInvalidSender},
};

}  // namespace

NodeError classify_node_error(std::int64_t code, std::string_view message) noexcept {
  std::string lower;
  try {
    lower.reserve(message.size());
  } catch (...) {
    return NodeError::kUnknown;
  }
  for (const char c : message) {
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  for (const auto& p : kPatterns) {
    if (lower.find(p.needle) != std::string::npos) {
      return p.error;
    }
  }
  // EIP-1474: 3 is "execution reverted" with revert data; -32005 "limit exceeded".
  if (code == 3) {
    return NodeError::kExecutionReverted;
  }
  if (code == -32005) {
    return NodeError::kRateLimited;
  }
  return NodeError::kUnknown;
}

bool is_transient(NodeError e) noexcept {
  return e == NodeError::kPoolFull || e == NodeError::kRateLimited;
}

}  // namespace varkeeper::chain
