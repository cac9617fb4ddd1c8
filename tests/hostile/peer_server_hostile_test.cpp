// Hostile clients against the peer listener over loopback (issue 18): a configured peer
// flooding 10,000 signed reports over keep-alive (bounded book, 429s, another peer and the
// pull path still served), trickling and idle clients (cut at the request deadline while others
// are served), garbage bytes, oversized and duplicate-key bodies. Whatever arrives, the book
// holds no report of ours it was not given.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "keeper/network/peer_server.hpp"
#include "keeper/network/signature_book.hpp"
#include "tests/keeper/peer_fixture.hpp"
#include "tests/support/test_support.hpp"

using namespace std::chrono_literals;
using namespace varkeeper;
using namespace varkeeper::keeper;
using namespace varkeeper::keeper::network;
namespace fx = varkeeper::test::peer;

namespace {

PeerServer start_server(SignatureBook& book, PeerServerOptions o = {}) {
  auto s = PeerServer::start(std::move(o), book);
  if (!s) FAIL("peer server did not start: " << s.error());
  return std::move(s).value();
}

}  // namespace

TEST_CASE("a peer flooding 10,000 reports over HTTP: bounded, 429s, others still accepted") {
  const auto ours = fx::key(0x11);
  const auto a = fx::key(0x22);
  const auto b = fx::key(0x33);
  SignatureBookLimits limits;
  limits.max_pending_per_peer = 32;
  limits.burst = 100;
  limits.rate_per_s = 0;  // the test's clock stands still anyway
  SignatureBook book(fx::domain(), chain::address_of(ours),
                     {{"", chain::address_of(a)}, {"", chain::address_of(b)}}, nullptr, limits);
  PeerServerOptions o;
  o.clock = [] { return std::int64_t{1'000}; };
  PeerServer server = start_server(book, o);
  const std::uint16_t port = server.port();

  // 10,000 signed reports from peer A (200 distinct rounds we never computed, cycled: the
  // server verifies every one all the same), one keep-alive connection, every answer read.
  std::vector<std::string> distinct;
  for (std::uint64_t i = 0; i < 200; ++i) {
    distinct.push_back(encode_peer_report(fx::signed_by(a, fx::report(8, 100 + i))));
  }
  std::vector<std::string> bodies;
  bodies.reserve(10'000);
  for (std::size_t i = 0; i < 10'000; ++i) {
    bodies.push_back(distinct[i % distinct.size()]);
  }
  const auto started = std::chrono::steady_clock::now();
  fx::RawClient flood(port);
  REQUIRE(flood.connected());
  int accepted = 0;
  int limited = 0;
  int other = 0;
  constexpr std::size_t kBatch = 1;  // one at a time: pipelining meets Nagle and delayed ACKs
  for (std::size_t i = 0; i < bodies.size(); i += kBatch) {
    std::string batch;
    for (std::size_t j = i; j < std::min(bodies.size(), i + kBatch); ++j) {
      batch += fx::post_request(bodies[j]);
    }
    REQUIRE(flood.send(batch));
    for (std::size_t j = i; j < std::min(bodies.size(), i + kBatch); ++j) {
      const auto res = flood.read_response();
      if (res.status == 202)
        ++accepted;
      else if (res.status == 429)
        ++limited;
      else
        ++other;
    }
  }
  const auto took = std::chrono::steady_clock::now() - started;
  MESSAGE("10,000 flood requests answered in "
          << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(accepted == 32);          // held, up to max_pending_per_peer
  CHECK(limited == 10'000 - 32);  // pending full, then the empty bucket
  CHECK(other == 0);
  CHECK(book.pending_count() == 32);
  CHECK(book.own_count() == 0);
  CHECK(server.counters().limited == 10'000 - 32);

  // Peer B and our own round are unaffected.
  const OnchainReport r = fx::report(1, 1);
  REQUIRE(book.add_own(fx::signed_by(ours, r)));
  auto res = fx::one_request(port, fx::post_request(encode_peer_report(fx::signed_by(b, r))));
  CHECK(res.status == 202);
  CHECK(res.body == "accepted\n");
  CHECK(book.signatures_for(1, 1).size() == 2);
  res =
      fx::one_request(port, "GET /peer/v1/reports?portfolio=1&round=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(res.status == 200);
  // None of the flooded rounds has a report of ours: nothing was signed for them.
  res = fx::one_request(port,
                        "GET /peer/v1/reports?portfolio=8&round=100 HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(res.status == 404);
}

TEST_CASE(
    "trickling and idle clients are cut at the request deadline; peers are served meanwhile") {
  const auto ours = fx::key(0x11);
  const auto a = fx::key(0x22);
  SignatureBook book(fx::domain(), chain::address_of(ours), {{"", chain::address_of(a)}}, nullptr);
  PeerServerOptions o;
  o.request_timeout = 600ms;
  o.max_connections = 16;
  PeerServer server = start_server(book, o);
  const std::uint16_t port = server.port();
  const OnchainReport r = fx::report(1, 1);
  REQUIRE(book.add_own(fx::signed_by(ours, r)));
  const std::string request = fx::post_request(encode_peer_report(fx::signed_by(a, r)));

  // Eight clients: four idle after connecting, four trickling the request a byte every 50 ms.
  std::vector<std::unique_ptr<fx::RawClient>> idle;
  std::vector<std::unique_ptr<fx::RawClient>> trickle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(std::make_unique<fx::RawClient>(port, 3s));
    trickle.push_back(std::make_unique<fx::RawClient>(port, 3s));
    REQUIRE(idle.back()->connected());
    REQUIRE(trickle.back()->connected());
  }
  const auto started = std::chrono::steady_clock::now();
  std::thread trickler([&] {
    for (std::size_t k = 0; k < 30; ++k) {  // 1.5 s of trickling, far from the whole request
      for (auto& c : trickle) (void)c->send(request.substr(k, 1));
      std::this_thread::sleep_for(50ms);
    }
  });
  // Meanwhile a real peer is answered at once.
  const auto res = fx::one_request(port, fx::post_request(encode_peer_report(fx::signed_by(a, r))));
  const auto served_after = std::chrono::steady_clock::now() - started;
  CHECK(res.status == 202);
  CHECK(served_after < 300ms);
  trickler.join();
  // Every slow client was closed by the server (by the 600 ms deadline, well before 3 s).
  for (auto& c : idle) CHECK(c->closed_by_peer());
  for (auto& c : trickle) CHECK(c->closed_by_peer());
  CHECK(std::chrono::steady_clock::now() - started < 2500ms);
  CHECK(book.signatures_for(1, 1).size() == 2);
}

TEST_CASE("garbage bytes, oversized requests and lying lengths never stop the listener") {
  const auto ours = fx::key(0x11);
  const auto a = fx::key(0x22);
  SignatureBook book(fx::domain(), chain::address_of(ours), {{"", chain::address_of(a)}}, nullptr);
  PeerServerOptions o;
  o.request_timeout = 100ms;
  PeerServer server = start_server(book, o);
  const std::uint16_t port = server.port();
  std::mt19937_64 rng(varkeeper::test::test_seed(0x5e7));
  const std::string valid = encode_peer_report(fx::signed_by(a, fx::report(1, 1)));
  for (int i = 0; i < 40; ++i) {
    fx::RawClient c(port, 1s);
    REQUIRE(c.connected());
    std::string junk;
    switch (i % 4) {
      case 0:
        junk.resize(1 + rng() % 2000);
        for (auto& ch : junk) ch = static_cast<char>(rng());
        break;
      case 1:  // a body far over the request bound
        junk = fx::post_request(std::string(64 * 1024, 'x'));
        break;
      case 2:  // Content-Length says more than is sent: cut at the deadline
        junk = "POST /peer/v1/report HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n{";
        break;
      default: {  // a valid message with a mutated byte
        std::string m = valid;
        m[rng() % m.size()] = static_cast<char>(rng());
        junk = fx::post_request(m);
      }
    }
    (void)c.send(junk);
    const auto res = c.read_response();
    if (i % 4 == 1) CHECK(res.status == 413);
    if (i % 4 == 3) CHECK((res.status == 400 || res.status == 202 || res.status == 403));
  }
  // Still serving, and a duplicate-key body is a 400.
  const auto t = valid.substr(0, valid.size() - 1) + ",\"round\":\"2\"}";
  auto res = fx::one_request(port, fx::post_request(t));
  CHECK(res.status == 400);
  CHECK(res.body == "malformed: duplicate key \"round\"\n");
  res = fx::one_request(port, fx::post_request(valid));
  CHECK(res.status == 202);
  CHECK(book.own_count() == 0);
}
