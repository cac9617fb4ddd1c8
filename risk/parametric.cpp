#include "risk/parametric.hpp"

#include <cmath>
#include <stdexcept>

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

// Shared by normal and Student-t: VaR = -h mu_p + sqrt(h) sigma_p q, ES likewise with e, where
// q and e are the standardised loss quantile and tail mean (sigma_p from the covariance for the
// normal, from the dispersion matrix for the t, whose q and e are then the standard t's).
ParametricResult elliptical(std::span<const double> mean, std::span<const double> covariance,
                            std::span<const double> weights, int horizon, double q, double e) {
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
  const double h = static_cast<double>(horizon);
  const double sh = std::sqrt(h);
  const double sd_p = std::sqrt(std::max(var_p, 0.0));
  ParametricResult r;
  r.var = -h * mu_p + sh * sd_p * q;
  r.cvar = -h * mu_p + sh * sd_p * e;
  r.component_var.resize(n);
  r.component_cvar.resize(n);
  r.vega_var.resize(n);
  r.vega_cvar.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    // d sigma_p / d w_i = (Sigma w)_i / sigma_p; d sigma_p / d ln sigma_i = w_i (Sigma w)_i /
    // sigma_p because Sigma_ij = sigma_i sigma_j rho_ij.
    const double share = sd_p > 0.0 ? weights[i] * sigma_w[i] / sd_p : 0.0;
    r.component_var[i] = -h * weights[i] * mean[i] + sh * share * q;
    r.component_cvar[i] = -h * weights[i] * mean[i] + sh * share * e;
    r.vega_var[i] = sh * share * q;
    r.vega_cvar[i] = sh * share * e;
  }
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
  return elliptical(mean, covariance, weights, horizon, z, stat::normal_pdf(z) / (1.0 - alpha));
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
  return elliptical(location, dispersion, weights, horizon, student_t_var(0.0, 1.0, nu, alpha),
                    student_t_es(0.0, 1.0, nu, alpha));
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
  const double s = mom.skewness / sh;
  const double k = mom.excess_kurtosis / h;
  const double p = 1.0 - alpha;
  const double z = stat::normal_quantile(p);
  const double zc = cf_z(z, s, k);
  const double ec = cf_e(z, p, s, k);

  ParametricResult r;
  r.var = -(h * mom.mean + sh * sd * zc);
  const double es_raw = -(h * mom.mean + sh * sd * ec);
  const bool es_guarded = es_raw < r.var;
  r.cvar = es_guarded ? r.var : es_raw;
  if (!cornish_fisher_valid(s, k)) {
    add_diagnostic(r.diagnostics, DiagnosticKind::kCornishFisherOutsideDomain,
                   "the Cornish-Fisher expansion is not a valid quantile function for this "
                   "skewness and kurtosis (Maillard 2012 domain); treat the figure with caution.");
  }

  // Euler components: w_i dVaR/dw_i, with dsd/dw_i = (S w)_i / sd (sample covariance, T - 1),
  // dS/dw_i and dK/dw_i from the moment gradients; VaR is homogeneous of degree 1 in w.
  const double dz_ds = (z * z - 1.0) / 6.0 - 2.0 * (2.0 * z * z * z - 5.0 * z) * s / 36.0;
  const double dz_dk = (z * z * z - 3.0 * z) / 24.0;
  const double phi_p = -stat::normal_pdf(z) / p;
  const double de_ds = phi_p * (z / 6.0 + 2.0 * s * (1.0 - 2.0 * z * z) / 36.0);
  const double de_dk = phi_p * (z * z - 1.0) / 24.0;
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
    const double dvar = -(h * pm.mean[i] + sh * (dsd * zc + sd * (dz_ds * ds + dz_dk * dk)));
    const double des = -(h * pm.mean[i] + sh * (dsd * ec + sd * (de_ds * ds + de_dk * dk)));
    r.component_var[i] = weights[i] * dvar;
    r.component_cvar[i] = weights[i] * (es_guarded ? dvar : des);
  }
  return r;
}

}  // namespace varkeeper::risk
