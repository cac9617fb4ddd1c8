#include "chain/json_rpc.hpp"

#include <doctest/doctest.h>

#include <deque>

using namespace varkeeper::chain;

namespace {

// A transport that answers from a script and records what was sent.
class ScriptedTransport final : public Transport {
 public:
  struct Step {
    std::function<Expected<std::string, TransportError>(const Json& request)> answer;
  };
  explicit ScriptedTransport(std::deque<Step> steps, std::vector<Json>* sent)
      : steps_(std::move(steps)), sent_(sent) {}
  Expected<std::string, TransportError> post(std::string_view body) override {
    const Json request = Json::parse(body);
    sent_->push_back(request);
    REQUIRE_FALSE(steps_.empty());
    auto step = std::move(steps_.front());
    steps_.pop_front();
    return step.answer(request);
  }
  std::string describe() const override { return "scripted://node"; }

 private:
  std::deque<Step> steps_;
  std::vector<Json>* sent_;
};

ScriptedTransport::Step reply(std::function<Json(const Json&)> f) {
  return {[f](const Json& req) -> Expected<std::string, TransportError> { return f(req).dump(); }};
}
ScriptedTransport::Step raw(std::string body) {
  return {[body](const Json&) -> Expected<std::string, TransportError> { return body; }};
}
ScriptedTransport::Step fail(TransportErrorKind kind, int status = 0) {
  return {[kind, status](const Json&) -> Expected<std::string, TransportError> {
    return unexpected(TransportError{kind, "injected", status});
  }};
}

struct Harness {
  std::vector<Json> sent;
  std::vector<std::chrono::milliseconds> sleeps;
  JsonRpcClient client;
  Harness(std::deque<ScriptedTransport::Step> steps, RetryPolicy retry = {})
      : client(std::make_unique<ScriptedTransport>(std::move(steps), &sent), retry,
               [this](std::chrono::milliseconds d) { sleeps.push_back(d); }) {}
};

Json ok_for(const Json& req, Json result) {
  return {{"jsonrpc", "2.0"}, {"id", req["id"]}, {"result", std::move(result)}};
}

}  // namespace

TEST_CASE("an error value converts to a failed RpcResult, never to a JSON value") {
  RpcError e;
  e.kind = RpcErrorKind::kTimeout;
  RpcResult r = unexpected(e);
  CHECK_FALSE(r);
  CHECK(r.error().kind == RpcErrorKind::kTimeout);
  RpcResult ok = Json("0x1");
  REQUIRE(ok);
  CHECK(*ok == "0x1");
}

TEST_CASE("a single call sends JSON-RPC 2.0 and returns the result") {
  Harness h({reply([](const Json& req) { return ok_for(req, "0x7a69"); })});
  auto r = h.client.call("eth_chainId");
  REQUIRE(r);
  CHECK(*r == "0x7a69");
  REQUIRE(h.sent.size() == 1);
  CHECK(h.sent[0]["jsonrpc"] == "2.0");
  CHECK(h.sent[0]["method"] == "eth_chainId");
  CHECK(h.sent[0]["params"].is_array());
}

TEST_CASE("malformed answers are classified and retried, node errors are not retried") {
  struct Case {
    const char* name;
    ScriptedTransport::Step bad;
    RpcErrorKind kind;
  };
  std::vector<Case> cases;
  cases.push_back({"not JSON", raw("<html>oops"), RpcErrorKind::kMalformedResponse});
  cases.push_back({"wrong id", reply([](const Json&) {
                     return Json{{"jsonrpc", "2.0"}, {"id", 999999}, {"result", "0x1"}};
                   }),
                   RpcErrorKind::kMalformedResponse});
  cases.push_back({"no version", reply([](const Json& req) {
                     return Json{{"id", req["id"]}, {"result", "0x1"}};
                   }),
                   RpcErrorKind::kMalformedResponse});
  cases.push_back(
      {"result and error", reply([](const Json& req) {
         return Json{
             {"jsonrpc", "2.0"}, {"id", req["id"]}, {"result", 1}, {"error", {{"code", 1}}}};
       }),
       RpcErrorKind::kMalformedResponse});
  cases.push_back(
      {"HTTP 500", fail(TransportErrorKind::kHttpStatus, 500), RpcErrorKind::kHttpStatus});
  cases.push_back({"timeout", fail(TransportErrorKind::kTimeout), RpcErrorKind::kTimeout});
  cases.push_back({"refused", fail(TransportErrorKind::kConnect), RpcErrorKind::kTransport});
  for (auto& c : cases) {
    CAPTURE(c.name);
    // Fails twice with the fault, then answers: three attempts in all, two backoffs.
    Harness h({c.bad, c.bad, reply([](const Json& req) { return ok_for(req, "0x1"); })});
    auto r = h.client.call("eth_blockNumber");
    REQUIRE(r);
    CHECK(h.sleeps.size() == 2);
    CHECK(h.client.counters().errors_by_kind[static_cast<int>(c.kind)] == 2);
    // The second delay is longer than the first's lower bound (exponential, jittered down <= 50 %).
    CHECK(h.sleeps[1] >= std::chrono::milliseconds(100));
    CHECK(h.sleeps[0] <= std::chrono::milliseconds(100));
  }
  // A JSON-RPC error object is the node's answer: returned at once, classified.
  Harness h({reply([](const Json& req) {
    return Json{
        {"jsonrpc", "2.0"},
        {"id", req["id"]},
        {"error", {{"code", -32000}, {"message", "nonce too low: next nonce 5, tx nonce 3"}}}};
  })});
  auto r = h.client.call("eth_sendRawTransaction", Json::array({"0x00"}));
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == RpcErrorKind::kRpcError);
  CHECK(r.error().code == -32000);
  CHECK(r.error().node_error == NodeError::kNonceTooLow);
  CHECK(h.sleeps.empty());
  // A 400 is not retried either.
  Harness h400({fail(TransportErrorKind::kHttpStatus, 400)});
  auto r400 = h400.client.call("eth_blockNumber");
  REQUIRE_FALSE(r400);
  CHECK(r400.error().http_status == 400);
  CHECK(h400.sleeps.empty());
}

TEST_CASE("a batch is one request and answers are matched by id in any order") {
  Harness h({reply([](const Json& req) {
    Json out = Json::array();
    for (auto it = req.rbegin(); it != req.rend(); ++it) {  // reversed order
      out.push_back(ok_for(*it, (*it)["params"][0]));
    }
    return out;
  })});
  std::vector<RpcRequest> reqs;
  for (int i = 0; i < 100; ++i) reqs.push_back({"echo", Json::array({i})});
  auto results = h.client.batch(reqs);
  REQUIRE(results.size() == 100);
  for (int i = 0; i < 100; ++i) {
    REQUIRE(results[static_cast<std::size_t>(i)]);
    CHECK(*results[static_cast<std::size_t>(i)] == i);
  }
  CHECK(h.sent.size() == 1);
  CHECK(h.client.counters().calls == 100);
}

TEST_CASE("a batch answer that lacks or repeats ids fails only what it must, and retries those") {
  Harness h({reply([](const Json& req) {
               Json out = Json::array();
               out.push_back(ok_for(req[0], "a"));  // second answer missing
               return out;
             }),
             reply([](const Json& req) {
               REQUIRE(req.size() == 1);  // only the missing call is re-sent
               return Json::array({ok_for(req[0], "b")});
             })});
  std::vector<RpcRequest> reqs{{"m", Json::array()}, {"m", Json::array()}};
  auto results = h.client.batch(reqs);
  REQUIRE(results[0]);
  REQUIRE(results[1]);
  CHECK(*results[0] == "a");
  CHECK(*results[1] == "b");

  Harness dup({reply([](const Json& req) {
                return Json::array({ok_for(req[0], 1), ok_for(req[0], 2)});
              })},
              RetryPolicy{1});
  auto d = dup.client.batch(reqs);
  REQUIRE_FALSE(d[0]);
  CHECK(d[0].error().kind == RpcErrorKind::kMalformedResponse);
}

TEST_CASE("node error messages of each client are classified") {
  struct Case {
    const char* client;
    std::int64_t code;
    const char* message;
    NodeError want;
  };
  const Case cases[] = {
      {"geth", -32000, "nonce too low", NodeError::kNonceTooLow},
      {"geth", -32000, "already known", NodeError::kAlreadyKnown},
      {"geth", -32000, "replacement transaction underpriced", NodeError::kReplacementUnderpriced},
      {"geth", -32000, "transaction underpriced", NodeError::kUnderpriced},
      {"geth", -32000, "insufficient funds for gas * price + value: address 0x1 have 0 want 1",
       NodeError::kInsufficientFunds},
      {"geth", -32000,
       "max fee per gas less than block base fee: address 0x1, maxFeePerGas: 1, baseFee: 7",
       NodeError::kFeeCapTooLow},
      {"geth", -32000, "max priority fee per gas higher than max fee per gas",
       NodeError::kTipAboveFeeCap},
      {"geth", -32000, "tx fee (1.10 ether) exceeds the configured cap (1.00 ether)",
       NodeError::kTxFeeExceedsCap},
      {"geth", -32000, "intrinsic gas too low", NodeError::kIntrinsicGasTooLow},
      {"geth", -32000, "exceeds block gas limit", NodeError::kGasLimitExceeded},
      {"geth", -32000, "txpool is full", NodeError::kPoolFull},
      {"geth", 3, "execution reverted: not owner", NodeError::kExecutionReverted},
      {"erigon", -32000, "ALREADY_EXISTS: already known", NodeError::kAlreadyKnown},
      {"erigon", -32000, "INTERNAL_ERROR: existing tx with same hash", NodeError::kAlreadyKnown},
      {"erigon", -32000, "fee cap less than block base fee", NodeError::kFeeCapTooLow},
      {"nethermind", -32010, "OldNonce, Current nonce: 5, nonce of rejected tx: 3",
       NodeError::kNonceTooLow},
      {"nethermind", -32010, "NonceGap, Future nonce. Expected nonce: 4", NodeError::kNonceTooHigh},
      {"nethermind", -32010, "AlreadyKnown", NodeError::kAlreadyKnown},
      {"nethermind", -32010, "FeeTooLowToCompete", NodeError::kReplacementUnderpriced},
      {"nethermind", -32010,
       "FeeTooLow, MaxFeePerGas too low. MaxFeePerGas: 1, BaseFee: 7, MaxPriorityFeePerGas:1, "
       "Block number: 9",
       NodeError::kUnderpriced},
      {"nethermind", -32010, "InsufficientFunds, Account balance: 0, cumulative cost: 5",
       NodeError::kInsufficientFunds},
      {"besu", -32000, "Nonce too low", NodeError::kNonceTooLow},
      {"besu", -32000, "Known transaction", NodeError::kAlreadyKnown},
      {"besu", -32000, "Replacement transaction underpriced", NodeError::kReplacementUnderpriced},
      {"besu", -32000, "Upfront cost exceeds account balance", NodeError::kInsufficientFunds},
      {"besu", -32000, "Transaction fee cap exceeded", NodeError::kTxFeeExceedsCap},
      {"besu", -32000, "Gas price below configured minimum gas price", NodeError::kUnderpriced},
      {"hosted", 429, "Too Many Requests", NodeError::kRateLimited},
      {"any", -32005, "limit exceeded", NodeError::kRateLimited},
      {"any", -32601, "the method eth_foo does not exist/is not available", NodeError::kUnknown},
  };
  for (const auto& c : cases) {
    CAPTURE(c.client);
    CAPTURE(c.message);
    CHECK(classify_node_error(c.code, c.message) == c.want);
  }
}
