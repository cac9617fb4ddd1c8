// Helpers shared by the test executables.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace varkeeper::test {

// Runs `argv` (no shell), returns its exit code and captures stdout (and stderr if asked).
struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_data = {});

// The seed for randomised tests: VARKEEPER_TEST_SEED if set, else `fallback`; printed once.
std::uint64_t test_seed(std::uint64_t fallback);

// Fails the calling test with an install hint if the npm tool is missing.
void require_tool(const std::string& path);

}  // namespace varkeeper::test
