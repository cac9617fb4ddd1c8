// Reference values computed independently with SciPy 1.10.1 (Debian python3-scipy):
//   /usr/bin/python3 -c "from scipy import stats, special; print(repr(stats.chi2.sf(10.0, 1)))"
// and likewise stats.chi2.cdf, stats.binom.cdf / stats.binom.sf(k - 1, n, p), special.gammainc /
// gammaincc, special.betainc(a, b, x), stats.norm.ppf / cdf, stats.t.ppf / cdf / pdf.
#include "risk/sampling_distributions.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <vector>

using namespace varkeeper::risk::stat;

namespace {
void check_rel(double got, double want, double rel) {
  CHECK(got == doctest::Approx(want).epsilon(rel));
}
}  // namespace

TEST_CASE("chi-square CDF and survival function match SciPy") {
  struct Row {
    double x, k, cdf, sf;
  };
  const std::vector<Row> rows{
      {0.46147, 1, 0.5030622330508395, 0.4969377669491605},
      {0.25866, 1, 0.3889577492338815, 0.6110422507661185},
      {0.72013, 2, 0.30236902141635424, 0.6976309785836458},
      {3.841458820694124, 1, 0.9500000000000001, 0.04999999999999989},
      {10.0, 1, 0.9984345977419975, 0.001565402258002549},
      {30.0, 1, 0.9999999567953695, 4.3204630578274955e-08},
      {0.001, 1, 0.02522712063003961, 0.9747728793699604},
      {5.0, 3, 0.8282028557032665, 0.1717971442967335},
      {50.0, 2, 0.9999999999861121, 1.3887943864964e-11},
      {0.5, 7, 0.000553518609575035, 0.9994464813904249},
      {100.0, 10, 1.0, 5.4497019829205215e-17},
  };
  for (const auto& r : rows) {
    CAPTURE(r.x);
    CAPTURE(r.k);
    check_rel(chi_square_cdf(r.x, r.k), r.cdf, 1e-12);
    check_rel(chi_square_sf(r.x, r.k), r.sf, 1e-11);
  }
  CHECK(chi_square_cdf(0.0, 1) == 0.0);
  CHECK(chi_square_sf(0.0, 2) == 1.0);
}

TEST_CASE("binomial CDF and upper tail match SciPy, including the Basel 250-day table") {
  struct Row {
    std::size_t k, n;
    double p, cdf, sf_inclusive;
  };
  const std::vector<Row> rows{
      {4, 250, 0.01, 0.8921876269036252, 0.24188330223511675},
      {5, 250, 0.01, 0.9588168159301517, 0.10781237309637479},
      {9, 250, 0.01, 0.9997498099312595, 0.0010565324973568265},
      {10, 250, 0.01, 0.999946101370953, 0.00025019006874050777},
      {57, 1043, 0.05, 0.779127243332813, 0.2639584660056404},
      {0, 250, 0.01, 0.08105851616218143, 1.0},
      {3, 1000, 0.01, 0.010072654772014291, 0.9973205680062085},
      {30, 4650, 0.01, 0.0063844162029703735, 0.9960919439989915},
      {60, 4650, 0.01, 0.9769791615888717, 0.03146436340654924},
      {200, 4650, 0.05, 0.01417067335226035, 0.9881843085619343},
      {280, 4650, 0.05, 0.9991623160734674, 0.0010383832845222785},
  };
  for (const auto& r : rows) {
    CAPTURE(r.k);
    CAPTURE(r.n);
    check_rel(binomial_cdf(r.k, r.n, r.p), r.cdf, 1e-11);
    check_rel(binomial_sf_inclusive(r.k, r.n, r.p), r.sf_inclusive, 1e-10);
  }
  CHECK(binomial_cdf(250, 250, 0.01) == 1.0);
  CHECK(binomial_sf_inclusive(251, 250, 0.01) == 0.0);
}

TEST_CASE("binomial CDF equals the exact sum of probabilities for small n") {
  // Closed form: P(X <= k) = sum_{i<=k} C(n,i) p^i (1-p)^(n-i), summed in long double.
  const std::size_t n = 40;
  const long double p = 0.13L;
  long double pmf = 1.0L;
  for (std::size_t i = 0; i < n; ++i) pmf *= (1.0L - p);
  long double cum = 0.0L;
  for (std::size_t k = 0; k < n; ++k) {
    cum += pmf;
    CAPTURE(k);
    check_rel(binomial_cdf(k, n, 0.13), static_cast<double>(cum), 1e-12);
    pmf *= static_cast<long double>(n - k) / static_cast<long double>(k + 1) * p / (1.0L - p);
  }
}

TEST_CASE("regularised incomplete gamma and beta functions match SciPy") {
  check_rel(regularized_gamma_p(0.5, 0.1), 0.34527915398142317, 1e-13);
  check_rel(regularized_gamma_q(0.5, 0.1), 0.6547208460185768, 1e-13);
  check_rel(regularized_gamma_p(2.5, 7.0), 0.9843905838997331, 1e-13);
  check_rel(regularized_gamma_q(2.5, 7.0), 0.01560941610026691, 1e-12);
  check_rel(regularized_gamma_p(10, 3), 0.0011024881301154815, 1e-12);
  check_rel(regularized_gamma_p(100, 120), 0.9721362601094793, 1e-12);
  check_rel(regularized_gamma_q(100, 120), 0.027863739890520652, 1e-11);
  check_rel(regularized_gamma_q(0.1, 30), 4.476766580012687e-16, 1e-10);
  check_rel(regularized_beta(0.3, 2, 5), 0.5798250000000001, 1e-13);
  check_rel(regularized_beta(0.99, 0.5, 3), 0.9999996863210445, 1e-13);
  check_rel(regularized_beta(0.01, 50, 4), 2.2743735400000026e-96, 1e-11);
  check_rel(regularized_beta(0.5, 200, 210), 0.6894852134273876, 1e-11);
  check_rel(regularized_beta(0.9, 1.5, 0.5), 0.604181303590592, 1e-13);
}

TEST_CASE("normal quantile and CDF match SciPy in the body and both tails") {
  struct Row {
    double p, x;
  };
  const std::vector<Row> rows{
      {1e-10, -6.361340902404056}, {0.001, -3.090232306167813}, {0.01, -2.3263478740408408},
      {0.05, -1.6448536269514729}, {0.3, -0.5244005127080409},  {0.95, 1.6448536269514722},
      {0.99, 2.3263478740408408},  {0.999, 3.090232306167813},  {1 - 1e-10, 6.361340889697422},
  };
  for (const auto& r : rows) {
    CAPTURE(r.p);
    check_rel(normal_quantile(r.p), r.x, 1e-14);
  }
  CHECK(normal_quantile(0.5) == doctest::Approx(0.0).epsilon(1e-15));
  check_rel(normal_cdf(-8.0), 6.22096057427174e-16, 1e-13);
  check_rel(normal_cdf(-1.5), 0.06680720126885807, 1e-14);
  check_rel(normal_cdf(2.0), 0.9772498680518208, 1e-15);
  check_rel(normal_cdf(6.0), 0.9999999990134123, 1e-15);
}

TEST_CASE("Student-t quantile, CDF and density match SciPy") {
  struct Q {
    double p, nu, x;
  };
  // SciPy's stats.t.ppf (cephes stdtri) is only good to ~3e-11 here, so the references are the
  // root of SciPy's t CDF (cephes stdtr):
  //   optimize.brentq(lambda x: special.stdtr(nu, x) - p, -50, 50, xtol=1e-15, rtol=1e-15)
  // (upper tail solved on stdtr(nu, -x) - (1 - p)), and closed forms where they exist:
  // nu = 1: tan(pi (p - 1/2)); nu = 2: (2p - 1) / sqrt(2p(1 - p)); nu = 4: 2 sqrt(c - 1) with
  // c = cos(acos(sqrt(a)) / 3) / sqrt(a), a = 4p(1 - p).
  const std::vector<Q> quantiles{
      {0.99, 3, 4.540702858568131},   {0.95, 4, 2.1318467863266495},
      {0.975, 1, 12.706204736174696}, {0.999, 2.5, 13.822193110865964},
      {0.01, 5, -3.3649299989072183}, {0.99, 30, 2.4572615424005915},
      {0.9999, 6, 8.024792773116534}, {0.999, 2, 22.327124770119866},
  };
  for (const auto& q : quantiles) {
    CAPTURE(q.p);
    CAPTURE(q.nu);
    check_rel(student_t_quantile(q.p, q.nu), q.x, 1e-12);
  }
  struct C {
    double x, nu, cdf, pdf;
  };
  const std::vector<C> cdfs{
      {-3.0, 3, 0.028834442811218657, 0.022972037309241335},
      {1.0, 1, 0.7500000000000002, 0.15915494309189537},
      {2.5, 7.5, 0.9805898708631873, 0.029356177744853572},
      {10.0, 4, 0.9997189981886421, 0.00010879223472902223},
      {0.1, 2, 0.53526728079293, 0.3509182168450738},
  };
  for (const auto& c : cdfs) {
    CAPTURE(c.x);
    check_rel(student_t_cdf(c.x, c.nu), c.cdf, 1e-13);
    check_rel(student_t_pdf(c.x, c.nu), c.pdf, 1e-13);
  }
}
