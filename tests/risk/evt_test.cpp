// Issue 17: the tenth method, extreme-value theory (peaks over threshold, GPD by ML,
// risk/evt.hpp). Closed forms against an independent numerical inversion and integration of the
// GPD tail; recovery of simulated GPD parameters within their standard errors; the Danish fire
// losses against McNeil (1997) / McNeil, Frey & Embrechts; the pegged series through
// estimate_risk.
#include "risk/evt.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "risk/risk_diagnostic.hpp"
#include "risk/risk_method.hpp"
#include "tests/risk/pegged_series.hpp"

using namespace varkeeper::risk;

namespace {

// The tail of the POT model: P(L > x) = (N_u / n) (1 + xi (x - u) / beta)^(-1/xi), x >= u.
double tail_survival(double x, double u, double xi, double beta, double frac) {
  const double y = x - u;
  if (std::fabs(xi) < 1e-15) {
    return frac * std::exp(-y / beta);
  }
  const double z = 1.0 + xi * y / beta;
  return z > 0.0 ? frac * std::pow(z, -1.0 / xi) : 0.0;
}

// VaR by bisection on the survival function (no closed form used).
double var_by_bisection(double u, double xi, double beta, double frac, double alpha) {
  double lo = u;
  double hi = u + beta;
  while (tail_survival(hi, u, xi, beta, frac) > 1.0 - alpha) {
    hi = u + 2.0 * (hi - u);
  }
  for (int i = 0; i < 300; ++i) {
    const double mid = 0.5 * (lo + hi);
    (tail_survival(mid, u, xi, beta, frac) > 1.0 - alpha ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// ES = VaR + (1 / (1 - alpha)) int_VaR^inf S(x) dx, by composite Simpson after x = VaR +
// beta (w^-m - 1), w in (0, 1]: S ~ x^(-1/xi) makes the integrand ~ w^(m (1/xi - 1) - 1), smooth
// at w = 0 with m = 5 / (1/xi - 1) (m = 1 for xi <= 0: exponential decay or a finite support).
double es_by_integration(double u, double xi, double beta, double frac, double alpha) {
  const double var = var_by_bisection(u, xi, beta, frac, alpha);
  const double m = xi > 0.0 ? std::max(1.0, 5.0 / (1.0 / xi - 1.0)) : 1.0;
  const auto f = [&](double w) {
    if (w <= 0.0) {
      return 0.0;
    }
    const double x = var + beta * (std::pow(w, -m) - 1.0);
    return tail_survival(x, u, xi, beta, frac) * beta * m * std::pow(w, -m - 1.0);
  };
  constexpr int kSteps = 200'000;
  const double h = 1.0 / kSteps;
  double s = f(0.0) + f(1.0);
  for (int i = 1; i < kSteps; ++i) {
    s += (i % 2 == 1 ? 4.0 : 2.0) * f(i * h);
  }
  return var + s * h / 3.0 / (1.0 - alpha);
}

// SplitMix64 uniforms in (0, 1), the same with every standard library.
struct Uniform {
  std::uint64_t state;
  double operator()() {
    state += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    z ^= z >> 31U;
    return (static_cast<double>(z >> 11U) + 0.5) * 0x1.0p-53;
  }
};

std::vector<double> gpd_sample(double xi, double beta, std::size_t n, std::uint64_t seed) {
  Uniform u{seed};
  std::vector<double> y(n);
  for (double& v : y) {
    const double p = u();  // survival probability
    v = std::fabs(xi) < 1e-15 ? -beta * std::log(p) : beta / xi * (std::pow(p, -xi) - 1.0);
  }
  return y;
}

std::vector<double> danish_losses() {
  std::ifstream in(std::string(VARKEEPER_DATA_DIR) + "/danish_fire.csv");
  REQUIRE(in.good());
  std::vector<double> out;
  std::string line;
  bool header = false;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    if (!header) {
      header = true;  // date,loss
      continue;
    }
    out.push_back(std::stod(line.substr(line.find(',') + 1)));
  }
  return out;
}

}  // namespace

TEST_CASE("POT VaR and ES match the GPD tail inverted and integrated numerically to 1e-6") {
  struct Case {
    double u, xi, beta;
    std::size_t n, n_u;
    double alpha;
  };
  for (const Case c :
       {Case{10.0, 0.497, 6.98, 2167, 109, 0.99}, Case{2.0, 0.3, 1.5, 1000, 100, 0.995},
        Case{0.05, 0.0, 0.02, 500, 50, 0.99}, Case{0.05, -0.2, 0.02, 500, 50, 0.999},
        Case{1.0, 0.8, 0.5, 400, 40, 0.975}}) {
    CAPTURE(c.xi);
    CAPTURE(c.alpha);
    const double frac = static_cast<double>(c.n_u) / static_cast<double>(c.n);
    const double var = pot_var(c.u, c.xi, c.beta, c.n, c.n_u, c.alpha);
    const double es = pot_es(c.u, c.xi, c.beta, c.n, c.n_u, c.alpha);
    const double var_ref = var_by_bisection(c.u, c.xi, c.beta, frac, c.alpha);
    const double es_ref = es_by_integration(c.u, c.xi, c.beta, frac, c.alpha);
    CHECK(std::fabs(var - var_ref) < 1e-6 * std::max(1.0, var_ref));
    CHECK(std::fabs(es - es_ref) < 1e-6 * std::max(1.0, es_ref));
    CHECK(es > var);
  }
  // xi -> 0 is continuous (the exponential limit), and xi >= 1 has no finite ES.
  CHECK(std::fabs(pot_var(1.0, 1e-9, 2.0, 1000, 100, 0.99) -
                  pot_var(1.0, 0.0, 2.0, 1000, 100, 0.99)) < 1e-7);
  CHECK(std::isinf(pot_es(1.0, 1.2, 2.0, 1000, 100, 0.99)));
}

TEST_CASE("the GPD fit recovers simulated parameters within their standard errors") {
  struct Case {
    double xi, beta;
    std::uint64_t seed;
  };
  constexpr std::size_t kN = 2000;
  for (const Case c : {Case{0.25, 1.0, 1}, Case{0.5, 0.02, 2}, Case{0.0, 3.0, 3},
                       Case{-0.2, 1.0, 4}, Case{0.1, 0.05, 5}}) {
    CAPTURE(c.xi);
    const auto y = gpd_sample(c.xi, c.beta, kN, c.seed);
    const GpdFit fit = fit_gpd(y);
    // The observed-information standard errors agree with the asymptotic ones (Smith 1985):
    // se(xi) = (1 + xi) / sqrt(n), se(beta) = beta sqrt(2 (1 + xi) / n), to 15 %.
    const double n = static_cast<double>(kN);
    CHECK(fit.se_xi == doctest::Approx((1.0 + c.xi) / std::sqrt(n)).epsilon(0.15));
    CHECK(fit.se_beta == doctest::Approx(c.beta * std::sqrt(2.0 * (1.0 + c.xi) / n)).epsilon(0.15));
    // Within three standard errors of the truth (a fixed seed: a deterministic check that a
    // biased or wrong fit fails; 3 se is a 0.3 % two-sided miss rate per parameter).
    CHECK(std::fabs(fit.xi - c.xi) < 3.0 * fit.se_xi);
    CHECK(std::fabs(fit.beta - c.beta) < 3.0 * fit.se_beta);
    // It is the maximum: every nearby point has a lower likelihood.
    for (const double dx : {-1e-3, 1e-3}) {
      CHECK(gpd_log_likelihood(y, fit.xi + dx, fit.beta) < fit.log_likelihood);
      CHECK(gpd_log_likelihood(y, fit.xi, fit.beta * (1.0 + dx)) < fit.log_likelihood);
    }
  }
}

TEST_CASE("Danish fire losses: McNeil (1997) / McNeil-Frey-Embrechts POT figures at u = 10") {
  const auto losses = danish_losses();
  REQUIRE(losses.size() == 2167);
  PotOptions o;
  o.confidence = 0.99;
  o.threshold = 10.0;
  const PotResult r = pot_risk(losses, o);
  REQUIRE(r.fitted);
  MESSAGE("xi " << r.fit.xi << " (" << r.fit.se_xi << "), beta " << r.fit.beta << " ("
                << r.fit.se_beta << "), VaR " << r.var << " (" << r.se_var << "), ES " << r.es);
  CHECK(r.n_exceedances == 109);
  // Published: xi 0.50 (0.14), beta 7.0 (1.1), VaR_0.99 27.3, ES_0.99 58.2 (to their digits).
  CHECK(std::fabs(r.fit.xi - 0.50) <= 0.005);
  CHECK(std::fabs(r.fit.se_xi - 0.14) <= 0.005);
  CHECK(std::fabs(r.fit.beta - 7.0) <= 0.05);
  CHECK(std::fabs(r.fit.se_beta - 1.1) <= 0.05);
  CHECK(std::fabs(r.var - 27.3) <= 0.05);
  CHECK(std::fabs(r.es - 58.2) <= 0.05);
}

TEST_CASE("evt through estimate_risk: the portfolio's historical losses, threshold by rule") {
  // A heavy-tailed single asset: log-returns whose losses above the 90 % quantile are GPD.
  const std::size_t n = 1000;
  Uniform u{7};
  std::vector<double> r(n);
  for (double& x : r) {
    x = 0.01 * (u() - 0.5);
  }
  const auto tail = gpd_sample(0.3, 0.01, n / 10, 8);
  for (std::size_t i = 0; i < tail.size(); ++i) {
    r[i * 10 + 3] = -(0.01 + tail[i]);
  }
  RiskOptions o;
  o.mean = MeanModel::kSample;
  o.revaluation = Revaluation::kLinear;
  const std::vector<double> w{1.0};
  const RiskEstimate e = estimate_risk(RiskMethod::kEvt, {r, 1}, w, o);
  std::vector<double> losses(r.size());
  for (std::size_t i = 0; i < r.size(); ++i) {
    losses[i] = -r[i];
  }
  PotOptions po;
  const PotResult p = pot_risk(losses, po);
  REQUIRE(p.fitted);
  CHECK(p.n_exceedances == 100);  // the top 10 %
  CHECK(e.var == doctest::Approx(p.var).epsilon(1e-12));
  CHECK(e.cvar == doctest::Approx(p.es).epsilon(1e-12));
  CHECK(e.cvar > e.var);
  REQUIRE(e.component_var.size() == 1);
  CHECK(e.component_var[0] == doctest::Approx(e.var));
  CHECK(e.diagnostics.empty());
}

TEST_CASE("evt on the pegged series: finite, no exception, a diagnostic for the thin tail") {
  const auto r = varkeeper::test::pegged_returns();
  const std::vector<double> w{1.0};
  RiskOptions o;
  RiskEstimate e;
  REQUIRE_NOTHROW(e = estimate_risk(RiskMethod::kEvt, {r, 1}, w, o));
  CHECK(std::isfinite(e.var));
  CHECK(std::isfinite(e.cvar));
  CHECK(e.cvar >= e.var);
  CHECK(e.var > 0.0);
  // 40 noisy days in 500: the top 10 % of losses holds fewer than 30 positive exceedances.
  CHECK(has_diagnostic(e.diagnostics, DiagnosticKind::kEvtFallback));
  // A flat window but for three losses: the empirical tail, said as a diagnostic.
  std::vector<double> flat(300, 0.0);
  flat[10] = -0.05;
  flat[100] = -0.03;
  flat[200] = -0.04;
  RiskEstimate f;
  REQUIRE_NOTHROW(f = estimate_risk(RiskMethod::kEvt, {flat, 1}, w, o));
  CHECK(std::isfinite(f.var));
  CHECK(std::isfinite(f.cvar));
  CHECK(has_diagnostic(f.diagnostics, DiagnosticKind::kEvtFallback));
}
