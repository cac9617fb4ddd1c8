// Issue 16, defect 9 end to end: `varkeeper run --config` reads ETH through Chainlink's own
// EACAggregatorProxy (npm @chainlink/contracts 0.8.0, compiled by solc-js 0.6.6 into
// <build>/contracts/chainlink-v0.6) while its owner switches aggregator (proposeAggregator +
// confirmAggregator). The new aggregator was already live: its latest answer is 5 s older than the
// old aggregator's last one, and the old aggregator keeps answering after the switch. The roundId
// jumps to the next phase (phase id in bits 64..79) and updatedAt steps back; the keeper must
// take that as a new series: no incident, no breaker trip, reports keep landing.
//
// VARKEEPER_PHASE_CHANGE_BINARY=<path> runs the same scenario with another varkeeper build (the
// deployment is still made by this build's binary), e.g. one linked with the price checks of
// 397a77f^, before the phase-id fix: there every tick after the switch records 'updatedAt went
// backwards' (oracle_manipulation), ETH has no majority of sources and the breaker trips.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "chain/address.hpp"
#include "chain/contract_abi.hpp"
#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/hex.hpp"
#include "chain/json_rpc.hpp"
#include "chain/transport.hpp"
#include "chain/url.hpp"
#include "keeper/daemon/chainlink_source.hpp"
#include "keeper/deploy/deploy.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "keeper/store/store.hpp"
#include "tests/support/test_support.hpp"

using namespace std::chrono_literals;
using namespace varkeeper;
using namespace varkeeper::chain;

namespace {

// anvil's development account 3 owns the feeds (the keeper sends from account 0, signs with 1).
constexpr const char* kFeedOwnerKey =
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";

struct Chain {
  keeper::AnvilNode anvil;
  EndpointPool pool;
  EthClient eth;
  Chain() : pool(clients(anvil.http_url())), eth(pool) {}
  static std::vector<std::unique_ptr<JsonRpcClient>> clients(const std::string& url) {
    std::vector<std::unique_ptr<JsonRpcClient>> v;
    v.push_back(std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(url))));
    return v;
  }

  // cast with this node; fails the test with cast's message when cast fails.
  std::string cast(std::vector<std::string> args) const {
    // The options before the positional arguments (`send --create CODE` takes every later one).
    args.insert(args.begin() + 1, {"--rpc-url", anvil.http_url()});
    args.insert(args.begin(), VARKEEPER_CAST);
    const auto r = test::run_process(args);
    INFO("cast " << args[1] << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    return r.out;
  }
  // A transaction from the feed owner; returns its block number.
  std::uint64_t send(const std::string& to, const std::string& signature,
                     const std::vector<std::string>& args = {}) const {
    std::vector<std::string> a{"send", "--json", "--private-key", kFeedOwnerKey, to, signature};
    a.insert(a.end(), args.begin(), args.end());
    const auto receipt = Json::parse(cast(a));
    REQUIRE(receipt["status"] == "0x1");
    return *decode_u64_quantity(receipt["blockNumber"], "blockNumber");
  }
  // Deploys a Chainlink 0.6 artifact with constructor `args`.
  Address deploy(const std::string& name, const std::vector<AbiValue>& args) const {
    auto abi =
        ContractAbi::load(std::filesystem::path(VARKEEPER_CHAINLINK_V06_DIR) / (name + ".json"));
    REQUIRE_MESSAGE(abi, "artifact " << name << " (target varkeeper_chainlink_v06)");
    const auto code = abi->deploy_data(args);
    REQUIRE(code);
    const auto receipt = Json::parse(
        cast({"send", "--json", "--private-key", kFeedOwnerKey, "--create", to_hex(*code)}));
    REQUIRE(receipt["status"] == "0x1");
    return *parse_address(receipt["contractAddress"].get<std::string>());
  }
  // The first value cast prints for a call (without its "[1.8e19]" annotation).
  std::string call(const Address& to, const std::string& signature,
                   const std::vector<std::string>& args = {}) const {
    std::vector<std::string> a{"call", to_checksum_address(to), signature};
    a.insert(a.end(), args.begin(), args.end());
    std::istringstream out(cast(a));
    std::string first;
    out >> first;
    return first;
  }
};

// `varkeeper run` in the background, its output in files; killed if the test ends early.
struct Daemon {
  pid_t pid = -1;
  std::string out_file, err_file;
  Daemon(const test::TempDir& dir, const std::vector<std::string>& argv)
      : out_file(dir.file("out.txt")), err_file(dir.file("err.txt")) {
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (out < 0 || err < 0) {
        ::_exit(126);
      }
      ::dup2(out, 1);
      ::dup2(err, 2);
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
  static std::string slurp(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  // SIGTERM: the tick in progress finishes; returns the exit code.
  int stop() {
    REQUIRE(::kill(pid, SIGTERM) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    pid = -1;
    REQUIRE(WIFEXITED(status));
    return WEXITSTATUS(status);
  }
};

struct Accepted {
  std::uint64_t round = 0;
  std::uint64_t breaker_status = 0;
  std::uint64_t block = 0;
};

// RiskOracle's ReportAccepted events for portfolio 1 (portfolioId, round, VaR, CVaR, status).
std::vector<Accepted> accepted_reports(EthClient& eth, const ContractAbi& oracle_abi,
                                       const Address& oracle) {
  LogFilter f;
  f.from_block = 0;
  f.addresses = {oracle};
  auto logs = eth.get_logs(f);
  REQUIRE(logs);
  std::vector<Accepted> out;
  for (const auto& l : *logs) {
    const auto d = oracle_abi.decode_log(l.topics, l.data);
    if (d && d->event != nullptr && d->event->name == "ReportAccepted" &&
        *d->args[0].as_uint() == 1) {
      out.push_back({static_cast<std::uint64_t>(*d->args[1].as_uint()),
                     static_cast<std::uint64_t>(*d->args[4].as_uint()), l.block_number});
    }
  }
  return out;
}

std::size_t landed_after(const std::vector<Accepted>& reports, std::uint64_t block) {
  return static_cast<std::size_t>(std::count_if(
      reports.begin(), reports.end(), [&](const Accepted& a) { return a.block > block; }));
}

// Waits until `n` reports were accepted after `block`; false after 30 s.
bool wait_for_reports(EthClient& eth, const ContractAbi& abi, const Address& oracle,
                      std::uint64_t block, std::size_t n) {
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < until) {
    if (landed_after(accepted_reports(eth, abi, oracle), block) >= n) {
      return true;
    }
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

// The daemon's tick lines ("tick 7 block 31 | ETH 3001.50 | p1 VaR ... normal ..."), by block.
struct TickLine {
  std::uint64_t block = 0;
  std::string text;
};
std::vector<TickLine> tick_lines(const std::string& out) {
  std::vector<TickLine> lines;
  std::istringstream in(out);
  const std::regex tick("^tick [0-9]+ block ([0-9]+) \\|");
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_search(line, m, tick)) {
      lines.push_back({std::stoull(m[1].str()), line});
    }
  }
  return lines;
}

std::string decimal(const U256& v) { return v.str(); }

}  // namespace

TEST_CASE(
    "defect 9: a daemon run across an EACAggregatorProxy phase change, the old aggregator "
    "answering after the new: no incident, no trip, reports keep landing") {
  test::require_tool(VARKEEPER_CAST);
  Chain c;
  test::TempDir dir("phase-change");

  // Chainlink's contracts: the old and the new aggregator, the proxy (with the read access
  // controller mainnet proxies have) on the old one, and a second source that does not switch.
  const auto answer = [](std::int64_t usd) { return AbiValue::from_int(usd * 100'000'000); };
  const AbiValue eight = AbiValue::from_uint(8);
  const Address old_agg = c.deploy("MockV3Aggregator", {eight, answer(3000)});
  const Address new_agg = c.deploy("MockV3Aggregator", {eight, answer(2999)});
  const Address backup = c.deploy("MockV3Aggregator", {eight, answer(3000)});
  const Address access = c.deploy("SimpleReadAccessController", {});
  const Address proxy = c.deploy("EACAggregatorProxy",
                                 {AbiValue::from_address(old_agg), AbiValue::from_address(access)});
  const std::string old_hex = to_checksum_address(old_agg);
  const std::string new_hex = to_checksum_address(new_agg);
  const std::string proxy_hex = to_checksum_address(proxy);
  c.send(old_hex, "updateAnswer(int256)", {"300100000000"});  // old round 2: 3001
  REQUIRE(c.call(proxy, "phaseId()(uint16)") == "1");

  // A tick a second and a report every 2 s (publish heartbeat): each report lands (1 s blocks)
  // before the next is due.
  const std::string config = dir.file("keeper.toml");
  std::ofstream(config) << "[keeper]\ntick_interval_s = 1\nstore = \"store.db\"\n"
                        << "metrics_address = \"127.0.0.1:" << keeper::free_loopback_port()
                        << "\"\n\n[chain]\nchain_id = 31337\nrpc = [\"" << c.anvil.http_url()
                        << "\"]\nrequest_timeout_ms = 2000\n\n"
                        << "[keys]\nallow_dev_keys = true\nsigners = [{ dev_key = \"anvil1\" }]\n"
                        << "sender = { dev_key = \"anvil0\" }\n\n"
                        << "[contracts]\ndeployment = \"deployment.json\"\n\n"
                        << "[[assets]]\nsymbol = \"ETH\"\nhistory_csv = \"" VARKEEPER_SOURCE_DIR
                           "/config/data/eth_usd_daily.csv\"\n\n"
                        << "[[assets.sources]]\nname = \"chainlink\"\naggregator = \"" << proxy_hex
                        << "\"\nheartbeat_s = 3600\n\n"
                        << "[[assets.sources]]\nname = \"backup\"\naggregator = \""
                        << to_checksum_address(backup) << "\"\nheartbeat_s = 3600\n\n"
                        << "[[portfolios]]\nid = 1\nname = \"treasury\"\n"
                        << "positions = { ETH = 100.0 }\n\n[portfolios.publish]\nheartbeat_s = 2\n";
  const auto deployed =
      test::run_process({VARKEEPER_BINARY, "deploy", "--config", config, "--limits", "1:3600"});
  REQUIRE_MESSAGE(deployed.exit_code == 0, deployed.err);
  const auto deployment = keeper::read_deployment_file(dir / "deployment.json");
  REQUIRE(deployment);
  const Address oracle = deployment->address_of("RiskOracle");
  auto oracle_abi = ContractAbi::load(test::artifacts_dir() / "RiskOracle.json");
  REQUIRE(oracle_abi);

  // From here a block a second, as on a real chain (the keeper's clock is the block's).
  REQUIRE(c.pool.call("evm_setIntervalMining", Json::array({1})));
  const char* other = std::getenv("VARKEEPER_PHASE_CHANGE_BINARY");
  const std::string binary = other != nullptr ? other : VARKEEPER_BINARY;
  // --verbose: the tick lines carry the consensus prices this test follows (issue 19).
  Daemon daemon(dir, {binary, "run", "--config", config, "--verbose"});
  INFO("daemon stdout:\n" << daemon.out() << "\ndaemon stderr:\n" << daemon.err());
  REQUIRE(wait_for_reports(c.eth, *oracle_abi, oracle, 0, 2));

  // The old aggregator answers (round 3, 3002) after the new one's latest answer (3003), which
  // is 5 s older; then the owner switches the proxy to the new aggregator.
  keeper::ChainlinkSource through_proxy(c.eth, {{"ETH", "chainlink", proxy}});
  through_proxy.init();
  c.send(old_hex, "updateAnswer(int256)", {"300200000000"});
  const auto before = through_proxy.poll();
  REQUIRE(before.readings.size() == 1);
  const risk::RoundData old_last = before.readings[0].round;
  CHECK(old_last.round_id == risk::RoundId{1, 3});
  const U256 phase_bit = U256(1) << 64;
  CHECK(c.call(proxy, "latestRound()(uint256)") == decimal(phase_bit + 3));
  c.send(new_hex, "updateRoundData(uint80,int256,uint256,uint256)",
         {"2", "300300000000", std::to_string(old_last.updated_at - 5),
          std::to_string(old_last.updated_at - 5)});
  c.send(proxy_hex, "proposeAggregator(address)", {new_hex});
  const std::uint64_t switched = c.send(proxy_hex, "confirmAggregator(address)", {new_hex});
  c.send(old_hex, "updateAnswer(int256)", {"300900000000"});  // old round 4, no longer read

  // The switch as the keeper reads it, and as cast reads the raw uint80: phase 1 -> 2 in the top
  // bits, updatedAt 5 s back.
  const auto after = through_proxy.poll();
  REQUIRE(after.readings.size() == 1);
  const risk::RoundData new_first = after.readings[0].round;
  CHECK(new_first.round_id == risk::RoundId{2, 2});
  CHECK(new_first.updated_at == old_last.updated_at - 5);
  CHECK(new_first.answer == doctest::Approx(3003.0));
  CHECK(c.call(proxy, "phaseId()(uint16)") == "2");
  CHECK(c.call(proxy, "latestRound()(uint256)") == decimal(U256(2) * phase_bit + 2));
  // Phase 1 stays readable through the proxy: the old aggregator's answer after the switch.
  CHECK(c.call(proxy, "getAnswer(uint256)(int256)", {decimal(phase_bit + 4)}) == "300900000000");

  // Reports keep landing after the switch; then the new aggregator answers again (round 3, now).
  REQUIRE(wait_for_reports(c.eth, *oracle_abi, oracle, switched, 3));
  const std::uint64_t updated = c.send(new_hex, "updateAnswer(int256)", {"300400000000"});
  REQUIRE(wait_for_reports(c.eth, *oracle_abi, oracle, updated, 2));
  CHECK(daemon.stop() == 0);

  const auto out = daemon.out();
  const auto ticks = tick_lines(out);
  const auto reports = accepted_reports(c.eth, *oracle_abi, oracle);
  CHECK(landed_after(reports, switched) >= 5);
  for (const auto& r : reports) {
    CAPTURE(r.round);
    CHECK(r.breaker_status == 0);  // kNormal: never tripped, not even in cooldown
  }
  // Every tick: ETH usable (the consensus of both sources) and the portfolio's breaker normal.
  // The consensus after the switch is the new aggregator's through the proxy with the backup's
  // 3000 (3001.50, then 3002.00), never the old aggregator's 3009 (3004.50).
  CHECK(ticks.size() >= 10);
  bool saw_new_phase = false, saw_new_round = false;
  for (const auto& t : ticks) {
    CAPTURE(t.text);
    CHECK(t.text.find(" | ETH 300") != std::string::npos);
    CHECK(t.text.find(" normal") != std::string::npos);
    CHECK(t.text.find("ETH 3004.50") == std::string::npos);
    saw_new_phase =
        saw_new_phase || (t.block > switched && t.text.find("ETH 3001.50") != std::string::npos);
    saw_new_round =
        saw_new_round || (t.block > updated && t.text.find("ETH 3002.00") != std::string::npos);
  }
  CHECK(saw_new_phase);
  CHECK(saw_new_round);

  // No incident of any kind in the keeper's store (a phase change is routine).
  const auto store = keeper::KeeperStore::open(dir.file("store.db"));
  REQUIRE(store);
  const auto incidents = store->incidents(0, std::numeric_limits<std::int64_t>::max());
  for (const auto& i : incidents) {
    CAPTURE(i.category + " " + i.subject + " " + i.evidence);
    CHECK(i.category.empty());
  }
  CHECK(incidents.empty());
}
