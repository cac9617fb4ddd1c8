#include "keeper/keys/keystore_file.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "chain/hex.hpp"
#include "chain/secp256k1.hpp"
#include "keeper/keys/password.hpp"
#include "tests/support/test_support.hpp"

using varkeeper::test::TempDir;

namespace fs = std::filesystem;
using namespace varkeeper;
using keeper::KeystoreFileError;
using keeper::PasswordError;

namespace {

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// Runs `f`, which must throw E; returns the message.
template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("no exception was thrown");
  return {};
}

chain::SecretKey spec_key() {
  // The Web3 Secret Storage Definition's test key.
  auto key = chain::SecretKey::from_hex(
      "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d");
  REQUIRE(key.has_value());
  return *key;
}

}  // namespace

TEST_CASE("keystore file names follow geth's UTC--<ISO 8601 with dashes>--<address> convention") {
  // The name of a file in go-ethereum's accounts/keystore/testdata/keystore.
  using namespace std::chrono;
  const auto when = sys_days{year{2016} / March / 22} + hours{12} + minutes{57} + seconds{55} +
                    nanoseconds{920751759};
  auto address = chain::from_hex_fixed<20>("7ef5a6135f1fd6a02593eedc869c6d41d934aef8");
  REQUIRE(address.has_value());
  CHECK(keeper::geth_key_file_name(*address, time_point_cast<system_clock::duration>(when)) ==
        "UTC--2016-03-22T12-57-55.920751759Z--7ef5a6135f1fd6a02593eedc869c6d41d934aef8");
}

TEST_CASE("a password file's first line is the password, without its line ending") {
  const TempDir dir("keystore-file");
  struct Case {
    const char* content;
    const char* password;
  };
  const Case cases[] = {
      {"pw\n", "pw"},
      {"pw\r\n", "pw"},
      {"pw", "pw"},
      {"first line\nsecond line\n", "first line"},
      {"  spaces kept  \n", "  spaces kept  "},
      {"\n", ""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.content);
    write_file(dir / "pw", c.content);
    CHECK(keeper::read_password_file(dir / "pw").view() == c.password);
  }
}

TEST_CASE("unusable password files are refused with one sentence naming the file") {
  const TempDir dir("keystore-file");
  const fs::path missing = dir / "missing";
  CHECK(message_of<PasswordError>([&] { (void)keeper::read_password_file(missing); }) ==
        "password file " + missing.string() + " does not exist");
  write_file(dir / "empty", "");
  CHECK(message_of<PasswordError>([&] {
          (void)keeper::read_password_file(dir / "empty");
        }).find("is empty") != std::string::npos);
  CHECK(message_of<PasswordError>([&] {
          (void)keeper::read_password_file(dir / "");
        }).find("not a regular file") != std::string::npos);
  write_file(dir / "big", std::string(keeper::kMaxPasswordFileSize + 1, 'x'));
  CHECK(message_of<PasswordError>([&] {
          (void)keeper::read_password_file(dir / "big");
        }).find("larger than 64 KiB") != std::string::npos);
}

TEST_CASE("a password file takes precedence over VARKEEPER_KEYSTORE_PASSWORD") {
  const TempDir dir("keystore-file");
  write_file(dir / "pw", "from-file\n");
  ::setenv(keeper::kPasswordEnvVar, "from-env", 1);
  CHECK(keeper::load_password(dir / "pw", keeper::PromptMode::kOnce).view() == "from-file");
  CHECK(keeper::load_password(std::nullopt, keeper::PromptMode::kOnce).view() == "from-env");
  ::unsetenv(keeper::kPasswordEnvVar);
}

TEST_CASE("a moved-from password is empty") {
  keeper::Password a("correct horse battery staple");
  keeper::Password b(std::move(a));
  CHECK(b.view() == "correct horse battery staple");
  CHECK(a.empty());  // NOLINT(bugprone-use-after-move): checking the documented state
}

TEST_CASE("a new keystore file is private, named like geth's and unlocks with its password") {
  const TempDir dir("keystore-file");
  const chain::SecretKey key = spec_key();
  auto json = chain::encrypt_keystore(key, "pw", chain::ScryptParams{1024, 8, 1});
  REQUIRE(json.has_value());
  const fs::path ks_dir = dir / "keystore";
  const fs::path file = keeper::write_new_keystore_file(ks_dir, chain::address_of(key), *json);
  CHECK(file.parent_path() == ks_dir);
  CHECK(file.filename().string().rfind("UTC--", 0) == 0);
  CHECK(file.filename().string().ends_with("--008aeeda4d805471df9b2a5b0f38a0c3bcba786b"));
  CHECK((fs::status(file).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));
  CHECK((fs::status(ks_dir).permissions() & fs::perms::all) == fs::perms::owner_all);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(ks_dir)) ++entries;
  CHECK(entries == 1);  // no temporary file left behind

  write_file(dir / "pw", "pw\n");
  const chain::SecretKey back = keeper::unlock_keystore_file(file, dir / "pw");
  CHECK(back.reveal() == key.reveal());

  write_file(dir / "wrong", "wrong\n");
  try {
    (void)keeper::unlock_keystore_file(file, dir / "wrong");
    FAIL("a wrong password unlocked the keystore");
  } catch (const KeystoreFileError& e) {
    CHECK(e.wrong_password());
    CHECK(std::string(e.what()) == "wrong password for keystore file " + file.string());
  }
}

TEST_CASE("unusable keystore files are refused with one sentence naming the file") {
  const TempDir dir("keystore-file");
  const fs::path missing = dir / "missing.json";
  CHECK(message_of<KeystoreFileError>([&] { (void)keeper::read_keystore_file(missing); }) ==
        "keystore file " + missing.string() + " does not exist");
  write_file(dir / "bad.json", "{\"version\":3}");
  CHECK(message_of<KeystoreFileError>([&] {
          (void)keeper::read_keystore_file(dir / "bad.json");
        }) == "keystore file " + (dir / "bad.json").string() +
                  " is unusable: keystore field crypto is missing");
  write_file(dir / "big.json", std::string(chain::kMaxKeystoreSize + 1, ' '));
  CHECK(message_of<KeystoreFileError>([&] {
          (void)keeper::read_keystore_file(dir / "big.json");
        }).find("larger than 64 KiB") != std::string::npos);
}
