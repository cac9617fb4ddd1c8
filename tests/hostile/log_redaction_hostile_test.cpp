// redact() and the record formatter on random text: never out of bounds (this target also runs
// under ASan/UBSan), every JSON record still parses, and a key planted after a secret-naming
// field name never survives, whatever surrounds it.
#include <doctest/doctest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "keeper/ops/logging.hpp"
#include "tests/support/test_support.hpp"

using varkeeper::keeper::format_log_record;
using varkeeper::keeper::LogField;
using varkeeper::keeper::LogLevel;
using varkeeper::keeper::LogStyle;
using varkeeper::keeper::redact;

namespace {

// Fragments that steer random text into the redaction rules' corners.
const std::vector<std::string> kFragments = {"password",
                                             "private_key",
                                             "secret",
                                             "mnemonic",
                                             "key",
                                             "Key",
                                             "tx",
                                             "hash",
                                             "=",
                                             ":",
                                             " ",
                                             "\"",
                                             "'",
                                             "0x",
                                             "://",
                                             "@",
                                             "/",
                                             ",",
                                             "}",
                                             "{",
                                             "\n",
                                             "_file",
                                             "ab",
                                             "09",
                                             "fF",
                                             "\xff",
                                             "\xc3",
                                             "\xa9",
                                             std::string(1, '\0')};

std::string random_text(std::mt19937_64& rng, std::size_t pieces) {
  std::string s;
  for (std::size_t i = 0; i < pieces; ++i) {
    if (rng() % 4 == 0) {
      s += static_cast<char>(rng());
    } else {
      s += kFragments[rng() % kFragments.size()];
    }
  }
  return s;
}

std::string random_hex64(std::mt19937_64& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string h;
  for (int i = 0; i < 64; ++i) h += kHex[rng() % 16];
  return h;
}

}  // namespace

TEST_CASE("redact never reads out of bounds and keeps text it has no reason to mask") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0x4ed4c7));
  for (int i = 0; i < 20'000; ++i) {
    const std::string in = random_text(rng, rng() % 40);
    const std::string out = redact(in);
    // Without a secret-naming word, "key" or "://", nothing can be masked.
    if (in.find("password") == std::string::npos && in.find("private_key") == std::string::npos &&
        in.find("secret") == std::string::npos && in.find("mnemonic") == std::string::npos &&
        in.find("key") == std::string::npos && in.find("Key") == std::string::npos &&
        in.find("://") == std::string::npos) {
      CHECK(out == in);
    }
  }
}

TEST_CASE("a key planted after private_key= never survives redaction, whatever surrounds it") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0x4ed4c8));
  for (int i = 0; i < 20'000; ++i) {
    const std::string key = random_hex64(rng);
    const std::string planted =
        (rng() % 2 ? "private_key=0x" : "\"private_key\":\"0x") + key + (rng() % 2 ? " " : "\"");
    const std::string in = random_text(rng, rng() % 20) + planted + random_text(rng, rng() % 20);
    CAPTURE(in);
    REQUIRE(redact(in).find(key) == std::string::npos);
  }
}

TEST_CASE("JSON records of random messages and field values always parse") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0x4ed4c9));
  const auto t = std::chrono::system_clock::time_point{} + std::chrono::hours(500'000);
  for (int i = 0; i < 5'000; ++i) {
    const std::vector<LogField> fields = {
        {random_text(rng, rng() % 5), random_text(rng, rng() % 30)},
        {"n", static_cast<std::int64_t>(rng())}};
    const std::string line = format_log_record(LogStyle::kJsonLines, t, LogLevel::kInfo,
                                               random_text(rng, rng() % 30), fields);
    CAPTURE(line);
    CHECK(line.back() == '\n');
    CHECK(line.find('\n') == line.size() - 1);  // one record, one line
    nlohmann::json j;
    CHECK_NOTHROW(j = nlohmann::json::parse(line));
    CHECK(j.is_object());
  }
}
