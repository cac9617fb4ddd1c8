// The operations HTTP server over real loopback sockets: a plain POSIX client writes the request
// bytes itself, so what is checked is what a Prometheus scraper or a load balancer sees.
#include "keeper/ops/http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "keeper/ops/metrics.hpp"
#include "keeper/ops/operations.hpp"
#include "tests/support/test_support.hpp"

using namespace std::chrono_literals;
using varkeeper::keeper::HttpServer;
using varkeeper::keeper::HttpServerErrorKind;
using varkeeper::keeper::HttpServerHandlers;
using varkeeper::keeper::HttpServerOptions;
using varkeeper::keeper::MetricsRegistry;
using varkeeper::keeper::Readiness;

namespace {

// A connected loopback socket, closed on destruction.
class Client {
 public:
  explicit Client(std::uint16_t port, std::chrono::milliseconds recv_timeout = 5s) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(recv_timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((recv_timeout.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    connect_errno_ = connected_ ? 0 : errno;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  [[nodiscard]] bool connected() const { return connected_; }
  [[nodiscard]] int connect_errno() const { return connect_errno_; }

  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // Reads until the peer closes (or the receive timeout); `closed` says whether it closed.
  std::string read_all(bool* closed = nullptr) {
    std::string out;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        out.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (closed) *closed = n == 0 || (n < 0 && errno == ECONNRESET);
      return out;
    }
  }
  // Reads one response whose body length is given by Content-Length (for keep-alive).
  std::string read_response() {
    std::string out;
    char buf[4096];
    for (;;) {
      const auto head_end = out.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const auto cl = out.find("Content-Length: ");
        REQUIRE(cl != std::string::npos);
        const std::size_t length = std::stoul(out.substr(cl + 16));
        if (out.size() >= head_end + 4 + length) return out;
      }
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  int connect_errno_ = 0;
};

struct Response {
  int status = 0;
  std::string head;
  std::string body;
};

Response parse(const std::string& raw) {
  Response r;
  const auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) return r;
  r.status = std::stoi(raw.substr(9, 3));
  r.head = raw.substr(0, head_end);
  r.body = raw.substr(head_end + 4);
  return r;
}

Response request(std::uint16_t port, const std::string& method, const std::string& target) {
  Client c(port);
  REQUIRE(c.connected());
  REQUIRE(
      c.send(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
  return parse(c.read_all());
}

HttpServer start(HttpServerOptions options, HttpServerHandlers handlers = {}) {
  auto s = HttpServer::start(std::move(options), std::move(handlers));
  if (!s) FAIL("server did not start: " << s.error().message);
  return std::move(s).value();
}

HttpServerOptions any_port() {
  HttpServerOptions o;
  o.address = "127.0.0.1:0";
  return o;
}

}  // namespace

TEST_CASE("the server binds a free loopback port when asked for port 0 and reports it") {
  auto server = start(any_port());
  CHECK(server.port() != 0);
  CHECK(server.url() == "http://127.0.0.1:" + std::to_string(server.port()));
  CHECK(request(server.port(), "GET", "/healthz").status == 200);
}

TEST_CASE("GET /metrics returns the registry in the text format with its content type") {
  MetricsRegistry registry;
  registry.gauge("varkeeper_price", "Consensus price.", {"asset"}).set({"ETH/USD"}, 3120.5);
  auto server = start(any_port(), {[&] { return registry.render(); }, {}});
  const Response r = request(server.port(), "GET", "/metrics");
  CHECK(r.status == 200);
  CHECK(r.head.find("\r\nContent-Type: text/plain; version=0.0.4") != std::string::npos);
  CHECK(r.body == registry.render());
  CHECK(r.body.find("varkeeper_price{asset=\"ETH/USD\"} 3120.5\n") != std::string::npos);
}

TEST_CASE("GET /healthz answers ok while the process runs") {
  auto server = start(any_port());
  const Response r = request(server.port(), "GET", "/healthz");
  CHECK(r.status == 200);
  CHECK(r.body == "ok\n");
}

TEST_CASE("GET /readyz flips from 503 with the reason to 200 when the callback says ready") {
  std::atomic<bool> ready{false};
  auto server =
      start(any_port(),
            {{}, [&] {
               return ready ? Readiness{true, {}} : Readiness{false, "no successful publish yet"};
             }});
  Response r = request(server.port(), "GET", "/readyz");
  CHECK(r.status == 503);
  CHECK(r.body == "not ready: no successful publish yet\n");
  ready = true;
  r = request(server.port(), "GET", "/readyz");
  CHECK(r.status == 200);
  CHECK(r.body == "ready\n");
}

TEST_CASE("unknown paths are 404 and methods other than GET are 405 with Allow: GET") {
  auto server = start(any_port());
  CHECK(request(server.port(), "GET", "/").status == 404);
  CHECK(request(server.port(), "GET", "/metrics/extra").status == 404);
  for (const char* method : {"POST", "PUT", "DELETE", "HEAD"}) {
    CAPTURE(method);
    const Response r = request(server.port(), method, "/metrics");
    CHECK(r.status == 405);
    CHECK(r.head.find("\r\nAllow: GET") != std::string::npos);
  }
  CHECK(request(server.port(), "GET", "/healthz?verbose=1").status == 200);  // query ignored
}

TEST_CASE("a keep-alive connection serves several requests") {
  auto server = start(any_port());
  Client c(server.port());
  REQUIRE(c.connected());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    const Response r = parse(c.read_response());
    CHECK(r.status == 200);
    CHECK(r.body == "ok\n");
  }
}

TEST_CASE("a slow client is cut after the request timeout while others are served") {
  auto options = any_port();
  options.request_timeout = 300ms;
  auto server = start(options);
  Client slow(server.port());
  REQUIRE(slow.connected());
  const auto t0 = std::chrono::steady_clock::now();
  // Slowloris: a header line every 100 ms, never the blank line that ends the request.
  REQUIRE(slow.send("GET /healthz HTTP/1.1\r\n"));
  bool cut = false;
  for (int i = 0; i < 30 && !cut; ++i) {
    std::this_thread::sleep_for(100ms);
    if (!slow.send("X-Slow: " + std::to_string(i) + "\r\n")) cut = true;
    if (i == 1) CHECK(request(server.port(), "GET", "/healthz").status == 200);
  }
  bool closed = false;
  const std::string got = slow.read_all(&closed);
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(closed);
  CHECK(got.empty());  // no response: the request never completed
  CHECK(elapsed >= 250ms);
  CHECK(elapsed < 2s);
}

TEST_CASE("a request larger than the limit is refused with 431 and the connection closed") {
  auto options = any_port();
  options.max_request_bytes = 1024;
  auto server = start(options);
  Client c(server.port());
  REQUIRE(c.connected());
  REQUIRE(
      c.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n"));
  bool closed = false;
  const Response r = parse(c.read_all(&closed));
  CHECK(r.status == 431);
  CHECK(closed);
  CHECK(request(server.port(), "GET", "/healthz").status == 200);
}

TEST_CASE("past the connection limit the connection idle longest makes room for the new one") {
  // Issue 19: refusing the new connection let idle clients keep every probe out; now the one
  // that has waited longest for a request is closed instead, and the new one is served.
  auto options = any_port();
  options.max_connections = 2;
  auto server = start(options);
  Client first(server.port());
  REQUIRE(first.connected());
  REQUIRE(first.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(parse(first.read_response()).status == 200);  // accepted; now idle in keep-alive
  Client second(server.port());
  REQUIRE(second.connected());
  REQUIRE(second.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(parse(second.read_response()).status == 200);  // idle since after the first
  Client third(server.port());
  REQUIRE(third.connected());
  REQUIRE(third.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  CHECK(parse(third.read_all()).status == 200);
  bool closed = false;
  CHECK(first.read_all(&closed).empty());  // closed to make room, without a response
  CHECK(closed);
  // The second, idle for less long, is still served on its connection.
  REQUIRE(second.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(parse(second.read_response()).status == 200);
}

TEST_CASE("a non-loopback address is refused unless explicitly allowed") {
  HttpServerOptions o;
  o.address = "0.0.0.0:0";
  auto refused = HttpServer::start(o, {});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == HttpServerErrorKind::kNotLoopback);
  CHECK(refused.error().message.find("0.0.0.0:0") != std::string::npos);
  o.allow_non_loopback = true;
  auto allowed = HttpServer::start(o, {});
  REQUIRE(allowed);
  CHECK(request(allowed->port(), "GET", "/healthz").status == 200);
}

TEST_CASE("malformed addresses and a port in use are clear errors") {
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:80x",
                          "example.com:9464", "::1:9464", "[::1:9464", ""}) {
    CAPTURE(bad);
    HttpServerOptions o;
    o.address = bad;
    auto s = HttpServer::start(o, {});
    REQUIRE_FALSE(s);
    CHECK(s.error().kind == HttpServerErrorKind::kBadAddress);
  }
  auto first = start(any_port());
  HttpServerOptions o;
  o.address = "127.0.0.1:" + std::to_string(first.port());
  auto second = HttpServer::start(o, {});
  REQUIRE_FALSE(second);
  CHECK(second.error().kind == HttpServerErrorKind::kBind);
  CHECK(second.error().message.find(o.address) != std::string::npos);
}

TEST_CASE("localhost and the IPv6 loopback are accepted as loopback addresses") {
  HttpServerOptions o;
  o.address = "localhost:0";
  auto s = HttpServer::start(o, {});
  REQUIRE(s);
  CHECK(s->url().rfind("http://127.0.0.1:", 0) == 0);
  o.address = "[::1]:0";
  auto v6 = HttpServer::start(o, {});
  // A host without IPv6 cannot bind ::1; then the error must be a bind error, not a refusal.
  if (!v6)
    CHECK(v6.error().kind == HttpServerErrorKind::kBind);
  else
    CHECK(v6->url().rfind("http://[::1]:", 0) == 0);
}

TEST_CASE("a throwing metrics callback gives 500 and the server keeps serving") {
  auto server = start(any_port(), {[]() -> std::string { throw std::runtime_error("boom"); }, {}});
  CHECK(request(server.port(), "GET", "/metrics").status == 500);
  CHECK(request(server.port(), "GET", "/healthz").status == 200);
}

TEST_CASE("stop closes idle connections, joins promptly, frees the port and is idempotent") {
  auto server = start(any_port());
  const std::uint16_t port = server.port();
  Client idle(port);
  REQUIRE(idle.connected());
  REQUIRE(idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(parse(idle.read_response()).status == 200);  // accepted, now idle in keep-alive
  const auto t0 = std::chrono::steady_clock::now();
  server.stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  bool closed = false;
  (void)idle.read_all(&closed);
  CHECK(closed);
  Client after(port);
  CHECK_FALSE(after.connected());
  CHECK(after.connect_errno() == ECONNREFUSED);
  server.stop();  // again: no effect
  // The port can be bound again at once.
  HttpServerOptions o;
  o.address = "127.0.0.1:" + std::to_string(port);
  auto again = HttpServer::start(o, {});
  CHECK(again);
}

TEST_CASE("malformed requests and random bytes never stop the server from serving") {
  auto options = any_port();
  options.request_timeout = 200ms;
  options.max_request_bytes = 2048;
  auto server = start(options);
  const std::vector<std::string> malformed = {
      "\r\n\r\n",
      "GET\r\n\r\n",
      "GET /healthz HTTP/9.9\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nNoColonHere\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nContent-Length: 100000\r\n\r\nabc",
      "POST /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
      std::string("GET /\0metrics HTTP/1.1\r\n\r\n", 26),
  };
  for (const auto& m : malformed) {
    CAPTURE(m);
    Client c(server.port(), 2s);
    REQUIRE(c.connected());
    c.send(m);
    (void)c.read_all();  // any answer, or a close; never a hang past the timeouts
  }
  {
    Client c(server.port(), 2s);
    REQUIRE(c.connected());
    c.send("GET /healthz HTTP/1.1\r\nNoColonHere\r\n\r\n");
    CHECK(parse(c.read_all()).status == 400);
  }
  const std::uint64_t seed = varkeeper::test::test_seed(0x0b5e7e11);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 200; ++i) {
    std::string bytes(rng() % 3000, '\0');
    for (char& b : bytes) b = static_cast<char>(rng());
    if (i % 2 == 0) bytes = "GET /metrics HTTP/1.1\r\n" + bytes;
    Client c(server.port(), 2s);
    REQUIRE(c.connected());
    c.send(bytes);
  }
  CHECK(request(server.port(), "GET", "/healthz").status == 200);
}

TEST_CASE("the operations bundle serves the keeper's metrics and flips /readyz with the tracker") {
  std::int64_t now = 1'000;
  varkeeper::keeper::OperationsOptions o;
  o.address = "127.0.0.1:0";
  o.readiness = {60, 600};
  o.now = [&now] { return now; };
  auto ops = varkeeper::keeper::Operations::start(o);
  REQUIRE(ops);
  const auto port = static_cast<std::uint16_t>(std::stoi(ops->url().substr(17)));
  ops->metrics().breaker_state.set({"eth-btc"}, 1);
  ops->metrics().tick_seconds.observe(0.2);
  const Response m = request(port, "GET", "/metrics");
  CHECK(m.status == 200);
  CHECK(m.body.find("varkeeper_breaker_state{portfolio=\"eth-btc\"} 1\n") != std::string::npos);
  CHECK(m.body.find("varkeeper_tick_seconds_count 1\n") != std::string::npos);
  Response r = request(port, "GET", "/readyz");
  CHECK(r.status == 503);
  CHECK(r.body == "not ready: no fresh prices yet; no successful publish yet\n");
  ops->readiness().prices_fresh(now);
  ops->readiness().publish_succeeded(now);
  CHECK(request(port, "GET", "/readyz").status == 200);
  now += 61;  // prices now older than the 60 s limit
  r = request(port, "GET", "/readyz");
  CHECK(r.status == 503);
  CHECK(r.body == "not ready: prices are 61 s old (limit 60 s)\n");
  ops->stop();
  Client after(port);
  CHECK_FALSE(after.connected());
}
