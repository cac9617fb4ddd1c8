#include "chain/tx_manager.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <set>

#include "chain/hex.hpp"
#include "chain/secp256k1.hpp"
#include "chain/transaction.hpp"

namespace varkeeper::chain {

namespace {
U256 scale(const U256& v, double factor) {
  // Fixed-point multiply in parts per million, so no double ever touches a fee.
  const auto ppm = static_cast<std::uint64_t>(std::llround(factor * 1'000'000.0));
  return v * ppm / 1'000'000;
}

// The receipt of `hash` asked of every endpoint of the pool (soak run 2, tx 9: the endpoint the
// pool picks may answer null receipts while another has it). Any receipt for `hash` wins; null
// only if every usable endpoint answered null; an error if one failed or answered the receipt of
// another transaction (then "no receipt" cannot be said).
RpcExpected<std::optional<TransactionReceipt>> receipt_from_every_endpoint(EndpointPool& pool,
                                                                           const Hash32& hash) {
  const auto health = pool.health();
  std::optional<RpcError> failed;
  for (std::size_t i = 0; i < pool.size(); ++i) {
    if (i < health.size() && (!health[i].enabled || !health[i].chain_verified)) {
      continue;  // another chain, or not known to serve ours: its answer says nothing
    }
    auto v = pool.client(i).call("eth_getTransactionReceipt", Json::array({to_hex(hash)}));
    if (!v) {
      failed = v.error();
      continue;
    }
    if (v->is_null()) {
      continue;
    }
    auto r = decode_receipt(*v);
    if (!r || r->transaction_hash != hash) {
      RpcError e;
      e.kind = RpcErrorKind::kMalformedResponse;
      e.message = "eth_getTransactionReceipt(" + to_hex(hash) + ") on endpoint " +
                  std::to_string(i) + ": " +
                  (r ? "the receipt of another transaction" : r.error().message);
      failed = e;
      continue;
    }
    return std::optional<TransactionReceipt>(std::move(*r));
  }
  if (failed) {
    return unexpected(*failed);
  }
  return std::optional<TransactionReceipt>{};
}
}  // namespace

std::string_view to_string(Finality f) noexcept {
  switch (f) {
    case Finality::kTag: return "tag";
    case Finality::kDepth: return "depth";
  }
  return "unknown";
}

std::string_view to_string(TxAlertKind k) noexcept {
  switch (k) {
    case TxAlertKind::kInsufficientFunds: return "insufficient_funds";
    case TxAlertKind::kFeeCapReached: return "fee_cap_reached";
    case TxAlertKind::kMissingReceipt: return "missing_receipt";
    case TxAlertKind::kWrongReceipt: return "wrong_receipt";
    case TxAlertKind::kReorg: return "reorg";
  }
  return "unknown";
}

TxManager::TxManager(EthClient& eth, TxStore& store, const SecretKey& sender,
                     std::uint64_t chain_id, TxManagerOptions options)
    : eth_(eth),
      store_(store),
      key_(sender),
      sender_(address_of(key_)),
      chain_id_(chain_id),
      options_(std::move(options)) {}

void TxManager::alert(TxAlertKind kind, const TxRecord& rec, std::string message) {
  if (on_alert) {
    on_alert(TxAlert{kind, rec.id, std::move(message)});
  }
}

void TxManager::save(const TxRecord& rec) {
  store_.save(rec);
  if (on_change) {
    on_change(rec);
  }
}

void TxManager::fail_fatal(TxRecord& rec, const std::string& why, bool fill_nonce) {
  const auto nonce = fill_nonce ? rec.nonce : std::nullopt;
  rec.state = TxState::kFatal;
  rec.error = why;
  ++stats_.fatal;
  save(rec);
  if (nonce) {
    // The nonce is ours and may be known to nodes: fill it with a zero-value self-transfer so
    // later transactions are not stuck behind a gap.
    TxRequest fill{"gap-fill:" + std::to_string(*nonce) + ":" + std::to_string(rec.id),
                   sender_,
                   {},
                   0,
                   0,  // estimated when signed (estimate_filler_gas)
                   "gap_fill"};
    const auto id = store_.insert(fill, sender_);
    auto filler = *store_.get(id);
    filler.nonce = nonce;
    filler.state = TxState::kInProgress;
    ++stats_.gap_fills;
    save(filler);
  }
}

void TxManager::mark_missing_receipt(TxRecord& rec, std::uint64_t head) {
  missing_since_.try_emplace(rec.id, head);
  if (rec.state == TxState::kConfirmedMissingReceipt) {
    return;
  }
  rec.state = TxState::kConfirmedMissingReceipt;
  rec.error = "nonce " + std::to_string(*rec.nonce) + " is used on chain but no receipt of our " +
              std::to_string(rec.attempts.size()) +
              " attempt(s) could be read; looking them up, the nonce is not reassigned";
  ++stats_.missing_receipts;
  save(rec);
  alert(TxAlertKind::kMissingReceipt, rec, rec.error);
}

bool TxManager::abandoned_before_attempt(TxRecord& rec) {
  if (!before_attempt || rec.request.label == "gap_fill") {
    return false;
  }
  const auto why = before_attempt(rec);
  if (!why) {
    return false;
  }
  fail_fatal(rec,
             "abandoned before attempt " + std::to_string(rec.attempts.size() + 1) + ": " + *why,
             /*fill_nonce=*/rec.nonce.has_value());
  return true;
}

// Only for a nonce no attempt of ours can have used (a record never signed), or a gap filler.
void TxManager::release_nonce(TxRecord& rec) {
  if (rec.request.label == "gap_fill") {
    // Its only purpose was to use the nonce, and the nonce is used.
    rec.state = TxState::kFinalized;
    rec.error = "nonce used by another transaction; filler not needed";
  } else {
    // The transaction never landed: it gets a new nonce.
    rec.nonce.reset();
    rec.attempts.clear();
    rec.state = TxState::kUnstarted;
    rec.error = "nonce consumed by another transaction; reassigned";
  }
  save(rec);
}

RpcExpected<TxManager::Fees> TxManager::current_fees() {
  const auto& p = options_.fees;
  auto history = eth_.fee_history(p.history_blocks, BlockTag::latest(), {p.reward_percentile});
  if (!history) {
    return unexpected(history.error());
  }
  if (history->base_fee_per_gas.empty()) {
    RpcError e;
    e.kind = RpcErrorKind::kMalformedResponse;
    e.message = "eth_feeHistory returned no base fee";
    return unexpected(e);
  }
  // The last entry is the base fee of the next block (EIP-1559 fee history).
  const U256 next_base = history->base_fee_per_gas.back();
  std::vector<U256> rewards;
  for (const auto& row : history->reward) {
    if (!row.empty()) {
      rewards.push_back(row[0]);
    }
  }
  U256 tip = p.min_priority_fee;
  if (!rewards.empty()) {
    std::sort(rewards.begin(), rewards.end());
    tip = std::max(tip, rewards[rewards.size() / 2]);
  }
  U256 max_fee = scale(next_base, p.base_fee_multiplier) + tip;
  max_fee = std::min(max_fee, p.max_fee_cap);
  tip = std::min(tip, max_fee);
  return Fees{max_fee, tip};
}

TxManager::Fees TxManager::bumped(const Fees& old, const Fees& market) const {
  const double f = 1.0 + options_.bump_percent / 100.0;
  Fees out;
  out.tip = std::max(scale(old.tip, f), old.tip + options_.bump_min);
  out.max_fee = std::max(scale(old.max_fee, f), old.max_fee + options_.bump_min);
  // Never below what the market asks now.
  out.tip = std::max(out.tip, market.tip);
  out.max_fee = std::max(out.max_fee, market.max_fee);
  out.max_fee = std::min(out.max_fee, options_.fees.max_fee_cap);
  out.tip = std::min(out.tip, out.max_fee);
  return out;
}

bool TxManager::sign_attempt(TxRecord& rec, const Fees& fees) {
  Eip1559Transaction tx;
  tx.chain_id = chain_id_;
  tx.nonce = *rec.nonce;
  tx.max_priority_fee_per_gas = fees.tip;
  tx.max_fee_per_gas = fees.max_fee;
  tx.gas_limit = rec.request.gas_limit;
  tx.to = rec.request.to;
  tx.value = rec.request.value;
  tx.data = rec.request.data;
  const auto stx = sign_transaction(tx, key_);
  TxAttempt attempt;
  attempt.raw = encode_signed(stx);
  attempt.hash = transaction_hash(stx);
  attempt.max_fee_per_gas = fees.max_fee;
  attempt.max_priority_fee_per_gas = fees.tip;
  attempt.state = AttemptState::kSaved;
  rec.attempts.push_back(std::move(attempt));
  // Saved before it is broadcast: after a crash the same bytes are sent again, never new ones
  // with the same nonce and unknown fees.
  save(rec);
  return true;
}

void TxManager::broadcast(TxRecord& rec, std::uint64_t head) {
  auto& attempt = rec.attempts.back();
  auto sent = eth_.send_raw_transaction(attempt.raw);
  if (sent) {
    ++stats_.broadcasts;
    attempt.state = AttemptState::kBroadcast;
    attempt.broadcast_block = head;
    rec.state = TxState::kUnconfirmed;
    rec.error.clear();
    short_of_funds_.erase(rec.id);
    save(rec);
    return;
  }
  const auto& err = sent.error();
  rec.error = err.describe();
  if (err.kind != RpcErrorKind::kRpcError) {
    ++stats_.rpc_failures;  // no endpoint took it: try again next tick
    save(rec);
    return;
  }
  switch (err.node_error) {
    case NodeError::kNonceTooLow:
      // Possibly mined already (an earlier attempt, before a crash): the receipt check decides.
      // Nothing more can be sent at this nonce, so the attempt counts as sent.
      attempt.state = AttemptState::kBroadcast;
      attempt.broadcast_block = head;
      rec.state = TxState::kUnconfirmed;
      save(rec);
      check_receipt(rec, head);
      return;
    case NodeError::kReplacementUnderpriced:
    case NodeError::kFeeCapTooLow:
    case NodeError::kUnderpriced:
      // The node refused it for its price: the one attempt that may be re-priced although no node
      // holds it. The next tick bumps it at once.
      refused_on_price_.insert(attempt.hash);
      attempt.broadcast_block =
          head >= options_.bump_after_blocks ? head - options_.bump_after_blocks : 0;
      rec.state = TxState::kUnconfirmed;
      save(rec);
      return;
    case NodeError::kInsufficientFunds:
      // Retried as it is at the next tick: a higher price would only need more funds.
      ++stats_.insufficient_funds;
      save(rec);
      if (short_of_funds_.insert(rec.id).second) {
        alert(TxAlertKind::kInsufficientFunds, rec,
              "sender " + to_hex(sender_) + " cannot pay transaction " + std::to_string(rec.id) +
                  " (" + rec.error + "); the same attempt is retried, fees unchanged");
      }
      return;
    case NodeError::kIntrinsicGasTooLow:
      if (rec.request.label == "gap_fill") {
        refill_gas(rec);  // never a filler for a filler: more gas at the same nonce
        return;
      }
      refused_for_good(rec, head);
      return;
    case NodeError::kInvalidSender:
    case NodeError::kGasLimitExceeded:
    case NodeError::kTipAboveFeeCap: refused_for_good(rec, head); return;
    default:
      save(rec);  // pool full, ...: retry next tick
      return;
  }
}

RpcExpected<std::optional<TransactionReceipt>> TxManager::lookup_receipt(const TxRecord& rec,
                                                                         const Hash32& hash) {
  for (int attempt = 1;; ++attempt) {
    auto receipt = eth_.transaction_receipt(hash);
    if (receipt && *receipt && (*receipt)->transaction_hash != hash) {
      // Another transaction's receipt (a lying or broken endpoint): no answer at all.
      ++stats_.wrong_receipts;
      RpcError e;
      e.kind = RpcErrorKind::kMalformedResponse;
      e.message = "eth_getTransactionReceipt(" + to_hex(hash) + ") answered the receipt of " +
                  to_hex((*receipt)->transaction_hash);
      if (wrong_receipt_told_.insert(hash).second) {
        alert(TxAlertKind::kWrongReceipt, rec, e.message);
      }
      receipt = unexpected(e);
    }
    if (receipt && !*receipt && rec.state == TxState::kConfirmedMissingReceipt &&
        eth_.pool().size() > 1) {
      // The nonce is used and the endpoint asked has no receipt: every endpoint is asked before
      // "no receipt" is believed (one answering null receipts must not make a mined one fatal).
      receipt = receipt_from_every_endpoint(eth_.pool(), hash);
    }
    if (receipt || attempt >= options_.receipt_lookup_tries) {
      if (!receipt) {
        ++stats_.rpc_failures;
        ++stats_.receipt_lookup_failures;
      }
      return receipt;
    }
  }
}

TxManager::Receipts TxManager::check_receipt(TxRecord& rec, std::uint64_t head) {
  // Every attempt is asked, newest first (the likeliest to be mined): any of them may hold the
  // nonce, and a failed lookup of one says nothing about the others.
  bool unknown = false;
  for (auto it = rec.attempts.rbegin(); it != rec.attempts.rend(); ++it) {
    auto receipt = lookup_receipt(rec, it->hash);
    if (!receipt) {
      unknown = true;
      continue;
    }
    if (!*receipt) {
      continue;
    }
    const auto& r = **receipt;
    rec.mined_hash = r.transaction_hash;
    rec.mined_block_hash = r.block_hash;
    rec.mined_block = r.block_number;
    rec.mined_success = r.success;
    rec.gas_used = r.gas_used;
    rec.effective_gas_price = r.effective_gas_price;
    rec.state = TxState::kConfirmed;
    if (counted_confirmed_.insert(rec.id).second) {
      ++stats_.confirmed;  // once per transaction, however often a reorg undoes it
    }
    missing_since_.erase(rec.id);
    save(rec);
    finalize_if_final(rec, head);
    return Receipts::kFound;
  }
  return unknown ? Receipts::kUnknown : Receipts::kNone;
}

Expected<void, RpcError> TxManager::start() {
  auto latest = eth_.transaction_count(sender_, BlockTag::latest());
  if (!latest) {
    return unexpected(latest.error());
  }
  auto pending = eth_.transaction_count(sender_, BlockTag::pending());
  if (!pending) {
    return unexpected(pending.error());
  }
  auto head = eth_.block_number();
  if (!head) {
    return unexpected(head.error());
  }

  canonical_.clear();
  final_height_.reset();
  auto open = store_.load_open(sender_);
  std::set<std::uint64_t> covered;
  for (auto& rec : open) {
    if (!rec.nonce) {
      continue;
    }
    if (rec.state == TxState::kConfirmed) {
      covered.insert(*rec.nonce);
      continue;
    }
    if (check_receipt(rec, *head) == Receipts::kFound) {
      covered.insert(*rec.nonce);
      continue;
    }
    if (*rec.nonce < *latest) {
      if (rec.attempts.empty() || rec.request.label == "gap_fill") {
        release_nonce(rec);  // no attempt of ours can have used it, or it needed no filler
        continue;
      }
      // Used on chain, maybe by one of our attempts whose receipt cannot be read (yet).
      mark_missing_receipt(rec, *head);
      covered.insert(*rec.nonce);
      continue;
    }
    covered.insert(*rec.nonce);
    if (!rec.attempts.empty()) {
      broadcast(rec, *head);  // rebroadcast exactly the saved bytes
    }
  }
  const auto highest = store_.highest_nonce(sender_);
  next_nonce_ =
      std::max<std::uint64_t>(*latest, highest && *highest + 1 > *latest ? *highest + 1 : 0);
  // Nonces between the chain's count and our next one that no open record holds: gaps (a
  // record that went fatal before its filler was saved, for instance). Fill them.
  for (std::uint64_t n = *latest; n < next_nonce_; ++n) {
    if (covered.count(n) != 0) {
      continue;
    }
    if (n < *pending) {
      continue;  // the node holds a transaction at this nonce already
    }
    TxRequest fill{"gap-fill:" + std::to_string(n) + ":start", sender_, {}, 0, 0, "gap_fill"};
    const auto id = store_.insert(fill, sender_);
    auto rec = *store_.get(id);
    if (rec.nonce) {
      continue;
    }
    rec.nonce = n;
    rec.state = TxState::kInProgress;
    ++stats_.gap_fills;
    save(rec);
  }
  next_nonce_ = std::max(next_nonce_, *pending);
  started_ = true;
  return {};
}

std::uint64_t TxManager::enqueue(const TxRequest& request) {
  return store_.insert(request, sender_);
}

// The market's fees, read from the node at most once per tick and only if a transaction needs
// them; a failed read counts one RPC failure per attempt.
class TxManager::MarketFees {
 public:
  explicit MarketFees(TxManager& manager) : manager_(manager) {}
  std::optional<Fees> get() {
    if (!market_) {
      auto f = manager_.current_fees();
      if (!f) {
        ++manager_.stats_.rpc_failures;
        return std::nullopt;
      }
      market_ = *f;
    }
    return market_;
  }

 private:
  TxManager& manager_;
  std::optional<Fees> market_;
};

void TxManager::tick() {
  if (!started_) {
    if (!start()) {
      ++stats_.rpc_failures;
      return;
    }
  }
  auto head = eth_.block_number();
  if (!head) {
    ++stats_.rpc_failures;
    return;
  }
  canonical_.clear();
  final_height_.reset();
  MarketFees fees(*this);
  std::size_t in_flight = 0;
  auto open = open_in_nonce_order(in_flight);
  for (auto& rec : open) {
    switch (rec.state) {
      case TxState::kUnstarted: advance_unstarted(rec, *head, fees, in_flight); break;
      case TxState::kInProgress: advance_in_progress(rec, *head, fees); break;
      case TxState::kUnconfirmed: advance_unconfirmed(rec, *head, fees); break;
      case TxState::kConfirmedMissingReceipt: advance_missing_receipt(rec, *head); break;
      case TxState::kConfirmed: advance_confirmed(rec, *head); break;
      case TxState::kFinalized:
      case TxState::kFatal: break;
    }
  }
  update_gauges();
}

void TxManager::update_gauges() {
  TxGauges g;
  const auto now = std::chrono::steady_clock::now();
  std::map<std::uint64_t, std::chrono::steady_clock::time_point> seen;
  for (const auto& rec : store_.load_open(sender_)) {
    ++g.open_by_state[rec.state];
    g.max_attempts = std::max(g.max_attempts, rec.attempts.size());
    g.attempts_open += rec.attempts.size();
    if (!rec.nonce || rec.state == TxState::kConfirmed) {
      continue;
    }
    const auto it = first_seen_.find(rec.id);
    const auto since = it == first_seen_.end() ? now : it->second;
    seen.emplace(rec.id, since);
    g.oldest_unconfirmed_seconds =
        std::max(g.oldest_unconfirmed_seconds, std::chrono::duration<double>(now - since).count());
  }
  first_seen_ = std::move(seen);
  if (auto balance = eth_.balance(sender_)) {
    g.sender_balance_wei = *balance;
  } else {
    ++stats_.rpc_failures;
    g.sender_balance_wei = gauges_.sender_balance_wei;  // the last one known
  }
  gauges_ = std::move(g);
}

// The open records, lower nonces first, then unstarted ones in queue order; `in_flight` counts
// those holding a nonce that are not yet confirmed.
std::vector<TxRecord> TxManager::open_in_nonce_order(std::size_t& in_flight) {
  auto open = store_.load_open(sender_);
  in_flight = 0;
  for (const auto& rec : open) {
    if (rec.nonce && rec.state != TxState::kConfirmed) {
      ++in_flight;
    }
  }
  std::stable_sort(open.begin(), open.end(), [](const TxRecord& a, const TxRecord& b) {
    if (a.nonce.has_value() != b.nonce.has_value()) {
      return a.nonce.has_value();
    }
    if (a.nonce && b.nonce) {
      return *a.nonce < *b.nonce;
    }
    return a.id < b.id;
  });
  return open;
}

// unstarted -> in_progress: estimate gas if the request has none (a revert is fatal), take the
// next nonce, sign and send; not while max_in_flight transactions are out.
void TxManager::advance_unstarted(TxRecord& rec, std::uint64_t head, MarketFees& fees,
                                  std::size_t& in_flight) {
  if (in_flight >= options_.max_in_flight) {
    return;
  }
  if (abandoned_before_attempt(rec)) {
    return;  // no nonce taken
  }
  if (rec.request.gas_limit == 0) {
    CallRequest call{sender_, rec.request.to, rec.request.data, rec.request.value, {}};
    auto gas = eth_.estimate_gas(call);
    if (!gas) {
      if (gas.error().kind == RpcErrorKind::kRpcError &&
          gas.error().node_error == NodeError::kExecutionReverted) {
        fail_fatal(rec, "would revert: " + gas.error().describe());
      } else {
        ++stats_.rpc_failures;
      }
      return;
    }
    rec.request.gas_limit =
        static_cast<std::uint64_t>(static_cast<double>(*gas) * options_.gas_limit_multiplier);
  }
  const auto f = fees.get();
  if (!f) {
    return;
  }
  rec.nonce = next_nonce_++;
  rec.state = TxState::kInProgress;
  ++in_flight;
  sign_attempt(rec, *f);
  broadcast(rec, head);
}

// in_progress: (re)send the saved attempt; sign one first if there is none.
void TxManager::advance_in_progress(TxRecord& rec, std::uint64_t head, MarketFees& fees) {
  if (rec.attempts.empty()) {  // a gap filler, or a crash before the first attempt
    if (abandoned_before_attempt(rec)) {
      return;  // its nonce is filled
    }
    if (rec.request.gas_limit == 0 && !estimate_filler_gas(rec)) {
      return;  // a gap filler whose gas the node cannot estimate now: next tick
    }
    const auto f = fees.get();
    if (!f) {
      return;
    }
    sign_attempt(rec, *f);
  }
  broadcast(rec, head);
}

// unconfirmed: mined? An attempt no node took is sent again as it is. Otherwise, after
// bump_after_blocks, either the chain has used the nonce while no receipt of ours can be read
// (confirmed_missing_receipt: never reassign it) or the fees are bumped, if a valid replacement
// fits under the cap.
void TxManager::advance_unconfirmed(TxRecord& rec, std::uint64_t head, MarketFees& fees) {
  const auto receipts = check_receipt(rec, head);
  if (receipts == Receipts::kFound) {
    return;
  }
  const auto& last = rec.attempts.back();
  if (last.state != AttemptState::kBroadcast && refused_on_price_.count(last.hash) == 0) {
    // Never seen by a node (insufficient funds, no endpoint answered, a crash): fees rise only
    // from an attempt a node took or refused for its price.
    broadcast(rec, head);
    return;
  }
  if (head < last.broadcast_block + options_.bump_after_blocks) {
    return;
  }
  auto latest = eth_.transaction_count(sender_, BlockTag::latest());
  if (!latest) {
    ++stats_.rpc_failures;
  } else if (*latest > *rec.nonce) {
    if (rec.request.label == "gap_fill") {
      release_nonce(rec);  // the nonce is used, by the filler or another: its purpose is served
    } else {
      mark_missing_receipt(rec, head);
    }
    return;
  }
  if (receipts == Receipts::kUnknown) {
    return;  // nobody can tell whether an attempt is mined: no new one
  }
  const auto f = fees.get();
  if (!f) {
    return;
  }
  const Fees next = bumped({last.max_fee_per_gas, last.max_priority_fee_per_gas}, *f);
  if (!replaces_in_pool(rec, next)) {
    wait_at_fee_cap(rec, next);
    resend_held(rec, head);
    return;
  }
  if (abandoned_before_attempt(rec)) {
    return;  // a filler replaces the held attempt at its nonce
  }
  at_fee_cap_.erase(rec.id);
  ++stats_.bumps;
  sign_attempt(rec, next);
  broadcast(rec, head);
}

// The txpool replacement rule (geth's txpool.pricebump, 10 %; reth, erigon and nethermind the
// same): a transaction at a nonce the pool holds replaces it only if both its tip and its fee cap
// are at least 110 % of the held one's. The held one is our newest broadcast attempt.
bool TxManager::replaces_in_pool(const TxRecord& rec, const Fees& next) const {
  for (auto it = rec.attempts.rbegin(); it != rec.attempts.rend(); ++it) {
    if (it->state == AttemptState::kBroadcast) {
      return next.max_fee >= it->max_fee_per_gas * 110 / 100 &&
             next.tip >= it->max_priority_fee_per_gas * 110 / 100;
    }
  }
  const auto& last = rec.attempts.back();  // none held: it only has to be a new price
  return next.max_fee > last.max_fee_per_gas || next.tip > last.max_priority_fee_per_gas;
}

// The attempt the pool should hold, sent again as it is while no replacement can be: a pool may
// drop a transaction whose fee cap is below the base fee (anvil's does), and it must be there
// when the base fee falls. A refusal changes nothing; the next tick tries again.
void TxManager::resend_held(TxRecord& rec, std::uint64_t head) {
  for (auto it = rec.attempts.rbegin(); it != rec.attempts.rend(); ++it) {
    if (it->state == AttemptState::kBroadcast) {
      if (eth_.send_raw_transaction(it->raw)) {
        ++stats_.broadcasts;
        it->broadcast_block = head;
        save(rec);
      }
      return;
    }
  }
}

// A refusal no retry of this attempt can fix. Without an earlier attempt a node took, the
// transaction is fatal (its nonce is filled). With one, that attempt may still be mined at the
// nonce: turning fatal would queue a filler behind it and tell the caller the payload did not
// land while it may. The transaction stays unconfirmed, the held attempt is sent again, nothing
// new is signed, and the receipts of every attempt decide (or confirmed_missing_receipt).
void TxManager::refused_for_good(TxRecord& rec, std::uint64_t head) {
  const bool held =
      std::any_of(rec.attempts.begin(), std::prev(rec.attempts.end()),
                  [](const TxAttempt& a) { return a.state == AttemptState::kBroadcast; });
  if (!held) {
    fail_fatal(rec, rec.error);
    return;
  }
  rec.state = TxState::kUnconfirmed;
  save(rec);
  resend_held(rec, head);
}

// No valid replacement fits under max_fee_cap: sign nothing (a refused replacement helps nobody),
// say so once, and let the held attempt be mined when the base fee falls below its fee cap.
void TxManager::wait_at_fee_cap(TxRecord& rec, const Fees& best) {
  if (!at_fee_cap_.insert(rec.id).second) {
    return;
  }
  ++stats_.fee_cap_reached;
  rec.error = "fee cap reached: the best replacement under max_fee_cap (" +
              u256_to_decimal(best.max_fee) + " wei fee cap, " + u256_to_decimal(best.tip) +
              " wei tip) does not raise both by the 10 % the txpool needs; waiting for the base "
              "fee to fall";
  save(rec);
  alert(TxAlertKind::kFeeCapReached, rec, rec.error);
}

// confirmed_missing_receipt: the chain used the nonce; look up every attempt's receipt until one
// is found (each asked of every endpoint of the pool). Only definite "no receipt" answers of every
// endpoint for missing_receipt_blocks, with the nonce used at the final height, make it fatal
// (another sender used the nonce); the nonce is never handed to another transaction, nor filled.
void TxManager::advance_missing_receipt(TxRecord& rec, std::uint64_t head) {
  const auto receipts = check_receipt(rec, head);
  if (receipts == Receipts::kFound) {
    return;
  }
  const auto since = missing_since_.try_emplace(rec.id, head).first->second;
  if (receipts != Receipts::kNone || head < since + options_.missing_receipt_blocks) {
    return;
  }
  // No endpoint has a receipt of any attempt: another sender used the nonce only once its use is
  // final (the sender's transaction count at the final height is above it); else wait.
  const auto final_at = final_height(head);
  if (!final_at) {
    return;
  }
  const auto used = eth_.transaction_count(sender_, BlockTag::number(*final_at));
  if (!used) {
    ++stats_.rpc_failures;
    return;
  }
  if (*used > *rec.nonce) {
    missing_since_.erase(rec.id);
    fail_fatal(rec,
               "nonce " + std::to_string(*rec.nonce) +
                   " was used by a transaction we did not sign: none of our " +
                   std::to_string(rec.attempts.size()) + " attempt(s) has a receipt after " +
                   std::to_string(head - since) + " blocks",
               /*fill_nonce=*/false);
  }
}

// confirmed: is the receipt's block still the canonical block at its height? If not (a reorg), the
// transaction goes back to unconfirmed and is re-sent; if it is, and final, it is finalized.
void TxManager::advance_confirmed(TxRecord& rec, std::uint64_t head) {
  const auto canonical = canonical_hash(rec.mined_block);
  if (!canonical) {
    ++stats_.rpc_failures;
    return;
  }
  if (!*canonical || **canonical != *rec.mined_block_hash) {
    reorged(rec, head);
    return;
  }
  finalize_if_final(rec, head);
}

namespace {
// How long a node that did not answer the `finalized` tag is judged by depth before it is asked
// again, in blocks.
constexpr std::uint64_t kFinalizedTagRetryBlocks = 100;

// An answer that says the node has no `finalized` block (rather than that nobody answered): an
// error object, or every endpoint's "... not found" / "unknown block" (the pool fails over on
// those).
bool lacks_finalized_tag(const RpcError& e) {
  if (e.kind == RpcErrorKind::kRpcError) {
    return true;
  }
  const auto& m = e.message;
  return e.kind == RpcErrorKind::kNoEndpoint &&
         (m.find("finalized") != std::string::npos || m.find("not found") != std::string::npos ||
          m.find("unknown block") != std::string::npos);
}
}  // namespace

RpcExpected<std::optional<Hash32>> TxManager::canonical_hash(std::uint64_t number) {
  if (const auto it = canonical_.find(number); it != canonical_.end()) {
    return it->second;
  }
  auto block = eth_.get_block(BlockTag::number(number));
  if (!block) {
    return unexpected(block.error());
  }
  std::optional<Hash32> hash;
  if (*block) {
    hash = (*block)->hash;
  }
  canonical_.emplace(number, hash);
  return hash;
}

// The highest block no reorg can undo: the node's `finalized` block (Finality::kTag), or the block
// `confirmations` deep (Finality::kDepth, and kTag while the node answers the tag with an error or
// null: a chain or node without it). nullopt: none yet, or no endpoint answered.
std::optional<std::uint64_t> TxManager::final_height(std::uint64_t head) {
  if (final_height_) {
    return *final_height_;
  }
  const auto by_depth = [&]() -> std::optional<std::uint64_t> {
    if (head + 1 < options_.confirmations) {
      return std::nullopt;
    }
    return head + 1 - options_.confirmations;
  };
  std::optional<std::uint64_t> height;
  if (options_.finality == Finality::kDepth || head < no_finalized_tag_until_) {
    height = by_depth();
  } else {
    auto finalized = eth_.get_block(BlockTag::finalized());
    if (finalized && *finalized) {
      height = (*finalized)->number;
    } else if (finalized || lacks_finalized_tag(finalized.error())) {
      // The node has no `finalized` block to give (null, or geth's "finalized block not found",
      // which the pool passes to every endpoint): by depth, and the tag is asked again only
      // kFinalizedTagRetryBlocks later (each refusal counts against the endpoint).
      ++stats_.finality_depth_fallbacks;
      no_finalized_tag_until_ = head + kFinalizedTagRetryBlocks;
      height = by_depth();
    } else {
      ++stats_.rpc_failures;  // nobody answered: nothing is judged final this tick
      return std::nullopt;
    }
  }
  final_height_ = height;
  return height;
}

void TxManager::finalize_if_final(TxRecord& rec, std::uint64_t head) {
  const auto final_at = final_height(head);
  if (!final_at || rec.mined_block > *final_at) {
    return;
  }
  rec.state = TxState::kFinalized;
  ++stats_.finalized;
  // Charged once, from the receipt that is final (a receipt a reorg undid was never paid).
  stats_.gas_spent_wei += U256(rec.gas_used) * rec.effective_gas_price;
  counted_confirmed_.erase(rec.id);
  save(rec);
}

// The receipt's block left the canonical chain: the transaction is unconfirmed again. If one of
// its attempts is in the new chain, that receipt is taken; otherwise the attempt that was mined is
// sent again, exactly as it was signed (the reorg freed its nonce).
void TxManager::reorged(TxRecord& rec, std::uint64_t head) {
  ++stats_.reorgs;
  const Hash32 was_mined = *rec.mined_hash;
  rec.error = "reorg: block " + std::to_string(rec.mined_block) + " (" +
              to_hex(*rec.mined_block_hash) + ") of its receipt is no longer canonical";
  rec.state = TxState::kUnconfirmed;
  rec.mined_hash.reset();
  rec.mined_block_hash.reset();
  rec.mined_block = 0;
  rec.mined_success = false;
  rec.gas_used = 0;
  rec.effective_gas_price = 0;
  save(rec);
  alert(TxAlertKind::kReorg, rec, rec.error);
  if (check_receipt(rec, head) != Receipts::kNone) {
    return;  // in the new chain already, or nobody can tell: the next tick looks again
  }
  for (auto& attempt : rec.attempts) {
    if (attempt.hash == was_mined) {
      if (eth_.send_raw_transaction(attempt.raw)) {
        ++stats_.broadcasts;
      }
      attempt.state = AttemptState::kBroadcast;
      attempt.broadcast_block = head;
      save(rec);
      return;
    }
  }
}

// A gap filler the node refused for its gas (the estimate was too low): signed again at the same
// nonce and fees with twice the gas, up to gap_fill_gas_cap; refused at the cap, it is fatal and
// its nonce stays open (a filler for a filler would loop for ever).
void TxManager::refill_gas(TxRecord& rec) {
  const auto& last = rec.attempts.back();
  if (rec.request.gas_limit >= options_.gap_fill_gas_cap) {
    fail_fatal(rec,
               "gap filler refused at gap_fill_gas_cap (" +
                   std::to_string(options_.gap_fill_gas_cap) + " gas): " + rec.error,
               /*fill_nonce=*/false);
    return;
  }
  rec.request.gas_limit = std::min(rec.request.gas_limit * 2, options_.gap_fill_gas_cap);
  sign_attempt(rec, {last.max_fee_per_gas, last.max_priority_fee_per_gas});
}

// A zero-value self-send costs 21,000 gas on Ethereum and more where the chain adds its L1 data
// cost to gas: ask the node, add the usual margin, keep it under gap_fill_gas_cap.
bool TxManager::estimate_filler_gas(TxRecord& rec) {
  const CallRequest call{sender_, sender_, {}, U256(0), {}};
  auto gas = eth_.estimate_gas(call);
  if (!gas) {
    ++stats_.rpc_failures;
    rec.error = "gap filler: eth_estimateGas failed: " + gas.error().describe();
    save(rec);
    return false;
  }
  const auto with_margin =
      static_cast<std::uint64_t>(static_cast<double>(*gas) * options_.gas_limit_multiplier);
  rec.request.gas_limit =
      std::min(std::max<std::uint64_t>(with_margin, 21'000), options_.gap_fill_gas_cap);
  save(rec);
  return true;
}

}  // namespace varkeeper::chain
