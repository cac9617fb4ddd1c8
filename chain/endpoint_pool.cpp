#include "chain/endpoint_pool.hpp"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <numeric>
#include <thread>

#include "chain/uint256.hpp"

namespace varkeeper::chain {

EndpointPool::EndpointPool(std::vector<std::unique_ptr<JsonRpcClient>> clients,
                           EndpointPoolOptions options)
    : clients_(std::move(clients)), options_(options) {
  for (const auto& c : clients_) {
    EndpointHealth h;
    h.endpoint = c->endpoint();
    health_.push_back(std::move(h));
  }
  head_moved_at_.resize(clients_.size(), std::chrono::steady_clock::now());
}

std::vector<std::size_t> EndpointPool::ranked() {
  std::vector<std::size_t> order(clients_.size());
  std::iota(order.begin(), order.end(), 0);
  // Out of sync last, then by consecutive failures; equal ranks keep the configured order
  // (stable sort), which docs/config.md promises as the failover order.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto& ha = health_[a];
    const auto& hb = health_[b];
    if (ha.out_of_sync != hb.out_of_sync) {
      return hb.out_of_sync;
    }
    return ha.consecutive_failures < hb.consecutive_failures;
  });
  std::erase_if(order, [&](std::size_t i) { return !health_[i].enabled; });
  return order;
}

bool EndpointPool::verify_chain(std::size_t i) {
  auto& h = health_[i];
  if (h.chain_verified || !expected_chain_id_) {
    return h.enabled;
  }
  const auto start = std::chrono::steady_clock::now();
  auto r = clients_[i]->call("eth_chainId");
  record(i, r, std::chrono::steady_clock::now() - start);
  return chain_answer_ok(i, r);
}

void EndpointPool::observe_heads(std::chrono::steady_clock::time_point now) {
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    if (!health_[i].enabled || !verify_chain(i)) {
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    auto r = clients_[i]->call("eth_blockNumber");
    record(i, r, std::chrono::steady_clock::now() - start);
    const auto n = r && r->is_string() ? u256_from_quantity(r->get<std::string>())
                                       : Expected<U256, UintError>(unexpected(UintError::kEmpty));
    if (!n || *n > U256(std::numeric_limits<std::uint64_t>::max())) {
      continue;  // unreachable: ranked by its failures
    }
    const auto head = static_cast<std::uint64_t>(*n);
    if (health_[i].head != head) {
      health_[i].head = head;
      head_moved_at_[i] = now;
    }
  }
  std::uint64_t best = 0;
  for (const auto& h : health_) {
    if (h.enabled && h.head) {
      best = std::max(best, *h.head);
    }
  }
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    auto& h = health_[i];
    if (!h.head) {
      continue;
    }
    h.head_lag = best - *h.head;
    const auto still = now - head_moved_at_[i];
    h.out_of_sync = false;
    h.out_of_sync_reason.clear();
    if (h.head_lag > options_.max_head_lag_blocks) {
      h.out_of_sync = true;
      h.out_of_sync_reason = std::to_string(h.head_lag) + " blocks behind";
    } else if (still > options_.head_stall) {
      h.out_of_sync = true;
      h.out_of_sync_reason =
          "head " + std::to_string(*h.head) + " unchanged for " +
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(still).count()) + " s";
    }
  }
}

void EndpointPool::record(std::size_t i, const RpcResult& r,
                          std::chrono::steady_clock::duration took) {
  auto& h = health_[i];
  const double ms = std::chrono::duration<double, std::milli>(took).count();
  h.latency_ms_ewma = h.successes + h.failures == 0 ? ms : 0.8 * h.latency_ms_ewma + 0.2 * ms;
  if (r || !fails_over(r.error())) {
    ++h.successes;
    h.consecutive_failures = 0;
  } else {
    ++h.failures;
    ++h.consecutive_failures;
    h.last_error = r.error().describe();
  }
}

bool EndpointPool::fails_over(const RpcError& e) {
  if (e.endpoint_fault()) {
    return true;
  }
  // geth/erigon "header not found", nethermind/besu "unknown block" / "block not found": a node
  // behind the pinned block. Another endpoint may have it.
  const auto& m = e.message;
  return m.find("header not found") != std::string::npos ||
         m.find("unknown block") != std::string::npos ||
         m.find("block not found") != std::string::npos;
}

namespace {
RpcError no_endpoint(const std::string& why) {
  RpcError e;
  e.kind = RpcErrorKind::kNoEndpoint;
  e.message = why;
  return e;
}
}  // namespace

Expected<std::size_t, RpcError> EndpointPool::connect(std::uint64_t expected_chain_id) {
  std::size_t good = 0;
  std::string problems;
  expected_chain_id_ = expected_chain_id;
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto r = clients_[i]->call("eth_chainId");
    record(i, r, std::chrono::steady_clock::now() - start);
    if (!r) {
      problems += (problems.empty() ? "" : "; ") + r.error().describe();
      health_[i].chain_verified = false;  // asked again before it is first used
      continue;
    }
    const auto id = r->is_string() ? u256_from_quantity(r->get<std::string>())
                                   : Expected<U256, UintError>(unexpected(UintError::kEmpty));
    if (!id || *id != expected_chain_id) {
      health_[i].enabled = false;
      health_[i].last_error =
          "wrong chain id " + (r->is_string() ? r->get<std::string>() : r->dump());
      problems += (problems.empty() ? "" : "; ") + health_[i].endpoint + " serves chain " +
                  (id ? u256_to_decimal(*id) : r->dump()) + ", expected " +
                  std::to_string(expected_chain_id);
      continue;
    }
    ++good;
  }
  if (good == 0) {
    RpcError e = no_endpoint(problems);
    const bool wrong_chain =
        std::any_of(health_.begin(), health_.end(), [](const auto& h) { return !h.enabled; });
    if (wrong_chain) {
      e.kind = RpcErrorKind::kWrongChain;
    }
    return unexpected(e);
  }
  return good;
}

RpcResult EndpointPool::call(std::string_view method, const Json& params) {
  std::string tried;
  for (const auto i : ranked()) {
    if (!verify_chain(i)) {
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    auto r = clients_[i]->call(method, params);
    record(i, r, std::chrono::steady_clock::now() - start);
    if (r || !fails_over(r.error())) {
      return r;
    }
    tried += (tried.empty() ? "" : "; ") + r.error().describe();
  }
  return unexpected(no_endpoint(tried.empty() ? "no enabled endpoint" : tried));
}

std::vector<RpcResult> EndpointPool::batch(std::span<const RpcRequest> requests) {
  std::vector<RpcResult> last;
  std::string tried;
  for (const auto i : ranked()) {
    if (!verify_chain(i)) {
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    auto results = clients_[i]->batch(requests);
    const auto failed = std::find_if(results.begin(), results.end(),
                                     [](const auto& r) { return !r && fails_over(r.error()); });
    const bool endpoint_failed = failed != results.end();
    RpcResult summary =
        endpoint_failed ? RpcResult(unexpected(failed->error())) : RpcResult(Json());
    record(i, summary, std::chrono::steady_clock::now() - start);
    if (!endpoint_failed) {
      return results;
    }
    tried += (tried.empty() ? "" : "; ") + summary.error().describe();
    last = std::move(results);
  }
  if (last.empty()) {
    return std::vector<RpcResult>(requests.size(),
                                  RpcResult(unexpected(no_endpoint("no enabled endpoint"))));
  }
  return last;
}

RpcResult EndpointPool::agreeing_call(std::string_view method, const Json& params,
                                      std::size_t quorum) {
  std::vector<Json> answers;
  std::vector<std::string> who;
  for (const auto i : ranked()) {
    if (answers.size() == quorum) {
      break;
    }
    if (!verify_chain(i)) {
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    auto r = clients_[i]->call(method, params);
    record(i, r, std::chrono::steady_clock::now() - start);
    if (!r) {
      if (!fails_over(r.error())) {
        return r;
      }
      continue;
    }
    answers.push_back(std::move(*r));
    who.push_back(health_[i].endpoint);
  }
  if (answers.size() < quorum) {
    return unexpected(no_endpoint("only " + std::to_string(answers.size()) + " of " +
                                  std::to_string(quorum) + " endpoints answered " +
                                  std::string(method)));
  }
  for (std::size_t k = 1; k < answers.size(); ++k) {
    if (answers[k] != answers[0]) {
      RpcError e;
      e.kind = RpcErrorKind::kDisagreement;
      e.message = who[0] + " and " + who[k] + " disagree on " + std::string(method);
      return unexpected(e);
    }
  }
  return answers[0];
}

namespace {
// What two endpoints must agree on: the result itself (hex compared case-blind), a block by its
// hash (clients add different optional fields to the same block), an error by kind and code.
bool same_answer(const RpcResult& a, const RpcResult& b) {
  if (a.has_value() != b.has_value()) {
    return false;
  }
  if (!a) {
    return a.error().kind == b.error().kind && a.error().code == b.error().code;
  }
  const auto key = [](const Json& v) -> Json {
    if (v.is_object() && v.contains("hash")) {
      return v["hash"];
    }
    return v;
  };
  Json x = key(*a);
  Json y = key(*b);
  if (x.is_string() && y.is_string()) {
    auto lx = x.get<std::string>();
    auto ly = y.get<std::string>();
    std::transform(lx.begin(), lx.end(), lx.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::transform(ly.begin(), ly.end(), ly.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return lx == ly;
  }
  return x == y;
}
}  // namespace

Expected<std::vector<RpcResult>, RpcError> EndpointPool::agreeing_batch(
    std::span<const RpcRequest> requests, std::size_t quorum) {
  std::vector<std::vector<RpcResult>> answers;
  std::vector<std::size_t> who;
  std::string tried;
  for (const auto i : ranked()) {
    if (answers.size() == quorum) {
      break;
    }
    if (!verify_chain(i)) {
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    auto results = clients_[i]->batch(requests);
    const auto failed = std::find_if(results.begin(), results.end(),
                                     [](const auto& r) { return !r && fails_over(r.error()); });
    const bool endpoint_failed = failed != results.end();
    record(i, endpoint_failed ? RpcResult(unexpected(failed->error())) : RpcResult(Json()),
           std::chrono::steady_clock::now() - start);
    if (endpoint_failed) {
      tried += "; " + failed->error().describe();
      continue;
    }
    answers.push_back(std::move(results));
    who.push_back(i);
  }
  if (answers.size() < quorum) {
    return unexpected(no_endpoint("only " + std::to_string(answers.size()) + " of " +
                                  std::to_string(quorum) +
                                  " endpoints answered the reads that must agree" + tried));
  }
  for (std::size_t k = 1; k < answers.size(); ++k) {
    for (std::size_t j = 0; j < requests.size(); ++j) {
      if (!same_answer(answers[0][j], answers[k][j])) {
        RpcError e;
        e.kind = RpcErrorKind::kDisagreement;
        e.message = health_[who[0]].endpoint + " and " + health_[who[k]].endpoint +
                    " disagree on " + requests[j].method + " (request " + std::to_string(j + 1) +
                    " of " + std::to_string(requests.size()) + ")";
        return unexpected(e);
      }
    }
  }
  return std::move(answers[0]);
}

namespace {
// One endpoint's part of a parallel broadcast, run on a thread of its own.
struct BroadcastLeg {
  std::optional<RpcResult> chain_id;  // its eth_chainId, if it had not been checked yet
  std::chrono::steady_clock::duration chain_took{};
  std::optional<RpcResult> sent;  // its answer to eth_sendRawTransaction
  std::chrono::steady_clock::duration took{};
  bool done = false;
};

bool accepted_answer(const RpcResult& r) {
  return r || (r.error().kind == RpcErrorKind::kRpcError &&
               r.error().node_error == NodeError::kAlreadyKnown);
}
}  // namespace

bool EndpointPool::chain_answer_ok(std::size_t i, const RpcResult& r) {
  auto& h = health_[i];
  if (!r) {
    return false;  // still unreachable: not trusted yet
  }
  const auto id = r->is_string() ? u256_from_quantity(r->get<std::string>())
                                 : Expected<U256, UintError>(unexpected(UintError::kEmpty));
  h.chain_verified = true;
  if (!id || *id != *expected_chain_id_) {
    h.enabled = false;
    h.last_error = "wrong chain id " + (r->is_string() ? r->get<std::string>() : r->dump()) +
                   ", expected " + std::to_string(*expected_chain_id_);
    return false;
  }
  return true;
}

RpcResult EndpointPool::broadcast_raw_transaction(const std::string& raw_hex) {
  // Every enabled endpoint at once (issue 15, defect 9): one blackholed or slow-to-resolve
  // endpoint costs the broadcast its own timeout, not n x retries x timeout. An endpoint whose
  // chain id is not checked yet is asked first, on its own thread.
  std::vector<std::size_t> targets;
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    if (health_[i].enabled) {
      targets.push_back(i);
    }
  }
  if (targets.empty()) {
    return unexpected(no_endpoint("no enabled endpoint to broadcast to"));
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<BroadcastLeg> legs(targets.size());
  // Each leg's I/O obeys the caller's budget (the tick deadline, SIGTERM) and its own cancel().
  std::vector<std::unique_ptr<IoBudget>> budgets;
  for (std::size_t k = 0; k < targets.size(); ++k) {
    budgets.push_back(std::make_unique<IoBudget>(current_io_budget()));
  }
  const auto start = std::chrono::steady_clock::now();
  const bool check_chain = expected_chain_id_.has_value();
  std::vector<std::thread> threads;
  threads.reserve(targets.size());
  for (std::size_t k = 0; k < targets.size(); ++k) {
    const std::size_t i = targets[k];
    const bool verify = check_chain && !health_[i].chain_verified;
    threads.emplace_back([&, k, i, verify] {
      const IoBudgetScope scope(*budgets[k]);
      BroadcastLeg leg;
      bool go = true;
      if (verify) {
        const auto t0 = std::chrono::steady_clock::now();
        leg.chain_id = clients_[i]->call("eth_chainId");
        leg.chain_took = std::chrono::steady_clock::now() - t0;
        const auto& r = *leg.chain_id;
        const auto id = r && r->is_string()
                            ? u256_from_quantity(r->get<std::string>())
                            : Expected<U256, UintError>(unexpected(UintError::kEmpty));
        go = id && *id == *expected_chain_id_;
      }
      if (go) {
        const auto t0 = std::chrono::steady_clock::now();
        leg.sent = clients_[i]->call("eth_sendRawTransaction", Json::array({raw_hex}));
        leg.took = std::chrono::steady_clock::now() - t0;
      }
      const std::lock_guard lock(mu);
      leg.done = true;
      legs[k] = std::move(leg);
      cv.notify_all();
    });
  }
  std::vector<bool> cancelled(legs.size(), false);
  {
    // Wait for every answer, but no longer than broadcast_grace once one endpoint has the
    // transaction, nor than broadcast_timeout in all.
    std::unique_lock lock(mu);
    std::optional<std::chrono::steady_clock::time_point> accepted_at;
    while (true) {
      const auto now = std::chrono::steady_clock::now();
      std::size_t done = 0;
      for (const auto& leg : legs) {
        if (leg.done) {
          ++done;
          if (!accepted_at && leg.sent && accepted_answer(*leg.sent)) {
            accepted_at = now;
          }
        }
      }
      if (done == legs.size() || (accepted_at && now - *accepted_at >= options_.broadcast_grace) ||
          now - start >= options_.broadcast_timeout) {
        break;
      }
      cv.wait_for(lock, std::chrono::milliseconds(10));
    }
    for (std::size_t k = 0; k < legs.size(); ++k) {
      if (!legs[k].done) {
        cancelled[k] = true;
        budgets[k]->cancel();
      }
    }
  }
  for (auto& t : threads) {
    t.join();
  }

  // Every answer is classified (and recorded in the endpoint's health, but for a leg cut short
  // after another endpoint accepted: it was not asked to finish).
  const bool any_accepted = std::any_of(legs.begin(), legs.end(), [](const BroadcastLeg& leg) {
    return leg.sent && accepted_answer(*leg.sent);
  });
  std::optional<RpcResult> accepted;
  std::optional<RpcError> refusal;
  std::optional<RpcError> fault;
  for (std::size_t k = 0; k < legs.size(); ++k) {
    const std::size_t i = targets[k];
    auto& leg = legs[k];
    if (leg.chain_id) {
      record(i, *leg.chain_id, leg.chain_took);
      if (!chain_answer_ok(i, *leg.chain_id)) {
        continue;
      }
    }
    if (!leg.sent) {
      continue;
    }
    auto& r = *leg.sent;
    if (!(cancelled[k] && any_accepted)) {
      record(i, r, leg.took);
    }
    if (r) {
      if (!accepted) {
        accepted = std::move(r);
      }
    } else if (accepted_answer(r)) {
      if (!accepted) {
        accepted = RpcResult(Json(nullptr));  // sent: the node has it
      }
    } else if (!r.error().endpoint_fault()) {
      if (!refusal) {
        refusal = r.error();
      }
    } else if (!fault) {
      fault = r.error();
    }
  }
  if (accepted) {
    return std::move(*accepted);
  }
  if (refusal) {
    return unexpected(*refusal);
  }
  if (fault) {
    return unexpected(*fault);
  }
  return unexpected(no_endpoint("no enabled endpoint to broadcast to"));
}

}  // namespace varkeeper::chain
