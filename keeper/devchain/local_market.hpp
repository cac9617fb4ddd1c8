// The market simulator of the embedded local chain: moves the mock Chainlink aggregators on the
// anvil node `varkeeper run` starts — geometric Brownian motion with Poisson jumps, several
// slightly noisy sources per asset, and a scripted crash — as a separate feed operator would.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "chain/address.hpp"
#include "chain/eth_client.hpp"

namespace varkeeper::keeper {

struct MarketAsset {
  std::string symbol;
  double price = 0.0;          // initial price (USD)
  double vol_per_tick = 0.03;  // volatility of one tick's log-return
  int decimals = 8;
  std::vector<chain::Address> aggregators;  // MockAggregator per source
};

struct CrashScript {
  // First tick of the crash; kNotScheduled until `LocalMarket::schedule_crash` sets it (the
  // embedded run places the crash inside a protection epoch's coverage, keeper/devchain/
  // local_chain.cpp).
  static constexpr std::uint64_t kNotScheduled = ~std::uint64_t{0};
  std::uint64_t at_tick = 30;
  std::uint64_t over_ticks = 3;  // the drop is spread over this many ticks
  double drop = 0.35;            // total fall, as a fraction
};

struct MarketOptions {
  std::uint64_t seed = 1;
  double jump_probability = 0.02;  // per tick and asset
  double jump_mean = -0.04;        // log-size of a jump
  double jump_sd = 0.03;
  double source_noise = 0.0005;  // relative noise between sources of one asset
  CrashScript crash;
};

class LocalMarket {
 public:
  // `operator_account` must be unlocked on the node (anvil's default accounts are).
  LocalMarket(chain::EthClient& eth, chain::Address operator_account,
              std::vector<MarketAsset> assets, MarketOptions options);

  // Moves every asset one tick, sends setAnswer(int256) to every aggregator (one batch) and
  // waits until they are mined, so every source of a tick is read from the same state.
  // Returns the number of updates mined.
  std::size_t step(std::uint64_t tick);

  [[nodiscard]] double price(const std::string& symbol) const;

  // The crash starts at `tick` (its `over_ticks` steps follow), replacing the scripted tick.
  void schedule_crash(std::uint64_t tick) noexcept { options_.crash.at_tick = tick; }
  [[nodiscard]] bool crash_scheduled() const noexcept {
    return options_.crash.at_tick != CrashScript::kNotScheduled;
  }
  [[nodiscard]] const CrashScript& crash() const noexcept { return options_.crash; }

 private:
  chain::EthClient& eth_;
  chain::Address operator_;
  std::vector<MarketAsset> assets_;
  MarketOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace varkeeper::keeper
