// Keystore interoperability with Foundry's cast (a real peer, eth-keystore-rs inside):
// files written by `cast wallet new` decrypt to cast's address with `varkeeper keys address`, and
// files written by `varkeeper keys new` decrypt to our address with `cast wallet address`.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "chain/keystore.hpp"
#include "chain/secp256k1.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using varkeeper::test::run_process;
using varkeeper::test::TempDir;
using Clock = std::chrono::steady_clock;
using varkeeper::test::read_file;

namespace {

// A scratch directory removed when the test ends, pass or fail.

// Seeded passwords: printable ASCII with spaces and symbols, sometimes UTF-8, never a newline
// (a password file holds one line) and never empty.
std::string random_password(std::mt19937_64& rng) {
  static const std::vector<std::string> pieces = {
      "a", "Z", "7", " ", "!", "$", "\"", "'", "\\", "-", "=", "~", "\xc3\xa4", "\xe2\x82\xac",
      "x"};
  std::string out;
  const std::size_t len = 1 + rng() % 24;
  for (std::size_t i = 0; i < len; ++i) out += pieces[rng() % pieces.size()];
  return out;
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU seconds (user + system) used by finished child processes so far: a figure that does not
// depend on how loaded the machine is, unlike wall time.
double children_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

}  // namespace

TEST_CASE("keystores written by cast wallet new decrypt to cast's address with varkeeper") {
  varkeeper::test::require_tool(VARKEEPER_CAST);
  varkeeper::test::require_tool(VARKEEPER_BINARY);
  std::mt19937_64 rng(varkeeper::test::test_seed(0xca57ca57ull));
  const TempDir dir("cast-keystores");
  constexpr int kBatches = 10;
  constexpr int kPerBatch = 20;  // 200 keystores in all
  int checked = 0;
  double varkeeper_seconds = 0;
  double varkeeper_cpu = 0;
  double in_process_seconds = 0;
  int in_process = 0;
  bool printed_params = false;
  for (int b = 0; b < kBatches; ++b) {
    const std::string password = random_password(rng);
    const fs::path batch_dir = dir.path() / ("batch" + std::to_string(b));
    fs::create_directories(batch_dir);
    const fs::path password_file = dir.path() / ("password" + std::to_string(b));
    write_file(password_file, password + "\n");
    // cast 1.x: --unsafe-password takes the password on the command line; -n writes several.
    auto made = run_process({VARKEEPER_CAST, "wallet", "new", batch_dir.string(),
                             "--unsafe-password=" + password, "-n", std::to_string(kPerBatch)});
    REQUIRE_MESSAGE(made.exit_code == 0, made.err);
    // "Created new encrypted keystore file: PATH" then "Address:    0x...".
    std::istringstream lines(made.out);
    std::string line;
    std::string file;
    int in_batch = 0;
    while (std::getline(lines, line)) {
      const std::string created = "Created new encrypted keystore file: ";
      const std::string addr = "Address:";
      if (line.rfind(created, 0) == 0) {
        file = trim(line.substr(created.size()));
      } else if (line.rfind(addr, 0) == 0) {
        std::string expected = line.substr(addr.size());
        expected.erase(0, expected.find_first_not_of(' '));
        expected = trim(expected);
        REQUIRE_FALSE(file.empty());
        CAPTURE(file);
        if (!printed_params) {
          // Record cast's KDF parameters once (eth-keystore-rs: scrypt, log2 n = 13, r 8, p 1).
          const auto ks = varkeeper::chain::parse_keystore(read_file(file));
          REQUIRE(ks.has_value());
          const auto& s = std::get<varkeeper::chain::ScryptParams>(ks->kdf);
          std::cerr << "cast keystore KDF: scrypt n=" << s.n << " r=" << s.r << " p=" << s.p
                    << " dklen=" << ks->dklen << " salt=" << ks->salt.size() << " bytes\n";
          printed_params = true;
        }
        auto start = Clock::now();
        const double cpu = children_cpu_seconds();
        auto ours = run_process({VARKEEPER_BINARY, "keys", "address", "--keystore", file,
                                 "--password-file", password_file.string()});
        varkeeper_seconds += seconds_since(start);
        varkeeper_cpu += children_cpu_seconds() - cpu;
        CHECK_MESSAGE(ours.exit_code == 0, ours.err);
        CHECK(trim(ours.out) == expected);
        if (b == 0) {
          // In process as well (first batch): the key decrypts and its address is cast's.
          start = Clock::now();
          auto key = varkeeper::chain::decrypt_keystore(read_file(file), password);
          in_process_seconds += seconds_since(start);
          ++in_process;
          REQUIRE(key.has_value());
          CHECK(varkeeper::chain::to_checksum_address(varkeeper::chain::address_of(*key)) ==
                expected);
        }
        ++checked;
        ++in_batch;
        file.clear();
      }
    }
    CHECK(in_batch == kPerBatch);
  }
  CHECK(checked == kBatches * kPerBatch);
  std::cerr << "cast -> varkeeper: " << checked << " keystores; varkeeper keys address "
            << varkeeper_seconds / checked * 1e3 << " ms/file wall, "
            << varkeeper_cpu / checked * 1e3 << " ms/file CPU; in-process decrypt "
            << in_process_seconds / in_process * 1e3 << " ms/file wall\n";
}

TEST_CASE("a wrong password for a cast keystore fails with exit code 3 and names the file") {
  varkeeper::test::require_tool(VARKEEPER_CAST);
  varkeeper::test::require_tool(VARKEEPER_BINARY);
  const TempDir dir("cast-keystore-wrong");
  auto made = run_process(
      {VARKEEPER_CAST, "wallet", "new", dir.path().string(), "--unsafe-password=right"});
  REQUIRE_MESSAGE(made.exit_code == 0, made.err);
  fs::path file;
  for (const auto& entry : fs::directory_iterator(dir.path())) file = entry.path();
  REQUIRE_FALSE(file.empty());
  write_file(dir.path() / "pw", "wrong\n");
  auto ours = run_process({VARKEEPER_BINARY, "keys", "address", "--keystore", file.string(),
                           "--password-file", (dir.path() / "pw").string()});
  CHECK(ours.exit_code == 3);
  CHECK(ours.out.empty());
  CHECK(ours.err == "varkeeper: wrong password for keystore file " + file.string() + "\n");
  CHECK(ours.err.find("wrong\n") == std::string::npos);  // the password is never echoed
}

TEST_CASE("keystores written by varkeeper keys new decrypt to our address with cast") {
  varkeeper::test::require_tool(VARKEEPER_CAST);
  varkeeper::test::require_tool(VARKEEPER_BINARY);
  std::mt19937_64 rng(varkeeper::test::test_seed(0xca57ca57ull) + 1);
  const TempDir dir("varkeeper-keystores");
  // Light KDF (geth LightScrypt, n=2^12 p=6) for the bulk; the default StandardScrypt (n=2^18,
  // r=8, about a second per derivation on each side) for the first two.
  constexpr int kCases = 50;
  double new_seconds = 0;
  double cast_seconds = 0;
  double new_cpu = 0;
  double cast_cpu = 0;
  for (int i = 0; i < kCases; ++i) {
    const bool standard = i < 2;
    const std::string password = random_password(rng);
    const fs::path password_file = dir.path() / ("pw" + std::to_string(i));
    write_file(password_file, password + (i % 2 == 0 ? "\n" : "\r\n"));
    std::vector<std::string> argv = {VARKEEPER_BINARY,
                                     "keys",
                                     "new",
                                     "--keystore-dir",
                                     (dir.path() / "ks").string(),
                                     "--password-file",
                                     password_file.string()};
    if (!standard) argv.emplace_back("--light-kdf");
    auto start = Clock::now();
    double cpu = children_cpu_seconds();
    auto made = run_process(argv);
    new_seconds += seconds_since(start);
    if (!standard) new_cpu += children_cpu_seconds() - cpu;
    REQUIRE_MESSAGE(made.exit_code == 0, made.err);
    const std::string address = trim(made.out);
    const std::string written = "keystore written to ";
    REQUIRE(made.err.rfind(written, 0) == 0);
    const fs::path file = trim(made.err.substr(written.size()));
    CAPTURE(file);
    // geth's file name: UTC--<time>--<lower-case address without 0x>.
    const std::string name = file.filename().string();
    REQUIRE(name.size() == 5 + 30 + 2 + 40);
    CHECK(name.rfind("UTC--", 0) == 0);
    std::string lower = address.substr(2);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    CHECK(name.substr(name.size() - 40) == lower);
    CHECK((fs::status(file).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));
    start = Clock::now();
    cpu = children_cpu_seconds();
    auto theirs = run_process({VARKEEPER_CAST, "wallet", "address", "--keystore", file.string(),
                               "--password=" + password});
    cast_seconds += seconds_since(start);
    if (!standard) cast_cpu += children_cpu_seconds() - cpu;
    CHECK_MESSAGE(theirs.exit_code == 0, theirs.err);
    CHECK(trim(theirs.out) == address);
  }
  std::cerr << "varkeeper -> cast: " << kCases << " keystores (2 standard, " << kCases - 2
            << " light); wall average over all: keys new " << new_seconds / kCases * 1e3
            << " ms/file, cast decrypt " << cast_seconds / kCases * 1e3
            << " ms/file; CPU per light file: keys new " << new_cpu / (kCases - 2) * 1e3
            << " ms, cast decrypt " << cast_cpu / (kCases - 2) * 1e3 << " ms\n";
}
