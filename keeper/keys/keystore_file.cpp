#include "keeper/keys/keystore_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "chain/hex.hpp"
#include "keeper/keys/password.hpp"

namespace varkeeper::keeper {

namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { close(); }
  [[nodiscard]] int get() const noexcept { return fd_; }
  int close() noexcept {
    const int rc = fd_ >= 0 ? ::close(fd_) : 0;
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

std::string geth_key_file_name(const chain::Address& address,
                               std::chrono::system_clock::time_point when) {
  using namespace std::chrono;
  const auto since_epoch = when.time_since_epoch();
  const auto secs = floor<seconds>(since_epoch);
  const auto nanos = duration_cast<nanoseconds>(since_epoch - secs).count();
  const std::time_t t = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d-%02d-%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(nanos));
  return std::string("UTC--") + stamp + "--" + chain::to_hex(address, false);
}

std::filesystem::path write_new_keystore_file(const std::filesystem::path& dir,
                                              const chain::Address& address,
                                              std::string_view json) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      throw KeystoreFileError("cannot create keystore directory " + dir.string() + ": " +
                              ec.message());
    }
    // geth: keystore directories are private to the user.
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  } else if (!std::filesystem::is_directory(dir, ec)) {
    throw KeystoreFileError("keystore directory " + dir.string() + " is not a directory");
  }
  std::filesystem::path final_path =
      dir / geth_key_file_name(address, std::chrono::system_clock::now());
  const std::filesystem::path tmp_path = dir / ("." + final_path.filename().string() + ".tmp");
  {
    FileDescriptor fd(
        ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR));
    if (fd.get() < 0) {
      throw KeystoreFileError("cannot create keystore file in " + dir.string() + ": " +
                              errno_text(errno));
    }
    std::size_t written = 0;
    while (written < json.size()) {
      const ssize_t n = ::write(fd.get(), json.data() + written, json.size() - written);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        const int err = errno;
        ::unlink(tmp_path.c_str());
        throw KeystoreFileError("cannot write keystore file " + tmp_path.string() + ": " +
                                errno_text(err));
      }
      written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0 || fd.close() != 0) {
      const int err = errno;
      ::unlink(tmp_path.c_str());
      throw KeystoreFileError("cannot write keystore file " + tmp_path.string() + ": " +
                              errno_text(err));
    }
  }
  // link() refuses to replace an existing file, unlike rename().
  if (::link(tmp_path.c_str(), final_path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_path.c_str());
    throw KeystoreFileError("cannot create keystore file " + final_path.string() + ": " +
                            errno_text(err));
  }
  ::unlink(tmp_path.c_str());
  return final_path;
}

chain::Keystore read_keystore_file(const std::filesystem::path& file) {
  const std::string name = file.string();
  FileDescriptor fd(::open(name.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT) {
      throw KeystoreFileError("keystore file " + name + " does not exist");
    }
    throw KeystoreFileError("cannot open keystore file " + name + ": " + errno_text(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw KeystoreFileError("keystore file " + name + " is not a regular file");
  }
  if (static_cast<std::uint64_t>(st.st_size) > chain::kMaxKeystoreSize) {
    throw KeystoreFileError("keystore file " + name + " is larger than 64 KiB");
  }
  std::string text(static_cast<std::size_t>(st.st_size) + 1, '\0');
  std::size_t len = 0;
  while (len < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + len, text.size() - len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      throw KeystoreFileError("cannot read keystore file " + name + ": " + errno_text(errno));
    }
    if (n == 0) {
      break;
    }
    len += static_cast<std::size_t>(n);
  }
  text.resize(len);
  auto keystore = chain::parse_keystore(text);
  if (!keystore) {
    throw KeystoreFileError("keystore file " + name +
                            " is unusable: " + chain::to_string(keystore.error()));
  }
  return std::move(*keystore);
}

chain::SecretKey unlock_keystore_file(const std::filesystem::path& file,
                                      const std::optional<std::filesystem::path>& password_file) {
  // Parse first, so a damaged file is reported before anyone is asked for a password.
  const chain::Keystore keystore = read_keystore_file(file);
  const Password password = load_password(password_file, PromptMode::kOnce);
  auto key = chain::decrypt_keystore(keystore, password.view());
  if (!key) {
    if (key.error().error == chain::KeystoreError::kWrongPassword) {
      throw KeystoreFileError("wrong password for keystore file " + file.string(), true);
    }
    throw KeystoreFileError("keystore file " + file.string() +
                            " is unusable: " + chain::to_string(key.error()));
  }
  return *key;
}

}  // namespace varkeeper::keeper
