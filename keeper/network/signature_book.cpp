#include "keeper/network/signature_book.hpp"

#include <algorithm>
#include <deque>
#include <set>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "chain/hex.hpp"
#include "chain/uint256.hpp"

namespace varkeeper::keeper::network {
namespace {

using Key = std::pair<std::uint64_t, std::uint64_t>;  // (portfolio id, round)

}  // namespace

struct SignatureBook::State {
  struct Own {
    PeerReport report;
    chain::Hash32 digest{};
    std::map<chain::Address, chain::Signature> agreed;  // by ascending address
    std::set<chain::Address> diverged;                  // each peer's divergence recorded once
    std::map<chain::Address, std::set<chain::Hash32>> diverged_digests;
  };
  struct Held {
    PeerReport report;
    chain::Hash32 digest{};
  };
  struct Peer {
    PeerStats stats;
    double tokens = 0;
    std::int64_t refilled_s = 0;
    bool bucket_started = false;
    std::map<Key, std::vector<Held>> pending;
    std::size_t pending_count = 0;
  };
  std::map<Key, Own> own;
  std::map<chain::Address, Peer> peers;
  std::map<std::uint64_t, std::uint64_t> landed;  // pid -> highest round landed
  std::deque<Divergence> divergences;
  std::uint64_t divergences_dropped = 0;
  std::uint64_t unknown_rejected = 0;
};

std::string_view to_string(SignatureBook::Verdict v) noexcept {
  using V = SignatureBook::Verdict;
  switch (v) {
    case V::kAccepted: return "accepted";
    case V::kHeld: return "held";
    case V::kDuplicate: return "duplicate";
    case V::kUnknownPeer: return "unknown peer";
    case V::kSelf: return "our own signature";
    case V::kNotSigner: return "not an on-chain signer";
    case V::kStale: return "stale";
    case V::kFull: return "pending full";
    case V::kRateLimited: return "rate limited";
    case V::kDiverges: return "diverges";
  }
  return "unknown";
}

std::vector<FieldDiff> diff_reports(const OnchainReport& a, const OnchainReport& b) {
  std::vector<FieldDiff> out;
  const auto num = [&](const char* field, const auto& x, const auto& y) {
    if (x != y) {
      out.push_back(
          {field, chain::u256_to_decimal(chain::U256(x)), chain::u256_to_decimal(chain::U256(y))});
    }
  };
  num("portfolioId", a.portfolio_id, b.portfolio_id);
  num("round", a.round, b.round);
  num("observedAt", a.observed_at, b.observed_at);
  num("horizon", a.horizon, b.horizon);
  num("confidence", a.confidence, b.confidence);
  num("method", a.method, b.method);
  num("breakerStatus", a.breaker_status, b.breaker_status);
  num("portfolioValue", a.portfolio_value, b.portfolio_value);
  num("valueAtRisk", a.value_at_risk, b.value_at_risk);
  num("expectedShortfall", a.expected_shortfall, b.expected_shortfall);
  if (a.config_hash != b.config_hash) {
    out.push_back({"configHash", chain::to_hex(a.config_hash), chain::to_hex(b.config_hash)});
  }
  return out;
}

SignatureBook::SignatureBook(OracleDomain domain, chain::Address self, std::vector<PeerSpec> peers,
                             std::function<bool(const chain::Address&)> is_onchain_signer,
                             SignatureBookLimits limits)
    : domain_(std::move(domain)),
      self_(self),
      peers_(std::move(peers)),
      is_onchain_signer_(std::move(is_onchain_signer)),
      limits_(limits),
      state_(std::make_unique<State>()) {
  for (const PeerSpec& p : peers_) {
    if (p.signer == self_) {
      throw std::invalid_argument("peer " + chain::to_checksum_address(p.signer) +
                                  " is this keeper's own signer");
    }
    if (!state_->peers.emplace(p.signer, State::Peer{}).second) {
      throw std::invalid_argument("peer " + chain::to_checksum_address(p.signer) +
                                  " is listed twice");
    }
  }
  for (auto& [address, peer] : state_->peers) {
    peer.tokens = limits_.burst;
  }
}

SignatureBook::~SignatureBook() = default;

const OracleDomain& SignatureBook::domain() const noexcept { return domain_; }
const chain::Address& SignatureBook::self() const noexcept { return self_; }
const std::vector<PeerSpec>& SignatureBook::peers() const noexcept { return peers_; }

namespace {

// Judges a peer's report against our own for the same (pid, round); the caller holds the lock.
template <class Own, class Peer>
SignatureBook::Verdict judge(Own& own, const PeerReport& theirs, const chain::Hash32& digest,
                             Peer& peer, std::deque<Divergence>& divergences,
                             std::uint64_t& dropped, std::size_t max_divergences) {
  using V = SignatureBook::Verdict;
  if (digest == own.digest) {
    if (own.agreed.contains(theirs.signer)) {
      return V::kDuplicate;
    }
    // Counted only if it really is theirs over our digest (decode checked it already; this
    // keeps the book sound for a caller that did not decode, at one recovery per counted one).
    const auto who = chain::recover_address(digest, theirs.signature);
    if (!who || *who != theirs.signer) {
      ++peer.stats.rejected;
      peer.stats.last_error = "signature does not recover to the peer";
      return V::kUnknownPeer;
    }
    own.agreed.emplace(theirs.signer, theirs.signature);
    ++peer.stats.signatures_received;
    peer.stats.last_agreement_round =
        std::max(peer.stats.last_agreement_round, theirs.report.round);
    return V::kAccepted;
  }
  auto& seen = own.diverged_digests[theirs.signer];
  if (!seen.insert(digest).second) {
    return V::kDuplicate;
  }
  if (own.diverged.insert(theirs.signer).second) {
    ++peer.stats.divergences;
    Divergence d;
    d.portfolio_id = own.report.report.portfolio_id;
    d.round = own.report.report.round;
    d.our_digest = own.digest;
    d.their_digest = digest;
    d.peer = theirs.signer;
    d.fields = diff_reports(own.report.report, theirs.report);
    divergences.push_back(std::move(d));
    while (divergences.size() > std::max<std::size_t>(max_divergences, 1)) {
      divergences.pop_front();
      ++dropped;
    }
  }
  peer.stats.last_error = "diverges for portfolio " + std::to_string(theirs.report.portfolio_id) +
                          " round " + std::to_string(theirs.report.round);
  return V::kDiverges;
}

}  // namespace

bool SignatureBook::add_own(const PeerReport& mine) {
  const chain::Hash32 digest = report_digest(domain_, mine.report);
  const auto recovered = chain::recover_address(digest, mine.signature);
  if (!recovered || *recovered != self_ || mine.signer != self_) {
    throw std::invalid_argument(
        "SignatureBook::add_own: the signature is not ours over the "
        "report's digest");
  }
  const Key key{mine.report.portfolio_id, mine.report.round};
  std::lock_guard lock(mutex_);
  State& s = *state_;
  if (const auto it = s.landed.find(key.first); it != s.landed.end() && key.second <= it->second) {
    return false;  // landed already: nothing to collect
  }
  const auto existing = s.own.find(key);
  if (existing != s.own.end()) {
    return existing->second.digest == digest;
  }
  State::Own& own = s.own[key];
  own.report = mine;
  own.digest = digest;
  for (auto& [address, peer] : s.peers) {
    const auto held = peer.pending.find(key);
    if (held == peer.pending.end()) {
      continue;
    }
    for (const State::Held& h : held->second) {
      (void)judge(own, h.report, h.digest, peer, s.divergences, s.divergences_dropped,
                  limits_.max_divergences);
    }
    peer.pending_count -= held->second.size();
    peer.pending.erase(held);
  }
  return true;
}

SignatureBook::Verdict SignatureBook::add_peer(const PeerReport& theirs, std::int64_t now_s) {
  const chain::Address& who = theirs.signer;
  if (who == self_) {
    std::lock_guard lock(mutex_);
    ++state_->unknown_rejected;
    return Verdict::kSelf;
  }
  {
    std::lock_guard lock(mutex_);
    const auto it = state_->peers.find(who);
    if (it == state_->peers.end()) {
      ++state_->unknown_rejected;
      return Verdict::kUnknownPeer;
    }
    State::Peer& peer = it->second;
    // Token bucket, refilled by whole seconds of `now_s` (a clock going back refills nothing).
    if (!peer.bucket_started) {
      peer.bucket_started = true;
      peer.refilled_s = now_s;
    } else if (now_s > peer.refilled_s) {
      peer.tokens =
          std::min(limits_.burst,
                   peer.tokens + limits_.rate_per_s * static_cast<double>(now_s - peer.refilled_s));
      peer.refilled_s = now_s;
    }
    if (peer.tokens < 1.0) {
      ++peer.stats.rejected;
      peer.stats.last_error = "rate limited";
      return Verdict::kRateLimited;
    }
    peer.tokens -= 1.0;
  }
  // Outside the lock: the callback is the caller's (a cached signer set).
  if (is_onchain_signer_ && !is_onchain_signer_(who)) {
    std::lock_guard lock(mutex_);
    State::Peer& peer = state_->peers.at(who);
    ++peer.stats.rejected;
    peer.stats.last_error = "not an on-chain signer";
    return Verdict::kNotSigner;
  }
  const chain::Hash32 digest = report_digest(domain_, theirs.report);
  const Key key{theirs.report.portfolio_id, theirs.report.round};
  std::lock_guard lock(mutex_);
  State& s = *state_;
  State::Peer& peer = s.peers.at(who);
  peer.stats.last_contact_s = std::max(peer.stats.last_contact_s, now_s);
  if (const auto it = s.landed.find(key.first); it != s.landed.end() && key.second <= it->second) {
    ++peer.stats.rejected;
    peer.stats.last_error = "stale: portfolio " + std::to_string(key.first) + " round " +
                            std::to_string(key.second) + " already landed";
    return Verdict::kStale;
  }
  if (const auto own = s.own.find(key); own != s.own.end()) {
    return judge(own->second, theirs, digest, peer, s.divergences, s.divergences_dropped,
                 limits_.max_divergences);
  }
  auto& held = peer.pending[key];
  for (const State::Held& h : held) {
    if (h.digest == digest) {
      return Verdict::kDuplicate;
    }
  }
  if (peer.pending_count >= limits_.max_pending_per_peer) {
    if (held.empty()) {
      peer.pending.erase(key);
    }
    ++peer.stats.rejected;
    peer.stats.last_error = "pending full";
    return Verdict::kFull;
  }
  held.push_back({theirs, digest});
  ++peer.pending_count;
  return Verdict::kHeld;
}

std::vector<chain::Signature> SignatureBook::signatures_for(std::uint64_t pid,
                                                            std::uint64_t round) const {
  std::lock_guard lock(mutex_);
  const auto it = state_->own.find({pid, round});
  if (it == state_->own.end()) {
    return {};
  }
  std::vector<chain::Signature> out;
  out.reserve(1 + it->second.agreed.size());
  out.push_back(it->second.report.signature);
  for (const auto& [address, sig] : it->second.agreed) {
    out.push_back(sig);
  }
  return out;
}

std::vector<chain::Address> SignatureBook::signers_for(std::uint64_t pid,
                                                       std::uint64_t round) const {
  std::lock_guard lock(mutex_);
  const auto it = state_->own.find({pid, round});
  if (it == state_->own.end()) {
    return {};
  }
  std::vector<chain::Address> out;
  out.reserve(1 + it->second.agreed.size());
  out.push_back(self_);
  for (const auto& [address, sig] : it->second.agreed) {
    out.push_back(address);
  }
  return out;
}

std::optional<PeerReport> SignatureBook::own(std::uint64_t pid, std::uint64_t round) const {
  std::lock_guard lock(mutex_);
  const auto it = state_->own.find({pid, round});
  if (it == state_->own.end()) {
    return std::nullopt;
  }
  return it->second.report;
}

std::vector<Divergence> SignatureBook::take_divergences() {
  std::lock_guard lock(mutex_);
  std::vector<Divergence> out(std::make_move_iterator(state_->divergences.begin()),
                              std::make_move_iterator(state_->divergences.end()));
  state_->divergences.clear();
  return out;
}

void SignatureBook::forget_through(std::uint64_t pid, std::uint64_t round) {
  std::lock_guard lock(mutex_);
  State& s = *state_;
  auto& mark = s.landed[pid];
  mark = std::max(mark, round);
  const Key first{pid, 0};
  const Key last{pid, round};
  s.own.erase(s.own.lower_bound(first), s.own.upper_bound(last));
  for (auto& [address, peer] : s.peers) {
    const auto from = peer.pending.lower_bound(first);
    const auto to = peer.pending.upper_bound(last);
    for (auto it = from; it != to; ++it) {
      peer.pending_count -= it->second.size();
    }
    peer.pending.erase(from, to);
  }
}

std::map<chain::Address, PeerStats> SignatureBook::stats() const {
  std::lock_guard lock(mutex_);
  std::map<chain::Address, PeerStats> out;
  for (const auto& [address, peer] : state_->peers) {
    out.emplace(address, peer.stats);
  }
  return out;
}

void SignatureBook::note_push_result(const chain::Address& peer, bool reached, std::string error,
                                     std::int64_t now_s) {
  std::lock_guard lock(mutex_);
  const auto it = state_->peers.find(peer);
  if (it == state_->peers.end()) {
    return;
  }
  PeerStats& st = it->second.stats;
  st.reachable = reached;
  if (reached) {
    st.last_contact_s = std::max(st.last_contact_s, now_s);
  }
  st.last_error = std::move(error);
}

std::size_t SignatureBook::pending_count() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [address, peer] : state_->peers) {
    n += peer.pending_count;
  }
  return n;
}

std::size_t SignatureBook::own_count() const {
  std::lock_guard lock(mutex_);
  return state_->own.size();
}

std::uint64_t SignatureBook::divergences_dropped() const {
  std::lock_guard lock(mutex_);
  return state_->divergences_dropped;
}

std::uint64_t SignatureBook::unknown_rejected() const {
  std::lock_guard lock(mutex_);
  return state_->unknown_rejected;
}

std::string render_peer_metrics(const std::map<chain::Address, PeerStats>& stats) {
  struct Family {
    const char* name;
    const char* type;
    const char* help;
    std::string (*value)(const PeerStats&);
  };
  static const Family kFamilies[] = {
      {"varkeeper_peer_reachable", "gauge", "1 if our last push reached the peer, else 0.",
       [](const PeerStats& s) { return std::string(s.reachable ? "1" : "0"); }},
      {"varkeeper_peer_last_contact_timestamp_seconds", "gauge",
       "Unix time of the last answer or verified message from the peer (0: never).",
       [](const PeerStats& s) { return std::to_string(s.last_contact_s); }},
      {"varkeeper_peer_last_agreement_round", "gauge",
       "Highest round the peer signed our digest for (0: never).",
       [](const PeerStats& s) { return std::to_string(s.last_agreement_round); }},
      {"varkeeper_peer_divergences_total", "counter",
       "Rounds the peer signed a different report than ours for.",
       [](const PeerStats& s) { return std::to_string(s.divergences); }},
      {"varkeeper_peer_signatures_received_total", "counter",
       "Peer signatures that agreed with our digest.",
       [](const PeerStats& s) { return std::to_string(s.signatures_received); }},
      {"varkeeper_peer_rejected_total", "counter",
       "Peer messages refused (rate limit, pending full, stale, not an on-chain signer).",
       [](const PeerStats& s) { return std::to_string(s.rejected); }},
  };
  std::string out;
  for (const Family& f : kFamilies) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    out += f.help;
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += f.type;
    out += '\n';
    for (const auto& [address, s] : stats) {
      out += f.name;
      out += "{peer=\"" + chain::to_checksum_address(address) + "\"} " + f.value(s) + "\n";
    }
  }
  return out;
}

}  // namespace varkeeper::keeper::network
