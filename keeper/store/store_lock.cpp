#include "keeper/store/store_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "keeper/store/store_error.hpp"

namespace varkeeper::keeper {

namespace {

// The pid the holder wrote into the lock file, or "" if unreadable.
std::string holder_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) {
    return {};
  }
  std::string text(buf, static_cast<std::size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text.find_first_not_of("0123456789") == std::string::npos ? text : std::string();
}

}  // namespace

StoreLock StoreLock::acquire(const std::string& store_path) {
  namespace fs = std::filesystem;
  const std::string lock_path = store_path + ".lock";
  std::error_code ec;
  const fs::path parent = fs::path(store_path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    fs::create_directories(parent, ec);
  }
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw StoreError(StoreErrorKind::kCannotOpen, "cannot create the lock file " + lock_path +
                                                      " of store file " + store_path + ": " +
                                                      std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string pid = holder_pid(fd);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      throw StoreError(StoreErrorKind::kBusy,
                       "store file " + store_path + " is in use by another varkeeper" +
                           (pid.empty() ? std::string() : " (pid " + pid + ")") +
                           "; stop it first or give this keeper its own store");
    }
    throw StoreError(StoreErrorKind::kCannotOpen,
                     "cannot lock " + lock_path + ": " + std::strerror(err));
  }
  // Ours now: record who holds it, for the message a second instance prints.
  const std::string pid = std::to_string(::getpid()) + "\n";
  // The pid is informative only (the flock is the lock): a failed write is not an error.
  const bool wrote = ::ftruncate(fd, 0) == 0 &&
                     ::pwrite(fd, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size());
  static_cast<void>(wrote);
  return {lock_path, fd};
}

StoreLock::~StoreLock() {
  if (fd_ >= 0) {
    ::close(fd_);  // releases the flock
  }
}

StoreLock::StoreLock(StoreLock&& other) noexcept
    : lock_path_(std::move(other.lock_path_)), fd_(std::exchange(other.fd_, -1)) {}

StoreLock& StoreLock::operator=(StoreLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    lock_path_ = std::move(other.lock_path_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

}  // namespace varkeeper::keeper
