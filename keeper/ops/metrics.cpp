#include "keeper/ops/metrics.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>
#include <utility>

namespace varkeeper::keeper {
namespace {

bool is_name_start(char c, bool colon_ok) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':');
}
bool is_name_char(char c, bool colon_ok) {
  return is_name_start(c, colon_ok) || (c >= '0' && c <= '9');
}

// Exposition formats: metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]* (names starting with "__" are reserved for Prometheus' internal use).
bool valid_name(std::string_view s, bool colon_ok) {
  if (s.empty() || !is_name_start(s[0], colon_ok)) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [&](char c) { return is_name_char(c, colon_ok); });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// Label names that would invite a secret into a label value.
bool secret_label_name(std::string_view name) {
  static constexpr std::array<std::string_view, 8> kWords = {
      "password", "passwd", "passphrase", "secret", "private", "mnemonic", "seed", "key"};
  const std::string l = lower(name);
  return std::any_of(kWords.begin(), kWords.end(),
                     [&](std::string_view w) { return l.find(w) != std::string::npos; });
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// 64 hex digits, with or without 0x: a private key or a hash, neither belongs in a label.
bool looks_like_32_byte_hex(std::string_view v) {
  if (v.size() == 66 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
    v.remove_prefix(2);
  }
  return v.size() == 64 && std::all_of(v.begin(), v.end(), is_hex);
}

std::string_view type_name(MetricType t) {
  switch (t) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, std::string_view le = {}) {
  if (names.empty() && le.empty()) {
    return;
  }
  out += '{';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) {
      out += ',';
    }
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (!le.empty()) {
    if (!names.empty()) {
      out += ',';
    }
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_sample_value(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  // Integers a double holds exactly (|v| <= 2^53) print as integers, so a wei counter reads
  // "1234567890000000", not "1.23456789e+15"; others as the shortest decimal that reads back to
  // the same double.
  if (value == std::trunc(value) && std::fabs(value) <= 9007199254740992.0) {
    std::array<char, 32> buf{};
    const auto r =
        std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::fixed);
    return {buf.data(), r.ptr};
  }
  std::array<char, 32> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  return {buf.data(), r.ptr};
}

std::vector<double> tick_seconds_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

MetricFamily::MetricFamily(Token, std::mutex& mutex, std::string name, std::string help,
                           MetricType type, std::vector<std::string> labels,
                           std::vector<double> bounds)
    : mutex_(mutex),
      name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      labels_(std::move(labels)),
      bounds_(std::move(bounds)) {}

MetricFamily::Series& MetricFamily::series(const std::vector<std::string>& values) {
  if (values.size() != labels_.size()) {
    throw std::invalid_argument(name_ + ": expected " + std::to_string(labels_.size()) +
                                " label value(s), got " + std::to_string(values.size()));
  }
  std::vector<std::string> key = values;
  for (auto& v : key) {
    if (looks_like_32_byte_hex(v)) {
      v = "redacted";
    }
  }
  auto [it, inserted] = series_.try_emplace(std::move(key));
  if (inserted && type_ == MetricType::kHistogram) {
    it->second.counts.assign(bounds_.size() + 1, 0);
  }
  return it->second;
}

const MetricFamily::Series* MetricFamily::find(const std::vector<std::string>& values) const {
  std::vector<std::string> key = values;
  for (auto& v : key) {
    if (looks_like_32_byte_hex(v)) {
      v = "redacted";
    }
  }
  auto it = series_.find(key);
  return it == series_.end() ? nullptr : &it->second;
}

void MetricFamily::render(std::string& out) const {
  // A labelled family with no series yet is still declared (HELP and TYPE, no sample), so every
  // family the keeper exports is in every exposition (issue 19: the Grafana dashboard's queries
  // are checked against it).
  if (!help_.empty()) {  // an empty HELP line says nothing (the Go client omits it too)
    out += "# HELP ";
    out += name_;
    out += ' ';
    out += escape_help(help_);
    out += '\n';
  }
  out += "# TYPE ";
  out += name_;
  out += ' ';
  out += type_name(type_);
  out += '\n';
  for (const auto& [values, s] : series_) {
    if (type_ != MetricType::kHistogram) {
      out += name_;
      append_labels(out, labels_, values);
      out += ' ';
      out += format_sample_value(s.value);
      out += '\n';
      continue;
    }
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= bounds_.size(); ++b) {
      cumulative += s.counts[b];
      out += name_;
      out += "_bucket";
      append_labels(out, labels_, values,
                    b < bounds_.size() ? format_sample_value(bounds_[b]) : std::string("+Inf"));
      out += ' ';
      out += std::to_string(cumulative);
      out += '\n';
    }
    out += name_;
    out += "_sum";
    append_labels(out, labels_, values);
    out += ' ';
    out += format_sample_value(s.sum);
    out += '\n';
    out += name_;
    out += "_count";
    append_labels(out, labels_, values);
    out += ' ';
    out += std::to_string(s.count);
    out += '\n';
  }
}

void Counter::inc(const std::vector<std::string>& labels, double amount) {
  if (!(amount >= 0) || std::isinf(amount)) {
    throw std::invalid_argument(name_ + ": a counter only goes up by a finite amount >= 0");
  }
  std::lock_guard lock(mutex_);
  series(labels).value += amount;
}

double Counter::value(const std::vector<std::string>& labels) const {
  std::lock_guard lock(mutex_);
  const Series* s = find(labels);
  return s ? s->value : 0;
}

void Gauge::set(const std::vector<std::string>& labels, double value) {
  std::lock_guard lock(mutex_);
  series(labels).value = value;
}

void Gauge::add(const std::vector<std::string>& labels, double delta) {
  std::lock_guard lock(mutex_);
  series(labels).value += delta;
}

void Gauge::remove(const std::vector<std::string>& labels) {
  std::lock_guard lock(mutex_);
  if (labels_.empty()) {
    return;  // the one unlabelled series always exists
  }
  std::vector<std::string> key = labels;
  for (auto& v : key) {
    if (looks_like_32_byte_hex(v)) {
      v = "redacted";
    }
  }
  series_.erase(key);
}

double Gauge::value(const std::vector<std::string>& labels) const {
  std::lock_guard lock(mutex_);
  const Series* s = find(labels);
  return s ? s->value : 0;
}

void Histogram::observe(const std::vector<std::string>& labels, double value) {
  if (std::isnan(value)) {
    throw std::invalid_argument(name_ + ": NaN observation");
  }
  std::lock_guard lock(mutex_);
  Series& s = series(labels);
  // The first bound >= value: le is inclusive.
  const auto b = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                          bounds_.begin());
  ++s.counts[b];
  s.sum += value;
  ++s.count;
}

std::uint64_t Histogram::count(const std::vector<std::string>& labels) const {
  std::lock_guard lock(mutex_);
  const Series* s = find(labels);
  return s ? s->count : 0;
}

MetricsRegistry::MetricsRegistry(std::string required_prefix)
    : prefix_(std::move(required_prefix)) {}

MetricsRegistry::~MetricsRegistry() = default;

MetricFamily& MetricsRegistry::add(std::string_view name, std::string_view help, MetricType type,
                                   std::vector<std::string> labels, std::vector<double> bounds) {
  const std::string n(name);
  if (!valid_name(name, true)) {
    throw std::invalid_argument("invalid metric name '" + n + "'");
  }
  if (name.substr(0, prefix_.size()) != prefix_) {
    throw std::invalid_argument("metric name '" + n + "' must start with '" + prefix_ + "'");
  }
  const auto bad_label = [&n](const std::string& label, std::string_view why) {
    std::string message = n;
    message.append(": label '").append(label).append("' ").append(why);
    return std::invalid_argument(message);
  };
  std::set<std::string> seen;
  for (const auto& l : labels) {
    if (!valid_name(l, false) || l.rfind("__", 0) == 0) {
      throw bad_label(l, "is not a valid name");
    }
    if (secret_label_name(l)) {
      throw bad_label(l, "invites a secret into metrics");
    }
    if (type == MetricType::kHistogram && l == "le") {
      throw bad_label(l, "is reserved for histogram buckets");
    }
    if (!seen.insert(l).second) {
      throw bad_label(l, "appears twice");
    }
  }
  if (type == MetricType::kHistogram) {
    if (bounds.empty()) {
      throw std::invalid_argument(n + ": a histogram needs at least one bucket");
    }
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
        throw std::invalid_argument(n + ": buckets must be finite and strictly increasing");
      }
    }
  }

  std::lock_guard lock(mutex_);
  if (auto it = families_.find(name); it != families_.end()) {
    MetricFamily& f = *it->second;
    if (f.type_ != type || f.help_ != help || f.labels_ != labels || f.bounds_ != bounds) {
      throw std::invalid_argument("metric '" + n + "' already registered with another shape");
    }
    return f;
  }
  std::unique_ptr<MetricFamily> f;
  const bool unlabelled = labels.empty();
  switch (type) {
    case MetricType::kCounter:
      f = std::make_unique<Counter>(MetricFamily::Token{}, mutex_, n, std::string(help), type,
                                    std::move(labels), std::move(bounds));
      break;
    case MetricType::kGauge:
      f = std::make_unique<Gauge>(MetricFamily::Token{}, mutex_, n, std::string(help), type,
                                  std::move(labels), std::move(bounds));
      break;
    case MetricType::kHistogram:
      f = std::make_unique<Histogram>(MetricFamily::Token{}, mutex_, n, std::string(help), type,
                                      std::move(labels), std::move(bounds));
      break;
  }
  if (unlabelled) {
    (void)f->series({});
  }
  return *families_.emplace(n, std::move(f)).first->second;
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help,
                                  std::vector<std::string> label_names) {
  return static_cast<Counter&>(add(name, help, MetricType::kCounter, std::move(label_names), {}));
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help,
                              std::vector<std::string> label_names) {
  return static_cast<Gauge&>(add(name, help, MetricType::kGauge, std::move(label_names), {}));
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names,
                                      std::vector<double> bounds) {
  return static_cast<Histogram&>(
      add(name, help, MetricType::kHistogram, std::move(label_names), std::move(bounds)));
}

std::string MetricsRegistry::render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : families_) {
    family->render(out);
  }
  return out;
}

KeeperMetrics::KeeperMetrics(MetricsRegistry& r)
    : tick_seconds(r.histogram("varkeeper_tick_seconds",
                               "Wall time of one keeper tick (prices, risk, publish, actions).", {},
                               tick_seconds_buckets())),
      portfolio_var(r.gauge("varkeeper_portfolio_var",
                            "Computed Value-at-Risk, a positive loss fraction of portfolio value.",
                            {"portfolio"})),
      portfolio_cvar(r.gauge("varkeeper_portfolio_cvar",
                             "Computed CVaR (expected shortfall), a positive loss fraction.",
                             {"portfolio"})),
      portfolio_published_var(r.gauge("varkeeper_portfolio_published_var",
                                      "VaR after the breaker and smoothing, as last published.",
                                      {"portfolio"})),
      breaker_state(r.gauge("varkeeper_breaker_state",
                            "Circuit breaker state: 0 normal, 1 tripped, 2 cooldown.",
                            {"portfolio"})),
      reports_published(r.counter("varkeeper_reports_published_total",
                                  "Risk reports published, by trigger (deviation, heartbeat, "
                                  "breaker).",
                                  {"portfolio", "reason"})),
      tx_state(r.gauge("varkeeper_tx_state",
                       "Transactions tracked by the transaction manager, "
                       "by state.",
                       {"state"})),
      rpc_errors(r.counter("varkeeper_rpc_errors_total",
                           "JSON-RPC failures, by endpoint (without credentials) and class.",
                           {"endpoint", "class"})),
      gas_spent_wei(r.counter("varkeeper_gas_spent_wei_total",
                              "Gas fees paid by finalized keeper transactions, in wei.")),
      incidents(r.counter("varkeeper_incidents_total",
                          "Operational incidents recorded, by category.", {"category"})),
      risk_diagnostics(r.counter("varkeeper_risk_diagnostics_total",
                                 "Ticks whose risk estimate carried a diagnostic (a fallback, a "
                                 "bound, a clamp), by portfolio and kind.",
                                 {"portfolio", "kind"})),
      oprisk_aro(r.gauge("varkeeper_oprisk_aro",
                         "Hybrid annualized rate of occurrence per incident category.",
                         {"category"})),
      oprisk_ale(r.gauge("varkeeper_oprisk_ale",
                         "Annualized loss expectancy (ARO x SLE) per incident category.",
                         {"category"})),
      price(
          r.gauge("varkeeper_price", "Consensus price per asset, in the feed's unit.", {"asset"})),
      last_publish_timestamp_seconds(r.gauge("varkeeper_last_publish_timestamp_seconds",
                                             "Unix time of the last accepted report per portfolio.",
                                             {"portfolio"})),
      build_info(
          r.gauge("varkeeper_build_info", "Always 1; the version in a label.", {"version"})) {
#ifdef VARKEEPER_VERSION
  build_info.set({VARKEEPER_VERSION}, 1);
#endif
}

}  // namespace varkeeper::keeper
