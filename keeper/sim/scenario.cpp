#include "keeper/sim/scenario.hpp"

#include <toml++/toml.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "risk/risk_method.hpp"

namespace varkeeper::keeper {

const char* to_string(EventKind k) noexcept {
  switch (k) {
    case EventKind::kVolRegime: return "vol-regime";
    case EventKind::kJump: return "jump";
    case EventKind::kDepeg: return "depeg";
    case EventKind::kManipulate: return "manipulate";
    case EventKind::kFreeze: return "freeze";
    case EventKind::kOutage: return "outage";
  }
  return "jump";
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, UTC).
std::optional<std::int64_t> parse_iso_date(std::string_view s) noexcept {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  int y = 0, m = 0, d = 0;
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  m = (s[5] - '0') * 10 + (s[6] - '0');
  d = (s[8] - '0') * 10 + (s[9] - '0');
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m < 1 || m > 12 || d < 1) return std::nullopt;
  if (d > kDays[m - 1] + (m == 2 && leap ? 1 : 0)) return std::nullopt;
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

namespace {

void civil(std::int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0));
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

std::string iso_date(std::int64_t unix_s) {
  int y = 0;
  unsigned m = 0, d = 0;
  civil(floor_div(unix_s, 86'400), y, m, d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, m, d);
  return buf;
}

std::string iso_time(std::int64_t unix_s) {
  const std::int64_t sod = unix_s - floor_div(unix_s, 86'400) * 86'400;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%sT%02d:%02d:%02dZ", iso_date(unix_s).c_str(),
                static_cast<int>(sod / 3600), static_cast<int>(sod / 60 % 60),
                static_cast<int>(sod % 60));
  return buf;
}

namespace {

// One line of printable text: control characters and DEL echoed from the file become \xNN.
ScenarioError scenario_error(const std::string& message) {
  std::string out;
  for (const char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return ScenarioError(out);
}

// A TOML table with the key path it was read from; every accessor names file and key on error.
class Table {
 public:
  Table(const toml::table& t, std::string path, const std::filesystem::path& file)
      : t_(t), path_(std::move(path)), file_(file) {}

  [[noreturn]] void fail(std::string_view key, const std::string& what) const {
    throw scenario_error(file_.string() + ": " + this->key(key) + ": " + what + ".");
  }
  [[nodiscard]] std::string key(std::string_view k) const {
    return path_.empty() ? std::string(k) : path_ + "." + std::string(k);
  }
  void allow(std::initializer_list<std::string_view> keys) const {
    for (const auto& [k, v] : t_) {
      if (std::find(keys.begin(), keys.end(), k.str()) == keys.end()) {
        throw scenario_error(file_.string() + ": unknown key '" + std::string(k.str()) + "' " +
                             (path_.empty() ? std::string("at the top level") : "in " + path_) +
                             ".");
      }
    }
  }
  [[nodiscard]] bool has(std::string_view k) const { return t_.get(k) != nullptr; }
  [[nodiscard]] const toml::node* get(std::string_view k) const { return t_.get(k); }

  [[nodiscard]] std::optional<std::string> str(std::string_view k) const {
    const auto* n = t_.get(k);
    if (n == nullptr) return std::nullopt;
    if (const auto* s = n->as_string()) return s->get();
    fail(k, "must be a string");
  }
  [[nodiscard]] std::optional<double> num(std::string_view k) const {
    const auto* n = t_.get(k);
    if (n == nullptr) return std::nullopt;
    if (const auto* f = n->as_floating_point()) {
      if (!std::isfinite(f->get())) fail(k, "must be a finite number");
      return f->get();
    }
    if (const auto* i = n->as_integer()) return static_cast<double>(i->get());
    fail(k, "must be a number");
  }
  [[nodiscard]] std::optional<std::int64_t> integer(std::string_view k) const {
    const auto* n = t_.get(k);
    if (n == nullptr) return std::nullopt;
    if (const auto* i = n->as_integer()) return i->get();
    fail(k, "must be an integer");
  }
  [[nodiscard]] std::optional<bool> boolean(std::string_view k) const {
    const auto* n = t_.get(k);
    if (n == nullptr) return std::nullopt;
    if (const auto* b = n->as_boolean()) return b->get();
    fail(k, "must be true or false");
  }
  void num_in(std::string_view k, double& out, double lo, double hi, bool lo_open = false) const {
    if (auto v = num(k)) {
      if (*v < lo || *v > hi || (lo_open && *v == lo)) {
        std::ostringstream os;
        os << "must be in " << (lo_open ? "(" : "[") << lo << ", " << hi << "], got " << *v;
        fail(k, os.str());
      }
      out = *v;
    }
  }
  template <class Int>
  void int_in(std::string_view k, Int& out, std::int64_t lo, std::int64_t hi) const {
    if (auto v = integer(k)) {
      if (*v < lo || *v > hi) {
        fail(k, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                    std::to_string(*v));
      }
      out = static_cast<Int>(*v);
    }
  }
  [[nodiscard]] std::optional<Table> sub(std::string_view k) const {
    const auto* n = t_.get(k);
    if (n == nullptr) return std::nullopt;
    if (const auto* t = n->as_table()) return Table(*t, key(k), file_);
    fail(k, "must be a table");
  }
  [[nodiscard]] std::vector<Table> array_of_tables(std::string_view k) const {
    std::vector<Table> out;
    const auto* n = t_.get(k);
    if (n == nullptr) return out;
    const auto* a = n->as_array();
    if (a == nullptr) fail(k, "must be an array of tables ([[" + std::string(k) + "]])");
    for (std::size_t i = 0; i < a->size(); ++i) {
      const auto* t = (*a)[i].as_table();
      if (t == nullptr) fail(k, "must be an array of tables ([[" + std::string(k) + "]])");
      out.emplace_back(*t, key(k) + "[" + std::to_string(i) + "]", file_);
    }
    return out;
  }
  [[nodiscard]] const toml::table& raw() const noexcept { return t_; }

 private:
  const toml::table& t_;
  std::string path_;
  const std::filesystem::path& file_;
};

constexpr double kMaxDays = 36'600.0;
constexpr std::int64_t kDayS = 86'400;
constexpr std::int64_t kYearS = 365 * kDayS;

void read_hysteresis(const Table& t, risk::HysteresisConfig& h) {
  t.allow({"upper", "lower", "min_dwell_s"});
  t.num_in("upper", h.upper, 0.0, 1.0);
  t.num_in("lower", h.lower, 0.0, 1.0);
  t.int_in("min_dwell_s", h.min_dwell_s, 0, kYearS);
  if (h.lower > h.upper) t.fail("lower", "must not exceed upper");
}

void read_breaker(const Table& t, risk::BreakerConfig& b) {
  t.allow({"enabled", "policy", "var_jump_factor", "clear_s", "cooldown_s", "checks", "smoothing",
           "rebalance", "payout"});
  if (auto v = t.boolean("enabled")) b.enabled = *v;
  if (auto v = t.str("policy")) {
    const auto p = risk::parse_trip_policy(*v);
    if (!p) t.fail("policy", "must be freeze, conservative or pass-through, got '" + *v + "'");
    b.breaker.policy = *p;
  }
  t.num_in("var_jump_factor", b.breaker.var_jump_factor, 1.0, 1e6, true);
  t.int_in("clear_s", b.breaker.clear_s, 0, kYearS);
  t.int_in("cooldown_s", b.breaker.cooldown_s, 0, kYearS);
  if (auto c = t.sub("checks")) {
    c->allow({"heartbeat_grace_s", "max_step_move", "step_confirm_s", "mad_k", "max_disagreement"});
    c->int_in("heartbeat_grace_s", b.checks.heartbeat_grace_s, 0, kYearS);
    c->num_in("max_step_move", b.checks.max_step_move, 0.0, 1e6, true);
    c->int_in("step_confirm_s", b.checks.step_confirm_s, 0, kYearS);
    c->num_in("mad_k", b.checks.mad_k, 0.0, 1e6, true);
    c->num_in("max_disagreement", b.checks.max_disagreement, 0.0, 1.0, true);
  }
  if (auto s = t.sub("smoothing")) {
    s->allow({"enabled", "ema_half_life_s", "max_rise_per_update", "max_fall_per_update",
              "max_rise_per_hour", "max_fall_per_hour"});
    if (auto v = s->boolean("enabled")) b.smoothing.enabled = *v;
    s->int_in("ema_half_life_s", b.smoothing.ema_half_life_s, 0, kYearS);
    s->num_in("max_rise_per_update", b.smoothing.max_rise_per_update, 0.0, 1e6);
    s->num_in("max_fall_per_update", b.smoothing.max_fall_per_update, 0.0, 1.0);
    s->num_in("max_rise_per_hour", b.smoothing.max_rise_per_hour, 0.0, 1e6);
    s->num_in("max_fall_per_hour", b.smoothing.max_fall_per_hour, 0.0, 1.0);
  }
  if (auto r = t.sub("rebalance")) read_hysteresis(*r, b.actions.rebalance);
  if (auto p = t.sub("payout")) read_hysteresis(*p, b.actions.payout);
  if (auto err = risk::validate(b)) {
    throw scenario_error(t.key("") + " " + *err + ".");
  }
}

PortfolioSpec read_portfolio(const Table& t, std::size_t index) {
  t.allow({"id", "name", "positions", "method", "confidence", "horizon", "period_s", "window",
           "min_obs", "paths", "seed", "ewma_lambda", "publish"});
  PortfolioSpec p;
  p.id = index + 1;
  t.int_in("id", p.id, 0, std::numeric_limits<std::int64_t>::max());
  p.name = t.str("name").value_or("portfolio-" + std::to_string(p.id));
  const auto pos = t.sub("positions");
  if (!pos) t.fail("positions", "is required (a table: asset symbol = quantity)");
  for (const auto& [k, v] : pos->raw()) {
    const auto q = pos->num(k.str());
    if (!q || !(*q > 0.0)) pos->fail(k.str(), "must be a positive quantity");
    p.positions.emplace_back(std::string(k.str()), *q);
  }
  if (p.positions.empty()) t.fail("positions", "must name at least one asset");
  if (auto m = t.str("method")) {
    const auto method = risk::parse_risk_method(*m);
    if (!method) t.fail("method", "unknown method '" + *m + "'");
    p.method = *method;
  } else {
    p.method = risk::RiskMethod::kFilteredHistorical;
  }
  t.num_in("confidence", p.risk.confidence, 0.5, 0.9999);
  t.int_in("horizon", p.risk.horizon, 1, 250);
  t.int_in("period_s", p.period_s, 60, 30 * kDayS);
  t.int_in("window", p.window, 10, 100'000);
  t.int_in("min_obs", p.min_obs, 5, 100'000);
  if (p.min_obs > p.window) t.fail("min_obs", "must not exceed window");
  t.int_in("paths", p.risk.paths, 100, 10'000'000);
  t.int_in("seed", p.risk.seed, 0, std::numeric_limits<std::int64_t>::max());
  t.num_in("ewma_lambda", p.risk.ewma_lambda, 0.0, 1.0, true);
  if (auto pub = t.sub("publish")) {
    pub->allow({"deviation", "heartbeat_s"});
    pub->num_in("deviation", p.publish.deviation, 0.0, 10.0);
    pub->int_in("heartbeat_s", p.publish.heartbeat_s, 1, kYearS);
  }
  return p;
}

std::size_t source_index(const Table& t, const ScenarioSpec& s, const std::string& asset) {
  const auto it = std::find_if(s.assets.begin(), s.assets.end(),
                               [&](const ScenarioAsset& a) { return a.symbol == asset; });
  const auto n = static_cast<std::int64_t>(it->sources.size());
  std::int64_t i = 0;
  if (auto name = t.str("source")) {
    const auto f = std::find(it->sources.begin(), it->sources.end(), *name);
    if (f == it->sources.end())
      t.fail("source", "asset " + asset + " has no source '" + *name + "'");
    return static_cast<std::size_t>(f - it->sources.begin());
  }
  t.fail("source",
         "is required (the name of one of " + asset + "'s " + std::to_string(n) + " sources)");
  return static_cast<std::size_t>(i);
}

ScenarioEvent read_event(const Table& t, const ScenarioSpec& s) {
  ScenarioEvent e;
  const auto kind = t.str("kind");
  if (!kind) t.fail("kind", "is required");
  static const std::pair<const char*, EventKind> kKinds[] = {
      {"vol-regime", EventKind::kVolRegime}, {"jump", EventKind::kJump},
      {"depeg", EventKind::kDepeg},          {"manipulate", EventKind::kManipulate},
      {"freeze", EventKind::kFreeze},        {"outage", EventKind::kOutage}};
  const auto k = std::find_if(std::begin(kKinds), std::end(kKinds),
                              [&](const auto& p) { return *kind == p.first; });
  if (k == std::end(kKinds)) {
    t.fail("kind",
           "must be vol-regime, jump, depeg, manipulate, freeze or outage, got '" + *kind + "'");
  }
  e.kind = k->second;
  switch (e.kind) {
    case EventKind::kVolRegime: t.allow({"kind", "asset", "from_day", "to_day", "factor"}); break;
    case EventKind::kJump: t.allow({"kind", "asset", "at_day", "size"}); break;
    case EventKind::kDepeg: t.allow({"kind", "asset", "from_day", "to_day", "level"}); break;
    case EventKind::kManipulate:
      t.allow({"kind", "asset", "source", "from_day", "to_day", "factor"});
      break;
    case EventKind::kFreeze: t.allow({"kind", "asset", "source", "from_day", "to_day"}); break;
    case EventKind::kOutage: t.allow({"kind", "from_day", "to_day"}); break;
  }
  if (e.kind != EventKind::kOutage) {
    const auto asset = t.str("asset");
    if (!asset) t.fail("asset", "is required");
    if (std::none_of(s.assets.begin(), s.assets.end(),
                     [&](const ScenarioAsset& a) { return a.symbol == *asset; })) {
      t.fail("asset", "names no asset of this scenario ('" + *asset + "')");
    }
    e.asset = *asset;
  }
  if (e.kind == EventKind::kJump) {
    if (!t.has("at_day")) t.fail("at_day", "is required");
    t.num_in("at_day", e.from_day, 0.0, kMaxDays);
    if (!t.has("size")) t.fail("size", "is required (relative move, -0.3 = a 30 % fall)");
    t.num_in("size", e.value, -0.999, 100.0);
    return e;
  }
  if (!t.has("from_day")) t.fail("from_day", "is required");
  t.num_in("from_day", e.from_day, 0.0, kMaxDays);
  if (e.kind == EventKind::kDepeg && !t.has("to_day")) t.fail("to_day", "is required");
  t.num_in("to_day", e.to_day, 0.0, 1e300);
  if (e.to_day <= e.from_day) t.fail("to_day", "must be after from_day");
  switch (e.kind) {
    case EventKind::kVolRegime:
      if (!t.has("factor")) t.fail("factor", "is required");
      t.num_in("factor", e.value, 0.0, 1000.0, true);
      break;
    case EventKind::kDepeg:
      if (!t.has("level")) t.fail("level", "is required (0.9 = the price ends 10 % lower)");
      t.num_in("level", e.value, 0.0, 100.0, true);
      break;
    case EventKind::kManipulate:
      e.source = source_index(t, s, e.asset);
      if (!t.has("factor")) t.fail("factor", "is required");
      t.num_in("factor", e.value, 0.0, 1000.0, true);
      break;
    case EventKind::kFreeze:
      if (t.has("source")) e.source = source_index(t, s, e.asset);
      break;
    default: break;
  }
  return e;
}

ScenarioAsset read_asset(const Table& t, bool& replay, std::size_t index) {
  t.allow({"symbol", "csv", "price", "daily_vol", "daily_drift", "sources", "heartbeat_s",
           "feed_deviation", "noise"});
  ScenarioAsset a;
  const auto sym = t.str("symbol");
  if (!sym || sym->empty()) t.fail("symbol", "is required");
  a.symbol = *sym;
  if (auto csv = t.str("csv")) a.csv = std::filesystem::path(*csv);
  if (index == 0) replay = a.csv.has_value();
  if (replay != a.csv.has_value()) {
    t.fail("csv",
           "must be given for every asset or for none (a scenario either replays files or "
           "is synthetic)");
  }
  t.num_in("price", a.price, 0.0, 1e15, true);
  t.num_in("daily_vol", a.daily_vol, 0.0, 5.0);
  t.num_in("daily_drift", a.daily_drift, -1.0, 1.0);
  std::int64_t n_sources = 3;
  if (const auto* n = t.get("sources")) {
    if (const auto* arr = n->as_array()) {
      for (std::size_t i = 0; i < arr->size(); ++i) {
        const auto* s = (*arr)[i].as_string();
        if (s == nullptr || s->get().empty()) t.fail("sources", "must be a list of names");
        a.sources.push_back(s->get());
      }
      if (a.sources.empty()) t.fail("sources", "must name at least one source");
      if (std::set<std::string>(a.sources.begin(), a.sources.end()).size() != a.sources.size()) {
        t.fail("sources", "names a source twice");
      }
    } else {
      t.int_in("sources", n_sources, 1, 32);
    }
  }
  if (a.sources.empty()) {
    for (std::int64_t i = 1; i <= n_sources; ++i) a.sources.push_back("s" + std::to_string(i));
  }
  t.int_in("heartbeat_s", a.heartbeat_s, 1, kYearS);
  t.num_in("feed_deviation", a.feed_deviation, 0.0, 1.0);
  t.num_in("noise", a.noise, 0.0, 0.5);
  return a;
}

}  // namespace

ScenarioSpec parse_scenario(std::string_view text, const std::filesystem::path& file) {
  toml::table root;
  try {
    root = toml::parse(text, file.string());
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw scenario_error(file.string() + ":" + std::to_string(where.line) + ":" +
                         std::to_string(where.column) +
                         ": parse error: " + std::string(e.description()) + ".");
  }
  const Table top(root, "", file);
  top.allow({"name", "description", "seed", "clock", "assets", "events", "portfolios", "breaker",
             "oracle", "gas", "protection", "rebalancer", "feedback"});
  ScenarioSpec s;
  s.file = file;
  s.name = top.str("name").value_or(file.stem().string());
  s.description = top.str("description").value_or("");
  if (auto seed = top.integer("seed")) {
    if (*seed < 0) top.fail("seed", "must be >= 0");
    s.seed = static_cast<std::uint64_t>(*seed);
  }
  const auto assets = top.array_of_tables("assets");
  if (assets.empty()) top.fail("assets", "is required (at least one [[assets]] table)");
  std::set<std::string> symbols;
  for (std::size_t i = 0; i < assets.size(); ++i) {
    auto a = read_asset(assets[i], s.replay, i);
    if (!symbols.insert(a.symbol).second) assets[i].fail("symbol", "repeats " + a.symbol);
    if (a.csv && a.csv->is_relative()) a.csv = file.parent_path() / *a.csv;
    s.assets.push_back(std::move(a));
  }
  if (auto clock = top.sub("clock")) {
    if (s.replay) {
      clock->allow({"from", "to"});
    } else {
      clock->allow({"from", "days", "step_s", "history_days"});
    }
    for (const char* k : {"from", "to"}) {
      if (auto d = clock->str(k)) {
        if (!parse_iso_date(*d)) clock->fail(k, "must be a date YYYY-MM-DD, got '" + *d + "'");
        (std::string(k) == "from" ? s.from : s.to) = *d;
      }
    }
    clock->num_in("days", s.days, 0.0, kMaxDays, true);
    clock->int_in("step_s", s.step_s, 60, 86'400);
    clock->int_in("history_days", s.history_days, 0, 100'000);
  }
  if (!s.replay && s.from.empty()) s.from = "2024-01-01";
  if (!s.from.empty() && !s.to.empty() && *parse_iso_date(s.to) < *parse_iso_date(s.from)) {
    top.fail("clock.to", "must not be before clock.from");
  }
  for (const auto& e : top.array_of_tables("events")) s.events.push_back(read_event(e, s));
  const auto portfolios = top.array_of_tables("portfolios");
  std::set<std::uint64_t> ids;
  for (std::size_t i = 0; i < portfolios.size(); ++i) {
    auto p = read_portfolio(portfolios[i], i);
    for (const auto& [sym, q] : p.positions) {
      if (symbols.count(sym) == 0) {
        portfolios[i].fail("positions", "holds " + sym + ", which is not an asset of the scenario");
      }
    }
    if (!ids.insert(p.id).second) portfolios[i].fail("id", "repeats " + std::to_string(p.id));
    s.portfolios.push_back(std::move(p));
  }
  if (auto b = top.sub("breaker")) read_breaker(*b, s.breaker);
  if (auto o = top.sub("oracle")) {
    o->allow({"max_age_s", "min_interval_s", "max_var_change"});
    o->int_in("max_age_s", s.oracle.max_age_s, 1, kYearS);
    o->int_in("min_interval_s", s.oracle.min_interval_s, 0, kYearS);
    o->num_in("max_var_change", s.oracle.max_var_change, 0.0, 1e6);
  }
  if (auto g = top.sub("gas")) {
    g->allow({"price_gwei", "eth_usd"});
    g->num_in("price_gwei", s.gas.price_gwei, 0.0, 1e6);
    g->num_in("eth_usd", s.gas.eth_usd, 0.0, 1e9);
  }
  if (auto p = top.sub("protection")) {
    p->allow({"enabled", "loading", "premium_floor", "payout_cap"});
    if (auto v = p->boolean("enabled")) s.protection.enabled = *v;
    p->num_in("loading", s.protection.loading, 0.0, 1000.0);
    p->num_in("premium_floor", s.protection.premium_floor, 0.0, 1.0);
    p->num_in("payout_cap", s.protection.payout_cap, 0.0, 1.0, true);
  }
  if (auto r = top.sub("rebalancer")) {
    r->allow({"normal_weight", "risk_off_weight", "fee_bps"});
    r->num_in("normal_weight", s.rebalancer.normal_weight, 0.0, 1.0);
    r->num_in("risk_off_weight", s.rebalancer.risk_off_weight, 0.0, 1.0);
    r->int_in("fee_bps", s.rebalancer.fee_bps, 0, 10'000);
  }
  if (auto f = top.sub("feedback")) {
    f->allow({"asset", "amm_risky", "vault_risky", "arb_speed", "max_price_impact"});
    s.feedback.enabled = true;
    const auto asset = f->str("asset");
    if (!asset || symbols.count(*asset) == 0) {
      f->fail("asset", "must name an asset of the scenario");
    }
    s.feedback.asset = *asset;
    f->num_in("amm_risky", s.feedback.amm_risky, 0.0, 1e18, true);
    f->num_in("vault_risky", s.feedback.vault_risky, 0.0, 1e18);
    f->num_in("arb_speed", s.feedback.arb_speed, 0.0, 1.0);
    f->num_in("max_price_impact", s.feedback.max_price_impact, 0.0, 0.5, true);
    if (s.replay) f->fail("asset", "the feedback loop needs a synthetic market, not a replay");
  }
  return s;
}

ScenarioSpec load_scenario(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw scenario_error("cannot read the scenario file " + file.string() + ".");
  std::ostringstream os;
  os << in.rdbuf();
  return parse_scenario(os.str(), file);
}

ScenarioSpec replay_scenario(const std::vector<std::filesystem::path>& csv_files) {
  ScenarioSpec s;
  s.replay = true;
  s.name = "prices";
  s.description = "replay of";
  std::set<std::string> symbols;
  for (const auto& f : csv_files) {
    ScenarioAsset a;
    a.symbol = f.stem().string();
    if (!symbols.insert(a.symbol).second) {
      throw scenario_error("--prices: two files name the asset " + a.symbol + ".");
    }
    a.csv = f;
    a.sources = {"s1", "s2", "s3"};
    a.heartbeat_s = 86'400;
    a.noise = 0.0;
    s.description += " " + f.filename().string();
    s.assets.push_back(std::move(a));
  }
  return s;
}

}  // namespace varkeeper::keeper
