#include "keeper/sim/simulator.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "keeper/core/report_builder.hpp"
#include "keeper/core/units.hpp"
#include "keeper/io/price_csv.hpp"
#include "risk/backtest_duration.hpp"
#include "risk/constant_product_amm.hpp"
#include "risk/feed_emulator.hpp"
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
    case OracleRefusal::kRoundJumpTooLarge: return "RoundJumpTooLarge";
    case OracleRefusal::kTooSoon: return "TooSoon";
    case OracleRefusal::kVaRChangeTooLarge: return "VaRChangeTooLarge";
    case OracleRefusal::kCVaRChangeTooLarge: return "CVaRChangeTooLarge";
  }
  return "none";
}

namespace {

// The scenario's [oracle] change limit as RiskOracle holds it: maxVaRChange in WAD (the deploy
// path's conversion), the contract's default change policy.
ChangeLimit change_limit_of(const OracleLimits& limits) {
  return {to_wad(limits.max_var_change, 1e6), oracle::kChangePeriod, oracle::kBreakerWidening};
}

}  // namespace

OracleRefusal OracleSink::submit(const OnchainReport& r, std::int64_t now) {
  // RiskOracle._checkFields: the report on its own.
  if (r.confidence == 0 || r.confidence >= kWad) {
    return OracleRefusal::kInvalidConfidence;
  }
  if (r.horizon == 0) {
    return OracleRefusal::kInvalidHorizon;
  }
  if (r.breaker_status > 2) {
    return OracleRefusal::kInvalidBreakerStatus;
  }
  if (r.value_at_risk > r.expected_shortfall || r.expected_shortfall > kWad) {
    return OracleRefusal::kInvalidFigures;
  }
  const auto observed = static_cast<std::int64_t>(r.observed_at);
  if (observed > now + limits_.max_future_s) {
    return OracleRefusal::kFutureReport;
  }
  if (now > observed + limits_.max_age_s) {
    return OracleRefusal::kStaleReport;
  }
  // RiskOracle._checkHistory: against the stored report (none: round 0).
  const auto it = latest_.find(r.portfolio_id);
  const std::uint64_t prev_round = it == latest_.end() ? 0 : it->second.round;
  if (r.round <= prev_round) {
    return OracleRefusal::kRoundNotIncreasing;
  }
  if (r.round - prev_round > oracle::kMaxRoundJump) {
    return OracleRefusal::kRoundJumpTooLarge;
  }
  if (it != latest_.end()) {
    const OnchainReport& prev = it->second;
    const std::int64_t earliest =
        static_cast<std::int64_t>(prev.observed_at) + limits_.min_interval_s;
    if (r.observed_at <= prev.observed_at || observed < earliest) {
      return OracleRefusal::kTooSoon;
    }
    // The change limit (keeper/core/change_limit.hpp), on elapsed observation time (> 0,
    // checked above).
    const ChangeLimit limit = change_limit_of(limits_);
    const std::uint64_t elapsed = r.observed_at - prev.observed_at;
    const bool normal = r.breaker_status == 0;
    if (!within_change_limit(limit, prev.value_at_risk, r.value_at_risk, elapsed, normal)) {
      return OracleRefusal::kVaRChangeTooLarge;
    }
    if (!within_change_limit(limit, prev.expected_shortfall, r.expected_shortfall, elapsed,
                             normal)) {
      return OracleRefusal::kCVaRChangeTooLarge;
    }
  }
  // RiskOracle._write: an observation time ahead of the block is stored as the block time.
  OnchainReport& stored = latest_[r.portfolio_id];
  stored = r;
  if (observed > now) {
    stored.observed_at = static_cast<std::uint64_t>(now);
  }
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
  for (const auto& r : reports) {
    out.push_back(submit(r, now));
  }
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

struct AssetState {
  // Replay: closes by tick; synthetic: the model's log price.
  std::vector<double> replay;
  double log_x = 0.0;
  std::vector<risk::FeedEmulator> feeds;
};

struct Vault {
  bool started = false;
  double units = 0.0;   // portfolio units (value = units * V)
  double stable = 0.0;  // value
  double v0 = 0.0;
  double target = 1.0;
  bool pending = false;          // the target is not reached yet (chunks, cool-down, breaker)
  std::int64_t last_trade = -1;  // time of the last swap (-1: none)
};

// One VaRProtection epoch: on sale from its opening tick until sale_end, covered from the first
// tick at or after sale_end (the start price) until end = sale_end + horizon.
struct Epoch {
  bool active = false;
  bool started = false;
  std::int64_t sale_end = 0;
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
    if (e.asset != asset) {
      continue;
    }
    if (e.kind == EventKind::kJump && day >= e.from_day) {
      level *= 1.0 + e.value;
    }
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
    if (e.kind == EventKind::kVolRegime && e.asset == asset && active(e, day)) {
      f *= e.value;
    }
  }
  return f;
}

// What the simulator records for a report the keeper could not build (it is never sent): the
// contract's refusal for the same field.
OracleRefusal refusal_for(ReportField field) {
  switch (field) {
    case ReportField::kHorizon: return OracleRefusal::kInvalidHorizon;
    case ReportField::kConfidence: return OracleRefusal::kInvalidConfidence;
    default: return OracleRefusal::kInvalidFigures;
  }
}

// One run of run_simulation: the scenario's clock, market, pipeline and on-chain side, stepped
// tick by tick. The numbered sections of the function it came from are its methods, in the same
// order, so the random draws and every figure are the same.
class SimulationRun {
 public:
  SimulationRun(const ScenarioSpec& scenario, const SimulationOptions& options);
  SimulationResult run();

 private:
  // 1. The clock and the price history before it.
  void read_replay_clock(std::size_t max_window);
  void make_synthetic_clock();
  // 2. The portfolios and the pipeline.
  void add_default_portfolio();
  Pipeline make_pipeline(const risk::BreakerConfig& breaker) const;
  // 3. The on-chain side, the vaults and the feedback loop's AMM.
  void open_accounts();
  void start_feedback();
  // Each tick: the market, the sources' rounds, the pipeline, the reports and their outcomes.
  void read_sources(std::size_t k);
  double feedback_quote(std::size_t k, double market);
  void record_update(std::size_t j, std::size_t k, const PortfolioUpdate& u);
  void submit_reports(std::size_t k, const TickResult& tr);
  void settle(std::size_t j, std::size_t k);
  void rebalance(std::size_t j, SimPoint& pt, double v, std::int64_t t);
  void protect(std::size_t j, std::int64_t t, double v, const OnchainReport* onchain);
  // 4. Backtests: the realised loss over the horizon after each sample against its VaR.
  void backtest(std::size_t j);

  const ScenarioSpec& scenario_;
  const SimulationOptions& options_;
  std::uint64_t seed_;
  std::size_t n_assets_;
  SimulationResult res_;
  std::vector<PortfolioSpec> portfolios_;
  std::vector<AssetState> assets_;
  std::vector<std::vector<std::pair<std::int64_t, double>>> history_;
  std::int64_t start_ = 0;
  std::optional<Pipeline> pipe_;
  OracleSink memory_sink_;
  ReportSink* sink_ = nullptr;
  std::vector<std::vector<std::pair<std::size_t, double>>> holdings_;  // [portfolio] asset, qty
  std::vector<Vault> vaults_;
  std::vector<Epoch> epochs_;
  std::vector<std::vector<Sample>> samples_;
  std::vector<risk::BreakerStatus> last_status_;
  std::vector<std::uint64_t> rounds_;
  std::vector<PriceReading> readings_;
  // This tick's reports (what the keeper would sign) and the portfolio of each.
  std::vector<OnchainReport> tick_reports_;
  std::vector<std::size_t> batch_members_;
  // The feedback loop's AMM and vault.
  std::optional<std::size_t> amm_asset_;
  risk::ConstantProductAmm amm_;
  double fb_risky_ = 0.0, fb_stable_ = 0.0, fb_peak_ = 0.0;
  double fb_sell_ = 0.0, fb_buy_ = 0.0;  // pending orders (risky to sell, stable to spend)
  double fair_prev_ = 0.0;               // the market price behind the AMM at the previous tick
  risk::RandomStream market_rng_;
  risk::RandomStream noise_rng_;
};

SimulationRun::SimulationRun(const ScenarioSpec& scenario, const SimulationOptions& options)
    : scenario_(scenario),
      options_(options),
      seed_(options.seed.value_or(scenario.seed)),
      n_assets_(scenario.assets.size()),
      market_rng_(seed_, 1),
      noise_rng_(seed_, 2) {
  res_.scenario = scenario.name;
  res_.description = scenario.description;
  res_.seed = seed_;
  res_.gas = scenario.gas;
  for (const auto& a : scenario.assets) {
    res_.assets.push_back(a.symbol);
  }
  portfolios_ = options.portfolios.empty() ? scenario.portfolios : options.portfolios;
  // The simulator reads VaR and CVaR only: skip the engine's per-asset Euler components.
  for (auto& p : portfolios_) {
    p.risk.components = false;
  }
  std::size_t max_window = 250;
  for (const auto& p : portfolios_) {
    max_window = std::max(max_window, p.window);
  }

  assets_.resize(n_assets_);
  history_.resize(n_assets_);
  if (scenario.replay) {
    read_replay_clock(max_window);
  } else {
    make_synthetic_clock();
  }
  for (std::size_t a = 0; a < n_assets_; ++a) {
    const auto& spec = scenario.assets[a];
    assets_[a].feeds.assign(spec.sources.size(),
                            risk::FeedEmulator{spec.feed_deviation, spec.heartbeat_s, {}, false});
  }
  if (portfolios_.empty()) {
    add_default_portfolio();
  }
  pipe_.emplace(make_pipeline(options.breaker.value_or(scenario.breaker)));
  for (std::size_t a = 0; a < n_assets_; ++a) {
    pipe_->seed_history(res_.assets[a], history_[a]);
  }
  open_accounts();
  start_feedback();
}

void SimulationRun::read_replay_clock(std::size_t max_window) {
  std::vector<PriceTable> tables;
  for (const auto& a : scenario_.assets) {
    auto t = read_price_csv(a.csv->string(), CsvValues::kPrices);
    if (!t) {
      throw ScenarioError(t.error().message);
    }
    t->assets = {a.symbol};
    tables.push_back(std::move(*t));
  }
  auto aligned = align_on_common_dates(tables);
  if (!aligned) {
    throw ScenarioError(aligned.error().message);
  }
  const PriceTable& table = *aligned;
  std::vector<std::int64_t> days;
  for (const auto& d : table.dates) {
    const auto day = parse_iso_date(std::string_view(d).substr(0, 10));
    if (!day) {
      throw ScenarioError("the date " + d + " of the price files is not YYYY-MM-DD.");
    }
    days.push_back(*day);
  }
  const std::string from = options_.from.value_or(scenario_.from);
  const std::string to = options_.to.value_or(scenario_.to);
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
      for (std::size_t a = 0; a < n_assets_; ++a) {
        history_[a].emplace_back(t, table.at(r, a));
      }
    } else if (days[r] <= to_day) {
      res_.times.push_back(t);
      for (std::size_t a = 0; a < n_assets_; ++a) {
        assets_[a].replay.push_back(table.at(r, a));
      }
    }
  }
  if (res_.times.empty()) {
    throw ScenarioError("the price files have no common date between " + iso_date(from_day * kDay) +
                        " and " + iso_date(to_day * kDay) + ".");
  }
  start_ = res_.times.front();
}

void SimulationRun::make_synthetic_clock() {
  if (options_.from || options_.to) {
    throw ScenarioError(
        "--from and --to select a window of a replay; a synthetic scenario sets its clock in "
        "[clock] (from, days).");
  }
  start_ = *parse_iso_date(scenario_.from) * kDay;
  const auto n = static_cast<std::int64_t>(scenario_.days * kDay) / scenario_.step_s;
  for (std::int64_t k = 0; k < std::max<std::int64_t>(n, 1); ++k) {
    res_.times.push_back(start_ + k * scenario_.step_s);
  }
  for (std::size_t a = 0; a < n_assets_; ++a) {
    const auto& spec = scenario_.assets[a];
    // History: daily closes of the same model, generated backwards from the first price.
    risk::RandomStream rng(seed_, 1000 + a);
    std::vector<double> closes(scenario_.history_days + 1);
    closes.back() = std::log(spec.price);
    for (std::size_t d = scenario_.history_days; d > 0; --d) {
      closes[d - 1] = closes[d] - (spec.daily_drift + spec.daily_vol * rng.normal());
    }
    for (std::size_t d = 0; d < scenario_.history_days; ++d) {
      const auto back = static_cast<std::int64_t>(scenario_.history_days - d);
      history_[a].emplace_back(start_ - back * kDay, std::exp(closes[d]));
    }
    assets_[a].log_x = std::log(spec.price);
  }
}

// Without portfolios from the scenario or the caller: one equal-value portfolio of every asset.
void SimulationRun::add_default_portfolio() {
  PortfolioSpec p;
  p.id = 1;
  for (std::size_t a = 0; a < n_assets_; ++a) {
    const double first = scenario_.replay ? assets_[a].replay.front() : scenario_.assets[a].price;
    p.name += (a == 0 ? "" : "+") + scenario_.assets[a].symbol;
    p.positions.emplace_back(scenario_.assets[a].symbol,
                             1'000'000.0 / static_cast<double>(n_assets_) / first);
  }
  p.method = risk::RiskMethod::kFilteredHistorical;
  p.window = 250;
  p.min_obs = 30;
  p.publish.heartbeat_s = kDay;
  p.risk.components = false;
  portfolios_.push_back(p);
}

Pipeline SimulationRun::make_pipeline(const risk::BreakerConfig& breaker) const {
  PipelineConfig pc;
  for (const auto& a : scenario_.assets) {
    AssetSpec as;
    as.symbol = a.symbol;
    for (const auto& s : a.sources) {
      as.sources.push_back({s, a.heartbeat_s});
    }
    pc.assets.push_back(std::move(as));
  }
  for (const auto& p : portfolios_) {
    for (const auto& [sym, q] : p.positions) {
      if (std::find(res_.assets.begin(), res_.assets.end(), sym) == res_.assets.end()) {
        throw ScenarioError("portfolio " + p.name + " holds " + sym + ", which the scenario " +
                            scenario_.name + " does not price.");
      }
    }
  }
  pc.portfolios = portfolios_;
  pc.breaker = breaker;
  Pipeline pipe(pc);
  // The keeper steps its figures within the oracle's change limit (issue 14), as the daemon does
  // with the limit it reads from the chain.
  for (const auto& p : portfolios_) {
    pipe.set_change_limit(p.id, change_limit_of(scenario_.oracle));
  }
  return pipe;
}

void SimulationRun::open_accounts() {
  res_.portfolios = portfolios_;
  sink_ = options_.sink != nullptr ? options_.sink : &memory_sink_;
  sink_->open(portfolios_, scenario_.oracle, res_.times.front());
  res_.sink = sink_->describe();
  const std::size_t n_port = portfolios_.size();
  res_.points.assign(n_port, std::vector<SimPoint>(res_.times.size()));
  res_.summaries.resize(n_port);
  holdings_.resize(n_port);
  for (std::size_t j = 0; j < n_port; ++j) {
    auto& s = res_.summaries[j];
    s.id = portfolios_[j].id;
    s.name = portfolios_[j].name;
    s.method = std::string(risk::to_string(portfolios_[j].method));
    s.confidence = portfolios_[j].risk.confidence;
    for (const auto& [sym, q] : portfolios_[j].positions) {
      holdings_[j].emplace_back(
          static_cast<std::size_t>(std::find(res_.assets.begin(), res_.assets.end(), sym) -
                                   res_.assets.begin()),
          q);
    }
  }
  vaults_.resize(n_port);
  epochs_.resize(n_port);
  samples_.resize(n_port);
  last_status_.assign(n_port, risk::BreakerStatus::kNormal);
  rounds_.assign(n_port, 0);
}

void SimulationRun::start_feedback() {
  const auto& fb = scenario_.feedback;
  fb_risky_ = fb.vault_risky;
  if (!fb.enabled) {
    return;
  }
  amm_asset_ = static_cast<std::size_t>(
      std::find(res_.assets.begin(), res_.assets.end(), fb.asset) - res_.assets.begin());
  const double p0 = scenario_.assets[*amm_asset_].price;
  amm_ = risk::ConstantProductAmm{fb.amm_risky, fb.amm_risky * p0};
  res_.feedback.enabled = true;
  res_.feedback.asset = fb.asset;
  res_.feedback.min_price = p0;
}

SimulationResult SimulationRun::run() {
  const std::size_t n_ticks = res_.times.size();
  const std::size_t n_port = portfolios_.size();
  res_.prices.assign(n_ticks, std::vector<double>(n_assets_, kNaN));
  res_.market.assign(n_ticks, std::vector<double>(n_assets_, kNaN));
  const std::size_t progress_every = std::max<std::size_t>(1, n_ticks / 200);
  for (std::size_t k = 0; k < n_ticks; ++k) {
    read_sources(k);
    const TickResult tr = pipe_->tick(res_.times[k], readings_);
    for (std::size_t a = 0; a < n_assets_; ++a) {
      const auto it = tr.prices.find(res_.assets[a]);
      if (it != tr.prices.end()) {
        res_.prices[k][a] = it->second;
      }
    }
    res_.incidents.insert(res_.incidents.end(), tr.incidents.begin(), tr.incidents.end());
    // Reports: what the keeper would sign goes to the sink (all of a tick's at once, as the
    // keeper batches them); accepted ones reach the pipeline.
    tick_reports_.clear();
    batch_members_.clear();
    for (std::size_t j = 0; j < n_port; ++j) {
      record_update(j, k, tr.portfolios[j]);
    }
    submit_reports(k, tr);
    for (std::size_t j = 0; j < n_port; ++j) {
      settle(j, k);
    }
    if (options_.progress && (k % progress_every == 0 || k + 1 == n_ticks)) {
      options_.progress(k + 1, n_ticks);
    }
  }
  for (std::size_t j = 0; j < n_port; ++j) {
    backtest(j);
  }
  return std::move(res_);
}

// The market price of every asset at tick k (a replay's close or the synthetic model's step,
// times the scenario's events), and each source's round of it.
void SimulationRun::read_sources(std::size_t k) {
  const std::int64_t t = res_.times[k];
  const double day = event_day(t, start_);
  const std::int64_t dt = k == 0 ? 0 : t - res_.times[k - 1];
  bool outage = false;
  for (const auto& e : scenario_.events) {
    if (e.kind == EventKind::kOutage && active(e, day)) {
      outage = true;
    }
  }
  readings_.clear();
  for (std::size_t a = 0; a < n_assets_; ++a) {
    const auto& spec = scenario_.assets[a];
    auto& st = assets_[a];
    double market = 0.0;
    if (scenario_.replay) {
      market = st.replay[k] * level_at(scenario_, spec.symbol, day);
    } else {
      if (dt > 0) {
        const double days = static_cast<double>(dt) / kDay;
        const double vol = spec.daily_vol * vol_factor_at(scenario_, spec.symbol, day);
        st.log_x += spec.daily_drift * days + vol * std::sqrt(days) * market_rng_.normal();
      }
      market = std::exp(st.log_x) * level_at(scenario_, spec.symbol, day);
    }
    const double quoted = amm_asset_ && *amm_asset_ == a ? feedback_quote(k, market) : market;
    res_.market[k][a] = quoted;
    for (std::size_t i = 0; i < spec.sources.size(); ++i) {
      double p = quoted * std::exp(spec.noise * noise_rng_.normal());
      bool frozen = false;
      for (const auto& e : scenario_.events) {
        if (e.asset != spec.symbol || !active(e, day)) {
          continue;
        }
        if (e.kind == EventKind::kManipulate && e.source == i) {
          p *= e.value;
        }
        if (e.kind == EventKind::kFreeze && (!e.source || *e.source == i)) {
          frozen = true;
        }
      }
      PriceReading r;
      r.asset = spec.symbol;
      r.source = spec.sources[i];
      r.round = st.feeds[i].poll(t, p, frozen);
      r.fetched = !outage;
      readings_.push_back(std::move(r));
    }
  }
}

// The AMM price the feeds of the feedback asset quote at tick k, after arbitrage and one slice of
// the vault's pending order.
double SimulationRun::feedback_quote(std::size_t k, double market) {
  const auto& fb = scenario_.feedback;
  // Arbitrage carries the market's move into the pool and closes arb_speed of the gap the
  // vault's trades opened (risk/feedback_loop.hpp's model).
  const double prev_market = k == 0 ? market : fair_prev_;
  fair_prev_ = market;
  double target = std::log(amm_.price()) + std::log(market / prev_market);
  target += fb.arb_speed * (std::log(market) - target);
  amm_.move_to(std::exp(target));
  // The vault works its order off in slices of at most max_price_impact.
  if (fb_sell_ > 0.0) {
    const double dx = std::min(fb_sell_, amm_.max_sale(fb.max_price_impact));
    fb_stable_ += amm_.sell_risky(dx);
    fb_risky_ -= dx;
    fb_sell_ -= dx;
    res_.feedback.risky_sold += dx;
    ++res_.feedback.trades;
  } else if (fb_buy_ > 0.0) {
    const double dy = std::min(fb_buy_, amm_.max_purchase(fb.max_price_impact));
    fb_risky_ += amm_.buy_risky(dy);
    fb_stable_ -= dy;
    fb_buy_ -= dy;
    ++res_.feedback.trades;
  }
  const double quoted = amm_.price();
  fb_peak_ = std::max(fb_peak_, quoted);
  res_.feedback.min_price = std::min(res_.feedback.min_price, quoted);
  res_.feedback.max_drawdown = std::max(res_.feedback.max_drawdown, 1.0 - quoted / fb_peak_);
  res_.feedback.max_discount = std::max(res_.feedback.max_discount, 1.0 - quoted / market);
  return quoted;
}

// Records portfolio j's update at tick k and, when it publishes, builds the report the keeper
// would sign (keeper/core/report_builder.hpp); one it cannot build is refused here.
void SimulationRun::record_update(std::size_t j, std::size_t k, const PortfolioUpdate& u) {
  SimPoint& pt = res_.points[j][k];
  auto& sum = res_.summaries[j];
  pt.t = res_.times[k];
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
  if (!u.has_estimate) {
    return;
  }
  ++sum.estimates;
  sum.peak_computed_var = std::max(sum.peak_computed_var, u.computed.var);
  if (u.status == risk::BreakerStatus::kTripped) {
    ++sum.ticks_tripped;
    if (last_status_[j] != risk::BreakerStatus::kTripped) {
      ++sum.breaker_trips;
    }
  }
  last_status_[j] = u.status;
  if (u.publish != PublishReason::kNone) {
    auto report = build_report(portfolios_[j], u, rounds_[j] + 1);
    if (report) {
      tick_reports_.push_back(*report);
      batch_members_.push_back(j);
    } else {
      pt.refusal = refusal_for(report.error().field);
      ++sum.reports_refused;
      ++sum.refusals[to_string(pt.refusal)];
    }
  }
  if (u.payout == risk::ActionEdge::kFired) {
    ++sum.payout_triggers;
  }
}

// The tick's reports to the sink; the accepted ones reach the pipeline. Gas: one submit, or one
// submitBatch shared evenly; measured from the receipt when the sink paid it, else estimated.
void SimulationRun::submit_reports(std::size_t k, const TickResult& /*tr*/) {
  if (tick_reports_.empty()) {
    return;
  }
  const std::int64_t t = res_.times[k];
  const auto refusals = sink_->submit_tick(tick_reports_, t);
  const std::optional<std::uint64_t> measured_gas = sink_->last_gas();
  std::vector<std::size_t> accepted;
  for (std::size_t i = 0; i < tick_reports_.size(); ++i) {
    const std::size_t j = batch_members_[i];
    SimPoint& pt = res_.points[j][k];
    auto& sum = res_.summaries[j];
    pt.refusal = refusals.at(i);
    if (pt.refusal == OracleRefusal::kNone) {
      pt.accepted = true;
      rounds_[j] = tick_reports_[i].round;
      pipe_->mark_published(tick_reports_[i], t);
      ++sum.reports_published;
      accepted.push_back(j);
    } else {
      ++sum.reports_refused;
      ++sum.refusals[to_string(pt.refusal)];
    }
  }
  const std::size_t batch = accepted.size();
  if (batch == 0) {
    return;
  }
  double g = batch == 1 ? gas::kSubmit
                        : gas::kBatchFirst + gas::kBatchPerExtra * static_cast<double>(batch - 1);
  if (measured_gas) {
    g = static_cast<double>(*measured_gas);
    res_.report_gas_measured = true;
  }
  for (std::size_t j : accepted) {
    res_.summaries[j].gas_reports += g / static_cast<double>(batch);
    if (!measured_gas && res_.summaries[j].reports_published == 1) {
      res_.summaries[j].gas_reports += gas::kFirstReportExtra;
    }
  }
}

// After the tick's reports: what is on chain for portfolio j, and what the vault, the protection
// and the backtest make of it.
void SimulationRun::settle(std::size_t j, std::size_t k) {
  const std::int64_t t = res_.times[k];
  SimPoint& pt = res_.points[j][k];
  auto& sum = res_.summaries[j];
  const OnchainReport* onchain = sink_->latest(portfolios_[j].id);
  if (onchain != nullptr) {
    pt.onchain_var = from_wad(onchain->value_at_risk);
    pt.onchain_cvar = from_wad(onchain->expected_shortfall);
    sum.peak_var = std::max(sum.peak_var, pt.onchain_var);
    sum.peak_cvar = std::max(sum.peak_cvar, pt.onchain_cvar);
  }
  // Realised outcomes are valued at the market price the feeds quote (what VaRProtection's
  // settlement feed and the vault's swaps see), not at the keeper's filtered consensus.
  double v = 0.0;
  for (const auto& [a, q] : holdings_[j]) {
    v += q * res_.market[k][a];
  }
  if (!(v > 0.0) || !pt.has_estimate) {
    return;
  }
  rebalance(j, pt, v, t);
  if (scenario_.protection.enabled) {
    protect(j, t, v, onchain);
  }
  // Backtest samples: at the first tick of each return period, the VaR on chain then.
  const std::int64_t ps = period_start(t, portfolios_[j].period_s);
  if (onchain != nullptr && (samples_[j].empty() || samples_[j].back().period != ps)) {
    samples_[j].push_back({k, ps, v, pt.onchain_var, pt.onchain_cvar});
  }
}

// RiskRebalancer: swap toward the risk-off weight when the rebalance threshold fires, back to the
// normal weight when it resets (the breaker's hysteresis edges). As the contract (issue 14,
// finding 11): no swap while the breaker is tripped, at most `max_trade` of the vault's value per
// swap, one swap per `cooldown_s`; the rest of the way waits for later ticks.
void SimulationRun::rebalance(std::size_t j, SimPoint& pt, double v, std::int64_t t) {
  const auto& rb = scenario_.rebalancer;
  const double fee = static_cast<double>(rb.fee_bps) / 10'000.0;
  auto& sum = res_.summaries[j];
  auto& vault = vaults_[j];
  if (!vault.started) {
    vault.started = true;
    vault.v0 = v;
    vault.target = rb.normal_weight;
    vault.units = rb.normal_weight / v;
    vault.stable = 1.0 - rb.normal_weight;
  }
  const bool cooled = vault.last_trade < 0 || t - vault.last_trade >= rb.cooldown_s;
  if (pt.rebalance != risk::ActionEdge::kNone) {
    vault.target = pt.rebalance == risk::ActionEdge::kFired ? rb.risk_off_weight : rb.normal_weight;
    vault.pending = true;
  }
  if (vault.pending && cooled && pt.status != risk::BreakerStatus::kTripped) {
    const double w_value = vault.units * v + vault.stable;
    double delta = vault.target * w_value - vault.units * v;
    const double chunk = rb.max_trade * w_value;
    vault.pending = std::fabs(delta) > chunk;
    delta = std::clamp(delta, -chunk, chunk);
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
      vault.last_trade = t;
      pt.vault_swapped = true;
    }
  }
  if (pt.rebalance != risk::ActionEdge::kNone) {
    if (j == 0 && amm_asset_) {
      // The feedback vault sells (buys) through the AMM over the next ticks.
      const double p = amm_.price();
      const double value = fb_risky_ * p + fb_stable_;
      const double want = vault.target * value / p;
      fb_sell_ = std::max(0.0, fb_risky_ - want);
      fb_buy_ = std::max(0.0, (want - fb_risky_) * p);
      fb_buy_ = std::min(fb_buy_, fb_stable_);
    }
  }
  const double w_value = vault.units * v + vault.stable;
  pt.vault_weight = vault.units * v / w_value;
  sum.vault_return = w_value - 1.0;
  sum.hold_return = v / vault.v0 - 1.0;
}

// VaRProtection (v2, issue 14 finding 1): the sale opens on a fresh accepted report, which fixes
// the premium and the VaR; the sale closes before the next tick (the shortest window the contract
// allows: the feed moves once per tick), whose price is the start price (the first feed round at
// or after the sale close); the epoch settles at the first tick at or after sale close + horizon
// and pays when the realised loss from the start price exceeds that VaR. Underwriters' deposits
// and withdrawals are queued to epoch boundaries on chain; the model tracks per-unit premiums and
// payouts only, which the queue does not change.
void SimulationRun::protect(std::size_t j, std::int64_t t, double v, const OnchainReport* onchain) {
  const auto& protection = scenario_.protection;
  auto& sum = res_.summaries[j];
  auto& ep = epochs_[j];
  if (ep.active && !ep.started && t >= ep.sale_end) {
    ep.started = true;  // VaRProtection.startCoverage
    ep.v_start = v;
    sum.gas_protection += gas::kStartCoverage;
  }
  if (ep.active && ep.started && t >= ep.end) {
    const double loss = (ep.v_start - v) / ep.v_start;
    ++sum.epochs;
    sum.gas_protection += gas::kSettle;
    if (loss > ep.var) {
      ++sum.payouts;
      sum.payout_per_unit += std::min(loss - ep.var, protection.payout_cap);
    }
    ep.active = false;
  }
  if (!ep.active && onchain != nullptr &&
      t - static_cast<std::int64_t>(onchain->observed_at) <= scenario_.oracle.max_age_s) {
    const double var = from_wad(onchain->value_at_risk);
    const double cvar = from_wad(onchain->expected_shortfall);
    const double alpha = from_wad(onchain->confidence);
    ep.active = true;
    ep.started = false;
    ep.sale_end = t + 1;
    ep.end = ep.sale_end + static_cast<std::int64_t>(onchain->horizon);
    ep.var = var;
    sum.premium_per_unit += std::min(
        1.0, std::max(protection.premium_floor, (1.0 - alpha) * (cvar - var) * protection.loading));
    sum.gas_protection += gas::kStartEpoch;
  }
}

void SimulationRun::backtest(std::size_t j) {
  const auto& spec = portfolios_[j];
  const std::int64_t span = spec.period_s * spec.risk.horizon;
  const auto& smp = samples_[j];
  std::vector<double> realized, var, es;
  std::vector<std::uint8_t> hits;
  std::size_t next = 0;
  for (std::size_t i = 0; i < smp.size(); ++i) {
    next = std::max(next, i + 1);
    while (next < smp.size() && smp[next].period < smp[i].period + span) {
      ++next;
    }
    if (next >= smp.size() || smp[next].period != smp[i].period + span) {
      continue;
    }
    const double loss = 1.0 - smp[next].value / smp[i].value;
    SimPoint& pt = res_.points[j][smp[i].tick];
    pt.sample = true;
    pt.realised_loss = loss;
    pt.exception = loss > smp[i].var;
    realized.push_back(-loss);
    var.push_back(smp[i].var);
    es.push_back(std::max(smp[i].cvar, smp[i].var));
    hits.push_back(pt.exception ? 1 : 0);
  }
  auto& sum = res_.summaries[j];
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
    const auto duration = risk::christoffersen_pelletier_duration(hits);
    sum.duration_defined = duration.defined;
    sum.duration_lr = duration.lr.lr;
    sum.duration_p = duration.lr.p_value;
    sum.duration_weibull_b = duration.shape_b;
    if (realized.size() > 2 * risk::kDefaultDqLags + 2) {
      const auto dq = risk::engle_manganelli_dq(realized, var, alpha);
      sum.dq_defined = true;
      sum.dq = dq.dq;
      sum.dq_p = dq.p_value;
      sum.dq_dof = dq.dof;
    }
  }
  sum.gas = sum.gas_reports + sum.gas_rebalances + sum.gas_protection;
  sum.cost_eth = sum.gas * scenario_.gas.price_gwei * 1e-9;
  sum.cost_usd = sum.cost_eth * scenario_.gas.eth_usd;
}

}  // namespace

SimulationResult run_simulation(const ScenarioSpec& scenario, const SimulationOptions& options) {
  return SimulationRun(scenario, options).run();
}

}  // namespace varkeeper::keeper
