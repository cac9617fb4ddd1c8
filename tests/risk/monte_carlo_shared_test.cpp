// Issue 17 (scale): monte_carlo_risk's shared scenario sets give bit for bit the figures of a
// fresh simulation, for a miss (the set stored) and for hits (other weights revalued on it).
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "risk/monte_carlo.hpp"

using namespace varkeeper::risk;

namespace {

bool same_bits(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

void check_identical(const McResult& a, const McResult& b) {
  CHECK(same_bits(a.var, b.var));
  CHECK(same_bits(a.cvar, b.cvar));
  CHECK(same_bits(a.stderr_var, b.stderr_var));
  CHECK(same_bits(a.stderr_cvar, b.stderr_cvar));
  CHECK(a.paths == b.paths);
}

McModel model(McDistribution d, std::size_t n, double scale) {
  McModel m;
  m.distribution = d;
  m.nu = 4.5;
  m.drift.assign(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    m.drift[i] = 1e-4 * static_cast<double>(i);
  }
  m.covariance.assign(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      const double si = scale * (1.0 + 0.25 * static_cast<double>(i));
      const double sj = scale * (1.0 + 0.25 * static_cast<double>(j));
      m.covariance[i * n + j] = (i == j ? 1.0 : 0.4) * si * sj;
    }
  }
  return m;
}

}  // namespace

TEST_CASE("shared Monte Carlo scenarios are bit-identical to a fresh simulation") {
  const std::size_t n = 5;
  const std::vector<std::vector<double>> weights{
      {0.2, 0.2, 0.2, 0.2, 0.2}, {0.7, 0.1, 0.1, 0.05, 0.05}, {0.5, -0.2, 0.3, 0.2, 0.2}};
  for (const auto dist : {McDistribution::kStudentT, McDistribution::kNormal}) {
    for (const auto reval : {Revaluation::kFull, Revaluation::kLinear}) {
      for (const bool antithetic : {true, false}) {
        for (const int horizon : {1, 3}) {
          CAPTURE(static_cast<int>(dist));
          CAPTURE(static_cast<int>(reval));
          CAPTURE(antithetic);
          CAPTURE(horizon);
          // 9,001 paths: two full blocks and a partial one with a partial batch.
          McSettings s;
          s.paths = 9001;
          s.seed = 17 + static_cast<std::uint64_t>(horizon);
          s.horizon = horizon;
          s.antithetic = antithetic;
          s.revaluation = reval;
          s.threads = 2;
          const McModel m = model(dist, n, 0.02 + (antithetic ? 0.001 : 0.0));
          const auto before = monte_carlo_scenario_cache_stats();
          for (const auto& w : weights) {
            McSettings fresh = s;
            fresh.share_scenarios = false;
            const McResult reference = monte_carlo_risk(m, w, 0.99, fresh);
            check_identical(monte_carlo_risk(m, w, 0.99, s), reference);
            // The thread count changes nothing either, from the shared set.
            McSettings one = s;
            one.threads = 1;
            check_identical(monte_carlo_risk(m, w, 0.975, one),
                            monte_carlo_risk(m, w, 0.975, fresh));
          }
          const auto after = monte_carlo_scenario_cache_stats();
          // The first call simulates directly, the second stores the set, the others reuse it.
          CHECK(after.misses == before.misses + 1);
          CHECK(after.hits == before.hits + 2 * weights.size() - 2);
        }
      }
    }
  }
}

TEST_CASE("a different seed, model or path count is not served another's scenarios") {
  const std::size_t n = 3;
  const std::vector<double> w{0.3, 0.3, 0.4};
  McSettings s;
  s.paths = 5000;
  s.seed = 99;
  const McModel m = model(McDistribution::kStudentT, n, 0.03);
  McSettings fresh = s;
  fresh.share_scenarios = false;
  const McResult base = monte_carlo_risk(m, w, 0.99, s);
  check_identical(base, monte_carlo_risk(m, w, 0.99, fresh));
  McSettings seed2 = s;
  seed2.seed = 100;
  McSettings seed2_fresh = seed2;
  seed2_fresh.share_scenarios = false;
  const McResult other_seed = monte_carlo_risk(m, w, 0.99, seed2);
  check_identical(other_seed, monte_carlo_risk(m, w, 0.99, seed2_fresh));
  CHECK_FALSE(same_bits(other_seed.var, base.var));
  McModel m2 = m;
  m2.nu = 6.0;
  McResult other_model = monte_carlo_risk(m2, w, 0.99, s);
  check_identical(other_model, monte_carlo_risk(m2, w, 0.99, fresh));
  CHECK_FALSE(same_bits(other_model.var, base.var));
  McModel m3 = m;
  m3.covariance[0] = std::nextafter(m3.covariance[0], 1.0);  // one ulp in one entry
  check_identical(monte_carlo_risk(m3, w, 0.99, s), monte_carlo_risk(m3, w, 0.99, fresh));
  McSettings more = s;
  more.paths = 5002;
  McSettings more_fresh = more;
  more_fresh.share_scenarios = false;
  check_identical(monte_carlo_risk(m, w, 0.99, more), monte_carlo_risk(m, w, 0.99, more_fresh));
}
