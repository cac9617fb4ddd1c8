// Mutated CSV text into the price/return parser: it must never crash, throw or read out of
// bounds, and every refusal names the file (and a line when it is about one).
#include <doctest/doctest.h>

#include <random>
#include <string>

#include "keeper/io/price_csv.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::keeper;

TEST_CASE("mutated price CSV text is parsed or refused, never crashes") {
  const std::string base =
      "date,BTC,ETH\n2024-01-01,42000.5,2300.25\n2024-01-02,42100,2310\n2024-01-03,41000,2200.75\n";
  const std::string alphabet = "0123456789-.,\n\r eE+naifT:\"\xEF\xBB\xBF";
  std::mt19937_64 rng(varkeeper::test::test_seed(20261122));
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s = base;
    const int edits = 1 + static_cast<int>(rng() % 6);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = s.empty() ? 0 : rng() % s.size();
      switch (rng() % 4) {
        case 0:
          if (!s.empty()) s.erase(at, 1 + rng() % 3);
          break;
        case 1: s.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 2:
          if (!s.empty()) s[at] = static_cast<char>(rng() % 256);
          break;
        default: s = s.substr(0, at); break;
      }
    }
    for (CsvValues v : {CsvValues::kPrices, CsvValues::kSimpleReturns}) {
      const auto r = parse_price_csv(s, "fuzz.csv", v);
      if (r.has_value()) {
        CHECK(r->values.size() == r->dates.size() * r->assets.size());
      } else {
        CHECK(r.error().message.rfind("fuzz.csv", 0) == 0);
        CHECK(r.error().message.back() == '.');
      }
    }
  }
}
