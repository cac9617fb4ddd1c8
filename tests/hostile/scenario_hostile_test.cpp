// Scenario files are user input: mutated library scenarios are either read or refused with a
// ScenarioError (one sentence naming the file), never another exception or a crash.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>
#include <string>

#include "keeper/sim/scenario.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::keeper;

TEST_CASE("mutated scenario files are read or refused with one sentence") {
  const std::uint64_t seed = varkeeper::test::test_seed(0x5ce7a210);
  std::mt19937_64 rng(seed);
  const std::filesystem::path dir =
      std::filesystem::path(VARKEEPER_SOURCE_DIR) / "config" / "scenarios";
  std::size_t files = 0, refused = 0, read = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".toml") continue;
    ++files;
    const std::string original = varkeeper::test::read_file(entry.path());
    const std::string tokens[] = {"=",     "[",   "]",   "\"",   "-",    "0",
                                  "1e308", "nan", "inf", "\n",   "{",    "}",
                                  ",",     ".",   "#",   "true", "\xff", "9999999999999999999"};
    for (int i = 0; i < 400; ++i) {
      std::string text = original;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !text.empty(); ++e) {
        const std::size_t at = rng() % text.size();
        switch (rng() % 3) {
          case 0: text.erase(at, 1 + rng() % 8); break;
          case 1: text.insert(at, tokens[rng() % std::size(tokens)]); break;
          default: text[at] = static_cast<char>(rng() % 256); break;
        }
      }
      try {
        (void)parse_scenario(text, "mutated.toml");
        ++read;
      } catch (const ScenarioError& err) {
        ++refused;
        const std::string what = err.what();
        CHECK(what.rfind("mutated.toml", 0) == 0);
        CHECK(what.find(": ") != std::string::npos);  // "FILE[:LINE]: what"
        CHECK(what.find('\n') == std::string::npos);
      }
    }
  }
  CHECK(files >= 12);
  CHECK(refused > 0);
  CHECK(read > 0);
}
