#include "keeper/network/peer_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chain/url.hpp"

namespace varkeeper::keeper::network {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct Outcome {
  bool reached = false;  // an HTTP answer came back
  int status = 0;
  std::string body;
  std::string error;  // transport failure, empty if an answer came back
};

// One HTTP/1.1 exchange (resolve, connect, write, read) under one deadline: the timer cancels
// whatever step is in progress, so a silent or trickling peer costs at most `timeout`.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(net::io_context& ioc, chain::Url url, http::verb verb, const std::string& target,
           std::string body, const PeerClientOptions& options, Outcome& out)
      : resolver_(ioc),
        stream_(ioc),
        timer_(ioc),
        url_(std::move(url)),
        options_(options),
        out_(out) {
    req_.method(verb);
    req_.target(target);
    req_.version(11);
    req_.set(http::field::host, url_.host + ":" + std::to_string(url_.port));
    req_.set(http::field::user_agent, "varkeeper-peer");
    req_.set(http::field::connection, "close");
    if (verb == http::verb::post) {
      req_.set(http::field::content_type, "application/json");
      req_.body() = std::move(body);
    }
    req_.prepare_payload();
    parser_.body_limit(options_.max_response_bytes);
    parser_.header_limit(8 * 1024);
  }

  void start() {
    timer_.expires_after(options_.timeout);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) {
        return;  // cancelled: the exchange finished
      }
      self->timed_out_ = true;
      self->resolver_.cancel();
      beast::error_code ignored;
      self->stream_.socket().close(ignored);
    });
    resolver_.async_resolve(
        url_.host, std::to_string(url_.port),
        [self = shared_from_this()](beast::error_code ec, const tcp::resolver::results_type& r) {
          if (ec) {
            self->fail("resolve", ec);
            return;
          }
          self->stream_.async_connect(r, [self](beast::error_code cec, const tcp::endpoint&) {
            if (cec) {
              self->fail("connect", cec);
              return;
            }
            http::async_write(self->stream_, self->req_,
                              [self](beast::error_code wec, std::size_t) {
                                if (wec) {
                                  self->fail("write", wec);
                                  return;
                                }
                                self->read();
                              });
          });
        });
  }

 private:
  void read() {
    http::async_read(stream_, buffer_, parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) {
                         self->fail("read", ec);
                         return;
                       }
                       const auto& res = self->parser_.get();
                       self->out_.reached = true;
                       self->out_.status = static_cast<int>(res.result_int());
                       self->out_.body = res.body();
                       self->finish();
                     });
  }

  void fail(const char* step, const beast::error_code& ec) {
    out_.error = timed_out_ ? "timeout after " + std::to_string(options_.timeout.count()) +
                                  " ms (" + step + ")"
                            : std::string(step) + ": " + ec.message();
    finish();
  }

  void finish() {
    timer_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  net::steady_timer timer_;
  chain::Url url_;
  const PeerClientOptions& options_;
  Outcome& out_;
  http::request<http::string_body> req_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  bool timed_out_ = false;
};

struct Request {
  std::string url;
  http::verb verb = http::verb::get;
  std::string path;  // appended to the URL's own path
  std::string body;
};

// Runs every request at once on one io_context in the calling thread; one outcome each.
std::vector<Outcome> run_all(const std::vector<Request>& requests,
                             const PeerClientOptions& options) {
  std::vector<Outcome> out(requests.size());
  net::io_context ioc{1};
  for (std::size_t i = 0; i < requests.size(); ++i) {
    auto url = chain::parse_url(requests[i].url);
    if (!url) {
      out[i].error = "bad peer url: " + std::string(chain::to_string(url.error()));
      continue;
    }
    if (url->scheme != chain::UrlScheme::kHttp) {
      out[i].error = "peer url must be http:// (TLS: put a terminating proxy in front)";
      continue;
    }
    std::string prefix = url->target;
    if (const auto q = prefix.find('?'); q != std::string::npos) {
      prefix.resize(q);
    }
    while (!prefix.empty() && prefix.back() == '/') {
      prefix.pop_back();
    }
    std::make_shared<Exchange>(ioc, *url, requests[i].verb, prefix + requests[i].path,
                               requests[i].body, options, out[i])
        ->start();
  }
  ioc.run();
  return out;
}

std::string first_line(std::string_view text) {
  const auto nl = text.find('\n');
  std::string s(text.substr(0, std::min<std::size_t>(nl, 200)));
  return s;
}

}  // namespace

PeerClient::PeerClient(OracleDomain domain, std::vector<PeerSpec> peers, SignatureBook* book,
                       PeerClientOptions options)
    : domain_(std::move(domain)), peers_(std::move(peers)), book_(book), options_(options) {}

std::vector<PushResult> PeerClient::push(const PeerReport& mine, std::int64_t now_s) {
  const std::string body = encode_peer_report(mine);
  std::vector<Request> requests;
  requests.reserve(peers_.size());
  for (const PeerSpec& p : peers_) {
    requests.push_back({p.url, http::verb::post, "/peer/v1/report", body});
  }
  const std::vector<Outcome> outcomes = run_all(requests, options_);
  std::vector<PushResult> results;
  results.reserve(peers_.size());
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    const Outcome& o = outcomes[i];
    PushResult r;
    r.peer = peers_[i].signer;
    r.reached = o.reached;
    r.status = o.status;
    if (!o.reached) {
      r.error = o.error;
    } else if (o.status != 202) {
      r.error = "HTTP " + std::to_string(o.status) + ": " + first_line(o.body);
    }
    if (book_ != nullptr) {
      book_->note_push_result(r.peer, r.reached, r.error, now_s);
    }
    results.push_back(std::move(r));
  }
  return results;
}

chain::Expected<PeerReport, std::string> PeerClient::pull(const PeerSpec& peer, std::uint64_t pid,
                                                          std::uint64_t round) const {
  const std::vector<Outcome> outcomes = run_all(
      {{peer.url,
        http::verb::get,
        "/peer/v1/reports?portfolio=" + std::to_string(pid) + "&round=" + std::to_string(round),
        {}}},
      options_);
  const Outcome& o = outcomes.front();
  if (!o.reached) {
    return chain::unexpected(o.error);
  }
  if (o.status != 200) {
    return chain::unexpected("HTTP " + std::to_string(o.status) + ": " + first_line(o.body));
  }
  auto message = decode_peer_report(o.body, domain_);
  if (!message) {
    return chain::unexpected("the peer's report is refused: " + message.error());
  }
  if (message->signer != peer.signer) {
    return chain::unexpected("the report is signed by " +
                             chain::to_checksum_address(message->signer) + ", not the peer's " +
                             chain::to_checksum_address(peer.signer));
  }
  if (message->report.portfolio_id != pid || message->report.round != round) {
    return chain::unexpected("the peer answered another portfolio or round");
  }
  return message;
}

}  // namespace varkeeper::keeper::network
