// Hostile `--weights` text into keeper/io/weights: every must-fail input says which error it is
// and in which field; random text never crashes, throws or yields a weight that is not finite.
#include "keeper/io/weights.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "tests/support/test_support.hpp"

using namespace varkeeper::keeper;

namespace {
const std::vector<std::string> kTwo{"btc", "eth"};
}  // namespace

TEST_CASE("weights: plain decimal numbers, one per asset, spaces around them ignored") {
  auto w = parse_weights("0.6,0.4", kTwo);
  REQUIRE(w.has_value());
  CHECK(*w == std::vector<double>{0.6, 0.4});
  w = parse_weights(" 0.25 ,\t-1.5e-1 ", kTwo);  // a short position is a negative weight
  REQUIRE(w.has_value());
  CHECK(*w == std::vector<double>{0.25, -0.15});
  w = parse_weights("0.5,0.5 ", kTwo);  // trailing blanks: the old `backtest` parser refused them
  REQUIRE(w.has_value());
  CHECK(*w == std::vector<double>{0.5, 0.5});
  w = parse_weights("", kTwo);  // no text: equal weights
  REQUIRE(w.has_value());
  CHECK(*w == std::vector<double>{0.5, 0.5});
  w = parse_weights("  ", std::vector<std::string>{"a", "b", "c"});
  REQUIRE(w.has_value());
  CHECK(*w == std::vector<double>(3, 1.0 / 3.0));
}

TEST_CASE("weights: each hostile input is refused with its error, field and message") {
  struct Case {
    std::string text;
    WeightsError error;
    std::size_t field;
    std::string message;
  };
  const std::vector<Case> cases{
      // Accepted by the old `backtest` or `var` parsers (std::stod and std::getline):
      {"0.5,0.5,", WeightsError::kEmptyField, 3,
       "--weights: value 3 is empty (a doubled or trailing comma?)."},
      {"+0.5,0.5", WeightsError::kNotANumber, 1, "--weights: '+0.5' is not a number."},
      {"0x1p-1,0.5", WeightsError::kNotANumber, 1, "--weights: '0x1p-1' is not a number."},
      // Refused before too, now with the field:
      {",0.5", WeightsError::kEmptyField, 1,
       "--weights: value 1 is empty (a doubled or trailing comma?)."},
      {"0.5,,0.5", WeightsError::kEmptyField, 2,
       "--weights: value 2 is empty (a doubled or trailing comma?)."},
      {"0.5,abc", WeightsError::kNotANumber, 2, "--weights: 'abc' is not a number."},
      {"0.5x,0.5", WeightsError::kNotANumber, 1, "--weights: '0.5x' is not a number."},
      {"0.5,0 .5", WeightsError::kNotANumber, 2, "--weights: '0 .5' is not a number."},
      {"0.5;0.5", WeightsError::kNotANumber, 1, "--weights: '0.5;0.5' is not a number."},
      {"inf,0.5", WeightsError::kNotFinite, 1, "--weights: 'inf' is not a finite number."},
      {"0.5,nan", WeightsError::kNotFinite, 2, "--weights: 'nan' is not a finite number."},
      {"1e999,0", WeightsError::kNotFinite, 1, "--weights: '1e999' is not a finite number."},
      {std::string("0.5\0,0.5", 8), WeightsError::kNotANumber, 1,
       std::string("--weights: '0.5\0' is not a number.", 34)},
      {"1", WeightsError::kWrongCount, 0,
       "--weights has 1 value(s) but the input has 2 asset(s) (btc, eth)."},
      {"0.2,0.3,0.5", WeightsError::kWrongCount, 0,
       "--weights has 3 value(s) but the input has 2 asset(s) (btc, eth)."},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto w = parse_weights(c.text, kTwo);
    REQUIRE_FALSE(w.has_value());
    CHECK(w.error().error == c.error);
    CHECK(w.error().field == c.field);
    CHECK(w.error().message == c.message);
  }
  const auto none = parse_weights("1", std::vector<std::string>{});
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().error == WeightsError::kNoAssets);
  CHECK(parse_weights("0.5,0.5", kTwo, "weights").has_value());
  CHECK(parse_weights("x", kTwo, "weights").error().message == "weights: 'x' is not a number.");
}

TEST_CASE("weights: random and mutated text gives finite weights of the right count or an error") {
  std::mt19937_64 rng(varkeeper::test::test_seed(1313));
  const std::string alphabet = "0123456789-+.,eE \tinfaxp\n\r;";
  std::size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = "0.25,0.75";
    const int edits = 1 + static_cast<int>(rng() % 5);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = rng() % (s.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      if (rng() % 2 == 0 && pos < s.size()) {
        s[pos] = c;
      } else {
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos), c);
      }
    }
    if (i % 4 == 0) {  // pure random bytes
      s.clear();
      for (std::size_t k = rng() % 32; k > 0; --k) s += static_cast<char>(rng() % 256);
    }
    CAPTURE(s);
    const auto w = parse_weights(s, kTwo);
    if (w.has_value()) {
      ++accepted;
      REQUIRE(w->size() == 2);
      for (double x : *w) CHECK(std::isfinite(x));
    } else {
      CHECK_FALSE(w.error().message.empty());
      CHECK(w.error().message.rfind("--weights", 0) == 0);
    }
  }
  CHECK(accepted > 0);
}
