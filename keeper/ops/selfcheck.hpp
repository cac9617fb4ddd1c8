// Known-answer checks of the primitives the keeper signs and hashes with, run by
// `varkeeper selfcheck` and at the start of both `run` modes (require_self_checks, before any
// node, key or store is touched): a broken build must never sign a report.
#pragma once

#include <string>
#include <vector>

namespace varkeeper::keeper {

struct SelfCheckResult {
  std::string name;
  bool passed = false;
  std::string detail;  // expected vs got, when it failed
};

// The checks, in order. The environment variable VARKEEPER_SELFCHECK_CORRUPT, set to a check's
// name, flips one digit of that check's expected answer: the check then fails the way a broken
// build would (for the tests of the start-up gate; the checks' own code is not changed).
[[nodiscard]] std::vector<SelfCheckResult> run_self_checks();

// The start-up gate: throws StartupError (keeper/core/startup_error.hpp) with one sentence naming
// the first failed check and what it got, e.g. `self-check failed: keccak256("abc"): expected
// 0x..., got 0x...; refusing to start`. Returns when every check passed.
void require_self_checks(const std::vector<SelfCheckResult>& results);

}  // namespace varkeeper::keeper
