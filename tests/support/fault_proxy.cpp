#include "tests/support/fault_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <variant>

#include "chain/hex.hpp"
#include "chain/transaction.hpp"
#include "chain/transport.hpp"
#include "chain/uint256.hpp"
#include "chain/url.hpp"
#include "tests/support/test_support.hpp"

namespace varkeeper::test {

namespace {

// Reads/writes over a plain socket or a TLS session.
struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  long read(char* buf, std::size_t n) {
    if (ssl) return SSL_read(ssl, buf, static_cast<int>(n));
    return ::read(fd, buf, n);
  }
  bool write_all(const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      const long n = ssl ? SSL_write(ssl, s.data() + off, static_cast<int>(s.size() - off))
                         : ::write(fd, s.data() + off, s.size() - off);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }
};

// Reads one HTTP request; returns false on EOF or error.
bool read_request(Conn& c, std::string& pending, std::string& body) {
  while (true) {
    const auto end = pending.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::size_t length = 0;
      std::string headers = pending.substr(0, end);
      for (auto& ch : headers) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (const auto p = headers.find("content-length:"); p != std::string::npos) {
        length = std::stoul(headers.substr(p + 15));
      }
      if (pending.size() >= end + 4 + length) {
        body = pending.substr(end + 4, length);
        pending.erase(0, end + 4 + length);
        return true;
      }
    }
    char buf[8192];
    const long n = c.read(buf, sizeof buf);
    if (n <= 0) return false;
    pending.append(buf, static_cast<std::size_t>(n));
  }
}

std::string http_response(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Error") +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: keep-alive\r\n\r\n" + body;
}

}  // namespace

FaultProxy::FaultProxy(std::string upstream_url, std::optional<TlsFiles> tls)
    : upstream_(std::move(upstream_url)), tls_(std::move(tls)) {
  if (tls_) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(ctx, tls_->cert_pem.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, tls_->key_pem.c_str(), SSL_FILETYPE_PEM) != 1) {
      SSL_CTX_free(ctx);
      throw std::runtime_error("fault proxy: cannot load the test certificate");
    }
    ssl_ctx_ = ctx;
  }
  listen_fd_ = listen_on_loopback(port_, 64, "fault proxy");
  acceptor_ = std::thread([this] { serve(); });
}

FaultProxy::~FaultProxy() {
  stop_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  if (acceptor_.joinable()) acceptor_.join();
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  if (ssl_ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
}

void FaultProxy::serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    workers_.emplace_back([this, fd] { handle(fd); });
  }
}

namespace {

// The answer a fault gives in place of the node's, if it gives one: a provider whose receipt
// backend is down (a JSON-RPC error), a lagging backend (null receipts), another chain's id.
std::optional<std::string> canned_answer(Fault f, const std::string& method,
                                         const nlohmann::json& call) {
  nlohmann::json answer{{"jsonrpc", "2.0"}, {"id", call.value("id", nlohmann::json(nullptr))}};
  if (f == Fault::kFailReceipts) {
    answer["error"] = {{"code", -32603}, {"message", "receipt index unavailable"}};
  } else if (f == Fault::kNullReceipts) {
    answer["result"] = nullptr;
  } else if (f == Fault::kWrongChain && method == "eth_chainId") {
    answer["result"] = "0x1";
  } else if (f == Fault::kNoFinalizedTag && call.contains("params") && call["params"].is_array() &&
             !call["params"].empty() &&
             (call["params"][0] == "finalized" || call["params"][0] == "safe")) {
    answer["error"] = {{"code", -32000}, {"message", "finalized block not found"}};
  } else {
    return std::nullopt;
  }
  return answer.dump();
}

// kGasSurcharge on eth_sendRawTransaction: geth's refusal if the transaction's gas limit is below
// 21,000 + `surcharge` (nullopt: forward it).
std::optional<std::string> intrinsic_gas_refusal(const nlohmann::json& call,
                                                 std::uint64_t surcharge) {
  if (!call.contains("params") || !call["params"].is_array() || call["params"].empty() ||
      !call["params"][0].is_string()) {
    return std::nullopt;
  }
  const auto raw = chain::from_hex(call["params"][0].get<std::string>());
  if (!raw) {
    return std::nullopt;
  }
  const auto stx = chain::decode_transaction(*raw);
  if (!stx) {
    return std::nullopt;
  }
  const std::uint64_t gas = std::visit([](const auto& tx) { return tx.gas_limit; }, stx->tx);
  const std::uint64_t needed = 21'000 + surcharge;
  if (gas >= needed) {
    return std::nullopt;
  }
  nlohmann::json answer{{"jsonrpc", "2.0"}, {"id", call.value("id", nlohmann::json(nullptr))}};
  answer["error"] = {{"code", -32000},
                     {"message", "intrinsic gas too low: gas " + std::to_string(gas) +
                                     ", minimum needed " + std::to_string(needed)}};
  return answer.dump();
}

// kGasSurcharge on eth_estimateGas: the node's estimate plus `surcharge`.
std::string with_gas_surcharge(const std::string& out, std::uint64_t surcharge) {
  auto answer = nlohmann::json::parse(out, nullptr, false);
  if (!answer.is_object() || !answer.contains("result") || !answer["result"].is_string()) {
    return out;
  }
  const auto gas = std::stoull(answer["result"].get<std::string>(), nullptr, 16);
  std::ostringstream hex;
  hex << "0x" << std::hex << gas + surcharge;
  answer["result"] = hex.str();
  return answer.dump();
}

// kTruncatedBatch / kReorderedBatch on a batch answer: the last answer dropped, or the order
// reversed.
std::string with_batch_changed(const std::string& out, Fault f) {
  auto answer = nlohmann::json::parse(out, nullptr, false);
  if (!answer.is_array() || answer.empty()) {
    return out;
  }
  if (f == Fault::kTruncatedBatch) {
    answer.erase(answer.size() - 1);
    return answer.dump();
  }
  auto reversed = nlohmann::json::array();
  for (auto it = answer.rbegin(); it != answer.rend(); ++it) reversed.push_back(*it);
  return reversed.dump();
}

// A block number as a JSON-RPC quantity ("0x1a").
std::string quantity(std::uint64_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string digits;
  do {
    digits.insert(digits.begin(), kDigits[n % 16]);
    n /= 16;
  } while (n != 0);
  return "0x" + digits;
}

// The calls kFrozenHead / kLaggingHead change: the head number and the latest block.
bool asks_for_head(const nlohmann::json& call, const std::string& method) {
  if (method == "eth_blockNumber") return true;
  return method == "eth_getBlockByNumber" && call.contains("params") && call["params"].is_array() &&
         !call["params"].empty() && call["params"][0] == "latest";
}

// The node's answer with every numeric id moved by 1000 (an answer to a call never made).
std::string with_ids_shifted(const std::string& out) {
  auto answer = nlohmann::json::parse(out, nullptr, false);
  const auto bump = [](nlohmann::json& a) {
    if (a.is_object() && a.contains("id") && a["id"].is_number())
      a["id"] = a["id"].get<std::int64_t>() + 1000;
  };
  if (answer.is_array()) {
    for (auto& a : answer) bump(a);
  } else {
    bump(answer);
  }
  return answer.dump();
}

// A Chainlink aggregator read: latestRoundData() or getRoundData(uint80), as kLyingPrice finds it
// in an eth_call; returns the called address (lower case) or "".
std::string aggregator_read(const nlohmann::json& call) {
  if (!call.is_object() || call.value("method", "") != "eth_call" || !call.contains("params") ||
      !call["params"].is_array() || call["params"].empty() || !call["params"][0].is_object()) {
    return {};
  }
  const auto& tx = call["params"][0];
  const std::string data =
      tx.contains("data") && tx["data"].is_string()     ? tx["data"].get<std::string>()
      : tx.contains("input") && tx["input"].is_string() ? tx["input"].get<std::string>()
                                                        : std::string();
  std::string selector = data.substr(0, 10);
  for (auto& ch : selector) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (selector != "0xfeaf968c" && selector != "0x9a6fc8f5") {
    return {};
  }
  std::string to = tx.contains("to") && tx["to"].is_string() ? tx["to"].get<std::string>() : "";
  for (auto& ch : to) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return to;
}

// One aggregator answer (uint80, int256 answer, uint256, uint256, uint80 as 0x-hex) with its
// answer word times num / den (rounded down); a negative or malformed answer stays as it is.
std::optional<std::string> scaled_round_data(const std::string& hex, std::uint64_t num,
                                             std::uint64_t den) {
  constexpr std::size_t kWord = 64;
  if (hex.size() != 2 + 5 * kWord || hex.compare(0, 2, "0x") != 0) {
    return std::nullopt;
  }
  const auto word_bytes = chain::from_hex("0x" + hex.substr(2 + kWord, kWord));
  if (!word_bytes) {
    return std::nullopt;
  }
  const auto answer = chain::u256_from_be(*word_bytes);
  if (!answer || (*answer >> 255) != 0) {  // negative (two's complement): left alone
    return std::nullopt;
  }
  const chain::U256 lied = *answer * chain::U256(num) / chain::U256(den);
  if ((lied >> 255) != 0) {
    return std::nullopt;
  }
  const std::string word = chain::to_hex(chain::u256_to_be32(lied)).substr(2);
  return hex.substr(0, 2 + kWord) + word + hex.substr(2 + 2 * kWord);
}

}  // namespace

void FaultProxy::set_price_scale(std::uint64_t numerator, std::uint64_t denominator) {
  if (denominator == 0) throw std::invalid_argument("fault proxy: price scale denominator 0");
  std::lock_guard lock(script_mu_);
  scale_num_ = numerator;
  scale_den_ = denominator;
}

void FaultProxy::set_lying_feeds(std::vector<std::string> addresses) {
  for (auto& a : addresses) {
    for (auto& ch : a) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  std::lock_guard lock(script_mu_);
  lying_feeds_ = std::move(addresses);
}

// kLyingPrice: the node's answer `out` to `request` (one call or a batch) with every aggregator
// price read scaled; answers are matched to their calls by id.
std::string FaultProxy::lie_about_prices(const std::string& request_body, const std::string& out) {
  const auto request = nlohmann::json::parse(request_body, nullptr, false);
  auto answer = nlohmann::json::parse(out, nullptr, false);
  std::uint64_t num = 0, den = 1;
  std::vector<std::string> feeds;
  {
    std::lock_guard lock(script_mu_);
    num = scale_num_;
    den = scale_den_;
    feeds = lying_feeds_;
  }
  // The ids of the calls that read a price this proxy lies about.
  std::vector<nlohmann::json> ids;
  const auto note = [&](const nlohmann::json& call) {
    const std::string to = aggregator_read(call);
    if (to.empty()) return;
    if (!feeds.empty() && std::find(feeds.begin(), feeds.end(), to) == feeds.end()) return;
    ids.push_back(call.value("id", nlohmann::json(nullptr)));
  };
  if (request.is_array()) {
    for (const auto& call : request) note(call);
  } else {
    note(request);
  }
  if (ids.empty()) return out;
  const auto change = [&](nlohmann::json& a) {
    if (!a.is_object() || !a.contains("result") || !a["result"].is_string()) return;
    if (std::find(ids.begin(), ids.end(), a.value("id", nlohmann::json(nullptr))) == ids.end()) {
      return;
    }
    if (auto lied = scaled_round_data(a["result"].get<std::string>(), num, den)) {
      a["result"] = *lied;
      ++prices_altered_;
    }
  };
  if (answer.is_array()) {
    for (auto& a : answer) change(a);
  } else {
    change(answer);
  }
  return answer.dump();
}

void FaultProxy::handle(int fd) {
  Conn c{fd, nullptr};
  if (ssl_ctx_) {
    c.ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
    SSL_set_fd(c.ssl, fd);
    if (SSL_accept(c.ssl) != 1) {  // e.g. the client refused our certificate
      SSL_free(c.ssl);
      ::close(fd);
      return;
    }
  }
  auto url = chain::parse_url(upstream_);
  auto upstream = chain::make_http_transport(*url);
  std::string pending, body;
  while (!stop_ && read_request(c, pending, body)) {
    ++requests_;
    auto request = nlohmann::json::parse(body, nullptr, false);
    // A batch is matched by its first call's method.
    const auto& first = request.is_array() && !request.empty() ? request[0] : request;
    const std::string method = first.is_object() ? first.value("method", "") : "";
    const Fault f = fault_for(method);
    if (f == Fault::kDrop) break;
    if (f == Fault::kDelay) {
      const auto until =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms_.load());
      while (!stop_ && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      break;
    }
    if (f == Fault::kGarbage) {
      if (!c.write_all(http_response(200, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":"))) break;
      continue;
    }
    if (f == Fault::kHttp500 || f == Fault::kHttp503 || f == Fault::kHttp429) {
      const int status = f == Fault::kHttp500 ? 500 : f == Fault::kHttp503 ? 503 : 429;
      if (!c.write_all(http_response(status, "{\"error\":\"" + std::string(fault_name(f)) + "\"}")))
        break;
      continue;
    }
    if (auto answer = canned_answer(f, method, first)) {
      if (!c.write_all(http_response(200, *answer))) break;
      continue;
    }
    if (f == Fault::kGasSurcharge && method == "eth_sendRawTransaction" && request.is_object()) {
      if (auto refusal = intrinsic_gas_refusal(request, gas_surcharge_.load())) {
        if (!c.write_all(http_response(200, *refusal))) {
          break;
        }
        continue;
      }
    }
    if ((f == Fault::kFrozenHead || f == Fault::kLaggingHead) && request.is_object() &&
        asks_for_head(request, method)) {
      // The upstream head, then the one this node shows in its place.
      const auto head = upstream->post(R"({"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"})");
      const auto parsed = head ? nlohmann::json::parse(*head, nullptr, false) : nlohmann::json();
      if (parsed.is_object() && parsed.contains("result") && parsed["result"].is_string()) {
        const std::uint64_t now = std::stoull(parsed["result"].get<std::string>(), nullptr, 16);
        std::uint64_t shown = 0;
        if (f == Fault::kFrozenHead) {
          std::lock_guard lock(script_mu_);
          shown = frozen_head_.value_or(now);
          frozen_head_ = shown;
        } else {
          shown = now > head_lag_.load() ? now - head_lag_.load() : 0;
        }
        if (method == "eth_blockNumber") {
          const nlohmann::json answer{{"jsonrpc", "2.0"},
                                      {"id", request.value("id", nlohmann::json(nullptr))},
                                      {"result", quantity(shown)}};
          if (!c.write_all(http_response(200, answer.dump()))) break;
          continue;
        }
        // eth_getBlockByNumber("latest", full): the block this node is at.
        request["params"][0] = quantity(shown);
        body = request.dump();
      }
    }
    if (f == Fault::kWrongReceipt && request.is_object()) {
      std::lock_guard lock(script_mu_);
      request["params"] = nlohmann::json::array({receipt_decoy_});
      body = request.dump();
    }
    auto forwarded = upstream->post(body);
    if (!forwarded) {
      if (!c.write_all(http_response(502, "upstream failed"))) break;
      continue;
    }
    std::string out = *forwarded;
    if (f == Fault::kLyingPrice) out = lie_about_prices(body, out);
    if (f == Fault::kWrongId) out = with_ids_shifted(out);
    if (f == Fault::kTruncatedBatch || f == Fault::kReorderedBatch)
      out = with_batch_changed(out, f);
    if (f == Fault::kGasSurcharge && method == "eth_estimateGas") {
      out = with_gas_surcharge(out, gas_surcharge_.load());
    }
    if (!c.write_all(http_response(200, out))) break;
  }
  if (c.ssl) {
    SSL_shutdown(c.ssl);
    SSL_free(c.ssl);
  }
  ::close(fd);
}

std::string_view fault_name(Fault f) noexcept {
  switch (f) {
    case Fault::kNone: return "none";
    case Fault::kDrop: return "drop";
    case Fault::kDelay: return "delay";
    case Fault::kGarbage: return "garbage";
    case Fault::kWrongId: return "wrong_id";
    case Fault::kHttp500: return "http_500";
    case Fault::kWrongChain: return "wrong_chain";
    case Fault::kHttp429: return "http_429";
    case Fault::kHttp503: return "http_503";
    case Fault::kFailReceipts: return "fail_receipts";
    case Fault::kNullReceipts: return "null_receipts";
    case Fault::kWrongReceipt: return "wrong_receipt";
    case Fault::kGasSurcharge: return "gas_surcharge";
    case Fault::kNoFinalizedTag: return "no_finalized_tag";
    case Fault::kTruncatedBatch: return "truncated_batch";
    case Fault::kReorderedBatch: return "reordered_batch";
    case Fault::kFrozenHead: return "frozen_head";
    case Fault::kLaggingHead: return "lagging_head";
    case Fault::kLyingPrice: return "lying_price";
  }
  return "unknown";
}

void FaultProxy::script(std::vector<FaultStep> steps) {
  std::lock_guard lock(script_mu_);
  script_ = std::move(steps);
}

void FaultProxy::set_receipt_decoy(std::string tx_hash) {
  std::lock_guard lock(script_mu_);
  receipt_decoy_ = std::move(tx_hash);
}

std::uint64_t FaultProxy::injected(Fault f) const {
  std::lock_guard lock(script_mu_);
  const auto it = injected_.find(f);
  return it == injected_.end() ? 0 : it->second;
}

Fault FaultProxy::fault_for(const std::string& method) {
  std::lock_guard lock(script_mu_);
  Fault f = fault_.load();
  for (auto& step : script_) {
    if (step.count > 0 && (step.method.empty() || step.method == method)) {
      --step.count;
      f = step.fault;
      break;
    }
  }
  // The receipt faults touch receipt lookups only.
  const bool receipt_fault =
      f == Fault::kFailReceipts || f == Fault::kNullReceipts || f == Fault::kWrongReceipt;
  if (receipt_fault && method != "eth_getTransactionReceipt") {
    f = Fault::kNone;
  }
  // The chain faults touch the calls they change only.
  if ((f == Fault::kGasSurcharge && method != "eth_estimateGas" &&
       method != "eth_sendRawTransaction") ||
      (f == Fault::kNoFinalizedTag && method != "eth_getBlockByNumber") ||
      (f == Fault::kLyingPrice && method != "eth_call")) {
    f = Fault::kNone;
  }
  ++injected_[f];
  return f;
}

TestPki make_test_pki(const std::string& dir, const std::string& host) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  const std::string openssl = "/usr/bin/openssl";
  require_tool(openssl);
  const auto run = [&](std::vector<std::string> argv) {
    auto r = run_process(argv);
    if (r.exit_code != 0) throw std::runtime_error("openssl failed: " + r.err);
  };
  const std::string ca_key = dir + "/ca.key", ca_pem = dir + "/ca.pem";
  const std::string key = dir + "/server.key", csr = dir + "/server.csr", pem = dir + "/server.pem";
  const std::string ext = dir + "/san.ext";
  std::ofstream(ext) << "subjectAltName=DNS:" << host << ",IP:127.0.0.1\n";
  run({openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_pem,
       "-days", "1", "-subj", "/CN=varkeeper test CA"});
  run({openssl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
       "/CN=" + host});
  run({openssl, "x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-CAcreateserial",
       "-out", pem, "-days", "1", "-extfile", ext});
  return {ca_pem, {pem, key}};
}

}  // namespace varkeeper::test
