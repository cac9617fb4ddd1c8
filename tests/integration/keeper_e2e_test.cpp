// The keeper end to end on anvil: the embedded scenario with a crash, checked from outside with
// cast and the chain's event logs; and kill -9 at random points with restarts.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "chain/contract_abi.hpp"
#include "chain/endpoint_pool.hpp"
#include "chain/eth_client.hpp"
#include "chain/hex.hpp"
#include "chain/secp256k1.hpp"
#include "keeper/config/config.hpp"
#include "keeper/core/units.hpp"
#include "keeper/deploy/deploy.hpp"
#include "keeper/devchain/anvil_node.hpp"
#include "keeper/store/store.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper;
using namespace varkeeper::chain;
using keeper::AnvilNode;
using keeper::AnvilOptions;

namespace {

struct Chain {
  AnvilNode anvil;
  EndpointPool pool;
  EthClient eth;
  Chain() : anvil(opts()), pool(clients(anvil.http_url())), eth(pool) {}
  static AnvilOptions opts() {
    AnvilOptions o;
    o.block_time_seconds = 1;
    return o;
  }
  static std::vector<std::unique_ptr<JsonRpcClient>> clients(const std::string& url) {
    std::vector<std::unique_ptr<JsonRpcClient>> v;
    v.push_back(std::make_unique<JsonRpcClient>(make_http_transport(*parse_url(url))));
    return v;
  }
};

std::filesystem::path temp_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

ContractAbi artifact(const std::string& name) {
  auto abi = ContractAbi::load(varkeeper::test::artifacts_dir() / (name + ".json"));
  REQUIRE_MESSAGE(abi, "artifact " << name);
  return std::move(*abi);
}

std::vector<DecodedLog> logs_of(EthClient& eth, const ContractAbi& abi, const Address& at,
                                const std::string& event) {
  LogFilter f;
  f.from_block = 0;
  f.addresses = {at};
  auto logs = eth.get_logs(f);
  REQUIRE(logs);
  std::vector<DecodedLog> out;
  for (const auto& l : *logs) {
    auto d = abi.decode_log(l.topics, l.data);
    if (d && d->event != nullptr && d->event->name == event) {
      auto copy = *d;
      copy.args.push_back(AbiValue::from_uint(l.block_number));  // block, appended for the test
      out.push_back(std::move(copy));
    }
  }
  return out;
}

std::uint64_t u64(const AbiValue& v) { return static_cast<std::uint64_t>(*v.as_uint()); }

}  // namespace

TEST_CASE(
    "the keeper on anvil: figures on chain equal the keeper's, rebalance only above the threshold, "
    "payout only after the crash") {
  test::require_tool(VARKEEPER_CAST);
  Chain c;
  const auto dir = temp_dir("varkeeper-e2e");
  const std::string deployment = (dir / "deployment.json").string();
  const std::string store_path = (dir / "store.db").string();
  const auto run =
      test::run_process({VARKEEPER_BINARY, "run", "--rpc", c.anvil.http_url(), "--deployment",
                         deployment, "--store", store_path, "--ticks", "34", "--crash-at", "16",
                         "--crash-drop", "0.5", "--tick-ms", "1000", "--seed", "7"});
  INFO(run.out.substr(run.out.size() > 4000 ? run.out.size() - 4000 : 0));
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const auto dep = keeper::read_deployment_file(deployment);
  REQUIRE(dep);
  const Address oracle = dep->address_of("RiskOracle");

  // 1. RiskOracle.latest(1), read with cast, equals what the keeper recorded for that round.
  const auto store = keeper::KeeperStore::open(store_path);
  const auto last = store->last_accepted_report(1);
  REQUIRE(last);
  const auto latest = test::run_process({VARKEEPER_CAST, "call", to_checksum_address(oracle),
                                         "latest(uint64)((uint64,uint64,uint64,uint64,uint96,"
                                         "uint64,uint32,uint8,uint8,uint40,bytes32))",
                                         "1", "--rpc-url", c.anvil.http_url()});
  REQUIRE(latest.exit_code == 0);
  // cast prints the tuple as "(round, observedAt, valueAtRisk [..], ...)".
  std::string t = latest.out;
  t.erase(std::remove_if(t.begin(), t.end(), [](char ch) { return ch == '(' || ch == ')'; }),
          t.end());
  std::vector<std::string> fields;
  std::stringstream ss(t);
  for (std::string f; std::getline(ss, f, ',');) {
    f.erase(0, f.find_first_not_of(' '));
    fields.push_back(f.substr(0, f.find(' ')));
  }
  REQUIRE(fields.size() == 11);
  CHECK(std::stoull(fields[0]) == last->round);
  CHECK(std::stoull(fields[2]) == keeper::to_wad(last->published_var));
  CHECK(std::stoull(fields[1]) == static_cast<std::uint64_t>(last->observed_at));

  // 2. The rebalancer de-risked only on reports with VaR above its upper threshold (0.25), never
  //    before the first such report was accepted.
  const auto oracle_abi = artifact("RiskOracle");
  const auto rebal_abi = artifact("RiskRebalancer");
  const auto accepted = logs_of(c.eth, oracle_abi, oracle, "ReportAccepted");
  const auto swaps = logs_of(c.eth, rebal_abi, dep->address_of("RiskRebalancer"), "Rebalanced");
  const std::uint64_t upper = keeper::to_wad(0.25);
  std::uint64_t first_high_block = ~0ULL;
  for (const auto& a : accepted) {
    if (u64(a.args[0]) == 1 && u64(a.args[2]) >= upper) {
      first_high_block = std::min(first_high_block, u64(a.args.back()));
    }
  }
  REQUIRE(first_high_block != ~0ULL);  // the crash pushed VaR above the threshold
  REQUIRE_FALSE(swaps.empty());        // and the vault de-risked
  for (const auto& s : swaps) {
    CHECK(*s.args[0].as_bool());                    // de-risk only
    CHECK(u64(s.args[1]) >= upper);                 // on a VaR above the threshold
    CHECK(u64(s.args.back()) >= first_high_block);  // not before such a report existed
  }

  // 3. Protection: a settled epoch with a payout (the crash) and one without (calm).
  const auto settled =
      logs_of(c.eth, artifact("VaRProtection"), dep->address_of("VaRProtection"), "EpochSettled");
  bool paid = false, calm = false;
  for (const auto& e : settled) {
    const U256 payout = *e.args[4].as_uint();
    (payout > 0 ? paid : calm) = true;
  }
  CHECK(paid);
  CHECK(calm);
  std::filesystem::remove_all(dir);
}

TEST_CASE(
    "kill -9 at random points, ten times: no round published twice, no nonce gap, the run "
    "continues") {
  const std::uint64_t seed = test::test_seed(0x9e2e);
  std::mt19937_64 rng(seed);
  Chain c;
  const auto dir = temp_dir("varkeeper-kill9");
  const std::string deployment = (dir / "deployment.json").string();
  const std::string store_path = (dir / "store.db").string();
  const std::vector<std::string> argv{VARKEEPER_BINARY, "run",      "--rpc",   c.anvil.http_url(),
                                      "--deployment",   deployment, "--store", store_path,
                                      "--tick-ms",      "700"};
  // First run deploys (not killed before the deployment file is written).
  auto first = argv;
  first.insert(first.end(), {"--ticks", "3"});
  REQUIRE(test::run_process(first).exit_code == 0);
  for (int i = 0; i < 10; ++i) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1500 + rng() % 3000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  auto last = argv;
  last.insert(last.end(), {"--ticks", "6"});
  const auto final_run = test::run_process(last);
  INFO(final_run.out.substr(final_run.out.size() > 3000 ? final_run.out.size() - 3000 : 0));
  INFO(final_run.err);
  REQUIRE(final_run.exit_code == 0);

  // On chain: every accepted (portfolio, round) once, rounds increasing, new rounds after restarts.
  const auto dep = keeper::read_deployment_file(deployment);
  REQUIRE(dep);
  const auto accepted =
      logs_of(c.eth, artifact("RiskOracle"), dep->address_of("RiskOracle"), "ReportAccepted");
  std::set<std::pair<std::uint64_t, std::uint64_t>> seen;
  std::map<std::uint64_t, std::uint64_t> last_round;
  for (const auto& a : accepted) {
    const auto key = std::pair{u64(a.args[0]), u64(a.args[1])};
    CHECK_MESSAGE(seen.insert(key).second,
                  "round " << key.second << " of " << key.first << " twice");
    CHECK(key.second > last_round[key.first]);
    last_round[key.first] = key.second;
  }
  CHECK(last_round[1] >= 5);
  // The sender's nonces: consecutive, nothing pending or stuck behind a gap.
  const Address sender = chain::address_of(keeper::dev_key(0));
  const auto latest = c.eth.transaction_count(sender, BlockTag::latest());
  const auto pending = c.eth.transaction_count(sender, BlockTag::pending());
  REQUIRE(latest);
  REQUIRE(pending);
  CHECK(*pending - *latest <= 2);  // at most the final run's last in-flight transactions
  std::set<std::uint64_t> nonces;
  const auto head = *c.eth.block_number();
  for (std::uint64_t b = 1; b <= head; ++b) {
    auto r = c.pool.call("eth_getBlockByNumber", Json::array({u256_to_quantity(U256(b)), true}));
    REQUIRE(r);
    for (const auto& tx : (*r)["transactions"]) {
      if (*parse_address(tx["from"].get<std::string>()) != sender) continue;
      CHECK(nonces.insert(*decode_u64_quantity(tx["nonce"], "nonce")).second);
    }
  }
  REQUIRE_FALSE(nonces.empty());
  CHECK(*nonces.begin() == 0);
  CHECK(*nonces.rbegin() == nonces.size() - 1);
  std::filesystem::remove_all(dir);
}
