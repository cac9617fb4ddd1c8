// The peer signature exchange's memory (issue 18): per (portfolio, round) our own signed report,
// the peers' signatures that agree with our digest, and the divergences (a peer that signed a
// different report). Thread-safe: the peer server's thread adds peers' reports while the keeper's
// thread adds its own and reads the quorum.
//
// FINAL API (NET-CORE codes against it; keep stable):
//
//   struct PeerSpec { std::string url; chain::Address signer; };
//   struct SignatureBookLimits { max_pending_per_peer, rate_per_s, burst, max_divergences };
//   SignatureBook(OracleDomain, chain::Address self, std::vector<PeerSpec>,
//                 std::function<bool(const chain::Address&)> is_onchain_signer,
//                 SignatureBookLimits = {});
//   bool add_own(const PeerReport& mine);                       // false: a different one is held
//   Verdict add_peer(const PeerReport& theirs, std::int64_t now_s);
//   std::vector<chain::Signature> signatures_for(pid, round) const;  // ours first, then peers
//   std::vector<chain::Address> signers_for(pid, round) const;       // same order
//   std::optional<PeerReport> own(pid, round) const;                 // for GET /peer/v1/reports
//   std::vector<Divergence> take_divergences();                      // each reported once
//   void forget_through(pid, round);                                 // rounds <= round landed
//   std::map<chain::Address, PeerStats> stats() const;               // one entry per peer
//   void note_push_result(peer, bool reached, std::string error, std::int64_t now_s);
//   std::string render_peer_metrics(const std::map<chain::Address, PeerStats>&);  // Prometheus
//
// Safety, by construction:
// - The book never signs: no function here takes a key or returns something to sign. The only
//   signature of ours it holds is the one add_own was given (checked to recover to `self`).
// - A peer's signature counts only if it recovers to a configured peer's address that the
//   is_onchain_signer callback accepts, and signed exactly our digest for (pid, round). Our own
//   address coming back from a peer is refused (kSelf), so it can never be counted twice.
// - Memory is bounded: reports for a round whose own report is not known yet are held at most
//   max_pending_per_peer per peer (kFull beyond); every peer has a token bucket (kRateLimited);
//   divergences queue at most max_divergences (the oldest dropped, counted in stats).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chain/address.hpp"
#include "chain/bytes.hpp"
#include "chain/secp256k1.hpp"
#include "keeper/core/risk_report.hpp"
#include "keeper/network/peer_message.hpp"

namespace varkeeper::keeper::network {

struct PeerSpec {
  std::string url;  // "http://host:port" of the peer's listener
  chain::Address signer{};
};

struct SignatureBookLimits {
  // Reports held per peer for rounds whose own report we do not know yet (a peer ahead of us).
  // Size it to the portfolios of a round times the rounds a peer may be ahead.
  std::size_t max_pending_per_peer = 256;
  // Token bucket per peer over every message it sends (after its signature is verified).
  double rate_per_s = 16.0;
  double burst = 128.0;
  // Divergences kept until take_divergences(); beyond, the oldest is dropped.
  std::size_t max_divergences = 1024;
};

struct FieldDiff {
  std::string field;  // the EIP-712 member name ("valueAtRisk", ...)
  std::string ours;   // decimal, or 0x-hex for configHash
  std::string theirs;
};

struct Divergence {
  std::uint64_t portfolio_id = 0;
  std::uint64_t round = 0;
  chain::Hash32 our_digest{};
  chain::Hash32 their_digest{};
  chain::Address peer{};
  std::vector<FieldDiff> fields;  // every member that differs, in report field order
};

struct PeerStats {
  bool reachable = false;           // our last push reached it (an HTTP answer came back)
  std::int64_t last_contact_s = 0;  // last push answered or last verified message received; 0 never
  std::uint64_t last_agreement_round = 0;  // highest round it signed our digest for; 0 never
  std::uint64_t divergences = 0;           // (pid, round)s it signed a different report for
  std::uint64_t signatures_received = 0;   // signatures counted (agreeing with ours)
  std::uint64_t rejected = 0;  // its messages refused (rate, full, stale, not an on-chain signer)
  std::string last_error;      // the last push failure or refusal, one line; empty once fine
};

// The differing members of two reports (empty if equal).
[[nodiscard]] std::vector<FieldDiff> diff_reports(const OnchainReport& ours,
                                                  const OnchainReport& theirs);

class SignatureBook {
 public:
  enum class Verdict {
    kAccepted,     // agrees with our digest: its signature now counts
    kHeld,         // our own report for (pid, round) is not known yet: held until add_own
    kDuplicate,    // this peer's report for (pid, round) with this digest is already here
    kUnknownPeer,  // the signer is not a configured peer (or its signature does not recover to it)
    kSelf,         // the recovered signer is us (our own signature sent back)
    kNotSigner,    // a configured peer that is_onchain_signer refuses
    kStale,        // (pid, round) is at or below a round forget_through was told landed
    kFull,         // its pending reports are at max_pending_per_peer
    kRateLimited,  // its token bucket is empty
    kDiverges,     // signed a different report than ours for (pid, round): recorded, not counted
  };

  // `is_onchain_signer` must be cheap and non-blocking (a cached signer set): it runs on the
  // peer server's thread, outside the book's lock. Unset: every configured peer is accepted.
  // Throws std::invalid_argument if `self` is among the peers or a peer is listed twice.
  SignatureBook(OracleDomain domain, chain::Address self, std::vector<PeerSpec> peers,
                std::function<bool(const chain::Address&)> is_onchain_signer,
                SignatureBookLimits limits = {});
  ~SignatureBook();
  SignatureBook(const SignatureBook&) = delete;
  SignatureBook& operator=(const SignatureBook&) = delete;

  // Our own signed report for (pid, round). Its signature must recover to `self` over the
  // report's digest (std::invalid_argument otherwise: a programming error). Peers' reports held
  // for (pid, round) are then judged against it. Returns false (and changes nothing) if a
  // different own report for (pid, round) is already held or the round landed (forget_through);
  // true if added or the same one is held.
  bool add_own(const PeerReport& mine);

  // A decoded peer message (decode_peer_report recovered its signer). Never signs anything.
  Verdict add_peer(const PeerReport& theirs, std::int64_t now_s);

  // Our signature first, then each peer's that signed exactly our digest for (pid, round), by
  // ascending signer address; each signer once. Empty if our own report is not known.
  [[nodiscard]] std::vector<chain::Signature> signatures_for(std::uint64_t pid,
                                                             std::uint64_t round) const;
  [[nodiscard]] std::vector<chain::Address> signers_for(std::uint64_t pid,
                                                        std::uint64_t round) const;
  [[nodiscard]] std::optional<PeerReport> own(std::uint64_t pid, std::uint64_t round) const;

  // Divergences found since the last call, each (pid, round, peer) once.
  [[nodiscard]] std::vector<Divergence> take_divergences();

  // Rounds <= `round` of `pid` landed: drops their own reports, signatures and held reports,
  // and refuses later messages for them (kStale).
  void forget_through(std::uint64_t pid, std::uint64_t round);

  [[nodiscard]] std::map<chain::Address, PeerStats> stats() const;
  // The outcome of pushing our report to `peer` (PeerClient calls it): `reached` = an HTTP
  // answer came back; `error` empty if it was accepted, else one line.
  void note_push_result(const chain::Address& peer, bool reached, std::string error,
                        std::int64_t now_s);

  // Reports held (all peers), own reports held, divergences dropped: for tests and bounds.
  [[nodiscard]] std::size_t pending_count() const;
  [[nodiscard]] std::size_t own_count() const;
  [[nodiscard]] std::uint64_t divergences_dropped() const;
  // Messages whose signer is not a configured peer (kUnknownPeer, kSelf): no stats entry.
  [[nodiscard]] std::uint64_t unknown_rejected() const;

  [[nodiscard]] const OracleDomain& domain() const noexcept;
  [[nodiscard]] const chain::Address& self() const noexcept;
  [[nodiscard]] const std::vector<PeerSpec>& peers() const noexcept;

 private:
  struct State;
  OracleDomain domain_;
  chain::Address self_{};
  std::vector<PeerSpec> peers_;
  std::function<bool(const chain::Address&)> is_onchain_signer_;
  SignatureBookLimits limits_;
  mutable std::mutex mutex_;
  std::unique_ptr<State> state_;
};

[[nodiscard]] std::string_view to_string(SignatureBook::Verdict v) noexcept;

// The per-peer metrics in the Prometheus text format, HELP and TYPE lines included, label
// peer="<checksummed address>", sorted by address:
//   varkeeper_peer_reachable (gauge, 1/0), varkeeper_peer_last_contact_timestamp_seconds (gauge),
//   varkeeper_peer_last_agreement_round (gauge), varkeeper_peer_divergences_total (counter),
//   varkeeper_peer_signatures_received_total (counter), varkeeper_peer_rejected_total (counter).
[[nodiscard]] std::string render_peer_metrics(const std::map<chain::Address, PeerStats>& stats);

}  // namespace varkeeper::keeper::network
