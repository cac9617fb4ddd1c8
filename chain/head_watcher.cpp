// WebSocket head subscription on Boost.Beast. Beast and Asio stay inside this file.
#include "chain/head_watcher.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <optional>

namespace varkeeper::chain {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
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
  std::optional<websocket::stream<beast::tcp_stream>> ws;
  beast::flat_buffer buffer;
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
      options_(options),
      impl_(std::make_unique<Impl>()) {}

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
    on_head_(**block);
    last_ = n;
    std::lock_guard lock(stats_mu_);
    ++stats_.backfilled;
  }
}

// Connects, keeps the connection until it dies, backs off, reconnects: until stop().
void HeadWatcher::run() {
  auto backoff = options_.backoff_initial;
  bool first = true;
  while (!stop_) {
    if (!first) {
      std::lock_guard lock(stats_mu_);
      ++stats_.reconnects;
    }
    first = false;
    impl_->ioc.restart();
    impl_->ws.reset();
    impl_->ws.emplace(impl_->ioc);
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
  if (impl_->ws) {
    beast::get_lowest_layer(*impl_->ws).socket().close(ignored);
  }
}

// Connect, handshake, subscribe: the subscription id, or nothing if a step failed or timed out.
std::optional<std::string> HeadWatcher::connect_and_subscribe() {
  auto& im = *impl_;
  auto& ws = *im.ws;
  tcp::resolver resolver(im.ioc);
  const auto endpoints = resolver.resolve(url_.host, std::to_string(url_.port), im.ec);
  if (im.ec) {
    return std::nullopt;
  }
  beast::get_lowest_layer(ws).expires_after(options_.io_timeout);
  beast::get_lowest_layer(ws).async_connect(endpoints, im.handler());
  if (!im.await(options_.io_timeout, stop_)) {
    return std::nullopt;
  }
  beast::get_lowest_layer(ws).expires_never();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = options_.io_timeout;
  timeouts.idle_timeout = options_.idle_ping;  // ping at half, close if no pong
  timeouts.keep_alive_pings = true;
  ws.set_option(timeouts);
  ws.read_message_max(16u << 20);
  ws.async_handshake(url_.host, url_.target, im.handler());
  if (!im.await(options_.io_timeout, stop_)) {
    return std::nullopt;
  }
  const std::string subscribe =
      R"({"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]})";
  ws.async_write(asio::buffer(subscribe), im.handler());
  if (!im.await(options_.io_timeout, stop_)) {
    return std::nullopt;
  }
  im.buffer.clear();
  ws.async_read(im.buffer, im.handler());
  if (!im.await(options_.io_timeout, stop_)) {
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
    im.ws->async_read(im.buffer, im.handler());
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
    return;  // already delivered (or backfilled)
  }
  if (header->number > last_.load() + 1) {
    deliver_through(header->number - 1);
  }
  if (header->number == last_.load() + 1) {
    on_head_(*header);
    last_ = header->number;
  }
}

// Closes the socket, lets cancelled handlers run before the stream dies, then waits `backoff`
// (doubled for next time, up to backoff_max) unless stop() is called.
void HeadWatcher::close_and_back_off(std::chrono::milliseconds& backoff) {
  auto& im = *impl_;
  beast::error_code ignored;
  beast::get_lowest_layer(*im.ws).socket().close(ignored);
  im.ioc.restart();
  im.ioc.poll();
  const auto until = std::chrono::steady_clock::now() + backoff;
  while (!stop_ && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  backoff = std::min(backoff * 2, options_.backoff_max);
}

}  // namespace varkeeper::chain
