#include "keeper/ops/signals.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdint>
#include <stdexcept>
#include <system_error>

namespace varkeeper::keeper {
namespace {

// Only lock-free atomics may be touched from a signal handler (C++20 [support.signal]).
static_assert(std::atomic<int>::is_always_lock_free);
static_assert(std::atomic<bool>::is_always_lock_free);

std::atomic<bool> g_installed{false};
std::atomic<bool> g_stop{false};
std::atomic<int> g_signal_count{0};
std::atomic<int> g_last_signal{0};
std::atomic<int> g_event_fd{-1};
struct sigaction g_old_int {};
struct sigaction g_old_term {};

void wake() noexcept {
  const int fd = g_event_fd.load();
  if (fd < 0) {
    return;
  }
  const std::uint64_t one = 1;
  // write(2) is async-signal-safe; a full counter (EAGAIN) is already readable, so nothing is lost.
  [[maybe_unused]] const ssize_t n = ::write(fd, &one, sizeof one);
}

extern "C" void on_stop_signal(int sig) {
  const int saved_errno = errno;
  if (g_signal_count.fetch_add(1) >= 1) {
    ::_exit(StopSignals::kForcedExitCode);
  }
  g_last_signal.store(sig);
  g_stop.store(true);
  wake();
  errno = saved_errno;
}

}  // namespace

StopSignals::StopSignals() {
  if (g_installed.exchange(true)) {
    throw std::logic_error("StopSignals: the stop handlers are already installed");
  }
  g_stop.store(false);
  g_signal_count.store(0);
  g_last_signal.store(0);
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) {
    const int e = errno;
    g_installed.store(false);
    throw std::system_error(e, std::generic_category(), "eventfd for the stop signal");
  }
  g_event_fd.store(fd);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // other blocking calls resume; poll() in wait_for_stop sees EINTR
  if (::sigaction(SIGINT, &sa, &g_old_int) != 0 || ::sigaction(SIGTERM, &sa, &g_old_term) != 0) {
    const int e = errno;
    ::sigaction(SIGINT, &g_old_int, nullptr);
    g_event_fd.store(-1);
    ::close(fd);
    g_installed.store(false);
    throw std::system_error(e, std::generic_category(), "sigaction for SIGINT/SIGTERM");
  }
}

StopSignals::~StopSignals() {
  ::sigaction(SIGINT, &g_old_int, nullptr);
  ::sigaction(SIGTERM, &g_old_term, nullptr);
  const int fd = g_event_fd.exchange(-1);
  if (fd >= 0) {
    ::close(fd);
  }
  g_installed.store(false);
}

bool StopSignals::stop_requested() const noexcept { return g_stop.load(); }

const std::atomic<bool>& StopSignals::flag() const noexcept { return g_stop; }

int StopSignals::signal_number() const noexcept { return g_last_signal.load(); }

void StopSignals::request_stop() noexcept {
  g_stop.store(true);
  wake();
}

bool StopSignals::wait_for_stop(std::chrono::milliseconds timeout) const {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (g_stop.load()) {
      return true;
    }
    const auto remaining = deadline - Clock::now();
    if (remaining <= Clock::duration::zero()) {
      return g_stop.load();
    }
    // Rounded up, so the wait never ends before the deadline.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(remaining).count();
    pollfd p{};
    p.fd = g_event_fd.load();
    p.events = POLLIN;
    // The eventfd is never drained: once written it stays readable, so every waiter wakes.
    const int r = ::poll(&p, 1, static_cast<int>(left < INT_MAX ? left : INT_MAX));
    if (r < 0 && errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "poll on the stop signal");
    }
  }
}

}  // namespace varkeeper::keeper
