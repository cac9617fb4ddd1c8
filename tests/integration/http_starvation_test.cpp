// The operations server under idle, trickling and reconnecting clients (issue 19): hundreds of
// connections that never finish a request must not keep /healthz and /metrics from answering, or
// an orchestrator's liveness probe restarts a healthy keeper. Real loopback sockets, as an
// attacker on the same host would hold them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "keeper/ops/http_server.hpp"

using namespace std::chrono_literals;
using varkeeper::keeper::HttpServer;
using varkeeper::keeper::HttpServerHandlers;
using varkeeper::keeper::HttpServerOptions;

namespace {

// Room for a few hundred sockets on both ends in this one process.
void raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 8192);
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

int connect_to(std::uint16_t port, std::chrono::milliseconds recv_timeout = 3s) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(recv_timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((recv_timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& bytes) {
  return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

// A request line and part of the headers, never the blank line that ends them.
const std::string kPartial = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Partial: ";

struct Probe {
  int status = 0;
  std::string body;
  std::chrono::milliseconds took{0};
};

// One GET on a fresh connection, as a liveness probe or a scraper makes it.
Probe probe(std::uint16_t port, const std::string& target) {
  Probe p;
  const auto t0 = std::chrono::steady_clock::now();
  const int fd = connect_to(port);
  if (fd >= 0) {
    if (send_all(fd,
                 "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")) {
      std::string raw;
      char buf[4096];
      for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        raw.append(buf, static_cast<std::size_t>(n));
      }
      const auto head_end = raw.find("\r\n\r\n");
      if (raw.rfind("HTTP/1.1 ", 0) == 0 && head_end != std::string::npos) {
        p.status = std::stoi(raw.substr(9, 3));
        p.body = raw.substr(head_end + 4);
      }
    }
    ::close(fd);
  }
  p.took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  return p;
}

const std::string kExposition = "# TYPE varkeeper_up gauge\nvarkeeper_up 1\n";

HttpServer start(HttpServerOptions options) {
  HttpServerHandlers handlers;
  handlers.metrics = [] { return kExposition; };
  auto s = HttpServer::start(std::move(options), std::move(handlers));
  if (!s) FAIL("server did not start: " << s.error().message);
  return std::move(s).value();
}

// Probes /healthz and /metrics every 150 ms for `how_long`; every one must answer 200 within 2 s.
void probes_pass(std::uint16_t port, std::chrono::milliseconds how_long) {
  const auto end = std::chrono::steady_clock::now() + how_long;
  int probes = 0;
  std::chrono::milliseconds slowest{0};
  while (std::chrono::steady_clock::now() < end) {
    const Probe h = probe(port, "/healthz");
    CHECK(h.status == 200);
    CHECK(h.body == "ok\n");
    CHECK(h.took < 2s);
    const Probe m = probe(port, "/metrics");
    CHECK(m.status == 200);
    CHECK(m.body == kExposition);
    CHECK(m.took < 2s);
    slowest = std::max({slowest, h.took, m.took});
    ++probes;
    std::this_thread::sleep_for(150ms);
  }
  MESSAGE(probes << " probe pairs, slowest " << slowest.count() << " ms");
  CHECK(probes >= how_long / 500ms);
}

}  // namespace

TEST_CASE("400 idle connections with partial headers do not starve /healthz and /metrics") {
  raise_fd_limit();
  HttpServerOptions options;  // the defaults a keeper runs with (5 s request timeout)
  options.address = "127.0.0.1:0";
  auto server = start(options);
  std::vector<int> idle;
  for (int i = 0; i < 400; ++i) {
    const int fd = connect_to(server.port());
    REQUIRE(fd >= 0);
    REQUIRE(send_all(fd, kPartial));
    idle.push_back(fd);
  }
  std::this_thread::sleep_for(200ms);  // the server has accepted them all by now
  probes_pass(server.port(), 3s);      // well inside the 5 s the idle ones may take
  for (const int fd : idle) ::close(fd);
}

TEST_CASE(
    "clients that reconnect as soon as they are cut, and tricklers, do not keep /healthz "
    "down") {
  raise_fd_limit();
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.request_timeout = 700ms;  // the 5 s cut-and-reconnect cycle, compressed
  auto server = start(options);
  const std::uint16_t port = server.port();
  std::atomic<bool> done{false};
  std::atomic<int> reconnects{0};
  std::atomic<int> cut_tricklers{0};
  // 300 clients that hold partial headers and reconnect the moment the server closes them, and
  // 100 that trickle a header byte every 100 ms.
  std::thread attacker([&] {
    struct Conn {
      int fd;
      bool trickle;
    };
    std::vector<Conn> conns;
    for (int i = 0; i < 400; ++i) {
      const int fd = connect_to(port, 100ms);
      if (fd >= 0) {
        send_all(fd, kPartial);
        conns.push_back({fd, i >= 300});
      }
    }
    auto last_trickle = std::chrono::steady_clock::now();
    while (!done) {
      std::vector<pollfd> fds;
      fds.reserve(conns.size());
      for (const auto& c : conns) fds.push_back({c.fd, POLLIN, 0});
      ::poll(fds.data(), fds.size(), 20);
      for (std::size_t i = 0; i < conns.size(); ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        char buf[512];
        const ssize_t n = ::recv(conns[i].fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0 || (n < 0 && errno == EAGAIN)) continue;
        ::close(conns[i].fd);  // cut by the server: straight back in
        if (conns[i].trickle) ++cut_tricklers;
        conns[i].fd = connect_to(port, 100ms);
        if (conns[i].fd >= 0) send_all(conns[i].fd, kPartial);
        ++reconnects;
      }
      conns.erase(
          std::remove_if(conns.begin(), conns.end(), [](const Conn& c) { return c.fd < 0; }),
          conns.end());
      if (std::chrono::steady_clock::now() - last_trickle >= 100ms) {
        last_trickle = std::chrono::steady_clock::now();
        for (const auto& c : conns) {
          if (c.trickle) send_all(c.fd, "a");
        }
      }
    }
    for (const auto& c : conns) ::close(c.fd);
  });
  std::this_thread::sleep_for(300ms);
  probes_pass(port, 3s);
  done = true;
  attacker.join();
  MESSAGE(reconnects.load() << " reconnects, " << cut_tricklers.load() << " tricklers cut");
  // The deadline cut the tricklers (a byte every 100 ms does not extend it) and the idle ones.
  CHECK(cut_tricklers.load() >= 100);
  CHECK(reconnects.load() >= 300);
}

TEST_CASE("past the connection budget the connection waiting longest makes room for a new one") {
  raise_fd_limit();
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.max_connections = 16;
  auto server = start(options);
  std::vector<int> idle;
  for (int i = 0; i < 100; ++i) {
    const int fd = connect_to(server.port());
    REQUIRE(fd >= 0);
    REQUIRE(send_all(fd, kPartial));
    idle.push_back(fd);
  }
  std::this_thread::sleep_for(200ms);
  // The first 84 were closed to make room (the server closed them: a read sees the end).
  int closed = 0;
  for (int i = 0; i < 84; ++i) {
    char c = 0;
    if (::recv(idle[static_cast<std::size_t>(i)], &c, 1, MSG_DONTWAIT) == 0) ++closed;
  }
  CHECK(closed == 84);
  probes_pass(server.port(), 1s);
  for (const int fd : idle) ::close(fd);
}

namespace {

// Reads from a stream until `needle` has arrived (or `wait` passes); returns what was read.
std::string read_until(int fd, const std::string& needle, std::chrono::milliseconds wait) {
  std::string got;
  const auto end = std::chrono::steady_clock::now() + wait;
  while (got.find(needle) == std::string::npos && std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

int open_stream(std::uint16_t port) {
  const int fd = connect_to(port);
  REQUIRE(fd >= 0);
  REQUIRE(
      send_all(fd, "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"));
  return fd;
}

}  // namespace

TEST_CASE("event streams have their own budget, get every broadcast, and a stalled one is cut") {
  raise_fd_limit();
  HttpServerOptions options;
  options.address = "127.0.0.1:0";
  options.max_connections = 2;  // streams do not count against it
  options.max_streams = 4;
  options.stream_path = "/events";
  options.stream_first = [] { return std::string("event: state\ndata: {\"seq\":1}\n\n"); };
  options.stream_max_queued_bytes = 256 * 1024;
  options.write_timeout = 1s;
  auto server = start(options);
  std::vector<int> streams;
  for (int i = 0; i < 4; ++i) {
    streams.push_back(open_stream(server.port()));
    const std::string head = read_until(streams.back(), "{\"seq\":1}\n\n", 2s);
    CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(head.find("Content-Type: text/event-stream\r\n") != std::string::npos);
    CHECK(head.find("retry: 1000\n\n") != std::string::npos);
  }
  // The fifth is over the stream budget.
  {
    const int fd = open_stream(server.port());
    const std::string got = read_until(fd, "too many streams", 2s);
    CHECK(got.rfind("HTTP/1.1 503 ", 0) == 0);
    CHECK(got.find("Retry-After: 2\r\n") != std::string::npos);
    ::close(fd);
  }
  // Probes still pass with four streams open and a connection budget of two.
  probes_pass(server.port(), 600ms);
  server.broadcast("event: state\ndata: {\"seq\":2}\n\n");
  for (const int fd : streams) {
    CHECK(read_until(fd, "{\"seq\":2}\n\n", 2s).find("{\"seq\":2}") != std::string::npos);
  }
  // Stream 0 stops reading; 8 MiB of events later it has been cut, the others have them all.
  const std::string big = "event: state\ndata: " + std::string(64 * 1024, 'x');
  std::size_t received[3] = {0, 0, 0};
  int complete[3] = {0, 0, 0};
  for (int k = 0; k < 128; ++k) {
    const std::string tail = "|" + std::to_string(k) + "\n\n";
    server.broadcast(big + tail);
    for (int i = 1; i < 4; ++i) {
      const std::string got = read_until(streams[static_cast<std::size_t>(i)], tail, 5s);
      received[i - 1] += got.size();
      if (got.find(tail) != std::string::npos) ++complete[i - 1];
    }
  }
  for (int i = 0; i < 3; ++i) {
    CHECK(complete[i] == 128);
    CHECK(received[i] >= 128 * big.size());
  }
  // The stalled one: what it can still read ends in a close, well short of 8 MiB.
  std::size_t stalled = 0;
  bool closed = false;
  {
    char buf[65536];
    for (;;) {
      pollfd p{streams[0], POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) break;
      const ssize_t n = ::recv(streams[0], buf, sizeof buf, 0);
      if (n <= 0) {
        closed = true;
        break;
      }
      stalled += static_cast<std::size_t>(n);
    }
  }
  CHECK(closed);
  CHECK(stalled < 128 * big.size() / 2);
  // Its slot is free again.
  const int again = open_stream(server.port());
  CHECK(read_until(again, "{\"seq\":1}", 2s).rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  ::close(again);
  for (const int fd : streams) ::close(fd);
}
