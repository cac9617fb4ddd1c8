#include "risk/historical.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "risk/ewma.hpp"

using namespace varkeeper::risk;

namespace {
double sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

std::vector<double> two_asset_window(std::size_t t_obs) {
  std::vector<double> r;
  for (std::size_t t = 0; t < t_obs; ++t) {
    const double x = static_cast<double>(t);
    r.push_back(0.02 * std::sin(1.7 * x) + 0.01 * std::sin(0.05 * x * x));
    r.push_back(0.03 * std::cos(0.9 * x) - 0.005);
  }
  return r;
}
}  // namespace

TEST_CASE("plain historical VaR is the k-th worst scenario loss") {
  // One asset, linear losses -r: 20 returns -0.10, -0.09, ..., 0.09 (shuffled by index order).
  std::vector<double> r;
  for (int i = 0; i < 20; ++i) r.push_back(((i * 7) % 20 - 10) / 100.0);
  const std::vector<double> w{1.0};
  // alpha = 0.9: n(1 - alpha) = 2: VaR = 0.09 (2nd worst loss), CVaR = (0.10 + 0.09) / 2.
  const auto h = historical_risk(
      {r, 1}, w, {.confidence = 0.9, .horizon = 1, .revaluation = Revaluation::kLinear});
  CHECK(h.var == doctest::Approx(0.09).epsilon(1e-14));
  CHECK(h.cvar == doctest::Approx(0.095).epsilon(1e-14));
  // Full revaluation: the loss of a -10 % log-return is 1 - exp(-0.1).
  const auto f = historical_risk(
      {r, 1}, w, {.confidence = 0.95, .horizon = 1, .revaluation = Revaluation::kFull});
  CHECK(f.var == doctest::Approx(-std::expm1(-0.10)).epsilon(1e-14));
  // Horizon 2: overlapping two-period sums, 19 scenarios.
  const auto h2 = historical_risk(
      {r, 1}, w, {.confidence = 0.9, .horizon = 2, .revaluation = Revaluation::kLinear});
  CHECK(h2.n_scenarios == 19);
}

TEST_CASE("BRW age weights decay geometrically and sum to one") {
  const auto q = age_weights(500, 0.995);
  CHECK(std::accumulate(q.begin(), q.end(), 0.0) == doctest::Approx(1.0).epsilon(1e-14));
  // Newest scenario: (1 - lambda) / (1 - lambda^n) (Boudoukh, Richardson & Whitelaw 1998).
  CHECK(q.back() == doctest::Approx(0.005 / (1.0 - std::pow(0.995, 500))).epsilon(1e-14));
  CHECK(q[498] / q[499] == doctest::Approx(0.995).epsilon(1e-14));
}

TEST_CASE("age weighting with lambda = 1 is plain historical simulation") {
  const auto r = two_asset_window(400);
  const std::vector<double> w{0.7, 0.3};
  const auto a = age_weighted_historical_risk(
      {r, 2}, w,
      {.confidence = 0.99, .horizon = 1, .revaluation = Revaluation::kFull, .age_lambda = 1.0});
  const auto p = historical_risk(
      {r, 2}, w, {.confidence = 0.99, .horizon = 1, .revaluation = Revaluation::kFull});
  CHECK(a.var == p.var);
  CHECK(a.cvar == doctest::Approx(p.cvar).epsilon(1e-13));
}

TEST_CASE("the EWMA variance path is the RiskMetrics recursion seeded with the sample variance") {
  const std::vector<double> r{0.01, -0.02, 0.03};
  const double lambda = 0.94;
  // Seed: sample variance (n - 1) of the window, then the RiskMetrics recursion.
  const double mean = (0.01 - 0.02 + 0.03) / 3.0;
  double v0 = 0.0;
  for (double x : r) v0 += (x - mean) * (x - mean);
  v0 /= 2.0;
  const double v1 = lambda * v0 + (1 - lambda) * 0.01 * 0.01;
  const double v2 = lambda * v1 + (1 - lambda) * 0.02 * 0.02;
  const double v3 = lambda * v2 + (1 - lambda) * 0.03 * 0.03;
  const auto s = ewma_variance_path(r, 1, lambda);
  REQUIRE(s.size() == 4);
  CHECK(s[0] == doctest::Approx(v0).epsilon(1e-14));
  CHECK(s[1] == doctest::Approx(v1).epsilon(1e-14));
  CHECK(s[2] == doctest::Approx(v2).epsilon(1e-14));
  CHECK(s[3] == doctest::Approx(v3).epsilon(1e-14));
}

TEST_CASE("historical components sum to VaR and CVaR for every variant") {
  const auto r = two_asset_window(500);
  const std::vector<double> w{0.7, 0.3};
  for (int h : {1, 10}) {
    for (const auto& res :
         {historical_risk({r, 2}, w,
                          {.confidence = 0.99, .horizon = h, .revaluation = Revaluation::kFull}),
          age_weighted_historical_risk({r, 2}, w,
                                       {.confidence = 0.99,
                                       .horizon = h,
                                       .revaluation = Revaluation::kFull,
                                       .age_lambda = 0.98}),
          filtered_historical_risk({r, 2}, w,
                                   {.confidence = 0.975,
                                   .horizon = h,
                                   .revaluation = Revaluation::kFull,
                                   .ewma_lambda = 0.94})}) {
      CHECK(sum(res.component_var) == doctest::Approx(res.var).epsilon(1e-13));
      CHECK(sum(res.component_cvar) == doctest::Approx(res.cvar).epsilon(1e-13));
      CHECK(res.cvar >= res.var);
    }
  }
}
