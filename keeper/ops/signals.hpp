// Clean shutdown on SIGINT / SIGTERM. The handler only does async-signal-safe things
// (POSIX.1-2017 XSH 2.4.3): it sets an atomic flag and writes to an eventfd the main loop waits
// on, so a tick sleeping in wait_for_stop() wakes at once. A second signal while stopping means
// the operator insists: the process exits at once with status 130 (128 + SIGINT, the shell's
// convention), leaving in-flight transactions to the store's recovery at the next start.
#pragma once

#include <atomic>
#include <chrono>

namespace varkeeper::keeper {

// Installs the handlers for its lifetime and restores the previous ones on destruction. One
// instance at a time per process (a second throws std::logic_error); install failures throw
// std::system_error.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // True once SIGINT or SIGTERM arrived or request_stop() was called.
  [[nodiscard]] bool stop_requested() const noexcept;
  // The flag itself, for loops that poll an std::atomic<bool> (run_keeper's `stop`).
  [[nodiscard]] const std::atomic<bool>& flag() const noexcept;
  // The signal that asked to stop (SIGINT, SIGTERM), or 0 (none yet, or request_stop()).
  [[nodiscard]] int signal_number() const noexcept;
  // Sleeps until a stop is requested or `timeout` passes; true if a stop is requested. Returns at
  // once when one already is. Safe from any thread.
  [[nodiscard]] bool wait_for_stop(std::chrono::milliseconds timeout) const;
  // Asks the loop to stop as a signal would (e.g. a fatal error on another thread); does not
  // count toward the forced exit.
  void request_stop() noexcept;

  // The exit status of the forced exit on a second signal.
  static constexpr int kForcedExitCode = 130;
};

}  // namespace varkeeper::keeper
