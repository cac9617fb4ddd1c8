#include "risk/garch.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <numeric>
#include <vector>

#include "risk/historical.hpp"
#include "tests/risk/pegged_series.hpp"

using namespace varkeeper::risk;

namespace {

// SplitMix64 and Box-Muller written out: the same draws with every standard library.
class Normals {
 public:
  explicit Normals(std::uint64_t seed) : state_(seed) {}
  double next() {
    const double u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  double uniform() {
    state_ += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    z ^= z >> 31U;
    return (static_cast<double>(z >> 11U) + 0.5) * 0x1.0p-53;
  }
  std::uint64_t state_;
};

std::vector<double> simulate_garch(const GarchParams& p, std::size_t n, std::uint64_t seed) {
  Normals z(seed);
  double v = p.omega / (1.0 - p.alpha - p.beta);
  std::vector<double> x;
  x.reserve(n);
  for (std::size_t t = 0; t < n; ++t) {
    const double r = std::sqrt(v) * z.next();
    x.push_back(r);
    v = p.omega + p.alpha * r * r + p.beta * v;
  }
  return x;
}

std::vector<double> negated(std::vector<double> v) {
  for (auto& x : v) {
    x = -x;
  }
  return v;
}

}  // namespace

TEST_CASE("GARCH(1,1) maximum likelihood recovers the parameters of a simulated series") {
  // omega = 2e-6, alpha = 0.08, beta = 0.90 (unconditional daily volatility 1 %), 3000 days,
  // seeds 1..4 (printed on failure). Tolerances: a few asymptotic standard errors at T = 3000
  // (about 0.01 for alpha and beta; omega is the least well identified, within a factor 1.6).
  const GarchParams truth{2e-6, 0.08, 0.90};
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    CAPTURE(seed);
    const auto x = simulate_garch(truth, 3000, seed);
    const auto fit = fit_garch(x);
    REQUIRE(fit.converged);
    CHECK(std::fabs(fit.params.alpha - truth.alpha) < 0.03);
    CHECK(std::fabs(fit.params.beta - truth.beta) < 0.04);
    CHECK(fit.params.omega > truth.omega / 1.6);
    CHECK(fit.params.omega < truth.omega * 1.6);
    CHECK(fit.params.alpha + fit.params.beta < 1.0);
    // The maximum: the truth and nearby points have a lower likelihood than the fit.
    CHECK(garch_log_likelihood(x, truth) <= fit.log_likelihood);
    for (double d : {-0.01, 0.01}) {
      GarchParams q = fit.params;
      q.alpha += d;
      CHECK(garch_log_likelihood(x, q) < fit.log_likelihood);
      q = fit.params;
      q.beta += d;
      CHECK(garch_log_likelihood(x, q) < fit.log_likelihood);
    }
  }
}

TEST_CASE("a GARCH fit is refused, not thrown, on a short or an all-zero series") {
  CHECK_FALSE(fit_garch(std::vector<double>(50, 0.01)).converged);
  const auto zero = fit_garch(std::vector<double>(500, 0.0));
  CHECK_FALSE(zero.converged);
  CHECK(zero.failure == "the returns are all zero");
}

TEST_CASE("the GARCH variance path is the recursion started at the mean square") {
  const std::vector<double> x{0.01, -0.02, 0.03};
  const GarchParams p{1e-5, 0.1, 0.8};
  const double v0 = (1e-4 + 4e-4 + 9e-4) / 3.0;
  const double v1 = 1e-5 + 0.1 * 1e-4 + 0.8 * v0;
  const double v2 = 1e-5 + 0.1 * 4e-4 + 0.8 * v1;
  const double v3 = 1e-5 + 0.1 * 9e-4 + 0.8 * v2;
  const auto v = garch_variance_path(x, p);
  REQUIRE(v.size() == 4);
  CHECK(v[0] == doctest::Approx(v0).epsilon(1e-14));
  CHECK(v[1] == doctest::Approx(v1).epsilon(1e-14));
  CHECK(v[2] == doctest::Approx(v2).epsilon(1e-14));
  CHECK(v[3] == doctest::Approx(v3).epsilon(1e-14));
  const double ll =
      -0.5 * (std::log(v0) + 1e-4 / v0 + std::log(v1) + 4e-4 / v1 + std::log(v2) + 9e-4 / v2);
  CHECK(garch_log_likelihood(x, p) == doctest::Approx(ll).epsilon(1e-14));
}

TEST_CASE("filtered historical simulation stays finite and near plain HS on the pegged series") {
  // Issue 16, defect 1: 40 noisy days, 459 flat days and a -0.2 % move. With the EWMA filter
  // alone (no floor) the flat stretch drove sigma_t to ~1e-9 and the last move was rescaled
  // ~15,000-fold: CVaR 20 % at 99 % with full revaluation (plain HS 1.7 %), 3,100 % with linear
  // losses, and exp() of that for a short position on the mirrored series. This test failed on
  // that code (CVaR / HS CVaR = 12 and 1,900) and passes with the GARCH filter and its floor.
  const auto up = varkeeper::test::pegged_returns();
  const auto down = negated(up);
  for (const auto* r : {&up, &down}) {
    for (double w : {1.0, -1.0}) {
      for (auto rev : {Revaluation::kFull, Revaluation::kLinear}) {
        for (int h : {1, 10}) {
          CAPTURE(w);
          CAPTURE(h);
          CAPTURE(rev == Revaluation::kFull);
          CAPTURE(r == &down);
          const std::vector<double> weights{w};
          const HistoricalOptions o{.confidence = 0.99, .horizon = h, .revaluation = rev};
          const auto hs = historical_risk({*r, 1}, weights, o);
          const auto fhs = filtered_historical_risk({*r, 1}, weights, o);
          REQUIRE(std::isfinite(fhs.var));
          REQUIRE(std::isfinite(fhs.cvar));
          CHECK(fhs.var > 0.0);
          CHECK(fhs.cvar >= fhs.var);
          // The sensible bound of docs/risk-engine.md: within a factor 10 of plain HS.
          CHECK(fhs.var <= 10.0 * hs.var);
          CHECK(fhs.cvar <= 10.0 * hs.cvar);
          CHECK(fhs.var >= hs.var / 10.0);
          CHECK(fhs.cvar >= hs.cvar / 10.0);
          // The GARCH fit runs into alpha + beta = 1 on a peg: the documented fallback is said.
          CHECK(fhs.warning.find("EWMA") != std::string::npos);
        }
      }
    }
  }
}

TEST_CASE("after a flat stretch the filter amplifies no move of the pegged series") {
  // The forecast after the flat stretch sits at the floor (kVolatilityFloorFraction times the
  // window's root mean square return), and every sigma_t is at least the floor: no return is
  // scaled up, and the last move, standardised by the floor and rescaled to it, is -0.2 % again.
  const auto r = varkeeper::test::pegged_returns();
  const auto f = filter_returns(r, 1, 0.94, 1);
  REQUIRE(f.filter[0] == VolatilityFilter::kEwmaFallback);
  CHECK(f.scaled.back() == doctest::Approx(varkeeper::test::kPeggedLastMove).epsilon(1e-12));
  for (std::size_t t = 0; t < r.size(); ++t) {
    CAPTURE(t);
    CHECK(std::fabs(f.scaled[t]) <= std::fabs(r[t]) * (1.0 + 1e-12));
  }
}

TEST_CASE("an asset that never moved keeps its observed returns in the filter") {
  // Two assets: a GARCH-like one and a constant-price one (all returns 0).
  const auto x = simulate_garch({2e-6, 0.08, 0.90}, 600, 7);
  std::vector<double> r;
  for (double v : x) {
    r.push_back(v);
    r.push_back(0.0);
  }
  const auto f = filter_returns(r, 2, 0.94, 1);
  CHECK(f.filter[0] == VolatilityFilter::kGarch);
  CHECK(f.filter[1] == VolatilityFilter::kNone);
  for (std::size_t t = 0; t < x.size(); ++t) {
    CHECK(f.scaled[t * 2 + 1] == 0.0);
    CHECK(std::isfinite(f.scaled[t * 2]));
  }
  const auto fhs =
      filtered_historical_risk({r, 2}, std::vector<double>{0.5, 0.5}, {.confidence = 0.99});
  CHECK(std::isfinite(fhs.var));
  CHECK(fhs.var > 0.0);
}

TEST_CASE("the GARCH fit is the likelihood's maximum and a tiny move cannot flip the filter") {
  // The feedback-loop scenario's defect: constant-volatility returns (3.5 % a day) with a -20 %
  // jump and a -10 % follow-through. The likelihood rises along the flat alpha = 0 ridge towards
  // the persistence bound, and Nelder-Mead from three fixed starts stopped early on it at points
  // that depended on the window, calling an inferior point converged: from one hourly tick to the
  // next the filter switched between the EWMA fallback and a constant variance and the VaR halved
  // or doubled with no market move. Before the fix the grid check below failed in 12 of these
  // windows (the fit up to 0.18 log-likelihood below a grid point); it passes now. Seed 11, 320
  // days, windows of 250 shifted one day at a time over the 64 days after the jump.
  Normals z(11);
  std::vector<double> x;
  x.reserve(320);
  for (std::size_t t = 0; t < 320; ++t) {
    x.push_back(0.035 * z.next());
  }
  x[255] = -0.20;
  x[256] = -0.10;
  const std::vector<double> weights{1.0};
  for (std::size_t end = 257; end <= x.size(); ++end) {
    CAPTURE(end);
    std::vector<double> window(x.begin() + static_cast<std::ptrdiff_t>(end - 250),
                               x.begin() + static_cast<std::ptrdiff_t>(end));
    const auto fit = fit_garch(window);
    // No point of a grid over the admissible region is more likely than the fit.
    const double s2 = std::inner_product(window.begin(), window.end(), window.begin(), 0.0) / 250.0;
    for (double a : {0.0, 0.01, 0.05, 0.1}) {
      for (double p : {0.5, 0.9, 0.99, 0.999, 0.9998}) {
        for (double k : {0.5, 1.0, 2.0, 10.0}) {
          CHECK(garch_log_likelihood(window, {s2 * (1.0 - p) * k, a, p - a}) <=
                fit.log_likelihood + 1e-6);
        }
      }
    }
    // A move of 1e-4 in the last return (an hourly tick's noise) moves the VaR by little.
    const auto base = filtered_historical_risk({window, 1}, weights, {.confidence = 0.99});
    for (double d : {-1e-4, 1e-4}) {
      CAPTURE(d);
      auto moved = window;
      moved.back() += d;
      const auto fhs = filtered_historical_risk({moved, 1}, weights, {.confidence = 0.99});
      CHECK(fhs.var / base.var < 1.05);
      CHECK(fhs.var / base.var > 0.95);
    }
  }
}
