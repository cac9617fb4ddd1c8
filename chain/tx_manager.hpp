// The transaction manager: a persisted state machine per transaction (chain/tx_store.hpp) that
// assigns nonces, prices EIP-1559 fees from eth_feeHistory, saves each signed attempt before
// broadcasting it, bumps stuck transactions, follows receipts to finality (the node's `finalized`
// block, or a depth) and through reorgs (the receipt's block must stay the canonical one),
// and after a restart reconciles its store with the chain (no nonce skipped, none reused).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "chain/eth_client.hpp"
#include "chain/secret_key.hpp"
#include "chain/tx_store.hpp"

namespace varkeeper::chain {

struct FeePolicy {
  double reward_percentile = 50.0;               // eth_feeHistory reward percentile for the tip
  std::uint64_t history_blocks = 10;             // blocks of fee history
  double base_fee_multiplier = 2.0;              // max fee = multiplier x next base fee + tip
  U256 min_priority_fee = U256(1'000'000);       // 0.001 gwei floor for the tip
  U256 max_fee_cap = U256(500) * 1'000'000'000;  // never more than 500 gwei per gas
};

// When a confirmed transaction is final (no reorg can undo it any more).
enum class Finality {
  // Once its block is at or below the node's `finalized` block (eth_getBlockByNumber
  // "finalized"); by `confirmations` depth while the node does not answer that tag.
  kTag,
  // Once its block is `confirmations` deep (the block itself counts: 1 = at the first receipt).
  kDepth,
};
[[nodiscard]] std::string_view to_string(Finality f) noexcept;

struct TxManagerOptions {
  FeePolicy fees;
  Finality finality = Finality::kDepth;
  std::uint64_t confirmations = 1;      // blocks deep (including the block itself) to finalize
  std::uint64_t bump_after_blocks = 3;  // re-price an unconfirmed tx after this many blocks
  double bump_percent = 20.0;           // both tip and fee cap, at least...
  U256 bump_min = U256(1'000'000'000);  // ...this many wei more (geth needs +10 % on both)
  double gas_limit_multiplier = 1.25;   // headroom over eth_estimateGas
  std::size_t max_in_flight = 256;      // transactions with a nonce and no receipt
  // A transaction whose nonce the chain has used while no receipt of any of its attempts can be
  // read (confirmed_missing_receipt) turns fatal after this many blocks of definite "no receipt"
  // answers from every endpoint of the pool, once the nonce's use is final (the transaction count
  // at the final height is above it): its nonce was used by a transaction we did not sign.
  // Chainlink waits a finality depth. Failed lookups never count: they leave it waiting.
  std::uint64_t missing_receipt_blocks = 12;
  int receipt_lookup_tries = 2;  // a failed eth_getTransactionReceipt is asked again at once
  // A gap filler's gas: eth_estimateGas of the zero-value self-send times gas_limit_multiplier,
  // never below 21,000 nor above this cap (chains that charge their L1 data in gas need more
  // than 21,000; a filler refused for its gas is re-estimated, never replaced by another filler).
  std::uint64_t gap_fill_gas_cap = 2'000'000;
};

struct TxManagerStats {
  std::uint64_t broadcasts = 0;
  std::uint64_t bumps = 0;
  std::uint64_t confirmed = 0;  // transactions confirmed (once each, however often reorged)
  std::uint64_t finalized = 0;
  std::uint64_t reorgs = 0;  // confirmed transactions whose block left the canonical chain
  // Ticks that judged finality by depth because the node did not answer the `finalized` tag.
  std::uint64_t finality_depth_fallbacks = 0;
  std::uint64_t gap_fills = 0;
  std::uint64_t rpc_failures = 0;
  std::uint64_t fatal = 0;
  std::uint64_t insufficient_funds = 0;  // broadcasts refused: the wallet cannot pay
  std::uint64_t fee_cap_reached = 0;     // transactions no valid replacement fits under the cap
  std::uint64_t missing_receipts = 0;    // entries into confirmed_missing_receipt
  std::uint64_t wrong_receipts = 0;      // receipts of another transaction than the one asked for
  std::uint64_t receipt_lookup_failures = 0;  // receipt lookups that failed (after retries)
  U256 gas_spent_wei = 0;  // fees of finalized transactions (a reorged receipt is not charged)
};

// What the manager tells operators about once per occurrence (the daemon logs it and records an
// incident; docs/operations.md lists each with its metric).
enum class TxAlertKind {
  kInsufficientFunds,  // the sender cannot pay an attempt: it is retried as it is, not re-priced
  kFeeCapReached,      // no valid replacement fits under max_fee_cap: waiting for the base fee
  kMissingReceipt,     // the nonce is used on chain but no receipt of ours can be read
  kWrongReceipt,       // an endpoint answered a receipt lookup with another transaction's receipt
  kReorg,              // a confirmed transaction's block left the canonical chain: re-sent
};
[[nodiscard]] std::string_view to_string(TxAlertKind k) noexcept;

struct TxAlert {
  TxAlertKind kind = TxAlertKind::kInsufficientFunds;
  std::uint64_t tx_id = 0;
  std::string message;
};

// What the manager's state is now (not since it started), refreshed at the end of each tick.
struct TxGauges {
  std::map<TxState, std::size_t> open_by_state;  // open transactions (not final, not fatal)
  double oldest_unconfirmed_seconds = 0;   // since this process first saw the oldest one holding
                                           // a nonce without a receipt
  std::size_t max_attempts = 0;            // most attempts signed for one open transaction
  std::size_t attempts_open = 0;           // attempts of all open transactions
  std::optional<U256> sender_balance_wei;  // the sender's balance at the last tick
};

class TxManager {
 public:
  TxManager(EthClient& eth, TxStore& store, const SecretKey& sender, std::uint64_t chain_id,
            TxManagerOptions options = {});

  // Reconciles the store with the chain: reads `latest` and `pending` nonces, confirms what was
  // mined while we were away, rebroadcasts saved attempts, fills nonce gaps. Call once before
  // tick(); fails (with the RPC error) if the chain cannot be read.
  [[nodiscard]] Expected<void, RpcError> start();

  // Queues a transaction; returns the record id. Idempotent by request.key.
  std::uint64_t enqueue(const TxRequest& request);

  // One pass over open transactions: sign and send new ones, check receipts, bump stuck ones,
  // finalize deep ones, detect reorgs. Never throws for RPC failures (they are counted).
  void tick();

  [[nodiscard]] std::optional<TxRecord> get(std::uint64_t id) const { return store_.get(id); }
  [[nodiscard]] const Address& sender() const noexcept { return sender_; }
  [[nodiscard]] const TxManagerStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const TxGauges& gauges() const noexcept { return gauges_; }
  [[nodiscard]] std::uint64_t next_nonce() const noexcept { return next_nonce_; }

  // Called after each durable state change (metrics, logs); optional.
  std::function<void(const TxRecord&)> on_change;
  // Called once per alert (not once per tick while the condition lasts); optional.
  std::function<void(const TxAlert&)> on_alert;
  // Called before each new attempt is signed (the first, and each fee bump; not for gap fillers)
  // with the record as it would be sent; a reason returned abandons the transaction instead
  // (issue 15, defect 5: the keeper re-simulates a report and drops one that would now revert).
  // Without a nonce it turns fatal and takes none; with one it turns fatal and a filler takes
  // its nonce (replacing a held attempt), so no nonce is burnt or left as a gap. Optional.
  std::function<std::optional<std::string>(const TxRecord&)> before_attempt;

 private:
  struct Fees {
    U256 max_fee;
    U256 tip;
  };
  [[nodiscard]] RpcExpected<Fees> current_fees();
  [[nodiscard]] Fees bumped(const Fees& old, const Fees& market) const;
  bool sign_attempt(TxRecord& rec, const Fees& fees);
  void broadcast(TxRecord& rec, std::uint64_t head);
  // What the receipts of every attempt say: one was mined (the record is updated), none was (every
  // lookup answered), or a lookup failed and nothing was found (nobody can tell).
  enum class Receipts { kFound, kNone, kUnknown };
  Receipts check_receipt(TxRecord& rec, std::uint64_t head);
  [[nodiscard]] RpcExpected<std::optional<TransactionReceipt>> lookup_receipt(const TxRecord& rec,
                                                                              const Hash32& hash);
  void update_gauges();
  void save(const TxRecord& rec);
  // `fill_nonce`: the nonce is still free on chain, so a zero-value filler takes it.
  void fail_fatal(TxRecord& rec, const std::string& why, bool fill_nonce = true);
  void release_nonce(TxRecord& rec);
  void mark_missing_receipt(TxRecord& rec, std::uint64_t head);
  // before_attempt said no: the record is fatal (its nonce, if any, filled). True if abandoned.
  bool abandoned_before_attempt(TxRecord& rec);

  // One tick's work on each state of the machine (tick() calls them in nonce order).
  class MarketFees;  // the market's fees, read at most once per tick
  [[nodiscard]] std::vector<TxRecord> open_in_nonce_order(std::size_t& in_flight);
  void advance_unstarted(TxRecord& rec, std::uint64_t head, MarketFees& fees,
                         std::size_t& in_flight);
  void advance_in_progress(TxRecord& rec, std::uint64_t head, MarketFees& fees);
  void advance_unconfirmed(TxRecord& rec, std::uint64_t head, MarketFees& fees);
  void advance_missing_receipt(TxRecord& rec, std::uint64_t head);
  void alert(TxAlertKind kind, const TxRecord& rec, std::string message);
  [[nodiscard]] bool replaces_in_pool(const TxRecord& rec, const Fees& next) const;
  void wait_at_fee_cap(TxRecord& rec, const Fees& best);
  void resend_held(TxRecord& rec, std::uint64_t head);
  void refused_for_good(TxRecord& rec, std::uint64_t head);
  void advance_confirmed(TxRecord& rec, std::uint64_t head);
  // Finality and reorgs (issue 15, defect 7): the canonical hash at a height and the highest final
  // block, each read at most once per tick.
  [[nodiscard]] RpcExpected<std::optional<Hash32>> canonical_hash(std::uint64_t number);
  [[nodiscard]] std::optional<std::uint64_t> final_height(std::uint64_t head);
  void finalize_if_final(TxRecord& rec, std::uint64_t head);
  void reorged(TxRecord& rec, std::uint64_t head);
  // A gap filler's gas limit, estimated (issue 15, defect 8); false if the node cannot say now.
  bool estimate_filler_gas(TxRecord& rec);
  void refill_gas(TxRecord& rec);

  EthClient& eth_;
  TxStore& store_;
  SecretKey key_;
  Address sender_{};
  std::uint64_t chain_id_;
  TxManagerOptions options_;
  std::uint64_t next_nonce_ = 0;
  bool started_ = false;
  TxManagerStats stats_;
  std::set<Hash32> refused_on_price_;       // attempts a node refused for their price
  std::set<std::uint64_t> at_fee_cap_;      // records told about the fee cap (said once)
  std::set<std::uint64_t> short_of_funds_;  // records told about insufficient funds (said once)
  std::set<Hash32> wrong_receipt_told_;     // attempts whose lying receipt was reported
  std::map<std::uint64_t, std::chrono::steady_clock::time_point> first_seen_;  // unconfirmed
  TxGauges gauges_;
  // Record id -> head when it entered confirmed_missing_receipt (this process's view; a restart
  // starts the wait again, which only makes it longer).
  std::map<std::uint64_t, std::uint64_t> missing_since_;
  std::set<std::uint64_t> counted_confirmed_;  // confirmed and counted, not final yet
  // This tick's reads of the chain: canonical hashes by height, the highest final block.
  std::map<std::uint64_t, std::optional<Hash32>> canonical_;
  std::optional<std::optional<std::uint64_t>> final_height_;
  std::uint64_t no_finalized_tag_until_ = 0;  // judged by depth below this head (no tag)
};

}  // namespace varkeeper::chain
