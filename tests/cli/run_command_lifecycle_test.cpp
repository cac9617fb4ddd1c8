// `varkeeper run` starting and stopping, as an operator sees it: a failing self-check refuses to
// start (exit 3, one sentence naming the check, no node started); SIGTERM lets the tick in
// progress finish and stops the run and the anvil it started (exit 0); a second signal while
// stopping forces exit 130, and the anvil goes too (docs/operations.md, "Signals and exit codes").
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <functional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/test_support.hpp"

using namespace std::chrono_literals;
using varkeeper::test::TempDir;

namespace {

// A `varkeeper run` in the background, its stdout and stderr going to files in `dir`.
struct Background {
  pid_t pid = -1;
  std::string out_file, err_file;

  Background(const TempDir& dir, const std::vector<std::string>& argv)
      : out_file(dir.file("out.txt")), err_file(dir.file("err.txt")) {
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (out < 0 || err < 0) ::_exit(126);
      ::dup2(out, 1);
      ::dup2(err, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Background() {  // a failed test leaves nothing running
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  [[nodiscard]] std::string out() const { return slurp(out_file); }
  [[nodiscard]] std::string err() const { return slurp(err_file); }

  // Waits until stdout contains `text`; false after `timeout` or if the process ended.
  bool wait_for_output(const std::string& text, std::chrono::seconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (out().find(text) != std::string::npos) return true;
      if (::waitpid(pid, nullptr, WNOHANG) == pid) {
        pid = -1;
        return false;
      }
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  // The wait status once it exits, or -1 if it still runs after `timeout`.
  int wait_exit(std::chrono::seconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return status;
      }
      std::this_thread::sleep_for(50ms);
    }
    return -1;
  }

  static std::string slurp(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
};

// The anvil pid `varkeeper run` prints at start ("(chain id 31337, anvil pid 1234)").
pid_t anvil_pid(const std::string& out) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex("anvil pid ([0-9]+)\\)"))) return -1;
  return static_cast<pid_t>(std::stol(m[1].str()));
}

// True once `pid` no longer runs (gone, or a zombie waiting for a parent that does not reap).
bool gone_within(pid_t pid, std::chrono::seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto paren = text.rfind(')');
    if (paren != std::string::npos && text.compare(paren + 1, 3, " Z ") == 0) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::size_t count_lines_starting(const std::string& text, const std::string& prefix) {
  std::size_t n = 0;
  for (std::size_t at = 0; at < text.size();) {
    if (text.compare(at, prefix.size(), prefix) == 0) ++n;
    const auto nl = text.find('\n', at);
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return n;
}

// Sets VARKEEPER_SELFCHECK_CORRUPT (keeper/ops/selfcheck.hpp) for one scope; the child
// processes inherit it.
struct CorruptCheck {
  explicit CorruptCheck(const char* name) { ::setenv("VARKEEPER_SELFCHECK_CORRUPT", name, 1); }
  ~CorruptCheck() { ::unsetenv("VARKEEPER_SELFCHECK_CORRUPT"); }
  CorruptCheck(const CorruptCheck&) = delete;
  CorruptCheck& operator=(const CorruptCheck&) = delete;
};

}  // namespace

TEST_CASE("run refuses to start when a self-check fails: exit 3, one sentence, no anvil") {
  TempDir dir("run-selfcheck");
  const CorruptCheck corrupt("keccak256(\"abc\")");

  const auto local = varkeeper::test::run_process(
      {VARKEEPER_BINARY, "run", "--ticks", "1", "--store", dir.file("local.db")});
  CHECK(local.exit_code == 3);
  CHECK(std::count(local.err.begin(), local.err.end(), '\n') == 1);
  CHECK(local.err.find("self-check failed: keccak256(\"abc\"): expected 0x") != std::string::npos);
  CHECK(local.out.find("local chain") == std::string::npos);  // no anvil was started
  CHECK_FALSE(std::filesystem::exists(dir / "local.db"));

  // run --config: refused before the node is even asked (the endpoint here does not exist, which
  // would otherwise be the error).
  std::ofstream(dir / "keeper.toml")
      << "[keeper]\nstore = \"" << dir.file("store.db")
      << "\"\n\n[chain]\nchain_id = 31337\nrpc = [\"http://127.0.0.1:1\"]\n\n"
         "[keys]\nallow_dev_keys = true\nsigners = [{ dev_key = \"anvil1\" }]\n"
         "sender = { dev_key = \"anvil0\" }\n\n[contracts]\nrisk_oracle = "
         "\"0x000000000000000000000000000000000000dEaD\"\n\n[[assets]]\nsymbol = \"ETH\"\n\n"
         "[[assets.sources]]\nname = \"a\"\naggregator = "
         "\"0x000000000000000000000000000000000000dEaD\"\nheartbeat_s = 3600\n\n"
         "[[portfolios]]\nid = 1\npositions = { ETH = 1.0 }\n";
  const auto daemon = varkeeper::test::run_process(
      {VARKEEPER_BINARY, "run", "--config", dir.file("keeper.toml"), "--ticks", "1"});
  CHECK(daemon.exit_code == 3);
  CHECK(std::count(daemon.err.begin(), daemon.err.end(), '\n') == 1);
  CHECK(daemon.err.find("self-check failed: keccak256(\"abc\")") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "store.db"));

  // `varkeeper selfcheck` shows the same failure.
  const auto check = varkeeper::test::run_process({VARKEEPER_BINARY, "selfcheck"});
  CHECK(check.exit_code == 1);
  CHECK(check.out.find("FAIL  keccak256(\"abc\"): expected 0x") != std::string::npos);
}

TEST_CASE("SIGTERM stops run after the tick in progress, with its anvil, and exits 0") {
  varkeeper::test::require_tool(VARKEEPER_ANVIL);
  TempDir dir("run-sigterm");
  Background run(dir,
                 {VARKEEPER_BINARY, "run", "--tick-ms", "1000", "--store", dir.file("store.db")});
  INFO("stdout:\n" << run.out() << "\nstderr:\n" << run.err());
  REQUIRE(run.wait_for_output("\ntick 2 ", 180s));
  const pid_t anvil = anvil_pid(run.out());
  REQUIRE(anvil > 0);
  REQUIRE(::kill(anvil, 0) == 0);

  REQUIRE(::kill(run.pid, SIGTERM) == 0);
  const int status = run.wait_exit(60s);
  REQUIRE(status != -1);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const std::string out = run.out();
  INFO("stdout:\n" << out);
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex("\nvarkeeper: stopped after ([0-9]+) ticks\n$")));
  const auto ticks = std::stoul(m[1].str());
  CHECK(ticks >= 2);
  CHECK(count_lines_starting(out, "tick ") == ticks);  // every tick begun was finished
  CHECK(gone_within(anvil, 10s));
}

TEST_CASE("a second signal while stopping forces exit 130 and the anvil still goes") {
  varkeeper::test::require_tool(VARKEEPER_ANVIL);
  TempDir dir("run-sigint-twice");
  Background run(dir,
                 {VARKEEPER_BINARY, "run", "--tick-ms", "1000", "--store", dir.file("store.db")});
  INFO("stdout:\n" << run.out() << "\nstderr:\n" << run.err());
  REQUIRE(run.wait_for_output("\ntick 1 ", 180s));
  const pid_t anvil = anvil_pid(run.out());
  REQUIRE(anvil > 0);

  // Two different signals, so the second is not merged into a first one still pending.
  REQUIRE(::kill(run.pid, SIGTERM) == 0);
  REQUIRE(::kill(run.pid, SIGINT) == 0);
  const int status = run.wait_exit(60s);
  REQUIRE(status != -1);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK(run.out().find("varkeeper: stopped after") == std::string::npos);
  CHECK(gone_within(anvil, 10s));
}

// Issue 15, defect 9: a tick stalled on a node that accepts connections and never answers (the
// anvil, stopped with SIGSTOP) used to hold SIGTERM for minutes (5 s x 3 attempts per RPC, one RPC
// after another). The stop now cuts the RPC in progress short, the tick is abandoned and says so,
// and the run ends within seconds.
TEST_CASE("defect 9: SIGTERM during a tick stalled on a silent node ends the run within seconds") {
  varkeeper::test::require_tool(VARKEEPER_ANVIL);
  TempDir dir("run-sigterm-stalled");
  Background run(dir,
                 {VARKEEPER_BINARY, "run", "--tick-ms", "1000", "--store", dir.file("store.db")});
  INFO("stdout:\n" << run.out() << "\nstderr:\n" << run.err());
  REQUIRE(run.wait_for_output("\ntick 1 ", 180s));
  const pid_t anvil = anvil_pid(run.out());
  REQUIRE(anvil > 0);
  REQUIRE(::kill(anvil, SIGSTOP) == 0);
  struct Resume {  // the anvil runs again whatever happens (the run's shutdown stops it)
    pid_t pid;
    ~Resume() { ::kill(pid, SIGCONT); }
  } resume{anvil};
  // Let the next tick begin and stall on the silent node.
  std::this_thread::sleep_for(2500ms);
  const auto lines_before = count_lines_starting(run.out(), "tick ");

  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(::kill(run.pid, SIGTERM) == 0);
  REQUIRE(run.wait_for_output("varkeeper: stopped after", 10s));
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("SIGTERM to 'stopped after': " << took << " s");
  CHECK(took < 5.0);
  const std::string out = run.out();
  CHECK(count_lines_starting(out, "tick ") == lines_before + 1);  // the stalled tick ended
  CHECK(out.find(" abandoned: stop requested") != std::string::npos);
  ::kill(anvil, SIGCONT);
  const int status = run.wait_exit(30s);
  REQUIRE(status != -1);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
