// Christoffersen-Pelletier (2004) duration test and Engle-Manganelli (2004) DQ test: hand-checked
// likelihoods, an independent OLS, exact chi-square quantiles, and simulated iid vs clustered hits.
#include "risk/backtest_duration.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "risk/sampling_distributions.hpp"

using namespace varkeeper::risk;

namespace {

std::vector<std::uint8_t> hits_at(std::size_t n, const std::vector<std::size_t>& days_1based) {
  std::vector<std::uint8_t> h(n, 0);
  for (const std::size_t d : days_1based) {
    h[d - 1] = 1;
  }
  return h;
}

// Full (not profiled) Weibull log-likelihood with the documented censoring.
double weibull_loglik(const std::vector<double>& unc, const std::vector<double>& cens, double a,
                      double b) {
  double l = 0.0;
  for (const double d : unc) {
    l += b * std::log(a) + std::log(b) + (b - 1.0) * std::log(d) - std::pow(a * d, b);
  }
  for (const double d : cens) {
    l -= std::pow(a * d, b);
  }
  return l;
}

double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

struct Series {
  std::vector<double> realized;
  std::vector<double> var;
};

// A time-varying VaR and a realised return that breaches it exactly on the given hits.
Series series_from_hits(const std::vector<std::uint8_t>& hits) {
  Series s;
  for (std::size_t t = 0; t < hits.size(); ++t) {
    const double v = 0.02 * (1.0 + 0.5 * std::sin(static_cast<double>(t) / 37.0));
    s.var.push_back(v);
    s.realized.push_back(hits[t] != 0 ? -2.0 * v : 0.3 * v);
  }
  return s;
}

std::vector<std::uint8_t> iid_hits(std::size_t n, double p, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> h(n);
  for (auto& x : h) {
    x = uniform01(rng) < p ? 1 : 0;
  }
  return h;
}

// Same expected rate, but hits come in bursts of 5 consecutive days.
std::vector<std::uint8_t> clustered_hits(std::size_t n, double p, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> h(n, 0);
  for (std::size_t t = 0; t < n; ++t) {
    if (uniform01(rng) < p / 5.0) {
      for (std::size_t k = t; k < std::min(n, t + 5); ++k) {
        h[k] = 1;
      }
    }
  }
  return h;
}

// Independent OLS: normal equations solved by Gauss-Jordan with partial pivoting, long double.
std::vector<double> ols(const std::vector<std::vector<double>>& x, const std::vector<double>& y) {
  const std::size_t k = x.front().size();
  std::vector<std::vector<long double>> a(k, std::vector<long double>(k + 1, 0.0L));
  for (std::size_t r = 0; r < x.size(); ++r) {
    for (std::size_t i = 0; i < k; ++i) {
      for (std::size_t j = 0; j < k; ++j) {
        a[i][j] += static_cast<long double>(x[r][i]) * x[r][j];
      }
      a[i][k] += static_cast<long double>(x[r][i]) * y[r];
    }
  }
  for (std::size_t c = 0; c < k; ++c) {
    std::size_t piv = c;
    for (std::size_t r = c + 1; r < k; ++r) {
      if (std::fabs(a[r][c]) > std::fabs(a[piv][c])) {
        piv = r;
      }
    }
    std::swap(a[c], a[piv]);
    for (std::size_t r = 0; r < k; ++r) {
      if (r != c) {
        const long double f = a[r][c] / a[c][c];
        for (std::size_t j = c; j <= k; ++j) {
          a[r][j] -= f * a[c][j];
        }
      }
    }
  }
  std::vector<double> beta(k);
  for (std::size_t i = 0; i < k; ++i) {
    beta[i] = static_cast<double>(a[i][k] / a[i][i]);
  }
  return beta;
}

}  // namespace

TEST_CASE("chi-square quantiles give the textbook 5 percent p-values") {
  CHECK(std::fabs(stat::chi_square_sf(3.841459, 1.0) - 0.05) < 1e-6);
  CHECK(std::fabs(stat::chi_square_sf(12.591587, 6.0) - 0.05) < 1e-6);  // DQ with K = 4
  CHECK(std::fabs(stat::chi_square_sf(6.634897, 1.0) - 0.01) < 1e-6);
}

TEST_CASE("duration test: censoring, the exponential fit and the Weibull ML by hand") {
  // Exceptions on days 1, 4, 6 of 10: D = 1 (day 1 is a hit: uncensored), 3, 2, and the last
  // spell 10 - 6 = 4 censored.
  const auto h = hits_at(10, {1, 4, 6});
  const DurationTestResult r = christoffersen_pelletier_duration(h);
  REQUIRE(r.defined);
  CHECK_FALSE(r.first_censored);
  CHECK(r.last_censored);
  CHECK(r.durations == 4);
  CHECK(r.uncensored == 3);
  CHECK(r.exponential_a == doctest::Approx(0.3).epsilon(1e-14));  // 3 / (1 + 3 + 2 + 4)
  CHECK(std::fabs(r.loglik_exponential - (3.0 * std::log(0.3) - 3.0)) < 1e-12);
  const std::vector<double> unc{1.0, 3.0, 2.0};
  const std::vector<double> cens{4.0};
  // The profiled optimum equals the full likelihood at (a, b) and is a maximum in both.
  const double l = weibull_loglik(unc, cens, r.weibull_a, r.shape_b);
  CHECK(std::fabs(l - r.loglik_weibull) < 1e-10);
  for (const double db : {-1e-3, 1e-3}) {
    CHECK(weibull_loglik(unc, cens, r.weibull_a, r.shape_b + db) < l);
  }
  for (const double da : {-1e-4, 1e-4}) {
    CHECK(weibull_loglik(unc, cens, r.weibull_a + da, r.shape_b) < l);
  }
  CHECK(std::fabs(r.lr.lr - 2.0 * (r.loglik_weibull - r.loglik_exponential)) < 1e-12);
  CHECK(r.lr.p_value == doctest::Approx(stat::chi_square_sf(r.lr.lr, 1.0)).epsilon(1e-14));

  // First exception on day 3: D_1 = 3 is censored; a hit on the last day leaves no last spell.
  const DurationTestResult s = christoffersen_pelletier_duration(hits_at(8, {3, 5, 8}));
  CHECK(s.first_censored);
  CHECK_FALSE(s.last_censored);
  CHECK(s.durations == 3);
  CHECK(s.uncensored == 2);
  CHECK(s.exponential_a == doctest::Approx(2.0 / 8.0).epsilon(1e-14));

  // Undefined without an uncensored duration.
  CHECK_FALSE(christoffersen_pelletier_duration(hits_at(10, {5})).defined);
  CHECK_FALSE(christoffersen_pelletier_duration(hits_at(10, {})).defined);
  CHECK(christoffersen_pelletier_duration(hits_at(10, {5})).lr.p_value == 1.0);
}

TEST_CASE("duration test: evenly spaced exceptions give b > 1, clustered ones b < 1") {
  std::vector<std::size_t> even;
  for (std::size_t d = 50; d <= 5000; d += 100) {
    even.push_back(d);
  }
  std::vector<std::size_t> clustered;
  for (std::size_t start = 50; start < 5000; start += 500) {
    for (std::size_t k = 0; k < 5; ++k) {
      clustered.push_back(start + k);
    }
  }
  const DurationTestResult e = christoffersen_pelletier_duration(hits_at(5000, even));
  const DurationTestResult c = christoffersen_pelletier_duration(hits_at(5000, clustered));
  MESSAGE("even b " << e.shape_b << " LR " << e.lr.lr << "; clustered b " << c.shape_b << " LR "
                    << c.lr.lr);
  CHECK(e.shape_b > 2.0);
  CHECK(c.shape_b < 0.5);
  CHECK(e.lr.p_value < 1e-6);
  CHECK(c.lr.p_value < 1e-6);
  // Same count, same span: the same exponential hazard 49 / 5000 (first spell censored); only
  // the Weibull shape tells them apart.
  CHECK(e.exponential_a == doctest::Approx(49.0 / 5000.0).epsilon(1e-14));
  CHECK(c.exponential_a == doctest::Approx(49.0 / 5000.0).epsilon(1e-14));
}

TEST_CASE("duration and DQ tests: iid hits at 1 percent pass, clustered hits reject") {
  for (const std::uint64_t seed : {1U, 2U, 3U, 4U, 5U}) {
    const auto iid = iid_hits(5000, 0.01, seed);
    const Series s = series_from_hits(iid);
    const DurationTestResult d = christoffersen_pelletier_duration(iid);
    const DynamicQuantileResult q = engle_manganelli_dq(s.realized, s.var, 0.99);
    MESSAGE("iid seed " << seed << ": duration b " << d.shape_b << " p " << d.lr.p_value << "; DQ "
                        << q.dq << " p " << q.p_value);
    CHECK(d.lr.p_value > 0.01);
    CHECK(q.p_value > 0.01);
    CHECK(q.dof == 6);

    const auto cl = clustered_hits(5000, 0.01, seed);
    const Series sc = series_from_hits(cl);
    const DurationTestResult dc = christoffersen_pelletier_duration(cl);
    const DynamicQuantileResult qc = engle_manganelli_dq(sc.realized, sc.var, 0.99);
    MESSAGE("clustered seed " << seed << ": duration b " << dc.shape_b << " p " << dc.lr.p_value
                              << "; DQ " << qc.dq << " p " << qc.p_value);
    CHECK(dc.shape_b < 1.0);
    CHECK(dc.lr.p_value < 1e-3);
    CHECK(qc.p_value < 1e-6);
  }
}

TEST_CASE("DQ statistic equals an independent OLS with the formula on a tiny series") {
  const auto hits = hits_at(14, {2, 3, 7, 11, 12});
  const Series s = series_from_hits(hits);
  const double alpha = 0.95;
  const double p = 1.0 - alpha;
  for (const std::size_t lags : {std::size_t{1}, std::size_t{2}}) {
    std::vector<std::vector<double>> x;
    std::vector<double> y;
    for (std::size_t t = lags; t < hits.size(); ++t) {
      std::vector<double> row{1.0};
      for (std::size_t k = 1; k <= lags; ++k) {
        row.push_back(static_cast<double>(hits[t - k]) - p);
      }
      row.push_back(s.var[t]);
      x.push_back(row);
      y.push_back(static_cast<double>(hits[t]) - p);
    }
    const std::vector<double> beta = ols(x, y);
    // DQ = beta' X'X beta / (alpha (1 - alpha)), written out as the double sum.
    double quad = 0.0;
    for (const auto& row : x) {
      double fit = 0.0;
      for (std::size_t j = 0; j < row.size(); ++j) {
        fit += row[j] * beta[j];
      }
      quad += fit * fit;
    }
    const double expected = quad / (alpha * p);
    const DynamicQuantileResult r = engle_manganelli_dq(s.realized, s.var, alpha, lags);
    CHECK(r.dof == static_cast<int>(lags + 2));
    CHECK(r.observations == hits.size() - lags);
    CHECK(std::fabs(r.dq - expected) < 1e-10);
    REQUIRE(r.beta.size() == beta.size());
    for (std::size_t j = 0; j < beta.size(); ++j) {
      CHECK(std::fabs(r.beta[j] - beta[j]) < 1e-8);
    }
    CHECK(r.p_value == doctest::Approx(stat::chi_square_sf(expected, r.dof)).epsilon(1e-12));
  }
}

TEST_CASE("DQ: a constant VaR makes X rank-deficient; dof drops to the rank") {
  const auto hits = hits_at(40, {5, 6, 20, 33});
  std::vector<double> var(40, 0.02);
  std::vector<double> realized(hits.size(), 0.0);
  for (std::size_t t = 0; t < hits.size(); ++t) {
    realized[t] = hits[t] != 0 ? -0.05 : 0.0;
  }
  const DynamicQuantileResult r = engle_manganelli_dq(realized, var, 0.99, 2);
  CHECK(r.dof == 3);  // constant, 2 lags; the VaR column is a multiple of the constant
  CHECK(std::isfinite(r.dq));
  CHECK_THROWS_AS((void)engle_manganelli_dq(realized, var, 0.99, 19), std::invalid_argument);
  CHECK_THROWS_AS((void)engle_manganelli_dq(realized, std::vector<double>(3, 0.02), 0.99),
                  std::invalid_argument);
  CHECK_THROWS_AS((void)engle_manganelli_dq(realized, var, 1.0), std::invalid_argument);
}
