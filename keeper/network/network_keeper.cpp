#include "keeper/network/network_keeper.hpp"

#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <iomanip>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "chain/abi.hpp"
#include "chain/abi_codec.hpp"
#include "chain/abi_type.hpp"
#include "chain/contract.hpp"
#include "chain/hex.hpp"
#include "chain/secp256k1.hpp"
#include "keeper/core/reporter.hpp"
#include "keeper/core/startup_error.hpp"
#include "keeper/network/peer_client.hpp"
#include "keeper/network/peer_server.hpp"
#include "keeper/ops/operations.hpp"
#include "keeper/store/store.hpp"
#include "keeper/store/store_lock.hpp"

namespace varkeeper::keeper::network {

namespace {

std::int64_t wall_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", fraction * 100.0);
  return buf;
}

std::string short_hex(const chain::Hash32& h) { return chain::to_hex(h).substr(0, 10); }

// The decoded answer of a view `signature(args)` on `to` at `tag`.
chain::RpcExpected<std::vector<chain::AbiValue>> view(
    chain::EthClient& eth, const chain::Address& to, const std::string& signature,
    const std::vector<chain::AbiValue>& args, const char* types, const chain::BlockTag& tag) {
  const auto sig = chain::parse_abi_signature(signature);
  auto answer = eth.call({{}, to, *chain::encode_call(*sig, args), {}, {}}, tag);
  if (!answer) {
    return chain::unexpected(answer.error());
  }
  const auto type_list = chain::parse_abi_type_list(types);
  auto values = chain::abi_decode(*type_list, *answer);
  if (!values) {
    chain::RpcError e;
    e.kind = chain::RpcErrorKind::kMalformedResponse;
    e.message = signature + ": the answer does not decode as " + types;
    return chain::unexpected(e);
  }
  return std::move(*values);
}

chain::Bytes propose_calldata(const OnchainReport& report, const chain::Signature& sig) {
  const auto selector = chain::function_selector(
      "propose((uint64,uint64,uint64,uint32,uint64,uint8,uint8,uint96,uint64,uint64,bytes32),"
      "(uint8,bytes32,bytes32))");
  chain::Bytes data(selector->begin(), selector->end());
  const auto words = encode_report_words(report);
  data.insert(data.end(), words.begin(), words.end());
  chain::Bytes v(32, 0);
  v[31] = static_cast<std::uint8_t>(27 + sig.y_parity);
  data.insert(data.end(), v.begin(), v.end());
  data.insert(data.end(), sig.r.begin(), sig.r.end());
  data.insert(data.end(), sig.s.begin(), sig.s.end());
  return data;
}

void add_incident(KeeperStore* store, std::int64_t time, std::string_view category,
                  std::string subject, const nlohmann::json& evidence) {
  if (store == nullptr) {
    return;
  }
  Incident inc;
  inc.time = time;
  inc.category = std::string(category);
  inc.subject = std::move(subject);
  inc.evidence = evidence.dump();
  store->add_incident(inc);
}

}  // namespace

// Peer I/O off the keeper's thread: pushes and pulls wait up to the push timeout per peer.
struct NetworkKeeper::Worker {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> jobs;
  bool stopping = false;
  std::thread thread;
  Worker() {
    thread = std::thread([this] {
      while (true) {
        std::function<void()> job;
        {
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return stopping || !jobs.empty(); });
          if (stopping && jobs.empty()) {
            return;
          }
          job = std::move(jobs.front());
          jobs.pop_front();
        }
        job();
      }
    });
  }
  ~Worker() {
    {
      const std::lock_guard lock(mu);
      stopping = true;
      jobs.clear();
    }
    cv.notify_all();
    thread.join();
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  std::size_t queued() {
    const std::lock_guard lock(mu);
    return jobs.size();
  }
  void post(std::function<void()> job) {
    {
      const std::lock_guard lock(mu);
      jobs.push_back(std::move(job));
    }
    cv.notify_all();
  }
};

NetworkKeeper::NetworkKeeper(chain::EthClient& eth, chain::TxManager& tx, ChainlinkSource& source,
                             RoundEngine& engine, SignatureBook& book,
                             const NetworkKeeperSetup& setup, KeeperStore* store)
    : eth_(eth),
      tx_(tx),
      source_(source),
      engine_(engine),
      book_(book),
      setup_(setup),
      store_(store),
      self_(chain::address_of(*setup.signer)),
      domain_{chain::U256(setup.chain_id), setup.oracle},
      worker_(std::make_unique<Worker>()) {
  // A report or proposal is simulated again before each attempt is signed: one that would revert
  // now (the round landed meanwhile) is dropped instead of paid for.
  tx_.before_attempt = [this](const chain::TxRecord& rec) -> std::optional<std::string> {
    if (!rec.request.to) {
      return std::nullopt;
    }
    auto sim = eth_.call({tx_.sender(), *rec.request.to, rec.request.data, {}, {}});
    if (sim || !is_revert(sim.error())) {
      return std::nullopt;
    }
    return "would revert: " + sim.error().describe();
  };
}

NetworkKeeper::~NetworkKeeper() {
  worker_.reset();
  tx_.before_attempt = nullptr;
}

bool NetworkKeeper::is_signer(const chain::Address& a) const {
  const std::lock_guard lock(signers_mutex_);
  return signer_set_.count(a) != 0;
}

bool NetworkKeeper::read_trigger(std::uint64_t block, TriggerInputs& in, std::string& why) {
  const auto tag = chain::BlockTag::number(block);
  auto header = eth_.get_block(tag);
  if (!header || !*header) {
    why = "block " + std::to_string(block) + ": " +
          (header ? std::string("not found") : header.error().describe());
    return false;
  }
  in.block = block;
  in.timestamp = static_cast<std::int64_t>((*header)->timestamp);
  auto poll = source_.poll(block);
  if (!poll.failures.empty()) {
    why = "price reads at block " + std::to_string(block) + ": " + poll.failures.front();
    return false;
  }
  in.readings = std::move(poll.readings);
  for (const auto& p : engine_.config().portfolios) {
    auto data = eth_.call({{}, setup_.oracle, latest_calldata(p.id), {}, {}}, tag);
    if (!data) {
      if (!is_revert(data.error())) {
        why = "latest(" + std::to_string(p.id) + ") at block " + std::to_string(block) + ": " +
              data.error().describe();
        return false;
      }
    } else if (const auto r = decode_accepted_report(*data)) {
      in.latest[p.id] = *r;
    }
    const auto pid = chain::AbiValue::from_uint(p.id);
    auto limits = view(eth_, setup_.oracle, "limits(uint64)", {pid}, "(uint32,uint32,uint64)", tag);
    auto policy = view(eth_, setup_.oracle, "changePolicy(uint64)", {pid}, "(uint32,uint8)", tag);
    if (!limits || !policy) {
      why = "limits(" + std::to_string(p.id) + ") at block " + std::to_string(block) + ": " +
            (!limits ? limits.error().describe() : policy.error().describe());
      return false;
    }
    ChangeLimit lim;
    lim.max_change = static_cast<std::uint64_t>(*(*limits)[2].as_uint());
    lim.period_s = static_cast<std::uint64_t>(*(*policy)[0].as_uint());
    lim.breaker_widening = static_cast<std::uint64_t>(*(*policy)[1].as_uint());
    in.limits[p.id] = lim;
  }
  return true;
}

bool NetworkKeeper::advance_triggers(NetworkTick& t) {
  const auto newest = latest_trigger(setup_.rule, t.head);
  if (!newest) {
    return true;
  }
  const std::uint64_t step = std::max<std::uint64_t>(setup_.rule.round_blocks, 1);
  std::uint64_t next =
      engine_.last_trigger() ? *engine_.last_trigger() + step : first_trigger(setup_.rule);
  while (next <= *newest) {
    TriggerInputs in;
    std::string why;
    if (!read_trigger(next, in, why)) {
      t.errors.push_back("trigger " + std::to_string(next) +
                         " not read (retried next tick): " + why);
      return false;
    }
    if (next == *newest) {
      // The signer set and quorum the transmitter rotation uses, as of the trigger block.
      auto signers =
          view(eth_, setup_.oracle, "signers()", {}, "(address[])", chain::BlockTag::number(next));
      auto quorum =
          view(eth_, setup_.oracle, "quorum()", {}, "(uint8)", chain::BlockTag::number(next));
      if (!signers || !quorum) {
        t.errors.push_back("signers()/quorum() at " + std::to_string(next) + " not read: " +
                           (!signers ? signers.error().describe() : quorum.error().describe()));
        return false;
      }
      std::vector<chain::Address> list;
      for (const auto& v : *(*signers)[0].as_list()) {
        list.push_back(*v.as_address());
      }
      {
        const std::lock_guard lock(signers_mutex_);
        signers_ = list;
        signer_set_ = std::set<chain::Address>(list.begin(), list.end());
      }
      quorum_ = static_cast<std::uint64_t>(*(*quorum)[0].as_uint());
    }
    auto result = engine_.advance(in);
    t.triggers.push_back(next);
    if (store_ != nullptr) {
      for (const auto& inc : result.tick.incidents) {
        store_->add_incident(inc);
      }
    }
    for (const auto& [pid, r] : in.latest) {
      landed_[pid] = std::max(landed_[pid], r.round);
    }
    if (next == *newest) {
      for (const auto& why_not : result.unbuilt) {
        t.errors.push_back("report not built: " + why_not);
      }
      sign_live(result, t);
      t.live = std::move(result);
    }
    next += step;
  }
  return true;
}

void NetworkKeeper::sign_live(const TriggerResult& r, NetworkTick& t) {
  for (const auto& rr : r.reports) {
    const auto key = std::pair{rr.report.portfolio_id, rr.report.round};
    if (active_.count(key) != 0) {
      continue;
    }
    // Nothing a peer sent is signed here: only the report this keeper computed.
    PeerReport mine;
    mine.report = rr.report;
    mine.signature = sign_report(domain_, rr.report, *setup_.signer);
    mine.trigger_block = rr.trigger_block;
    mine.signer = self_;
    if (!book_.add_own(mine)) {
      t.errors.push_back("p" + std::to_string(key.first) + " round " + std::to_string(key.second) +
                         ": another own report is held");
      continue;
    }
    Active a;
    a.report = rr.report;
    a.own = mine.signature;
    a.trigger = rr.trigger_block;
    a.signed_at = t.head;
    {
      const std::lock_guard lock(signers_mutex_);
      a.rank = transmit_rank(signers_, self_, key.first, key.second).value_or(signers_.size());
    }
    active_[key] = a;
    t.events.push_back("p" + std::to_string(key.first) + " round " + std::to_string(key.second) +
                       " signed " + short_hex(report_digest(domain_, rr.report)) + " (rank " +
                       std::to_string(a.rank) + ")");
    // Shared at once with every peer (in parallel, each within the push timeout).
    auto peers = setup_.peers;
    auto domain = domain_;
    auto timeout = setup_.push_timeout;
    SignatureBook* book = &book_;
    worker_->post([mine, peers, domain, timeout, book] {
      PeerClientOptions o;
      o.timeout = timeout;
      PeerClient client(domain, peers, book, o);
      (void)client.push(mine, wall_now());
    });
  }
}

void NetworkKeeper::enqueue(const std::string& key, const chain::Bytes& data, const char* label) {
  chain::TxRequest req;
  req.key = key;
  req.to = setup_.oracle;
  req.data = data;
  req.label = label;
  (void)tx_.enqueue(req);
}

void NetworkKeeper::transmit(NetworkTick& t) {
  // The oracle's rounds now (not pinned: what matters is whether a round landed).
  for (const auto& p : engine_.config().portfolios) {
    auto data = eth_.call({{}, setup_.oracle, latest_calldata(p.id), {}, {}});
    if (data) {
      if (const auto r = decode_accepted_report(*data)) {
        landed_[p.id] = std::max(landed_[p.id], r->round);
      }
    }
  }
  for (auto it = active_.begin(); it != active_.end();) {
    const auto [pid, round] = it->first;
    auto& a = it->second;
    const bool landed = landed_[pid] >= round;
    // Too old to land: its proposal had its chance a whole round ago.
    const bool expired = t.head > a.trigger + setup_.rule.propose_after_blocks +
                                      2 * std::max<std::uint64_t>(setup_.rule.round_blocks, 1);
    if (landed || expired) {
      if (landed && landed_[pid] == round) {
        t.events.push_back("p" + std::to_string(pid) + " round " + std::to_string(round) +
                           " landed");
      }
      book_.forget_through(pid, landed_[pid]);
      it = active_.erase(it);
      continue;
    }
    auto sigs = book_.signatures_for(pid, round);
    const bool have_quorum = quorum_ > 0 && sigs.size() >= quorum_;
    if (have_quorum && !a.announced_quorum) {
      a.announced_quorum = true;
      t.events.push_back("p" + std::to_string(pid) + " round " + std::to_string(round) + " " +
                         std::to_string(sigs.size()) + "/" + std::to_string(quorum_) + " sigs");
    }
    const TransmitState st{false, have_quorum, a.submitted, a.proposed};
    const std::uint64_t from = std::max(a.trigger, a.signed_at);
    const auto step = transmit_step(setup_.rule, a.rank, from, t.head, st);
    const std::string name = "p" + std::to_string(pid) + " round " + std::to_string(round);
    if (step == TransmitStep::kSubmit) {
      sigs.resize(quorum_);
      const auto data = submit_calldata(a.report, sigs);
      auto sim = eth_.call({tx_.sender(), setup_.oracle, data, {}, {}});
      if (!sim) {
        if (is_revert(sim.error())) {
          a.submitted = true;  // refused (landed meanwhile, or too old): not paid for
          t.events.push_back(name + " submit refused in simulation: " + sim.error().describe());
        } else {
          t.errors.push_back(name + " submit not simulated: " + sim.error().describe());
        }
      } else {
        enqueue("netreport:" + std::to_string(pid) + "." + std::to_string(round), data, "report");
        a.submitted = true;
        ++submits_;
        t.events.push_back(
            name + (a.rank == 0 ? " submit sent (transmitter)"
                                : " submit sent (backup rank " + std::to_string(a.rank) + ")"));
      }
    } else if (step == TransmitStep::kPropose) {
      const auto data = propose_calldata(a.report, a.own);
      auto sim = eth_.call({tx_.sender(), setup_.oracle, data, {}, {}});
      a.proposed = true;
      if (!sim) {
        t.events.push_back(name + " propose refused in simulation: " + sim.error().describe());
      } else {
        enqueue("netpropose:" + std::to_string(pid) + "." + std::to_string(round), data, "propose");
        ++proposals_;
        t.events.push_back(name + " propose sent (no quorum of signatures by block " +
                           std::to_string(from + setup_.rule.propose_after_blocks) + ")");
      }
    }
    // Missing signatures: ask the peers that have not signed yet for theirs (a peer that pushed
    // while we were down, or whose push did not reach us), once per tick at most.
    if (!have_quorum && t.head > a.trigger && worker_->queued() == 0) {
      const auto have = book_.signers_for(pid, round);
      std::vector<PeerSpec> missing;
      for (const auto& peer : setup_.peers) {
        if (std::find(have.begin(), have.end(), peer.signer) == have.end()) {
          missing.push_back(peer);
        }
      }
      auto domain = domain_;
      auto timeout = setup_.push_timeout;
      SignatureBook* book = &book_;
      worker_->post([missing, domain, timeout, book, pid = pid, round = round] {
        PeerClientOptions o;
        o.timeout = timeout;
        PeerClient client(domain, missing, nullptr, o);
        for (const auto& peer : missing) {
          if (auto got = client.pull(peer, pid, round)) {
            (void)book->add_peer(*got, wall_now());
          }
        }
      });
    }
    ++it;
  }
}

void NetworkKeeper::record_divergences(NetworkTick& t) {
  for (const auto& d : book_.take_divergences()) {
    nlohmann::json fields = nlohmann::json::array();
    for (const auto& f : d.fields) {
      fields.push_back({{"field", f.field}, {"ours", f.ours}, {"theirs", f.theirs}});
    }
    const nlohmann::json evidence{{"portfolio", d.portfolio_id},
                                  {"round", d.round},
                                  {"our_digest", chain::to_hex(d.our_digest)},
                                  {"their_digest", chain::to_hex(d.their_digest)},
                                  {"peer", chain::to_checksum_address(d.peer)},
                                  {"fields", fields}};
    add_incident(store_, wall_now(), kDivergence, chain::to_checksum_address(d.peer), evidence);
    std::string names;
    for (const auto& f : d.fields) {
      names += (names.empty() ? "" : ",") + f.field;
    }
    t.events.push_back("DIVERGENCE p" + std::to_string(d.portfolio_id) + " round " +
                       std::to_string(d.round) + " peer " + chain::to_checksum_address(d.peer) +
                       " ours " + short_hex(d.our_digest) + " theirs " + short_hex(d.their_digest) +
                       " fields " + names);
  }
}

NetworkTick NetworkKeeper::tick() {
  const auto started = std::chrono::steady_clock::now();
  NetworkTick t;
  t.tick = ++ticks_;
  eth_.pool().observe_heads();
  auto head = eth_.block_number();
  if (!head) {
    t.errors.push_back("cannot read the head: " + head.error().describe());
  } else {
    t.head = *head;
    (void)advance_triggers(t);
    transmit(t);
  }
  record_divergences(t);
  tx_.tick();
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return t;
}

std::string NetworkKeeper::status_line(const NetworkTick& t) const {
  std::ostringstream out;
  out << "[" << setup_.name << "] tick " << t.tick << " block " << t.head;
  if (t.triggers.size() > 1) {
    out << " | replayed " << t.triggers.size() << " triggers " << t.triggers.front() << ".."
        << t.triggers.back();
  }
  if (t.live) {
    out << " | trigger " << t.live->block << " |";
    for (const auto& [asset, price] : t.live->tick.prices) {
      out << ' ' << asset << ' ' << std::fixed << std::setprecision(2) << price;
    }
    for (const auto& u : t.live->tick.portfolios) {
      out << " | p" << u.portfolio_id;
      if (!u.has_estimate) {
        out << ' ' << u.note;
        continue;
      }
      out << " VaR " << percent(u.published_var) << " CVaR " << percent(u.published_cvar) << ' '
          << risk::to_string(u.status);
      if (u.publish != PublishReason::kNone) {
        out << " publish(" << to_string(u.publish) << ")";
      }
    }
  }
  for (const auto& e : t.events) {
    out << " | " << e;
  }
  for (const auto& e : t.errors) {
    out << " | error: " << e;
  }
  out << " | " << std::fixed << std::setprecision(3) << t.seconds << " s";
  return out.str();
}

std::uint64_t run_network_keeper(chain::EthClient& eth, const chain::SecretKey& sender,
                                 const NetworkKeeperSetup& setup, const StopSignals& stop,
                                 std::ostream& out) {
  const std::string prefix = "[" + setup.name + "] ";
  const StoreLock store_lock = StoreLock::acquire(setup.store_path);
  auto store = KeeperStore::open(setup.store_path);
  chain::TxManager tx(eth, *store, sender, setup.chain_id, setup.tx_options);
  tx.on_alert = [&out, prefix](const chain::TxAlert& a) {
    out << prefix << "varkeeper: transaction " << a.tx_id << ": " << a.message << std::endl;
  };
  if (auto started = tx.start(); !started) {
    throw StartupError("transaction manager: " + started.error().describe());
  }
  ChainlinkSource source(eth, setup.feeds);
  source.require_agreement(setup.agree_quorum);
  try {
    source.init();
  } catch (const std::runtime_error& e) {
    throw StartupError(e.what());
  }
  RoundEngine engine(setup.pipeline, setup.rule);
  const std::uint64_t genesis = first_trigger(setup.rule);
  // History is pinned to the genesis trigger: wait until the chain has it.
  bool announced = false;
  while (!stop.stop_requested()) {
    const auto head = eth.block_number();
    if (head && *head >= genesis) {
      break;
    }
    if (!announced) {
      out << prefix << "varkeeper: waiting for the genesis trigger block " << genesis << std::endl;
      announced = true;
    }
    (void)stop.wait_for_stop(std::chrono::milliseconds(250));
  }
  if (setup.seed_history) {
    setup.seed_history(engine, source, genesis);
  }

  const chain::Address self = chain::address_of(*setup.signer);
  NetworkKeeper* keeper_ptr = nullptr;
  std::mutex keeper_mu;
  SignatureBook book(OracleDomain{chain::U256(setup.chain_id), setup.oracle}, self, setup.peers,
                     [&keeper_ptr, &keeper_mu](const chain::Address& a) {
                       const std::lock_guard lock(keeper_mu);
                       return keeper_ptr == nullptr || keeper_ptr->is_signer(a);
                     });
  PeerServerOptions server_options;
  server_options.address = setup.listen;
  server_options.allow_non_loopback = setup.listen_public;
  server_options.non_loopback_setting = "network.listen_public";
  auto server = PeerServer::start(server_options, book);
  if (!server) {
    throw StartupError("peer listener on " + setup.listen + ": " + server.error());
  }
  NetworkKeeper keeper(eth, tx, source, engine, book, setup, store.get());
  {
    const std::lock_guard lock(keeper_mu);
    keeper_ptr = &keeper;
  }

  OperationsOptions ops_options;
  ops_options.address = setup.metrics_address;
  ops_options.allow_non_loopback = setup.metrics_public;
  auto ops = Operations::start(ops_options);
  if (!ops) {
    throw StartupError("metrics server on " + setup.metrics_address + ": " + ops.error().message);
  }
  auto& reg = ops->registry();
  auto& reachable = reg.gauge("varkeeper_peer_reachable",
                              "1 when the last push to the peer got an HTTP answer", {"peer"});
  auto& agreement = reg.gauge("varkeeper_peer_last_agreement_round",
                              "Highest round the peer signed our digest for", {"peer"});
  auto& divergences = reg.counter("varkeeper_peer_divergences_total",
                                  "Rounds the peer signed a different report for", {"peer"});
  auto& received = reg.counter("varkeeper_peer_signatures_received_total",
                               "Peer signatures that agreed with our digest", {"peer"});
  auto& submits = reg.gauge("varkeeper_network_submits", "submit() transactions this run sent");
  auto& proposals =
      reg.gauge("varkeeper_network_proposals", "propose() transactions this run sent");
  out << prefix << "varkeeper: keeper network member " << chain::to_checksum_address(self)
      << ", sender " << chain::to_checksum_address(tx.sender()) << ", peer API " << server->url()
      << ", metrics " << ops->url() << "/metrics, store " << setup.store_path << ", "
      << setup.peers.size() << " peers, genesis trigger " << genesis << ", a trigger every "
      << setup.rule.round_blocks << " blocks" << std::endl;

  while (!stop.stop_requested() && (!setup.max_ticks || keeper.ticks() < *setup.max_ticks)) {
    const auto next = std::chrono::steady_clock::now() + setup.tick_interval;
    const auto t = keeper.tick();
    out << keeper.status_line(t) << std::endl;
    for (const auto& [peer, s] : book.stats()) {
      const std::string label = chain::to_checksum_address(peer);
      reachable.set({label}, s.reachable ? 1.0 : 0.0);
      agreement.set({label}, static_cast<double>(s.last_agreement_round));
      const double div = static_cast<double>(s.divergences) - divergences.value({label});
      if (div > 0) {
        divergences.inc({label}, div);
      }
      const double rec = static_cast<double>(s.signatures_received) - received.value({label});
      if (rec > 0) {
        received.inc({label}, rec);
      }
    }
    submits.set(static_cast<double>(keeper.submits()));
    proposals.set(static_cast<double>(keeper.proposals()));
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(next - std::chrono::steady_clock::now());
    if (left.count() > 0) {
      (void)stop.wait_for_stop(left);
    }
  }
  {
    const std::lock_guard lock(keeper_mu);
    keeper_ptr = nullptr;
  }
  server->stop();
  return keeper.ticks();
}

}  // namespace varkeeper::keeper::network
