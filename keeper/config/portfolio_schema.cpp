#include "keeper/config/portfolio_schema.hpp"

#include "keeper/config/toml_table.hpp"

#include <algorithm>
#include <cmath>

namespace varkeeper::keeper {
namespace {

using Bound = TomlTable::Bound;

constexpr std::int64_t kDayS = 86'400;
constexpr std::int64_t kYearS = 365 * kDayS;

// positions = { SYMBOL = quantity, ... }: declared assets, finite non-zero quantities (< 0: short).
void read_positions(const TomlTable& p, const std::vector<std::string>& assets,
                    PortfolioSettings& s) {
  p.require("positions");
  const auto* positions = p.opt_table("positions");
  if (positions->empty()) {
    p.fail("positions", "must hold at least one position");
  }
  for (auto&& [key, node] : *positions) {
    const std::string symbol(key.str());
    const std::string key_path = p.key("positions") + "." + symbol;
    if (std::find(assets.begin(), assets.end(), symbol) == assets.end()) {
      p.file().fail(key_path, &node, "no asset \"" + symbol + "\" is declared in [[assets]]");
    }
    double quantity = 0.0;
    if (const auto* i = node.as_integer()) {
      quantity = static_cast<double>(i->get());
    } else if (const auto* f = node.as_floating_point()) {
      quantity = f->get();
    } else {
      p.file().fail(key_path, &node,
                    "must be a number (a quantity of the asset), got " + describe(node));
    }
    if (!std::isfinite(quantity) || quantity == 0.0) {
      p.file().fail(key_path, &node,
                    "must be a finite, non-zero quantity, got " + format_number(quantity));
    }
    s.positions.emplace(symbol, quantity);
  }
}

// The estimation settings; ranges are the stricter of the two readers issue 13 merged.
void read_estimation(const TomlTable& p, PortfolioSettings& s) {
  if (auto method = p.opt_string("method")) {
    auto parsed = risk::parse_risk_method(*method);
    if (!parsed) {
      p.fail("method",
             "unknown risk method \"" + *method + "\" (one of " + risk::risk_method_names() + ")");
    }
    s.method = *parsed;
  }
  if (auto mean = p.opt_string("mean")) {
    auto parsed = risk::parse_mean_model(*mean);
    if (!parsed) {
      p.fail("mean", "must be \"zero\" or \"sample\", got \"" + *mean + "\"");
    }
    s.mean = *parsed;
  }
  s.confidence =
      p.number_in("confidence", s.confidence, 0.5, Bound::kClosed, 0.9999, Bound::kClosed);
  s.horizon = static_cast<int>(p.uint("horizon", static_cast<std::uint64_t>(s.horizon), 1, 250));
  s.period_s = p.uint("period_s", s.period_s, 60, 30 * kDayS);
  s.window = p.uint("window", s.window, 10, 100'000);
  s.min_obs = p.uint("min_obs", std::min<std::uint64_t>(s.window, 30), 5, 100'000);
  if (s.min_obs > s.window) {
    p.fail("min_obs", "must not exceed window (" + std::to_string(s.window) + "), got " +
                          std::to_string(s.min_obs));
  }
  s.paths = p.uint("paths", s.paths, 1'000, 10'000'000);
  s.seed = p.uint("seed", s.seed, 0);
  s.ewma_lambda = p.number_in("ewma_lambda", s.ewma_lambda, 0, Bound::kOpen, 1, Bound::kOpen);
  s.age_lambda = p.number_in("age_lambda", s.age_lambda, 0, Bound::kOpen, 1, Bound::kClosed);
  if (const auto cov = p.opt_string("covariance")) {
    if (*cov != "sample" && *cov != "ewma" && *cov != "ledoit-wolf") {
      p.fail("covariance", "must be \"sample\", \"ewma\" or \"ledoit-wolf\", got \"" + *cov + "\"");
    }
    s.ewma_covariance = *cov == "ewma";
    s.ledoit_wolf = *cov == "ledoit-wolf";
  }
  if (const auto pb = p.sub("publish", {"deviation", "heartbeat_s"})) {
    s.publish.deviation =
        pb->number_in("deviation", s.publish.deviation, 0, Bound::kOpen, 1, Bound::kClosed);
    s.publish.heartbeat_s = pb->uint("heartbeat_s", s.publish.heartbeat_s, 1, kYearS);
  }
}

}  // namespace

std::vector<PortfolioSettings> read_portfolios(const TomlTable& top,
                                               const std::vector<std::string>& assets) {
  std::vector<PortfolioSettings> out;
  for (const auto& [path, table] : top.tables("portfolios")) {
    const TomlTable p(
        top.file(), *table, path,
        {"id", "name", "positions", "method", "mean", "confidence", "horizon", "period_s", "window",
         "min_obs", "paths", "seed", "ewma_lambda", "age_lambda", "covariance", "publish"});
    PortfolioSettings s;
    p.require("id");
    s.id = p.uint("id", 0);
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (out[i].id == s.id) {
        p.fail("id",
               std::to_string(s.id) + " is already used by portfolios[" + std::to_string(i) + "]");
      }
    }
    s.name = p.opt_string("name").value_or("portfolio-" + std::to_string(s.id));
    read_positions(p, assets, s);
    read_estimation(p, s);
    out.push_back(std::move(s));
  }
  return out;
}

risk::RiskOptions risk_options(const PortfolioSettings& portfolio) {
  risk::RiskOptions options;
  options.confidence = portfolio.confidence;
  options.horizon = portfolio.horizon;
  options.mean = portfolio.mean;
  options.ewma_lambda = portfolio.ewma_lambda;
  options.age_lambda = portfolio.age_lambda;
  options.ewma_covariance = portfolio.ewma_covariance;
  options.ledoit_wolf = portfolio.ledoit_wolf;
  options.paths = static_cast<std::size_t>(portfolio.paths);
  options.seed = portfolio.seed;
  return options;
}

PortfolioSpec portfolio_spec(const PortfolioSettings& p) {
  PortfolioSpec spec;
  spec.id = p.id;
  spec.name = p.name;
  for (const auto& [sym, qty] : p.positions) {
    spec.positions.emplace_back(sym, qty);
  }
  spec.method = p.method;
  spec.risk = risk_options(p);
  spec.period_s = static_cast<std::int64_t>(p.period_s);
  spec.window = p.window;
  spec.min_obs = p.min_obs;
  spec.publish.deviation = p.publish.deviation;
  spec.publish.heartbeat_s = static_cast<std::int64_t>(p.publish.heartbeat_s);
  return spec;
}

}  // namespace varkeeper::keeper
