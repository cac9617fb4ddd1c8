// Mutated configuration text into the config loader: it must never crash or throw anything but
// ConfigError, and every refusal is one line that starts with the file's name.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "keeper/config/config.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace varkeeper;
using varkeeper::test::read_file;

namespace {

// Text that TOML gives meaning to, plus values that sit on the validators' edges.
const std::vector<std::string> kFragments = {"=",
                                             "[",
                                             "]",
                                             "[[",
                                             "]]",
                                             "{",
                                             "}",
                                             ",",
                                             "\"",
                                             "'",
                                             "\n",
                                             "#",
                                             ".",
                                             "-1",
                                             "0",
                                             "1e999",
                                             "nan",
                                             "inf",
                                             "-inf",
                                             "true",
                                             "1979-05-27",
                                             "0x1F",
                                             "1_000",
                                             "\"\"",
                                             "[]",
                                             "{}",
                                             "\\u0000",
                                             "\"a\nb\"",
                                             "9223372036854775807",
                                             "-9223372036854775808",
                                             "\xEF\xBB\xBF",
                                             "\xFF",
                                             "anvil9",
                                             "\"0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419\"",
                                             "\"ftp://x\"",
                                             "\"https://a:b@c\"",
                                             "1.5",
                                             "0.999999999999",
                                             "1e-320"};

}  // namespace

TEST_CASE("mutated config text is loaded or refused with one line, never crashes") {
  const fs::path config_dir = fs::path(VARKEEPER_SOURCE_DIR) / "config";
  const std::vector<fs::path> files = {config_dir / "local.toml",
                                       config_dir / "oprisk.example.toml",
                                       config_dir / "mainnet.example.toml"};
  std::mt19937_64 rng(test::test_seed(20261122));
  int accepted = 0;
  int refused = 0;
  for (const auto& file : files) {
    const std::string base = read_file(file);
    REQUIRE_FALSE(base.empty());
    for (int iter = 0; iter < 1500; ++iter) {
      std::string s = base;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        const std::size_t at = s.empty() ? 0 : rng() % s.size();
        switch (rng() % 5) {
          case 0:
            if (!s.empty()) s.erase(at, 1 + rng() % 8);
            break;
          case 1: s.insert(at, kFragments[rng() % kFragments.size()]); break;
          case 2:
            if (!s.empty()) s[at] = static_cast<char>(rng() % 256);
            break;
          case 3: {
            // Replace the value after an '=' on the line holding `at`.
            const auto eq = s.find('=', at);
            if (eq == std::string::npos) break;
            const auto nl = s.find('\n', eq);
            s.replace(eq + 1, (nl == std::string::npos ? s.size() : nl) - eq - 1,
                      " " + kFragments[rng() % kFragments.size()]);
            break;
          }
          default: s = s.substr(0, at); break;
        }
      }
      try {
        (void)keeper::parse_config(s, file);
        ++accepted;
      } catch (const keeper::ConfigError& e) {
        ++refused;
        const std::string message = e.what();
        CAPTURE(s);
        CHECK(message.rfind(file.string() + ":", 0) == 0);
        CHECK(message.find('\n') == std::string::npos);
      }
    }
  }
  MESSAGE("accepted " << accepted << ", refused " << refused);
  CHECK(refused > 0);
}
