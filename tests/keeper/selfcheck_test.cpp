// The known-answer self-checks and the start-up gate both `run` modes pass through first
// (keeper/ops/selfcheck.hpp): all pass on a good build; one corrupted expected vector
// (VARKEEPER_SELFCHECK_CORRUPT) fails that check alone, and the gate then refuses to start with
// one sentence naming it.
#include "keeper/ops/selfcheck.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <string>

#include "keeper/core/startup_error.hpp"

using namespace varkeeper::keeper;

namespace {
// Sets VARKEEPER_SELFCHECK_CORRUPT for one scope.
struct CorruptCheck {
  explicit CorruptCheck(const char* name) { ::setenv("VARKEEPER_SELFCHECK_CORRUPT", name, 1); }
  ~CorruptCheck() { ::unsetenv("VARKEEPER_SELFCHECK_CORRUPT"); }
  CorruptCheck(const CorruptCheck&) = delete;
  CorruptCheck& operator=(const CorruptCheck&) = delete;
};

std::string refusal(const std::vector<SelfCheckResult>& results) {
  try {
    require_self_checks(results);
  } catch (const StartupError& e) {
    return e.what();
  }
  return {};
}
}  // namespace

TEST_CASE("every self-check passes on this build and the start-up gate lets it start") {
  const auto results = run_self_checks();
  REQUIRE(results.size() == 8);
  for (const auto& r : results) {
    INFO(r.name << ": " << r.detail);
    CHECK(r.passed);
    CHECK(r.detail.empty());
  }
  CHECK_NOTHROW(require_self_checks(results));
}

TEST_CASE("a corrupted expected vector fails that check alone and the gate refuses to start") {
  for (const char* name : {"keccak256(\"abc\")", "address of private key 1",
                           "EIP-712 Mail signature by keccak256(\"cow\")",
                           "EIP-155 example transaction", "ABI calldata baz(69, true)"}) {
    CAPTURE(name);
    const CorruptCheck corrupt(name);
    const auto results = run_self_checks();
    std::size_t failed = 0;
    for (const auto& r : results) {
      if (r.passed) continue;
      ++failed;
      CHECK(r.name == name);
      CHECK(r.detail.rfind("expected 0x", 0) == 0);
      CHECK(r.detail.find(", got 0x") != std::string::npos);
    }
    CHECK(failed == 1);
    const std::string why = refusal(results);
    CHECK(why.rfind(std::string("self-check failed: ") + name + ": expected 0x", 0) == 0);
    CHECK(why.find("refusing to start") != std::string::npos);
    CHECK(why.find('\n') == std::string::npos);  // one sentence
  }
  CHECK(refusal(run_self_checks()).empty());  // the variable gone, all pass again
}

TEST_CASE("the start-up gate names the first failed check") {
  const std::vector<SelfCheckResult> results{
      {"keccak256(\"\")", true, {}},
      {"EIP-712 Mail digest", false, "expected 0xbe60, got 0x0000"},
      {"ABI selector transfer(address,uint256)", false, "expected 0xa9059cbb, got 0x"}};
  CHECK(refusal(results) ==
        "self-check failed: EIP-712 Mail digest: expected 0xbe60, got 0x0000; refusing to start "
        "(a build that hashes or signs wrongly must not sign reports; run varkeeper selfcheck)");
  CHECK(refusal({}).empty());
}
