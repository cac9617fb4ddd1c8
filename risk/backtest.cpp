#include "risk/backtest.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

#include "risk/sampling_distributions.hpp"

namespace varkeeper::risk {
namespace {

// x ln y with the convention 0 ln 0 = 0 used by every likelihood below.
double xlogy(double x, double y) { return x == 0.0 ? 0.0 : x * std::log(y); }

double ratio_or_zero(double num, double den) { return den > 0.0 ? num / den : 0.0; }

void check_alpha(double alpha) {
  if (!(alpha > 0.0 && alpha < 1.0)) {
    throw std::invalid_argument("The VaR confidence must lie strictly between 0 and 1.");
  }
}

LikelihoodRatioTest make_test(double lr, int dof) {
  // Rounding can leave a true zero a few ulps negative.
  lr = std::max(lr, 0.0);
  return {lr, stat::chi_square_sf(lr, dof), dof};
}

// Basel (1996) Table 2: plus factors for 5..9 exceptions in 250 days at 99 %.
constexpr std::array<double, 5> kBaselYellowPlus{0.40, 0.50, 0.65, 0.75, 0.85};
constexpr double kBaselRedPlus = 1.00;
constexpr double kBaselBaseMultiplier = 3.0;
constexpr double kGreenLimit = 0.95;
constexpr double kYellowLimit = 0.9999;

// 53-bit uniform in [0, 1) from one mt19937_64 draw (platform-independent, unlike
// std::uniform_real_distribution whose algorithm the standard leaves open).
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Shared by both Z2 tests: p-value, critical value (the project's empirical quantile: the k-th
// smallest, k = ceil(M * level)) and decision from the simulated Z2s.
void finish_shortfall(std::vector<double>& sims, double z2, double significance,
                      ShortfallTestResult& r) {
  r.z2 = z2;
  r.simulations = sims.size();
  const auto below = std::count_if(sims.begin(), sims.end(), [&](double v) { return v <= z2; });
  r.p_value = static_cast<double>(below) / static_cast<double>(sims.size());
  std::sort(sims.begin(), sims.end());
  auto k =
      static_cast<std::size_t>(std::ceil(static_cast<double>(sims.size()) * significance - 1e-9));
  k = std::clamp<std::size_t>(k, 1, sims.size());
  r.critical_value = sims[k - 1];
  r.reject = r.p_value < significance;
}

}  // namespace

std::vector<std::uint8_t> hit_sequence(std::span<const double> realized,
                                       std::span<const double> var) {
  if (realized.size() != var.size()) {
    throw std::invalid_argument("The realised returns and the VaR forecasts differ in length.");
  }
  std::vector<std::uint8_t> hits(realized.size());
  for (std::size_t t = 0; t < realized.size(); ++t) {
    hits[t] = -realized[t] > var[t] ? 1 : 0;
  }
  return hits;
}

TransitionCounts transition_counts(std::span<const std::uint8_t> hits) {
  TransitionCounts c;
  for (std::size_t t = 1; t < hits.size(); ++t) {
    const bool prev = hits[t - 1] != 0;
    const bool cur = hits[t] != 0;
    if (!prev && !cur) {
      ++c.n00;
    }
    if (!prev && cur) {
      ++c.n01;
    }
    if (prev && !cur) {
      ++c.n10;
    }
    if (prev && cur) {
      ++c.n11;
    }
  }
  return c;
}

LikelihoodRatioTest kupiec_pof(std::size_t n, std::size_t exceptions, double alpha) {
  check_alpha(alpha);
  if (n == 0) {
    throw std::invalid_argument("The Kupiec test needs at least one observation.");
  }
  if (exceptions > n) {
    throw std::invalid_argument("There cannot be more exceptions than periods.");
  }
  const double p = 1.0 - alpha;
  const double x = static_cast<double>(exceptions);
  const double nx = static_cast<double>(n - exceptions);
  const double phat = x / static_cast<double>(n);
  // Kupiec (1995): LR_pof = -2 ln[(1-p)^(n-x) p^x / ((1-phat)^(n-x) phat^x)].
  const double log_null = xlogy(nx, 1.0 - p) + xlogy(x, p);
  const double log_alt = xlogy(nx, 1.0 - phat) + xlogy(x, phat);
  return make_test(-2.0 * (log_null - log_alt), 1);
}

LikelihoodRatioTest christoffersen_independence(const TransitionCounts& c) {
  const double n00 = static_cast<double>(c.n00);
  const double n01 = static_cast<double>(c.n01);
  const double n10 = static_cast<double>(c.n10);
  const double n11 = static_cast<double>(c.n11);
  // Christoffersen (1998) eq. for LR_ind: pi01 = n01/(n00+n01), pi11 = n11/(n10+n11),
  // pi = (n01+n11)/(n00+n01+n10+n11).
  const double pi01 = ratio_or_zero(n01, n00 + n01);
  const double pi11 = ratio_or_zero(n11, n10 + n11);
  const double pi = ratio_or_zero(n01 + n11, n00 + n01 + n10 + n11);
  const double log_null = xlogy(n00 + n10, 1.0 - pi) + xlogy(n01 + n11, pi);
  const double log_alt =
      xlogy(n00, 1.0 - pi01) + xlogy(n01, pi01) + xlogy(n10, 1.0 - pi11) + xlogy(n11, pi11);
  return make_test(-2.0 * (log_null - log_alt), 1);
}

LikelihoodRatioTest christoffersen_conditional_coverage(std::size_t n, std::size_t exceptions,
                                                        const TransitionCounts& counts,
                                                        double alpha) {
  const double lr = kupiec_pof(n, exceptions, alpha).lr + christoffersen_independence(counts).lr;
  return make_test(lr, 2);
}

const char* to_string(TrafficLightZone zone) noexcept {
  switch (zone) {
    case TrafficLightZone::kGreen: return "green";
    case TrafficLightZone::kYellow: return "yellow";
    case TrafficLightZone::kRed: return "red";
  }
  return "unknown";
}

double basel_plus_factor(std::size_t n, std::size_t exceptions, double alpha) {
  check_alpha(alpha);
  const double f = stat::binomial_cdf(exceptions, n, 1.0 - alpha);
  if (exceptions == 0 || f < kGreenLimit) {  // zero exceptions is green (traffic_light)
    return 0.0;
  }
  if (f >= kYellowLimit) {
    return kBaselRedPlus;
  }
  double plus = kBaselYellowPlus[0];
  for (std::size_t i = 1; i < kBaselYellowPlus.size(); ++i) {
    if (stat::binomial_cdf(5 + i, 250, 0.01) <= f) {
      plus = kBaselYellowPlus[i];
    }
  }
  return plus;
}

TrafficLight traffic_light(std::size_t n, std::size_t exceptions, double alpha) {
  check_alpha(alpha);
  if (n == 0) {
    throw std::invalid_argument("The traffic-light test needs at least one observation.");
  }
  if (exceptions > n) {
    throw std::invalid_argument("There cannot be more exceptions than periods.");
  }
  const double p = 1.0 - alpha;
  TrafficLight tl;
  tl.cumulative_probability = stat::binomial_cdf(exceptions, n, p);
  tl.type1_error = stat::binomial_sf_inclusive(exceptions, n, p);
  // Zero exceptions is green for every n: with n <= 5 at 99 % F(0) = 0.99^n >= 0.95, and the rule
  // alone would call a model that was never exceeded yellow (issue 16, defect 7).
  tl.zone = exceptions == 0 || tl.cumulative_probability < kGreenLimit ? TrafficLightZone::kGreen
            : tl.cumulative_probability < kYellowLimit                 ? TrafficLightZone::kYellow
                                                                       : TrafficLightZone::kRed;
  // Zone boundaries for this (n, alpha): F is non-decreasing in x, so scan up from 0.
  std::size_t x = 0;
  while (x < n && stat::binomial_cdf(x + 1, n, p) < kGreenLimit) {
    ++x;
  }
  tl.green_max = stat::binomial_cdf(0, n, p) < kGreenLimit ? x : 0;
  while (x < n && stat::binomial_cdf(x + 1, n, p) < kYellowLimit) {
    ++x;
  }
  tl.yellow_max = x;
  tl.plus_factor = basel_plus_factor(n, exceptions, alpha);
  return tl;
}

double zone_multiplier(std::size_t n, std::size_t exceptions, double alpha) {
  return (kBaselBaseMultiplier + basel_plus_factor(n, exceptions, alpha)) / kBaselBaseMultiplier;
}

std::optional<double> exception_ratio_multiplier(std::size_t n, std::size_t exceptions,
                                                 double alpha) {
  check_alpha(alpha);
  if (n == 0) {
    return 1.0;
  }
  const double rate = static_cast<double>(exceptions) / static_cast<double>(n);
  if (rate <= 1.0 - alpha) {
    return 1.0;
  }
  if (rate >= 0.5) {
    return std::nullopt;
  }
  return stat::normal_quantile(alpha) / stat::normal_quantile(1.0 - rate);
}

double acerbi_szekely_z2(std::span<const double> realized, std::span<const double> var,
                         std::span<const double> es, double alpha) {
  check_alpha(alpha);
  if (realized.size() != var.size() || realized.size() != es.size() || realized.empty()) {
    throw std::invalid_argument(
        "The Z2 test needs equally many, and at least one, returns, VaR and ES forecasts.");
  }
  const double t_tail = static_cast<double>(realized.size()) * (1.0 - alpha);
  double sum = 0.0;
  for (std::size_t t = 0; t < realized.size(); ++t) {
    const double loss = -realized[t];
    if (loss > var[t]) {
      sum += loss / es[t];
    }
  }
  return 1.0 - sum / t_tail;
}

double normal_implied_es(double var, double alpha) {
  check_alpha(alpha);
  const double z = stat::normal_quantile(alpha);
  return var / z * stat::normal_pdf(z) / (1.0 - alpha);
}

// Longer than 80 lines on purpose: Acerbi-Szekely (2014) Z2 in the paper's order (input
// checks, the statistic, then its simulated null distribution), sharing the checked inputs.
ShortfallTestResult acerbi_szekely_test(std::span<const double> realized,
                                        std::span<const double> var, std::span<const double> es,
                                        double alpha, const ShortfallTestOptions& options) {
  const double z2 = acerbi_szekely_z2(realized, var, es, alpha);
  if (options.simulations == 0) {
    throw std::invalid_argument("The Z2 test needs at least one simulation.");
  }
  if (!(options.significance > 0.0 && options.significance < 1.0)) {
    throw std::invalid_argument("The Z2 test's significance must lie strictly between 0 and 1.");
  }
  const bool normal = options.tail_dof == 0.0;
  if (!normal && !(options.tail_dof > 1.0)) {
    throw std::invalid_argument(
        "The Z2 model's Student-t tail needs more than 1 degree of freedom.");
  }
  const std::size_t n = realized.size();
  // Standardised tail of eps: q its alpha-quantile, e = E[eps | eps > q].
  double q = 0.0;
  double e = 0.0;
  if (normal) {
    q = stat::normal_quantile(alpha);
    e = stat::normal_pdf(q) / (1.0 - alpha);
  } else {
    const double nu = options.tail_dof;
    q = stat::student_t_quantile(alpha, nu);
    e = (nu + q * q) / (nu - 1.0) * stat::student_t_pdf(q, nu) / (1.0 - alpha);
  }
  // Per period location m_t and scale s_t matching VaR_t and ES_t exactly.
  std::vector<double> m(n);
  std::vector<double> s(n);
  for (std::size_t t = 0; t < n; ++t) {
    if (!(std::isfinite(var[t]) && std::isfinite(es[t]) && es[t] > 0.0)) {
      throw std::invalid_argument("Every ES forecast must be a positive finite number.");
    }
    const double gap = es[t] - var[t];
    if (gap < -1e-12 * std::fabs(es[t])) {
      throw std::invalid_argument("An ES forecast lies below its VaR forecast.");
    }
    s[t] = std::max(gap, 0.0) / (e - q);
    m[t] = var[t] - s[t] * q;
  }
  // Simulate Z2 under the model. Only tail periods contribute, so for the normal model draw
  // u ~ U(0,1) and, when u > alpha (the model's exception, probability 1 - alpha), the tail
  // loss by inversion eps = Phi^-1(u); for Student-t draw eps = Z / sqrt(chi2_nu / nu).
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<double> gauss;
  std::chi_squared_distribution<double> chi2(normal ? 1.0 : options.tail_dof);
  const double t_tail = static_cast<double>(n) * (1.0 - alpha);
  std::vector<double> sims(options.simulations);
  for (double& z : sims) {
    double sum = 0.0;
    for (std::size_t t = 0; t < n; ++t) {
      double eps = 0.0;
      if (normal) {
        const double u = uniform01(rng);
        if (u <= alpha) {
          continue;
        }
        eps = stat::normal_quantile(u);
      } else {
        eps = gauss(rng) / std::sqrt(chi2(rng) / options.tail_dof);
        if (eps <= q) {
          continue;
        }
      }
      sum += (m[t] + s[t] * eps) / es[t];
    }
    z = 1.0 - sum / t_tail;
  }
  ShortfallTestResult r;
  finish_shortfall(sims, z2, options.significance, r);
  return r;
}

ShortfallTestResult acerbi_szekely_model_test(std::span<const double> realized,
                                              std::span<const double> var,
                                              std::span<const double> es, double alpha,
                                              std::span<const PredictiveLaw* const> laws,
                                              const ShortfallTestOptions& options) {
  const double z2 = acerbi_szekely_z2(realized, var, es, alpha);
  if (options.simulations == 0) {
    throw std::invalid_argument("The Z2 test needs at least one simulation.");
  }
  if (!(options.significance > 0.0 && options.significance < 1.0)) {
    throw std::invalid_argument("The Z2 test's significance must lie strictly between 0 and 1.");
  }
  const std::size_t n = realized.size();
  if (laws.size() != n) {
    throw std::invalid_argument("The Z2 model test needs one predictive law per period.");
  }
  std::vector<double> floor_u(n);
  std::vector<double> inv_es(n);
  for (std::size_t t = 0; t < n; ++t) {
    if (laws[t] == nullptr || !laws[t]->has_law()) {
      throw std::invalid_argument("A period of the Z2 model test has no predictive law.");
    }
    if (!(std::isfinite(es[t]) && es[t] > 0.0 && std::isfinite(var[t]))) {
      throw std::invalid_argument("Every ES forecast must be a positive finite number.");
    }
    // Q_t(u) <= VaR_t for u <= alpha up to rounding; the margin keeps draws just below alpha
    // whose rounded loss might still exceed VaR_t (the exception test decides).
    floor_u[t] = std::min(alpha - 1e-9, laws[t]->lowest_u());
    inv_es[t] = 1.0 / es[t];
  }
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<double> gauss;
  std::chi_squared_distribution<double> chi2;
  using Chi2Param = std::chi_squared_distribution<double>::param_type;
  const double t_tail = static_cast<double>(n) * (1.0 - alpha);
  std::vector<double> sims(options.simulations);
  for (double& z : sims) {
    double sum = 0.0;
    for (std::size_t t = 0; t < n; ++t) {
      const PredictiveLaw& law = *laws[t];
      double loss = 0.0;
      if (law.kind == PredictiveLaw::Kind::kStudentT) {
        // Inverting the t's CDF costs ~0.2 ms; a t draw Z / sqrt(chi2_nu / nu) is exact and
        // cheap (std:: distributions: reproducible for a given standard library).
        const double eps = gauss(rng) / std::sqrt(chi2(rng, Chi2Param(law.nu)) / law.nu);
        loss = law.loss_at_standard(eps);
      } else {
        const double u = uniform01(rng);
        if (u <= floor_u[t]) {
          continue;
        }
        loss = law.loss_quantile(u);
      }
      if (loss > var[t]) {
        sum += loss * inv_es[t];
      }
    }
    z = 1.0 - sum / t_tail;
  }
  ShortfallTestResult r;
  finish_shortfall(sims, z2, options.significance, r);
  return r;
}

CalibratedBacktest rolling_recalibration(std::span<const double> realized,
                                         std::span<const double> var, double alpha,
                                         std::size_t window, RecalibrationBasis basis) {
  check_alpha(alpha);
  const std::size_t n = realized.size();
  if (var.size() != n || n == 0) {
    throw std::invalid_argument(
        "Recalibration needs equally many, and at least one, returns and VaR forecasts.");
  }
  if (window == 0) {
    throw std::invalid_argument("The calibration window must be at least 1.");
  }
  const auto hits = hit_sequence(realized, var);
  CalibratedBacktest c;
  c.multiplier.resize(n);
  c.var.resize(n);
  std::size_t trailing = 0;  // exceptions of the raw VaR in [t - min(t, window), t)
  for (std::size_t t = 0; t < n; ++t) {
    const std::size_t m_n = std::min(t, window);
    double m = 1.0;
    if (static_cast<double>(m_n) * (1.0 - alpha) >= 1.0) {
      m = zone_multiplier(m_n, trailing, alpha);
      if (basis == RecalibrationBasis::kExceptionRatio) {
        m = exception_ratio_multiplier(m_n, trailing, alpha).value_or(m);
      }
    }
    c.multiplier[t] = m;
    c.var[t] = m * var[t];
    if (-realized[t] > c.var[t]) {
      ++c.exceptions;
    }
    trailing += hits[t];
    if (t >= window) {
      trailing -= hits[t - window];
    }
  }
  c.pof = kupiec_pof(n, c.exceptions, alpha);
  c.traffic_light = traffic_light(n, c.exceptions, alpha);
  c.mean_var = std::accumulate(c.var.begin(), c.var.end(), 0.0) / static_cast<double>(n);
  return c;
}

BacktestReport run_backtest(std::span<const double> realized, std::span<const double> var,
                            std::span<const double> es, const BacktestOptions& options,
                            std::span<const PredictiveLaw* const> laws) {
  const double alpha = options.confidence;
  check_alpha(alpha);
  const std::size_t n = realized.size();
  if (n == 0) {
    throw std::invalid_argument("A backtest needs at least one forecast period.");
  }
  if (var.size() != n || (!es.empty() && es.size() != n) || (!laws.empty() && laws.size() != n)) {
    throw std::invalid_argument("The realised returns and the forecasts differ in length.");
  }
  for (std::size_t t = 0; t < n; ++t) {
    if (!std::isfinite(realized[t])) {
      throw std::invalid_argument("Realised return " + std::to_string(t + 1) + " is not finite.");
    }
    if (!std::isfinite(var[t])) {
      throw std::invalid_argument("VaR forecast " + std::to_string(t + 1) +
                                  " is not a finite loss fraction.");
    }
    if (!es.empty() && !std::isfinite(es[t])) {
      throw std::invalid_argument("ES forecast " + std::to_string(t + 1) +
                                  " is not a finite loss fraction.");
    }
  }
  BacktestReport r;
  r.n_obs = n;
  r.non_positive_var = static_cast<std::size_t>(
      std::count_if(var.begin(), var.end(), [](double v) { return v <= 0.0; }));
  const auto hits = hit_sequence(realized, var);
  r.exceptions = static_cast<std::size_t>(std::count(hits.begin(), hits.end(), 1));
  r.expected_exceptions = static_cast<double>(n) * (1.0 - alpha);
  r.exception_ratio = static_cast<double>(r.exceptions) / r.expected_exceptions;
  const auto first = std::find(hits.begin(), hits.end(), 1);
  r.first_exception = first == hits.end() ? 0 : static_cast<std::size_t>(first - hits.begin()) + 1;
  r.transitions = transition_counts(hits);
  r.pof = kupiec_pof(n, r.exceptions, alpha);
  r.independence = christoffersen_independence(r.transitions);
  r.conditional_coverage =
      christoffersen_conditional_coverage(n, r.exceptions, r.transitions, alpha);
  const double level = 1.0 - options.test_level;
  r.pof_reject = r.pof.p_value < level;
  r.independence_reject = r.independence.p_value < level;
  r.conditional_coverage_reject = r.conditional_coverage.p_value < level;
  r.traffic_light = traffic_light(n, r.exceptions, alpha);

  std::vector<double> es_used;
  if (es.empty()) {
    r.shortfall_es_implied = true;
    es_used.reserve(n);
    for (double v : var) {
      es_used.push_back(normal_implied_es(v, alpha));
    }
  } else {
    es_used.assign(es.begin(), es.end());
  }
  // Z2 over the periods with a positive ES (L_t / ES_t is meaningless otherwise).
  std::vector<double> z_realized, z_var, z_es;
  std::vector<const PredictiveLaw*> z_laws;
  const bool with_laws = !laws.empty() && !es.empty() &&
                         std::all_of(laws.begin(), laws.end(), [](const PredictiveLaw* l) {
                           return l != nullptr && l->has_law();
                         });
  for (std::size_t t = 0; t < n; ++t) {
    if (es_used[t] > 0.0) {
      z_realized.push_back(realized[t]);
      z_var.push_back(var[t]);
      z_es.push_back(es_used[t]);
      if (with_laws) {
        z_laws.push_back(laws[t]);
      }
    }
  }
  r.shortfall_excluded = n - z_es.size();
  if (!z_es.empty()) {
    r.shortfall = acerbi_szekely_test(z_realized, z_var, z_es, alpha, options.shortfall);
    if (with_laws) {
      r.shortfall_model =
          acerbi_szekely_model_test(z_realized, z_var, z_es, alpha, z_laws, options.shortfall);
    }
  } else {
    r.shortfall.simulations = 0;
  }

  r.multiplier_zone = zone_multiplier(n, r.exceptions, alpha);
  r.multiplier_exception_ratio = exception_ratio_multiplier(n, r.exceptions, alpha);
  r.multiplier = options.recalibration == RecalibrationBasis::kTrafficLight
                     ? r.multiplier_zone
                     : r.multiplier_exception_ratio.value_or(1.0);
  const double dn = static_cast<double>(n);
  r.mean_var = std::accumulate(var.begin(), var.end(), 0.0) / dn;
  r.mean_es = std::accumulate(es_used.begin(), es_used.end(), 0.0) / dn;
  r.mean_calibrated_var = r.multiplier * r.mean_var;
  r.last_var = var.back();
  r.last_calibrated_var = r.multiplier * r.last_var;
  for (std::size_t t = 0; t < n; ++t) {
    if (-realized[t] > r.multiplier * var[t]) {
      ++r.calibrated_exceptions;
    }
  }
  r.calibrated = rolling_recalibration(realized, var, alpha, options.calibration_window,
                                       options.recalibration);
  return r;
}

}  // namespace varkeeper::risk
