// The peer signature exchange without sockets (issue 18): the message codec round trip, and the
// SignatureBook's agreement, divergence, holding, forgetting and stats. Hostile inputs are in
// tests/hostile/peer_*_hostile_test.cpp, the listener and client over loopback in
// tests/integration/peer_server_test.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "chain/hex.hpp"
#include "keeper/network/peer_message.hpp"
#include "keeper/network/signature_book.hpp"
#include "tests/keeper/peer_fixture.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper;
using namespace varkeeper::keeper::network;
namespace fx = varkeeper::test::peer;
using V = SignatureBook::Verdict;

namespace {

struct Trio {
  chain::SecretKey ours = fx::key(0x11);
  chain::SecretKey a = fx::key(0x22);
  chain::SecretKey b = fx::key(0x33);
  chain::Address self = chain::address_of(ours);
  chain::Address pa = chain::address_of(a);
  chain::Address pb = chain::address_of(b);
  std::vector<PeerSpec> peers() const {
    return {{"http://127.0.0.1:1", pa}, {"http://127.0.0.1:2", pb}};
  }
  SignatureBook book(SignatureBookLimits limits = {}) const {
    return SignatureBook(fx::domain(), self, peers(), nullptr, limits);
  }
};

}  // namespace

TEST_CASE("a peer message encodes and decodes to the same report, with the signer recovered") {
  const auto k = fx::key(0x22);
  const PeerReport m = fx::signed_by(k, fx::report(7, 42), 1200);
  const std::string text = encode_peer_report(m);
  CHECK(text.size() < kMaxPeerMessageBytes);
  auto back = decode_peer_report(text, fx::domain());
  REQUIRE_MESSAGE(back, (back ? "" : back.error()));
  CHECK(back->report == m.report);
  CHECK(back->signature == m.signature);
  CHECK(back->trigger_block == 1200);
  CHECK(back->signer == chain::address_of(k));
  CHECK(encode_peer_report(*back) == text);
  // uint96 and uint64 at their maxima survive the trip.
  OnchainReport edge = fx::report(~0ULL, ~0ULL);
  edge.portfolio_value = (chain::U256(1) << 96) - 1;
  edge.value_at_risk = ~0ULL;
  edge.horizon = ~0U;
  edge.method = 255;
  const PeerReport e = fx::signed_by(k, edge);
  auto eb = decode_peer_report(encode_peer_report(e), fx::domain());
  REQUIRE_MESSAGE(eb, (eb ? "" : eb.error()));
  CHECK(eb->report == edge);
}

TEST_CASE("a message verified under another chain id or contract recovers someone else") {
  const PeerReport m = fx::signed_by(fx::key(0x22), fx::report(1, 1));
  OracleDomain other = fx::domain();
  other.chain_id = 1;
  auto r = decode_peer_report(encode_peer_report(m), other);
  REQUIRE_FALSE(r);
  CHECK(r.error().find("not the claimed signer") != std::string::npos);
}

TEST_CASE(
    "two peers signing our digest give three distinct signatures, ours first, then by "
    "address, whatever the arrival order") {
  const Trio t;
  const OnchainReport r = fx::report(3, 9);
  const chain::Hash32 digest = report_digest(fx::domain(), r);
  std::vector<chain::Signature> first;
  for (int order = 0; order < 2; ++order) {
    SignatureBook book = t.book();
    // Peers first (held until ours is known) in one order, ours first in the other.
    if (order == 0) {
      CHECK(book.add_peer(fx::signed_by(t.b, r), 100) == V::kHeld);
      CHECK(book.add_peer(fx::signed_by(t.a, r), 100) == V::kHeld);
      CHECK(book.signatures_for(3, 9).empty());
      CHECK(book.add_own(fx::signed_by(t.ours, r)));
    } else {
      CHECK(book.add_own(fx::signed_by(t.ours, r)));
      CHECK(book.add_peer(fx::signed_by(t.a, r), 100) == V::kAccepted);
      CHECK(book.add_peer(fx::signed_by(t.b, r), 100) == V::kAccepted);
    }
    const auto sigs = book.signatures_for(3, 9);
    const auto signers = book.signers_for(3, 9);
    REQUIRE(sigs.size() == 3);
    REQUIRE(signers.size() == 3);
    CHECK(signers[0] == t.self);
    CHECK(std::is_sorted(signers.begin() + 1, signers.end()));
    CHECK(std::set<chain::Address>(signers.begin(), signers.end()).size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      const auto who = chain::recover_address(digest, sigs[i]);
      REQUIRE(who);
      CHECK(*who == signers[i]);
    }
    if (order == 0) {
      first = sigs;
    } else {
      CHECK(sigs == first);
    }
    CHECK(book.pending_count() == 0);
    CHECK(book.take_divergences().empty());
    const auto st = book.stats();
    CHECK(st.at(t.pa).signatures_received == 1);
    CHECK(st.at(t.pa).last_agreement_round == 9);
    CHECK(st.at(t.pb).last_contact_s == 100);
  }
}

TEST_CASE("a different report for our round is one divergence with both digests and the fields") {
  const Trio t;
  SignatureBook book = t.book();
  const OnchainReport ours = fx::report(5, 2);
  OnchainReport theirs = ours;
  theirs.value_at_risk += 1'000'000'000'000ULL;                      // one quantum
  theirs.portfolio_value += 100'000'000;                             // one USD
  CHECK(book.add_peer(fx::signed_by(t.a, theirs), 50) == V::kHeld);  // before ours is known
  CHECK(book.add_own(fx::signed_by(t.ours, ours)));
  CHECK(book.add_peer(fx::signed_by(t.a, theirs), 51) == V::kDuplicate);
  const auto d = book.take_divergences();
  REQUIRE(d.size() == 1);
  CHECK(d[0].portfolio_id == 5);
  CHECK(d[0].round == 2);
  CHECK(d[0].peer == t.pa);
  CHECK(d[0].our_digest == report_digest(fx::domain(), ours));
  CHECK(d[0].their_digest == report_digest(fx::domain(), theirs));
  REQUIRE(d[0].fields.size() == 2);
  CHECK(d[0].fields[0].field == "portfolioValue");
  CHECK(d[0].fields[0].ours == chain::u256_to_decimal(ours.portfolio_value));
  CHECK(d[0].fields[0].theirs == chain::u256_to_decimal(theirs.portfolio_value));
  CHECK(d[0].fields[1].field == "valueAtRisk");
  CHECK(d[0].fields[1].theirs == std::to_string(theirs.value_at_risk));
  CHECK(book.take_divergences().empty());  // reported once
  CHECK(book.signatures_for(5, 2).size() == 1);
  CHECK(book.stats().at(t.pa).divergences == 1);
  CHECK(book.stats().at(t.pa).signatures_received == 0);
}

TEST_CASE("forget_through drops landed rounds and refuses their replays as stale") {
  const Trio t;
  SignatureBook book = t.book();
  for (std::uint64_t round = 1; round <= 3; ++round) {
    CHECK(book.add_own(fx::signed_by(t.ours, fx::report(1, round))));
  }
  CHECK(book.add_peer(fx::signed_by(t.a, fx::report(1, 5)), 10) == V::kHeld);
  CHECK(book.add_peer(fx::signed_by(t.a, fx::report(2, 1)), 10) == V::kHeld);
  book.forget_through(1, 2);
  CHECK(book.own_count() == 1);
  CHECK(book.own(1, 3).has_value());
  CHECK_FALSE(book.own(1, 2).has_value());
  CHECK(book.pending_count() == 2);  // round 5 of portfolio 1 and portfolio 2 are kept
  CHECK(book.add_peer(fx::signed_by(t.a, fx::report(1, 2)), 11) == V::kStale);
  CHECK_FALSE(book.add_own(fx::signed_by(t.ours, fx::report(1, 1))));
  book.forget_through(1, 9);
  CHECK(book.pending_count() == 1);
  CHECK(book.stats().at(t.pa).rejected == 1);
}

TEST_CASE("add_own keeps the first report for a round and refuses a signature that is not ours") {
  const Trio t;
  SignatureBook book = t.book();
  const OnchainReport r = fx::report(1, 1);
  CHECK(book.add_own(fx::signed_by(t.ours, r)));
  CHECK(book.add_own(fx::signed_by(t.ours, r)));  // the same again
  OnchainReport other = r;
  other.expected_shortfall += 1;
  CHECK_FALSE(book.add_own(fx::signed_by(t.ours, other)));
  CHECK(book.own(1, 1)->report == r);
  CHECK_THROWS_AS((void)book.add_own(fx::signed_by(t.a, fx::report(1, 2))), std::invalid_argument);
  PeerReport forged = fx::signed_by(t.a, fx::report(1, 2));
  forged.signer = t.self;  // claims to be ours; the signature says otherwise
  CHECK_THROWS_AS((void)book.add_own(forged), std::invalid_argument);
  CHECK(book.own_count() == 1);
}

TEST_CASE("a book refuses itself as a peer and a peer listed twice") {
  const Trio t;
  CHECK_THROWS_AS(SignatureBook(fx::domain(), t.self, {{"http://x:1", t.self}}, nullptr),
                  std::invalid_argument);
  CHECK_THROWS_AS(
      SignatureBook(fx::domain(), t.self, {{"http://x:1", t.pa}, {"http://x:2", t.pa}}, nullptr),
      std::invalid_argument);
}

TEST_CASE("push results set reachability and the per-peer metrics render in the text format") {
  const Trio t;
  SignatureBook book = t.book();
  const OnchainReport r = fx::report(1, 4);
  CHECK(book.add_own(fx::signed_by(t.ours, r)));
  CHECK(book.add_peer(fx::signed_by(t.a, r), 1000) == V::kAccepted);
  book.note_push_result(t.pa, true, "", 1001);
  book.note_push_result(t.pb, false, "connect: Connection refused", 1001);
  const auto st = book.stats();
  CHECK(st.at(t.pa).reachable);
  CHECK(st.at(t.pa).last_contact_s == 1001);
  CHECK_FALSE(st.at(t.pb).reachable);
  CHECK(st.at(t.pb).last_contact_s == 0);
  CHECK(st.at(t.pb).last_error == "connect: Connection refused");
  const std::string text = render_peer_metrics(st);
  const std::string a = chain::to_checksum_address(t.pa);
  const std::string b = chain::to_checksum_address(t.pb);
  CHECK(text.find("# TYPE varkeeper_peer_reachable gauge\n") != std::string::npos);
  CHECK(text.find("varkeeper_peer_reachable{peer=\"" + a + "\"} 1\n") != std::string::npos);
  CHECK(text.find("varkeeper_peer_reachable{peer=\"" + b + "\"} 0\n") != std::string::npos);
  CHECK(text.find("varkeeper_peer_last_agreement_round{peer=\"" + a + "\"} 4\n") !=
        std::string::npos);
  CHECK(text.find("# TYPE varkeeper_peer_signatures_received_total counter\n") !=
        std::string::npos);
  CHECK(text.find("varkeeper_peer_signatures_received_total{peer=\"" + a + "\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("varkeeper_peer_divergences_total{peer=\"" + b + "\"} 0\n") != std::string::npos);
}
