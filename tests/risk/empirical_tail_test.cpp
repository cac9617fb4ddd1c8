#include "risk/empirical_tail.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace varkeeper::risk;

TEST_CASE("the VaR rank k = ceil(n(1 - alpha)) is exact despite binary rounding") {
  // 1000 * (1 - 0.99) = 10.000000000000009 in doubles; the convention wants k = 10.
  CHECK(var_rank(1000, 0.99) == 10);
  CHECK(tail_mass(1000, 0.99) == 10.0);
  CHECK(var_rank(250, 0.99) == 3);  // 2.5 -> 3
  CHECK(var_rank(100, 0.95) == 5);
  CHECK(var_rank(500, 0.99) == 5);
  CHECK(var_rank(1000, 0.999) == 1);
  CHECK(var_rank(1000, 0.975) == 25);
  CHECK(var_rank(1'000'000, 0.99) == 10'000);
  CHECK(var_rank(10, 0.75) == 3);
  CHECK(var_rank(50, 0.99) == 1);  // fewer scenarios than 1 / (1 - alpha)
}

TEST_CASE("VaR is the k-th worst loss and CVaR the Acerbi-Tasche average") {
  const std::vector<double> losses{3, 9, 1, 10, 5, 7, 2, 8, 6, 4};
  // alpha = 0.75: n(1 - alpha) = 2.5, k = 3, m = 2: VaR = 8, CVaR = (10 + 9 + 0.5 * 8) / 2.5.
  auto t = empirical_tail(losses, 0.75);
  CHECK(t.var == 8.0);
  CHECK(t.cvar == doctest::Approx(9.2).epsilon(1e-15));
  CHECK(t.var_index == 7);
  // alpha = 0.8: n(1 - alpha) = 2 exactly: VaR = 9, CVaR = mean of the two worst.
  t = empirical_tail(losses, 0.8);
  CHECK(t.var == 9.0);
  CHECK(t.cvar == doctest::Approx(9.5).epsilon(1e-15));
  double w = 0.0;
  for (const auto& s : t.cvar_scenarios) w += s.weight;
  CHECK(w == doctest::Approx(1.0).epsilon(1e-15));
}

TEST_CASE("ties are broken by scenario index and CVaR never falls below VaR") {
  const std::vector<double> flat(100, 0.25);
  const auto t = empirical_tail(flat, 0.99);
  CHECK(t.var == 0.25);
  CHECK(t.cvar == 0.25);
  CHECK(t.var_index == 0);
}

TEST_CASE("the weighted estimator with equal weights equals the unweighted one") {
  std::vector<double> losses;
  for (int i = 0; i < 1000; ++i) losses.push_back(((i * 7919) % 1000) / 100.0 - 3.0);
  const std::vector<double> q(losses.size(), 1.0 / 1000.0);
  for (double a : {0.9, 0.95, 0.975, 0.99, 0.995, 0.999}) {
    CAPTURE(a);
    const auto u = empirical_tail(losses, a);
    const auto w = weighted_empirical_tail(losses, q, a);
    CHECK(w.var == u.var);
    CHECK(w.cvar == doctest::Approx(u.cvar).epsilon(1e-13));
  }
}

TEST_CASE("the weighted estimator walks the cumulative probability from the worst loss") {
  // p = 0.01: the worst (prob 0.005) is fully in, the next (prob 0.02) reaches 0.01: VaR = 3,
  // CVaR = (0.005 * 5 + 0.005 * 3) / 0.01 = 4.
  const std::vector<double> losses{1, 5, 3};
  const std::vector<double> q{0.975, 0.005, 0.02};
  const auto t = weighted_empirical_tail(losses, q, 0.99);
  CHECK(t.var == 3.0);
  CHECK(t.cvar == doctest::Approx(4.0).epsilon(1e-14));
}
