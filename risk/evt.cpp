#include "risk/evt.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>

#include "risk/empirical_tail.hpp"

namespace varkeeper::risk {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// (p^(-xi) - 1) / xi, continuous at xi = 0 (-log p).
double pot_factor(double p, double xi) {
  const double lp = std::log(p);
  if (std::fabs(xi) < 1e-12) {
    return -lp;
  }
  return std::expm1(-xi * lp) / xi;
}

struct Profile {
  double xi = 0.0;
  double beta = 0.0;
  double ll = -kInf;
};

// The profile in theta = xi / beta: xi = mean log(1 + theta y), beta = xi / theta (the mean
// excess at theta = 0, the exponential limit).
Profile profile_at(std::span<const double> y, double theta, double mean_y) {
  Profile p;
  double s = 0.0;
  for (double v : y) {
    const double z = theta * v;
    if (!(z > -1.0)) {
      return p;
    }
    s += std::log1p(z);
  }
  const double n = static_cast<double>(y.size());
  p.xi = s / n;
  p.beta = std::fabs(theta) * mean_y < 1e-10 ? mean_y : p.xi / theta;
  if (!(p.beta > 0.0)) {
    return p;
  }
  p.ll = gpd_log_likelihood(y, p.xi, p.beta);
  return p;
}

double golden_max(const std::function<double(double)>& f, double a, double b) {
  const double g = 0.5 * (std::sqrt(5.0) - 1.0);
  double c = b - g * (b - a);
  double d = a + g * (b - a);
  double fc = f(c);
  double fd = f(d);
  for (int i = 0; i < 200 && std::fabs(b - a) > 1e-15 * (std::fabs(a) + std::fabs(b)); ++i) {
    if (fc > fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = f(d);
    }
  }
  return fc > fd ? c : d;
}

// Observed information of (xi, beta): -Hessian of the log-likelihood by central differences.
void observed_information_errors(std::span<const double> y, GpdFit& fit) {
  const double hx = 1e-4 * std::max(1.0, std::fabs(fit.xi));
  const double hb = 1e-4 * fit.beta;
  const auto ll = [&](double dx, double db) {
    return gpd_log_likelihood(y, fit.xi + dx, fit.beta + db);
  };
  const double l0 = ll(0.0, 0.0);
  const double hxx = (ll(hx, 0.0) - 2.0 * l0 + ll(-hx, 0.0)) / (hx * hx);
  const double hbb = (ll(0.0, hb) - 2.0 * l0 + ll(0.0, -hb)) / (hb * hb);
  const double hxb = (ll(hx, hb) - ll(hx, -hb) - ll(-hx, hb) + ll(-hx, -hb)) / (4.0 * hx * hb);
  // Information I = -H; covariance = I^-1.
  const double a = -hxx;
  const double b = -hxb;
  const double d = -hbb;
  const double det = a * d - b * b;
  if (!std::isfinite(det) || !(det > 0.0) || !(a > 0.0)) {
    fit.se_xi = fit.se_beta = fit.cov_xi_beta = std::numeric_limits<double>::quiet_NaN();
    return;
  }
  fit.se_xi = std::sqrt(d / det);
  fit.se_beta = std::sqrt(a / det);
  fit.cov_xi_beta = -b / det;
}

std::string number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", x);
  return buf;
}

}  // namespace

double gpd_log_likelihood(std::span<const double> excesses, double xi, double beta) {
  if (!(beta > 0.0)) {
    return -kInf;
  }
  const double n = static_cast<double>(excesses.size());
  double ll = -n * std::log(beta);
  if (std::fabs(xi) < 1e-12) {
    for (double y : excesses) {
      ll -= y / beta;
    }
    return ll;
  }
  const double c = 1.0 + 1.0 / xi;
  for (double y : excesses) {
    const double z = xi * y / beta;
    if (!(z > -1.0)) {
      return -kInf;
    }
    ll -= c * std::log1p(z);
  }
  return ll;
}

GpdFit fit_gpd(std::span<const double> excesses) {
  if (excesses.size() < 2) {
    throw std::invalid_argument("a GPD fit needs at least two excesses.");
  }
  double y_max = 0.0;
  double y_min = kInf;
  double sum = 0.0;
  for (double y : excesses) {
    if (!(y > 0.0) || !std::isfinite(y)) {
      throw std::invalid_argument("GPD excesses must be positive finite numbers.");
    }
    y_max = std::max(y_max, y);
    y_min = std::min(y_min, y);
    sum += y;
  }
  if (!(y_max > y_min)) {
    throw std::invalid_argument("GPD excesses are all equal: no tail shape to fit.");
  }
  const double mean_y = sum / static_cast<double>(excesses.size());
  const auto xi_of = [&](double theta) { return profile_at(excesses, theta, mean_y).xi; };

  // theta_lo: xi(theta) = kMinXi (xi is increasing in theta; -inf at theta = -1 / y_max).
  double lo = -1.0 / y_max;
  double hi = 0.0;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    const Profile p = profile_at(excesses, mid, mean_y);
    if (!std::isfinite(p.ll) || p.xi < kMinXi) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  const double theta_lo = hi;
  // theta_hi: xi(theta) = 20 (far heavier than any loss series).
  double theta_hi = 1.0 / mean_y;
  while (xi_of(theta_hi) < 20.0 && theta_hi < 1e12 / mean_y) {
    theta_hi *= 2.0;
  }

  // A grid (linear below 0, logarithmic above), then golden section around the best point.
  constexpr int kLinear = 100;
  constexpr int kLog = 300;
  std::vector<double> grid;
  grid.reserve(kLinear + kLog + 2);
  for (int i = 0; i < kLinear; ++i) {
    grid.push_back(theta_lo * (1.0 - static_cast<double>(i) / kLinear));
  }
  grid.push_back(0.0);
  const double t0 = 1e-8 / mean_y;
  for (int i = 0; i <= kLog; ++i) {
    grid.push_back(t0 * std::pow(theta_hi / t0, static_cast<double>(i) / kLog));
  }
  const auto ll_of = [&](double theta) { return profile_at(excesses, theta, mean_y).ll; };
  std::size_t best = 0;
  double best_ll = -kInf;
  for (std::size_t i = 0; i < grid.size(); ++i) {
    const double v = ll_of(grid[i]);
    if (v > best_ll) {
      best_ll = v;
      best = i;
    }
  }
  double theta = grid[best];
  if (best > 0 && best + 1 < grid.size()) {
    theta = golden_max(ll_of, grid[best - 1], grid[best + 1]);
    if (ll_of(theta) < best_ll) {
      theta = grid[best];
    }
  }
  const Profile p = profile_at(excesses, theta, mean_y);
  GpdFit fit;
  fit.xi = p.xi;
  fit.beta = p.beta;
  fit.log_likelihood = p.ll;
  fit.xi_at_bound = best == 0;
  observed_information_errors(excesses, fit);
  return fit;
}

double pot_var(double u, double xi, double beta, std::size_t n, std::size_t n_u,
               double confidence) {
  const double p = static_cast<double>(n) / static_cast<double>(n_u) * (1.0 - confidence);
  return u + beta * pot_factor(p, xi);
}

double pot_es(double u, double xi, double beta, std::size_t n, std::size_t n_u, double confidence) {
  if (!(xi < 1.0)) {
    return kInf;
  }
  const double var = pot_var(u, xi, beta, n, n_u, confidence);
  return var / (1.0 - xi) + (beta - xi * u) / (1.0 - xi);
}

PotResult pot_risk(std::span<const double> losses, const PotOptions& o) {
  if (losses.empty()) {
    throw std::invalid_argument("EVT needs at least one loss.");
  }
  if (!(o.confidence > 0.0 && o.confidence < 1.0)) {
    throw std::invalid_argument("confidence must be strictly between 0 and 1.");
  }
  PotResult r;
  r.n = losses.size();
  std::vector<double> sorted(losses.begin(), losses.end());
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  if (std::isnan(o.threshold)) {
    const double n = static_cast<double>(r.n);
    std::size_t k = std::max<std::size_t>(
        {static_cast<std::size_t>(std::ceil(o.threshold_fraction * n)), o.min_exceedances,
         static_cast<std::size_t>(std::ceil(n * (1.0 - o.confidence))) + 1});
    k = std::min(k, r.n - 1);
    r.threshold = r.n > 1 ? sorted[k] : sorted[0];  // the (k + 1)-th largest loss
  } else {
    r.threshold = o.threshold;
  }
  std::vector<double> excesses;
  for (double l : sorted) {
    if (l > r.threshold && l > 0.0) {
      excesses.push_back(l - r.threshold);
    }
  }
  r.n_exceedances = excesses.size();
  const EmpiricalTail empirical = empirical_tail(losses, o.confidence);
  const bool enough = excesses.size() >= kMinFitExceedances && excesses.front() > excesses.back();
  if (!enough) {
    r.var = empirical.var;
    r.es = empirical.cvar;
    r.note = "only " + std::to_string(excesses.size()) +
             " distinct positive losses above the threshold " + number(r.threshold) +
             " (at least " + std::to_string(kMinFitExceedances) +
             " needed for a GPD fit): VaR and CVaR are the empirical tail.";
    return r;
  }
  if (excesses.size() < o.min_exceedances) {
    r.note = "the GPD rests on " + std::to_string(excesses.size()) +
             " positive exceedances, fewer than " + std::to_string(o.min_exceedances) +
             ": its standard errors are wide.";
  }
  r.fit = fit_gpd(excesses);
  r.fitted = true;
  const double xi = r.fit.xi;
  const double beta = r.fit.beta;
  const std::size_t nu = r.n_exceedances;
  r.var = pot_var(r.threshold, xi, beta, r.n, nu, o.confidence);
  // Delta method: numerical gradient of VaR in (xi, beta).
  if (std::isfinite(r.fit.se_xi)) {
    const double hx = 1e-6 * std::max(1.0, std::fabs(xi));
    const double hb = 1e-6 * beta;
    const double gx = (pot_var(r.threshold, xi + hx, beta, r.n, nu, o.confidence) -
                       pot_var(r.threshold, xi - hx, beta, r.n, nu, o.confidence)) /
                      (2.0 * hx);
    const double gb = (pot_var(r.threshold, xi, beta + hb, r.n, nu, o.confidence) -
                       pot_var(r.threshold, xi, beta - hb, r.n, nu, o.confidence)) /
                      (2.0 * hb);
    const double v = gx * gx * r.fit.se_xi * r.fit.se_xi + gb * gb * r.fit.se_beta * r.fit.se_beta +
                     2.0 * gx * gb * r.fit.cov_xi_beta;
    r.se_var = v > 0.0 ? std::sqrt(v) : 0.0;
  }
  if (xi < 1.0) {
    r.es = pot_es(r.threshold, xi, beta, r.n, nu, o.confidence);
  } else {
    r.es = std::max(r.var, empirical.cvar);
    r.note = "the fitted GPD shape xi = " + number(xi) +
             " >= 1 has no finite mean: CVaR is the empirical tail average (at least VaR).";
  }
  if (r.fit.xi_at_bound && r.note.empty()) {
    r.note = "the GPD shape sits at its lower bound xi = " + number(kMinXi) +
             ": the excesses look bounded, the fit is at the edge of the regular ML range.";
  }
  return r;
}

std::vector<double> evt_portfolio_losses(const ReturnWindow& window,
                                         std::span<const double> weights, int horizon,
                                         Revaluation revaluation) {
  const std::size_t n_assets = window.n_assets;
  const std::size_t t_obs = window.n_obs();
  const auto h = static_cast<std::size_t>(std::max(1, horizon));
  if (t_obs < h) {
    throw std::invalid_argument("too few observations for one scenario of the horizon.");
  }
  const std::size_t s_count = t_obs - h + 1;
  std::vector<double> losses(s_count, 0.0);
  for (std::size_t s = 0; s < s_count; ++s) {
    double loss = 0.0;
    for (std::size_t i = 0; i < n_assets; ++i) {
      double r = 0.0;
      for (std::size_t t = s; t < s + h; ++t) {
        r += window.returns[t * n_assets + i];
      }
      loss += weights[i] * unit_loss(r, revaluation);
    }
    losses[s] = loss;
  }
  return losses;
}

}  // namespace varkeeper::risk
