// `varkeeper config check` as a user runs it: the bundled examples pass, a bad file is one line on
// stderr with exit code 2, and --keys decrypts a keystore written by cast.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using varkeeper::test::run_process;
using varkeeper::test::TempDir;

namespace {

const fs::path kConfigDir = fs::path(VARKEEPER_SOURCE_DIR) / "config";

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

varkeeper::test::ProcessResult config_check(const std::vector<std::string>& args) {
  std::vector<std::string> argv{VARKEEPER_BINARY, "config", "check"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv);
}

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  const auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

// The address cast prints for the keystore it creates in `dir` ("Address:    0x...").
std::string cast_wallet_new(const fs::path& dir, const std::string& password) {
  varkeeper::test::require_tool(VARKEEPER_CAST);
  const auto r =
      run_process({VARKEEPER_CAST, "wallet", "new", dir.string(), "--unsafe-password", password});
  REQUIRE(r.exit_code == 0);
  const auto at = r.out.find("Address:");
  REQUIRE(at != std::string::npos);
  const auto start = r.out.find("0x", at);
  REQUIRE(start != std::string::npos);
  return r.out.substr(start, 42);
}

fs::path only_file_in(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
  REQUIRE(files.size() == 1);
  return files[0];
}

const std::string kRest =
    "[[assets]]\nsymbol = \"ETH\"\n\n[[portfolios]]\nid = 1\npositions = { ETH = 2 }\n";

}  // namespace

TEST_CASE("varkeeper config check passes the bundled local and oprisk examples") {
  for (const char* name : {"local.toml", "oprisk.example.toml"}) {
    CAPTURE(name);
    const auto r = config_check({(kConfigDir / name).string()});
    CHECK(r.exit_code == 0);
    CHECK(last_line(r.out) == "config ok");
    CHECK(r.out.find("chain: 31337") != std::string::npos);
    CHECK(r.err.empty());
  }
}

TEST_CASE("varkeeper config check: a bad file is one line on stderr and exit code 2") {
  TempDir dir("config-cli");
  const fs::path file = dir / "config.toml";
  write_file(file, "[chain]\nanvil = true\n\n[[portfoilos]]\nid = 1\n");
  auto r = config_check({file.string()});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "varkeeper: " + file.string() +
            ":4: unknown key 'portfoilos' at the top level (did you mean 'portfolios'?)\n");

  r = config_check({(dir / "missing.toml").string()});
  CHECK(r.exit_code == 2);
  CHECK(r.err ==
        "varkeeper: " + (dir / "missing.toml").string() + ": config file does not exist\n");

  write_file(file, "[chain]\nanvil = true\nchain_id = [1\n");
  r = config_check({file.string()});
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("varkeeper: " + file.string() + ":3:", 0) == 0);
  CHECK(r.err.find(": parse error: ") != std::string::npos);
  CHECK(r.err.find('\n') == r.err.size() - 1);
}

TEST_CASE(
    "varkeeper config check --keys decrypts a cast keystore and names it on a wrong password") {
  TempDir dir("config-cli");
  fs::create_directories(dir / "ks");
  const std::string address = cast_wallet_new(dir / "ks", "correct horse");
  const fs::path keystore = only_file_in(dir / "ks");
  write_file(dir / "pw", "correct horse\n");
  const fs::path file = dir / "config.toml";
  write_file(file, "[chain]\nanvil = true\nchain_id = 31337\n\n[keys]\nsigners = [{ keystore = \"" +
                       keystore.string() +
                       "\", password_file = \"pw\" }]\nsender = { dev_key = \"anvil0\" }\n\n" +
                       kRest);
  auto r = config_check({file.string(), "--keys"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  // cast prints the EIP-55 form; so does varkeeper.
  CHECK(r.out.find("signer 0: " + address + "\n") != std::string::npos);
  CHECK(r.out.find("sender: 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\n") != std::string::npos);
  CHECK(last_line(r.out) == "config ok");

  // Without --keys the password is not needed; with it, a wrong one is named.
  write_file(dir / "pw", "wrong horse\n");
  r = config_check({file.string()});
  CHECK(r.exit_code == 0);
  r = config_check({file.string(), "--keys"});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "varkeeper: " + file.string() +
                     ": keys.signers[0]: wrong password for keystore file " + keystore.string() +
                     "\n");
}
