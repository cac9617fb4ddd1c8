// Issue 18: the keeper network's agreement rules (keeper/network/round_rule.hpp) and the
// determinism of the round engine (keeper/network/round_engine.hpp): independent keepers that
// see the same chain data sign the same EIP-712 digest for a round.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <set>

#include "chain/address.hpp"
#include "chain/secp256k1.hpp"
#include "keeper/core/methodology.hpp"
#include "keeper/core/report_builder.hpp"
#include "keeper/core/units.hpp"
#include "keeper/network/round_engine.hpp"
#include "keeper/network/round_rule.hpp"

using namespace varkeeper;
using namespace varkeeper::keeper;
using namespace varkeeper::keeper::network;

namespace {

constexpr std::int64_t kPeriod = 60;
constexpr std::int64_t kT0 = 1'700'000'040;
constexpr std::uint64_t kBlocks = 10;  // round_blocks

chain::Address addr(std::uint8_t last) noexcept {
  chain::Address a{};
  a[19] = last;
  return a;
}

// Two assets, three sources each; portfolio 1 ETH (filtered historical), portfolio 2 ETH+BTC
// (Monte Carlo Student-t, so the seed and the engine's threads matter).
PipelineConfig base_config(unsigned threads) {
  PipelineConfig c;
  c.assets.push_back({"ETH", {{"a", 3600}, {"b", 3600}, {"c", 3600}}});
  c.assets.push_back({"BTC", {{"a", 3600}, {"b", 3600}, {"c", 3600}}});
  PortfolioSpec p1;
  p1.id = 1;
  p1.name = "eth";
  p1.positions = {{"ETH", 10.0}};
  p1.method = risk::RiskMethod::kFilteredHistorical;
  p1.risk.confidence = 0.99;
  p1.risk.threads = threads;
  p1.period_s = kPeriod;
  p1.window = 120;
  p1.min_obs = 30;
  p1.publish = {0.02, 600};
  PortfolioSpec p2 = p1;
  p2.id = 2;
  p2.name = "eth+btc";
  p2.positions = {{"ETH", 300.0}, {"BTC", 20.0}};
  p2.method = risk::RiskMethod::kMcT;
  p2.risk.paths = 4000;
  c.portfolios = {p1, p2};
  c.breaker.enabled = false;
  stamp_methodology(c);
  return c;
}

// The same configuration listed in another order (portfolios, assets, sources): what a keeper's
// file may differ in without changing any methodology hash.
PipelineConfig reordered(PipelineConfig c) {
  std::reverse(c.portfolios.begin(), c.portfolios.end());
  std::reverse(c.assets.begin(), c.assets.end());
  for (auto& a : c.assets) {
    std::reverse(a.sources.begin(), a.sources.end());
  }
  return c;
}

std::vector<std::pair<std::int64_t, double>> history(double start, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z(0.0, 0.02);
  std::vector<std::pair<std::int64_t, double>> out;
  double p = start;
  for (int i = 200; i >= 1; --i) {
    p *= std::exp(z(rng));
    out.emplace_back(kT0 - i * kPeriod, p);
  }
  return out;
}

// The chain: prices per trigger, and the oracle's latest report, which lands the round a
// keeper set published at the previous trigger (accepted one second after the trigger block).
struct Chain {
  std::vector<TriggerInputs> inputs;
};

PriceReading reading(const std::string& asset, const char* source, double price, std::int64_t t,
                     std::uint64_t round) {
  PriceReading r;
  r.asset = asset;
  r.source = source;
  r.round.round_id = {1, round};
  r.round.answered_in_round = {1, round};
  r.round.answer = price;
  r.round.started_at = t;
  r.round.updated_at = t;
  return r;
}

AcceptedReport accepted(const OnchainReport& r, std::uint64_t at) {
  AcceptedReport a;
  a.round = r.round;
  a.observed_at = r.observed_at;
  a.value_at_risk = r.value_at_risk;
  a.expected_shortfall = r.expected_shortfall;
  a.portfolio_value = r.portfolio_value;
  a.confidence = r.confidence;
  a.horizon = r.horizon;
  a.method = r.method;
  a.breaker_status = r.breaker_status;
  a.accepted_at = at;
  a.config_hash = r.config_hash;
  return a;
}

const OracleDomain kDomain{31337, addr(0x42)};

using Digests = std::map<std::pair<std::uint64_t, std::uint64_t>, chain::Hash32>;  // (pid, B)

// Runs `engine` over `inputs`; the digests of every report it builds, by (portfolio, block).
Digests run(RoundEngine& engine, const std::vector<TriggerInputs>& inputs, std::size_t from = 0,
            std::size_t to = SIZE_MAX) {
  Digests out;
  for (std::size_t i = from; i < std::min(to, inputs.size()); ++i) {
    const auto r = engine.advance(inputs[i]);
    for (const auto& rr : r.reports) {
      out[{rr.report.portfolio_id, r.block}] = report_digest(kDomain, rr.report);
    }
  }
  return out;
}

void seed(RoundEngine& e) {
  e.seed_history("ETH", history(3000.0, 5));
  e.seed_history("BTC", history(60000.0, 6));
}

// The chain's trigger blocks: a random walk read by three sources, and the rounds the reference
// keeper publishes landing before the next trigger (so the chain data depends on the keepers'
// reports, as on a real chain).
std::vector<TriggerInputs> make_chain(std::size_t triggers) {
  RoundEngine reference(base_config(2), RoundRule{kBlocks, 0, 0, 1'000'000'000'000ULL, 2, 4});
  seed(reference);
  std::mt19937_64 rng(11);
  std::normal_distribution<double> z(0.0, 0.025);
  double eth = history(3000.0, 5).back().second;
  double btc = history(60000.0, 6).back().second;
  std::vector<TriggerInputs> out;
  std::map<std::uint64_t, AcceptedReport> latest;
  for (std::size_t i = 0; i < triggers; ++i) {
    eth *= std::exp(z(rng));
    btc *= std::exp(z(rng));
    TriggerInputs in;
    in.block = (i + 1) * kBlocks;
    in.timestamp = kT0 + static_cast<std::int64_t>(i) * kPeriod;
    for (const char* s : {"a", "b", "c"}) {
      in.readings.push_back(reading("ETH", s, eth, in.timestamp, i + 1));
      in.readings.push_back(reading("BTC", s, btc, in.timestamp, i + 1));
    }
    in.latest = latest;
    in.limits[1] = ChangeLimit{200'000'000'000'000'000ULL, 600, 4};
    out.push_back(in);
    for (const auto& rr : reference.advance(in).reports) {
      latest[rr.report.portfolio_id] =
          accepted(rr.report, static_cast<std::uint64_t>(in.timestamp) + 1);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("network: trigger blocks, genesis and lag") {
  const RoundRule rule{5, 12, 2, 1, 2, 4};
  CHECK(first_trigger(rule) == 15);
  CHECK_FALSE(is_trigger(rule, 10));  // before genesis
  CHECK(is_trigger(rule, 15));
  CHECK_FALSE(is_trigger(rule, 16));
  CHECK_FALSE(latest_trigger(rule, 16).has_value());  // 16 - lag 2 = 14 < 15
  CHECK(latest_trigger(rule, 17) == 15u);
  CHECK(latest_trigger(rule, 21) == 15u);
  CHECK(latest_trigger(rule, 22) == 20u);
  CHECK_FALSE(latest_trigger(rule, 1).has_value());
}

TEST_CASE("network: transmitter rotation and ranks over the sorted signer set (table)") {
  // Given in another order than sorted: the rule sorts.
  const std::vector<chain::Address> signers{addr(0x30), addr(0x10), addr(0x20)};
  struct Row {
    std::uint64_t pid, round;
    std::uint8_t transmitter;
    std::size_t rank_10, rank_20, rank_30;
  };
  // (pid + round) % 3 indexes [0x10, 0x20, 0x30]; rank = distance after the transmitter.
  const Row rows[] = {
      {1, 1, 0x30, 1, 2, 0}, {1, 2, 0x10, 0, 1, 2}, {1, 3, 0x20, 2, 0, 1},
      {2, 1, 0x10, 0, 1, 2}, {2, 2, 0x20, 2, 0, 1}, {7, 11, 0x10, 0, 1, 2},
  };
  for (const auto& row : rows) {
    CAPTURE(row.pid);
    CAPTURE(row.round);
    CHECK(transmitter(signers, row.pid, row.round) == addr(row.transmitter));
    CHECK(transmit_rank(signers, addr(0x10), row.pid, row.round) == row.rank_10);
    CHECK(transmit_rank(signers, addr(0x20), row.pid, row.round) == row.rank_20);
    CHECK(transmit_rank(signers, addr(0x30), row.pid, row.round) == row.rank_30);
  }
  CHECK_FALSE(transmit_rank(signers, addr(0x99), 1, 1).has_value());
  // Every round has exactly one transmitter, and the ranks are a permutation of 0..n-1.
  for (std::uint64_t round = 1; round < 30; ++round) {
    std::set<std::size_t> ranks;
    for (const auto& s : signers) {
      ranks.insert(*transmit_rank(signers, s, 3, round));
    }
    CHECK(ranks == std::set<std::size_t>{0, 1, 2});
  }
}

TEST_CASE("network: backup and propose schedule (table)") {
  const RoundRule rule{10, 0, 0, 1, 2, 7};  // backup delay 2 blocks per rank, propose after 7
  struct Row {
    std::size_t rank;
    std::uint64_t head;
    TransmitState st;
    TransmitStep want;
  };
  const std::uint64_t b = 100;
  const TransmitState quorum{false, true, false, false};
  const TransmitState none{false, false, false, false};
  const Row rows[] = {
      {0, 100, quorum, TransmitStep::kSubmit},  // transmitter: at once with a quorum
      {0, 100, none, TransmitStep::kWait},      // no quorum yet
      {1, 101, quorum, TransmitStep::kWait},    // first backup waits 2 blocks
      {1, 102, quorum, TransmitStep::kSubmit},
      {2, 103, quorum, TransmitStep::kWait},  // second backup waits 4
      {2, 104, quorum, TransmitStep::kSubmit},
      {0, 106, none, TransmitStep::kWait},
      {0, 107, none, TransmitStep::kPropose},  // no quorum formed: propose
      {2, 107, none, TransmitStep::kPropose},
      {0, 108, {false, false, false, true}, TransmitStep::kWait},    // proposed once
      {0, 101, {false, true, true, false}, TransmitStep::kWait},     // submitted once
      {0, 107, {false, true, true, false}, TransmitStep::kPropose},  // sent, did not land
      {1, 150, {true, true, false, false}, TransmitStep::kDone},     // landed: nothing to do
  };
  for (const auto& row : rows) {
    CAPTURE(row.rank);
    CAPTURE(row.head);
    CHECK(transmit_step(rule, row.rank, b, row.head, row.st) == row.want);
  }
  CHECK(submit_due(rule, 0, b) == 100);
  CHECK(submit_due(rule, 2, b) == 104);
}

TEST_CASE("network: the MC seed is a function of (portfolio, round) only") {
  CHECK(mc_seed(1, 1) == mc_seed(1, 1));
  CHECK(mc_seed(1, 1) != mc_seed(1, 2));
  CHECK(mc_seed(1, 2) != mc_seed(2, 1));
  CHECK(mc_seed(0, 0) != 0);
}

TEST_CASE("network: quantisation rounds toward the oracle's figure, half up without one") {
  const chain::U256 q(1'000'000'000'000ULL);
  CHECK(quantise_value(chain::U256(2'400'000'000'000ULL), std::nullopt, q) ==
        chain::U256(2'000'000'000'000ULL));
  CHECK(quantise_value(chain::U256(2'500'000'000'000ULL), std::nullopt, q) ==
        chain::U256(3'000'000'000'000ULL));
  // Toward a higher base: up; toward a lower base: down (a step never grows).
  CHECK(quantise_value(chain::U256(2'100'000'000'000ULL), chain::U256(9'000'000'000'000ULL), q) ==
        chain::U256(3'000'000'000'000ULL));
  CHECK(quantise_value(chain::U256(2'900'000'000'000ULL), chain::U256(1'000'000'000'000ULL), q) ==
        chain::U256(2'000'000'000'000ULL));
  OnchainReport r;
  r.value_at_risk = 50'000'000'000'000'123ULL;
  r.expected_shortfall = 50'000'000'000'000'100ULL;  // rounds below the VaR: lifted
  r.portfolio_value = chain::U256(123'456'789'012ULL);
  const auto out = quantise(r, std::nullopt, 1'000'000'000'000ULL);
  CHECK(out.value_at_risk == 50'000'000'000'000'000ULL);
  CHECK(out.expected_shortfall >= out.value_at_risk);
  CHECK(out.portfolio_value == chain::U256(123'500'000'000ULL));  // whole USD, half up
}

TEST_CASE(
    "network determinism: keepers with other thread counts, orders and a replay from genesis "
    "sign the same digests") {
  const auto chain = make_chain(40);
  const RoundRule rule{kBlocks, 0, 0, 1'000'000'000'000ULL, 2, 4};

  // Keeper A: ran all along, 2 risk-engine threads.
  RoundEngine a(base_config(2), rule);
  seed(a);
  const auto da = run(a, chain);
  // Keeper B: one thread, portfolios, assets and sources listed in reverse, readings shuffled.
  RoundEngine b(reordered(base_config(1)), rule);
  seed(b);
  auto shuffled = chain;
  std::mt19937_64 rng(3);
  for (auto& in : shuffled) {
    std::shuffle(in.readings.begin(), in.readings.end(), rng);
  }
  const auto db = run(b, shuffled);
  // Keeper C: ran the first 17 triggers, was killed, and replayed from genesis on restart.
  {
    RoundEngine before_crash(base_config(2), rule);
    seed(before_crash);
    (void)run(before_crash, chain, 0, 17);
  }
  RoundEngine c(base_config(2), rule);
  seed(c);
  const auto dc = run(c, chain);

  // Both portfolios published several rounds (the comparison is not vacuous).
  std::set<std::uint64_t> pids;
  for (const auto& [key, d] : da) {
    pids.insert(key.first);
  }
  CHECK(pids == std::set<std::uint64_t>{1, 2});
  CHECK(da.size() >= 6);
  CHECK(da == db);
  CHECK(da == dc);
}

TEST_CASE("network determinism: the MC seed changes the figure, so keepers must derive it alike") {
  const auto chain = make_chain(40);
  const RoundRule rule{kBlocks, 0, 0, 1, 2, 4};  // quantum 1: raw WAD
  RoundEngine a(base_config(2), rule);
  seed(a);
  TriggerResult last_a;
  for (const auto& in : chain) {
    last_a = a.advance(in);
  }
  // The same inputs, the last trigger computed with another portfolio-2 seed (what a keeper with
  // a wall-clock or per-process seed would do): portfolio 2's estimate differs.
  RoundEngine b(base_config(2), rule);
  seed(b);
  TriggerResult last_b;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    auto in = chain[i];
    if (i + 1 == chain.size()) {
      // Another round number for p2 at this trigger (the oracle holding a round past the
      // trigger block): the seed of (2, that round + 1) is used instead of (2, B).
      AcceptedReport held = in.latest.count(2) != 0 ? in.latest.at(2) : AcceptedReport{};
      held.round = in.block + 100;
      held.observed_at = static_cast<std::uint64_t>(in.timestamp) - 1;
      in.latest[2] = held;
    }
    last_b = b.advance(in);
  }
  const auto p2 = [](const TriggerResult& r) {
    for (const auto& u : r.tick.portfolios) {
      if (u.portfolio_id == 2) {
        return u.computed.var;
      }
    }
    return -1.0;
  };
  REQUIRE(p2(last_a) > 0.0);
  CHECK(p2(last_a) != p2(last_b));
}

TEST_CASE("network determinism: a last-bit difference splits raw WAD digests, not quantised ones") {
  // The same VaR summed in two orders (as two risk engines or libms may): last bits differ.
  const std::vector<double> parts{0.0123456789, 0.0234567891, 0.0345678912, 1e-17, 0.0056789123};
  double fwd = 0.0;
  for (double p : parts) {
    fwd += p;
  }
  double bwd = 0.0;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    bwd += *it;
  }
  double x = fwd;
  double y = bwd;
  if (x == y) {
    y = std::nextafter(x, 1.0);  // the summation happened to agree: one ulp apart instead
  }
  REQUIRE(x != y);
  PortfolioSpec spec = base_config(1).portfolios[0];
  PortfolioUpdate u;
  u.portfolio_id = spec.id;
  u.has_estimate = true;
  u.value = 31'234.5678;
  u.observed_at = kT0;
  u.published_var = x;
  u.published_cvar = x * 1.3;
  PortfolioUpdate v = u;
  v.published_var = y;
  v.published_cvar = y * 1.3;
  const auto ru = *build_report(spec, u, 4);
  const auto rv = *build_report(spec, v, 4);
  REQUIRE(ru.value_at_risk != rv.value_at_risk);  // a WAD is finer than the last bit here
  CHECK(report_digest(kDomain, ru) != report_digest(kDomain, rv));
  const auto qu = quantise(ru, std::nullopt, 1'000'000'000'000ULL);
  const auto qv = quantise(rv, std::nullopt, 1'000'000'000'000ULL);
  CHECK(qu.value_at_risk == qv.value_at_risk);
  CHECK(report_digest(kDomain, qu) == report_digest(kDomain, qv));
}
