#include "chain/endpoint_pool.hpp"

#include <algorithm>
#include <numeric>

#include "chain/uint256.hpp"

namespace varkeeper::chain {

EndpointPool::EndpointPool(std::vector<std::unique_ptr<JsonRpcClient>> clients)
    : clients_(std::move(clients)) {
  for (const auto& c : clients_) {
    EndpointHealth h;
    h.endpoint = c->endpoint();
    health_.push_back(std::move(h));
  }
}

std::vector<std::size_t> EndpointPool::ranked() const {
  std::vector<std::size_t> order(clients_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto& ha = health_[a];
    const auto& hb = health_[b];
    if (ha.consecutive_failures != hb.consecutive_failures) {
      return ha.consecutive_failures < hb.consecutive_failures;
    }
    return ha.latency_ms_ewma < hb.latency_ms_ewma;
  });
  std::erase_if(order, [&](std::size_t i) { return !health_[i].enabled; });
  return order;
}

void EndpointPool::record(std::size_t i, const RpcResult& r,
                          std::chrono::steady_clock::duration took) {
  auto& h = health_[i];
  const double ms = std::chrono::duration<double, std::milli>(took).count();
  h.latency_ms_ewma = h.successes + h.failures == 0 ? ms : 0.8 * h.latency_ms_ewma + 0.2 * ms;
  if (r || !r.error().endpoint_fault()) {
    ++h.successes;
    h.consecutive_failures = 0;
  } else {
    ++h.failures;
    ++h.consecutive_failures;
    h.last_error = r.error().describe();
  }
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
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto r = clients_[i]->call("eth_chainId");
    record(i, r, std::chrono::steady_clock::now() - start);
    if (!r) {
      problems += (problems.empty() ? "" : "; ") + r.error().describe();
      continue;  // unreachable now; stays enabled and is checked when it answers
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
    const auto start = std::chrono::steady_clock::now();
    auto r = clients_[i]->call(method, params);
    record(i, r, std::chrono::steady_clock::now() - start);
    if (r || !r.error().endpoint_fault()) {
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
    const auto start = std::chrono::steady_clock::now();
    auto results = clients_[i]->batch(requests);
    const bool endpoint_failed = std::any_of(results.begin(), results.end(), [](const auto& r) {
      return !r && r.error().endpoint_fault();
    });
    RpcResult summary =
        endpoint_failed
            ? RpcResult(unexpected(
                  std::find_if(results.begin(), results.end(),
                               [](const auto& r) { return !r && r.error().endpoint_fault(); })
                      ->error()))
            : RpcResult(Json());
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
    const auto start = std::chrono::steady_clock::now();
    auto r = clients_[i]->call(method, params);
    record(i, r, std::chrono::steady_clock::now() - start);
    if (!r) {
      if (!r.error().endpoint_fault()) {
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

RpcResult EndpointPool::broadcast_raw_transaction(const std::string& raw_hex) {
  std::optional<RpcResult> accepted;
  std::optional<RpcError> refusal;
  std::optional<RpcError> fault;
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    if (!health_[i].enabled) {
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    auto r = clients_[i]->call("eth_sendRawTransaction", Json::array({raw_hex}));
    record(i, r, std::chrono::steady_clock::now() - start);
    if (r) {
      if (!accepted) {
        accepted = std::move(r);
      }
    } else if (r.error().kind == RpcErrorKind::kRpcError &&
               r.error().node_error == NodeError::kAlreadyKnown) {
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
