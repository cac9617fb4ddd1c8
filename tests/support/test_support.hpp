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

// A listening TCP socket on 127.0.0.1 at a free port (for the test servers); throws with `who`
// in the message if it cannot listen. Returns the descriptor and sets `port`.
int listen_on_loopback(std::uint16_t& port, int backlog, const std::string& who);

// Fails the calling test with an install hint if the npm tool is missing.
void require_tool(const std::string& path);

}  // namespace varkeeper::test
