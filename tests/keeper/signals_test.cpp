// SIGINT / SIGTERM handling: the stop flag, waking a waiting loop, the forced exit on a second
// signal (in a forked child, so this process survives), and restoring the previous handlers.
#include "keeper/ops/signals.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <stdexcept>
#include <thread>

using namespace std::chrono_literals;
using varkeeper::keeper::StopSignals;

namespace {
volatile std::sig_atomic_t g_custom_hits = 0;
extern "C" void custom_handler(int) { g_custom_hits = g_custom_hits + 1; }
}  // namespace

TEST_CASE("wait_for_stop times out and returns false when no signal arrives") {
  StopSignals signals;
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(signals.wait_for_stop(60ms));
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(elapsed >= 60ms);
  CHECK(elapsed < 2s);
  CHECK_FALSE(signals.stop_requested());
  CHECK(signals.signal_number() == 0);
}

TEST_CASE("SIGTERM sets the stop flag and wait_for_stop returns true at once") {
  StopSignals signals;
  REQUIRE(std::raise(SIGTERM) == 0);
  CHECK(signals.stop_requested());
  CHECK(signals.flag().load());
  CHECK(signals.signal_number() == SIGTERM);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(signals.wait_for_stop(10s));
  CHECK(signals.wait_for_stop(10s));  // stays set
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
}

TEST_CASE("a SIGINT from another thread wakes a loop waiting in wait_for_stop") {
  StopSignals signals;
  std::thread sender([] {
    std::this_thread::sleep_for(50ms);
    ::kill(::getpid(), SIGINT);
  });
  const auto t0 = std::chrono::steady_clock::now();
  const bool stopped = signals.wait_for_stop(10s);
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  sender.join();
  CHECK(stopped);
  CHECK(signals.signal_number() == SIGINT);
  CHECK(elapsed < 2s);
}

TEST_CASE("request_stop wakes waiters on other threads without counting as a signal") {
  StopSignals signals;
  bool woke = false;
  std::thread waiter([&] { woke = signals.wait_for_stop(10s); });
  std::this_thread::sleep_for(30ms);
  signals.request_stop();
  waiter.join();
  CHECK(woke);
  CHECK(signals.signal_number() == 0);
}

TEST_CASE("a second signal forces exit with status 130") {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    StopSignals signals;
    std::raise(SIGINT);  // first: the stop flag
    if (!signals.stop_requested()) ::_exit(1);
    std::raise(SIGTERM);  // second: forced exit
    ::_exit(2);           // not reached
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == StopSignals::kForcedExitCode);
  CHECK(StopSignals::kForcedExitCode == 130);
}

TEST_CASE("the previous handlers come back when StopSignals is destroyed, and one is allowed") {
  struct sigaction custom {};
  custom.sa_handler = custom_handler;
  sigemptyset(&custom.sa_mask);
  struct sigaction before_int {};
  struct sigaction before_term {};
  REQUIRE(::sigaction(SIGINT, &custom, &before_int) == 0);
  REQUIRE(::sigaction(SIGTERM, &custom, &before_term) == 0);
  {
    StopSignals signals;
    CHECK_THROWS_AS(StopSignals(), std::logic_error);
  }
  g_custom_hits = 0;
  std::raise(SIGTERM);
  std::raise(SIGINT);
  CHECK(g_custom_hits == 2);
  ::sigaction(SIGINT, &before_int, nullptr);
  ::sigaction(SIGTERM, &before_term, nullptr);
}
