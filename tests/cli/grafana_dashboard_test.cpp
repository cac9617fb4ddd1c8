// Issue 19: docs/grafana/varkeeper.json's every query uses metrics the keeper exports, checked
// against a real /metrics of `varkeeper run` (the embedded local chain) after a few ticks; the
// same run's default tick lines stay short.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/test_support.hpp"

using namespace std::chrono_literals;
using varkeeper::test::TempDir;

namespace {

// PromQL's functions, aggregations and keywords: words that are not metric names.
const std::set<std::string> kPromqlWords = {"sum",
                                            "min",
                                            "max",
                                            "avg",
                                            "count",
                                            "stddev",
                                            "stdvar",
                                            "topk",
                                            "bottomk",
                                            "quantile",
                                            "count_values",
                                            "group",
                                            "by",
                                            "without",
                                            "on",
                                            "ignoring",
                                            "group_left",
                                            "group_right",
                                            "and",
                                            "or",
                                            "unless",
                                            "offset",
                                            "bool",
                                            "rate",
                                            "irate",
                                            "increase",
                                            "delta",
                                            "idelta",
                                            "deriv",
                                            "histogram_quantile",
                                            "time",
                                            "abs",
                                            "clamp_min",
                                            "clamp_max",
                                            "label_values",
                                            "max_over_time",
                                            "min_over_time",
                                            "avg_over_time",
                                            "sum_over_time",
                                            "changes",
                                            "resets",
                                            "vector",
                                            "scalar",
                                            "timestamp",
                                            "absent",
                                            "inf",
                                            "nan"};

// The metric names an expression (or a variable query such as label_values(m, label)) uses:
// string literals, label matchers {...}, range selectors [...] and the label lists of by(...),
// without(...), on(...), ignoring(...) are removed; numbers are skipped; a word followed by '('
// is a function; the words left are metric names.
std::set<std::string> metric_names(const std::string& expr) {
  std::string unquoted;  // string literals out first: a label value may hold { } [ ]
  for (std::size_t i = 0; i < expr.size(); ++i) {
    if (expr[i] != '"') {
      unquoted += expr[i];
      continue;
    }
    for (++i; i < expr.size() && expr[i] != '"'; ++i) {
      if (expr[i] == '\\') ++i;
    }
  }
  std::string s;  // then label matchers and range selectors
  int depth = 0;
  for (const char c : unquoted) {
    if (c == '{' || c == '[') ++depth;
    if (depth == 0) s += c;
    if (c == '}' || c == ']') --depth;
  }
  std::set<std::string> names;
  std::size_t i = 0;
  const auto is_start = [](char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
  };
  const auto is_part = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':';
  };
  while (i < s.size()) {
    const char c = s[i];
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      // a number, exponent included (1e18)
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
      continue;
    }
    if (!is_start(c)) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < s.size() && is_part(s[j])) ++j;
    const std::string word = s.substr(i, j - i);
    std::size_t k = j;
    while (k < s.size() && s[k] == ' ') ++k;
    if (word == "by" || word == "without" || word == "on" || word == "ignoring" ||
        word == "group_left" || word == "group_right") {
      if (k < s.size() && s[k] == '(') {
        k = s.find(')', k);  // label names, not metrics
        i = k == std::string::npos ? s.size() : k + 1;
        continue;
      }
    }
    if (word == "label_values" && k < s.size() && s[k] == '(') {
      // label_values(metric, label): the metric only
      const auto comma = s.find(',', k);
      const auto close = s.find(')', k);
      if (comma != std::string::npos && comma < close) {
        auto inner = metric_names(s.substr(k + 1, comma - k - 1));
        names.insert(inner.begin(), inner.end());
      }
      i = close == std::string::npos ? s.size() : close + 1;
      continue;
    }
    const bool function = k < s.size() && s[k] == '(';
    if (!function && kPromqlWords.count(word) == 0) {
      names.insert(word);
    }
    i = j;
  }
  return names;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// `varkeeper run` (the embedded default) in the background, its stdout in a file.
struct Run {
  pid_t pid = -1;
  std::string out_file;
  Run(const TempDir& dir, const std::vector<std::string>& args) : out_file(dir.file("out.txt")) {
    std::vector<std::string> argv = {VARKEEPER_BINARY, "run"};
    argv.insert(argv.end(), args.begin(), args.end());
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int err = ::open((out_file + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (out < 0 || err < 0) ::_exit(126);
      ::dup2(out, 1);
      ::dup2(err, 2);
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      ::execv(VARKEEPER_BINARY, cargv.data());
      ::_exit(127);
    }
  }
  ~Run() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);  // the embedded anvil goes with it
      for (int i = 0; i < 100; ++i) {
        if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
        std::this_thread::sleep_for(100ms);
      }
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;
  [[nodiscard]] std::string out() const { return slurp(out_file); }
  bool wait_for(const std::string& text, std::chrono::seconds timeout) const {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (out().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
};

// GET http://127.0.0.1:port/path, the body ("" on failure).
std::string http_get(std::uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return {};
  }
  const std::string req =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string resp;
  char buf[8192];
  for (;;) {
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto body = resp.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : resp.substr(body + 4);
}

// Every query of the dashboard: panel targets' expr and the template variables' queries.
std::vector<std::string> dashboard_queries(const nlohmann::json& dash) {
  std::vector<std::string> out;
  for (const auto& p : dash.at("panels")) {
    for (const auto& t : p.value("targets", nlohmann::json::array())) {
      out.push_back(t.at("expr").get<std::string>());
    }
  }
  for (const auto& v : dash.at("templating").at("list")) {
    if (v.value("type", "") == "query") {
      out.push_back(v.at("definition").get<std::string>());
    }
  }
  return out;
}

}  // namespace

TEST_CASE("the PromQL metric-name extraction skips functions, labels, ranges and numbers") {
  CHECK(metric_names("histogram_quantile(0.95, sum by (le) (rate(varkeeper_tick_seconds_bucket"
                     "{job=\"k\", a=~\"x|{y}\"}[5m])))") ==
        std::set<std::string>{"varkeeper_tick_seconds_bucket"});
  CHECK(metric_names(
            "time() - varkeeper_last_publish_timestamp_seconds{portfolio=~\"$portfolio\"}") ==
        std::set<std::string>{"varkeeper_last_publish_timestamp_seconds"});
  CHECK(metric_names("varkeeper_sender_balance_wei / 1e18 + on(a) group_left(b) other_metric") ==
        std::set<std::string>{"varkeeper_sender_balance_wei", "other_metric"});
  CHECK(metric_names("label_values(varkeeper_portfolio_var, portfolio)") ==
        std::set<std::string>{"varkeeper_portfolio_var"});
}

TEST_CASE("every Grafana query's metric names are in a real /metrics; tick lines stay short") {
  const auto dash = nlohmann::json::parse(
      slurp(std::string(VARKEEPER_SOURCE_DIR) + "/docs/grafana/varkeeper.json"));
  const auto queries = dashboard_queries(dash);
  REQUIRE(queries.size() >= 10);

  const TempDir dir("grafana");
  const std::uint16_t port = varkeeper::keeper::free_loopback_port();
  const Run run(dir, {"--tick-ms", "500", "--store", dir.file("store.db"), "--metrics-address",
                      "127.0.0.1:" + std::to_string(port)});
  REQUIRE_MESSAGE(run.wait_for("tick 4 ", 90s), run.out());
  const std::string metrics = http_get(port, "/metrics");
  REQUIRE_MESSAGE(!metrics.empty(), run.out());

  // The families of the exposition, by their TYPE lines.
  std::map<std::string, std::string> families;
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      const auto sp = line.find(' ', 7);
      families[line.substr(7, sp - 7)] = line.substr(sp + 1);
    }
  }
  REQUIRE(families.size() >= 20);

  std::set<std::string> used;
  for (const auto& q : queries) {
    const auto names = metric_names(q);
    CAPTURE(q);
    CHECK(!names.empty());
    for (const auto& name : names) {
      CAPTURE(name);
      CHECK(name.rfind("varkeeper_", 0) == 0);
      std::string family = name;
      // A histogram's series: <family>_bucket, _sum, _count, only when <family> is a histogram.
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string sfx = suffix;
        if (name.size() > sfx.size() &&
            name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0) {
          const std::string base = name.substr(0, name.size() - sfx.size());
          if (families.count(base) == 1 && families[base] == "histogram") family = base;
        }
      }
      CHECK_MESSAGE(families.count(family) == 1, name << " is not in /metrics");
      if (family != name) {
        CHECK(metrics.find("\n" + name) != std::string::npos);  // the series itself is exported
      }
      used.insert(family);
    }
  }
  // The panels the issue asks for: VaR/CVaR, breaker, publish and tx states, RPC errors,
  // operational risk, tick durations.
  for (const char* f :
       {"varkeeper_portfolio_var", "varkeeper_portfolio_cvar", "varkeeper_breaker_state",
        "varkeeper_reports_published_total", "varkeeper_tx_state", "varkeeper_rpc_errors_total",
        "varkeeper_oprisk_ale", "varkeeper_oprisk_aro", "varkeeper_tick_seconds"}) {
    CAPTURE(f);
    CHECK(used.count(f) == 1);
  }
  // The run's per-portfolio series exist for both embedded portfolios.
  CHECK(metrics.find("varkeeper_portfolio_var{portfolio=\"1\"} ") != std::string::npos);
  CHECK(metrics.find("varkeeper_breaker_state{portfolio=\"2\"} ") != std::string::npos);

  // The default tick lines of the same run: one line each, at most 160 characters.
  std::istringstream out(run.out());
  int ticks = 0;
  for (std::string line; std::getline(out, line);) {
    if (line.rfind("tick ", 0) != 0) continue;
    ++ticks;
    CAPTURE(line);
    CHECK(line.size() <= 160);
    CHECK(line.find(" | p1 VaR ") != std::string::npos);
    CHECK(line.find(" | p2 VaR ") != std::string::npos);
  }
  CHECK(ticks >= 4);
}
