#include "chain/json_rpc.hpp"

#include <algorithm>
#include <cmath>
#include <thread>
#include <unordered_map>

namespace varkeeper::chain {

std::string_view to_string(RpcErrorKind k) noexcept {
  switch (k) {
    case RpcErrorKind::kTransport: return "transport";
    case RpcErrorKind::kTimeout: return "timeout";
    case RpcErrorKind::kHttpStatus: return "http_status";
    case RpcErrorKind::kMalformedResponse: return "malformed_response";
    case RpcErrorKind::kRpcError: return "rpc_error";
    case RpcErrorKind::kWrongChain: return "wrong_chain";
    case RpcErrorKind::kDisagreement: return "disagreement";
    case RpcErrorKind::kNoEndpoint: return "no_endpoint";
  }
  return "unknown";
}

bool RpcError::retryable() const noexcept {
  switch (kind) {
    case RpcErrorKind::kTransport:
    case RpcErrorKind::kTimeout:
    case RpcErrorKind::kMalformedResponse: return true;
    case RpcErrorKind::kHttpStatus:
      return http_status >= 500 || http_status == 429 || http_status == 408;
    case RpcErrorKind::kRpcError:
      return is_transient(node_error) || code == -32603;  // internal error
    default: return false;
  }
}

bool RpcError::endpoint_fault() const noexcept {
  return kind != RpcErrorKind::kRpcError || retryable();
}

std::string RpcError::describe() const {
  std::string out = endpoint.empty() ? std::string() : endpoint + ": ";
  out += std::string(to_string(kind));
  if (kind == RpcErrorKind::kRpcError) {
    out += " " + std::to_string(code) + " (" + std::string(to_string(node_error)) + ")";
  }
  if (!message.empty()) {
    out += ": " + message;
  }
  return out;
}

namespace {

RpcError make_error(RpcErrorKind kind, const std::string& endpoint, std::string message) {
  RpcError e;
  e.kind = kind;
  e.endpoint = endpoint;
  e.message = std::move(message);
  return e;
}

RpcError from_transport(const TransportError& t, const std::string& endpoint) {
  RpcError e;
  e.endpoint = endpoint;
  e.message = t.message;
  e.http_status = t.http_status;
  switch (t.kind) {
    case TransportErrorKind::kTimeout: e.kind = RpcErrorKind::kTimeout; break;
    case TransportErrorKind::kHttpStatus: e.kind = RpcErrorKind::kHttpStatus; break;
    default: e.kind = RpcErrorKind::kTransport; break;
  }
  return e;
}

// Only integer ids are sent, so only integer ids can match.
bool id_of(const Json& response, std::uint64_t& id) {
  const auto it = response.find("id");
  if (it == response.end() || !it->is_number_integer()) {
    return false;
  }
  if (it->is_number_unsigned()) {
    id = it->get<std::uint64_t>();
    return true;
  }
  const auto v = it->get<std::int64_t>();
  if (v < 0) {
    return false;
  }
  id = static_cast<std::uint64_t>(v);
  return true;
}

// No retry once the thread's IoBudget says stop (tick deadline, SIGTERM): issue 15, defect 9.
bool io_budget_spent() {
  const IoBudget* budget = current_io_budget();
  return budget != nullptr && budget->stop_reason().has_value();
}

}  // namespace

RpcResult parse_rpc_response(const Json& response, std::uint64_t id, const std::string& endpoint) {
  if (!response.is_object()) {
    return unexpected(
        make_error(RpcErrorKind::kMalformedResponse, endpoint, "answer is not an object"));
  }
  const auto version = response.find("jsonrpc");
  if (version == response.end() || !version->is_string() || *version != "2.0") {
    return unexpected(
        make_error(RpcErrorKind::kMalformedResponse, endpoint, "jsonrpc is not \"2.0\""));
  }
  std::uint64_t got = 0;
  const bool has_id = id_of(response, got);
  const auto result = response.find("result");
  const auto error = response.find("error");
  const bool has_result = result != response.end();
  const bool has_error = error != response.end();
  if (has_result == has_error) {
    return unexpected(make_error(RpcErrorKind::kMalformedResponse, endpoint,
                                 "answer must have exactly one of result and error"));
  }
  if (has_error) {
    if (!error->is_object() || !error->contains("code") || !(*error)["code"].is_number_integer()) {
      return unexpected(make_error(RpcErrorKind::kMalformedResponse, endpoint,
                                   "error object without integer code"));
    }
    RpcError e;
    e.kind = RpcErrorKind::kRpcError;
    e.endpoint = endpoint;
    e.code = (*error)["code"].get<std::int64_t>();
    if (const auto m = error->find("message"); m != error->end() && m->is_string()) {
      e.message = m->get<std::string>();
    }
    if (const auto d = error->find("data"); d != error->end()) {
      e.data = *d;
    }
    e.node_error = classify_node_error(e.code, e.message);
    // An error about the request as a whole may carry a null id; accept it for this request.
    if (has_id && got != id) {
      return unexpected(make_error(RpcErrorKind::kMalformedResponse, endpoint,
                                   "answer id does not match the request"));
    }
    return unexpected(std::move(e));
  }
  if (!has_id || got != id) {
    return unexpected(make_error(RpcErrorKind::kMalformedResponse, endpoint,
                                 "answer id does not match the request"));
  }
  return *result;
}

JsonRpcClient::JsonRpcClient(std::unique_ptr<Transport> transport, RetryPolicy retry,
                             Sleeper sleeper)
    : transport_(std::move(transport)),
      retry_(retry),
      sleeper_(sleeper ? std::move(sleeper) : Sleeper([](std::chrono::milliseconds d) {
        std::this_thread::sleep_for(d);
      })),
      endpoint_(transport_->describe()),
      jitter_state_(std::hash<std::string>{}(endpoint_) | 1) {}

void JsonRpcClient::backoff(int attempt) {
  // Exponential backoff with jitter (AWS architecture blog, "Exponential Backoff and Jitter").
  double delay =
      static_cast<double>(retry_.initial_backoff.count()) * std::pow(retry_.multiplier, attempt);
  delay = std::min(delay, static_cast<double>(retry_.max_backoff.count()));
  jitter_state_ ^= jitter_state_ << 13;
  jitter_state_ ^= jitter_state_ >> 7;
  jitter_state_ ^= jitter_state_ << 17;
  const double u = static_cast<double>(jitter_state_ >> 11) * 0x1.0p-53;
  delay *= 1.0 - retry_.jitter * u;
  ++counters_.retries;
  sleeper_(std::chrono::milliseconds(static_cast<std::int64_t>(delay)));
}

std::vector<RpcResult> JsonRpcClient::send_once(std::span<const RpcRequest> requests,
                                                bool as_batch) {
  const std::uint64_t first_id = next_id_;
  next_id_ += requests.size();
  Json body;
  if (as_batch) {
    body = Json::array();
    for (std::size_t i = 0; i < requests.size(); ++i) {
      body.push_back({{"jsonrpc", "2.0"},
                      {"id", first_id + i},
                      {"method", requests[i].method},
                      {"params", requests[i].params}});
    }
  } else {
    body = {{"jsonrpc", "2.0"},
            {"id", first_id},
            {"method", requests[0].method},
            {"params", requests[0].params}};
  }
  ++counters_.requests;
  counters_.calls += requests.size();
  const auto fail_all = [&](RpcError e) {
    ++counters_.errors_by_kind[static_cast<int>(e.kind)];
    return std::vector<RpcResult>(requests.size(), RpcResult(unexpected(std::move(e))));
  };
  auto raw = transport_->post(body.dump());
  if (!raw) {
    return fail_all(from_transport(raw.error(), endpoint_));
  }
  Json answer = Json::parse(*raw, nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded()) {
    return fail_all(make_error(RpcErrorKind::kMalformedResponse, endpoint_, "answer is not JSON"));
  }
  std::vector<RpcResult> out;
  out.reserve(requests.size());
  if (!as_batch) {
    out.push_back(parse_rpc_response(answer, first_id, endpoint_));
  } else if (answer.is_object()) {
    // A single error object for the whole batch (e.g. "batch too large").
    auto whole = parse_rpc_response(answer, first_id, endpoint_);
    if (whole) {
      return fail_all(make_error(RpcErrorKind::kMalformedResponse, endpoint_,
                                 "batch answered with a single result"));
    }
    return fail_all(whole.error());
  } else if (!answer.is_array()) {
    return fail_all(
        make_error(RpcErrorKind::kMalformedResponse, endpoint_, "batch answer is not an array"));
  } else {
    std::unordered_map<std::uint64_t, const Json*> by_id;
    for (const auto& item : answer) {
      std::uint64_t id = 0;
      if (item.is_object() && id_of(item, id) && id >= first_id &&
          id < first_id + requests.size()) {
        if (!by_id.emplace(id, &item).second) {
          return fail_all(make_error(RpcErrorKind::kMalformedResponse, endpoint_,
                                     "batch answer repeats an id"));
        }
      }
    }
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const auto it = by_id.find(first_id + i);
      if (it == by_id.end()) {
        out.push_back(
            unexpected(make_error(RpcErrorKind::kMalformedResponse, endpoint_,
                                  "batch answer lacks id " + std::to_string(first_id + i))));
      } else {
        out.push_back(parse_rpc_response(*it->second, first_id + i, endpoint_));
      }
    }
  }
  for (const auto& r : out) {
    if (!r) {
      ++counters_.errors_by_kind[static_cast<int>(r.error().kind)];
    }
  }
  return out;
}

RpcResult JsonRpcClient::call(std::string_view method, const Json& params) {
  const RpcRequest request{std::string(method), params};
  for (int attempt = 0;; ++attempt) {
    auto result = std::move(send_once(std::span(&request, 1), false)[0]);
    if (result || !result.error().retryable() || attempt + 1 >= retry_.max_attempts ||
        io_budget_spent()) {
      return result;
    }
    backoff(attempt);
  }
}

std::vector<RpcResult> JsonRpcClient::batch(std::span<const RpcRequest> requests) {
  if (requests.empty()) {
    return {};
  }
  std::vector<RpcResult> results = send_once(requests, true);
  // Retry only the calls that failed retryably, as a smaller batch.
  for (int attempt = 0; attempt + 1 < retry_.max_attempts; ++attempt) {
    std::vector<std::size_t> again;
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (!results[i] && results[i].error().retryable()) {
        again.push_back(i);
      }
    }
    if (again.empty() || io_budget_spent()) {
      break;
    }
    backoff(attempt);
    std::vector<RpcRequest> subset;
    subset.reserve(again.size());
    for (const auto i : again) {
      subset.push_back(requests[i]);
    }
    auto retried = send_once(subset, true);
    for (std::size_t j = 0; j < again.size(); ++j) {
      results[again[j]] = std::move(retried[j]);
    }
  }
  return results;
}

}  // namespace varkeeper::chain
