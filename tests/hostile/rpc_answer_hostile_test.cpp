// Hostile JSON-RPC answers: random and mutated bytes and JSON into the response parser and the
// typed decoders (blocks, receipts, logs, round data). Nothing may crash; every refusal is a
// typed error (malformed response), never an exception.
#include <doctest/doctest.h>

#include <random>

#include "chain/eth_client.hpp"
#include "chain/json_rpc.hpp"
#include "keeper/daemon/chainlink_source.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;

namespace {

const char* kReceipt =
    R"({"transactionHash":"0x9bc83aae37122177f3b400333137f48ef63ad75c1295d2479a79bc27395b73cd",
 "blockHash":"0x2b2d8b11a4bc048ceac0d0d06744250d459cdb72b89ac6ac3cd59316d2d3bf0e","blockNumber":"0x1b",
 "status":"0x1","gasUsed":"0x5208","effectiveGasPrice":"0x3b9aca00","contractAddress":null,
 "logs":[{"address":"0x5fbdb2315678afecb367f032d93f642f64180aa3","topics":["0x2b2d8b11a4bc048ceac0d0d06744250d459cdb72b89ac6ac3cd59316d2d3bf0e"],
 "data":"0x00","blockNumber":"0x1b","logIndex":"0x0","removed":false}]})";
const char* kBlock =
    R"({"number":"0x1b","hash":"0x2b2d8b11a4bc048ceac0d0d06744250d459cdb72b89ac6ac3cd59316d2d3bf0e",
 "parentHash":"0x9bc83aae37122177f3b400333137f48ef63ad75c1295d2479a79bc27395b73cd","timestamp":"0x6553f100",
 "gasLimit":"0x1c9c380","gasUsed":"0x5208","baseFeePerGas":"0x7"})";

Json mutate_json(Json j, std::mt19937_64& rng, int depth = 0) {
  const auto pick = rng() % 10;
  if (depth > 3 || pick == 0) {
    switch (rng() % 8) {
      case 0: return nullptr;
      case 1: return static_cast<std::int64_t>(rng());
      case 2: return "0x" + std::string(rng() % 70, "0123456789abcdefg"[rng() % 17]);
      case 3: return Json::array();
      case 4: return Json::object();
      case 5: return -1.5;
      case 6: return std::string(rng() % 5, 'x');
      default: return true;
    }
  }
  if (j.is_object() && !j.empty()) {
    auto it = j.begin();
    std::advance(it, static_cast<long>(rng() % j.size()));
    if (rng() % 4 == 0) {
      j.erase(it.key());
    } else {
      *it = mutate_json(*it, rng, depth + 1);
    }
  } else if (j.is_array() && !j.empty()) {
    auto& e = j[rng() % j.size()];
    e = mutate_json(e, rng, depth + 1);
  }
  return j;
}

}  // namespace

TEST_CASE("mutated receipts, blocks and logs are decoded or refused as malformed, never crash") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0xB10C));
  const Json receipt = Json::parse(kReceipt);
  const Json block = Json::parse(kBlock);
  REQUIRE(decode_receipt(receipt));
  REQUIRE(decode_block_header(block));
  int refused = 0;
  for (int i = 0; i < 40'000; ++i) {
    const Json r = mutate_json(receipt, rng);
    const auto rr = decode_receipt(r);
    if (!rr) {
      CHECK(rr.error().kind == RpcErrorKind::kMalformedResponse);
      ++refused;
    }
    const auto bb = decode_block_header(mutate_json(block, rng));
    if (!bb) CHECK(bb.error().kind == RpcErrorKind::kMalformedResponse);
  }
  CHECK(refused > 10'000);
}

TEST_CASE("random bytes and mutated envelopes into the JSON-RPC response parser") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0xB10C) + 1);
  const Json good = {{"jsonrpc", "2.0"}, {"id", 7}, {"result", "0x1"}};
  for (int i = 0; i < 40'000; ++i) {
    const Json j = mutate_json(good, rng);
    const auto r = parse_rpc_response(j, 7, "test");
    if (!r) {
      CHECK((r.error().kind == RpcErrorKind::kMalformedResponse ||
             r.error().kind == RpcErrorKind::kRpcError));
    }
    std::string bytes(rng() % 64, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    const Json parsed = Json::parse(bytes, nullptr, false);
    if (!parsed.is_discarded()) (void)parse_rpc_response(parsed, 7, "test");
  }
}

TEST_CASE("random latestRoundData answers are decoded or refused, never misread") {
  std::mt19937_64 rng(varkeeper::test::test_seed(0xB10C) + 2);
  for (int i = 0; i < 100'000; ++i) {
    Bytes data(rng() % 3 == 0 ? rng() % 200 : 160);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng() % 7 == 0 ? rng() : 0);
    const auto r = varkeeper::keeper::decode_round_data(data, static_cast<int>(rng() % 40));
    if (data.size() != 160) CHECK_FALSE(r);
    if (r) {
      CHECK(r->started_at >= 0);
      CHECK(r->updated_at >= 0);
      CHECK(std::isfinite(r->answer));
    }
  }
}
