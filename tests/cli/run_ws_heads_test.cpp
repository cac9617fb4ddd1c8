// `varkeeper run --config` against a local anvil with the mock deployment (`deploy --mocks`).
//
// Issue 15, defect 11: `chain.ws` used to do nothing in the daemon. Now new heads from the
// WebSocket subscription start a tick at once, with tick_interval_s as the polling fallback. The
// daemon here has tick_interval_s = 60: a second tick within seconds of a mined block can only
// come from the subscription (anvil serves ws on its HTTP port).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "chain/endpoint_pool.hpp"
#include "chain/json_rpc.hpp"
#include "chain/transport.hpp"
#include "chain/url.hpp"
#include "keeper/deploy/deploy.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "tests/support/test_support.hpp"

using namespace std::chrono_literals;
using varkeeper::test::TempDir;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// `varkeeper run --config` in the background, stdout and stderr to files.
struct Daemon {
  pid_t pid = -1;
  std::string out_file, err_file;
  Daemon(const TempDir& dir, const std::string& config)
      : out_file(dir.file("out.txt")), err_file(dir.file("err.txt")) {
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (out < 0 || err < 0) ::_exit(126);
      ::dup2(out, 1);
      ::dup2(err, 2);
      ::execl(VARKEEPER_BINARY, VARKEEPER_BINARY, "run", "--config", config.c_str(), nullptr);
      ::_exit(127);
    }
  }
  ~Daemon() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  [[nodiscard]] std::string out() const { return slurp(out_file); }
  [[nodiscard]] std::string err() const { return slurp(err_file); }
  bool wait_for_output(const std::string& text, std::chrono::seconds timeout) const {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (out().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
};

// Deploys the bundled contracts with mocks on `anvil` and writes a keeper config for them;
// `keeper_extra` / `chain_extra` are added to [keeper] / [chain].
std::string deploy_and_configure(const varkeeper::keeper::AnvilNode& anvil, const TempDir& dir,
                                 const std::string& keeper_extra, const std::string& chain_extra) {
  const auto dep = dir.file("deployment.json");
  const auto deployed = varkeeper::test::run_process(
      {VARKEEPER_BINARY, "deploy", "--rpc", anvil.http_url(), "--chain-id", "31337",
       "--private-key-dev", "anvil0", "--signers", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
       "--mocks", "--limits", "1:3600", "--out", dep});
  REQUIRE_MESSAGE(deployed.exit_code == 0, deployed.err);
  const auto deployment = varkeeper::keeper::read_deployment_file(dep);
  REQUIRE(deployment);
  const auto feed =
      varkeeper::chain::to_checksum_address(deployment->address_of("MockAggregatorEthUsd"));
  const std::string config = dir.file("keeper.toml");
  std::ofstream(config) << "[keeper]\n"
                        << keeper_extra << "store = \"store.db\"\n"
                        << "metrics_address = \"127.0.0.1:"
                        << varkeeper::keeper::free_loopback_port() << "\"\n\n[chain]\n"
                        << "chain_id = 31337\nrpc = [\"" << anvil.http_url() << "\"]\n"
                        << chain_extra << "\n"
                        << "[keys]\nallow_dev_keys = true\nsigners = [{ dev_key = \"anvil1\" }]\n"
                        << "sender = { dev_key = \"anvil0\" }\n\n"
                        << "[contracts]\ndeployment = \"deployment.json\"\n\n"
                        << "[[assets]]\nsymbol = \"ETH\"\nhistory_csv = \"" VARKEEPER_SOURCE_DIR
                           "/config/data/eth_usd_daily.csv\"\n\n"
                        << "[[assets.sources]]\nname = \"a\"\naggregator = \"" << feed
                        << "\"\nheartbeat_s = 3600\n\n"
                        << "[[portfolios]]\nid = 1\npositions = { ETH = 1.0 }\n";
  return config;
}

// SIGTERM, then the exit status (-1 if it still runs after 30 s).
int stop(Daemon& daemon) {
  REQUIRE(::kill(daemon.pid, SIGTERM) == 0);
  for (int i = 0; i < 300; ++i) {
    int s = 0;
    if (::waitpid(daemon.pid, &s, WNOHANG) == daemon.pid) {
      daemon.pid = -1;
      return s;
    }
    std::this_thread::sleep_for(100ms);
  }
  return -1;
}

}  // namespace

TEST_CASE("defect 11: with chain.ws a new head starts a tick at once, not tick_interval_s later") {
  varkeeper::test::require_tool(VARKEEPER_ANVIL);
  varkeeper::keeper::AnvilNode anvil;
  TempDir dir("run-ws-heads");
  const std::string config = deploy_and_configure(anvil, dir, "tick_interval_s = 60\n",
                                                  "ws = \"" + anvil.ws_url() + "\"\n");
  Daemon daemon(dir, config);
  INFO("stdout:\n" << daemon.out() << "\nstderr:\n" << daemon.err());
  REQUIRE(daemon.wait_for_output("\ntick 1 ", 120s));
  CHECK(daemon.out().find("varkeeper: new heads from ws://127.0.0.1:") != std::string::npos);
  // Whatever the first tick sent is mined by now; one more block for certain.
  std::vector<std::unique_ptr<varkeeper::chain::JsonRpcClient>> clients;
  clients.push_back(std::make_unique<varkeeper::chain::JsonRpcClient>(
      varkeeper::chain::make_http_transport(*varkeeper::chain::parse_url(anvil.http_url()))));
  varkeeper::chain::EndpointPool pool(std::move(clients));
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(pool.call("evm_mine"));
  REQUIRE(daemon.wait_for_output("\ntick 2 ", 15s));
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("a block mined to tick 2: " << took << " s (tick_interval_s = 60)");
  CHECK(took < 15.0);

  const int status = stop(daemon);
  REQUIRE(status != -1);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

// Issue 15, defect 9, in the daemon: with the node silent (anvil stopped with SIGSTOP: the kernel
// still accepts the bytes, nothing answers) and a request timeout of 30 s, a tick used to wait
// 3 x 30 s per RPC. keeper.tick_deadline_s = 2 abandons it after 2 s with a line; once the node
// answers again the next tick reads the chain as usual.
TEST_CASE(
    "defect 9: keeper.tick_deadline_s abandons a tick stalled on a silent node, then recovers") {
  varkeeper::test::require_tool(VARKEEPER_ANVIL);
  varkeeper::keeper::AnvilNode anvil;
  TempDir dir("run-tick-deadline");
  const std::string config = deploy_and_configure(
      anvil, dir, "tick_interval_s = 1\ntick_deadline_s = 2\n", "request_timeout_ms = 30000\n");
  Daemon daemon(dir, config);
  INFO("stdout:\n" << daemon.out() << "\nstderr:\n" << daemon.err());
  REQUIRE(daemon.wait_for_output("\ntick 1 ", 120s));
  REQUIRE(::kill(anvil.pid(), SIGSTOP) == 0);
  struct Resume {
    pid_t pid;
    ~Resume() { ::kill(pid, SIGCONT); }
  } resume{anvil.pid()};
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(daemon.wait_for_output("abandoned: tick deadline of 2000 ms passed", 20s));
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("node stopped to 'abandoned': " << took << " s (deadline 2 s, request timeout 30 s)");
  CHECK(took < 8.0);
  REQUIRE(::kill(anvil.pid(), SIGCONT) == 0);
  // A tick after the node is back reads a block again.
  const auto abandoned_at = daemon.out().size();
  const auto until = std::chrono::steady_clock::now() + 20s;
  bool recovered = false;
  while (!recovered && std::chrono::steady_clock::now() < until) {
    const std::string later = daemon.out().substr(abandoned_at);
    std::smatch m;
    recovered = std::regex_search(later, m, std::regex("\ntick [0-9]+ block [1-9][0-9]* \\|"));
    std::this_thread::sleep_for(100ms);
  }
  CHECK(recovered);
  const int status = stop(daemon);
  REQUIRE(status != -1);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
