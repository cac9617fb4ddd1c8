#include "keeper/devchain/local_market.hpp"

#include <chrono>
#include <cmath>
#include <stdexcept>
#include <thread>

#include "chain/abi.hpp"
#include "chain/hex.hpp"
#include "keeper/core/units.hpp"

namespace varkeeper::keeper {

LocalMarket::LocalMarket(chain::EthClient& eth, chain::Address operator_account,
                         std::vector<MarketAsset> assets, MarketOptions options)
    : eth_(eth),
      operator_(operator_account),
      assets_(std::move(assets)),
      options_(options),
      rng_(options.seed) {}

double LocalMarket::price(const std::string& symbol) const {
  for (const auto& a : assets_) {
    if (a.symbol == symbol) {
      return a.price;
    }
  }
  throw std::out_of_range("no market asset " + symbol);
}

std::size_t LocalMarket::step(std::uint64_t tick) {
  std::normal_distribution<double> z(0.0, 1.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const auto set_answer = chain::parse_abi_signature("setAnswer(int256)");
  std::vector<chain::RpcRequest> calls;
  const auto& crash = options_.crash;
  const bool crashing = crash.at_tick != CrashScript::kNotScheduled && tick >= crash.at_tick &&
                        tick - crash.at_tick < crash.over_ticks;
  for (auto& a : assets_) {
    // GBM step (drift chosen so the price is a martingale) plus a compound-Poisson jump.
    double r = -0.5 * a.vol_per_tick * a.vol_per_tick + a.vol_per_tick * z(rng_);
    if (u(rng_) < options_.jump_probability) {
      r += options_.jump_mean + options_.jump_sd * z(rng_);
    }
    if (crashing) {
      r += std::log1p(-crash.drop) / static_cast<double>(crash.over_ticks);
    }
    a.price *= std::exp(r);
    for (const auto& agg : a.aggregators) {
      const double quoted = a.price * (1.0 + options_.source_noise * z(rng_));
      // The feed's int256 answer, through the one double -> on-chain conversion
      // (keeper/core/units).
      const chain::AbiInt answer{false, to_feed_answer(quoted, a.decimals)};
      const auto data = chain::encode_call(*set_answer, {chain::AbiValue::from_int(answer)});
      calls.push_back(
          {"eth_sendTransaction", chain::Json::array({{{"from", chain::to_hex(operator_)},
                                                       {"to", chain::to_hex(agg)},
                                                       {"data", chain::to_hex(*data)}}})});
    }
  }
  // One by one: the node assigns the operator's nonces, and items of one batch may be handled
  // concurrently (two updates could then race for the same nonce).
  std::vector<chain::Hash32> sent;
  for (const auto& c : calls) {
    auto r = eth_.pool().call(c.method, c.params);
    if (!r) {
      continue;
    }
    if (auto h = chain::decode_hash(*r, "eth_sendTransaction")) {
      sent.push_back(*h);
    }
  }
  std::size_t mined = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (const auto& h : sent) {
    // A stop request (its IoBudget, chain/transport.hpp) ends the wait too (issue 15, defect 9).
    while (std::chrono::steady_clock::now() < until &&
           !(chain::current_io_budget() && chain::current_io_budget()->stop_reason())) {
      auto receipt = eth_.transaction_receipt(h);
      if (receipt && *receipt) {
        mined += (*receipt)->success ? 1 : 0;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return mined;
}

}  // namespace varkeeper::keeper
