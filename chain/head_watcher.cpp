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

struct HeadWatcher::Impl {
  asio::io_context ioc;
  std::optional<websocket::stream<beast::tcp_stream>> ws;
};

namespace {
// Runs the io_context in slices until `done` or `deadline`, or `stop` is set.
template <class Done>
bool run_until(asio::io_context& ioc, Done&& done, std::chrono::steady_clock::time_point deadline,
               const std::atomic<bool>& stop) {
  while (!done()) {
    if (stop.load() || std::chrono::steady_clock::now() >= deadline) return false;
    ioc.run_for(std::chrono::milliseconds(50));
    if (ioc.stopped()) ioc.restart();
  }
  return true;
}
}  // namespace

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
  if (thread_.joinable()) thread_.join();
}

HeadWatcherStats HeadWatcher::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

void HeadWatcher::deliver_through(std::uint64_t number) {
  const std::uint64_t from = last_.load() + 1;
  if (number < from) return;
  const std::uint64_t first =
      number - from + 1 > options_.max_backfill ? number - options_.max_backfill + 1 : from;
  for (std::uint64_t n = first; n <= number && !stop_; ++n) {
    auto block = backfill_.get_block(BlockTag::number(n));
    if (!block || !*block) return;  // try again on the next head
    on_head_(**block);
    last_ = n;
    std::lock_guard lock(stats_mu_);
    ++stats_.backfilled;
  }
}

void HeadWatcher::run() {
  auto backoff = options_.backoff_initial;
  bool first = true;
  while (!stop_) {
    if (!first) {
      std::lock_guard lock(stats_mu_);
      ++stats_.reconnects;
    }
    auto& ioc = impl_->ioc;
    ioc.restart();
    impl_->ws.reset();
    impl_->ws.emplace(ioc);
    auto& ws = *impl_->ws;
    beast::error_code ec = asio::error::would_block;
    bool done = false;
    const auto deadline = [&] { return std::chrono::steady_clock::now() + options_.io_timeout; };
    const auto wait = [&] {
      return run_until(
                 ioc, [&] { return done; }, deadline(), stop_) &&
             !ec;
    };
    const auto fail_and_backoff = [&] {
      beast::error_code ignored;
      beast::get_lowest_layer(ws).socket().close(ignored);
      ioc.restart();
      ioc.poll();  // let cancelled handlers run before the stream dies
      const auto until = std::chrono::steady_clock::now() + backoff;
      while (!stop_ && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      backoff = std::min(backoff * 2, options_.backoff_max);
      first = false;
    };

    // Connect, handshake, subscribe.
    tcp::resolver resolver(ioc);
    const auto endpoints = resolver.resolve(url_.host, std::to_string(url_.port), ec);
    if (ec) {
      fail_and_backoff();
      continue;
    }
    done = false;
    beast::get_lowest_layer(ws).expires_after(options_.io_timeout);
    beast::get_lowest_layer(ws).async_connect(endpoints, [&](beast::error_code e, auto&&) {
      ec = e;
      done = true;
    });
    if (!wait()) {
      fail_and_backoff();
      continue;
    }
    beast::get_lowest_layer(ws).expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = options_.io_timeout;
    timeouts.idle_timeout = options_.idle_ping;  // ping at half, close if no pong
    timeouts.keep_alive_pings = true;
    ws.set_option(timeouts);
    ws.read_message_max(16u << 20);
    done = false;
    ws.async_handshake(url_.host, url_.target, [&](beast::error_code e) {
      ec = e;
      done = true;
    });
    if (!wait()) {
      fail_and_backoff();
      continue;
    }
    const std::string subscribe =
        R"({"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]})";
    done = false;
    ws.async_write(asio::buffer(subscribe), [&](beast::error_code e, std::size_t) {
      ec = e;
      done = true;
    });
    if (!wait()) {
      fail_and_backoff();
      continue;
    }
    beast::flat_buffer buffer;
    done = false;
    ws.async_read(buffer, [&](beast::error_code e, std::size_t) {
      ec = e;
      done = true;
    });
    if (!wait()) {
      fail_and_backoff();
      continue;
    }
    const Json ack = Json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
    if (!ack.is_object() || !ack.contains("result") || !ack["result"].is_string()) {
      fail_and_backoff();
      continue;
    }
    const std::string subscription = ack["result"].get<std::string>();
    {
      std::lock_guard lock(stats_mu_);
      ++stats_.connects;
    }
    backoff = options_.backoff_initial;
    first = false;

    // Backfill what was missed while (re)connecting.
    if (auto head = backfill_.block_number()) deliver_through(*head);

    // Read heads until the connection dies or the watchdog fires.
    while (!stop_) {
      buffer.clear();
      done = false;
      ec = asio::error::would_block;
      ws.async_read(buffer, [&](beast::error_code e, std::size_t) {
        ec = e;
        done = true;
      });
      const bool got = run_until(
          ioc, [&] { return done; }, std::chrono::steady_clock::now() + options_.no_heads_timeout,
          stop_);
      if (!got) {
        if (!stop_) {
          std::lock_guard lock(stats_mu_);
          ++stats_.watchdog_trips;
        }
        break;
      }
      if (ec) break;
      const Json note = Json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
      if (!note.is_object() || note.value("method", "") != "eth_subscription") continue;
      const auto& params = note["params"];
      if (!params.is_object() || params.value("subscription", "") != subscription) continue;
      auto header = decode_block_header(params["result"]);
      if (!header) continue;
      {
        std::lock_guard lock(stats_mu_);
        ++stats_.notified;
      }
      if (header->number <= last_.load()) continue;  // already delivered (or backfilled)
      if (header->number > last_.load() + 1) deliver_through(header->number - 1);
      if (header->number == last_.load() + 1) {
        on_head_(*header);
        last_ = header->number;
      }
    }
    fail_and_backoff();
  }
  beast::error_code ignored;
  if (impl_->ws) beast::get_lowest_layer(*impl_->ws).socket().close(ignored);
}

}  // namespace varkeeper::chain
