#include "chain/tx_store.hpp"

namespace varkeeper::chain {

std::string_view to_string(TxState s) noexcept {
  switch (s) {
    case TxState::kUnstarted: return "unstarted";
    case TxState::kInProgress: return "in_progress";
    case TxState::kUnconfirmed: return "unconfirmed";
    case TxState::kConfirmedMissingReceipt: return "confirmed_missing_receipt";
    case TxState::kConfirmed: return "confirmed";
    case TxState::kFinalized: return "finalized";
    case TxState::kFatal: return "fatal";
  }
  return "unknown";
}

std::optional<TxState> parse_tx_state(std::string_view s) noexcept {
  for (const auto st : {TxState::kUnstarted, TxState::kInProgress, TxState::kUnconfirmed,
                        TxState::kConfirmedMissingReceipt, TxState::kConfirmed, TxState::kFinalized,
                        TxState::kFatal}) {
    if (to_string(st) == s) {
      return st;
    }
  }
  return std::nullopt;
}

std::uint64_t InMemoryTxStore::insert(const TxRequest& request, const Address& from) {
  std::lock_guard lock(mu_);
  for (const auto& [id, r] : records_) {
    if (!request.key.empty() && r.request.key == request.key) {
      return id;
    }
  }
  TxRecord rec;
  rec.id = next_id_++;
  rec.request = request;
  rec.from = from;
  records_[rec.id] = rec;
  return rec.id;
}

void InMemoryTxStore::save(const TxRecord& record) {
  std::lock_guard lock(mu_);
  records_[record.id] = record;
}

std::optional<TxRecord> InMemoryTxStore::get(std::uint64_t id) const {
  std::lock_guard lock(mu_);
  const auto it = records_.find(id);
  if (it == records_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::optional<TxRecord> InMemoryTxStore::find_by_key(std::string_view key) const {
  std::lock_guard lock(mu_);
  for (const auto& [id, r] : records_) {
    if (r.request.key == key) {
      return r;
    }
  }
  return std::nullopt;
}

std::vector<TxRecord> InMemoryTxStore::load_open(const Address& from) const {
  std::lock_guard lock(mu_);
  std::vector<TxRecord> out;
  for (const auto& [id, r] : records_) {
    if (r.from == from && r.state != TxState::kFinalized && r.state != TxState::kFatal) {
      out.push_back(r);
    }
  }
  return out;
}

std::optional<std::uint64_t> InMemoryTxStore::highest_nonce(const Address& from) const {
  std::lock_guard lock(mu_);
  std::optional<std::uint64_t> best;
  for (const auto& [id, r] : records_) {
    if (r.from == from && r.nonce && (!best || *r.nonce > *best)) {
      best = r.nonce;
    }
  }
  return best;
}

std::vector<TxRecord> InMemoryTxStore::all() const {
  std::lock_guard lock(mu_);
  std::vector<TxRecord> out;
  for (const auto& [id, r] : records_) {
    out.push_back(r);
  }
  return out;
}

}  // namespace varkeeper::chain
