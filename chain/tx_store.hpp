// Persisted state of the transaction manager. The keeper stores it in SQLite (keeper/store);
// tests use the in-memory implementation here. Every write is durable before it returns, so a
// crash at any point leaves a state the manager can resume from.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chain/address.hpp"
#include "chain/bytes.hpp"
#include "chain/uint256.hpp"

namespace varkeeper::chain {

// Chainlink's transaction-manager states (unstarted -> in_progress -> unconfirmed -> confirmed
// -> finalized, or fatal_error; unconfirmed -> confirmed_missing_receipt -> confirmed).
enum class TxState {
  kUnstarted,    // queued; no nonce yet
  kInProgress,   // nonce assigned and the first attempt saved; maybe not broadcast yet
  kUnconfirmed,  // broadcast; no receipt yet
  // The chain's nonce count is past this nonce but no receipt of any attempt could be read (a
  // failing or lagging receipt backend, or another sender using the key). The nonce is never
  // reassigned: receipts of every attempt are looked up until one is found (-> confirmed), or,
  // after TxManagerOptions::missing_receipt_blocks of definite "no receipt" answers, the
  // transaction is fatal (the nonce was used by a transaction we did not sign).
  kConfirmedMissingReceipt,
  kConfirmed,  // a receipt exists for one of its attempts
  kFinalized,  // the receipt is `confirmations` blocks deep
  kFatal,      // can never be mined (refused for a reason a retry cannot fix)
};

[[nodiscard]] std::string_view to_string(TxState s) noexcept;
[[nodiscard]] std::optional<TxState> parse_tx_state(std::string_view s) noexcept;

enum class AttemptState { kSaved, kBroadcast };

// One signed version of the transaction (fees bumped on each new attempt).
struct TxAttempt {
  Hash32 hash{};
  U256 max_fee_per_gas = 0;
  U256 max_priority_fee_per_gas = 0;
  Bytes raw;  // signed bytes, rebroadcast as they are after a crash
  AttemptState state = AttemptState::kSaved;
  std::uint64_t broadcast_block = 0;  // block number seen when last broadcast
};

struct TxRequest {
  std::string key;  // idempotency key: the same key is never enqueued twice
  std::optional<Address> to;
  Bytes data;
  U256 value = 0;
  std::uint64_t gas_limit = 0;  // 0: estimate
  std::string label;            // for logs and metrics ("report", "rebalance", "gap_fill", ...)
};

struct TxRecord {
  std::uint64_t id = 0;
  TxRequest request;
  Address from{};
  TxState state = TxState::kUnstarted;
  std::optional<std::uint64_t> nonce;
  std::vector<TxAttempt> attempts;
  // Receipt of the attempt that was mined.
  std::optional<Hash32> mined_hash;
  std::optional<Hash32> mined_block_hash;
  std::uint64_t mined_block = 0;
  bool mined_success = false;
  std::uint64_t gas_used = 0;
  U256 effective_gas_price = 0;
  std::string error;  // the last error, for operators
};

class TxStore {
 public:
  virtual ~TxStore() = default;
  // Inserts a new record (state kUnstarted) and returns its id, or the existing record's id if
  // one with the same key exists.
  virtual std::uint64_t insert(const TxRequest& request, const Address& from) = 0;
  virtual void save(const TxRecord& record) = 0;
  [[nodiscard]] virtual std::optional<TxRecord> get(std::uint64_t id) const = 0;
  [[nodiscard]] virtual std::optional<TxRecord> find_by_key(std::string_view key) const = 0;
  // Records not finalized and not fatal, oldest first.
  [[nodiscard]] virtual std::vector<TxRecord> load_open(const Address& from) const = 0;
  // The highest nonce ever assigned for `from` (any state), if any.
  [[nodiscard]] virtual std::optional<std::uint64_t> highest_nonce(const Address& from) const = 0;
};

class InMemoryTxStore final : public TxStore {
 public:
  std::uint64_t insert(const TxRequest& request, const Address& from) override;
  void save(const TxRecord& record) override;
  std::optional<TxRecord> get(std::uint64_t id) const override;
  std::optional<TxRecord> find_by_key(std::string_view key) const override;
  std::vector<TxRecord> load_open(const Address& from) const override;
  std::optional<std::uint64_t> highest_nonce(const Address& from) const override;
  [[nodiscard]] std::vector<TxRecord> all() const;

 private:
  mutable std::mutex mu_;
  std::map<std::uint64_t, TxRecord> records_;
  std::uint64_t next_id_ = 1;
};

}  // namespace varkeeper::chain
