#include "risk/backtest_duration.hpp"

#include <Eigen/Core>
#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "risk/sampling_distributions.hpp"

namespace varkeeper::risk {
namespace {

struct Durations {
  std::vector<double> all;         // every duration, censored or not
  std::vector<double> uncensored;  // the ones entering through the density
};

// Profile log-likelihood of the Weibull durations at shape b (a concentrated out).
double profile_loglik(const Durations& d, double b) {
  const auto n_u = static_cast<double>(d.uncensored.size());
  double sum_pow = 0.0;
  for (const double x : d.all) {
    sum_pow += std::pow(x, b);
  }
  double sum_log = 0.0;
  for (const double x : d.uncensored) {
    sum_log += std::log(x);
  }
  return n_u * std::log(n_u / sum_pow) + n_u * std::log(b) + (b - 1.0) * sum_log - n_u;
}

}  // namespace

DurationTestResult christoffersen_pelletier_duration(std::span<const std::uint8_t> hits) {
  DurationTestResult r;
  r.lr = {0.0, 1.0, 1};
  std::vector<std::size_t> days;  // 1-based days of the exceptions
  for (std::size_t t = 0; t < hits.size(); ++t) {
    if (hits[t] != 0) {
      days.push_back(t + 1);
    }
  }
  if (days.empty()) {
    return r;
  }
  Durations d;
  r.first_censored = days.front() != 1;
  d.all.push_back(static_cast<double>(days.front()));
  if (!r.first_censored) {
    d.uncensored.push_back(static_cast<double>(days.front()));
  }
  for (std::size_t i = 1; i < days.size(); ++i) {
    const auto gap = static_cast<double>(days[i] - days[i - 1]);
    d.all.push_back(gap);
    d.uncensored.push_back(gap);
  }
  r.last_censored = days.back() != hits.size();
  if (r.last_censored) {
    d.all.push_back(static_cast<double>(hits.size() - days.back()));
  }
  r.durations = d.all.size();
  r.uncensored = d.uncensored.size();
  if (d.uncensored.empty()) {
    return r;
  }
  r.defined = true;

  // Golden-section search on ln b.
  const double inv_phi = (std::sqrt(5.0) - 1.0) / 2.0;
  double lo = std::log(DurationTestResult::kMinShape);
  double hi = std::log(DurationTestResult::kMaxShape);
  double x1 = hi - inv_phi * (hi - lo);
  double x2 = lo + inv_phi * (hi - lo);
  double f1 = profile_loglik(d, std::exp(x1));
  double f2 = profile_loglik(d, std::exp(x2));
  for (int it = 0; it < 200 && hi - lo > 1e-12; ++it) {
    if (f1 < f2) {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + inv_phi * (hi - lo);
      f2 = profile_loglik(d, std::exp(x2));
    } else {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - inv_phi * (hi - lo);
      f1 = profile_loglik(d, std::exp(x1));
    }
  }
  // The bounds themselves are candidates (the maximum can sit on one).
  double best_log_b = 0.5 * (lo + hi);
  double best = profile_loglik(d, std::exp(best_log_b));
  for (const double edge :
       {std::log(DurationTestResult::kMinShape), std::log(DurationTestResult::kMaxShape)}) {
    const double f = profile_loglik(d, std::exp(edge));
    if (f > best) {
      best = f;
      best_log_b = edge;
    }
  }
  r.shape_b = std::exp(best_log_b);
  r.loglik_weibull = best;
  r.loglik_exponential = profile_loglik(d, 1.0);
  // b = 1 is inside the search interval, so l(b_hat) >= l(1) up to the search tolerance.
  r.loglik_weibull = std::max(r.loglik_weibull, r.loglik_exponential);
  double sum_pow = 0.0;
  double sum = 0.0;
  for (const double x : d.all) {
    sum_pow += std::pow(x, r.shape_b);
    sum += x;
  }
  const auto n_u = static_cast<double>(d.uncensored.size());
  r.weibull_a = std::pow(n_u / sum_pow, 1.0 / r.shape_b);
  r.exponential_a = n_u / sum;
  const double lr = std::max(2.0 * (r.loglik_weibull - r.loglik_exponential), 0.0);
  r.lr = {lr, stat::chi_square_sf(lr, 1.0), 1};
  return r;
}

DynamicQuantileResult engle_manganelli_dq(std::span<const double> realized,
                                          std::span<const double> var, double alpha,
                                          std::size_t lags) {
  if (!(alpha > 0.0 && alpha < 1.0)) {
    throw std::invalid_argument("The VaR confidence must lie strictly between 0 and 1.");
  }
  const std::vector<std::uint8_t> hits = hit_sequence(realized, var);  // checks the sizes
  const std::size_t t_total = hits.size();
  if (t_total <= 2 * lags + 2) {
    throw std::invalid_argument(
        "The DQ test needs more regression rows than regressors: too few observations for its "
        "lags.");
  }
  const double p = 1.0 - alpha;
  const std::size_t rows = t_total - lags;
  const auto cols = static_cast<Eigen::Index>(lags + 2);
  Eigen::MatrixXd x(static_cast<Eigen::Index>(rows), cols);
  Eigen::VectorXd y(static_cast<Eigen::Index>(rows));
  for (std::size_t t = lags; t < t_total; ++t) {
    const auto row = static_cast<Eigen::Index>(t - lags);
    y(row) = static_cast<double>(hits[t]) - p;
    x(row, 0) = 1.0;
    for (std::size_t k = 1; k <= lags; ++k) {
      x(row, static_cast<Eigen::Index>(k)) = static_cast<double>(hits[t - k]) - p;
    }
    x(row, cols - 1) = var[t];
  }
  const Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> cod(x);
  const Eigen::VectorXd beta = cod.solve(y);
  const Eigen::VectorXd fitted = x * beta;
  DynamicQuantileResult r;
  r.lags = lags;
  r.observations = rows;
  r.dof = static_cast<int>(cod.rank());
  r.dq = fitted.squaredNorm() / (p * (1.0 - p));
  r.p_value = r.dof > 0 ? stat::chi_square_sf(r.dq, r.dof) : 1.0;
  r.beta.assign(beta.data(), beta.data() + beta.size());
  return r;
}

}  // namespace varkeeper::risk
