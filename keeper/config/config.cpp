#include "keeper/config/config.hpp"

#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include "chain/keystore.hpp"
#include "chain/secp256k1.hpp"
#include "chain/tx_manager.hpp"
#include "keeper/keys/keystore_file.hpp"
#include "keeper/keys/password.hpp"
#include "keeper/io/price_csv.hpp"
#include "keeper/core/methodology.hpp"

namespace varkeeper::keeper {
namespace {

namespace fs = std::filesystem;

// Config files are a few KiB; anything this large is a mistake (a database or a log named by
// error).
constexpr std::uintmax_t kMaxConfigSize = 4 * 1024 * 1024;

std::string format_number(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", x);
  return buf;
}

// "a string (\"abc\")", "an integer (12)", ... for "must be X, got Y" messages.
std::string describe(const toml::node& node) {
  if (const auto* s = node.as_string()) {
    std::string text = s->get();
    if (text.size() > 40) text = text.substr(0, 37) + "...";
    return "a string (\"" + text + "\")";
  }
  if (const auto* i = node.as_integer()) return "an integer (" + std::to_string(i->get()) + ")";
  if (const auto* f = node.as_floating_point()) return "a float (" + format_number(f->get()) + ")";
  if (const auto* b = node.as_boolean())
    return std::string("a boolean (") + (b->get() ? "true" : "false") + ")";
  if (node.is_table()) return "a table";
  if (node.is_array()) return "an array";
  return "a date or time";
}

// Optimal string alignment distance (Levenshtein plus adjacent transpositions), for "did you mean".
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::optional<std::string_view> closest(std::string_view word,
                                        std::initializer_list<std::string_view> candidates) {
  std::optional<std::string_view> best;
  std::size_t best_distance = std::max<std::size_t>(1, word.size() / 3) + 1;
  for (auto c : candidates) {
    const std::size_t dist = edit_distance(word, c);
    if (dist < best_distance) {
      best_distance = dist;
      best = c;
    }
  }
  return best;
}

std::string join_key(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

// Reads one file's tables; every failure is one sentence "FILE: KEY: what".
class Context {
 public:
  Context(std::string file, fs::path base_dir)
      : file_(std::move(file)), base_dir_(std::move(base_dir)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw ConfigError(file_ + ": " + printable(key + ": " + what));
  }
  [[noreturn]] void fail_sentence(const std::string& sentence) const {
    throw ConfigError(file_ + ": " + printable(sentence));
  }

  // Keys and values from the file are echoed in messages; TOML allows control characters in
  // quoted keys and strings, so escape them to keep every message on one line.
  static std::string printable(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
      const auto u = static_cast<unsigned char>(ch);
      if (u < 0x20 || u == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", u);
        out += buf;
      } else {
        out += ch;
      }
    }
    return out;
  }

  [[nodiscard]] fs::path resolve(const std::string& text) const {
    const fs::path p(text);
    if (p.is_absolute()) return p.lexically_normal();
    return (base_dir_ / p).lexically_normal();
  }

  // The file must exist, be a regular file and be readable by this process.
  void require_readable_file(const std::string& key, const fs::path& path,
                             std::string_view what) const {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status))
      fail(key, std::string(what) + " " + path.string() + " does not exist");
    if (!fs::is_regular_file(status)) {
      fail(key, std::string(what) + " " + path.string() + " is not a regular file");
    }
    if (::access(path.c_str(), R_OK) != 0) {
      fail(key, std::string(what) + " " + path.string() + " is not readable");
    }
  }

  [[nodiscard]] const std::string& file() const noexcept { return file_; }

 private:
  std::string file_;
  fs::path base_dir_;
};

// A TOML table with the keys it may hold; typed getters produce the one-sentence errors.
class Table {
 public:
  Table(const Context& ctx, const toml::table& table, std::string path,
        std::initializer_list<std::string_view> allowed)
      : ctx_(ctx), table_(table), path_(std::move(path)) {
    for (auto&& [key, node] : table_) {
      const std::string_view k = key.str();
      if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
      std::string sentence = "unknown key '" + std::string(k) + "' " +
                             (path_.empty() ? std::string("at the top level") : "in " + path_);
      if (auto guess = closest(k, allowed))
        sentence += " (did you mean '" + std::string(*guess) + "'?)";
      ctx_.fail_sentence(sentence);
    }
  }

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] std::string key(std::string_view k) const { return join_key(path_, k); }
  [[nodiscard]] const toml::node* get(std::string_view k) const { return table_.get(k); }
  [[nodiscard]] bool has(std::string_view k) const { return table_.get(k) != nullptr; }
  [[nodiscard]] const Context& ctx() const noexcept { return ctx_; }
  [[noreturn]] void fail(std::string_view k, const std::string& what) const {
    ctx_.fail(key(k), what);
  }

  void require(std::string_view k) const {
    if (!has(k)) fail(k, "is required");
  }

  [[nodiscard]] std::optional<std::string> opt_string(std::string_view k) const {
    const auto* node = get(k);
    if (node == nullptr) return std::nullopt;
    const auto* s = node->as_string();
    if (s == nullptr) fail(k, "must be a string, got " + describe(*node));
    return s->get();
  }
  [[nodiscard]] std::string string(std::string_view k) const {
    require(k);
    return *opt_string(k);
  }

  [[nodiscard]] std::optional<bool> opt_bool(std::string_view k) const {
    const auto* node = get(k);
    if (node == nullptr) return std::nullopt;
    const auto* b = node->as_boolean();
    if (b == nullptr) fail(k, "must be true or false, got " + describe(*node));
    return b->get();
  }
  [[nodiscard]] bool boolean(std::string_view k, bool fallback) const {
    return opt_bool(k).value_or(fallback);
  }

  [[nodiscard]] std::optional<std::int64_t> opt_int(std::string_view k) const {
    const auto* node = get(k);
    if (node == nullptr) return std::nullopt;
    const auto* i = node->as_integer();
    if (i == nullptr) fail(k, "must be an integer, got " + describe(*node));
    return i->get();
  }
  // An integer in [lo, hi].
  [[nodiscard]] std::optional<std::int64_t> opt_int_in(std::string_view k, std::int64_t lo,
                                                       std::int64_t hi) const {
    auto v = opt_int(k);
    if (v && (*v < lo || *v > hi)) {
      if (hi == std::numeric_limits<std::int64_t>::max()) {
        fail(k, "must be >= " + std::to_string(lo) + ", got " + std::to_string(*v));
      }
      fail(k, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                  std::to_string(*v));
    }
    return v;
  }
  [[nodiscard]] std::uint64_t uint(
      std::string_view k, std::uint64_t fallback, std::int64_t lo = 0,
      std::int64_t hi = std::numeric_limits<std::int64_t>::max()) const {
    auto v = opt_int_in(k, lo, hi);
    return v ? static_cast<std::uint64_t>(*v) : fallback;
  }
  [[nodiscard]] std::int64_t int64(std::string_view k, std::int64_t fallback) const {
    return opt_int(k).value_or(fallback);
  }

  // A number (TOML integer or float); NaN and infinities are refused.
  [[nodiscard]] std::optional<double> opt_number(std::string_view k) const {
    const auto* node = get(k);
    if (node == nullptr) return std::nullopt;
    double v = 0.0;
    if (const auto* i = node->as_integer()) {
      v = static_cast<double>(i->get());
    } else if (const auto* f = node->as_floating_point()) {
      v = f->get();
    } else {
      fail(k, "must be a number, got " + describe(*node));
    }
    if (!std::isfinite(v)) fail(k, "must be a finite number, got " + format_number(v));
    return v;
  }
  [[nodiscard]] double number(std::string_view k, double fallback) const {
    return opt_number(k).value_or(fallback);
  }

  enum class Bound { kOpen, kClosed, kNone };
  // A number within the interval described by the bounds, e.g. (0, 1) or [1, +inf).
  [[nodiscard]] std::optional<double> opt_number_in(std::string_view k, double lo, Bound lo_bound,
                                                    double hi, Bound hi_bound) const {
    auto v = opt_number(k);
    if (!v) return v;
    const bool lo_ok = lo_bound == Bound::kNone || (lo_bound == Bound::kOpen ? *v > lo : *v >= lo);
    const bool hi_ok = hi_bound == Bound::kNone || (hi_bound == Bound::kOpen ? *v < hi : *v <= hi);
    if (lo_ok && hi_ok) return v;
    std::string range;
    if (hi_bound == Bound::kNone) {
      range = std::string(lo_bound == Bound::kOpen ? "> " : ">= ") + format_number(lo);
    } else if (lo_bound == Bound::kNone) {
      range = std::string(hi_bound == Bound::kOpen ? "< " : "<= ") + format_number(hi);
    } else {
      range = std::string("in ") + (lo_bound == Bound::kOpen ? "(" : "[") + format_number(lo) +
              ", " + format_number(hi) + (hi_bound == Bound::kOpen ? ")" : "]");
    }
    fail(k, "must be " + range + ", got " + format_number(*v));
  }
  [[nodiscard]] double number_in(std::string_view k, double fallback, double lo, Bound lo_bound,
                                 double hi, Bound hi_bound) const {
    return opt_number_in(k, lo, lo_bound, hi, hi_bound).value_or(fallback);
  }

  [[nodiscard]] const toml::table* opt_table(std::string_view k) const {
    const auto* node = get(k);
    if (node == nullptr) return nullptr;
    const auto* t = node->as_table();
    if (t == nullptr) fail(k, "must be a table, got " + describe(*node));
    return t;
  }

  [[nodiscard]] const toml::array* opt_array(std::string_view k) const {
    const auto* node = get(k);
    if (node == nullptr) return nullptr;
    const auto* a = node->as_array();
    if (a == nullptr) fail(k, "must be an array, got " + describe(*node));
    return a;
  }

  // [[k]] or k = [{...}, ...]: each element must be a table.
  [[nodiscard]] std::vector<std::pair<std::string, const toml::table*>> tables(
      std::string_view k) const {
    std::vector<std::pair<std::string, const toml::table*>> out;
    const auto* a = opt_array(k);
    if (a == nullptr) return out;
    for (std::size_t i = 0; i < a->size(); ++i) {
      const std::string element = key(k) + "[" + std::to_string(i) + "]";
      const auto* t = (*a)[i].as_table();
      if (t == nullptr) ctx_.fail(element, "must be a table, got " + describe((*a)[i]));
      out.emplace_back(element, t);
    }
    return out;
  }

  [[nodiscard]] std::optional<chain::Address> opt_address(std::string_view k) const {
    auto text = opt_string(k);
    if (!text) return std::nullopt;
    auto address = chain::parse_address(*text);
    if (!address) {
      fail(k, "'" + *text + "' is not a valid address (" +
                  std::string(chain::to_string(address.error())) + ")");
    }
    return *address;
  }

  [[nodiscard]] std::optional<fs::path> opt_readable_path(std::string_view k,
                                                          std::string_view what) const {
    auto text = opt_string(k);
    if (!text) return std::nullopt;
    if (text->empty()) fail(k, "must not be empty");
    const fs::path p = ctx_.resolve(*text);
    ctx_.require_readable_file(key(k), p, what);
    return p;
  }

 private:
  const Context& ctx_;
  const toml::table& table_;
  std::string path_;
};

using Bound = Table::Bound;

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  // An IPv4 literal in 127.0.0.0/8.
  int a = 0, b = 0, c = 0, d = 0;
  char tail = 0;
  if (std::sscanf(host.c_str(), "%d.%d.%d.%d%c", &a, &b, &c, &d, &tail) == 4) {
    return a == 127 && b >= 0 && b <= 255 && c >= 0 && c <= 255 && d >= 0 && d <= 255;
  }
  return false;
}

void read_keeper(const Table& top, Config& config) {
  const auto* t = top.opt_table("keeper");
  if (t == nullptr) return;
  const Table k(
      top.ctx(), *t, "keeper",
      {"tick_interval_s", "store", "metrics_address", "metrics_public", "log_format", "log_level"});
  auto& s = config.keeper;
  s.tick_interval_s = k.uint("tick_interval_s", s.tick_interval_s, 1, 86'400);
  if (auto store = k.opt_string("store")) {
    if (store->empty()) k.fail("store", "must not be empty");
    s.store = k.ctx().resolve(*store);
  } else {
    s.store = k.ctx().resolve(s.store.string());
  }
  s.metrics_public = k.boolean("metrics_public", false);
  if (auto address = k.opt_string("metrics_address")) {
    // host:port, or [v6]:port.
    std::string host;
    std::string port_text;
    if (!address->empty() && address->front() == '[') {
      const auto close = address->find(']');
      if (close == std::string::npos || close + 1 >= address->size() ||
          (*address)[close + 1] != ':') {
        k.fail("metrics_address", "'" + *address + "' is not host:port");
      }
      host = address->substr(1, close - 1);
      port_text = address->substr(close + 2);
    } else {
      const auto colon = address->rfind(':');
      if (colon == std::string::npos || colon == 0 || address->find(':') != colon) {
        k.fail("metrics_address", "'" + *address + "' is not host:port");
      }
      host = address->substr(0, colon);
      port_text = address->substr(colon + 1);
    }
    const bool digits = !port_text.empty() && port_text.size() <= 5 &&
                        std::all_of(port_text.begin(), port_text.end(),
                                    [](unsigned char ch) { return std::isdigit(ch) != 0; });
    const long port = digits ? std::stol(port_text) : 0;
    if (!digits || port < 1 || port > 65535) {
      k.fail("metrics_address", "'" + *address + "' has no valid port (1-65535)");
    }
    s.metrics_host = host;
    s.metrics_port = static_cast<std::uint16_t>(port);
  }
  if (!is_loopback_host(s.metrics_host) && !s.metrics_public) {
    k.fail("metrics_address", s.metrics_host +
                                  " is not a loopback address; set keeper.metrics_public = true "
                                  "to serve metrics beyond this machine");
  }
  if (auto format = k.opt_string("log_format")) {
    if (*format == "text") {
      s.log_format = LogFormat::kText;
    } else if (*format == "json") {
      s.log_format = LogFormat::kJson;
    } else {
      k.fail("log_format", "must be \"text\" or \"json\", got \"" + *format + "\"");
    }
  }
  if (auto level = k.opt_string("log_level")) {
    static const std::set<std::string> kLevels{"trace", "debug",    "info", "warn",
                                               "error", "critical", "off"};
    if (kLevels.count(*level) == 0) {
      k.fail("log_level", "must be one of trace, debug, info, warn, error, critical, off, got \"" +
                              *level + "\"");
    }
    s.log_level = *level;
  }
}

// The URL text is never echoed: its path or query may carry an API key.
chain::Url read_url(const Table& t, const std::string& key, const std::string& text,
                    bool websocket) {
  auto url = chain::parse_url(text);
  if (!url) {
    t.ctx().fail(key, "not a valid URL (" + std::string(chain::to_string(url.error())) + ")");
  }
  const bool ws = url->scheme == chain::UrlScheme::kWs || url->scheme == chain::UrlScheme::kWss;
  if (ws != websocket) {
    t.ctx().fail(key, std::string("must be a") +
                          (websocket ? " ws:// or wss://" : "n http:// or https://") + " URL");
  }
  return *url;
}

void read_chain(const Table& top, Config& config) {
  top.require("chain");
  const auto* t = top.opt_table("chain");
  const Table c(top.ctx(), *t, "chain",
                {"chain_id", "anvil", "anvil_block_time_s", "rpc", "ws", "ca_file",
                 "request_timeout_ms", "confirmations", "agree_reads", "fees"});
  auto& s = config.chain;
  s.anvil = c.boolean("anvil", false);
  if (!s.anvil) c.require("chain_id");
  s.chain_id = c.uint("chain_id", kAnvilChainId, 1);
  s.anvil_block_time_s = c.uint("anvil_block_time_s", s.anvil_block_time_s, 0, 3600);
  if (s.anvil) {
    if (s.chain_id != kAnvilChainId) {
      c.fail("chain_id",
             "must be 31337 with chain.anvil = true, got " + std::to_string(s.chain_id));
    }
    if (c.has("rpc"))
      c.fail("rpc", "must be left out with chain.anvil = true (varkeeper starts the node)");
    if (c.has("ws"))
      c.fail("ws", "must be left out with chain.anvil = true (varkeeper starts the node)");
  } else {
    if (c.has("anvil_block_time_s")) c.fail("anvil_block_time_s", "needs chain.anvil = true");
    c.require("rpc");
    const auto* rpc = c.opt_array("rpc");
    if (rpc->empty()) c.fail("rpc", "must list at least one endpoint");
    for (std::size_t i = 0; i < rpc->size(); ++i) {
      const std::string key = c.key("rpc") + "[" + std::to_string(i) + "]";
      const auto* text = (*rpc)[i].as_string();
      if (text == nullptr) top.ctx().fail(key, "must be a string, got " + describe((*rpc)[i]));
      chain::Url url = read_url(c, key, text->get(), false);
      for (std::size_t j = 0; j < s.rpc.size(); ++j) {
        if (s.rpc[j].to_string() == url.to_string()) {
          top.ctx().fail(key, "repeats chain.rpc[" + std::to_string(j) + "]");
        }
      }
      s.rpc.push_back(std::move(url));
    }
    if (auto ws = c.opt_string("ws")) s.ws = read_url(c, c.key("ws"), *ws, true);
  }
  s.ca_file = c.opt_readable_path("ca_file", "CA file");
  s.request_timeout_ms = c.uint("request_timeout_ms", s.request_timeout_ms, 1, 600'000);
  s.confirmations = c.uint("confirmations", s.confirmations, 1, 10'000);
  s.agree_reads = c.boolean("agree_reads", false);
  if (s.agree_reads && !s.anvil && s.rpc.size() < 2) {
    c.fail("agree_reads", "needs at least two chain.rpc endpoints to compare");
  }
  if (const auto* ft = c.opt_table("fees")) {
    const Table f(top.ctx(), *ft, "chain.fees",
                  {"reward_percentile", "history_blocks", "base_fee_multiplier", "max_fee_gwei",
                   "min_priority_fee_gwei", "bump_percent", "bump_min_gwei", "bump_after_blocks",
                   "gas_limit_multiplier"});
    auto& fees = s.fees;
    fees.reward_percentile = f.number_in("reward_percentile", fees.reward_percentile, 0,
                                         Bound::kClosed, 100, Bound::kClosed);
    // eth_feeHistory serves at most 1024 blocks per call (geth's maxBlockCount).
    fees.history_blocks = f.uint("history_blocks", fees.history_blocks, 1, 1024);
    fees.base_fee_multiplier = f.number_in("base_fee_multiplier", fees.base_fee_multiplier, 1,
                                           Bound::kClosed, 100, Bound::kClosed);
    // 1e9 gwei = 1e18 wei per gas: far beyond any real fee, and exact in the conversion to wei.
    fees.max_fee_gwei =
        f.number_in("max_fee_gwei", fees.max_fee_gwei, 0, Bound::kOpen, 1e9, Bound::kClosed);
    fees.min_priority_fee_gwei = f.number_in("min_priority_fee_gwei", fees.min_priority_fee_gwei, 0,
                                             Bound::kClosed, 1e9, Bound::kClosed);
    if (fees.min_priority_fee_gwei > fees.max_fee_gwei) {
      f.fail("min_priority_fee_gwei", "must be <= chain.fees.max_fee_gwei (" +
                                          format_number(fees.max_fee_gwei) + "), got " +
                                          format_number(fees.min_priority_fee_gwei));
    }
    // geth replaces a pending transaction only if both fee fields rise by at least 10 %.
    fees.bump_percent =
        f.number_in("bump_percent", fees.bump_percent, 10, Bound::kClosed, 1000, Bound::kClosed);
    fees.bump_min_gwei =
        f.number_in("bump_min_gwei", fees.bump_min_gwei, 0, Bound::kClosed, 1e9, Bound::kClosed);
    fees.bump_after_blocks = f.uint("bump_after_blocks", fees.bump_after_blocks, 1, 10'000);
    fees.gas_limit_multiplier = f.number_in("gas_limit_multiplier", fees.gas_limit_multiplier, 1,
                                            Bound::kClosed, 10, Bound::kClosed);
  }
}

constexpr std::string_view kDevKeys[10] = {
    // anvil 1.x, mnemonic "test test test test test test test test test test test junk",
    // accounts m/44'/60'/0'/0/0..9 as printed by `anvil` at start.
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
};

bool is_env_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])) != 0) return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char ch) { return std::isalnum(ch) != 0 || ch == '_'; });
}

KeySpec read_key_spec(const Context& ctx, const toml::table& table, const std::string& path,
                      const Config& config, bool allow_dev_keys) {
  const Table k(ctx, table, path, {"keystore", "password_file", "password_env", "dev_key"});
  KeySpec spec;
  spec.key_path = path;
  const bool has_keystore = k.has("keystore");
  const bool has_dev = k.has("dev_key");
  if (has_keystore == has_dev) {
    ctx.fail(path,
             "needs exactly one of keystore (a keystore v3 file) or dev_key (anvil0 ... anvil9)");
  }
  if (has_dev) {
    const std::string name = k.string("dev_key");
    if (name.size() != 6 || name.compare(0, 5, "anvil") != 0 ||
        std::isdigit(static_cast<unsigned char>(name[5])) == 0) {
      k.fail("dev_key", "must be one of anvil0 ... anvil9, got \"" + name + "\"");
    }
    if (k.has("password_file") || k.has("password_env")) {
      ctx.fail(path, "a dev_key takes no password_file or password_env");
    }
    const std::uint64_t chain_id = config.chain.chain_id;
    if (chain_id == 1) {
      k.fail("dev_key",
             "anvil's publicly known development keys are refused on chain 1 (Ethereum mainnet)");
    }
    if (chain_id != kAnvilChainId && !allow_dev_keys) {
      k.fail("dev_key", "development keys are for the local chain 31337 only, not chain " +
                            std::to_string(chain_id) +
                            " (set keys.allow_dev_keys = true to use one anyway)");
    }
    spec.dev_key = static_cast<unsigned>(name[5] - '0');
    return spec;
  }
  spec.keystore = k.opt_readable_path("keystore", "keystore file");
  try {
    spec.keystore_address = read_keystore_file(*spec.keystore).address;
  } catch (const KeystoreFileError& e) {
    k.fail("keystore", e.what());
  }
  const bool has_file = k.has("password_file");
  const bool has_env = k.has("password_env");
  if (has_file == has_env) {
    ctx.fail(path, "needs exactly one of password_file or password_env for keystore " +
                       spec.keystore->string());
  }
  if (has_file) {
    spec.password_file = k.opt_readable_path("password_file", "password file");
  } else {
    const std::string env = k.string("password_env");
    if (!is_env_name(env))
      k.fail("password_env", "\"" + env + "\" is not an environment variable name");
    spec.password_env = env;
  }
  return spec;
}

bool same_key(const KeySpec& a, const KeySpec& b) {
  if (a.dev_key && b.dev_key) return *a.dev_key == *b.dev_key;
  if (a.keystore && b.keystore) {
    if (*a.keystore == *b.keystore) return true;
    return a.keystore_address && b.keystore_address && *a.keystore_address == *b.keystore_address;
  }
  return false;
}

void read_keys(const Table& top, Config& config) {
  top.require("keys");
  const auto* t = top.opt_table("keys");
  const Table k(top.ctx(), *t, "keys", {"signers", "sender", "allow_dev_keys"});
  auto& s = config.keys;
  s.allow_dev_keys = k.boolean("allow_dev_keys", false);
  k.require("signers");
  const auto signers = k.tables("signers");
  if (signers.empty()) k.fail("signers", "must list at least one signer key");
  for (const auto& [path, table] : signers) {
    KeySpec spec = read_key_spec(top.ctx(), *table, path, config, s.allow_dev_keys);
    for (const auto& earlier : s.signers) {
      if (same_key(spec, earlier)) top.ctx().fail(path, "is the same key as " + earlier.key_path);
    }
    s.signers.push_back(std::move(spec));
  }
  k.require("sender");
  const auto* sender = k.opt_table("sender");
  s.sender = read_key_spec(top.ctx(), *sender, "keys.sender", config, s.allow_dev_keys);
}

void read_deployment(const Table& c, Config& config) {
  auto& s = config.contracts;
  const fs::path& path = *s.deployment;
  const std::string key = c.key("deployment");
  std::error_code ec;
  if (!fs::exists(path, ec)) return;  // not deployed yet: `varkeeper deploy` writes it
  c.ctx().require_readable_file(key, path, "deployment file");
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const auto json = nlohmann::json::parse(buffer.str(), nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    c.ctx().fail(key, "deployment file " + path.string() + " is not a JSON object");
  }
  const auto chain_id = json.find("chain_id");
  if (chain_id == json.end() || !chain_id->is_number_unsigned()) {
    c.ctx().fail(key, "deployment file " + path.string() + " has no numeric chain_id");
  }
  if (chain_id->get<std::uint64_t>() != config.chain.chain_id) {
    c.ctx().fail(key, "deployment file " + path.string() + " is for chain " +
                          std::to_string(chain_id->get<std::uint64_t>()) + ", not chain " +
                          std::to_string(config.chain.chain_id));
  }
  const auto contracts = json.find("contracts");
  if (contracts == json.end() || !contracts->is_object()) {
    c.ctx().fail(key, "deployment file " + path.string() + " has no \"contracts\" object");
  }
  auto address_of = [&](const char* name) -> std::optional<chain::Address> {
    const auto entry = contracts->find(name);
    if (entry == contracts->end()) return std::nullopt;
    const auto address = entry->is_object() ? entry->find("address") : entry->end();
    if (!entry->is_object() || address == entry->end() || !address->is_string()) {
      c.ctx().fail(key, "deployment file " + path.string() + " has no address string for " + name);
    }
    auto parsed = chain::parse_address(address->get<std::string>());
    if (!parsed) {
      c.ctx().fail(key, "deployment file " + path.string() + " has an invalid " + name +
                            " address (" + std::string(chain::to_string(parsed.error())) + ")");
    }
    return *parsed;
  };
  s.risk_oracle = address_of("RiskOracle");
  s.rebalancer = address_of("RiskRebalancer");
  s.protection = address_of("VaRProtection");
  if (!s.risk_oracle) {
    c.ctx().fail(key, "deployment file " + path.string() + " has no RiskOracle");
  }
  s.deployment_present = true;
}

void read_contracts(const Table& top, Config& config) {
  const auto* t = top.opt_table("contracts");
  auto& s = config.contracts;
  if (t == nullptr) {
    if (!config.chain.anvil) {
      top.ctx().fail(
          "contracts",
          "is required unless chain.anvil = true (give risk_oracle or a deployment file)");
    }
    return;
  }
  const Table c(top.ctx(), *t, "contracts",
                {"risk_oracle", "rebalancer", "protection", "deployment"});
  s.risk_oracle = c.opt_address("risk_oracle");
  s.rebalancer = c.opt_address("rebalancer");
  s.protection = c.opt_address("protection");
  if (auto deployment = c.opt_string("deployment")) {
    if (s.risk_oracle || s.rebalancer || s.protection) {
      c.fail("deployment", "give either a deployment file or contract addresses, not both");
    }
    if (deployment->empty()) c.fail("deployment", "must not be empty");
    s.deployment = c.ctx().resolve(*deployment);
    read_deployment(c, config);
  } else if (!s.risk_oracle && !config.chain.anvil) {
    c.fail("risk_oracle", "is required unless a deployment file is given or chain.anvil = true");
  }
}

bool is_symbol(const std::string& s) {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](unsigned char ch) {
    return std::isalnum(ch) != 0 || ch == '.' || ch == '_' || ch == '-';
  });
}

// The bootstrap history must parse (keeper/price_csv.hpp) and hold a column for the asset:
// `date,close`, or a wide file with a column named after the symbol.
void check_history_csv(const Table& a, const AssetSettings& asset) {
  const auto table = read_price_csv(asset.history_csv->string(), CsvValues::kPrices);
  if (!table) {
    std::string message = table.error().message;
    while (!message.empty() && message.back() == '.') message.pop_back();
    a.fail("history_csv", message);
  }
  const auto& names = table->assets;
  if (names.size() != 1 && std::find(names.begin(), names.end(), asset.symbol) == names.end()) {
    a.fail("history_csv", "history file " + asset.history_csv->string() + " has no column " +
                              asset.symbol + " (expected date,close or a column named " +
                              asset.symbol + ")");
  }
}

void read_assets(const Table& top, Config& config) {
  top.require("assets");
  const auto assets = top.tables("assets");
  if (assets.empty()) top.fail("assets", "must declare at least one asset");
  for (const auto& [path, table] : assets) {
    const Table a(top.ctx(), *table, path, {"symbol", "decimals", "history_csv", "sources"});
    AssetSettings asset;
    asset.symbol = a.string("symbol");
    if (!is_symbol(asset.symbol)) {
      a.fail("symbol",
             "\"" + asset.symbol + "\" is not a symbol (1-32 letters, digits, '.', '_' or '-')");
    }
    for (std::size_t i = 0; i < config.assets.size(); ++i) {
      if (config.assets[i].symbol == asset.symbol) {
        a.fail("symbol",
               "\"" + asset.symbol + "\" is already declared by assets[" + std::to_string(i) + "]");
      }
    }
    // Chainlink feeds use 8 or 18 decimals; 36 keeps 10^decimals well inside a uint256.
    if (auto d = a.opt_int_in("decimals", 0, 36)) asset.decimals = static_cast<unsigned>(*d);
    asset.history_csv = a.opt_readable_path("history_csv", "history file");
    if (asset.history_csv) check_history_csv(a, asset);
    for (const auto& [spath, stable] : a.tables("sources")) {
      const Table src(top.ctx(), *stable, spath, {"name", "aggregator", "heartbeat_s"});
      PriceSourceSettings source;
      source.name = src.string("name");
      if (source.name.empty()) src.fail("name", "must not be empty");
      src.require("aggregator");
      source.aggregator = *src.opt_address("aggregator");
      source.heartbeat_s = src.uint("heartbeat_s", source.heartbeat_s, 1, 30 * 86'400);
      for (std::size_t i = 0; i < asset.sources.size(); ++i) {
        if (asset.sources[i].name == source.name) {
          src.fail("name", "\"" + source.name + "\" is already used by " + path + ".sources[" +
                               std::to_string(i) + "]");
        }
        if (asset.sources[i].aggregator == source.aggregator) {
          src.fail("aggregator",
                   "repeats " + path + ".sources[" + std::to_string(i) + "].aggregator");
        }
      }
      asset.sources.push_back(std::move(source));
    }
    if (asset.sources.empty() && !config.chain.anvil) {
      a.fail("sources",
             "must list at least one price source (mock feeds exist only with chain.anvil = true)");
    }
    config.assets.push_back(std::move(asset));
  }
}

std::string method_names() {
  static const risk::RiskMethod kAll[] = {risk::RiskMethod::kParametricNormal,
                                          risk::RiskMethod::kParametricT,
                                          risk::RiskMethod::kCornishFisher,
                                          risk::RiskMethod::kHistorical,
                                          risk::RiskMethod::kHistoricalAge,
                                          risk::RiskMethod::kFilteredHistorical,
                                          risk::RiskMethod::kMcNormal,
                                          risk::RiskMethod::kMcT,
                                          risk::RiskMethod::kMcJump};
  std::string out;
  for (auto m : kAll) {
    if (!out.empty()) out += ", ";
    out += risk::to_string(m);
  }
  return out;
}

void read_portfolios(const Table& top, Config& config) {
  top.require("portfolios");
  const auto portfolios = top.tables("portfolios");
  if (portfolios.empty()) top.fail("portfolios", "must declare at least one portfolio");
  for (const auto& [path, table] : portfolios) {
    const Table p(top.ctx(), *table, path,
                  {"id", "name", "positions", "method", "confidence", "horizon", "period_s",
                   "window", "paths", "seed", "ewma_lambda", "age_lambda", "publish"});
    PortfolioSettings s;
    p.require("id");
    s.id = p.uint("id", 0);
    for (std::size_t i = 0; i < config.portfolios.size(); ++i) {
      if (config.portfolios[i].id == s.id) {
        p.fail("id",
               std::to_string(s.id) + " is already used by portfolios[" + std::to_string(i) + "]");
      }
    }
    s.name = p.opt_string("name").value_or("portfolio-" + std::to_string(s.id));
    p.require("positions");
    const auto* positions = p.opt_table("positions");
    if (positions->empty()) p.fail("positions", "must hold at least one position");
    for (auto&& [key, node] : *positions) {
      const std::string symbol(key.str());
      const std::string key_path = p.key("positions") + "." + symbol;
      const bool declared = std::any_of(config.assets.begin(), config.assets.end(),
                                        [&](const AssetSettings& a) { return a.symbol == symbol; });
      if (!declared)
        top.ctx().fail(key_path, "no asset \"" + symbol + "\" is declared in [[assets]]");
      double quantity = 0.0;
      if (const auto* i = node.as_integer()) {
        quantity = static_cast<double>(i->get());
      } else if (const auto* f = node.as_floating_point()) {
        quantity = f->get();
      } else {
        top.ctx().fail(key_path,
                       "must be a number (a quantity of the asset), got " + describe(node));
      }
      if (!std::isfinite(quantity) || quantity == 0.0) {
        top.ctx().fail(key_path,
                       "must be a finite, non-zero quantity, got " + format_number(quantity));
      }
      s.positions.emplace(symbol, quantity);
    }
    if (auto method = p.opt_string("method")) {
      auto parsed = risk::parse_risk_method(*method);
      if (!parsed) {
        p.fail("method", "unknown risk method \"" + *method + "\" (one of " + method_names() + ")");
      }
      s.method = *parsed;
    }
    s.confidence = p.number_in("confidence", s.confidence, 0, Bound::kOpen, 1, Bound::kOpen);
    s.horizon = static_cast<int>(p.uint("horizon", static_cast<std::uint64_t>(s.horizon), 1, 3650));
    s.period_s = p.uint("period_s", s.period_s, 1, 366 * 86'400);
    s.window = p.uint("window", s.window, 2, 1'000'000);
    s.paths = p.uint("paths", s.paths, 1'000, 100'000'000);
    s.seed = p.uint("seed", s.seed, 0);
    s.ewma_lambda = p.number_in("ewma_lambda", s.ewma_lambda, 0, Bound::kOpen, 1, Bound::kOpen);
    s.age_lambda = p.number_in("age_lambda", s.age_lambda, 0, Bound::kOpen, 1, Bound::kClosed);
    if (const auto* pub = p.opt_table("publish")) {
      const Table pb(top.ctx(), *pub, p.key("publish"), {"deviation", "heartbeat_s"});
      s.publish.deviation =
          pb.number_in("deviation", s.publish.deviation, 0, Bound::kOpen, 1, Bound::kClosed);
      s.publish.heartbeat_s = pb.uint("heartbeat_s", s.publish.heartbeat_s, 1, 366 * 86'400);
    }
    config.portfolios.push_back(std::move(s));
  }
}

void read_hysteresis(const Table& parent, std::string_view name, risk::HysteresisConfig& h) {
  const auto* t = parent.opt_table(name);
  if (t == nullptr) return;
  const Table b(parent.ctx(), *t, parent.key(name), {"upper", "lower", "min_dwell_s"});
  h.upper = b.number("upper", h.upper);
  h.lower = b.number("lower", h.lower);
  h.min_dwell_s = b.int64("min_dwell_s", h.min_dwell_s);
}

void read_breaker(const Table& top, Config& config) {
  const auto* t = top.opt_table("breaker");
  if (t == nullptr) return;
  const Table b(top.ctx(), *t, "breaker", {"enabled", "checks", "breaker", "smoothing", "actions"});
  auto& c = config.breaker;
  c.enabled = b.boolean("enabled", c.enabled);
  if (const auto* ct = b.opt_table("checks")) {
    const Table k(top.ctx(), *ct, "breaker.checks",
                  {"heartbeat_grace_s", "max_future_skew_s", "max_step_move", "step_confirm_s",
                   "mad_k", "max_disagreement"});
    c.checks.heartbeat_grace_s = k.int64("heartbeat_grace_s", c.checks.heartbeat_grace_s);
    c.checks.max_future_skew_s = k.int64("max_future_skew_s", c.checks.max_future_skew_s);
    c.checks.max_step_move = k.number("max_step_move", c.checks.max_step_move);
    c.checks.step_confirm_s = k.int64("step_confirm_s", c.checks.step_confirm_s);
    c.checks.mad_k = k.number("mad_k", c.checks.mad_k);
    c.checks.max_disagreement = k.number("max_disagreement", c.checks.max_disagreement);
  }
  if (const auto* tt = b.opt_table("breaker")) {
    const Table k(top.ctx(), *tt, "breaker.breaker",
                  {"var_jump_factor", "var_jump_min_abs", "clear_s", "cooldown_s", "policy"});
    c.breaker.var_jump_factor = k.number("var_jump_factor", c.breaker.var_jump_factor);
    c.breaker.var_jump_min_abs = k.number("var_jump_min_abs", c.breaker.var_jump_min_abs);
    c.breaker.clear_s = k.int64("clear_s", c.breaker.clear_s);
    c.breaker.cooldown_s = k.int64("cooldown_s", c.breaker.cooldown_s);
    if (auto policy = k.opt_string("policy")) {
      auto parsed = risk::parse_trip_policy(*policy);
      if (!parsed) {
        k.fail("policy",
               "must be \"freeze\", \"conservative\" or \"pass-through\", got \"" + *policy + "\"");
      }
      c.breaker.policy = *parsed;
    }
  }
  if (const auto* st = b.opt_table("smoothing")) {
    const Table k(top.ctx(), *st, "breaker.smoothing",
                  {"ema_half_life_s", "max_rise_per_update", "max_fall_per_update",
                   "max_rise_per_hour", "max_fall_per_hour", "var_floor", "enabled"});
    auto& s = c.smoothing;
    s.ema_half_life_s = k.int64("ema_half_life_s", s.ema_half_life_s);
    s.max_rise_per_update = k.number("max_rise_per_update", s.max_rise_per_update);
    s.max_fall_per_update = k.number("max_fall_per_update", s.max_fall_per_update);
    s.max_rise_per_hour = k.number("max_rise_per_hour", s.max_rise_per_hour);
    s.max_fall_per_hour = k.number("max_fall_per_hour", s.max_fall_per_hour);
    s.var_floor = k.number("var_floor", s.var_floor);
    s.enabled = k.boolean("enabled", s.enabled);
  }
  if (const auto* at = b.opt_table("actions")) {
    const Table k(top.ctx(), *at, "breaker.actions", {"rebalance", "payout"});
    read_hysteresis(k, "rebalance", c.actions.rebalance);
    read_hysteresis(k, "payout", c.actions.payout);
  }
  // risk::validate names the field relative to BreakerConfig ("breaker.var_jump_factor must be >
  // 1").
  if (auto problem = risk::validate(c)) top.ctx().fail_sentence("breaker." + *problem);
}

bool is_category_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](unsigned char ch) {
    return std::isalnum(ch) != 0 || ch == '_' || ch == '-';
  });
}

void read_oprisk(const Table& top, Config& config) {
  const auto* t = top.opt_table("oprisk");
  if (t == nullptr) return;
  const Table o(top.ctx(), *t, "oprisk",
                {"observed_years", "prior_years", "paths", "seed", "categories"});
  OpriskSettings s;
  s.observed_years =
      o.number_in("observed_years", s.observed_years, 0, Bound::kOpen, 1000, Bound::kClosed);
  s.prior_years =
      o.number_in("prior_years", s.prior_years, 0, Bound::kClosed, 1000, Bound::kClosed);
  // simulate_annual_loss needs at least 100 paths per batch (20 batches).
  s.paths = o.uint("paths", s.paths, 2'000, 100'000'000);
  s.seed = o.uint("seed", s.seed, 0);
  o.require("categories");
  const auto* cats = o.opt_table("categories");
  if (cats->empty()) o.fail("categories", "must hold at least one category");
  const auto& builtin = risk::oprisk::builtin_categories();
  // toml::table iterates in key order; the report lists categories in file order.
  std::vector<std::pair<std::string, const toml::node*>> ordered;
  for (auto&& [key, node] : *cats) ordered.emplace_back(std::string(key.str()), &node);
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    const auto& sa = a.second->source().begin;
    const auto& sb = b.second->source().begin;
    return sa.line != sb.line ? sa.line < sb.line : sa.column < sb.column;
  });
  for (const auto& [name, node_ptr] : ordered) {
    const toml::node& node = *node_ptr;
    const std::string path = "oprisk.categories." + name;
    if (!is_category_name(name)) {
      top.ctx().fail(path, "\"" + name + "\" is not a category name (letters, digits, '_', '-')");
    }
    const auto* ct = node.as_table();
    if (ct == nullptr) top.ctx().fail(path, "must be a table, got " + describe(node));
    const Table c(top.ctx(), *ct, path, {"sources", "sle", "severity"});
    OpriskCategorySettings cat;
    cat.name = name;
    cat.builtin = std::find(builtin.begin(), builtin.end(), name) != builtin.end();
    c.require("sources");
    double weight_sum = 0.0;
    for (const auto& [spath, st] : c.tables("sources")) {
      const Table src(top.ctx(), *st, spath, {"name", "aro", "weight"});
      OpriskSourceSettings source;
      source.name = src.string("name");
      if (source.name.empty()) src.fail("name", "must not be empty");
      for (const auto& earlier : cat.sources) {
        if (earlier.name == source.name)
          src.fail("name", "\"" + source.name + "\" is listed twice in " + path);
      }
      // The internal log's ARO comes from the store's incident counts unless given here.
      if (source.name != "internal") src.require("aro");
      source.aro = src.opt_number_in("aro", 0, Bound::kClosed, 0, Bound::kNone);
      src.require("weight");
      source.weight = *src.opt_number_in("weight", 0, Bound::kClosed, 0, Bound::kNone);
      weight_sum += source.weight;
      cat.sources.push_back(std::move(source));
    }
    if (cat.sources.empty()) c.fail("sources", "must list at least one source");
    if (!(weight_sum > 0.0)) c.fail("sources", "needs at least one source with a weight > 0");
    cat.sle = c.opt_number_in("sle", 0, Bound::kClosed, 0, Bound::kNone);
    if (const auto* sev = c.opt_table("severity")) {
      const Table v(top.ctx(), *sev, c.key("severity"), {"mean", "cv", "mu", "sigma"});
      const bool moments = v.has("mean") || v.has("cv");
      const bool params = v.has("mu") || v.has("sigma");
      if (moments == params) {
        top.ctx().fail(v.path(), "needs either mean and cv, or mu and sigma (of ln X)");
      }
      if (moments) {
        v.require("mean");
        v.require("cv");
        const double mean = *v.opt_number_in("mean", 0, Bound::kOpen, 0, Bound::kNone);
        const double cv = *v.opt_number_in("cv", 0, Bound::kOpen, 100, Bound::kClosed);
        cat.severity = risk::oprisk::LognormalSeverity::from_mean_cv(mean, cv);
      } else {
        v.require("mu");
        v.require("sigma");
        risk::oprisk::LognormalSeverity lognormal;
        lognormal.mu = *v.opt_number_in("mu", -700, Bound::kClosed, 700, Bound::kClosed);
        lognormal.sigma = *v.opt_number_in("sigma", 0, Bound::kOpen, 10, Bound::kClosed);
        cat.severity = lognormal;
      }
    }
    if (!cat.sle && !cat.severity) {
      top.ctx().fail(path, "needs sle (single loss expectancy) or a severity table");
    }
    s.categories.push_back(std::move(cat));
  }
  config.oprisk = std::move(s);
}

// toml++ reports "Error while parsing key-value pair: ..." style descriptions; keep them, on one
// line.
std::string one_line(std::string_view text) {
  std::string out(text);
  std::replace(out.begin(), out.end(), '\n', ' ');
  while (!out.empty() && (out.back() == ' ' || out.back() == '.')) out.pop_back();
  return out;
}

chain::U256 gwei_to_wei(double gwei) {
  // Values are validated <= 1e9 gwei, so the wei amount (<= 1e18) fits a uint64 exactly after
  // rounding to the nearest wei.
  return chain::U256(static_cast<std::uint64_t>(std::llround(gwei * 1e9)));
}

}  // namespace

Config parse_config(std::string_view toml_text, const std::filesystem::path& file) {
  const std::string display = file.string();
  fs::path base = file.parent_path();
  if (base.empty()) base = ".";
  const Context ctx(display, base);
  toml::table root;
  try {
    root = toml::parse(toml_text, display);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    throw ConfigError(display + ":" + std::to_string(begin.line) + ":" +
                      std::to_string(begin.column) + ": parse error: " + one_line(e.description()));
  }
  Config config;
  config.file = file;
  const Table top(
      ctx, root, "",
      {"keeper", "chain", "keys", "contracts", "assets", "portfolios", "breaker", "oprisk"});
  read_keeper(top, config);
  if (!top.has("keeper")) config.keeper.store = ctx.resolve(config.keeper.store.string());
  read_chain(top, config);
  read_keys(top, config);
  read_contracts(top, config);
  read_assets(top, config);
  read_portfolios(top, config);
  read_breaker(top, config);
  read_oprisk(top, config);
  return config;
}

Config load_config(const std::filesystem::path& file) {
  const std::string display = file.string();
  std::error_code ec;
  const auto status = fs::status(file, ec);
  if (ec || !fs::exists(status)) throw ConfigError(display + ": config file does not exist");
  if (!fs::is_regular_file(status))
    throw ConfigError(display + ": config file is not a regular file");
  if (fs::file_size(file, ec) > kMaxConfigSize || ec) {
    throw ConfigError(display + ": config file is larger than 4 MiB");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(display + ": config file cannot be read");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_config(buffer.str(), file);
}

chain::SecretKey dev_key(unsigned index) {
  if (index >= 10) throw std::out_of_range("anvil development keys are anvil0 ... anvil9");
  auto key = chain::SecretKey::from_hex(kDevKeys[index]);
  return *key;
}

chain::SecretKey load_key(const Config& config, const KeySpec& spec) {
  const std::string prefix = config.file.string() + ": " + spec.key_path + ": ";
  if (spec.dev_key) return dev_key(*spec.dev_key);
  const fs::path& keystore_path = *spec.keystore;
  try {
    const chain::Keystore keystore = read_keystore_file(keystore_path);
    Password password;
    if (spec.password_file) {
      password = read_password_file(*spec.password_file);
    } else {
      const char* value = std::getenv(spec.password_env->c_str());
      if (value == nullptr) {
        throw ConfigError(prefix + "environment variable " + *spec.password_env +
                          " (the password for keystore file " + keystore_path.string() +
                          ") is not set");
      }
      password = Password(value);
    }
    auto key = chain::decrypt_keystore(keystore, password.view());
    if (!key) {
      if (key.error().error == chain::KeystoreError::kWrongPassword) {
        throw ConfigError(prefix + "wrong password for keystore file " + keystore_path.string());
      }
      throw ConfigError(prefix + "keystore file " + keystore_path.string() +
                        " is unusable: " + chain::to_string(key.error()));
    }
    return std::move(*key);
  } catch (const KeystoreFileError& e) {
    throw ConfigError(prefix + e.what());
  } catch (const PasswordError& e) {
    throw ConfigError(prefix + e.what());
  }
}

LoadedKeys load_keys(const Config& config) {
  LoadedKeys keys;
  for (const auto& spec : config.keys.signers) keys.signers.push_back(load_key(config, spec));
  keys.sender = load_key(config, config.keys.sender);
  return keys;
}

chain::TxManagerOptions tx_manager_options(const ChainSettings& chain) {
  chain::TxManagerOptions options;
  options.fees.reward_percentile = chain.fees.reward_percentile;
  options.fees.history_blocks = chain.fees.history_blocks;
  options.fees.base_fee_multiplier = chain.fees.base_fee_multiplier;
  options.fees.min_priority_fee = gwei_to_wei(chain.fees.min_priority_fee_gwei);
  options.fees.max_fee_cap = gwei_to_wei(chain.fees.max_fee_gwei);
  options.confirmations = chain.confirmations;
  options.bump_after_blocks = chain.fees.bump_after_blocks;
  options.bump_percent = chain.fees.bump_percent;
  options.bump_min = gwei_to_wei(chain.fees.bump_min_gwei);
  options.gas_limit_multiplier = chain.fees.gas_limit_multiplier;
  return options;
}

risk::RiskOptions risk_options(const PortfolioSettings& portfolio) {
  risk::RiskOptions options;
  options.confidence = portfolio.confidence;
  options.horizon = portfolio.horizon;
  options.ewma_lambda = portfolio.ewma_lambda;
  options.age_lambda = portfolio.age_lambda;
  options.paths = static_cast<std::size_t>(portfolio.paths);
  options.seed = portfolio.seed;
  return options;
}

double single_loss_expectancy(const OpriskCategorySettings& category) {
  if (category.sle) return *category.sle;
  return category.severity ? category.severity->mean() : 0.0;
}

namespace {

std::string describe_key(const KeySpec& spec) {
  if (spec.dev_key) return "dev key anvil" + std::to_string(*spec.dev_key);
  std::string out = "keystore " + spec.keystore->string();
  if (spec.keystore_address) out += " (" + chain::to_checksum_address(*spec.keystore_address) + ")";
  return out;
}

std::string describe_address(const std::optional<chain::Address>& a) {
  return a ? chain::to_checksum_address(*a) : std::string("none");
}

}  // namespace

std::string summarize(const Config& config) {
  std::ostringstream out;
  const auto& c = config.chain;
  out << "chain: " << c.chain_id;
  if (c.anvil) {
    out << " (embedded anvil started by varkeeper run, "
        << (c.anvil_block_time_s == 0 ? std::string("automine")
                                      : std::to_string(c.anvil_block_time_s) + " s blocks")
        << ")\n";
  } else {
    out << ", " << c.rpc.size() << " RPC endpoint" << (c.rpc.size() == 1 ? "" : "s") << ":";
    for (const auto& url : c.rpc) out << ' ' << chain::redacted(url);
    if (c.ws) out << "; ws " << chain::redacted(*c.ws);
    out << '\n';
  }
  out << "keys: " << config.keys.signers.size() << " signer"
      << (config.keys.signers.size() == 1 ? "" : "s") << ":";
  for (std::size_t i = 0; i < config.keys.signers.size(); ++i) {
    out << (i == 0 ? " " : ", ") << describe_key(config.keys.signers[i]);
  }
  out << "; sender " << describe_key(config.keys.sender) << '\n';
  const auto& k = config.contracts;
  out << "contracts: ";
  if (k.deployment && !k.deployment_present) {
    out << "deployment file " << k.deployment->string() << " (not written yet: varkeeper deploy)\n";
  } else if (!k.risk_oracle && c.anvil) {
    out << "deployed by varkeeper run on the embedded chain\n";
  } else {
    out << "risk_oracle " << describe_address(k.risk_oracle) << ", rebalancer "
        << describe_address(k.rebalancer) << ", protection " << describe_address(k.protection);
    if (k.deployment) out << " (from " << k.deployment->string() << ")";
    out << '\n';
  }
  out << "assets:";
  for (std::size_t i = 0; i < config.assets.size(); ++i) {
    const auto& a = config.assets[i];
    out << (i == 0 ? " " : ", ") << a.symbol << " (";
    if (a.sources.empty()) {
      out << "mock feed";
    } else {
      out << a.sources.size() << " source" << (a.sources.size() == 1 ? "" : "s");
    }
    out << (a.history_csv ? ", history CSV" : "") << ")";
  }
  out << '\n';
  out << "portfolios:";
  for (std::size_t i = 0; i < config.portfolios.size(); ++i) {
    const auto& p = config.portfolios[i];
    out << (i == 0 ? " " : ", ") << p.id << " " << p.name << " (" << risk::to_string(p.method)
        << ", " << format_number(p.confidence * 100) << " %, " << p.positions.size() << " position"
        << (p.positions.size() == 1 ? "" : "s") << ")";
  }
  out << '\n';
  out << "store: " << config.keeper.store.string() << "; metrics: http://"
      << (config.keeper.metrics_host.find(':') != std::string::npos
              ? "[" + config.keeper.metrics_host + "]"
              : config.keeper.metrics_host)
      << ":" << config.keeper.metrics_port << "/metrics\n";
  if (config.oprisk) out << "oprisk: " << config.oprisk->categories.size() << " categories\n";
  return out.str();
}

PipelineConfig pipeline_config(const Config& config) {
  PipelineConfig out;
  out.breaker = config.breaker;
  for (const auto& a : config.assets) {
    AssetSpec spec{a.symbol, {}};
    for (const auto& s : a.sources) {
      spec.sources.push_back({s.name, static_cast<std::int64_t>(s.heartbeat_s)});
    }
    out.assets.push_back(std::move(spec));
  }
  for (const auto& p : config.portfolios) {
    PortfolioSpec spec;
    spec.id = p.id;
    spec.name = p.name;
    for (const auto& [sym, qty] : p.positions) spec.positions.emplace_back(sym, qty);
    spec.method = p.method;
    spec.risk = risk_options(p);
    spec.period_s = static_cast<std::int64_t>(p.period_s);
    spec.window = p.window;
    spec.min_obs = std::min<std::size_t>(p.window, 30);
    spec.publish.deviation = p.publish.deviation;
    spec.publish.heartbeat_s = static_cast<std::int64_t>(p.publish.heartbeat_s);
    out.portfolios.push_back(std::move(spec));
  }
  stamp_methodology(out);
  return out;
}


}  // namespace varkeeper::keeper
