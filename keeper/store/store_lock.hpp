// One keeper per store: an exclusive advisory lock (flock) on a lock file beside the SQLite file,
// held for as long as the keeper runs. Two daemons on one store would publish the same rounds and
// send the same actions under nonces each thinks it owns (issue 15, defect 12); the second is
// refused at start with one sentence naming the store and the process that holds it.
//
// The lock file is "<store>.lock" and holds the holder's pid (for the message only: the lock is
// the flock, which the kernel releases when the process dies, even by kill -9, so a crash never
// leaves a stale lock behind).
#pragma once

#include <string>

namespace varkeeper::keeper {

class StoreLock {
 public:
  // Takes the lock of the store at `store_path`, creating the lock file (and its directory).
  // Throws StoreError kBusy if another process holds it, kCannotOpen if the file cannot be made.
  [[nodiscard]] static StoreLock acquire(const std::string& store_path);

  ~StoreLock();
  StoreLock(StoreLock&& other) noexcept;
  StoreLock& operator=(StoreLock&& other) noexcept;
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

  [[nodiscard]] const std::string& lock_path() const noexcept { return lock_path_; }

 private:
  StoreLock(std::string lock_path, int fd) : lock_path_(std::move(lock_path)), fd_(fd) {}
  std::string lock_path_;
  int fd_ = -1;
};

}  // namespace varkeeper::keeper
