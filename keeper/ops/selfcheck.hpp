// Known-answer checks of the primitives the keeper signs and hashes with, run by
// `varkeeper selfcheck` (and at daemon start): a broken build must never sign a report.
#pragma once

#include <string>
#include <vector>

namespace varkeeper::keeper {

struct SelfCheckResult {
  std::string name;
  bool passed = false;
  std::string detail;  // expected vs got, when it failed
};

[[nodiscard]] std::vector<SelfCheckResult> run_self_checks();

}  // namespace varkeeper::keeper
