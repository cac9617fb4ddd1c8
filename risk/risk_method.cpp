#include "risk/risk_method.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "risk/evt.hpp"
#include "risk/ewma.hpp"
#include "risk/historical.hpp"
#include "risk/jump_calibration.hpp"
#include "risk/ledoit_wolf.hpp"
#include "risk/monte_carlo.hpp"
#include "risk/parametric.hpp"
#include "risk/sample_moments.hpp"
#include "risk/student_t_fit.hpp"
#include "risk/student_t_fit_cache.hpp"

namespace varkeeper::risk {
namespace {

constexpr std::array<RiskMethod, 10> kAll{
    RiskMethod::kParametricNormal, RiskMethod::kParametricT,
    RiskMethod::kCornishFisher,    RiskMethod::kHistorical,
    RiskMethod::kHistoricalAge,    RiskMethod::kFilteredHistorical,
    RiskMethod::kMcNormal,         RiskMethod::kMcT,
    RiskMethod::kMcJump,           RiskMethod::kEvt,
};

constexpr std::array<std::pair<RiskMethod, std::string_view>, kAll.size()> kNames{{
    {RiskMethod::kParametricNormal, "parametric-normal"},
    {RiskMethod::kParametricT, "parametric-t"},
    {RiskMethod::kCornishFisher, "cornish-fisher"},
    {RiskMethod::kHistorical, "historical"},
    {RiskMethod::kHistoricalAge, "historical-age"},
    {RiskMethod::kFilteredHistorical, "filtered-historical"},
    {RiskMethod::kMcNormal, "mc-normal"},
    {RiskMethod::kMcT, "mc-t"},
    {RiskMethod::kMcJump, "mc-jump"},
    {RiskMethod::kEvt, "evt"},
}};
static_assert(
    [] {
      for (std::size_t i = 0; i < kAll.size(); ++i) {
        if (kNames[i].first != kAll[i] || static_cast<std::size_t>(kAll[i]) != i) {
          return false;
        }
      }
      return true;
    }(),
    "kAll and kNames list every method once, in enum order");

std::size_t minimum_observations(RiskMethod m, std::size_t n_assets, int horizon) {
  const auto h = static_cast<std::size_t>(horizon);
  switch (m) {
    case RiskMethod::kParametricNormal:
    case RiskMethod::kMcNormal: return 2;
    case RiskMethod::kParametricT:
    case RiskMethod::kMcT: return n_assets + 2;
    case RiskMethod::kCornishFisher: return 3;
    case RiskMethod::kHistorical:
    case RiskMethod::kHistoricalAge: return h;
    case RiskMethod::kFilteredHistorical: return std::max<std::size_t>(2, h);
    case RiskMethod::kMcJump: return n_assets + 3;
    case RiskMethod::kEvt: return h + 1;
  }
  return 2;
}

void validate(RiskMethod method, const ReturnWindow& window, std::span<const double> weights,
              const RiskOptions& o) {
  if (!(o.confidence > 0.0 && o.confidence < 1.0)) {
    throw std::invalid_argument("confidence must be strictly between 0 and 1.");
  }
  if (o.horizon < 1) {
    throw std::invalid_argument("the horizon must be at least one period.");
  }
  if (window.n_assets == 0 || window.returns.size() % window.n_assets != 0) {
    throw std::invalid_argument("the return window is not a whole number of rows of assets.");
  }
  if (weights.size() != window.n_assets) {
    throw std::invalid_argument("there are " + std::to_string(weights.size()) + " weights for " +
                                std::to_string(window.n_assets) + " assets.");
  }
  for (double w : weights) {
    if (!std::isfinite(w)) {
      throw std::invalid_argument("a weight is not a finite number.");
    }
  }
  for (double r : window.returns) {
    if (!std::isfinite(r)) {
      throw std::invalid_argument("a return is not a finite number.");
    }
  }
  const std::size_t need = minimum_observations(method, window.n_assets, o.horizon);
  if (window.n_obs() < need) {
    throw std::invalid_argument("method " + std::string(to_string(method)) + " needs at least " +
                                std::to_string(need) + " observations, the window has " +
                                std::to_string(window.n_obs()) + ".");
  }
  if (!(o.ewma_lambda > 0.0 && o.ewma_lambda < 1.0)) {
    throw std::invalid_argument("the EWMA lambda must be strictly between 0 and 1.");
  }
  if (o.ewma_covariance && o.ledoit_wolf) {
    throw std::invalid_argument("choose one covariance: EWMA or Ledoit-Wolf shrinkage.");
  }
  if (!(o.age_lambda > 0.0 && o.age_lambda <= 1.0)) {
    throw std::invalid_argument("the age-weighting lambda must be in (0, 1].");
  }
  if (is_monte_carlo(method) && o.paths < 2) {
    throw std::invalid_argument("Monte Carlo needs at least two paths.");
  }
}

std::vector<double> covariance_of(const ReturnWindow& w, const RiskOptions& o) {
  if (o.ledoit_wolf) {
    return ledoit_wolf_covariance(w.returns, w.n_assets).covariance;
  }
  return o.ewma_covariance ? ewma_covariance(w.returns, w.n_assets, o.ewma_lambda)
                           : sample_covariance(w.returns, w.n_assets);
}

// The window less each asset's sample mean (mean = zero for the methods that read the returns
// themselves: Cornish-Fisher's moments and historical scenarios).
std::vector<double> demeaned(const ReturnWindow& w) {
  const std::vector<double> mu = sample_mean(w.returns, w.n_assets);
  std::vector<double> out(w.returns.begin(), w.returns.end());
  for (std::size_t k = 0; k < out.size(); ++k) {
    out[k] -= mu[k % w.n_assets];
  }
  return out;
}

std::vector<double> mean_of(const ReturnWindow& w, const RiskOptions& o) {
  return o.mean == MeanModel::kZero ? std::vector<double>(w.n_assets, 0.0)
                                    : sample_mean(w.returns, w.n_assets);
}

McSettings mc_settings(const RiskOptions& o) {
  McSettings s;
  s.paths = o.paths;
  s.horizon = o.horizon;
  s.seed = o.seed;
  s.threads = o.threads;
  s.antithetic = o.antithetic;
  s.revaluation = o.revaluation;
  s.components = o.components;
  return s;
}

template <class R>
void copy_components(const R& r, RiskEstimate& e, bool wanted) {
  if (!wanted) {
    return;
  }
  e.component_var = r.component_var;
  e.component_cvar = r.component_cvar;
}

ParametricOptions parametric_options(const RiskOptions& o) {
  return ParametricOptions{
      .confidence = o.confidence, .horizon = o.horizon, .revaluation = o.revaluation};
}

HistoricalOptions historical_options(const RiskOptions& o) {
  return HistoricalOptions{.confidence = o.confidence,
                           .horizon = o.horizon,
                           .revaluation = o.revaluation,
                           .age_lambda = o.age_lambda,
                           .ewma_lambda = o.ewma_lambda};
}

void estimate_parametric(RiskMethod method, const ReturnWindow& window,
                         std::span<const double> weights, const RiskOptions& o, RiskEstimate& e) {
  const std::size_t n = window.n_assets;
  ParametricResult r;
  if (method == RiskMethod::kParametricNormal) {
    r = parametric_normal(mean_of(window, o), covariance_of(window, o), weights,
                          parametric_options(o));
  } else if (method == RiskMethod::kParametricT) {
    // The fitted t's own location and dispersion (ML by EM), not the sample moments. Memoised
    // per window: portfolios over the same assets share one fit, bit for bit the same.
    const auto fit = shared_student_t_fit_cache().fit(window.returns, n);
    const std::vector<double> location =
        o.mean == MeanModel::kZero ? std::vector<double>(n, 0.0) : fit.location;
    r = parametric_student_t(location, fit.dispersion, fit.nu, weights, parametric_options(o));
    e.nu = fit.nu;
  } else {
    if (o.mean == MeanModel::kZero) {
      const std::vector<double> centred = demeaned(window);
      r = parametric_cornish_fisher({centred, n}, weights, parametric_options(o));
    } else {
      r = parametric_cornish_fisher(window, weights, parametric_options(o));
    }
  }
  e.diagnostics = std::move(r.diagnostics);
  e.var = r.var;
  e.cvar = r.cvar;
  e.law = std::move(r.law);
  copy_components(r, e, o.components);
}

void estimate_historical(RiskMethod method, const ReturnWindow& window,
                         std::span<const double> weights, const RiskOptions& o, RiskEstimate& e) {
  const HistoricalOptions ho = historical_options(o);
  const bool zero = o.mean == MeanModel::kZero;
  const std::vector<double> centred = zero ? demeaned(window) : std::vector<double>{};
  const ReturnWindow scenarios = zero ? ReturnWindow{centred, window.n_assets} : window;
  const HistoricalResult r =
      method == RiskMethod::kHistorical      ? historical_risk(scenarios, weights, ho)
      : method == RiskMethod::kHistoricalAge ? age_weighted_historical_risk(scenarios, weights, ho)
                                             : filtered_historical_risk(scenarios, weights, ho);
  e.var = r.var;
  e.cvar = r.cvar;
  e.n_scenarios = r.n_scenarios;
  if (!r.warning.empty()) {  // filtered-historical: the GARCH fit fell back to EWMA
    add_diagnostic(e.diagnostics, DiagnosticKind::kFilterFallback, r.warning);
  }
  copy_components(r, e, o.components);
}

// Peaks over threshold on the portfolio's historical scenario losses (risk/evt.hpp); the
// components are historical simulation's allocation scaled to the EVT totals.
void estimate_evt(const ReturnWindow& window, std::span<const double> weights, const RiskOptions& o,
                  RiskEstimate& e) {
  const bool zero = o.mean == MeanModel::kZero;
  const std::vector<double> centred = zero ? demeaned(window) : std::vector<double>{};
  const ReturnWindow scenarios = zero ? ReturnWindow{centred, window.n_assets} : window;
  const std::vector<double> losses =
      evt_portfolio_losses(scenarios, weights, o.horizon, o.revaluation);
  PotOptions po;
  po.confidence = o.confidence;
  const PotResult r = pot_risk(losses, po);
  e.var = r.var;
  e.cvar = std::max(r.es, r.var);
  e.n_scenarios = losses.size();
  if (!r.note.empty()) {
    add_diagnostic(e.diagnostics, DiagnosticKind::kEvtFallback, r.note);
  }
  if (o.components) {
    const HistoricalResult hs = historical_risk(scenarios, weights, historical_options(o));
    const auto scaled = [](const std::vector<double>& c, double total) {
      double sum = 0.0;
      for (double x : c) {
        sum += x;
      }
      std::vector<double> out(c.size(), c.empty() ? 0.0 : total / static_cast<double>(c.size()));
      if (std::fabs(sum) > 1e-300) {
        for (std::size_t i = 0; i < c.size(); ++i) {
          out[i] = c[i] * total / sum;
        }
      }
      return out;
    };
    e.component_var = scaled(hs.component_var, e.var);
    e.component_cvar = scaled(hs.component_cvar, e.cvar);
  }
}

McModel monte_carlo_model(RiskMethod method, const ReturnWindow& window, const RiskOptions& o,
                          std::vector<Diagnostic>& diagnostics) {
  const std::size_t n = window.n_assets;
  if (method == RiskMethod::kMcJump) {
    // Merton mixture by maximum likelihood (EM); floors and bounds hit are diagnostics.
    JumpCalibration fit = calibrate_jump_diffusion_ml(window.returns, n);
    for (auto& d : fit.diagnostics) {
      add_diagnostic(diagnostics, d.kind, std::move(d.detail));
    }
    McModel jump = std::move(fit.model);
    if (o.mean == MeanModel::kZero) {
      // Expected per-period log-return: drift + lambda_i m_i + lambda_c m_c,i; set to 0.
      const JumpModel& j = jump.jumps;
      for (std::size_t i = 0; i < n; ++i) {
        const double jumps =
            (i < j.intensity.size() && i < j.mean.size() ? j.intensity[i] * j.mean[i] : 0.0) +
            (i < j.common_mean.size() ? j.common_intensity * j.common_mean[i] : 0.0);
        jump.drift[i] = -jumps;
      }
    }
    return jump;
  }
  McModel model;
  if (method == RiskMethod::kMcT) {
    // The fitted t's location and dispersion (ML by EM), as for parametric-t (memoised).
    model.distribution = McDistribution::kStudentT;
    auto fit = shared_student_t_fit_cache().fit(window.returns, n);
    model.drift =
        o.mean == MeanModel::kZero ? std::vector<double>(n, 0.0) : std::move(fit.location);
    model.covariance = std::move(fit.dispersion);
    model.nu = fit.nu;
  } else {
    model.distribution = McDistribution::kNormal;
    model.drift = mean_of(window, o);
    model.covariance = covariance_of(window, o);
  }
  return model;
}

void estimate_monte_carlo(RiskMethod method, const ReturnWindow& window,
                          std::span<const double> weights, const RiskOptions& o, RiskEstimate& e) {
  McModel model = monte_carlo_model(method, window, o, e.diagnostics);
  McSettings settings = mc_settings(o);
  if (method == RiskMethod::kMcT && o.horizon > 1) {
    // The same aggregation rule as parametric-t: the h-period return is a t with the same nu,
    // location h mu and dispersion h Sigma (sums of t's are not t; summing h draws instead gave
    // 9.5 % less VaR and 24 % less ES than parametric-t at h = 10, nu = 4). One step per path.
    const double h = static_cast<double>(o.horizon);
    for (double& d : model.drift) {
      d *= h;
    }
    for (double& c : model.covariance) {
      c *= h;
    }
    settings.horizon = 1;
  }
  const auto r = monte_carlo_risk(model, weights, o.confidence, settings);
  e.var = r.var;
  e.cvar = r.cvar;
  e.stderr_var = r.stderr_var;
  e.stderr_cvar = r.stderr_cvar;
  e.n_scenarios = r.paths;
  e.nu = model.nu;
  e.law = r.law;
  copy_components(r, e, o.components);
  if (method == RiskMethod::kMcT && o.revaluation == Revaluation::kFull &&
      std::any_of(weights.begin(), weights.end(), [](double w) { return w < 0.0; })) {
    // A short leg's loss e^r - 1 has no finite mean under t tails: the sample CVaR does not
    // converge (issue 16 review: 1.36 to 3.79 across seeds for a 30-day ETH short).
    add_diagnostic(e.diagnostics, DiagnosticKind::kShortTailUnbounded,
                   "a short position under Student-t tails has no finite expected shortfall "
                   "(E[e^r | tail] is infinite): the CVaR reported is the sample mean of the "
                   "simulated tail, which does not converge and changes with the seed; VaR is "
                   "sound. Use mc-normal, historical or --linear for a stable CVaR.");
  }
}

std::string number_text(double x, int precision) {
  std::ostringstream out;
  out << std::setprecision(precision) << x;
  return out.str();
}

std::string percent_text(double x) { return number_text(100.0 * x, 4) + " %"; }

// The diagnostics every method shares, from the finished estimate (risk/risk_diagnostic.hpp).
void add_common_diagnostics(RiskMethod method, const RiskOptions& o, RiskEstimate& e) {
  const double tail_p = 1.0 - o.confidence;
  // evt extrapolates beyond the sample by design (its GPD tail), so it is not said there.
  if (method != RiskMethod::kEvt && e.n_scenarios > 0 &&
      static_cast<double>(e.n_scenarios) * tail_p < 1.0) {
    add_diagnostic(e.diagnostics, DiagnosticKind::kTailBeyondSample,
                   std::to_string(e.n_scenarios) + " scenarios at confidence " +
                       number_text(o.confidence, 6) +
                       " leave less than one scenario in the tail (n (1 - alpha) < 1): VaR and "
                       "CVaR are the worst scenario.");
  }
  if (method == RiskMethod::kHistoricalAge && e.n_scenarios > 0) {
    const std::vector<double> w = age_weights(e.n_scenarios, o.age_lambda);
    double sum = 0.0, sum2 = 0.0;
    for (double x : w) {
      sum += x;
      sum2 += x * x;
    }
    const double ess = sum2 > 0.0 ? sum * sum / sum2 : 0.0;
    if (ess * tail_p < 1.0) {
      add_diagnostic(e.diagnostics, DiagnosticKind::kLowEffectiveSampleSize,
                     "the age weights' effective sample size is " + number_text(ess, 4) +
                         " scenarios, less than one in the tail at this confidence (ESS (1 - "
                         "alpha) < 1): the figure rests on the few newest losses.");
    }
  }
  if ((method == RiskMethod::kParametricT || method == RiskMethod::kMcT) &&
      e.nu <= kMinNu * (1.0 + 1e-6)) {
    add_diagnostic(e.diagnostics, DiagnosticKind::kNuAtBound,
                   "the fitted Student-t degrees of freedom sit at their lower bound nu = " +
                       number_text(kMinNu, 4) +
                       ": the data's tail is at least this heavy, ES/VaR is near its maximum.");
  }
  if (!(e.var > 0.0)) {
    add_diagnostic(e.diagnostics, DiagnosticKind::kNonPositiveVar,
                   "VaR is " + percent_text(e.var) +
                       ": no loss at this confidence (the expected gain over the horizon, or a "
                       "flat window, outweighs the loss quantile); a keeper publishes 0.");
  }
  if (e.cvar > 1.0) {
    add_diagnostic(e.diagnostics, DiagnosticKind::kLossBeyondValue,
                   "CVaR is " + percent_text(e.cvar) +
                       " of portfolio value (short positions can lose more than the value); a "
                       "keeper publishes at most 100 %.");
  }
}

}  // namespace

std::span<const RiskMethod> all_risk_methods() noexcept { return kAll; }

std::string_view to_string(RiskMethod m) noexcept {
  for (const auto& [method, name] : kNames) {
    if (method == m) {
      return name;
    }
  }
  return "unknown";
}

std::optional<RiskMethod> parse_risk_method(std::string_view name) noexcept {
  for (const auto& [method, n] : kNames) {
    if (n == name) {
      return method;
    }
  }
  return std::nullopt;
}

std::string risk_method_names(std::string_view separator, std::string_view last_separator) {
  std::string out;
  for (std::size_t i = 0; i < kAll.size(); ++i) {
    if (i > 0) {
      out += i + 1 == kAll.size() ? last_separator : separator;
    }
    out += to_string(kAll[i]);
  }
  return out;
}

std::string_view to_string(MeanModel m) noexcept {
  return m == MeanModel::kZero ? "zero" : "sample";
}

std::optional<MeanModel> parse_mean_model(std::string_view name) noexcept {
  if (name == "zero") {
    return MeanModel::kZero;
  }
  if (name == "sample") {
    return MeanModel::kSample;
  }
  return std::nullopt;
}

bool is_monte_carlo(RiskMethod m) noexcept {
  return m == RiskMethod::kMcNormal || m == RiskMethod::kMcT || m == RiskMethod::kMcJump;
}

RiskEstimate estimate_risk(RiskMethod method, const ReturnWindow& window,
                           std::span<const double> weights, const RiskOptions& options) {
  validate(method, window, weights, options);
  const auto zero = [](double w) { return w == 0.0; };
  if ((method == RiskMethod::kParametricT || method == RiskMethod::kMcT) &&
      std::any_of(weights.begin(), weights.end(), zero) &&
      !std::all_of(weights.begin(), weights.end(), zero)) {
    // The t methods fit one nu for all the window's assets: an asset held at weight 0 must not
    // move it (issue 16 review: a pegged asset at weight 0 pinned nu to 2.05 and raised a BTC
    // position's VaR from 6.59 % to 11.59 %). They run on the held assets only; the others'
    // components are 0.
    const std::size_t n = window.n_assets;
    std::vector<std::size_t> held;
    for (std::size_t i = 0; i < n; ++i) {
      if (weights[i] != 0.0) {
        held.push_back(i);
      }
    }
    std::vector<double> returns;
    returns.reserve(window.n_obs() * held.size());
    for (std::size_t t = 0; t < window.n_obs(); ++t) {
      for (std::size_t i : held) {
        returns.push_back(window.returns[t * n + i]);
      }
    }
    std::vector<double> held_weights;
    held_weights.reserve(held.size());
    for (std::size_t i : held) {
      held_weights.push_back(weights[i]);
    }
    RiskEstimate e = estimate_risk(method, {returns, held.size()}, held_weights, options);
    for (auto* components : {&e.component_var, &e.component_cvar}) {
      if (components->empty()) {
        continue;
      }
      std::vector<double> full(n, 0.0);
      for (std::size_t k = 0; k < held.size(); ++k) {
        full[held[k]] = (*components)[k];
      }
      *components = std::move(full);
    }
    return e;
  }
  RiskEstimate e;
  e.n_obs = window.n_obs();
  switch (method) {
    case RiskMethod::kParametricNormal:
    case RiskMethod::kParametricT:
    case RiskMethod::kCornishFisher:
      estimate_parametric(method, window, weights, options, e);
      break;
    case RiskMethod::kHistorical:
    case RiskMethod::kHistoricalAge:
    case RiskMethod::kFilteredHistorical:
      estimate_historical(method, window, weights, options, e);
      break;
    case RiskMethod::kMcNormal:
    case RiskMethod::kMcT:
    case RiskMethod::kMcJump: estimate_monte_carlo(method, window, weights, options, e); break;
    case RiskMethod::kEvt: estimate_evt(window, weights, options, e); break;
  }
  add_common_diagnostics(method, options, e);
  return e;
}

}  // namespace varkeeper::risk
