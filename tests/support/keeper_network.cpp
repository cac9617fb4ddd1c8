#include "tests/support/keeper_network.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "chain/abi.hpp"
#include "chain/hex.hpp"
#include "chain/json_rpc.hpp"
#include "chain/secp256k1.hpp"
#include "chain/transport.hpp"
#include "chain/url.hpp"
#include "keeper/config/config.hpp"
#include "keeper/deploy/deploy.hpp"
#include "keeper/store/store.hpp"

namespace varkeeper::test {

using chain::Address;
using chain::Json;

// ---------------------------------------------------------------- ChildProcess

ChildProcess::ChildProcess(std::vector<std::string> argv, std::string out_file,
                           std::string err_file)
    : out_file_(std::move(out_file)), err_file_(std::move(err_file)) {
  pid_ = ::fork();
  if (pid_ < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid_ == 0) {
    const int out = ::open(out_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    const int err = ::open(err_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (out < 0 || err < 0) {
      ::_exit(126);
    }
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (auto& a : argv) {
      args.push_back(a.data());
    }
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

bool ChildProcess::running() {
  if (pid_ <= 0) {
    return false;
  }
  if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void ChildProcess::kill9() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int ChildProcess::terminate(std::chrono::seconds timeout) {
  if (pid_ <= 0) {
    return -1;
  }
  ::kill(pid_, SIGTERM);
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill9();
  return -1;
}

std::string ChildProcess::out() const {
  std::ifstream in(out_file_);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string ChildProcess::err() const {
  std::ifstream in(err_file_);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// ---------------------------------------------------------------- KeeperNetwork

namespace {

std::string dev_key_hex(unsigned index) { return chain::to_hex(keeper::dev_key(index).reveal()); }

std::uint64_t u64(const chain::AbiValue& v) {
  const auto* u = v.as_uint();
  if (u == nullptr) {
    throw std::runtime_error("keeper network: expected an unsigned ABI value");
  }
  return static_cast<std::uint64_t>(*u);
}

std::uint64_t quantity(const Json& j, const char* what) {
  auto v = chain::decode_u64_quantity(j, what);
  if (!v) {
    throw std::runtime_error(std::string("keeper network: bad quantity ") + what);
  }
  return *v;
}

// The lines of cast's output for a tuple "(a [..], b, ...)" as numbers, annotations dropped.
std::vector<std::string> tuple_fields(std::string t) {
  t.erase(std::remove_if(t.begin(), t.end(), [](char ch) { return ch == '(' || ch == ')'; }),
          t.end());
  std::vector<std::string> fields;
  std::stringstream ss(t);
  for (std::string f; std::getline(ss, f, ',');) {
    f.erase(0, f.find_first_not_of(" \n"));
    fields.push_back(f.substr(0, f.find_first_of(" \n")));
  }
  return fields;
}

// An HTTP GET on loopback; the body, or "" on failure.
std::string http_get(std::uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return {};
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return {};
  }
  const std::string req =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return {};
  }
  std::string response;
  char buf[8192];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
    response.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : response.substr(body + 4);
}

}  // namespace

KeeperNetwork::KeeperNetwork(KeeperNetworkOptions options) : options_(std::move(options)) {
  if (options_.binary.empty()) {
    options_.binary = VARKEEPER_BINARY;
  }
  if (options_.keepers < 1 || options_.keepers > 3) {
    throw std::invalid_argument("keeper network: 1 to 3 keepers (anvil's ten dev keys)");
  }
  require_tool(VARKEEPER_CAST);
  keeper::AnvilOptions anvil;
  if (options_.block_ms == 1000) {
    anvil.block_time_seconds = 1;
  } else {
    anvil.no_mining = true;
  }
  anvil_ = std::make_unique<keeper::AnvilNode>(anvil);
  std::vector<std::unique_ptr<chain::JsonRpcClient>> clients;
  clients.push_back(std::make_unique<chain::JsonRpcClient>(
      chain::make_http_transport(*chain::parse_url(anvil_->http_url()))));
  pool_ = std::make_unique<chain::EndpointPool>(std::move(clients));
  eth_ = std::make_unique<chain::EthClient>(*pool_);
  if (options_.block_ms != 1000) {
    miner_ = std::thread([this] { mine_loop(); });
  }

  // Keeper i: sender anvil(1 + i) (pays gas), signer anvil(4 + i); anvil0 deploys, anvil9 moves
  // the feed.
  for (std::size_t i = 0; i < options_.keepers; ++i) {
    sender_keys_.push_back(static_cast<unsigned>(1 + i));
    signer_keys_.push_back(static_cast<unsigned>(4 + i));
    senders_.push_back(chain::address_of(keeper::dev_key(sender_keys_.back())));
    signers_.push_back(chain::address_of(keeper::dev_key(signer_keys_.back())));
    listen_ports_.push_back(keeper::free_loopback_port());
    metrics_ports_.push_back(keeper::free_loopback_port());
    relays_.push_back(std::make_unique<TcpRelay>(listen_ports_.back()));
    rpc_urls_.push_back(anvil_->http_url());
    processes_.emplace_back();
    starts_.push_back(0);
  }

  std::string signer_list;
  for (const auto& s : signers_) {
    signer_list += (signer_list.empty() ? "" : ",") + chain::to_checksum_address(s);
  }
  const std::string deployment = (dir_.path() / "deployment.json").string();
  const auto deployed = run_process(
      {options_.binary, "deploy", "--rpc", anvil_->http_url(), "--chain-id", "31337",
       "--private-key-dev", "anvil0", "--signers", signer_list, "--quorum",
       std::to_string(options_.quorum), "--mocks", "--limits", "1:3600", "--out", deployment});
  if (deployed.exit_code != 0) {
    throw std::runtime_error("keeper network: varkeeper deploy failed: " + deployed.err +
                             deployed.out);
  }
  const auto dep = keeper::read_deployment_file(deployment);
  if (!dep) {
    throw std::runtime_error("keeper network: no deployment file");
  }
  oracle_ = dep->address_of("RiskOracle");
  eth_feed_ = dep->address_of("MockAggregatorEthUsd");
  auto abi = chain::ContractAbi::load(artifacts_dir() / "RiskOracle.json");
  if (!abi) {
    throw std::runtime_error("keeper network: no RiskOracle artifact");
  }
  oracle_abi_ = std::move(*abi);
  deployed_block_ = head();
  const std::uint64_t r = options_.round_blocks;
  genesis_block_ = (deployed_block_ + options_.genesis_after_blocks + r - 1) / r * r;
  for (std::size_t i = 0; i < options_.keepers; ++i) {
    write_config(i);
  }
}

KeeperNetwork::~KeeperNetwork() {
  processes_.clear();  // SIGKILL every keeper still running
  stop_mining_ = true;
  if (miner_.joinable()) {
    miner_.join();
  }
}

void KeeperNetwork::mine_loop() {
  while (!stop_mining_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.block_ms));
    (void)pool_->call("evm_mine", Json::array());
  }
}

std::optional<std::size_t> KeeperNetwork::keeper_of_signer(const Address& a) const {
  for (std::size_t i = 0; i < signers_.size(); ++i) {
    if (signers_[i] == a) {
      return i;
    }
  }
  return std::nullopt;
}

std::optional<std::size_t> KeeperNetwork::keeper_of_sender(const Address& a) const {
  for (std::size_t i = 0; i < senders_.size(); ++i) {
    if (senders_[i] == a) {
      return i;
    }
  }
  return std::nullopt;
}

std::string KeeperNetwork::config_path(std::size_t i) const {
  return (dir_.path() / ("k" + std::to_string(i + 1)) / "keeper.toml").string();
}

std::string KeeperNetwork::store_path(std::size_t i) const {
  return (dir_.path() / ("k" + std::to_string(i + 1)) / "store.db").string();
}

void KeeperNetwork::write_config(std::size_t i) {
  const auto kdir = dir_.path() / ("k" + std::to_string(i + 1));
  std::filesystem::create_directories(kdir);
  std::ofstream toml(config_path(i));
  toml << "# keeper k" << i + 1 << " of " << options_.keepers
       << " (tests/support/keeper_network.cpp)\n"
       << "[keeper]\ntick_interval_s = 1\nstore = \"store.db\"\n"
       << "metrics_address = \"127.0.0.1:" << metrics_ports_[i] << "\"\n"
       << options_.keeper_extra << "\n"
       << "[chain]\nchain_id = 31337\nrpc = [\"" << rpc_urls_[i] << "\"]\n"
       << "request_timeout_ms = 2000\nconfirmations = 1\n\n"
       << "[keys]\nallow_dev_keys = true\nsigners = [{ dev_key = \"anvil" << signer_keys_[i]
       << "\" }]\nsender = { dev_key = \"anvil" << sender_keys_[i] << "\" }\n\n"
       << "[contracts]\ndeployment = \"" << (dir_.path() / "deployment.json").string() << "\"\n\n"
       << "[[assets]]\nsymbol = \"ETH\"\nhistory_csv = \"" VARKEEPER_SOURCE_DIR
          "/config/data/eth_usd_daily.csv\"\n\n"
       << "[[assets.sources]]\nname = \"chainlink\"\naggregator = \""
       << chain::to_checksum_address(eth_feed_) << "\"\nheartbeat_s = 3600\n\n"
       << "[[portfolios]]\nid = 1\nname = \"treasury\"\npositions = { ETH = 100.0 }\n"
       << "[portfolios.publish]\nheartbeat_s = 1\n\n"
       << "[network]\nenabled = true\nlisten = \"127.0.0.1:" << listen_ports_[i] << "\"\n"
       << "round_blocks = " << options_.round_blocks << "\n"
       << "genesis_block = " << genesis_block_ << "\n"
       << "lag_blocks = " << options_.lag_blocks << "\n"
       << "backup_delay_blocks = " << options_.backup_delay_blocks << "\n"
       << "propose_after_blocks = " << options_.propose_after_blocks << "\n"
       << options_.network_extra << "\n";
  for (std::size_t j = 0; j < options_.keepers; ++j) {
    if (j == i) {
      continue;
    }
    toml << "[[peers]]\nurl = \"http://127.0.0.1:" << relays_[j]->port() << "\"\nsigner = \""
         << chain::to_checksum_address(signers_[j]) << "\"\n\n";
  }
}

void KeeperNetwork::route_rpc(std::size_t i, const std::string& url) {
  rpc_urls_.at(i) = url;
  write_config(i);
}

void KeeperNetwork::start(std::size_t i) {
  if (processes_.at(i) && processes_[i]->running()) {
    throw std::logic_error("keeper network: keeper " + std::to_string(i + 1) + " already runs");
  }
  ++starts_[i];
  const auto kdir = dir_.path() / ("k" + std::to_string(i + 1));
  processes_[i] = std::make_unique<ChildProcess>(
      std::vector<std::string>{options_.binary, "run", "--config", config_path(i)},
      (kdir / "out.txt").string(), (kdir / "err.txt").string());
}

void KeeperNetwork::start_all() {
  for (std::size_t i = 0; i < options_.keepers; ++i) {
    start(i);
  }
}

void KeeperNetwork::kill9(std::size_t i) {
  if (processes_.at(i)) {
    processes_[i]->kill9();
  }
}

int KeeperNetwork::stop(std::size_t i) {
  return processes_.at(i) ? processes_[i]->terminate(std::chrono::seconds(30)) : -1;
}

bool KeeperNetwork::running(std::size_t i) { return processes_.at(i) && processes_[i]->running(); }

std::string KeeperNetwork::out(std::size_t i) const {
  const auto f = dir_.path() / ("k" + std::to_string(i + 1)) / "out.txt";
  return std::filesystem::exists(f) ? read_file(f) : std::string();
}

std::string KeeperNetwork::err(std::size_t i) const {
  const auto f = dir_.path() / ("k" + std::to_string(i + 1)) / "err.txt";
  return std::filesystem::exists(f) ? read_file(f) : std::string();
}

std::string KeeperNetwork::logs(std::size_t tail) const {
  std::ostringstream all;
  const auto last = [tail](const std::string& s) {
    return s.size() > tail ? "..." + s.substr(s.size() - tail) : s;
  };
  for (std::size_t i = 0; i < options_.keepers; ++i) {
    all << "--- k" << i + 1 << " stdout:\n"
        << last(out(i)) << "\n--- k" << i + 1 << " stderr:\n"
        << last(err(i)) << "\n";
  }
  return all.str();
}

void KeeperNetwork::cut_peer_links() {
  for (std::size_t i = 0; i < relays_.size(); ++i) {
    cut_peer_link_to(i);
  }
}

void KeeperNetwork::heal_peer_links() {
  for (std::size_t i = 0; i < relays_.size(); ++i) {
    heal_peer_link_to(i);
  }
}

void KeeperNetwork::cut_peer_link_to(std::size_t i) {
  relays_.at(i)->set_refusing(true);
  relays_[i]->cut_all();
}

void KeeperNetwork::heal_peer_link_to(std::size_t i) { relays_.at(i)->set_refusing(false); }

std::string KeeperNetwork::cast(std::vector<std::string> args) const {
  args.insert(args.begin() + 1, {"--rpc-url", anvil_->http_url()});
  args.insert(args.begin(), VARKEEPER_CAST);
  const auto r = run_process(args);
  if (r.exit_code != 0) {
    throw std::runtime_error("cast " + args[1] + " failed: " + r.err);
  }
  return r.out;
}

void KeeperNetwork::set_eth_price(double usd) {
  const auto units = static_cast<std::int64_t>(std::llround(usd * 1e8));
  (void)cast({"send", "--private-key", dev_key_hex(9), chain::to_checksum_address(eth_feed_),
              "setAnswer(int256)", std::to_string(units)});
}

std::uint64_t KeeperNetwork::head() {
  auto b = eth_->block_number();
  if (!b) {
    throw std::runtime_error("keeper network: eth_blockNumber failed");
  }
  return *b;
}

bool KeeperNetwork::wait_for_block(std::uint64_t block, std::chrono::seconds timeout) {
  return wait_until([&] { return head() >= block; }, timeout);
}

bool KeeperNetwork::wait_until(const std::function<bool()>& done, std::chrono::seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return done();
}

// RiskOracle.latest's signature with its AcceptedReport tuple, for cast.
constexpr const char* kLatestSignature =
    "latest(uint64)((uint64,uint64,uint64,uint64,uint96,uint64,uint32,uint8,uint8,uint40,"
    "bytes32))";

LatestReport KeeperNetwork::latest(std::uint64_t portfolio_id) const {
  const auto args = std::vector<std::string>{VARKEEPER_CAST,
                                             "call",
                                             "--rpc-url",
                                             anvil_->http_url(),
                                             chain::to_checksum_address(oracle_),
                                             kLatestSignature,
                                             std::to_string(portfolio_id)};
  const auto r = run_process(args);
  if (r.exit_code != 0) {
    return {};  // NoReport
  }
  const auto f = tuple_fields(r.out);
  if (f.size() != 11) {
    throw std::runtime_error("keeper network: cast latest: " + r.out);
  }
  return {std::stoull(f[0]), std::stoull(f[1]), std::stoull(f[2]), std::stoull(f[3])};
}

std::vector<AcceptedLog> KeeperNetwork::accepted(std::uint64_t from_block) const {
  const auto out = cast({"logs", "--json", "--from-block", std::to_string(from_block), "--address",
                         chain::to_checksum_address(oracle_),
                         "ReportAccepted(uint64 indexed,uint64 indexed,uint64,uint64,uint8)"});
  std::vector<AcceptedLog> logs;
  for (const auto& l : Json::parse(out)) {
    std::vector<chain::Hash32> topics;
    for (const auto& t : l["topics"]) {
      topics.push_back(*chain::from_hex_fixed<32>(t.get<std::string>()));
    }
    const auto data = chain::from_hex(l["data"].get<std::string>());
    const auto d = oracle_abi_.decode_log(topics, *data);
    if (!d) {
      throw std::runtime_error("keeper network: undecodable ReportAccepted log");
    }
    logs.push_back({u64(d->args[0]), u64(d->args[1]), u64(d->args[2]),
                    quantity(l["blockNumber"], "blockNumber"),
                    l["transactionHash"].get<std::string>()});
  }
  return logs;
}

std::vector<ProposedLog> KeeperNetwork::proposed(std::uint64_t from_block) const {
  const auto out = cast({"logs", "--json", "--from-block", std::to_string(from_block), "--address",
                         chain::to_checksum_address(oracle_),
                         "ReportProposed(uint64 indexed,uint64 indexed,address indexed,uint8)"});
  std::vector<ProposedLog> logs;
  for (const auto& l : Json::parse(out)) {
    std::vector<chain::Hash32> topics;
    for (const auto& t : l["topics"]) {
      topics.push_back(*chain::from_hex_fixed<32>(t.get<std::string>()));
    }
    const auto data = chain::from_hex(l["data"].get<std::string>());
    const auto d = oracle_abi_.decode_log(topics, *data);
    if (!d) {
      throw std::runtime_error("keeper network: undecodable ReportProposed log");
    }
    ProposedLog p;
    p.portfolio_id = u64(d->args[0]);
    p.round = u64(d->args[1]);
    p.signer = *d->args[2].as_address();
    p.count = u64(d->args[3]);
    p.block = quantity(l["blockNumber"], "blockNumber");
    p.tx_hash = l["transactionHash"].get<std::string>();
    logs.push_back(p);
  }
  return logs;
}

std::vector<OracleTx> KeeperNetwork::oracle_txs(std::uint64_t from_block, std::uint64_t to_block) {
  std::vector<OracleTx> txs;
  for (std::uint64_t b = from_block; b <= to_block; ++b) {
    auto block = pool_->call("eth_getBlockByNumber",
                             Json::array({chain::u256_to_quantity(chain::U256(b)), true}));
    if (!block || block->is_null()) {
      throw std::runtime_error("keeper network: no block");
    }
    for (const auto& tx : (*block)["transactions"]) {
      if (!tx.contains("to") || tx["to"].is_null()) {
        continue;
      }
      if (*chain::parse_address(tx["to"].get<std::string>()) != oracle_) {
        continue;
      }
      OracleTx o;
      o.hash = tx["hash"].get<std::string>();
      o.block = b;
      o.from = *chain::parse_address(tx["from"].get<std::string>());
      auto receipt = pool_->call("eth_getTransactionReceipt", Json::array({o.hash}));
      o.success = receipt && receipt->is_object() && (*receipt)["status"] == "0x1";
      if (receipt && receipt->is_object()) {
        o.gas_used = quantity((*receipt)["gasUsed"], "gasUsed");
      }
      const auto input = chain::from_hex(tx["input"].get<std::string>());
      o.function = "?";
      if (!input || input->size() < 4) {
        txs.push_back(o);
        continue;
      }
      chain::Selector sel{};
      std::copy_n(input->begin(), 4, sel.begin());
      const auto* fn = oracle_abi_.function_by_selector(sel);
      if (fn == nullptr) {
        txs.push_back(o);
        continue;
      }
      o.function = fn->name;
      if (o.function == "submit" || o.function == "propose") {
        const auto args = chain::decode_call(fn->signature, *input);
        if (!args) {
          throw std::runtime_error("keeper network: undecodable " + o.function);
        }
        const auto& report = *(*args)[0].as_list();
        o.portfolio_id = u64(report[0]);
        o.round = u64(report[1]);
        o.observed_at = u64(report[2]);
        o.var_wad = u64(report[8]);
        // The digest the signatures are over, from the contract itself, at that block.
        const auto call = oracle_abi_.encode_call("hashReport", {(*args)[0]});
        auto digest = eth_->call({{}, oracle_, *call, {}, {}}, chain::BlockTag::number(b));
        if (!digest || digest->size() != 32) {
          throw std::runtime_error("keeper network: hashReport failed");
        }
        std::copy(digest->begin(), digest->end(), o.digest.begin());
        std::vector<chain::AbiValue> sigs;
        if (o.function == "submit") {
          sigs = *(*args)[1].as_list();
        } else {
          sigs = {(*args)[1]};
        }
        for (const auto& s : sigs) {
          const auto& f = *s.as_list();
          chain::Signature sig;
          sig.y_parity = static_cast<std::uint8_t>(u64(f[0]) - 27);
          const auto& r = *f[1].as_bytes();
          const auto& sv = *f[2].as_bytes();
          std::copy(r.begin(), r.end(), sig.r.begin());
          std::copy(sv.begin(), sv.end(), sig.s.begin());
          const auto signer = chain::recover_address(o.digest, sig);
          if (signer) {
            o.signers.push_back(*signer);
          }
        }
      }
      txs.push_back(o);
    }
  }
  return txs;
}

std::optional<std::uint64_t> KeeperNetwork::block_at_time(std::uint64_t t) {
  const std::uint64_t top = head();
  for (std::uint64_t b = std::max(scanned_to_ + 1, deployed_block_); b <= top; ++b) {
    auto block = eth_->get_block(chain::BlockTag::number(b));
    if (!block || !*block) {
      break;
    }
    block_by_time_[(*block)->timestamp] = b;
    scanned_to_ = b;
  }
  const auto it = block_by_time_.find(t);
  if (it == block_by_time_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::vector<keeper::Incident> KeeperNetwork::incidents(std::size_t i) const {
  const auto store = keeper::KeeperStore::open(store_path(i));
  if (!store) {
    return {};
  }
  return store->incidents(0, std::numeric_limits<std::int64_t>::max());
}

std::optional<double> KeeperNetwork::metric(std::size_t i, const std::string& series) const {
  const std::string body = http_get(metrics_ports_.at(i), "/metrics");
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

double quantile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) {
    return std::nan("");
  }
  return sorted[static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1))];
}

}  // namespace varkeeper::test
