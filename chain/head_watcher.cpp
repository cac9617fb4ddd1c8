// WebSocket head subscription on Boost.Beast. Beast and Asio stay inside this file.
#include "chain/head_watcher.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <optional>

namespace varkeeper::chain {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {
// Runs the io_context in slices until `done` or `deadline`, or `stop` is set.
template <class Done>
bool run_until(asio::io_context& ioc, Done&& done, std::chrono::steady_clock::time_point deadline,
               const std::atomic<bool>& stop) {
  while (!done()) {
    if (stop.load() || std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    ioc.run_for(std::chrono::milliseconds(50));
    if (ioc.stopped()) {
      ioc.restart();
    }
  }
  return true;
}
}  // namespace

struct HeadWatcher::Impl {
  asio::io_context ioc;
  ssl::context ssl_ctx{ssl::context::tls_client};
  std::string ca_error;  // the CA file could not be loaded: every wss:// connect fails with it
  // ws:// or wss:// (TLS with peer verification and SNI, issue 15, defect 11): one of the two.
  std::optional<websocket::stream<beast::tcp_stream>> ws;
  std::optional<websocket::stream<beast::ssl_stream<beast::tcp_stream>>> wss;
  beast::flat_buffer buffer;

  // Runs `f` on whichever WebSocket stream this connection has.
  template <class F>
  void with_ws(F&& f) {
    if (wss) {
      f(*wss);
    } else {
      f(*ws);
    }
  }
  beast::tcp_stream& lowest() {
    return wss ? beast::get_lowest_layer(*wss) : beast::get_lowest_layer(*ws);
  }
  void reset(bool tls) {
    ws.reset();
    wss.reset();
    if (tls) {
      wss.emplace(ioc, ssl_ctx);
    } else {
      ws.emplace(ioc);
    }
  }
  // The outcome of the pending asynchronous operation. Members, not locals: a handler cancelled
  // by a timeout still runs (and writes them) when the connection is torn down.
  beast::error_code ec;
  bool done = false;

  // A completion handler for any Beast/Asio operation of this connection.
  auto handler() {
    ec = asio::error::would_block;
    done = false;
    return [this](beast::error_code e, auto&&...) {
      ec = e;
      done = true;
    };
  }
  // Runs the pending operation until it completes (true: without error), `timeout` passes or
  // `stop` is set.
  bool await(std::chrono::milliseconds timeout, const std::atomic<bool>& stop) {
    return run_until(
               ioc, [this] { return done; }, std::chrono::steady_clock::now() + timeout, stop) &&
           !ec;
  }
};

HeadWatcher::HeadWatcher(Url ws_url, EthClient& backfill, OnHead on_head,
                         HeadWatcherOptions options)
    : url_(std::move(ws_url)),
      backfill_(backfill),
      on_head_(std::move(on_head)),
      options_(std::move(options)),
      impl_(std::make_unique<Impl>()) {
  if (url_.tls()) {
    impl_->ssl_ctx.set_default_verify_paths();
    if (!options_.ca_file.empty()) {
      beast::error_code ec;
      impl_->ssl_ctx.load_verify_file(options_.ca_file, ec);
      if (ec) {
        impl_->ca_error = "cannot load CA file " + options_.ca_file + ": " + ec.message();
      }
    }
    impl_->ssl_ctx.set_verify_mode(ssl::verify_peer);
  }
}

HeadWatcher::~HeadWatcher() { stop(); }

void HeadWatcher::start(std::uint64_t last_processed) {
  last_ = last_processed;
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void HeadWatcher::stop() {
  stop_ = true;
  if (thread_.joinable()) {
    thread_.join();
  }
}

HeadWatcherStats HeadWatcher::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

void HeadWatcher::deliver_through(std::uint64_t number) {
  const std::uint64_t from = last_.load() + 1;
  if (number < from) {
    return;
  }
  const std::uint64_t first =
      number - from + 1 > options_.max_backfill ? number - options_.max_backfill + 1 : from;
  for (std::uint64_t n = first; n <= number && !stop_; ++n) {
    auto block = backfill_.get_block(BlockTag::number(n));
    if (!block || !*block) {
      return;  // try again on the next head
    }
    deliver(**block);
    std::lock_guard lock(stats_mu_);
    ++stats_.backfilled;
  }
}

// A head whose parent is not the block delivered below it: the chain reorged without a
// notification for the new blocks. They are fetched (down to the common ancestor, 64 at most) and
// delivered again, oldest first.
void HeadWatcher::redeliver_replaced(const BlockHeader& next) {
  std::vector<BlockHeader> replaced;
  Hash32 parent = next.parent_hash;
  for (std::uint64_t n = next.number - 1; n > 0 && replaced.size() < 64; --n) {
    const auto it = delivered_.find(n);
    if (it == delivered_.end() || it->second == parent) {
      break;
    }
    auto block = backfill_.get_block(BlockTag::number(n));
    if (!block || !*block) {
      break;
    }
    parent = (*block)->parent_hash;
    replaced.push_back(std::move(**block));
  }
  for (auto it = replaced.rbegin(); it != replaced.rend(); ++it) {
    {
      std::lock_guard lock(stats_mu_);
      ++stats_.reorgs;
    }
    deliver(*it);
  }
}

void HeadWatcher::deliver(const BlockHeader& header) {
  constexpr std::size_t kRemembered = 256;
  on_head_(header);
  last_ = header.number;
  // A reorg forgets the heads above the new one.
  delivered_.erase(delivered_.upper_bound(header.number), delivered_.end());
  delivered_[header.number] = header.hash;
  while (delivered_.size() > kRemembered) {
    delivered_.erase(delivered_.begin());
  }
}

// Connects, keeps the connection until it dies, backs off, reconnects: until stop().
void HeadWatcher::run() {
  // stop() also cuts a backfill request in progress short (chain/transport.hpp).
  const IoBudget budget(nullptr, &stop_);
  const IoBudgetScope budget_scope(budget);
  auto backoff = options_.backoff_initial;
  bool first = true;
  while (!stop_) {
    if (!first) {
      std::lock_guard lock(stats_mu_);
      ++stats_.reconnects;
    }
    first = false;
    impl_->ioc.restart();
    impl_->reset(url_.tls());
    if (const auto subscription = connect_and_subscribe()) {
      {
        std::lock_guard lock(stats_mu_);
        ++stats_.connects;
      }
      backoff = options_.backoff_initial;
      // Backfill what was missed while (re)connecting.
      if (auto head = backfill_.block_number()) {
        deliver_through(*head);
      }
      read_heads(*subscription);
    }
    close_and_back_off(backoff);
  }
  beast::error_code ignored;
  if (impl_->ws || impl_->wss) {
    impl_->lowest().socket().close(ignored);
  }
}

// Connect, handshake, subscribe: the subscription id, or nothing if a step failed or timed out.
std::optional<std::string> HeadWatcher::connect_and_subscribe() {
  auto& im = *impl_;
  if (!im.ca_error.empty()) {
    return std::nullopt;
  }
  tcp::resolver resolver(im.ioc);
  const auto endpoints = resolver.resolve(url_.host, std::to_string(url_.port), im.ec);
  if (im.ec) {
    return std::nullopt;
  }
  im.lowest().expires_after(options_.io_timeout);
  im.lowest().async_connect(endpoints, im.handler());
  if (!im.await(options_.io_timeout, stop_)) {
    return std::nullopt;
  }
  if (im.wss) {
    // SNI, and the certificate checked against the host we asked for.
    auto& tls = im.wss->next_layer();
    if (!SSL_set_tlsext_host_name(tls.native_handle(), url_.host.c_str())) {
      return std::nullopt;
    }
    tls.set_verify_callback(ssl::host_name_verification(url_.host));
    im.lowest().expires_after(options_.io_timeout);
    tls.async_handshake(ssl::stream_base::client, im.handler());
    if (!im.await(options_.io_timeout, stop_)) {
      return std::nullopt;
    }
  }
  im.lowest().expires_never();
  bool ok = true;
  im.with_ws([&](auto& ws) {
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = options_.io_timeout;
    timeouts.idle_timeout = options_.idle_ping;  // ping at half, close if no pong
    timeouts.keep_alive_pings = true;
    ws.set_option(timeouts);
    ws.read_message_max(16u << 20);
    ws.async_handshake(url_.host, url_.target, im.handler());
    if (!im.await(options_.io_timeout, stop_)) {
      ok = false;
      return;
    }
    static const std::string subscribe =
        R"({"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]})";
    ws.async_write(asio::buffer(subscribe), im.handler());
    if (!im.await(options_.io_timeout, stop_)) {
      ok = false;
      return;
    }
    im.buffer.clear();
    ws.async_read(im.buffer, im.handler());
    ok = im.await(options_.io_timeout, stop_);
  });
  if (!ok) {
    return std::nullopt;
  }
  const Json ack = Json::parse(beast::buffers_to_string(im.buffer.data()), nullptr, false);
  if (!ack.is_object() || !ack.contains("result") || !ack["result"].is_string()) {
    return std::nullopt;
  }
  return ack["result"].get<std::string>();
}

// Reads heads until the connection dies, the no-heads watchdog fires or stop() is called.
void HeadWatcher::read_heads(const std::string& subscription) {
  auto& im = *impl_;
  while (!stop_) {
    im.buffer.clear();
    im.with_ws([&](auto& ws) { ws.async_read(im.buffer, im.handler()); });
    const bool got = run_until(
        im.ioc, [&] { return im.done; },
        std::chrono::steady_clock::now() + options_.no_heads_timeout, stop_);
    if (!got) {
      if (!stop_) {
        std::lock_guard lock(stats_mu_);
        ++stats_.watchdog_trips;
      }
      return;
    }
    if (im.ec) {
      return;
    }
    on_message(beast::buffers_to_string(im.buffer.data()), subscription);
  }
}

// One message on the connection: a head of our subscription is delivered in order, after any gap
// before it is backfilled; anything else (other messages, bad JSON, old heads) is ignored.
void HeadWatcher::on_message(const std::string& text, const std::string& subscription) {
  const Json note = Json::parse(text, nullptr, false);
  if (!note.is_object() || note.value("method", "") != "eth_subscription") {
    return;
  }
  const auto& params = note["params"];
  if (!params.is_object() || params.value("subscription", "") != subscription) {
    return;
  }
  auto header = decode_block_header(params["result"]);
  if (!header) {
    return;
  }
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.notified;
  }
  if (header->number <= last_.load()) {
    // Already delivered (or backfilled): again only if it is another block at that height, a
    // reorg (issue 15, defect 11); a height never delivered (before start) stays ignored.
    const auto it = delivered_.find(header->number);
    if (it == delivered_.end() || it->second == header->hash) {
      return;
    }
    {
      std::lock_guard lock(stats_mu_);
      ++stats_.reorgs;
    }
    deliver(*header);
    return;
  }
  if (header->number > last_.load() + 1) {
    deliver_through(header->number - 1);
  }
  if (header->number == last_.load() + 1) {
    redeliver_replaced(*header);
    deliver(*header);
  }
}

// Closes the socket, lets cancelled handlers run before the stream dies, then waits `backoff`
// (doubled for next time, up to backoff_max) unless stop() is called.
void HeadWatcher::close_and_back_off(std::chrono::milliseconds& backoff) {
  auto& im = *impl_;
  beast::error_code ignored;
  im.lowest().socket().close(ignored);
  im.ioc.restart();
  im.ioc.poll();
  const auto until = std::chrono::steady_clock::now() + backoff;
  while (!stop_ && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  backoff = std::min(backoff * 2, options_.backoff_max);
}

}  // namespace varkeeper::chain
