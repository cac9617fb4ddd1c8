#include "risk/parametric.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "risk/ewma.hpp"
#include "risk/sampling_distributions.hpp"

using namespace varkeeper::risk;

namespace {

void check_rel(double got, double want, double tol = 1e-10) {
  CAPTURE(got);
  CAPTURE(want);
  CHECK(std::fabs(got - want) <= tol * std::fabs(want));
}

double sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

}  // namespace

// Expected values: SciPy 1.10 (Debian python3-scipy, run by /usr/bin/python3) with
// import numpy as np; from scipy import stats, integrate, optimize
// normal: -stats.norm.ppf(1-a, mu, sd) and, by numerical integration (not the closed form),
//   -stats.norm.expect(lambda x: x, loc=mu, scale=sd, ub=q, conditional=True, epsabs=0,
//   epsrel=1e-13)
TEST_CASE("normal VaR and ES match SciPy to 1e-10") {
  const double mu = 0.0005, sd = 0.02;
  struct Row {
    double alpha, var, es;
  };
  for (const Row& r : {Row{0.95, 0.032397072539029445, 0.04075425615014852},
                       Row{0.99, 0.04602695748081682, 0.05280428440691612},
                       Row{0.999, 0.06130464612335627, 0.06684180154127986}}) {
    check_rel(normal_var(mu, sd, r.alpha), r.var);
    check_rel(normal_es(mu, sd, r.alpha), r.es);
  }
}

// q = optimize.brentq(lambda x: stats.t.sf(x, nu) - (1-a), 0, 50, xtol=1e-300, rtol=1e-15)
// (SciPy's own t.ppf is only ~1e-10 accurate for non-integer nu; its sf is, and the quantile was
// confirmed by integrating the density: integrate.quad(pdf, q, inf) = 1 - a to 1e-15);
// VaR = -(loc - sc q); ES = -stats.t.expect(lambda x: x, args=(nu,), loc=loc, scale=sc,
// ub=loc - sc q, conditional=True, epsabs=0, epsrel=1e-13), loc=0.001, sc=0.015, nu=4.5
TEST_CASE("Student-t VaR and ES match SciPy to 1e-10") {
  const double loc = 0.001, sc = 0.015, nu = 4.5;
  check_rel(student_t_var(loc, sc, nu, 0.95), 0.02998363833317786);
  check_rel(student_t_es(loc, sc, nu, 0.95), 0.04433185918296808);
  check_rel(student_t_var(loc, sc, nu, 0.99), 0.05190576335939136);
  check_rel(student_t_es(loc, sc, nu, 0.99), 0.07056917932613663);
}

// VaR: -(mu + sd * zcf(stats.norm.ppf(1-a), S, K)); ES by integrating the Cornish-Fisher
// quantile over the tail: integrate.quad(lambda u: mu + sd * zcf(stats.norm.ppf(u), S, K), 0,
// 1-a, epsabs=0, epsrel=1e-13, limit=200) / (1-a), which checks the closed-form tail integral.
TEST_CASE("Cornish-Fisher VaR and ES match SciPy to 1e-10") {
  check_rel(cornish_fisher_var(0.0004, 0.018, -0.4, 2.5, 0.99), 0.05620513012186864);
  check_rel(cornish_fisher_es(0.0004, 0.018, -0.4, 2.5, 0.99), 0.07496697142740867);
  check_rel(cornish_fisher_var(0.0, 0.03, 0.3, 1.2, 0.95), 0.04601007341674015);
  check_rel(cornish_fisher_es(0.0, 0.03, 0.3, 1.2, 0.95), 0.06138675234128481);
}

TEST_CASE("Cornish-Fisher reduces to the normal without skewness and excess kurtosis") {
  check_rel(cornish_fisher_var(0.001, 0.02, 0.0, 0.0, 0.99), normal_var(0.001, 0.02, 0.99), 1e-14);
  check_rel(cornish_fisher_es(0.001, 0.02, 0.0, 0.0, 0.99), normal_es(0.001, 0.02, 0.99), 1e-14);
}

TEST_CASE("the Cornish-Fisher validity check follows the monotonicity domain") {
  CHECK(cornish_fisher_valid(0.0, 0.0));
  CHECK(cornish_fisher_valid(-0.4, 2.5));
  // Maillard (2012): with S = 0 the expansion is monotone only for 0 <= K <= 8.
  CHECK(cornish_fisher_valid(0.0, 7.9));
  CHECK_FALSE(cornish_fisher_valid(0.0, 8.1));
  CHECK_FALSE(cornish_fisher_valid(0.0, -0.5));
  CHECK_FALSE(cornish_fisher_valid(2.0, 1.0));
}

TEST_CASE("Cornish-Fisher ES is never reported below VaR") {
  // Outside the valid domain the raw tail average can fall below the quantile.
  for (double s : {-3.0, -1.0, 0.0, 1.0, 3.0})
    for (double k : {-2.0, 0.0, 5.0, 20.0, 60.0})
      for (double a : {0.9, 0.95, 0.99}) {
        CAPTURE(s);
        CAPTURE(k);
        CHECK(cornish_fisher_es(0.0, 0.02, s, k, a) >= cornish_fisher_var(0.0, 0.02, s, k, a));
      }
}

// Single-asset GBM, loss 1 - exp(r), r ~ N(mu, sd^2): VaR -np.expm1(stats.norm.ppf(1-a, mu,
// sd)); ES stats.norm.expect(lambda x: -np.expm1(x), loc=mu, scale=sd, ub=q, conditional=True,
// epsabs=0, epsrel=1e-13). The second row is a 10-day horizon of a 3 % daily volatility.
TEST_CASE("lognormal VaR and ES of single-asset GBM match SciPy to 1e-10") {
  check_rel(lognormal_var(0.0003, 0.03, 0.99), 0.06713094490483794);
  check_rel(lognormal_es(0.0003, 0.03, 0.99), 0.07652639327446244);
  check_rel(lognormal_var(0.003, 0.0948683298050514, 0.975), 0.16718063551758966);
  check_rel(lognormal_es(0.003, 0.0948683298050514, 0.975), 0.19608914465690316);
}

// Hull, Risk Management and Financial Institutions, 3rd ed. (2012), section 15.x "Portfolio"
// (page 325; also Options, Futures, and Other Derivatives): $10M in Microsoft (daily volatility
// 2 %) and $5M in AT&T (1 %), correlation 0.3. Published: one-day portfolio SD $220,227;
// 10-day 99 % VaR 220,227 x sqrt(10) x 2.33 = $1,622,657; stand-alone 10-day VaRs $1,473,621 and
// $368,405; diversification benefit $219,369. Hull rounds N^-1(0.99) to 2.33, so our exact
// figures are compared after rescaling by 2.33 / 2.3263478740408408 to Hull's rounding (+-$2).
TEST_CASE("Hull's Microsoft and AT&T variance-covariance example is reproduced") {
  const double value = 15e6;
  const std::vector<double> w{10.0 / 15.0, 5.0 / 15.0};
  const std::vector<double> mean{0.0, 0.0};
  const double s1 = 0.02, s2 = 0.01, rho = 0.3;
  const std::vector<double> cov{s1 * s1, rho * s1 * s2, rho * s1 * s2, s2 * s2};
  const double z = varkeeper::risk::stat::normal_quantile(0.99);
  const double hull = 2.33 / z;
  // Hull's figures are the delta-normal model's: linear losses (-w'r in value terms).
  constexpr auto kLinear = Revaluation::kLinear;
  const auto one_day =
      parametric_normal(mean, cov, w, {.confidence = 0.99, .horizon = 1, .revaluation = kLinear});
  CHECK(std::fabs(one_day.var * value / z - 220'227.0) < 1.0);
  const auto ten_day =
      parametric_normal(mean, cov, w, {.confidence = 0.99, .horizon = 10, .revaluation = kLinear});
  CHECK(std::fabs(ten_day.var * value * hull - 1'622'657.0) < 2.0);
  const auto msft = parametric_normal(std::vector<double>{0.0}, std::vector<double>{s1 * s1},
                                      std::vector<double>{1.0},
                                      {.confidence = 0.99, .horizon = 10, .revaluation = kLinear});
  const auto att = parametric_normal(std::vector<double>{0.0}, std::vector<double>{s2 * s2},
                                     std::vector<double>{1.0},
                                     {.confidence = 0.99, .horizon = 10, .revaluation = kLinear});
  CHECK(std::fabs(msft.var * 10e6 * hull - 1'473'621.0) < 2.0);
  CHECK(std::fabs(att.var * 5e6 * hull - 368'405.0) < 2.0);
  const double benefit = (msft.var * 10e6 + att.var * 5e6 - ten_day.var * value) * hull;
  CHECK(std::fabs(benefit - 219'369.0) < 3.0);
  // Euler components: Microsoft's share is w1 (Sigma w)_1 / (w' Sigma w).
  CHECK(sum(ten_day.component_var) == doctest::Approx(ten_day.var).epsilon(1e-14));
  const double share =
      (200'000.0 * 200'000.0 + rho * 200'000.0 * 50'000.0) / (220'227.16 * 220'227.16);
  CHECK(ten_day.component_var[0] / ten_day.var == doctest::Approx(share).epsilon(1e-6));
}

// Hull, Options, Futures, and Other Derivatives, "The EWMA model": lambda = 0.90, yesterday's
// volatility 1 % per day, yesterday's return 2 %: sigma_n^2 = 0.9 x 0.0001 + 0.1 x 0.0004 =
// 0.00013, sigma_n = 1.14 %.
TEST_CASE("the EWMA update reproduces Hull's example") {
  const double v = ewma_variance_update(0.0001, 0.02, 0.90);
  CHECK(v == doctest::Approx(0.00013).epsilon(1e-12));
  CHECK(std::round(std::sqrt(v) * 1e4) / 1e2 == doctest::Approx(1.14));
}

TEST_CASE("parametric normal and Student-t components sum to VaR and CVaR, CVaR above VaR") {
  const std::vector<double> mean{0.0004, -0.0002, 0.0010};
  const std::vector<double> cov{0.0004,  0.00006,  -0.00003, 0.00006, 0.0001,
                                0.00002, -0.00003, 0.00002,  0.0009};
  const std::vector<double> w{0.5, 0.3, 0.2};
  for (int h : {1, 10}) {
    for (const auto& r :
         {parametric_normal(mean, cov, w, {.confidence = 0.99, .horizon = h}),
          parametric_student_t(mean, cov, 4.0, w, {.confidence = 0.99, .horizon = h})}) {
      CHECK(sum(r.component_var) == doctest::Approx(r.var).epsilon(1e-13));
      CHECK(sum(r.component_cvar) == doctest::Approx(r.cvar).epsilon(1e-13));
      CHECK(r.cvar > r.var);
    }
  }
  // The matrix is the t's dispersion (linear losses, to compare with the t's closed forms): one
  // asset with dispersion s^2 is the t with scale s (no variance matching), and w'r has location
  // w'mu and scale sqrt(w' Sigma w).
  const auto single = parametric_student_t(
      std::vector<double>{0.0}, std::vector<double>{0.0004}, 5.0, std::vector<double>{1.0},
      {.confidence = 0.99, .horizon = 1, .revaluation = Revaluation::kLinear});
  check_rel(single.var, student_t_var(0.0, 0.02, 5.0, 0.99), 1e-14);
  check_rel(single.cvar, student_t_es(0.0, 0.02, 5.0, 0.99), 1e-14);
  const auto pair = parametric_student_t(
      std::vector<double>{0.001, -0.002}, std::vector<double>{0.0004, 0.0001, 0.0001, 0.0009}, 3.0,
      std::vector<double>{0.5, 0.5},
      {.confidence = 0.99, .horizon = 1, .revaluation = Revaluation::kLinear});
  // w'mu = -0.0005, w' Sigma w = 0.25 (0.0004 + 2 x 0.0001 + 0.0009) = 0.000375.
  check_rel(pair.var, student_t_var(-0.0005, std::sqrt(0.000375), 3.0, 0.99), 1e-14);
  check_rel(pair.cvar, student_t_es(-0.0005, std::sqrt(0.000375), 3.0, 0.99), 1e-14);
}

TEST_CASE("Cornish-Fisher portfolio components sum to the totals") {
  // A deterministic, skewed and fat-tailed two-asset sample.
  std::vector<double> r;
  for (int t = 0; t < 300; ++t) {
    const double a = 0.01 * std::sin(1.3 * t) + 0.03 * std::pow(std::sin(0.37 * t), 7);
    const double b = 0.5 * a + 0.008 * std::cos(0.71 * t * t) - 0.002;
    r.push_back(a);
    r.push_back(b);
  }
  const std::vector<double> w{0.6, 0.4};
  for (int h : {1, 5}) {
    const auto res = parametric_cornish_fisher({r, 2}, w, {.confidence = 0.99, .horizon = h});
    CHECK(sum(res.component_var) == doctest::Approx(res.var).epsilon(1e-12));
    CHECK(sum(res.component_cvar) == doctest::Approx(res.cvar).epsilon(1e-12));
    CHECK(res.cvar >= res.var);
  }
}
