#include "risk/garch_fit_cache.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "risk/historical.hpp"
#include "risk/random_stream.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::risk;

namespace {

// T x n GARCH-like returns (volatility clusters), drawn from a fixed stream.
std::vector<double> clustered_returns(std::uint64_t stream, std::size_t t_obs, std::size_t n) {
  RandomStream rng(varkeeper::test::test_seed(20261207), stream);
  std::vector<double> r(t_obs * n);
  for (std::size_t i = 0; i < n; ++i) {
    double s2 = 1e-4;
    double prev = 0.0;
    for (std::size_t t = 0; t < t_obs; ++t) {
      s2 = 2e-6 + 0.1 * prev * prev + 0.85 * s2;
      prev = std::sqrt(s2) * rng.normal();
      r[t * n + i] = prev;
    }
  }
  return r;
}

bool same_bits(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

bool identical(const GarchFit& a, const GarchFit& b) {
  return same_bits(a.params.omega, b.params.omega) && same_bits(a.params.alpha, b.params.alpha) &&
         same_bits(a.params.beta, b.params.beta) && same_bits(a.log_likelihood, b.log_likelihood) &&
         a.converged == b.converged && a.failure == b.failure;
}

std::vector<double> column(const std::vector<double>& r, std::size_t n, std::size_t i) {
  std::vector<double> c(r.size() / n);
  for (std::size_t t = 0; t < c.size(); ++t) {
    c[t] = r[t * n + i];
  }
  return c;
}

}  // namespace

TEST_CASE("a memoised GARCH fit is bit for bit the fresh fit, on a miss and on a hit") {
  const auto r = clustered_returns(1, 300, 2);
  const auto c0 = column(r, 2, 0);
  const auto c1 = column(r, 2, 1);
  const GarchFit fresh0 = fit_garch(c0);
  const GarchFit fresh1 = fit_garch(c1);
  REQUIRE(fresh0.converged);
  GarchFitCache cache(1);
  CHECK(identical(cache.fit(c0), fresh0));
  CHECK(cache.misses() == 1);
  std::vector<double> copy(c0.size());  // the same column in other memory
  std::copy(c0.begin(), c0.end(), copy.begin());
  CHECK(identical(cache.fit(copy), fresh0));
  CHECK(cache.hits() == 1);
  // A different column is not served the first one's fit; with capacity 1 it evicts it.
  CHECK(identical(cache.fit(c1), fresh1));
  CHECK(cache.misses() == 2);
  CHECK(cache.size() == 1);
  // One return changed in its last bit: fitted afresh.
  auto nudged = c1;
  nudged[17] = std::nextafter(nudged[17], 1.0);
  (void)cache.fit(nudged);
  CHECK(cache.misses() == 3);
  CHECK(identical(cache.fit(nudged), fit_garch(nudged)));
}

TEST_CASE("filtered historical simulation is the same whether its fits come from the memo or not") {
  // The reference: each asset fitted by fit_garch here, the filter rebuilt by hand as
  // filter_returns documents it, versus filtered_historical_risk served (after the first call)
  // from the process-wide memo. Two portfolios over the same window share the fits.
  const std::size_t n = 3;
  const auto r = clustered_returns(2, 400, n);
  const std::vector<double> w1{0.5, 0.3, 0.2};
  const std::vector<double> w2{0.1, 0.1, 0.8};
  HistoricalOptions o;
  const std::size_t misses_before = shared_garch_fit_cache().misses();
  const auto first = filtered_historical_risk(ReturnWindow{r, n}, w1, o);
  const auto hits_before = shared_garch_fit_cache().hits();
  const auto again = filtered_historical_risk(ReturnWindow{r, n}, w1, o);
  const auto other = filtered_historical_risk(ReturnWindow{r, n}, w2, o);
  CHECK(shared_garch_fit_cache().hits() == hits_before + 2 * n);
  CHECK(shared_garch_fit_cache().misses() <= misses_before + n);
  CHECK(same_bits(first.var, again.var));
  CHECK(same_bits(first.cvar, again.cvar));
  // The hand-built reference for w2: scaled residuals from fresh fits, then plain HS.
  std::vector<double> scaled(r.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = column(r, n, i);
    const GarchFit f = fit_garch(c);
    REQUIRE(f.converged);
    double s2 = 0.0;
    for (double x : c) {
      s2 += x * x;
    }
    s2 /= static_cast<double>(c.size());
    const double floor2 = kVolatilityFloorFraction * kVolatilityFloorFraction * s2;
    const auto path = garch_variance_path(c, f.params);
    const double persistence = f.params.alpha + f.params.beta;
    const double vbar = f.params.omega / (1.0 - persistence);
    const double sigma_h = std::sqrt(std::max(vbar + (path[c.size()] - vbar), floor2));
    for (std::size_t t = 0; t < c.size(); ++t) {
      scaled[t * n + i] = c[t] / std::sqrt(std::max(path[t], floor2)) * sigma_h;
    }
  }
  const auto reference = historical_risk(ReturnWindow{scaled, n}, w2, o);
  CHECK(same_bits(other.var, reference.var));
  CHECK(same_bits(other.cvar, reference.cvar));
}
