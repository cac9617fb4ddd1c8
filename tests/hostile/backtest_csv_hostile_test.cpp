// Random and mutated text into the backtest CSV parsers: they must return a value or an error,
// never crash, throw or read out of bounds (scripts/test.sh also runs this under ASan+UBSan).
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>

#include "keeper/io/backtest_csv.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::keeper;

TEST_CASE("the backtest CSV parsers survive mutated and random input") {
  std::mt19937_64 rng(varkeeper::test::test_seed(4242));
  const std::string base =
      "date,var,cvar\n2024-01-01,0.05,0.07\n2024-01-02,0.04,0.06\n2024-01-03,1e-2,2e-2\n";
  const std::string alphabet = "0123456789-.,eE+\n\r #naifNAIF\t/x";
  std::size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = base;
    const int edits = 1 + static_cast<int>(rng() % 6);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = rng() % (s.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          if (pos < s.size()) s[pos] = c;
          break;
        case 1: s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos), c); break;
        default:
          if (pos < s.size()) s.erase(pos, 1 + rng() % 4);
      }
    }
    if (i % 4 == 0) {  // pure random text
      s.clear();
      for (std::size_t k = rng() % 64; k > 0; --k) s += static_cast<char>(rng() % 256);
    }
    const auto f = parse_forecasts_csv(s);
    const auto r = parse_realized_csv(s);
    if (f.has_value()) {
      ++accepted;
      CHECK(f->dates.size() == f->var.size());
      CHECK((f->cvar.empty() || f->cvar.size() == f->var.size()));
      for (std::size_t k = 0; k < f->var.size(); ++k) {
        CHECK(std::isfinite(f->var[k]));  // a VaR <= 0 is accepted (a model expecting no loss)
        if (!f->cvar.empty()) CHECK(f->cvar[k] >= f->var[k]);
      }
    } else {
      CHECK(!describe(f.error(), "x.csv").empty());
    }
    if (r.has_value()) CHECK(r->dates.size() == r->returns.size());
  }
  CHECK(accepted > 0);  // the mutations leave some inputs valid
}
