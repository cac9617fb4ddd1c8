#include "risk/parametric.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "risk/sample_moments.hpp"
#include "risk/sampling_distributions.hpp"

namespace varkeeper::risk {
namespace {

void check_alpha(double alpha) {
  if (!(alpha > 0.0 && alpha < 1.0)) {
    throw std::invalid_argument("confidence must be strictly between 0 and 1.");
  }
}

void check_inputs(std::span<const double> mean, std::span<const double> covariance,
                  std::span<const double> weights, double alpha, int horizon) {
  check_alpha(alpha);
  if (horizon < 1) {
    throw std::invalid_argument("the horizon must be at least one period.");
  }
  const std::size_t n = weights.size();
  if (n == 0 || mean.size() != n || covariance.size() != n * n) {
    throw std::invalid_argument("the weights do not match the number of assets.");
  }
}

// The tail of the standardised loss Z (symmetric: the normal or the standard t) the loss fraction
// needs: T(s) = E[exp(-s Z) | Z > q] and its derivative T'(s) = -E[Z exp(-s Z) | Z > q], so
// that with X = m - s Z, E[exp(X) | X <= x_p] = exp(m) T(s).
struct TailExp {
  double value = 1.0;
  double slope = 0.0;
};

// Composite Simpson's rule of f over [a, b] with n (even) intervals; f returns {f0, f1} and both
// are integrated.
template <class F>
std::pair<double, double> simpson(F f, double a, double b, int n) {
  const double step = (b - a) / n;
  double s0 = 0.0;
  double s1 = 0.0;
  for (int k = 0; k <= n; ++k) {
    const double weight = (k == 0 || k == n) ? 1.0 : (k % 2 == 1 ? 4.0 : 2.0);
    const auto [v0, v1] = f(a + step * k);
    s0 += weight * v0;
    s1 += weight * v1;
  }
  return {s0 * step / 3.0, s1 * step / 3.0};
}

TailExp normal_tail_exp(double q, double p, double s) {
  const double g = std::exp(0.5 * s * s);
  const double tail = stat::normal_cdf(-q - s);
  return {g * tail / p, g * (s * tail - stat::normal_pdf(q + s)) / p};
}

// The standard t's tail by quadrature: [q, z0] directly (z0 = max(q, 1)), then z = z0 e^y over
// y in [0, Y], where f(z) z decays like e^(-nu y) (power tail) or faster (large nu); Y covers
// both to below 1e-17 of the mass. About 1e-10 relative (checked against a finer rule in
// tests/risk/parametric_units_test.cpp).
TailExp student_t_tail_exp(double q, double nu, double p, double s) {
  const double c = stat::student_t_pdf(0.0, nu);
  const double power = -0.5 * (nu + 1.0);
  const auto pdf = [&](double z) { return c * std::pow(1.0 + z * z / nu, power); };
  const double z0 = std::max(q, 1.0);
  double i0 = 0.0;
  double i1 = 0.0;
  if (z0 > q) {
    const auto [a0, a1] = simpson(
        [&](double z) {
          const double v = std::exp(-s * z) * pdf(z);
          return std::pair{v, z * v};
        },
        q, z0, 400);
    i0 += a0;
    i1 += a1;
  }
  const double y_max = std::max(45.0 / nu, std::log(60.0 / z0) + 1.0);
  const auto [b0, b1] = simpson(
      [&](double y) {
        const double z = z0 * std::exp(y);
        const double v = std::exp(-s * z) * pdf(z) * z;  // dz = z dy
        return std::pair{v, z * v};
      },
      0.0, y_max, 6000);
  i0 += b0;
  i1 += b1;
  return {i0 / p, -i1 / p};
}

// Short legs under full revaluation (issue 16 review): one short asset alone (every other weight
// zero) is revalued exactly, L = |w| (e^r - 1) at r's upper quantile; a short beside other
// assets keeps 1 - exp(w'r), which understates it, and says so.
struct ShortLegs {
  bool lone = false;   // exactly one nonzero weight, and it is negative
  bool mixed = false;  // a negative weight beside other nonzero weights
  double weight = 0.0;
};

ShortLegs short_legs(std::span<const double> weights) {
  std::size_t nonzero = 0;
  ShortLegs legs;
  for (double w : weights) {
    if (w != 0.0) {
      ++nonzero;
    }
    if (w < 0.0) {
      legs.weight = w;
    }
  }
  legs.lone = legs.weight < 0.0 && nonzero == 1;
  legs.mixed = legs.weight < 0.0 && nonzero > 1;
  return legs;
}

void add_short_approximation(std::vector<Diagnostic>& diagnostics, const char* method) {
  add_diagnostic(diagnostics, DiagnosticKind::kShortPositionApproximation,
                 std::string("the portfolio holds a short leg beside other assets: ") + method +
                     " models the loss as 1 - exp(w'r), which understates a short's loss "
                     "e^r - 1 (only a lone short is revalued exactly); the figure is approximate, "
                     "use historical or mc-normal / mc-t, which revalue each leg.");
}

void add_short_unbounded(std::vector<Diagnostic>& diagnostics, const char* method) {
  add_diagnostic(diagnostics, DiagnosticKind::kShortTailUnbounded,
                 std::string("a short position under ") + method +
                     " tails has no finite expected shortfall (E[e^r | tail] is infinite); CVaR "
                     "is the Jensen lower bound |w| (exp(E[r | tail]) - 1), VaR is exact.");
}

// Shared by normal and Student-t: with X = h mu_p - sqrt(h) sigma_p Z the linear figures are
// VaR = -h mu_p + sqrt(h) sigma_p q, ES likewise with e, where q and e are the standardised loss
// quantile and tail mean (sigma_p from the covariance for the normal, from the dispersion matrix
// for the t, whose q and e are then the standard t's). With full revaluation the loss is
// 1 - exp(X) (the top of parametric.hpp): VaR = 1 - exp(m - s q), ES = 1 - exp(m) T(s),
// m = h mu_p, s = sqrt(h) sigma_p; the components are the linear ones rescaled to the totals, the
// vegas the exact derivatives in ln sigma_i.
PredictiveLaw law_of_kind(PredictiveLaw::Kind kind, double nu) {
  PredictiveLaw law;
  law.kind = kind;
  law.nu = nu;
  return law;
}

template <class Tail>
ParametricResult elliptical(std::span<const double> mean, std::span<const double> covariance,
                            std::span<const double> weights, const ParametricOptions& options,
                            double q, double e, Tail tail, const char* method, bool exp_tail_finite,
                            PredictiveLaw law) {
  const std::size_t n = weights.size();
  std::vector<double> sigma_w(n, 0.0);  // Sigma w
  double mu_p = 0.0;
  double var_p = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    mu_p += weights[i] * mean[i];
    for (std::size_t j = 0; j < n; ++j) {
      sigma_w[i] += covariance[i * n + j] * weights[j];
    }
    var_p += weights[i] * sigma_w[i];
  }
  const double h = static_cast<double>(options.horizon);
  const double sh = std::sqrt(h);
  const double sd_p = std::sqrt(std::max(var_p, 0.0));
  ParametricResult r;
  r.var = -h * mu_p + sh * sd_p * q;
  r.cvar = -h * mu_p + sh * sd_p * e;
  r.component_var.resize(n);
  r.component_cvar.resize(n);
  r.vega_var.resize(n);
  r.vega_cvar.resize(n);
  std::vector<double> ds(n);  // d s / d ln sigma_i
  for (std::size_t i = 0; i < n; ++i) {
    // d sigma_p / d w_i = (Sigma w)_i / sigma_p; d sigma_p / d ln sigma_i = w_i (Sigma w)_i /
    // sigma_p because Sigma_ij = sigma_i sigma_j rho_ij.
    const double share = sd_p > 0.0 ? weights[i] * sigma_w[i] / sd_p : 0.0;
    ds[i] = sh * share;
    r.component_var[i] = -h * weights[i] * mean[i] + sh * share * q;
    r.component_cvar[i] = -h * weights[i] * mean[i] + sh * share * e;
    r.vega_var[i] = sh * share * q;
    r.vega_cvar[i] = sh * share * e;
  }
  law.location = h * mu_p;
  law.scale = sh * sd_p;
  law.loss_map = PredictiveLaw::LossMap::kLinear;
  if (options.revaluation == Revaluation::kLinear) {
    r.law = std::move(law);
    return r;
  }
  law.loss_map = PredictiveLaw::LossMap::kFull;
  const double m = h * mu_p;
  const double s = sh * sd_p;
  const TailExp t = tail(s);
  const double em = std::exp(m);
  const double linear_var = r.var;
  const double linear_cvar = r.cvar;
  r.var = -std::expm1(m - s * q);
  // E[exp(X) | X <= x_p] <= exp(x_p) holds exactly; the max only absorbs quadrature rounding.
  r.cvar = std::max(1.0 - em * t.value, r.var);
  const ShortLegs legs = short_legs(weights);
  // A lone short |w| in asset k: r_k = a + b Z with a = m / w, b = s / |w| (Z the standardised
  // loss of X = w'r), L = |w| (e^(r_k) - 1) increasing in Z: VaR = |w| expm1(a + b q),
  // ES = |w| (e^a E[e^(b Z) | Z > q] - 1) = |w| (e^a T(-b) - 1) when that is finite (normal).
  const double a_w = -legs.weight;
  const double a = legs.lone ? m / legs.weight : 0.0;
  const double b = legs.lone ? s / a_w : 0.0;
  const TailExp up = legs.lone && exp_tail_finite ? tail(-b) : TailExp{};
  if (legs.lone) {
    law.loss_map = PredictiveLaw::LossMap::kLoneShort;
    law.short_weight = a_w;
    r.var = a_w * std::expm1(a + b * q);
    r.cvar = exp_tail_finite ? a_w * (std::exp(a) * up.value - 1.0) : a_w * std::expm1(a + b * e);
    r.cvar = std::max(r.cvar, r.var);
    if (!exp_tail_finite) {
      add_short_unbounded(r.diagnostics, method);
    }
  } else if (legs.mixed) {
    add_short_approximation(r.diagnostics, method);
  }
  const double ratio_var = linear_var != 0.0 ? r.var / linear_var : 1.0;
  const double ratio_cvar = linear_cvar != 0.0 ? r.cvar / linear_cvar : 1.0;
  for (std::size_t i = 0; i < n; ++i) {
    r.component_var[i] *= ratio_var;
    r.component_cvar[i] *= ratio_cvar;
    if (legs.lone) {
      r.vega_var[i] = std::exp(a + b * q) * q * ds[i];
      r.vega_cvar[i] =
          exp_tail_finite ? -std::exp(a) * up.slope * ds[i] : std::exp(a + b * e) * e * ds[i];
    } else {
      r.vega_var[i] = std::exp(m - s * q) * q * ds[i];
      r.vega_cvar[i] = -em * t.slope * ds[i];
    }
  }
  r.law = std::move(law);
  return r;
}

// The portfolio return x_t = w'r_t's sample moments, the assets' means, and the central moments
// with divisor T (m2n, m3, m4) with their gradients in w:
// dm2n/dw_i = 2 E[d_i x], dm3/dw_i = 3 E[d_i x^2], dm4/dw_i = 4 E[d_i x^3], d the centred data.
struct PortfolioMoments {
  SeriesMoments moments;
  std::vector<double> mean;
  double m2n = 0.0, m3 = 0.0, m4 = 0.0;
  std::vector<double> g2, g3, g4;
};

PortfolioMoments portfolio_moments(const ReturnWindow& window, std::span<const double> weights) {
  const std::span<const double> returns = window.returns;
  const std::size_t n = window.n_assets;
  const std::size_t t_obs = window.n_obs();
  const double tn = static_cast<double>(t_obs);
  std::vector<double> x(t_obs, 0.0);  // portfolio returns
  for (std::size_t t = 0; t < t_obs; ++t) {
    for (std::size_t i = 0; i < n; ++i) {
      x[t] += weights[i] * returns[t * n + i];
    }
  }
  PortfolioMoments pm;
  pm.moments = series_moments(x);
  pm.mean = sample_mean(returns, n);
  pm.g2.assign(n, 0.0);
  pm.g3.assign(n, 0.0);
  pm.g4.assign(n, 0.0);
  for (std::size_t t = 0; t < t_obs; ++t) {
    const double xc = x[t] - pm.moments.mean;
    const double x2 = xc * xc;
    pm.m2n += x2;
    pm.m3 += x2 * xc;
    pm.m4 += x2 * x2;
    for (std::size_t i = 0; i < n; ++i) {
      const double di = returns[t * n + i] - pm.mean[i];
      pm.g2[i] += 2.0 * di * xc;
      pm.g3[i] += 3.0 * di * x2;
      pm.g4[i] += 4.0 * di * x2 * xc;
    }
  }
  pm.m2n /= tn;
  pm.m3 /= tn;
  pm.m4 /= tn;
  for (std::size_t i = 0; i < n; ++i) {
    pm.g2[i] /= tn;
    pm.g3[i] /= tn;
    pm.g4[i] /= tn;
  }
  return pm;
}

// Tail integrals of the Cornish-Fisher polynomial: e_cf / (-phi(z)/p) bracket, see the header.
double cf_z(double z, double s, double k) {
  return z + (z * z - 1.0) * s / 6.0 + (z * z * z - 3.0 * z) * k / 24.0 -
         (2.0 * z * z * z - 5.0 * z) * s * s / 36.0;
}
double cf_e(double z, double p, double s, double k) {
  return -stat::normal_pdf(z) / p *
         (1.0 + s * z / 6.0 + k * (z * z - 1.0) / 24.0 + s * s * (1.0 - 2.0 * z * z) / 36.0);
}

}  // namespace

double normal_var(double mean, double sd, double alpha) {
  check_alpha(alpha);
  return -mean + sd * stat::normal_quantile(alpha);
}

double normal_es(double mean, double sd, double alpha) {
  check_alpha(alpha);
  return -mean + sd * stat::normal_pdf(stat::normal_quantile(alpha)) / (1.0 - alpha);
}

double student_t_var(double mean, double scale, double nu, double alpha) {
  check_alpha(alpha);
  return -mean + scale * stat::student_t_quantile(alpha, nu);
}

double student_t_es(double mean, double scale, double nu, double alpha) {
  check_alpha(alpha);
  if (!(nu > 1.0)) {
    throw std::invalid_argument("the Student-t ES needs nu > 1.");
  }
  const double t = stat::student_t_quantile(alpha, nu);
  return -mean + scale * (nu + t * t) / (nu - 1.0) * stat::student_t_pdf(t, nu) / (1.0 - alpha);
}

double cornish_fisher_var(double mean, double sd, double skewness, double excess_kurtosis,
                          double alpha) {
  check_alpha(alpha);
  const double z = stat::normal_quantile(1.0 - alpha);
  return -(mean + sd * cf_z(z, skewness, excess_kurtosis));
}

double cornish_fisher_es(double mean, double sd, double skewness, double excess_kurtosis,
                         double alpha) {
  check_alpha(alpha);
  const double p = 1.0 - alpha;
  const double z = stat::normal_quantile(p);
  const double es = -(mean + sd * cf_e(z, p, skewness, excess_kurtosis));
  return std::max(es, cornish_fisher_var(mean, sd, skewness, excess_kurtosis, alpha));
}

bool cornish_fisher_valid(double skewness, double excess_kurtosis) {
  const double s = skewness;
  const double k = excess_kurtosis;
  const double a = k / 8.0 - s * s / 6.0;
  const double b = s / 3.0;
  const double c = 1.0 - k / 8.0 + 5.0 * s * s / 36.0;
  if (a == 0.0) {
    return b == 0.0 && c > 0.0;
  }
  return a > 0.0 && b * b - 4.0 * a * c < 0.0;
}

std::pair<double, double> cornish_fisher_kurtosis_bounds(double skewness) {
  const double s2 = skewness * skewness;
  const double b = 1.0 - s2 / 36.0;
  const double d = b * b - s2 / 9.0;
  if (d < 0.0 || b < 0.0) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    return {nan, nan};
  }
  const double root = std::sqrt(d);
  return {8.0 * (0.5 * (b - root) + s2 / 6.0), 8.0 * (0.5 * (b + root) + s2 / 6.0)};
}

CornishFisherParameters cornish_fisher_domain(double skewness, double excess_kurtosis) {
  if (cornish_fisher_valid(skewness, excess_kurtosis)) {
    return {skewness, excess_kurtosis, false};
  }
  const double s_max = kCornishFisherMaxSkewness * (1.0 - 1e-6);
  const double s = std::clamp(skewness, -s_max, s_max);
  const auto [lo, hi] = cornish_fisher_kurtosis_bounds(s);
  const double margin = 1e-6 * (hi - lo);
  const double k = std::clamp(excess_kurtosis, lo + margin, hi - margin);
  return {s, k, true};
}

double lognormal_var(double mean, double sd, double alpha) {
  check_alpha(alpha);
  return -std::expm1(mean + sd * stat::normal_quantile(1.0 - alpha));
}

double lognormal_es(double mean, double sd, double alpha) {
  check_alpha(alpha);
  const double p = 1.0 - alpha;
  const double z = stat::normal_quantile(p);
  return 1.0 - std::exp(mean + 0.5 * sd * sd) * stat::normal_cdf(z - sd) / p;
}

ParametricResult parametric_normal(std::span<const double> mean, std::span<const double> covariance,
                                   std::span<const double> weights,
                                   const ParametricOptions& options) {
  const double alpha = options.confidence;
  const int horizon = options.horizon;
  check_inputs(mean, covariance, weights, alpha, horizon);
  const double z = stat::normal_quantile(alpha);
  const double p = 1.0 - alpha;
  return elliptical(
      mean, covariance, weights, options, z, stat::normal_pdf(z) / p,
      [&](double s) { return normal_tail_exp(z, p, s); }, "parametric-normal", true,
      law_of_kind(PredictiveLaw::Kind::kNormal, 0.0));
}

ParametricResult parametric_student_t(std::span<const double> location,
                                      std::span<const double> dispersion, double nu,
                                      std::span<const double> weights,
                                      const ParametricOptions& options) {
  const double alpha = options.confidence;
  const int horizon = options.horizon;
  check_inputs(location, dispersion, weights, alpha, horizon);
  if (!(nu > 1.0)) {
    throw std::invalid_argument("the Student-t model needs nu > 1.");
  }
  // w'r is a t with location w'mu, scale sqrt(w' Sigma w), Sigma the dispersion (McNeil, Frey &
  // Embrechts 2005, section 3.3.2): the standard t's quantile and tail mean, no variance matching.
  const double q = student_t_var(0.0, 1.0, nu, alpha);
  return elliptical(
      location, dispersion, weights, options, q, student_t_es(0.0, 1.0, nu, alpha),
      [&](double s) { return student_t_tail_exp(q, nu, 1.0 - alpha, s); }, "Student-t", false,
      law_of_kind(PredictiveLaw::Kind::kStudentT, nu));
}

ParametricResult parametric_cornish_fisher(const ReturnWindow& window,
                                           std::span<const double> weights,
                                           const ParametricOptions& options) {
  const double alpha = options.confidence;
  const int horizon = options.horizon;
  check_alpha(alpha);
  if (horizon < 1) {
    throw std::invalid_argument("the horizon must be at least one period.");
  }
  const std::size_t n = window.n_assets;
  if (n == 0 || weights.size() != n || window.returns.size() % n != 0) {
    throw std::invalid_argument("the weights do not match the number of assets.");
  }
  if (window.n_obs() < 3) {
    throw std::invalid_argument("Cornish-Fisher needs at least three observations.");
  }
  const PortfolioMoments pm = portfolio_moments(window, weights);
  const auto& mom = pm.moments;

  const double h = static_cast<double>(horizon);
  const double sh = std::sqrt(h);
  const double sd = std::sqrt(mom.variance);
  const double s_sample = mom.skewness / sh;
  const double k_sample = mom.excess_kurtosis / h;
  // Outside Maillard's domain the expansion is not a quantile function (issue 16, defect 5): its
  // boundary point is used instead (cornish_fisher_domain), and the estimate says so.
  const CornishFisherParameters used = cornish_fisher_domain(s_sample, k_sample);
  const double s = used.skewness;
  const double k = used.excess_kurtosis;
  const double p = 1.0 - alpha;
  const double z = stat::normal_quantile(p);
  const double zc = cf_z(z, s, k);
  const double ec = cf_e(z, p, s, k);

  ParametricResult r;
  r.cf_sample_skewness = s_sample;
  r.cf_sample_excess_kurtosis = k_sample;
  r.cf_skewness = s;
  r.cf_excess_kurtosis = k;
  r.law.kind = PredictiveLaw::Kind::kCornishFisher;
  r.law.loss_map = options.revaluation == Revaluation::kFull ? PredictiveLaw::LossMap::kFull
                                                             : PredictiveLaw::LossMap::kLinear;
  r.law.location = h * mom.mean;
  r.law.scale = sh * sd;
  r.law.skewness = s;
  r.law.excess_kurtosis = k;
  r.var = -(h * mom.mean + sh * sd * zc);
  const double es_raw = -(h * mom.mean + sh * sd * ec);
  const bool es_guarded = es_raw < r.var;
  r.cvar = es_guarded ? r.var : es_raw;
  if (used.projected) {
    const auto text = [](double x) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.4g", x);
      return std::string(buf);
    };
    add_diagnostic(r.diagnostics, DiagnosticKind::kCornishFisherOutsideDomain,
                   "the skewness " + text(s_sample) + " and excess kurtosis " + text(k_sample) +
                       " lie outside the domain where the Cornish-Fisher expansion is a quantile "
                       "function (Maillard 2012); the expansion used the domain's boundary point "
                       "(skewness " +
                       text(s) + ", excess kurtosis " + text(k) + ").");
  }

  // Euler components: w_i dVaR/dw_i, with dsd/dw_i = (S w)_i / sd (sample covariance, T - 1),
  // dS/dw_i and dK/dw_i from the moment gradients; VaR is homogeneous of degree 1 in w. On the
  // boundary K follows S (dK = K_b'(S) dS; with S clipped neither moves), which keeps the
  // homogeneity, so the components still sum to the totals.
  const double dz_ds = (z * z - 1.0) / 6.0 - 2.0 * (2.0 * z * z * z - 5.0 * z) * s / 36.0;
  const double dz_dk = (z * z * z - 3.0 * z) / 24.0;
  const double phi_p = -stat::normal_pdf(z) / p;
  const double de_ds = phi_p * (z / 6.0 + 2.0 * s * (1.0 - 2.0 * z * z) / 36.0);
  const double de_dk = phi_p * (z * z - 1.0) / 24.0;
  const bool s_clipped = used.projected && s != s_sample;
  double dkb_ds = 0.0;  // slope of the bound K sits on
  if (used.projected && !s_clipped) {
    const double eps = 1e-6;
    const auto [lo_m, hi_m] = cornish_fisher_kurtosis_bounds(s - eps);
    const auto [lo_p, hi_p] = cornish_fisher_kurtosis_bounds(s + eps);
    const bool upper = k_sample > k;
    dkb_ds = upper ? (hi_p - hi_m) / (2.0 * eps) : (lo_p - lo_m) / (2.0 * eps);
  }
  const double tn = static_cast<double>(window.n_obs());
  const double m2n = pm.m2n, m3 = pm.m3, m4 = pm.m4;
  const double pow15 = m2n * std::sqrt(m2n);
  r.component_var.resize(n);
  r.component_cvar.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    double sw = 0.0;  // (S w)_i with the T - 1 covariance = g2 / 2 * T / (T - 1)
    sw = 0.5 * pm.g2[i] * tn / (tn - 1.0);
    const double dsd = sd > 0.0 ? sw / sd : 0.0;
    double ds = 0.0, dk = 0.0;
    if (m2n > 0.0) {
      ds = (pm.g3[i] / pow15 - 1.5 * m3 / (pow15 * m2n) * pm.g2[i]) / sh;
      dk = (pm.g4[i] / (m2n * m2n) - 2.0 * m4 / (m2n * m2n * m2n) * pm.g2[i]) / h;
    }
    if (s_clipped) {
      ds = 0.0;
      dk = 0.0;
    } else if (used.projected) {
      dk = dkb_ds * ds;
    }
    const double dvar = -(h * pm.mean[i] + sh * (dsd * zc + sd * (dz_ds * ds + dz_dk * dk)));
    const double des = -(h * pm.mean[i] + sh * (dsd * ec + sd * (de_ds * ds + de_dk * dk)));
    r.component_var[i] = weights[i] * dvar;
    r.component_cvar[i] = weights[i] * (es_guarded ? dvar : des);
  }
  if (options.revaluation == Revaluation::kFull) {
    // Loss fraction 1 - exp(X), X = h mean + sqrt(h) sd z_cf(Z): VaR exactly, ES as the tail
    // integral (1/p) int_{-inf}^{z_p} (1 - exp(m + s z_cf(z))) phi(z) dz (Simpson over 14
    // standard deviations below z_p, beyond which phi is below 1e-44 of the tail).
    const double m = h * mom.mean;
    const double scale = sh * sd;
    const double linear_var = r.var;
    const double linear_cvar = r.cvar;
    r.var = -std::expm1(m + scale * zc);
    const auto [tail, unused] = simpson(
        [&](double x) {
          const double v = std::exp(scale * cf_z(x, s, k)) * stat::normal_pdf(x);
          return std::pair{v, 0.0};
        },
        z - 14.0, z, 4000);
    r.cvar = std::max(1.0 - std::exp(m) * tail / p, r.var);
    const ShortLegs legs = short_legs(weights);
    if (legs.lone) {
      // A lone short |w|: r = X / w, its upper quantile at X's lower one (see elliptical). The
      // cubic z_cf makes E[e^r | tail] infinite (unless S = K = 0): CVaR is the Jensen bound.
      const double a_w = -legs.weight;
      r.law.loss_map = PredictiveLaw::LossMap::kLoneShort;
      r.law.short_weight = a_w;
      r.var = a_w * std::expm1(-(m + scale * zc) / a_w);
      r.cvar = std::max(a_w * std::expm1(linear_cvar / a_w), r.var);
      add_short_unbounded(r.diagnostics, "Cornish-Fisher");
    } else if (legs.mixed) {
      add_short_approximation(r.diagnostics, "cornish-fisher");
    }
    const double ratio_var = linear_var != 0.0 ? r.var / linear_var : 1.0;
    const double ratio_cvar = linear_cvar != 0.0 ? r.cvar / linear_cvar : 1.0;
    for (std::size_t i = 0; i < n; ++i) {
      r.component_var[i] *= ratio_var;
      r.component_cvar[i] *= ratio_cvar;
    }
  }
  return r;
}

}  // namespace varkeeper::risk
