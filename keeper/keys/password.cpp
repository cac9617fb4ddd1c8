#include "keeper/keys/password.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace varkeeper::keeper {

Password::Password(std::string_view text) : text_(text) {}

Password::Password(Password&& other) noexcept : text_(std::move(other.text_)) { other.wipe(); }

Password& Password::operator=(Password&& other) noexcept {
  if (this != &other) {
    wipe();
    text_ = std::move(other.text_);
    other.wipe();
  }
  return *this;
}

Password::~Password() { wipe(); }

void Password::wipe() noexcept {
  // The whole buffer, not just size(): a moved-from short string keeps its old characters.
  OPENSSL_cleanse(text_.data(), text_.capacity());
  text_.clear();
}

namespace {

// Closes a file descriptor on every path.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_;
};

// Strips one trailing "\n" or "\r\n" and everything after the first line.
std::string_view first_line(std::string_view text) noexcept {
  const auto newline = text.find('\n');
  if (newline != std::string_view::npos) {
    text = text.substr(0, newline);
  }
  if (!text.empty() && text.back() == '\r') {
    text.remove_suffix(1);
  }
  return text;
}

// Reads one line from the terminal on stdin with echo off, restoring the terminal afterwards.
Password prompt_no_echo(const char* prompt) {
  std::fputs(prompt, stderr);
  std::fflush(stderr);
  termios saved{};
  const bool have_termios = ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (have_termios) {
    termios quiet = saved;
    quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
    quiet.c_lflag |= ECHONL;
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::array<char, 1024> buf{};
  std::size_t len = 0;
  bool ok = true;
  while (len < buf.size()) {
    char c = 0;
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      ok = len > 0;
      break;
    }
    if (c == '\n') {
      break;
    }
    buf[len++] = c;
  }
  if (have_termios) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  }
  Password password(first_line(std::string_view(buf.data(), len)));
  OPENSSL_cleanse(buf.data(), buf.size());
  if (!ok) {
    throw PasswordError("no password was entered at the prompt");
  }
  if (len == buf.size()) {
    throw PasswordError("the password entered is longer than 1023 bytes");
  }
  return password;
}

}  // namespace

Password read_password_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  const FileDescriptor fd(::open(name.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT) {
      throw PasswordError("password file " + name + " does not exist");
    }
    throw PasswordError("cannot open password file " + name + ": " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw PasswordError("password file " + name + " is not a regular file");
  }
  if (static_cast<std::uint64_t>(st.st_size) > kMaxPasswordFileSize) {
    throw PasswordError("password file " + name + " is larger than 64 KiB");
  }
  std::string buf(static_cast<std::size_t>(st.st_size) + 1, '\0');
  std::size_t len = 0;
  while (len < buf.size()) {
    const ssize_t n = ::read(fd.get(), buf.data() + len, buf.size() - len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const int err = errno;
      OPENSSL_cleanse(buf.data(), buf.size());
      throw PasswordError("cannot read password file " + name + ": " + std::strerror(err));
    }
    if (n == 0) {
      break;
    }
    len += static_cast<std::size_t>(n);
  }
  if (len > kMaxPasswordFileSize) {
    OPENSSL_cleanse(buf.data(), buf.size());
    throw PasswordError("password file " + name + " is larger than 64 KiB");
  }
  if (len == 0) {
    throw PasswordError("password file " + name +
                        " is empty (write the password on its first line)");
  }
  Password password(first_line(std::string_view(buf.data(), len)));
  OPENSSL_cleanse(buf.data(), buf.size());
  return password;
}

Password load_password(const std::optional<std::filesystem::path>& file, PromptMode mode) {
  if (file) {
    return read_password_file(*file);
  }
  if (const char* env = std::getenv(kPasswordEnvVar)) {
    return Password(env);
  }
  if (::isatty(STDIN_FILENO) == 1) {
    Password first = prompt_no_echo("Keystore password: ");
    if (mode == PromptMode::kConfirm) {
      const Password again = prompt_no_echo("Repeat the password: ");
      if (again.view() != first.view()) {
        throw PasswordError("the two passwords entered differ");
      }
    }
    return first;
  }
  throw PasswordError(std::string("no keystore password: pass --password-file FILE or set ") +
                      kPasswordEnvVar);
}

}  // namespace varkeeper::keeper
