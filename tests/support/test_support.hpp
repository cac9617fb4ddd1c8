// Helpers shared by the test executables.
#pragma once

#include <cstdint>
#include <filesystem>
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

// A fresh directory under the system temp dir ("varkeeper-<tag>-XXXXXX", made by mkdtemp so two
// runs never share one), removed with everything in it when the object dies.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const {
    return path_ / name;
  }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// The whole file at `path`, byte for byte. Throws naming the path and the reason if it cannot be
// read, which fails the calling test with that message.
std::string read_file(const std::filesystem::path& path);

// The contract artifacts (forge JSON, one per contract: RiskOracle.json, ...) that the
// varkeeper_contracts target builds, where the varkeeper binary of this build finds them
// (<build>/share/varkeeper/contracts, the layout `cmake --install` reproduces).
std::filesystem::path artifacts_dir();

// Fails the calling test with an install hint if the npm tool is missing.
void require_tool(const std::string& path);

}  // namespace varkeeper::test
