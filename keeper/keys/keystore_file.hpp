// Keystore files on disk: geth's naming and permissions for new files, and unlocking a file with a
// password from --password-file / VARKEEPER_KEYSTORE_PASSWORD / a prompt. Every failure is a
// KeystoreFileError whose message is one sentence naming the file (and never the password).
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "chain/address.hpp"
#include "chain/keystore.hpp"
#include "chain/secret_key.hpp"

namespace varkeeper::keeper {

class KeystoreFileError : public std::runtime_error {
 public:
  KeystoreFileError(const std::string& message, bool wrong_password = false)
      : std::runtime_error(message), wrong_password_(wrong_password) {}
  [[nodiscard]] bool wrong_password() const noexcept { return wrong_password_; }

 private:
  bool wrong_password_;
};

// geth's keyFileName:
// "UTC--2016-03-22T12-57-55.920751759Z--7ef5a6135f1fd6a02593eedc869c6d41d934aef8" (UTC time with
// nanoseconds, '-' for ':', then the lower-case address without 0x).
[[nodiscard]] std::string geth_key_file_name(const chain::Address& address,
                                             std::chrono::system_clock::time_point when);

// Writes `json` to DIR/<geth name> with mode 0600, creating DIR (mode 0700) if needed. The file
// appears complete or not at all (written to a temporary name, fsynced, then renamed).
// Returns the path written.
std::filesystem::path write_new_keystore_file(const std::filesystem::path& dir,
                                              const chain::Address& address, std::string_view json);

// Reads and parses a keystore file (no password needed yet).
[[nodiscard]] chain::Keystore read_keystore_file(const std::filesystem::path& file);

// Reads, parses and decrypts `file`; the password comes from load_password(password_file).
[[nodiscard]] chain::SecretKey unlock_keystore_file(
    const std::filesystem::path& file, const std::optional<std::filesystem::path>& password_file);

}  // namespace varkeeper::keeper
