// A small, thread-safe metrics registry rendered in the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format):
//   # HELP <name> <help, with \ and newline escaped>
//   # TYPE <name> counter|gauge|histogram
//   <name>{<label>="<value, with \ " and newline escaped>",...} <value>
// Families are rendered sorted by name, series sorted by their label values, so the output is
// deterministic. A labelled family with no series yet is declared by its HELP and TYPE lines
// alone (as the Python client does), so every family is in every exposition; an unlabelled
// family always has its one series, starting at 0.
//
// Safety: label names that name a secret (password, secret, private_key, mnemonic, ...) are
// refused at registration, and a label value that looks like a 32-byte hex string (a private key,
// or an unbounded-cardinality hash) is replaced by "redacted". Never put keys in metrics.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace varkeeper::keeper {

enum class MetricType { kCounter, kGauge, kHistogram };

class MetricsRegistry;

// One metric family: a name, a help text, a fixed list of label names, and one series per
// distinct tuple of label values (given in the order of the label names).
class MetricFamily {
 public:
  // Only the registry creates families.
  class Token {
    Token() = default;
    friend class MetricsRegistry;
  };
  MetricFamily(Token, std::mutex& mutex, std::string name, std::string help, MetricType type,
               std::vector<std::string> labels, std::vector<double> bounds);
  virtual ~MetricFamily() = default;
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] MetricType type() const noexcept { return type_; }
  [[nodiscard]] const std::vector<std::string>& label_names() const noexcept { return labels_; }

 protected:
  struct Series {
    double value = 0;                   // counter or gauge
    std::vector<std::uint64_t> counts;  // histogram: per bucket (not cumulative), +Inf last
    double sum = 0;
    std::uint64_t count = 0;
  };

  // The series for `values` (created on first use); the caller holds mutex_.
  Series& series(const std::vector<std::string>& values);
  [[nodiscard]] const Series* find(const std::vector<std::string>& values) const;  // ditto
  void render(std::string& out) const;  // the caller holds mutex_

  std::mutex& mutex_;
  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> labels_;
  std::vector<double> bounds_;  // histogram upper bounds, strictly increasing, finite
  std::map<std::vector<std::string>, Series> series_;

  friend class MetricsRegistry;
};

// A monotonically increasing count. inc() with a negative or non-finite amount throws
// std::invalid_argument (a programmer error); so does a wrong number of label values.
class Counter : public MetricFamily {
 public:
  void inc(const std::vector<std::string>& labels = {}, double amount = 1.0);
  [[nodiscard]] double value(const std::vector<std::string>& labels = {}) const;
  using MetricFamily::MetricFamily;
};

// A value that goes up and down.
class Gauge : public MetricFamily {
 public:
  void set(const std::vector<std::string>& labels, double value);
  void set(double value) { set({}, value); }
  void add(const std::vector<std::string>& labels, double delta);
  // Drops a series (e.g. a portfolio removed from the config).
  void remove(const std::vector<std::string>& labels);
  [[nodiscard]] double value(const std::vector<std::string>& labels = {}) const;
  using MetricFamily::MetricFamily;
};

// Observations counted into fixed buckets; rendered as cumulative <name>_bucket{le="..."} lines
// ending with le="+Inf", then <name>_sum and <name>_count. A value equal to a bound falls into
// that bound's bucket (le = "less than or equal").
class Histogram : public MetricFamily {
 public:
  void observe(const std::vector<std::string>& labels, double value);
  void observe(double value) { observe({}, value); }
  [[nodiscard]] std::uint64_t count(const std::vector<std::string>& labels = {}) const;
  using MetricFamily::MetricFamily;
};

class MetricsRegistry {
 public:
  // Every family name must start with `required_prefix` ("varkeeper_" in the daemon).
  explicit MetricsRegistry(std::string required_prefix = "varkeeper_");
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;
  ~MetricsRegistry();

  // Register a family, or return the one already registered under that name if its type, help,
  // labels (and buckets) are the same. Invalid names (not [a-zA-Z_:][a-zA-Z0-9_:]*, or without the
  // prefix), invalid or secret-looking label names, "le" on a histogram, duplicate label names,
  // buckets that are empty, not finite or not strictly increasing, or a clash with an existing
  // family throw std::invalid_argument.
  Counter& counter(std::string_view name, std::string_view help,
                   std::vector<std::string> label_names = {});
  Gauge& gauge(std::string_view name, std::string_view help,
               std::vector<std::string> label_names = {});
  Histogram& histogram(std::string_view name, std::string_view help,
                       std::vector<std::string> label_names, std::vector<double> bounds);

  // The text exposition format 0.0.4 (Content-Type: text/plain; version=0.0.4).
  [[nodiscard]] std::string render() const;

 private:
  MetricFamily& add(std::string_view name, std::string_view help, MetricType type,
                    std::vector<std::string> labels, std::vector<double> bounds);

  std::string prefix_;
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<MetricFamily>, std::less<>> families_;
};

// The Content-Type of render()'s output.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// Label-value escaping of the text format: \ -> \\, " -> \", newline -> \n.
[[nodiscard]] std::string escape_label_value(std::string_view value);
// HELP-text escaping of the text format: \ -> \\, newline -> \n.
[[nodiscard]] std::string escape_help(std::string_view help);
// A sample value as the text format writes it: shortest round-trip decimal, +Inf, -Inf, NaN.
[[nodiscard]] std::string format_sample_value(double value);

// Default buckets of the tick latency histogram, in seconds (the Go client's defaults up to 10 s,
// plus 30 s and 60 s for a tick stuck behind a slow endpoint).
[[nodiscard]] std::vector<double> tick_seconds_buckets();

// The families the daemon exports, registered in one place so names, help and labels stay
// consistent. Label values in order of the label names shown.
struct KeeperMetrics {
  explicit KeeperMetrics(MetricsRegistry& registry);

  Histogram& tick_seconds;         // varkeeper_tick_seconds
  Gauge& portfolio_var;            // varkeeper_portfolio_var{portfolio}
  Gauge& portfolio_cvar;           // varkeeper_portfolio_cvar{portfolio}
  Gauge& portfolio_published_var;  // varkeeper_portfolio_published_var{portfolio}
  Gauge& breaker_state;            // varkeeper_breaker_state{portfolio}: 0 normal,
                                   //   1 tripped, 2 cooldown (risk::BreakerStatus)
  Counter& reports_published;      // varkeeper_reports_published_total{portfolio,reason}
  Gauge& tx_state;                 // varkeeper_tx_state{state}: transactions per state
  Counter& rpc_errors;             // varkeeper_rpc_errors_total{endpoint,class}
  Counter& gas_spent_wei;          // varkeeper_gas_spent_wei_total
  Counter& incidents;              // varkeeper_incidents_total{category}
  Counter& risk_diagnostics;       // varkeeper_risk_diagnostics_total{portfolio,kind}: ticks whose
                                   // estimate carried the diagnostic (risk/risk_diagnostic.hpp)
  Gauge& oprisk_aro;               // varkeeper_oprisk_aro{category}
  Gauge& oprisk_ale;               // varkeeper_oprisk_ale{category}
  Gauge& price;                    // varkeeper_price{asset}
  Gauge& last_publish_timestamp_seconds;  // varkeeper_last_publish_timestamp_seconds{portfolio}
  Gauge& build_info;                      // varkeeper_build_info{version} = 1
};

}  // namespace varkeeper::keeper
