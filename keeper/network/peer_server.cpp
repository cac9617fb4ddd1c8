#include "keeper/network/peer_server.hpp"

#include <atomic>
#include <charconv>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "chain/hex.hpp"

namespace varkeeper::keeper::network {
namespace {

std::int64_t system_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A decimal uint64 without sign or leading zeros.
std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc{} || r.ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

// portfolio=P&round=R, each exactly once and nothing else.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_query(std::string_view q) {
  std::optional<std::uint64_t> pid;
  std::optional<std::uint64_t> round;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      return std::nullopt;
    }
    const std::string_view name = part.substr(0, eq);
    auto value = parse_u64(part.substr(eq + 1));
    if (!value) {
      return std::nullopt;
    }
    std::optional<std::uint64_t>* slot = name == "portfolio" ? &pid
                                         : name == "round"   ? &round
                                                             : nullptr;
    if (slot == nullptr || slot->has_value()) {
      return std::nullopt;
    }
    *slot = value;
  }
  if (!pid || !round) {
    return std::nullopt;
  }
  return std::make_pair(*pid, *round);
}

}  // namespace

struct PeerServer::Shared {
  SignatureBook* book = nullptr;
  std::function<std::int64_t()> clock;
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> malformed{0};
  std::atomic<std::uint64_t> forbidden{0};
  std::atomic<std::uint64_t> conflict{0};
  std::atomic<std::uint64_t> limited{0};
  std::atomic<std::uint64_t> pulls{0};
};

PeerPostAnswer answer_peer_post(SignatureBook& book, std::string_view body, std::int64_t now_s) {
  if (body.size() > kMaxPeerMessageBytes) {
    return {413, "too large: over " + std::to_string(kMaxPeerMessageBytes) + " bytes"};
  }
  auto message = decode_peer_report(body, book.domain());
  if (!message) {
    return {400, "malformed: " + message.error()};
  }
  using V = SignatureBook::Verdict;
  const V verdict = book.add_peer(*message, now_s);
  const std::string what(to_string(verdict));
  const std::string signer = chain::to_checksum_address(message->signer);
  switch (verdict) {
    case V::kAccepted:
    case V::kHeld:
    case V::kDuplicate: return {202, what};
    case V::kUnknownPeer:
    case V::kSelf:
    case V::kNotSigner: return {403, what + ": " + signer};
    case V::kStale: return {409, what};
    case V::kDiverges: {
      std::string text = what;
      if (const auto own = book.own(message->report.portfolio_id, message->report.round)) {
        text += ": our digest " + chain::to_hex(report_digest(book.domain(), own->report));
      }
      return {409, text};
    }
    case V::kFull:
    case V::kRateLimited: return {429, what};
  }
  return {500, "internal error"};
}

chain::Expected<PeerServer, std::string> PeerServer::start(PeerServerOptions options,
                                                           SignatureBook& book) {
  auto shared = std::make_shared<Shared>();
  shared->book = &book;
  shared->clock = options.clock ? std::move(options.clock) : system_now_s;

  HttpServerOptions http;
  http.address = std::move(options.address);
  http.allow_non_loopback = options.allow_non_loopback;
  http.max_connections = options.max_connections;
  // The message and a client's ordinary headers; a larger request is cut with 413/431.
  http.max_request_bytes = kMaxPeerMessageBytes + std::size_t{2048};
  http.request_timeout = options.request_timeout;
  http.write_timeout = options.write_timeout;
  http.name = "peer listener";
  http.non_loopback_setting = std::move(options.non_loopback_setting);

  std::vector<HttpRoute> routes;
  routes.push_back(HttpRoute{
      "POST", "/peer/v1/report", kMaxPeerMessageBytes, [s = shared](const HttpRouteRequest& req) {
        const PeerPostAnswer a = answer_peer_post(*s->book, req.body, s->clock());
        HttpRouteReply reply;
        reply.status = a.status;
        reply.body = a.text + "\n";
        switch (a.status) {
          case 202: ++s->accepted; break;
          case 400: ++s->malformed; break;
          case 403: ++s->forbidden; break;
          case 409: ++s->conflict; break;
          case 429:
            ++s->limited;
            reply.headers.emplace_back("Retry-After", "1");
            break;
          default: break;
        }
        return reply;
      }});
  routes.push_back(
      HttpRoute{"GET", "/peer/v1/reports", 0, [s = shared](const HttpRouteRequest& req) {
                  HttpRouteReply reply;
                  const auto q = parse_query(req.query);
                  if (!q) {
                    ++s->malformed;
                    reply.status = 400;
                    reply.body = "malformed: expected ?portfolio=P&round=R\n";
                    return reply;
                  }
                  const auto own = s->book->own(q->first, q->second);
                  if (!own) {
                    reply.status = 404;
                    reply.body = "no report of ours for that portfolio and round\n";
                    return reply;
                  }
                  ++s->pulls;
                  reply.body = encode_peer_report(*own);
                  reply.content_type = "application/json";
                  return reply;
                }});
  // The routes' sizes are the bound: a route with max_body_bytes 0 takes no body, 413 otherwise.
  auto server = HttpServer::start(std::move(http), {}, std::move(routes));
  if (!server) {
    return chain::unexpected(server.error().message);
  }
  return PeerServer(std::move(shared), std::move(server).value());
}

PeerServer::PeerServer(std::shared_ptr<Shared> shared, HttpServer server)
    : shared_(std::move(shared)), server_(std::make_unique<HttpServer>(std::move(server))) {}
PeerServer::PeerServer(PeerServer&&) noexcept = default;
PeerServer& PeerServer::operator=(PeerServer&&) noexcept = default;
PeerServer::~PeerServer() { stop(); }

void PeerServer::stop() {
  if (server_) {
    server_->stop();
  }
}

std::uint16_t PeerServer::port() const noexcept { return server_ ? server_->port() : 0; }
std::string PeerServer::url() const { return server_ ? server_->url() : std::string(); }

PeerServerCounters PeerServer::counters() const {
  PeerServerCounters c;
  if (!shared_) {
    return c;
  }
  c.accepted = shared_->accepted.load();
  c.malformed = shared_->malformed.load();
  c.forbidden = shared_->forbidden.load();
  c.conflict = shared_->conflict.load();
  c.limited = shared_->limited.load();
  c.pulls = shared_->pulls.load();
  return c;
}

}  // namespace varkeeper::keeper::network
