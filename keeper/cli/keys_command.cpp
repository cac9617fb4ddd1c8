// `varkeeper keys new` and `varkeeper keys address`: create and inspect Ethereum keystore v3 files
// (the format geth, cast and eth-account read and write).
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "chain/address.hpp"
#include "chain/keystore.hpp"
#include "chain/secp256k1.hpp"
#include "keeper/cli/command.hpp"
#include "keeper/keys/keystore_file.hpp"
#include "keeper/keys/password.hpp"

namespace varkeeper::keeper::cli {
namespace {

struct KeysOptions {
  std::string keystore_dir;
  std::string keystore_file;
  std::string password_file;
  bool light_kdf = false;
};

std::optional<std::filesystem::path> optional_path(const std::string& text) {
  if (text.empty()) {
    return std::nullopt;
  }
  return std::filesystem::path(text);
}

// A fresh secp256k1 key from OpenSSL's CSPRNG (rejection sampling: retry the ~2^-128 chance of a
// value outside [1, n-1]).
chain::SecretKey generate_key() {
  for (int attempt = 0; attempt < 16; ++attempt) {
    chain::FixedBytes<32> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
      throw UserError("the system random number generator failed; no key was created");
    }
    auto key = chain::SecretKey::from_bytes(bytes);
    OPENSSL_cleanse(bytes.data(), bytes.size());
    if (key) {
      return *key;
    }
  }
  throw UserError("the system random number generator keeps returning invalid keys");
}

void run_new(const KeysOptions& options) {
  try {
    const Password password =
        load_password(optional_path(options.password_file), PromptMode::kConfirm);
    const chain::SecretKey key = generate_key();
    const chain::Address address = chain::address_of(key);
    const chain::KdfParams kdf = options.light_kdf ? chain::kLightScrypt : chain::kStandardScrypt;
    auto json = chain::encrypt_keystore(key, password.view(), kdf);
    if (!json) {
      throw UserError("cannot encrypt the new key: " + chain::to_string(json.error()));
    }
    const auto path = write_new_keystore_file(options.keystore_dir, address, *json);
    std::cout << chain::to_checksum_address(address) << '\n';
    std::cerr << "keystore written to " << path.string() << '\n';
  } catch (const PasswordError& e) {
    throw UserError(e.what());
  } catch (const KeystoreFileError& e) {
    throw UserError(e.what());
  }
}

void run_address(const KeysOptions& options) {
  try {
    const chain::SecretKey key =
        unlock_keystore_file(options.keystore_file, optional_path(options.password_file));
    std::cout << chain::to_checksum_address(chain::address_of(key)) << '\n';
  } catch (const PasswordError& e) {
    throw UserError(e.what());
  } catch (const KeystoreFileError& e) {
    throw UserError(e.what(), e.wrong_password() ? 3 : 2);
  }
}

// NOLINTNEXTLINE(cert-err58-cpp): the lambda runs later, inside main's try
const RegisterCommand kRegister{
    20, [](CLI::App& app) {
      auto options = std::make_shared<KeysOptions>();
      auto* keys = app.add_subcommand(
          "keys", "Create and read Ethereum keystore v3 files (scrypt/pbkdf2, as geth and cast)");
      keys->require_subcommand(1);
      const std::string password_help =
          "File whose first line is the password (default: the VARKEEPER_KEYSTORE_PASSWORD "
          "environment variable, else a no-echo prompt on a terminal)";

      auto* create = keys->add_subcommand(
          "new",
          "Generate a key, write it as DIR/UTC--<time>--<address> (mode 0600) and print its "
          "checksummed address");
      create
          ->add_option("--keystore-dir", options->keystore_dir,
                       "Directory for the keystore file (created with mode 0700 if missing)")
          ->required()
          ->type_name("DIR");
      create->add_option("--password-file", options->password_file, password_help)
          ->type_name("FILE");
      create->add_flag(
          "--light-kdf", options->light_kdf,
          "scrypt n=2^12, p=6 (fast; for tests) instead of geth's standard n=2^18, r=8, "
          "p=1");
      create->callback([options] { run_new(*options); });

      auto* address = keys->add_subcommand(
          "address",
          "Decrypt a keystore file (proving the password) and print its checksummed address; exit "
          "code 3 on a wrong password, 2 on other errors");
      address->add_option("--keystore", options->keystore_file, "The keystore v3 file")
          ->required()
          ->type_name("FILE");
      address->add_option("--password-file", options->password_file, password_help)
          ->type_name("FILE");
      address->callback([options] { run_address(*options); });
    }};

}  // namespace
}  // namespace varkeeper::keeper::cli
