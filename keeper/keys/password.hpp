// Keystore passwords: where they come from (a file, the environment, a no-echo terminal prompt)
// and how they are held in memory (wiped on destruction, never printable).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace varkeeper::keeper {

// The environment variable read when no password file is given.
inline constexpr const char* kPasswordEnvVar = "VARKEEPER_KEYSTORE_PASSWORD";
// Password files larger than this are refused (a password is one short line).
inline constexpr std::size_t kMaxPasswordFileSize = std::size_t{64} * 1024;

// A password in memory. Move-only; the buffer is wiped on destruction and when moved from. There
// is deliberately no operator<< and no conversion to std::string.
class Password {
 public:
  Password() = default;
  explicit Password(std::string_view text);
  Password(Password&& other) noexcept;
  Password& operator=(Password&& other) noexcept;
  Password(const Password&) = delete;
  Password& operator=(const Password&) = delete;
  ~Password();

  [[nodiscard]] std::string_view view() const noexcept { return text_; }
  [[nodiscard]] bool empty() const noexcept { return text_.empty(); }

 private:
  void wipe() noexcept;
  std::string text_;
};

// A password could not be obtained. The message is one sentence naming the file or variable; it
// never contains the password.
class PasswordError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The first line of `path`, without its line ending ("\n" or "\r\n"), as geth and cast read
// password files. Refuses a missing, unreadable, non-regular, empty or oversized file.
[[nodiscard]] Password read_password_file(const std::filesystem::path& path);

enum class PromptMode {
  kOnce,     // unlocking an existing keystore
  kConfirm,  // creating a keystore: ask twice and require the same answer
};

// The password from `file` if given, else from VARKEEPER_KEYSTORE_PASSWORD, else from a no-echo
// prompt when stdin is a terminal; otherwise PasswordError says how to supply one.
[[nodiscard]] Password load_password(const std::optional<std::filesystem::path>& file,
                                     PromptMode mode);

}  // namespace varkeeper::keeper
