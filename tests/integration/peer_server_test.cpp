// The peer exchange over real loopback sockets (issue 18): three keepers' listeners and clients
// exchange their signatures and each ends with the same three signers; a restarted keeper pulls
// a peer's report; an unreachable or silent peer costs at most the push timeout; the listener's
// HTTP answers and the ops server's route hook (405 with Allow, 413, 404, the old paths).
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "keeper/network/peer_client.hpp"
#include "keeper/network/peer_server.hpp"
#include "keeper/network/signature_book.hpp"
#include "keeper/ops/http_server.hpp"
#include "tests/keeper/peer_fixture.hpp"
#include "tests/support/test_support.hpp"

using namespace std::chrono_literals;
using namespace varkeeper;
using namespace varkeeper::keeper;
using namespace varkeeper::keeper::network;
namespace fx = varkeeper::test::peer;

namespace {

PeerServer start_server(SignatureBook& book) {
  PeerServerOptions o;
  auto s = PeerServer::start(std::move(o), book);
  if (!s) FAIL("peer server did not start: " << s.error());
  return std::move(s).value();
}

// A keeper's peer side: its key, book and listener.
struct Keeper {
  explicit Keeper(std::uint8_t key_byte) : key(fx::key(key_byte)) {}
  chain::SecretKey key;
  std::unique_ptr<SignatureBook> book;
  std::unique_ptr<PeerServer> server;
  [[nodiscard]] chain::Address address() const { return chain::address_of(key); }
};

}  // namespace

TEST_CASE("three keepers push their signed reports over loopback and each holds three signers") {
  std::vector<Keeper> ks;
  ks.emplace_back(0x11);
  ks.emplace_back(0x22);
  ks.emplace_back(0x33);
  // The book does not use the peers' URLs (only the client does), so each book can be made
  // before the others' listeners exist.
  for (std::size_t i = 0; i < 3; ++i) {
    std::vector<PeerSpec> peers;
    for (std::size_t j = 0; j < 3; ++j) {
      if (j != i) peers.push_back({"", ks[j].address()});
    }
    ks[i].book = std::make_unique<SignatureBook>(fx::domain(), ks[i].address(), peers, nullptr);
    ks[i].server = std::make_unique<PeerServer>(start_server(*ks[i].book));
  }
  const OnchainReport r = fx::report(1, 3);
  const chain::Hash32 digest = report_digest(fx::domain(), r);
  const auto started = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < 3; ++i) {
    const PeerReport mine = fx::signed_by(ks[i].key, r, 96);
    REQUIRE(ks[i].book->add_own(mine));
    std::vector<PeerSpec> peers;
    for (std::size_t j = 0; j < 3; ++j) {
      if (j != i) peers.push_back({ks[j].server->url(), ks[j].address()});
    }
    PeerClient client(fx::domain(), peers, ks[i].book.get());
    const auto results = client.push(mine, 1000);
    REQUIRE(results.size() == 2);
    for (const PushResult& p : results) {
      CAPTURE(p.error);
      CHECK(p.reached);
      CHECK(p.status == 202);
      CHECK(p.error.empty());
    }
  }
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(took < 2s);
  std::vector<chain::Address> expected;
  for (std::size_t i = 0; i < 3; ++i) {
    const auto signers = ks[i].book->signers_for(1, 3);
    const auto sigs = ks[i].book->signatures_for(1, 3);
    REQUIRE(signers.size() == 3);
    REQUIRE(sigs.size() == 3);
    CHECK(signers[0] == ks[i].address());
    for (std::size_t k = 0; k < 3; ++k) {
      CHECK(*chain::recover_address(digest, sigs[k]) == signers[k]);
    }
    for (const auto& [peer, st] : ks[i].book->stats()) {
      CHECK(st.reachable);
      CHECK(st.signatures_received == 1);
      CHECK(st.last_agreement_round == 3);
    }
    CHECK(ks[i].server->counters().accepted == 2);
  }
}

TEST_CASE("a restarted keeper pulls a peer's report for a round it missed") {
  const auto ours = fx::key(0x11);
  const auto theirs = fx::key(0x22);
  SignatureBook peer_book(fx::domain(), chain::address_of(theirs), {{"", chain::address_of(ours)}},
                          nullptr);
  PeerServer server = start_server(peer_book);
  const OnchainReport r = fx::report(2, 5);
  REQUIRE(peer_book.add_own(fx::signed_by(theirs, r)));

  SignatureBook book(fx::domain(), chain::address_of(ours),
                     {{server.url(), chain::address_of(theirs)}}, nullptr);
  PeerClient client(fx::domain(), book.peers(), &book);
  auto pulled = client.pull(book.peers()[0], 2, 5);
  REQUIRE_MESSAGE(pulled, (pulled ? "" : pulled.error()));
  CHECK(pulled->report == r);
  CHECK(book.add_peer(*pulled, 1) == SignatureBook::Verdict::kHeld);
  REQUIRE(book.add_own(fx::signed_by(ours, r)));
  CHECK(book.signatures_for(2, 5).size() == 2);
  // A round the peer has no report for: 404, said so.
  auto missing = client.pull(book.peers()[0], 2, 6);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().rfind("HTTP 404", 0) == 0);
  // A peer answering with someone else's report is refused.
  auto wrong = client.pull({server.url(), chain::address_of(fx::key(0x44))}, 2, 5);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().find("not the peer's") != std::string::npos);
  CHECK(server.counters().pulls == 2);
}

TEST_CASE("an unreachable peer and a silent peer cost at most the push timeout, in parallel") {
  const auto ours = fx::key(0x11);
  // A port with nothing listening, and a listener that accepts and never answers.
  std::uint16_t dead_port = 0;
  const int dead = varkeeper::test::listen_on_loopback(dead_port, 1, "dead peer");
  ::close(dead);
  std::uint16_t silent_port = 0;
  const int silent = varkeeper::test::listen_on_loopback(silent_port, 16, "silent peer");
  const std::vector<PeerSpec> peers = {
      {"http://127.0.0.1:" + std::to_string(dead_port), chain::address_of(fx::key(0x22))},
      {"http://127.0.0.1:" + std::to_string(silent_port), chain::address_of(fx::key(0x33))},
      {"https://127.0.0.1:1", chain::address_of(fx::key(0x44))}};
  SignatureBook book(fx::domain(), chain::address_of(ours), peers, nullptr);
  PeerClientOptions options;
  options.timeout = 300ms;
  PeerClient client(fx::domain(), peers, &book, options);
  const auto started = std::chrono::steady_clock::now();
  const auto results = client.push(fx::signed_by(ours, fx::report(1, 1)), 77);
  const auto took = std::chrono::steady_clock::now() - started;
  ::close(silent);
  CHECK(took < 800ms);
  REQUIRE(results.size() == 3);
  CHECK_FALSE(results[0].reached);
  CHECK(results[0].error.find("connect") != std::string::npos);
  CHECK_FALSE(results[1].reached);
  CHECK(results[1].error.rfind("timeout after 300 ms", 0) == 0);
  CHECK(results[2].error.find("http://") != std::string::npos);
  const auto st = book.stats();
  CHECK_FALSE(st.at(peers[0].signer).reachable);
  CHECK(st.at(peers[1].signer).last_error == results[1].error);
}

TEST_CASE("the peer listener answers each refusal with its status and one line") {
  const auto ours = fx::key(0x11);
  const auto a = fx::key(0x22);
  SignatureBookLimits limits;
  limits.burst = 2;
  limits.rate_per_s = 0;
  SignatureBook book(fx::domain(), chain::address_of(ours), {{"", chain::address_of(a)}}, nullptr,
                     limits);
  PeerServer server = start_server(book);
  const std::uint16_t port = server.port();
  const OnchainReport r = fx::report(1, 2);
  REQUIRE(book.add_own(fx::signed_by(ours, r)));
  OnchainReport lie = r;
  lie.value_at_risk += 1;

  auto res = fx::one_request(port, fx::post_request(encode_peer_report(fx::signed_by(a, r))));
  CHECK(res.status == 202);
  CHECK(res.body == "accepted\n");
  res = fx::one_request(port, fx::post_request(encode_peer_report(fx::signed_by(a, lie))));
  CHECK(res.status == 409);
  CHECK(res.body == "diverges: our digest " + chain::to_hex(report_digest(fx::domain(), r)) + "\n");
  res = fx::one_request(port, fx::post_request(encode_peer_report(fx::signed_by(a, r))));
  CHECK(res.status == 429);  // its bucket (2, no refill) is empty
  CHECK(res.head.find("Retry-After: 1") != std::string::npos);
  res =
      fx::one_request(port, fx::post_request(encode_peer_report(fx::signed_by(fx::key(0x44), r))));
  CHECK(res.status == 403);
  CHECK(res.body.rfind("unknown peer: 0x", 0) == 0);
  res = fx::one_request(port, fx::post_request("{\"extra\":\"1\"}"));
  CHECK(res.status == 400);
  CHECK(res.body == "malformed: unknown key \"extra\"\n");
  res = fx::one_request(port, fx::post_request(std::string(kMaxPeerMessageBytes + 1, ' ')));
  CHECK(res.status == 413);
  res = fx::one_request(port, "GET /peer/v1/report HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(res.status == 405);
  CHECK(res.head.find("Allow: POST") != std::string::npos);
  res = fx::one_request(port,
                        "DELETE /peer/v1/reports?portfolio=1&round=2 HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(res.status == 405);
  CHECK(res.head.find("Allow: GET") != std::string::npos);
  res =
      fx::one_request(port, "GET /peer/v1/reports?portfolio=1&round=2 HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(res.status == 200);
  auto own = decode_peer_report(res.body, fx::domain());
  REQUIRE(own);
  CHECK(own->signer == chain::address_of(ours));
  for (const char* q : {"portfolio=1", "portfolio=1&round=2&round=2", "portfolio=01&round=2",
                        "portfolio=1&round=x", "portfolio=1&round=2&x=1", ""}) {
    CAPTURE(q);
    res = fx::one_request(
        port, "GET /peer/v1/reports?" + std::string(q) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(res.status == 400);
  }
  res =
      fx::one_request(port, "GET /peer/v1/reports?portfolio=1&round=3 HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(res.status == 404);
  // The ops server's own paths are not served on the peer listener (it has no handlers for them
  // but they keep their meaning: /healthz is still ok).
  res = fx::one_request(port, "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(res.status == 404);
  res = fx::one_request(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(res.status == 200);
  const auto c = server.counters();
  CHECK(c.accepted == 1);
  CHECK(c.conflict == 1);
  CHECK(c.limited == 1);
  CHECK(c.forbidden == 1);
  CHECK(c.malformed == 7);
}

TEST_CASE("a route with a body bound answers 413 over it without calling the handler") {
  int calls = 0;
  std::vector<HttpRoute> routes;
  routes.push_back({"POST", "/x", 10, [&](const HttpRouteRequest& req) {
                      ++calls;
                      HttpRouteReply reply;
                      reply.status = 201;
                      reply.body = std::string(req.body) + "|" + std::string(req.query);
                      reply.headers.emplace_back("X-Test", "yes");
                      return reply;
                    }});
  routes.push_back({"GET", "/x", 0, [&](const HttpRouteRequest&) {
                      throw std::runtime_error("boom");
                      return HttpRouteReply{};
                    }});
  HttpServerOptions o;
  o.address = "127.0.0.1:0";
  auto server = HttpServer::start(o, {}, std::move(routes));
  REQUIRE(server);
  const std::uint16_t port = server->port();
  const auto post = [&](const std::string& target, const std::string& body) {
    return fx::one_request(port, "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                     std::to_string(body.size()) + "\r\n\r\n" + body);
  };
  auto res = post("/x?a=1", "0123456789");
  CHECK(res.status == 201);
  CHECK(res.body == "0123456789|a=1");
  CHECK(res.head.find("X-Test: yes") != std::string::npos);
  res = post("/x", "0123456789A");
  CHECK(res.status == 413);
  CHECK(calls == 1);
  res = fx::one_request(port, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(res.status == 500);
  res = fx::one_request(port, "PUT /x HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(res.status == 405);
  CHECK(res.head.find("Allow: POST, GET") != std::string::npos);
  res = fx::one_request(port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  CHECK(res.status == 405);  // the old paths keep their rules
  CHECK(res.head.find("Allow: GET") != std::string::npos);
  res = post("/y", "");
  CHECK(res.status == 404);
}

TEST_CASE("the peer listener names itself when its address is refused") {
  SignatureBook book(fx::domain(), chain::address_of(fx::key(0x11)), {}, nullptr);
  PeerServerOptions o;
  o.address = "10.1.2.3:9000";
  auto s = PeerServer::start(o, book);
  REQUIRE_FALSE(s);
  CHECK(s.error() ==
        "peer listener address '10.1.2.3:9000' is not a loopback address; set "
        "allow_non_loopback to expose it");
}
