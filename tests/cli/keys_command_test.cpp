// The `varkeeper keys` commands as a user runs them: password sources, exit codes and the
// one-sentence errors naming the file.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using varkeeper::test::run_process;
using varkeeper::test::TempDir;

namespace {

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// Restores the environment variable when the test ends.
class ScopedUnsetEnv {
 public:
  explicit ScopedUnsetEnv(const char* name) : name_(name) {
    if (const char* v = std::getenv(name)) saved_ = v;
    ::unsetenv(name);
  }
  ScopedUnsetEnv(const ScopedUnsetEnv&) = delete;
  ScopedUnsetEnv& operator=(const ScopedUnsetEnv&) = delete;
  ~ScopedUnsetEnv() {
    if (saved_) {
      ::setenv(name_, saved_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> saved_;
};

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

TEST_CASE("keys new and keys address agree, with the password from a file or the environment") {
  varkeeper::test::require_tool(VARKEEPER_BINARY);
  const ScopedUnsetEnv env("VARKEEPER_KEYSTORE_PASSWORD");
  const TempDir dir("keys-cli");
  write_file(dir.file("pw"), "s3cret phrase\n");
  auto made = run_process({VARKEEPER_BINARY, "keys", "new", "--keystore-dir", dir.file("ks"),
                           "--password-file", dir.file("pw"), "--light-kdf"});
  REQUIRE_MESSAGE(made.exit_code == 0, made.err);
  const std::string address = trim(made.out);
  REQUIRE(address.size() == 42);
  const std::string file = trim(made.err.substr(std::string("keystore written to ").size()));
  CHECK(made.err.find("s3cret") == std::string::npos);

  auto by_file = run_process(
      {VARKEEPER_BINARY, "keys", "address", "--keystore", file, "--password-file", dir.file("pw")});
  CHECK_MESSAGE(by_file.exit_code == 0, by_file.err);
  CHECK(trim(by_file.out) == address);

  ::setenv("VARKEEPER_KEYSTORE_PASSWORD", "s3cret phrase", 1);
  auto by_env = run_process({VARKEEPER_BINARY, "keys", "address", "--keystore", file});
  CHECK_MESSAGE(by_env.exit_code == 0, by_env.err);
  CHECK(trim(by_env.out) == address);

  ::setenv("VARKEEPER_KEYSTORE_PASSWORD", "not it", 1);
  auto wrong = run_process({VARKEEPER_BINARY, "keys", "address", "--keystore", file});
  CHECK(wrong.exit_code == 3);
  CHECK(wrong.out.empty());
  CHECK(wrong.err == "varkeeper: wrong password for keystore file " + file + "\n");
}

TEST_CASE("keys commands fail with one sentence naming the file and a non-zero exit code") {
  varkeeper::test::require_tool(VARKEEPER_BINARY);
  const ScopedUnsetEnv env("VARKEEPER_KEYSTORE_PASSWORD");
  const TempDir dir("keys-cli");
  write_file(dir.file("pw"), "pw\n");
  write_file(dir.file("not-json"), "hello");
  write_file(dir.file("v1.json"), R"({"version":1,"crypto":{}})");
  write_file(dir.file("a-file"), "x");
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const Case cases[] = {
      {{"address", "--keystore", dir.file("missing"), "--password-file", dir.file("pw")},
       "keystore file " + dir.file("missing") + " does not exist"},
      {{"address", "--keystore", dir.file("not-json"), "--password-file", dir.file("pw")},
       "keystore file " + dir.file("not-json") +
           " is unusable: the keystore is not a JSON object: not valid JSON"},
      {{"address", "--keystore", dir.file("v1.json"), "--password-file", dir.file("pw")},
       "keystore file " + dir.file("v1.json") +
           " is unusable: the keystore is not version 3 (field version)"},
      {{"address", "--keystore", dir.file("not-json"), "--password-file", dir.file("nopw")},
       "keystore file " + dir.file("not-json") +
           " is unusable: the keystore is not a JSON object: not valid JSON"},
      {{"new", "--keystore-dir", dir.file("ks"), "--password-file", dir.file("nopw")},
       "password file " + dir.file("nopw") + " does not exist"},
      {{"new", "--keystore-dir", dir.file("a-file"), "--password-file", dir.file("pw"),
        "--light-kdf"},
       "keystore directory " + dir.file("a-file") + " is not a directory"},
      // stdin is a pipe here, so there is no prompt to fall back to.
      {{"new", "--keystore-dir", dir.file("ks")},
       "no keystore password: pass --password-file FILE or set VARKEEPER_KEYSTORE_PASSWORD"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {VARKEEPER_BINARY, "keys"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    CAPTURE(c.error);
    auto r = run_process(argv);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err == "varkeeper: " + c.error + "\n");
  }
  CHECK_FALSE(fs::exists(dir.file("ks")));  // nothing was created by the failed `keys new`
}
