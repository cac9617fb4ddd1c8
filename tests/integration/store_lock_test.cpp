// Issue 15, defect 12: two keepers on one store. The second `varkeeper run` on a store a running
// keeper holds is refused at start (exit 4, one sentence naming the store and the holder), and the
// first keeps running and ticking.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "keeper/store/store_error.hpp"
#include "keeper/store/store_lock.hpp"
#include "tests/support/test_support.hpp"

using namespace std::chrono_literals;
using varkeeper::test::TempDir;

namespace {

// `varkeeper run` in the background, stdout to a file; SIGKILLed (with its anvil going when its
// parent dies: the local run's anvil is a child it stops) if the test ends early.
struct BackgroundRun {
  pid_t pid = -1;
  std::string out_file;

  BackgroundRun(const TempDir& dir, const std::vector<std::string>& argv)
      : out_file(dir.file("first.out")) {
    std::ofstream(out_file).flush();  // exists before the child writes to it
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (out < 0) {
        ::_exit(126);
      }
      ::dup2(out, 1);
      ::dup2(out, 2);
      std::vector<char*> args;
      args.reserve(argv.size() + 1);
      for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
      }
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~BackgroundRun() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);  // lets it stop its anvil
      for (int i = 0; i < 300 && ::waitpid(pid, nullptr, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(100ms);
      }
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  BackgroundRun(const BackgroundRun&) = delete;
  BackgroundRun& operator=(const BackgroundRun&) = delete;

  [[nodiscard]] std::string out() const {
    std::ifstream in(out_file);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  [[nodiscard]] bool running() const { return ::waitpid(pid, nullptr, WNOHANG) == 0; }
  [[nodiscard]] std::size_t ticks() const {
    const std::string text = out();
    std::size_t n = 0;
    for (std::size_t at = text.find("\ntick "); at != std::string::npos;
         at = text.find("\ntick ", at + 1)) {
      ++n;
    }
    return n;
  }
  bool wait_ticks(std::size_t n, std::chrono::seconds timeout) const {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until && running()) {
      if (ticks() >= n) {
        return true;
      }
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
};

}  // namespace

TEST_CASE("defect 12: a store lock is exclusive while held and free again once released") {
  TempDir dir("store-lock");
  const std::string store = dir.file("keeper.db");
  {
    const auto first = varkeeper::keeper::StoreLock::acquire(store);
    CHECK(first.lock_path() == store + ".lock");
    try {
      const auto second = varkeeper::keeper::StoreLock::acquire(store);
      FAIL("a second lock on the same store was granted");
    } catch (const varkeeper::keeper::StoreError& e) {
      CHECK(e.kind() == varkeeper::keeper::StoreErrorKind::kBusy);
      const std::string what = e.what();
      CHECK(what.find("store file " + store + " is in use by another varkeeper (pid " +
                      std::to_string(::getpid()) + ")") != std::string::npos);
    }
  }
  // Released with its holder: the next keeper takes it.
  CHECK_NOTHROW(static_cast<void>(varkeeper::keeper::StoreLock::acquire(store)));
}

TEST_CASE("defect 12: a second varkeeper run on the same store exits non-zero, the first runs on") {
  varkeeper::test::require_tool(VARKEEPER_ANVIL);
  TempDir dir("store-lock-run");
  const std::string store = dir.file("keeper.db");
  BackgroundRun first(dir, {VARKEEPER_BINARY, "run", "--tick-ms", "1000", "--store", store});
  INFO("first run:\n" << first.out());
  REQUIRE(first.wait_ticks(1, 180s));

  const auto second = varkeeper::test::run_process(
      {VARKEEPER_BINARY, "run", "--ticks", "1", "--tick-ms", "1000", "--store", store});
  INFO("second run stdout:\n" << second.out << "\nstderr:\n" << second.err);
  CHECK(second.exit_code == 4);
  CHECK(std::count(second.err.begin(), second.err.end(), '\n') == 1);
  CHECK(second.err.find("store file " + store + " is in use by another varkeeper (pid " +
                        std::to_string(first.pid) + ")") != std::string::npos);
  CHECK(second.out.find("\ntick ") == std::string::npos);  // it never ticked

  // The first is untouched: still running, still ticking.
  const std::size_t before = first.ticks();
  CHECK(first.wait_ticks(before + 1, 60s));
  CHECK(first.running());
}
