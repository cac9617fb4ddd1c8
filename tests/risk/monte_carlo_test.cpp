#include "risk/monte_carlo.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "risk/parametric.hpp"
#include "risk/random_stream.hpp"
#include "risk/sampling_distributions.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::risk;
namespace stat = varkeeper::risk::stat;

namespace {

constexpr std::size_t kMillion = 1'000'000;

double sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

void check_within_3se(double estimate, double se, double exact) {
  CAPTURE(estimate);
  CAPTURE(se);
  CAPTURE(exact);
  CHECK(se > 0.0);
  CHECK(se < 0.01 * std::fabs(exact));  // the standard error is meaningful, not huge
  CHECK(std::fabs(estimate - exact) <= 3.0 * se);
}

McModel three_asset_model(McDistribution d) {
  McModel m;
  m.distribution = d;
  m.drift = {0.0004, -0.0002, 0.0010};
  m.covariance = {0.0004, 0.00006, -0.00003, 0.00006, 0.0001, 0.00002, -0.00003, 0.00002, 0.0009};
  m.nu = 5.0;
  return m;
}

// Loss of a linear two-asset Merton portfolio, conditional on the jump counts, is normal; the
// unconditional law is the Poisson mixture over (n1, n2, nc). Returns its exact VaR (by bisection
// on the mixture CDF) and ES (closed form of each normal's tail expectation).
struct MixtureRisk {
  double var, es;
};
MixtureRisk merton_mixture(const McModel& m, const std::vector<double>& w, double alpha) {
  struct Part {
    double p, mean, sd;
  };
  std::vector<Part> parts;
  const auto& j = m.jumps;
  double diff_var = 0.0, diff_mean = 0.0;
  for (std::size_t a = 0; a < 2; ++a) {
    diff_mean += w[a] * m.drift[a];
    for (std::size_t b = 0; b < 2; ++b) diff_var += w[a] * w[b] * m.covariance[a * 2 + b];
  }
  auto pois = [](unsigned k, double l) {
    return std::exp(-l + k * std::log(l) - std::lgamma(k + 1.0));
  };
  const double csd = w[0] * j.common_stdev[0] + w[1] * j.common_stdev[1];
  for (unsigned n1 = 0; n1 < 25; ++n1)
    for (unsigned n2 = 0; n2 < 25; ++n2)
      for (unsigned nc = 0; nc < 25; ++nc) {
        const double p =
            pois(n1, j.intensity[0]) * pois(n2, j.intensity[1]) * pois(nc, j.common_intensity);
        if (p < 1e-300) continue;
        const double mean = diff_mean + w[0] * n1 * j.mean[0] + w[1] * n2 * j.mean[1] +
                            nc * (w[0] * j.common_mean[0] + w[1] * j.common_mean[1]);
        const double var = diff_var + w[0] * w[0] * n1 * j.stdev[0] * j.stdev[0] +
                           w[1] * w[1] * n2 * j.stdev[1] * j.stdev[1] + nc * csd * csd;
        parts.push_back({p, -mean, std::sqrt(var)});  // the loss is -return
      }
  auto tail = [&](double x) {  // P(L > x)
    double s = 0.0;
    for (const auto& q : parts) s += q.p * stat::normal_cdf(-(x - q.mean) / q.sd);
    return s;
  };
  double lo = -1.0, hi = 1.0;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (tail(mid) > 1.0 - alpha ? lo : hi) = mid;
  }
  const double v = 0.5 * (lo + hi);
  double es = 0.0;
  for (const auto& q : parts) {
    const double d = (v - q.mean) / q.sd;
    es += q.p * (q.mean * stat::normal_cdf(-d) + q.sd * stat::normal_pdf(d));
  }
  return {v, es / (1.0 - alpha)};
}

}  // namespace

TEST_CASE("the ziggurat normal sampler has the normal's moments and tail probabilities") {
  RandomStream rng(varkeeper::test::test_seed(20261122), 0);
  const std::size_t n = 2'000'000;
  double s1 = 0.0, s2 = 0.0, s4 = 0.0;
  std::size_t below_q99 = 0, beyond_r = 0;
  const double q = stat::normal_quantile(0.01);
  for (std::size_t i = 0; i < n; ++i) {
    const double z = rng.normal();
    s1 += z;
    s2 += z * z;
    s4 += z * z * z * z;
    below_q99 += z < q ? 1 : 0;
    beyond_r += std::fabs(z) > 3.442619855899 ? 1 : 0;  // the ziggurat's tail algorithm
  }
  const double nd = static_cast<double>(n);
  CHECK(std::fabs(s1 / nd) < 4.0 / std::sqrt(nd));
  CHECK(std::fabs(s2 / nd - 1.0) < 4.0 * std::sqrt(2.0 / nd));
  CHECK(std::fabs(s4 / nd - 3.0) < 4.0 * std::sqrt(96.0 / nd));
  const auto binom_ok = [nd](std::size_t count, double p) {
    return std::fabs(static_cast<double>(count) / nd - p) < 4.0 * std::sqrt(p * (1 - p) / nd);
  };
  CHECK(binom_ok(below_q99, 0.01));
  CHECK(binom_ok(beyond_r, 2.0 * stat::normal_cdf(-3.442619855899)));
}

TEST_CASE("Monte Carlo normal agrees with the closed form within 3 standard errors at 1e6 paths") {
  const auto m = three_asset_model(McDistribution::kNormal);
  const std::vector<double> w{0.5, 0.3, 0.2};
  McSettings s;
  s.paths = kMillion;
  s.seed = varkeeper::test::test_seed(20261122);
  s.revaluation = Revaluation::kLinear;
  const auto mc = monte_carlo_risk(m, w, 0.99, s);
  const auto exact =
      parametric_normal(m.drift, m.covariance, w,
                        {.confidence = 0.99, .horizon = 1, .revaluation = Revaluation::kLinear});
  check_within_3se(mc.var, mc.stderr_var, exact.var);
  check_within_3se(mc.cvar, mc.stderr_cvar, exact.cvar);
  CHECK(mc.cvar >= mc.var);
}

TEST_CASE("Monte Carlo multivariate t agrees with the linear-portfolio t closed form") {
  const auto m = three_asset_model(McDistribution::kStudentT);
  const std::vector<double> w{0.5, 0.3, 0.2};
  McSettings s;
  s.paths = kMillion;
  s.seed = varkeeper::test::test_seed(20261122) + 1;
  s.revaluation = Revaluation::kLinear;
  for (double alpha : {0.95, 0.99}) {
    const auto mc = monte_carlo_risk(m, w, alpha, s);
    const auto exact = parametric_student_t(
        m.drift, m.covariance, m.nu, w,
        {.confidence = alpha, .horizon = 1, .revaluation = Revaluation::kLinear});
    check_within_3se(mc.var, mc.stderr_var, exact.var);
    check_within_3se(mc.cvar, mc.stderr_cvar, exact.cvar);
  }
}

TEST_CASE("multi-step Monte Carlo of one GBM asset agrees with the lognormal closed form") {
  McModel m;
  m.drift = {0.0003};
  m.covariance = {0.03 * 0.03};
  const std::vector<double> w{1.0};
  McSettings s;
  s.paths = kMillion;
  s.horizon = 10;
  s.seed = varkeeper::test::test_seed(20261122) + 2;
  s.revaluation = Revaluation::kFull;
  const auto mc = monte_carlo_risk(m, w, 0.99, s);
  const double mean = 10 * 0.0003, sd = 0.03 * std::sqrt(10.0);
  check_within_3se(mc.var, mc.stderr_var, lognormal_var(mean, sd, 0.99));
  check_within_3se(mc.cvar, mc.stderr_cvar, lognormal_es(mean, sd, 0.99));
}

TEST_CASE("Merton jump-diffusion Monte Carlo agrees with the exact Poisson mixture") {
  McModel m;
  m.distribution = McDistribution::kJumpDiffusion;
  m.drift = {0.0002, 0.0001};
  m.covariance = {0.015 * 0.015, 0.3 * 0.015 * 0.02, 0.3 * 0.015 * 0.02, 0.02 * 0.02};
  m.jumps.intensity = {0.08, 0.05};
  m.jumps.mean = {-0.03, 0.01};
  m.jumps.stdev = {0.05, 0.06};
  m.jumps.common_intensity = 0.03;
  m.jumps.common_mean = {-0.06, -0.08};
  m.jumps.common_stdev = {0.04, 0.05};
  const std::vector<double> w{0.6, 0.4};
  McSettings s;
  s.paths = kMillion;
  s.seed = varkeeper::test::test_seed(20261122) + 3;
  s.revaluation = Revaluation::kLinear;
  for (double alpha : {0.95, 0.99}) {
    const auto exact = merton_mixture(m, w, alpha);
    const auto mc = monte_carlo_risk(m, w, alpha, s);
    check_within_3se(mc.var, mc.stderr_var, exact.var);
    check_within_3se(mc.cvar, mc.stderr_cvar, exact.es);
  }
}

TEST_CASE("Monte Carlo results are bit-identical for 1, 2 and 3 threads") {
  const auto m = three_asset_model(McDistribution::kStudentT);
  const std::vector<double> w{0.5, 0.3, 0.2};
  McSettings s;
  s.paths = 100'001;  // a partial last block, rounded up to even for the antithetic pairs
  s.seed = varkeeper::test::test_seed(20261122);
  s.components = true;
  s.threads = 1;
  const auto one = monte_carlo_risk(m, w, 0.99, s);
  for (unsigned t : {2u, 3u}) {
    s.threads = t;
    const auto many = monte_carlo_risk(m, w, 0.99, s);
    CHECK(many.var == one.var);
    CHECK(many.cvar == one.cvar);
    CHECK(many.stderr_var == one.stderr_var);
    CHECK(many.stderr_cvar == one.stderr_cvar);
    CHECK(many.component_var == one.component_var);
    CHECK(many.component_cvar == one.component_cvar);
  }
  s.threads = 1;
  CHECK(monte_carlo_draw_only(m, s) == (s.threads = 2, monte_carlo_draw_only(m, s)));
  CHECK(one.paths == 100'002);
}

TEST_CASE("Monte Carlo components sum to VaR and CVaR for every model") {
  const std::vector<double> w{0.5, 0.3, 0.2};
  McSettings s;
  s.paths = 200'000;
  s.seed = varkeeper::test::test_seed(20261122);
  s.components = true;
  auto jump = three_asset_model(McDistribution::kJumpDiffusion);
  jump.jumps.intensity = {0.05, 0.02, 0.1};
  jump.jumps.mean = {-0.02, -0.01, 0.0};
  jump.jumps.stdev = {0.04, 0.03, 0.05};
  for (const auto& m : {three_asset_model(McDistribution::kNormal),
                        three_asset_model(McDistribution::kStudentT), jump}) {
    for (int h : {1, 5}) {
      s.horizon = h;
      const auto r = monte_carlo_risk(m, w, 0.99, s);
      CHECK(sum(r.component_var) == doctest::Approx(r.var).epsilon(1e-12));
      CHECK(sum(r.component_cvar) == doctest::Approx(r.cvar).epsilon(1e-12));
      CHECK(r.cvar >= r.var);
    }
  }
}

TEST_CASE("a different seed gives different paths and the same seed the same figures") {
  const auto m = three_asset_model(McDistribution::kNormal);
  const std::vector<double> w{0.5, 0.3, 0.2};
  McSettings s;
  s.paths = 20'000;
  s.seed = 7;
  const auto a = monte_carlo_risk(m, w, 0.99, s);
  const auto b = monte_carlo_risk(m, w, 0.99, s);
  s.seed = 8;
  const auto c = monte_carlo_risk(m, w, 0.99, s);
  CHECK(a.var == b.var);
  CHECK(a.var != c.var);
}
