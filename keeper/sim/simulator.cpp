#include "keeper/sim/simulator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "keeper/io/price_csv.hpp"
#include "keeper/core/units.hpp"
#include "risk/random_stream.hpp"
#include "risk/risk_method.hpp"

namespace varkeeper::keeper {

const char* to_string(OracleRefusal r) noexcept {
  switch (r) {
    case OracleRefusal::kNone: return "none";
    case OracleRefusal::kInvalidConfidence: return "InvalidConfidence";
    case OracleRefusal::kInvalidHorizon: return "InvalidHorizon";
    case OracleRefusal::kInvalidBreakerStatus: return "InvalidBreakerStatus";
    case OracleRefusal::kInvalidFigures: return "InvalidFigures";
    case OracleRefusal::kFutureReport: return "FutureReport";
    case OracleRefusal::kStaleReport: return "StaleReport";
    case OracleRefusal::kRoundNotIncreasing: return "RoundNotIncreasing";
    case OracleRefusal::kTooSoon: return "TooSoon";
    case OracleRefusal::kVaRChangeTooLarge: return "VaRChangeTooLarge";
  }
  return "none";
}

OracleRefusal OracleSink::submit(const OnchainReport& r, std::int64_t now) {
  // RiskOracle._checkReport: the report on its own.
  if (r.confidence == 0 || r.confidence >= kWad) return OracleRefusal::kInvalidConfidence;
  if (r.horizon == 0) return OracleRefusal::kInvalidHorizon;
  if (r.breaker_status > 2) return OracleRefusal::kInvalidBreakerStatus;
  if (r.value_at_risk > r.expected_shortfall || r.expected_shortfall > kWad) {
    return OracleRefusal::kInvalidFigures;
  }
  const auto observed = static_cast<std::int64_t>(r.observed_at);
  if (observed > now + limits_.max_future_s) return OracleRefusal::kFutureReport;
  if (now > observed + limits_.max_age_s) return OracleRefusal::kStaleReport;
  // RiskOracle._checkHistory: against the stored report.
  if (const auto it = latest_.find(r.portfolio_id); it != latest_.end()) {
    const OnchainReport& prev = it->second;
    if (r.round <= prev.round) return OracleRefusal::kRoundNotIncreasing;
    const std::int64_t earliest =
        static_cast<std::int64_t>(prev.observed_at) + limits_.min_interval_s;
    if (r.observed_at <= prev.observed_at || observed < earliest) return OracleRefusal::kTooSoon;
    // |v - prev| * WAD > maxVaRChange * prev, only while the breaker status is normal.
    const std::uint64_t max_change = to_wad(limits_.max_var_change, 1e6);
    if (max_change != 0 && prev.value_at_risk != 0 && r.breaker_status == 0) {
      const std::uint64_t v = r.value_at_risk;
      const std::uint64_t diff =
          v > prev.value_at_risk ? v - prev.value_at_risk : prev.value_at_risk - v;
      if (chain::U256(diff) * kWad > chain::U256(max_change) * prev.value_at_risk) {
        return OracleRefusal::kVaRChangeTooLarge;
      }
    }
  }
  latest_[r.portfolio_id] = r;
  return OracleRefusal::kNone;
}

void OracleSink::open(const std::vector<PortfolioSpec>& /*portfolios*/, const OracleLimits& limits,
                      std::int64_t /*first_time*/) {
  limits_ = limits;
  latest_.clear();
}

std::vector<OracleRefusal> OracleSink::submit_tick(const std::vector<OnchainReport>& reports,
                                                   std::int64_t now) {
  std::vector<OracleRefusal> out;
  out.reserve(reports.size());
  for (const auto& r : reports) out.push_back(submit(r, now));
  return out;
}

const OnchainReport* OracleSink::latest(std::uint64_t portfolio_id) const {
  const auto it = latest_.find(portfolio_id);
  return it == latest_.end() ? nullptr : &it->second;
}

namespace {

constexpr std::int64_t kDay = 86'400;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::int64_t period_start(std::int64_t t, std::int64_t period) {
  const std::int64_t q = t / period;
  return (t % period < 0 ? q - 1 : q) * period;
}

// A Chainlink-style feed: a new round when the answer moved more than `deviation` from the last
// one or `heartbeat` elapsed (data.chain.link's trigger parameters); a frozen feed opens none.
struct Feed {
  double deviation = 0.005;
  std::int64_t heartbeat_s = 3600;
  risk::RoundData current{};
  bool started = false;

  risk::RoundData poll(std::int64_t t, double price, bool frozen) {
    const bool due = !started || std::fabs(price / current.answer - 1.0) > deviation ||
                     t - current.updated_at >= heartbeat_s;
    if (due && !frozen) {
      const risk::RoundId next{1, started ? current.round_id.aggregator_round + 1 : 1000};
      current = risk::RoundData{next, price, t, t, next};
      started = true;
    }
    return current;
  }
};

// Constant-product AMM (x * y = k) with the Uniswap v2 fee.
struct Amm {
  double x = 0.0;  // risky reserve
  double y = 0.0;  // stable reserve
  [[nodiscard]] double price() const { return y / x; }
  // Moves the pool along x * y = k to `p` (what fee-less arbitrage does).
  void set_price(double p) {
    const double k = x * y;
    x = std::sqrt(k / p);
    y = std::sqrt(k * p);
  }
  // Uniswap v2 getAmountOut with fee_bps = 30 (UniswapV2Library.sol).
  static double amount_out(double in, double reserve_in, double reserve_out) {
    const double in_with_fee = in * 997.0;
    return in_with_fee * reserve_out / (reserve_in * 1000.0 + in_with_fee);
  }
  double sell_risky(double dx) {
    const double dy = amount_out(dx, x, y);
    x += dx;
    y -= dy;
    return dy;
  }
  double buy_risky(double dy) {
    const double dx = amount_out(dy, y, x);
    y += dy;
    x -= dx;
    return dx;
  }
};

struct AssetState {
  // Replay: closes by tick; synthetic: the model's log price.
  std::vector<double> replay;
  double log_x = 0.0;
  std::vector<Feed> feeds;
};

struct Vault {
  bool started = false;
  double units = 0.0;   // portfolio units (value = units * V)
  double stable = 0.0;  // value
  double v0 = 0.0;
  double target = 1.0;
};

struct Epoch {
  bool active = false;
  std::int64_t end = 0;
  double v_start = 0.0;
  double var = 0.0;
};

struct Sample {
  std::size_t tick = 0;
  std::int64_t period = 0;
  double value = 0.0;
  double var = 0.0;
  double cvar = 0.0;
};

double event_day(std::int64_t t, std::int64_t start) {
  return static_cast<double>(t - start) / static_cast<double>(kDay);
}

bool active(const ScenarioEvent& e, double day) { return day >= e.from_day && day < e.to_day; }

// Multiplicative level of an asset's price from jumps and depegs at `day`.
double level_at(const ScenarioSpec& s, const std::string& asset, double day) {
  double level = 1.0;
  for (const auto& e : s.events) {
    if (e.asset != asset) continue;
    if (e.kind == EventKind::kJump && day >= e.from_day) level *= 1.0 + e.value;
    if (e.kind == EventKind::kDepeg && day >= e.from_day) {
      const double f = std::min(1.0, (day - e.from_day) / (e.to_day - e.from_day));
      level *= 1.0 + (e.value - 1.0) * f;
    }
  }
  return level;
}

double vol_factor_at(const ScenarioSpec& s, const std::string& asset, double day) {
  double f = 1.0;
  for (const auto& e : s.events) {
    if (e.kind == EventKind::kVolRegime && e.asset == asset && active(e, day)) f *= e.value;
  }
  return f;
}

OnchainReport make_report(const PortfolioSpec& spec, const PortfolioUpdate& u, std::uint64_t round,
                          bool& representable) {
  OnchainReport r;
  r.portfolio_id = spec.id;
  r.round = round;
  r.observed_at = static_cast<std::uint64_t>(std::max<std::int64_t>(u.observed_at, 0));
  r.horizon = static_cast<std::uint32_t>(
      std::min<std::int64_t>(spec.period_s * spec.risk.horizon, 0xffffffffLL));
  r.method = static_cast<std::uint8_t>(spec.method);
  r.breaker_status = static_cast<std::uint8_t>(u.status);
  r.config_hash = spec.config_hash;
  representable = true;
  try {
    r.confidence = to_wad(spec.risk.confidence);
    r.portfolio_value = to_fixed(u.value, 8);
    r.value_at_risk = to_wad(u.published_var);
    r.expected_shortfall = to_wad(u.published_cvar);
  } catch (const UnitError&) {
    representable = false;
  }
  return r;
}

}  // namespace

SimulationResult run_simulation(const ScenarioSpec& scenario, const SimulationOptions& options) {
  const std::uint64_t seed = options.seed.value_or(scenario.seed);
  const std::size_t n_assets = scenario.assets.size();
  SimulationResult res;
  res.scenario = scenario.name;
  res.description = scenario.description;
  res.seed = seed;
  res.gas = scenario.gas;
  for (const auto& a : scenario.assets) res.assets.push_back(a.symbol);

  risk::BreakerConfig breaker = options.breaker.value_or(scenario.breaker);
  std::vector<PortfolioSpec> portfolios =
      options.portfolios.empty() ? scenario.portfolios : options.portfolios;
  // The simulator reads VaR and CVaR only: skip the engine's per-asset Euler components.
  for (auto& p : portfolios) p.risk.components = false;
  std::size_t max_window = 250;
  for (const auto& p : portfolios) max_window = std::max(max_window, p.window);

  // 1. The clock and the price history before it.
  std::vector<AssetState> assets(n_assets);
  std::vector<std::vector<std::pair<std::int64_t, double>>> history(n_assets);
  std::int64_t start = 0;
  if (scenario.replay) {
    std::vector<PriceTable> tables;
    for (const auto& a : scenario.assets) {
      auto t = read_price_csv(a.csv->string(), CsvValues::kPrices);
      if (!t) throw ScenarioError(t.error().message);
      t->assets = {a.symbol};
      tables.push_back(std::move(*t));
    }
    auto aligned = align_on_common_dates(tables);
    if (!aligned) throw ScenarioError(aligned.error().message);
    const PriceTable& table = *aligned;
    std::vector<std::int64_t> days;
    for (const auto& d : table.dates) {
      const auto day = parse_iso_date(std::string_view(d).substr(0, 10));
      if (!day) throw ScenarioError("the date " + d + " of the price files is not YYYY-MM-DD.");
      days.push_back(*day);
    }
    const std::string from = options.from.value_or(scenario.from);
    const std::string to = options.to.value_or(scenario.to);
    std::int64_t from_day = 0;
    if (!from.empty()) {
      from_day = *parse_iso_date(from);
    } else {
      const std::size_t i = std::min(days.size() - 1, max_window + 1);
      from_day = days[i];
    }
    const std::int64_t to_day = to.empty() ? days.back() : *parse_iso_date(to);
    for (std::size_t r = 0; r < days.size(); ++r) {
      const std::int64_t t = days[r] * kDay;
      if (days[r] < from_day) {
        for (std::size_t a = 0; a < n_assets; ++a) history[a].emplace_back(t, table.at(r, a));
      } else if (days[r] <= to_day) {
        res.times.push_back(t);
        for (std::size_t a = 0; a < n_assets; ++a) assets[a].replay.push_back(table.at(r, a));
      }
    }
    if (res.times.empty()) {
      throw ScenarioError("the price files have no common date between " +
                          iso_date(from_day * kDay) + " and " + iso_date(to_day * kDay) + ".");
    }
    start = res.times.front();
  } else {
    if (options.from || options.to) {
      throw ScenarioError(
          "--from and --to select a window of a replay; a synthetic scenario sets its clock in "
          "[clock] (from, days).");
    }
    start = *parse_iso_date(scenario.from) * kDay;
    const auto n = static_cast<std::int64_t>(scenario.days * kDay) / scenario.step_s;
    for (std::int64_t k = 0; k < std::max<std::int64_t>(n, 1); ++k) {
      res.times.push_back(start + k * scenario.step_s);
    }
    for (std::size_t a = 0; a < n_assets; ++a) {
      const auto& spec = scenario.assets[a];
      // History: daily closes of the same model, generated backwards from the first price.
      risk::RandomStream rng(seed, 1000 + a);
      std::vector<double> closes(scenario.history_days + 1);
      closes.back() = std::log(spec.price);
      for (std::size_t d = scenario.history_days; d > 0; --d) {
        closes[d - 1] = closes[d] - (spec.daily_drift + spec.daily_vol * rng.normal());
      }
      for (std::size_t d = 0; d < scenario.history_days; ++d) {
        const auto back = static_cast<std::int64_t>(scenario.history_days - d);
        history[a].emplace_back(start - back * kDay, std::exp(closes[d]));
      }
      assets[a].log_x = std::log(spec.price);
    }
  }
  for (std::size_t a = 0; a < n_assets; ++a) {
    const auto& spec = scenario.assets[a];
    assets[a].feeds.assign(spec.sources.size(),
                           Feed{spec.feed_deviation, spec.heartbeat_s, {}, false});
  }
  const std::size_t n_ticks = res.times.size();

  // 2. The portfolios: the scenario's, the caller's, or one equal-value portfolio of every asset.
  if (portfolios.empty()) {
    PortfolioSpec p;
    p.id = 1;
    for (std::size_t a = 0; a < n_assets; ++a) {
      const double first = scenario.replay ? assets[a].replay.front() : scenario.assets[a].price;
      p.name += (a == 0 ? "" : "+") + scenario.assets[a].symbol;
      p.positions.emplace_back(scenario.assets[a].symbol,
                               1'000'000.0 / static_cast<double>(n_assets) / first);
    }
    p.method = risk::RiskMethod::kFilteredHistorical;
    p.window = 250;
    p.min_obs = 30;
    p.publish.heartbeat_s = kDay;
    p.risk.components = false;
    portfolios.push_back(p);
  }
  PipelineConfig pc;
  for (const auto& a : scenario.assets) {
    AssetSpec as;
    as.symbol = a.symbol;
    for (const auto& s : a.sources) as.sources.push_back({s, a.heartbeat_s});
    pc.assets.push_back(std::move(as));
  }
  for (const auto& p : portfolios) {
    for (const auto& [sym, q] : p.positions) {
      if (std::find(res.assets.begin(), res.assets.end(), sym) == res.assets.end()) {
        throw ScenarioError("portfolio " + p.name + " holds " + sym + ", which the scenario " +
                            scenario.name + " does not price.");
      }
    }
  }
  pc.portfolios = portfolios;
  pc.breaker = breaker;
  res.portfolios = portfolios;
  Pipeline pipe(pc);
  for (std::size_t a = 0; a < n_assets; ++a) pipe.seed_history(res.assets[a], history[a]);

  // 3. The on-chain side.
  OracleSink memory_sink;
  ReportSink& sink = options.sink != nullptr ? *options.sink : memory_sink;
  sink.open(portfolios, scenario.oracle, res.times.front());
  res.sink = sink.describe();
  const std::size_t n_port = portfolios.size();
  res.points.assign(n_port, std::vector<SimPoint>(n_ticks));
  res.summaries.resize(n_port);
  for (std::size_t j = 0; j < n_port; ++j) {
    auto& s = res.summaries[j];
    s.id = portfolios[j].id;
    s.name = portfolios[j].name;
    s.method = std::string(risk::to_string(portfolios[j].method));
    s.confidence = portfolios[j].risk.confidence;
  }
  std::vector<std::vector<std::pair<std::size_t, double>>> holdings(n_port);
  for (std::size_t j = 0; j < n_port; ++j) {
    for (const auto& [sym, q] : portfolios[j].positions) {
      holdings[j].emplace_back(
          static_cast<std::size_t>(std::find(res.assets.begin(), res.assets.end(), sym) -
                                   res.assets.begin()),
          q);
    }
  }
  std::vector<Vault> vaults(n_port);
  std::vector<Epoch> epochs(n_port);
  std::vector<std::vector<Sample>> samples(n_port);
  std::vector<risk::BreakerStatus> last_status(n_port, risk::BreakerStatus::kNormal);
  std::vector<std::uint64_t> rounds(n_port, 0);
  const auto& rb = scenario.rebalancer;
  const double fee = static_cast<double>(rb.fee_bps) / 10'000.0;

  // The feedback loop's AMM and vault.
  const auto& fb = scenario.feedback;
  std::optional<std::size_t> amm_asset;
  Amm amm;
  double fb_risky = fb.vault_risky, fb_stable = 0.0, fb_peak = 0.0;
  double fb_sell = 0.0, fb_buy = 0.0;  // pending orders (risky to sell, stable to spend)
  double fair_prev = 0.0;              // the market price behind the AMM at the previous tick
  if (fb.enabled) {
    amm_asset = static_cast<std::size_t>(std::find(res.assets.begin(), res.assets.end(), fb.asset) -
                                         res.assets.begin());
    const double p0 = scenario.assets[*amm_asset].price;
    amm = Amm{fb.amm_risky, fb.amm_risky * p0};
    res.feedback.enabled = true;
    res.feedback.asset = fb.asset;
    res.feedback.min_price = p0;
  }

  risk::RandomStream market_rng(seed, 1);
  risk::RandomStream noise_rng(seed, 2);
  res.prices.assign(n_ticks, std::vector<double>(n_assets, kNaN));
  res.market.assign(n_ticks, std::vector<double>(n_assets, kNaN));
  const std::size_t progress_every = std::max<std::size_t>(1, n_ticks / 200);
  std::vector<PriceReading> readings;

  for (std::size_t k = 0; k < n_ticks; ++k) {
    const std::int64_t t = res.times[k];
    const double day = event_day(t, start);
    const std::int64_t dt = k == 0 ? 0 : t - res.times[k - 1];
    bool outage = false;
    for (const auto& e : scenario.events) {
      if (e.kind == EventKind::kOutage && active(e, day)) outage = true;
    }
    readings.clear();
    for (std::size_t a = 0; a < n_assets; ++a) {
      const auto& spec = scenario.assets[a];
      auto& st = assets[a];
      double market = 0.0;
      if (scenario.replay) {
        market = st.replay[k] * level_at(scenario, spec.symbol, day);
      } else {
        if (dt > 0) {
          const double days = static_cast<double>(dt) / kDay;
          const double vol = spec.daily_vol * vol_factor_at(scenario, spec.symbol, day);
          st.log_x += spec.daily_drift * days + vol * std::sqrt(days) * market_rng.normal();
        }
        market = std::exp(st.log_x) * level_at(scenario, spec.symbol, day);
      }
      double quoted = market;
      if (amm_asset && *amm_asset == a) {
        // Arbitrage carries the market's move into the pool and closes arb_speed of the gap the
        // vault's trades opened (risk/feedback_loop.hpp's model).
        const double prev_market = k == 0 ? market : fair_prev;
        fair_prev = market;
        double target = std::log(amm.price()) + std::log(market / prev_market);
        target += fb.arb_speed * (std::log(market) - target);
        amm.set_price(std::exp(target));
        // The vault works its order off in slices of at most max_price_impact.
        if (fb_sell > 0.0) {
          const double cap = amm.x * (1.0 / std::sqrt(1.0 - fb.max_price_impact) - 1.0);
          const double dx = std::min(fb_sell, cap);
          fb_stable += amm.sell_risky(dx);
          fb_risky -= dx;
          fb_sell -= dx;
          res.feedback.risky_sold += dx;
          ++res.feedback.trades;
        } else if (fb_buy > 0.0) {
          const double cap = amm.y * (std::sqrt(1.0 + fb.max_price_impact) - 1.0);
          const double dy = std::min(fb_buy, cap);
          fb_risky += amm.buy_risky(dy);
          fb_stable -= dy;
          fb_buy -= dy;
          ++res.feedback.trades;
        }
        quoted = amm.price();
        fb_peak = std::max(fb_peak, quoted);
        res.feedback.min_price = std::min(res.feedback.min_price, quoted);
        res.feedback.max_drawdown = std::max(res.feedback.max_drawdown, 1.0 - quoted / fb_peak);
        res.feedback.max_discount = std::max(res.feedback.max_discount, 1.0 - quoted / market);
      }
      res.market[k][a] = quoted;
      for (std::size_t i = 0; i < spec.sources.size(); ++i) {
        double p = quoted * std::exp(spec.noise * noise_rng.normal());
        bool frozen = false;
        for (const auto& e : scenario.events) {
          if (e.asset != spec.symbol || !active(e, day)) continue;
          if (e.kind == EventKind::kManipulate && e.source == i) p *= e.value;
          if (e.kind == EventKind::kFreeze && (!e.source || *e.source == i)) frozen = true;
        }
        PriceReading r;
        r.asset = spec.symbol;
        r.source = spec.sources[i];
        r.round = st.feeds[i].poll(t, p, frozen);
        r.fetched = !outage;
        readings.push_back(std::move(r));
      }
    }

    const TickResult tr = pipe.tick(t, readings);
    for (std::size_t a = 0; a < n_assets; ++a) {
      const auto it = tr.prices.find(res.assets[a]);
      if (it != tr.prices.end()) res.prices[k][a] = it->second;
    }
    res.incidents.insert(res.incidents.end(), tr.incidents.begin(), tr.incidents.end());

    // Reports: what the keeper would sign goes to the sink (all of a tick's at once, as the
    // keeper batches them); accepted ones reach the pipeline.
    std::vector<OnchainReport> tick_reports;
    std::vector<std::size_t> batch_members;  // the portfolio of each of tick_reports
    for (std::size_t j = 0; j < n_port; ++j) {
      const PortfolioUpdate& u = tr.portfolios[j];
      SimPoint& pt = res.points[j][k];
      auto& sum = res.summaries[j];
      pt.t = t;
      pt.has_estimate = u.has_estimate;
      pt.value = u.value;
      pt.computed_var = u.computed.var;
      pt.computed_cvar = u.computed.cvar;
      pt.published_var = u.published_var;
      pt.published_cvar = u.published_cvar;
      pt.status = u.status;
      pt.reasons = risk::describe(u.reasons);
      pt.publish = u.publish;
      pt.rebalance = u.rebalance;
      pt.payout = u.payout;
      if (!u.has_estimate) continue;
      ++sum.estimates;
      sum.peak_computed_var = std::max(sum.peak_computed_var, u.computed.var);
      if (u.status == risk::BreakerStatus::kTripped) {
        ++sum.ticks_tripped;
        if (last_status[j] != risk::BreakerStatus::kTripped) ++sum.breaker_trips;
      }
      last_status[j] = u.status;
      if (u.publish != PublishReason::kNone) {
        bool representable = true;
        auto report = make_report(portfolios[j], u, rounds[j] + 1, representable);
        if (representable) {
          tick_reports.push_back(report);
          batch_members.push_back(j);
        } else {
          pt.refusal = OracleRefusal::kInvalidFigures;
          ++sum.reports_refused;
          ++sum.refusals[to_string(pt.refusal)];
        }
      }
      if (u.payout == risk::ActionEdge::kFired) ++sum.payout_triggers;
    }
    std::size_t batch = 0;
    std::optional<std::uint64_t> measured_gas;
    if (!tick_reports.empty()) {
      const auto refusals = sink.submit_tick(tick_reports, t);
      measured_gas = sink.last_gas();
      std::vector<std::size_t> accepted;
      for (std::size_t i = 0; i < tick_reports.size(); ++i) {
        const std::size_t j = batch_members[i];
        SimPoint& pt = res.points[j][k];
        auto& sum = res.summaries[j];
        pt.refusal = refusals.at(i);
        if (pt.refusal == OracleRefusal::kNone) {
          pt.accepted = true;
          rounds[j] = tick_reports[i].round;
          pipe.mark_published(portfolios[j].id, t, tr.portfolios[j].published_var);
          ++sum.reports_published;
          accepted.push_back(j);
        } else {
          ++sum.reports_refused;
          ++sum.refusals[to_string(pt.refusal)];
        }
      }
      batch_members = std::move(accepted);
      batch = batch_members.size();
    }
    // Gas of this tick's reports: one submit, or one submitBatch shared evenly; measured from
    // the receipt when the sink paid it, else estimated.
    if (batch > 0) {
      double g = batch == 1
                     ? gas::kSubmit
                     : gas::kBatchFirst + gas::kBatchPerExtra * static_cast<double>(batch - 1);
      if (measured_gas) {
        g = static_cast<double>(*measured_gas);
        res.report_gas_measured = true;
      }
      for (std::size_t j : batch_members) {
        res.summaries[j].gas_reports += g / static_cast<double>(batch);
        if (!measured_gas && res.summaries[j].reports_published == 1) {
          res.summaries[j].gas_reports += gas::kFirstReportExtra;
        }
      }
    }
    for (std::size_t j = 0; j < n_port; ++j) {
      SimPoint& pt = res.points[j][k];
      auto& sum = res.summaries[j];
      const OnchainReport* onchain = sink.latest(portfolios[j].id);
      if (onchain != nullptr) {
        pt.onchain_var = from_wad(onchain->value_at_risk);
        pt.onchain_cvar = from_wad(onchain->expected_shortfall);
        sum.peak_var = std::max(sum.peak_var, pt.onchain_var);
        sum.peak_cvar = std::max(sum.peak_cvar, pt.onchain_cvar);
      }
      // Realised outcomes are valued at the market price the feeds quote (what VaRProtection's
      // settlement feed and the vault's swaps see), not at the keeper's filtered consensus.
      double v = 0.0;
      for (const auto& [a, q] : holdings[j]) v += q * res.market[k][a];
      if (!(v > 0.0) || !pt.has_estimate) continue;

      // RiskRebalancer: swap toward the risk-off weight when the rebalance threshold fires,
      // back to the normal weight when it resets (the breaker's hysteresis edges).
      auto& vault = vaults[j];
      if (!vault.started) {
        vault.started = true;
        vault.v0 = v;
        vault.target = rb.normal_weight;
        vault.units = rb.normal_weight / v;
        vault.stable = 1.0 - rb.normal_weight;
      }
      if (vault.started) {
        if (pt.rebalance != risk::ActionEdge::kNone) {
          vault.target =
              pt.rebalance == risk::ActionEdge::kFired ? rb.risk_off_weight : rb.normal_weight;
          const double w_value = vault.units * v + vault.stable;
          const double delta = vault.target * w_value - vault.units * v;
          if (std::fabs(delta) > 1e-12 * w_value) {
            if (delta < 0.0) {
              vault.units += delta / v;
              vault.stable += -delta * (1.0 - fee);
            } else {
              vault.stable -= delta;
              vault.units += delta * (1.0 - fee) / v;
            }
            ++sum.rebalances;
            sum.gas_rebalances += gas::kRebalance;
          }
          if (j == 0 && amm_asset) {
            // The feedback vault sells (buys) through the AMM over the next ticks.
            const double p = amm.price();
            const double value = fb_risky * p + fb_stable;
            const double want = vault.target * value / p;
            fb_sell = std::max(0.0, fb_risky - want);
            fb_buy = std::max(0.0, (want - fb_risky) * p);
            fb_buy = std::min(fb_buy, fb_stable);
          }
        }
        const double w_value = vault.units * v + vault.stable;
        pt.vault_weight = vault.units * v / w_value;
        sum.vault_return = w_value - 1.0;
        sum.hold_return = v / vault.v0 - 1.0;
      }

      // VaRProtection: an epoch of one horizon starts on a fresh accepted report; it pays when
      // the realised loss over the epoch exceeds the VaR published at its start.
      if (scenario.protection.enabled) {
        auto& ep = epochs[j];
        if (ep.active && t >= ep.end) {
          const double loss = (ep.v_start - v) / ep.v_start;
          ++sum.epochs;
          sum.gas_protection += gas::kSettle;
          if (loss > ep.var) {
            ++sum.payouts;
            sum.payout_per_unit += std::min(loss - ep.var, scenario.protection.payout_cap);
          }
          ep.active = false;
        }
        if (!ep.active && onchain != nullptr &&
            t - static_cast<std::int64_t>(onchain->observed_at) <= scenario.oracle.max_age_s) {
          const double var = from_wad(onchain->value_at_risk);
          const double cvar = from_wad(onchain->expected_shortfall);
          const double alpha = from_wad(onchain->confidence);
          ep.active = true;
          ep.end = t + static_cast<std::int64_t>(onchain->horizon);
          ep.v_start = v;
          ep.var = var;
          sum.premium_per_unit +=
              std::min(1.0, std::max(scenario.protection.premium_floor,
                                     (1.0 - alpha) * (cvar - var) * scenario.protection.loading));
          sum.gas_protection += gas::kStartEpoch;
        }
      }

      // Backtest samples: at the first tick of each return period, the VaR on chain then.
      const std::int64_t ps = period_start(t, portfolios[j].period_s);
      if (onchain != nullptr && (samples[j].empty() || samples[j].back().period != ps)) {
        samples[j].push_back({k, ps, v, pt.onchain_var, pt.onchain_cvar});
      }
    }
    if (options.progress && (k % progress_every == 0 || k + 1 == n_ticks)) {
      options.progress(k + 1, n_ticks);
    }
  }

  // 4. Backtests: the realised loss over the horizon after each sample against its VaR.
  for (std::size_t j = 0; j < n_port; ++j) {
    const auto& spec = portfolios[j];
    const std::int64_t span = spec.period_s * spec.risk.horizon;
    const auto& smp = samples[j];
    std::vector<double> realized, var, es;
    std::vector<std::uint8_t> hits;
    std::size_t next = 0;
    for (std::size_t i = 0; i < smp.size(); ++i) {
      next = std::max(next, i + 1);
      while (next < smp.size() && smp[next].period < smp[i].period + span) ++next;
      if (next >= smp.size() || smp[next].period != smp[i].period + span) continue;
      const double loss = 1.0 - smp[next].value / smp[i].value;
      SimPoint& pt = res.points[j][smp[i].tick];
      pt.sample = true;
      pt.realised_loss = loss;
      pt.exception = loss > smp[i].var;
      realized.push_back(-loss);
      var.push_back(smp[i].var);
      es.push_back(std::max(smp[i].cvar, smp[i].var));
      hits.push_back(pt.exception ? 1 : 0);
    }
    auto& sum = res.summaries[j];
    const double alpha = spec.risk.confidence;
    sum.backtest_obs = realized.size();
    sum.exceptions = static_cast<std::size_t>(std::count(hits.begin(), hits.end(), 1));
    sum.expected_exceptions = static_cast<double>(realized.size()) * (1.0 - alpha);
    if (!realized.empty()) {
      const auto counts = risk::transition_counts(hits);
      sum.kupiec_p = risk::kupiec_pof(realized.size(), sum.exceptions, alpha).p_value;
      sum.christoffersen_ind_p = risk::christoffersen_independence(counts).p_value;
      sum.christoffersen_cc_p =
          risk::christoffersen_conditional_coverage(realized.size(), sum.exceptions, counts, alpha)
              .p_value;
      sum.zone = risk::to_string(risk::traffic_light(realized.size(), sum.exceptions, alpha).zone);
      if (std::all_of(es.begin(), es.end(), [](double e) { return e > 0.0; })) {
        sum.es_z2 = risk::acerbi_szekely_z2(realized, var, es, alpha);
      }
    }
    sum.gas = sum.gas_reports + sum.gas_rebalances + sum.gas_protection;
    sum.cost_eth = sum.gas * scenario.gas.price_gwei * 1e-9;
    sum.cost_usd = sum.cost_eth * scenario.gas.eth_usd;
  }
  return res;
}

}  // namespace varkeeper::keeper
