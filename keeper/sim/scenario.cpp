#include "keeper/sim/scenario.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "keeper/config/breaker_schema.hpp"
#include "keeper/config/portfolio_schema.hpp"
#include "keeper/config/toml_table.hpp"
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
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') {
    return std::nullopt;
  }
  int y = 0, m = 0, d = 0;
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
    if (s[i] < '0' || s[i] > '9') {
      return std::nullopt;
    }
  }
  y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  m = (s[5] - '0') * 10 + (s[6] - '0');
  d = (s[8] - '0') * 10 + (s[9] - '0');
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m < 1 || m > 12 || d < 1) {
    return std::nullopt;
  }
  if (d > kDays[m - 1] + (m == 2 && leap ? 1 : 0)) {
    return std::nullopt;
  }
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

namespace fs = std::filesystem;
using Bound = TomlTable::Bound;

constexpr double kMaxDays = 36'600.0;
constexpr std::int64_t kDayS = 86'400;
constexpr std::int64_t kYearS = 365 * kDayS;

// A number in [lo, hi] (or (lo, hi] when lo_open) into `out`, left as is when the key is absent.
void number_in(const TomlTable& t, std::string_view k, double& out, double lo, double hi,
               bool lo_open = false) {
  out = t.number_in(k, out, lo, lo_open ? Bound::kOpen : Bound::kClosed, hi, Bound::kClosed);
}

template <class Int>
void int_in(const TomlTable& t, std::string_view k, Int& out, std::int64_t lo, std::int64_t hi) {
  if (auto v = t.opt_int_in(k, lo, hi)) {
    out = static_cast<Int>(*v);
  }
}

std::size_t source_index(const TomlTable& t, const ScenarioSpec& s, const std::string& asset) {
  const auto it = std::find_if(s.assets.begin(), s.assets.end(),
                               [&](const ScenarioAsset& a) { return a.symbol == asset; });
  const auto name = t.opt_string("source");
  if (!name) {
    t.fail("source", "is required (the name of one of " + asset + "'s " +
                         std::to_string(it->sources.size()) + " sources)");
  }
  const auto f = std::find(it->sources.begin(), it->sources.end(), *name);
  if (f == it->sources.end()) {
    t.fail("source", "asset " + asset + " has no source '" + *name + "'");
  }
  return static_cast<std::size_t>(f - it->sources.begin());
}

EventKind read_event_kind(const TomlTable& probe) {
  static const std::pair<const char*, EventKind> kKinds[] = {
      {"vol-regime", EventKind::kVolRegime}, {"jump", EventKind::kJump},
      {"depeg", EventKind::kDepeg},          {"manipulate", EventKind::kManipulate},
      {"freeze", EventKind::kFreeze},        {"outage", EventKind::kOutage}};
  const std::string kind = probe.string("kind");
  const auto k = std::find_if(std::begin(kKinds), std::end(kKinds),
                              [&](const auto& p) { return kind == p.first; });
  if (k == std::end(kKinds)) {
    probe.fail("kind",
               "must be vol-regime, jump, depeg, manipulate, freeze or outage, got '" + kind + "'");
  }
  return k->second;
}

// The keys an event of this kind may hold.
TomlTable event_table(const TomlFile& file, const toml::table& table, const std::string& path,
                      EventKind kind) {
  switch (kind) {
    case EventKind::kVolRegime:
      return TomlTable(file, table, path, {"kind", "asset", "from_day", "to_day", "factor"});
    case EventKind::kJump: return TomlTable(file, table, path, {"kind", "asset", "at_day", "size"});
    case EventKind::kDepeg:
      return TomlTable(file, table, path, {"kind", "asset", "from_day", "to_day", "level"});
    case EventKind::kManipulate:
      return TomlTable(file, table, path,
                       {"kind", "asset", "source", "from_day", "to_day", "factor"});
    case EventKind::kFreeze:
      return TomlTable(file, table, path, {"kind", "asset", "source", "from_day", "to_day"});
    case EventKind::kOutage: break;
  }
  return TomlTable(file, table, path, {"kind", "from_day", "to_day"});
}

// The size of an event over [from_day, to_day): factor, level or source.
void read_event_span(const TomlTable& t, const ScenarioSpec& s, ScenarioEvent& e) {
  t.require("from_day");
  number_in(t, "from_day", e.from_day, 0.0, kMaxDays);
  if (e.kind == EventKind::kDepeg) {
    t.require("to_day");
  }
  number_in(t, "to_day", e.to_day, 0.0, 1e300);
  if (e.to_day <= e.from_day) {
    t.fail("to_day", "must be after from_day");
  }
  switch (e.kind) {
    case EventKind::kVolRegime:
      t.require("factor");
      number_in(t, "factor", e.value, 0.0, 1000.0, true);
      break;
    case EventKind::kDepeg:
      if (!t.has("level")) {
        t.fail("level", "is required (0.9 = the price ends 10 % lower)");
      }
      number_in(t, "level", e.value, 0.0, 100.0, true);
      break;
    case EventKind::kManipulate:
      e.source = source_index(t, s, e.asset);
      t.require("factor");
      number_in(t, "factor", e.value, 0.0, 1000.0, true);
      break;
    case EventKind::kFreeze:
      if (t.has("source")) {
        e.source = source_index(t, s, e.asset);
      }
      break;
    default: break;
  }
}

ScenarioEvent read_event(const TomlFile& file, const toml::table& table, const std::string& path,
                         const ScenarioSpec& s) {
  ScenarioEvent e;
  // Every event key, to read `kind`; then only the keys of that kind.
  e.kind = read_event_kind(TomlTable(
      file, table, path,
      {"kind", "asset", "source", "from_day", "to_day", "at_day", "factor", "size", "level"}));
  const TomlTable t = event_table(file, table, path, e.kind);
  if (e.kind != EventKind::kOutage) {
    const std::string asset = t.string("asset");
    if (std::none_of(s.assets.begin(), s.assets.end(),
                     [&](const ScenarioAsset& a) { return a.symbol == asset; })) {
      t.fail("asset", "names no asset of this scenario ('" + asset + "')");
    }
    e.asset = asset;
  }
  if (e.kind != EventKind::kJump) {
    read_event_span(t, s, e);
    return e;
  }
  t.require("at_day");
  number_in(t, "at_day", e.from_day, 0.0, kMaxDays);
  if (!t.has("size")) {
    t.fail("size", "is required (relative move, -0.3 = a 30 % fall)");
  }
  number_in(t, "size", e.value, -0.999, 100.0);
  return e;
}

// sources = ["a", "b"] (names) or sources = 3 ("s1" .. "s3").
void read_asset_sources(const TomlTable& t, ScenarioAsset& a) {
  std::int64_t n_sources = 3;
  const auto* node = t.get("sources");
  if (const auto* arr = node != nullptr ? node->as_array() : nullptr) {
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const auto* s = (*arr)[i].as_string();
      if (s == nullptr || s->get().empty()) {
        t.fail("sources", "must be a list of names");
      }
      a.sources.push_back(s->get());
    }
    if (a.sources.empty()) {
      t.fail("sources", "must name at least one source");
    }
    if (std::set<std::string>(a.sources.begin(), a.sources.end()).size() != a.sources.size()) {
      t.fail("sources", "names a source twice");
    }
    return;
  }
  int_in(t, "sources", n_sources, 1, 32);
  for (std::int64_t i = 1; i <= n_sources; ++i) {
    a.sources.push_back("s" + std::to_string(i));
  }
}

ScenarioAsset read_asset(const TomlTable& t, bool& replay, std::size_t index) {
  ScenarioAsset a;
  a.symbol = t.string("symbol");
  if (a.symbol.empty()) {
    t.fail("symbol", "is required");
  }
  if (auto csv = t.opt_string("csv")) {
    a.csv = fs::path(*csv);
  }
  if (index == 0) {
    replay = a.csv.has_value();
  }
  if (replay != a.csv.has_value()) {
    t.fail("csv",
           "must be given for every asset or for none (a scenario either replays files or "
           "is synthetic)");
  }
  number_in(t, "price", a.price, 0.0, 1e15, true);
  number_in(t, "daily_vol", a.daily_vol, 0.0, 5.0);
  number_in(t, "daily_drift", a.daily_drift, -1.0, 1.0);
  read_asset_sources(t, a);
  int_in(t, "heartbeat_s", a.heartbeat_s, 1, kYearS);
  number_in(t, "feed_deviation", a.feed_deviation, 0.0, 1.0);
  number_in(t, "noise", a.noise, 0.0, 0.5);
  return a;
}

void read_assets(const TomlTable& top, ScenarioSpec& s) {
  const auto assets = top.tables("assets");
  if (assets.empty()) {
    top.fail("assets", "is required (at least one [[assets]] table)");
  }
  for (std::size_t i = 0; i < assets.size(); ++i) {
    const TomlTable t(top.file(), *assets[i].second, assets[i].first,
                      {"symbol", "csv", "price", "daily_vol", "daily_drift", "sources",
                       "heartbeat_s", "feed_deviation", "noise"});
    auto a = read_asset(t, s.replay, i);
    for (const auto& earlier : s.assets) {
      if (earlier.symbol == a.symbol) {
        t.fail("symbol", "repeats " + a.symbol);
      }
    }
    if (a.csv && a.csv->is_relative()) {
      a.csv = s.file.parent_path() / *a.csv;
    }
    s.assets.push_back(std::move(a));
  }
}

void read_clock(const TomlTable& top, ScenarioSpec& s) {
  if (const auto clock = s.replay ? top.sub("clock", {"from", "to"})
                                  : top.sub("clock", {"from", "days", "step_s", "history_days"})) {
    for (const char* k : {"from", "to"}) {
      if (auto d = clock->opt_string(k)) {
        if (!parse_iso_date(*d)) {
          clock->fail(k, "must be a date YYYY-MM-DD, got '" + *d + "'");
        }
        (std::string(k) == "from" ? s.from : s.to) = *d;
      }
    }
    number_in(*clock, "days", s.days, 0.0, kMaxDays, true);
    int_in(*clock, "step_s", s.step_s, 60, 86'400);
    int_in(*clock, "history_days", s.history_days, 0, 100'000);
    if (!s.from.empty() && !s.to.empty() && *parse_iso_date(s.to) < *parse_iso_date(s.from)) {
      clock->fail("to", "must not be before clock.from");
    }
  }
  if (!s.replay && s.from.empty()) {
    s.from = "2024-01-01";
  }
}

// [[portfolios]] (keeper/config/portfolio_schema.hpp), long positions only: the simulator's vaults
// and protection buyers hold what they insure.
void read_scenario_portfolios(const TomlTable& top, ScenarioSpec& s) {
  std::vector<std::string> symbols;
  for (const auto& a : s.assets) {
    symbols.push_back(a.symbol);
  }
  const auto portfolios = read_portfolios(top, symbols);
  for (std::size_t i = 0; i < portfolios.size(); ++i) {
    for (const auto& [symbol, quantity] : portfolios[i].positions) {
      if (quantity < 0.0) {
        const std::string key = "portfolios[" + std::to_string(i) + "].positions";
        const auto* table = top.raw().at_path(key).node();
        std::string path = key;
        path.append(".").append(symbol);
        top.file().fail(path, table->as_table()->get(symbol),
                        "must be > 0 in a scenario (the simulator holds long positions only), "
                        "got " +
                            format_number(quantity));
      }
    }
    s.portfolios.push_back(portfolio_spec(portfolios[i]));
  }
}

// [oracle], [gas], [protection], [rebalancer]: the models of the on-chain side.
void read_chain_models(const TomlTable& top, ScenarioSpec& s) {
  if (const auto o = top.sub("oracle", {"max_age_s", "min_interval_s", "max_var_change"})) {
    int_in(*o, "max_age_s", s.oracle.max_age_s, 1, kYearS);
    int_in(*o, "min_interval_s", s.oracle.min_interval_s, 0, kYearS);
    number_in(*o, "max_var_change", s.oracle.max_var_change, 0.0, 1e6);
  }
  if (const auto g = top.sub("gas", {"price_gwei", "eth_usd"})) {
    number_in(*g, "price_gwei", s.gas.price_gwei, 0.0, 1e6);
    number_in(*g, "eth_usd", s.gas.eth_usd, 0.0, 1e9);
  }
  if (const auto p = top.sub("protection", {"enabled", "loading", "premium_floor", "payout_cap"})) {
    s.protection.enabled = p->boolean("enabled", s.protection.enabled);
    number_in(*p, "loading", s.protection.loading, 0.0, 1000.0);
    number_in(*p, "premium_floor", s.protection.premium_floor, 0.0, 1.0);
    number_in(*p, "payout_cap", s.protection.payout_cap, 0.0, 1.0, true);
  }
  if (const auto r = top.sub("rebalancer", {"normal_weight", "risk_off_weight", "fee_bps",
                                            "max_trade", "cooldown_s"})) {
    number_in(*r, "normal_weight", s.rebalancer.normal_weight, 0.0, 1.0);
    number_in(*r, "risk_off_weight", s.rebalancer.risk_off_weight, 0.0, 1.0);
    int_in(*r, "fee_bps", s.rebalancer.fee_bps, 0, 10'000);
    number_in(*r, "max_trade", s.rebalancer.max_trade, 0.0, 1.0, true);
    int_in(*r, "cooldown_s", s.rebalancer.cooldown_s, 0, kYearS);
  }
}

void read_feedback(const TomlTable& top, ScenarioSpec& s) {
  const auto f =
      top.sub("feedback", {"asset", "amm_risky", "vault_risky", "arb_speed", "max_price_impact"});
  if (!f) {
    return;
  }
  s.feedback.enabled = true;
  const auto asset = f->opt_string("asset");
  if (!asset || std::none_of(s.assets.begin(), s.assets.end(),
                             [&](const ScenarioAsset& a) { return a.symbol == *asset; })) {
    f->fail("asset", "must name an asset of the scenario");
  }
  s.feedback.asset = *asset;
  number_in(*f, "amm_risky", s.feedback.amm_risky, 0.0, 1e18, true);
  number_in(*f, "vault_risky", s.feedback.vault_risky, 0.0, 1e18);
  number_in(*f, "arb_speed", s.feedback.arb_speed, 0.0, 1.0);
  number_in(*f, "max_price_impact", s.feedback.max_price_impact, 0.0, 0.5, true);
  if (s.replay) {
    f->fail("asset", "the feedback loop needs a synthetic market, not a replay");
  }
}

ScenarioSpec read_scenario(const TomlFile& file, const toml::table& root, const fs::path& path) {
  const TomlTable top(file, root, "",
                      {"name", "description", "seed", "clock", "assets", "events", "portfolios",
                       "breaker", "oracle", "gas", "protection", "rebalancer", "feedback"});
  ScenarioSpec s;
  s.file = path;
  s.name = top.opt_string("name").value_or(path.stem().string());
  s.description = top.opt_string("description").value_or("");
  s.seed = top.uint("seed", s.seed, 0);
  read_assets(top, s);
  read_clock(top, s);
  for (const auto& [event_path, table] : top.tables("events")) {
    s.events.push_back(read_event(file, *table, event_path, s));
  }
  read_scenario_portfolios(top, s);
  read_breaker(top, s.breaker);
  read_chain_models(top, s);
  read_feedback(top, s);
  return s;
}

}  // namespace

ScenarioSpec parse_scenario(std::string_view text, const std::filesystem::path& file) {
  try {
    const TomlFile toml_file(file.string(), file.parent_path());
    const toml::table root = parse_toml(text, file.string());
    return read_scenario(toml_file, root, file);
  } catch (const TomlError& e) {
    throw ScenarioError(e.what());
  }
}

ScenarioSpec load_scenario(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw ScenarioError("cannot read the scenario file " + file.string() + ".");
  }
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
      throw ScenarioError("--prices: two files name the asset " + a.symbol + ".");
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
