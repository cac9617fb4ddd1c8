// Hostile peers against the SignatureBook (issue 18): a key that is not a configured peer, a
// configured peer the chain no longer lists as a signer, replays of landed rounds, a peer that
// floods 10,000 reports, a peer that signs a different report for our round, a peer that sends
// our own signature back. In every case the book stays bounded, counts only signatures over our
// own digest by distinct configured on-chain signers, and never produces a signature itself.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "keeper/network/peer_message.hpp"
#include "keeper/network/signature_book.hpp"
#include "tests/keeper/peer_fixture.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper;
using namespace varkeeper::keeper::network;
namespace fx = varkeeper::test::peer;
using V = SignatureBook::Verdict;

namespace {

struct Net {
  chain::SecretKey ours = fx::key(0x11);
  chain::SecretKey a = fx::key(0x22);
  chain::SecretKey b = fx::key(0x33);
  chain::SecretKey stranger = fx::key(0x44);
  chain::Address self = chain::address_of(ours);
  chain::Address pa = chain::address_of(a);
  chain::Address pb = chain::address_of(b);
  std::vector<PeerSpec> peers() const {
    return {{"http://127.0.0.1:1", pa}, {"http://127.0.0.1:2", pb}};
  }
};

}  // namespace

TEST_CASE("a signature by a key that is not a configured peer is refused and never counted") {
  const Net n;
  SignatureBook book(fx::domain(), n.self, n.peers(), nullptr);
  const OnchainReport r = fx::report(1, 1);
  CHECK(book.add_own(fx::signed_by(n.ours, r)));
  CHECK(book.add_peer(fx::signed_by(n.stranger, r), 1) == V::kUnknownPeer);
  // Claiming a peer's address does not help: decode recovers the signer from the signature.
  PeerReport forged = fx::signed_by(n.stranger, r);
  forged.signer = n.pa;
  CHECK_FALSE(decode_peer_report(encode_peer_report(forged), fx::domain()));
  CHECK(book.signatures_for(1, 1).size() == 1);
  CHECK(book.unknown_rejected() == 1);
  CHECK(book.stats().size() == 2);  // no entry for the stranger
}

TEST_CASE("a configured peer that is not an on-chain signer is refused, checked on every message") {
  const Net n;
  std::atomic<bool> a_is_signer{false};
  std::atomic<int> asked{0};
  SignatureBook book(fx::domain(), n.self, n.peers(), [&](const chain::Address& who) {
    ++asked;
    return who != n.pa || a_is_signer.load();
  });
  const OnchainReport r = fx::report(1, 1);
  CHECK(book.add_own(fx::signed_by(n.ours, r)));
  CHECK(book.add_peer(fx::signed_by(n.a, r), 1) == V::kNotSigner);
  CHECK(book.signatures_for(1, 1).size() == 1);
  CHECK(book.stats().at(n.pa).rejected == 1);
  CHECK(book.stats().at(n.pa).last_error == "not an on-chain signer");
  a_is_signer = true;  // added on chain
  CHECK(book.add_peer(fx::signed_by(n.a, r), 2) == V::kAccepted);
  CHECK(book.add_peer(fx::signed_by(n.b, r), 2) == V::kAccepted);
  CHECK(book.signatures_for(1, 1).size() == 3);
  CHECK(asked.load() == 3);
}

TEST_CASE("our own signature sent back by a peer is refused and not counted twice") {
  const Net n;
  SignatureBook book(fx::domain(), n.self, n.peers(), nullptr);
  const OnchainReport r = fx::report(2, 7);
  const PeerReport mine = fx::signed_by(n.ours, r);
  CHECK(book.add_own(mine));
  auto echoed = decode_peer_report(encode_peer_report(mine), fx::domain());
  REQUIRE(echoed);
  CHECK(book.add_peer(*echoed, 1) == V::kSelf);
  CHECK(book.add_peer(*echoed, 1) == V::kSelf);
  CHECK(book.signers_for(2, 7) == std::vector<chain::Address>{n.self});
  // Also before our own report is known: it is not held, so it cannot be counted later.
  CHECK(book.add_peer(fx::signed_by(n.ours, fx::report(2, 8)), 1) == V::kSelf);
  CHECK(book.pending_count() == 0);
}

TEST_CASE("replays of a landed round are stale: not held, not counted, the book does not grow") {
  const Net n;
  SignatureBook book(fx::domain(), n.self, n.peers(), nullptr);
  for (std::uint64_t round = 1; round <= 5; ++round) {
    const OnchainReport r = fx::report(1, round);
    CHECK(book.add_own(fx::signed_by(n.ours, r)));
    CHECK(book.add_peer(fx::signed_by(n.a, r), static_cast<std::int64_t>(round)) == V::kAccepted);
  }
  book.forget_through(1, 5);
  CHECK(book.own_count() == 0);
  for (std::uint64_t round = 1; round <= 5; ++round) {
    CHECK(book.add_peer(fx::signed_by(n.a, fx::report(1, round)), 10) == V::kStale);
  }
  CHECK(book.pending_count() == 0);
  CHECK(book.signatures_for(1, 5).empty());
  CHECK(book.stats().at(n.pa).rejected == 5);
}

TEST_CASE("a peer flooding 10,000 reports is bounded (held, then 429) and others still count") {
  const Net n;
  SignatureBookLimits limits;
  limits.max_pending_per_peer = 64;
  limits.rate_per_s = 100;
  limits.burst = 1'000;
  SignatureBook book(fx::domain(), n.self, n.peers(), nullptr, limits);
  // 10,000 distinct reports from peer A for rounds we have not computed, all in one second. The
  // book recovers a peer's signature only when it would count it (the decoder recovered it
  // already), so one signature copied into all of them keeps the test fast; none is counted.
  std::vector<PeerReport> flood;
  flood.reserve(10'000);
  const PeerReport first = fx::signed_by(n.a, fx::report(9, 1000));
  for (std::uint64_t i = 0; i < 10'000; ++i) {
    PeerReport m = first;
    m.report.round = 1000 + i;
    flood.push_back(m);
  }
  std::size_t held = 0;
  std::size_t full = 0;
  std::size_t limited = 0;
  for (const PeerReport& m : flood) {
    switch (book.add_peer(m, 500)) {
      case V::kHeld: ++held; break;
      case V::kFull: ++full; break;
      case V::kRateLimited: ++limited; break;
      default: FAIL("unexpected verdict"); break;
    }
  }
  CHECK(held == limits.max_pending_per_peer);
  CHECK(full == static_cast<std::size_t>(limits.burst) - limits.max_pending_per_peer);
  CHECK(limited == 10'000 - static_cast<std::size_t>(limits.burst));
  CHECK(book.pending_count() == limits.max_pending_per_peer);
  CHECK(book.stats().at(n.pa).rejected == 10'000 - limits.max_pending_per_peer);
  // Peer B, and our own round, are unaffected.
  const OnchainReport r = fx::report(1, 1);
  CHECK(book.add_peer(fx::signed_by(n.b, r), 500) == V::kHeld);
  CHECK(book.add_own(fx::signed_by(n.ours, r)));
  CHECK(book.signers_for(1, 1) == std::vector<chain::Address>{n.self, n.pb});
  // A's bucket refills with time: one second later rate_per_s more are let through (as held or
  // full); the flood's own pending is still bounded.
  std::size_t let_through = 0;
  for (std::uint64_t i = 0; i < 200; ++i) {
    const V v = book.add_peer(flood[i], 501);
    let_through += v != V::kRateLimited ? 1 : 0;
  }
  CHECK(let_through == static_cast<std::size_t>(limits.rate_per_s));
  CHECK(book.pending_count() == limits.max_pending_per_peer);
  // A's held reports go once their rounds land.
  book.forget_through(9, 1000 + 10'000);
  CHECK(book.pending_count() == 0);
}

TEST_CASE("a peer that signs a different report for our round: one divergence, not counted") {
  const Net n;
  SignatureBook book(fx::domain(), n.self, n.peers(), nullptr);
  const OnchainReport ours = fx::report(4, 11);
  OnchainReport lie = ours;
  lie.value_at_risk = ours.value_at_risk / 10;  // a price-lying endpoint's VaR
  CHECK(book.add_own(fx::signed_by(n.ours, ours)));
  CHECK(book.add_peer(fx::signed_by(n.a, lie), 1) == V::kDiverges);
  for (int i = 0; i < 50; ++i) {  // resent: still one divergence
    CHECK(book.add_peer(fx::signed_by(n.a, lie), 1) == V::kDuplicate);
  }
  OnchainReport lie2 = lie;
  lie2.expected_shortfall += 1;
  CHECK(book.add_peer(fx::signed_by(n.a, lie2), 1) == V::kDiverges);  // another lie, same round
  CHECK(book.add_peer(fx::signed_by(n.b, ours), 1) == V::kAccepted);
  const auto d = book.take_divergences();
  REQUIRE(d.size() == 1);
  CHECK(d[0].peer == n.pa);
  REQUIRE(d[0].fields.size() == 1);
  CHECK(d[0].fields[0].field == "valueAtRisk");
  CHECK(book.signers_for(4, 11) == std::vector<chain::Address>{n.self, n.pb});
  const chain::Hash32 digest = report_digest(fx::domain(), ours);
  for (const chain::Signature& s : book.signatures_for(4, 11)) {
    const auto who = chain::recover_address(digest, s);
    REQUIRE(who);
    CHECK(*who != n.pa);
  }
  CHECK(book.stats().at(n.pa).divergences == 1);
  CHECK(book.stats().at(n.pa).signatures_received == 0);
}

TEST_CASE("divergences queue at most max_divergences; the dropped ones are counted") {
  const Net n;
  SignatureBookLimits limits;
  limits.max_divergences = 8;
  limits.burst = 1e6;
  SignatureBook book(fx::domain(), n.self, n.peers(), nullptr, limits);
  for (std::uint64_t round = 1; round <= 20; ++round) {
    const OnchainReport ours = fx::report(1, round);
    OnchainReport lie = ours;
    lie.method = 9;
    CHECK(book.add_own(fx::signed_by(n.ours, ours)));
    CHECK(book.add_peer(fx::signed_by(n.a, lie), 1) == V::kDiverges);
  }
  const auto d = book.take_divergences();
  REQUIRE(d.size() == 8);
  CHECK(d.front().round == 13);  // the newest eight
  CHECK(d.back().round == 20);
  CHECK(book.divergences_dropped() == 12);
  CHECK(book.stats().at(n.pa).divergences == 20);
}

TEST_CASE("nothing a peer sends makes the book hold a report of ours: it never signs") {
  // By construction: no source of the peer exchange names a key or a signing function.
  for (const char* file :
       {"peer_message.hpp", "peer_message.cpp", "signature_book.hpp", "signature_book.cpp",
        "peer_server.hpp", "peer_server.cpp", "peer_client.hpp", "peer_client.cpp"}) {
    CAPTURE(file);
    const std::string text = varkeeper::test::read_file(
        std::filesystem::path(VARKEEPER_SOURCE_DIR) / "keeper" / "network" / file);
    CHECK(text.find("sign_report(") == std::string::npos);
    CHECK(text.find("sign_hash(") == std::string::npos);
    CHECK(text.find("SecretKey") == std::string::npos);
  }
  // By behaviour: every kind of peer message for rounds we did not compute leaves us with no own
  // report and no signatures for them.
  const Net n;
  SignatureBook book(fx::domain(), n.self, n.peers(), nullptr);
  for (std::uint64_t round = 1; round <= 20; ++round) {
    const OnchainReport r = fx::report(3, round);
    (void)book.add_peer(fx::signed_by(n.a, r), 1);
    (void)book.add_peer(fx::signed_by(n.b, r), 1);
    (void)book.add_peer(fx::signed_by(n.stranger, r), 1);
    (void)book.add_peer(fx::signed_by(n.ours, r), 1);  // our key's signature, replayed
    CHECK_FALSE(book.own(3, round).has_value());
    CHECK(book.signatures_for(3, round).empty());
  }
  CHECK(book.own_count() == 0);
}

TEST_CASE("concurrent peers and our own thread: every agreeing signature counted once") {
  const Net n;
  SignatureBookLimits limits;
  limits.burst = 1e6;
  SignatureBook book(fx::domain(), n.self, n.peers(), nullptr, limits);
  constexpr std::uint64_t kRounds = 200;
  std::vector<PeerReport> from_a, from_b, mine;
  for (std::uint64_t round = 1; round <= kRounds; ++round) {
    const OnchainReport r = fx::report(6, round);
    from_a.push_back(fx::signed_by(n.a, r));
    from_b.push_back(fx::signed_by(n.b, r));
    mine.push_back(fx::signed_by(n.ours, r));
  }
  std::thread ta([&] {
    for (const auto& m : from_a) (void)book.add_peer(m, 1);
  });
  std::thread tb([&] {
    for (const auto& m : from_b) (void)book.add_peer(m, 1);
  });
  for (const auto& m : mine) CHECK(book.add_own(m));
  ta.join();
  tb.join();
  for (std::uint64_t round = 1; round <= kRounds; ++round) {
    CHECK(book.signers_for(6, round) ==
          std::vector<chain::Address>{n.self, std::min(n.pa, n.pb), std::max(n.pa, n.pb)});
  }
  CHECK(book.pending_count() == 0);
  CHECK(book.stats().at(n.pa).signatures_received == kRounds);
}

TEST_CASE("a report handed to the book with a signature that is not the peer's is not counted") {
  // The book does not trust its caller to have decoded: a counted signature is recovered again.
  const Net n;
  SignatureBook book(fx::domain(), n.self, n.peers(), nullptr);
  const OnchainReport r = fx::report(1, 1);
  CHECK(book.add_own(fx::signed_by(n.ours, r)));
  PeerReport forged = fx::signed_by(n.stranger, r);
  forged.signer = n.pa;
  CHECK(book.add_peer(forged, 1) == V::kUnknownPeer);
  CHECK(book.signers_for(1, 1) == std::vector<chain::Address>{n.self});
  CHECK(book.add_peer(fx::signed_by(n.a, r), 1) == V::kAccepted);  // the real one still counts
}
