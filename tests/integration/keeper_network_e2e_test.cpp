// Issue 18's "done when": three keeper processes (separate signer and sender
// keys, stores and peer listeners; RiskOracle deployed with the three signers
// and quorum 2) on one anvil, one block a second, a round every 7 blocks, the
// mock ETH/USD feed moved before every round. Every case is checked on chain
// from outside the keepers (tests/support/keeper_network.hpp): cast for
// RiskOracle.latest() and the ReportAccepted / ReportProposed logs, and a scan
// of every block for the transactions sent to the RiskOracle, whose signers are
// recovered from their calldata over the digest the contract itself computes
// (hashReport at that block).
//   (a) all healthy: every round lands exactly once, by one submit() from the
//   round's transmitter
//       (signers() sorted, index (portfolio + round) % 3), with >= 2 distinct
//       signers' signatures.
//   (d) the peer links cut (every keeper's peer listener behind a relay that
//   refuses and closes):
//       no signature reaches a peer, so after propose_after_blocks each keeper
//       proposes and the second ReportProposed accepts the round; links healed,
//       submit() lands rounds again.
//   (b)+(e) one keeper killed with kill -9: rounds keep landing; the round it
//   would transmit is
//       landed by the first backup no earlier than backup_delay_blocks after
//       the trigger; once restarted, its signature is on a landed report again.
//   (c) the same keeper restarted behind an RPC endpoint that multiplies
//   Chainlink prices by 1.2
//       (the fault proxy's lying_price): no landed report carries its
//       signature, the honest two keep publishing, and its store holds
//       `divergence` incidents whose their_digest is the digest landed on chain
//       for that round and whose our_digest is another.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "chain/address.hpp"
#include "chain/hex.hpp"
#include "tests/support/fault_proxy.hpp"
#include "tests/support/keeper_network.hpp"
#include "tests/support/test_support.hpp"

using namespace std::chrono_literals;
using namespace varkeeper;
using chain::Address;
using test::KeeperNetwork;
using test::OracleTx;

namespace {

constexpr std::uint64_t kPortfolio = 1;

// RiskOracle.signers() as cast reads it.
std::vector<Address> onchain_signers(const KeeperNetwork& net) {
  const auto r =
      test::run_process({VARKEEPER_CAST, "call", "--rpc-url", net.rpc_url(),
                         chain::to_checksum_address(net.oracle()), "signers()(address[])"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::vector<Address> out;
  std::string text = r.out;
  for (char& ch : text) {
    if (ch == '[' || ch == ']' || ch == ',') ch = ' ';
  }
  std::istringstream in(text);
  for (std::string a; in >> a;) {
    const auto parsed = chain::parse_address(a);
    REQUIRE(parsed);
    out.push_back(*parsed);
  }
  return out;
}

// The round's transmitter by the documented rule: signers() sorted ascending,
// index (portfolio + round) % n; rank r = r places after it.
Address ranked(std::vector<Address> signers, std::uint64_t round, std::size_t rank) {
  std::sort(signers.begin(), signers.end());
  return signers[(kPortfolio + round + rank) % signers.size()];
}

// Rounds accepted for the portfolio whose trigger block (= the round:
// keeper/network/ round_rule.hpp) is after `after`.
std::vector<test::AcceptedLog> landed_after(const KeeperNetwork& net, std::uint64_t after) {
  std::vector<test::AcceptedLog> out;
  for (const auto& a : net.accepted(net.deployed_block())) {
    if (a.portfolio_id == kPortfolio && a.round > after) out.push_back(a);
  }
  return out;
}

// The transactions of one round.
std::vector<OracleTx> of_round(const std::vector<OracleTx>& txs, std::uint64_t round,
                               const std::string& function) {
  std::vector<OracleTx> out;
  for (const auto& t : txs) {
    if (t.portfolio_id == kPortfolio && t.round == round && t.function == function) {
      out.push_back(t);
    }
  }
  return out;
}

const OracleTx* by_hash(const std::vector<OracleTx>& txs, const std::string& hash) {
  for (const auto& t : txs) {
    if (t.hash == hash) return &t;
  }
  return nullptr;
}

bool has_signer(const OracleTx& t, const Address& a) {
  return std::find(t.signers.begin(), t.signers.end(), a) != t.signers.end();
}

// A new ETH price a little off the last one (the feed moves before every
// round).
struct Market {
  double price = 3000.0;
  int step = 0;
  void move(KeeperNetwork& net) {
    price *= 1.0 + 0.004 * std::sin(static_cast<double>(++step));
    net.set_eth_price(std::round(price * 100.0) / 100.0);
  }
};

// Moves the feed once a round while waiting for `n` rounds after `after` to
// land.
bool drive_until_landed(KeeperNetwork& net, Market& m, std::uint64_t after, std::size_t n,
                        std::chrono::seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  std::uint64_t moved_at = 0;
  while (std::chrono::steady_clock::now() < until) {
    if (landed_after(net, after).size() >= n) return true;
    const auto head = net.head();
    if (head >= moved_at + net.options().round_blocks) {
      m.move(net);
      moved_at = head;
    }
    std::this_thread::sleep_for(300ms);
  }
  return landed_after(net, after).size() >= n;
}

}  // namespace

TEST_CASE(
    "keeper network, 3 processes, quorum 2: healthy rounds land once by "
    "their transmitter; a "
    "partition lands them by propose; a killed keeper's rounds by a "
    "backup and it rejoins; a "
    "lying keeper never lands and records the divergence") {
  test::KeeperNetworkOptions o;
  o.round_blocks = 7;
  o.backup_delay_blocks = 2;
  o.propose_after_blocks = 5;
  KeeperNetwork net(o);
  const auto signers = onchain_signers(net);
  REQUIRE(signers.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(std::find(signers.begin(), signers.end(), net.signer(i)) != signers.end());
  }
  INFO("genesis block " << net.genesis_block());
  Market market;
  net.start_all();
  INFO(net.logs());

  // ---- (a) all healthy.
  const std::uint64_t a_from = net.genesis_block();
  REQUIRE_MESSAGE(drive_until_landed(net, market, a_from, 3, 60s), net.logs());
  const std::uint64_t a_to = net.head();
  {
    const auto landed = landed_after(net, a_from);
    const auto txs = net.oracle_txs(net.deployed_block(), a_to);
    std::set<std::uint64_t> rounds;
    for (const auto& a : landed) {
      CAPTURE(a.round);
      CHECK_MESSAGE(rounds.insert(a.round).second, "round " << a.round << " accepted twice");
      CHECK(a.round % o.round_blocks == 0);  // a trigger block's number
      const auto submits = of_round(txs, a.round, "submit");
      REQUIRE(submits.size() == 1);  // paid once
      const OracleTx& s = submits[0];
      CHECK(s.success);
      CHECK(s.hash == a.tx_hash);
      CHECK(of_round(txs, a.round, "propose").empty());
      // By the round's transmitter (its sender pays for its keeper).
      const auto transmitter = net.keeper_of_signer(ranked(signers, a.round, 0));
      REQUIRE(transmitter);
      CHECK(s.from == net.sender(*transmitter));
      // At least the quorum of distinct configured signers, over the digest the
      // contract computed.
      CHECK(s.signers.size() >= 2);
      CHECK(std::set<Address>(s.signers.begin(), s.signers.end()).size() == s.signers.size());
      for (const auto& signer : s.signers) CHECK(net.keeper_of_signer(signer).has_value());
      CHECK(s.var_wad == a.var_wad);
      // observedAt is the trigger block's time.
      CHECK(net.block_at_time(s.observed_at) == a.round);
    }
    // Every trigger block between the first and the last landed round landed.
    REQUIRE(rounds.size() >= 3);
    for (std::uint64_t r = *rounds.begin(); r <= *rounds.rbegin(); r += o.round_blocks) {
      CHECK_MESSAGE(rounds.count(r) == 1, "round " << r << " did not land");
    }
    // RiskOracle.latest(1) (cast) is the last landed round and its figures.
    const auto latest = net.latest(kPortfolio);
    const auto last = std::max_element(landed.begin(), landed.end(),
                                       [](auto& x, auto& y) { return x.round < y.round; });
    CHECK(latest.round >= last->round);
    if (latest.round == last->round) CHECK(latest.var_wad == last->var_wad);
    for (const auto& x : landed) {
      const auto subs = of_round(txs, x.round, "submit");
      MESSAGE("figures (a) round " << x.round << " latency_blocks " << x.block - x.round
                                   << " submit_gas " << (subs.empty() ? 0 : subs[0].gas_used));
    }
    MESSAGE("(a) " << landed.size() << " rounds landed by their transmitters, blocks " << a_from
                   << ".." << a_to);
  }

  // ---- (d) the peer links cut.
  net.cut_peer_links();
  const std::uint64_t d_from = net.head() + 1;  // rounds triggered after the cut
  REQUIRE_MESSAGE(drive_until_landed(net, market, d_from, 2, 60s), net.logs());
  const std::uint64_t d_to = net.head();
  {
    const auto landed = landed_after(net, d_from);
    const auto txs = net.oracle_txs(d_from, d_to);
    const auto proposals = net.proposed(d_from);
    for (const auto& a : landed) {
      CAPTURE(a.round);
      const OracleTx* t = by_hash(txs, a.tx_hash);
      REQUIRE(t != nullptr);
      CHECK(t->function == "propose");  // no quorum of signatures off chain: the fallback
      CHECK(a.block >= a.round + o.propose_after_blocks);
      std::set<Address> proposers;
      for (const auto& p : proposals) {
        if (p.portfolio_id == kPortfolio && p.round == a.round && p.block <= a.block) {
          proposers.insert(p.signer);
        }
      }
      CHECK(proposers.size() >= 2);
      for (const auto& s : of_round(txs, a.round, "submit")) CHECK_FALSE(s.success);
    }
    for (const auto& x : landed) {
      std::uint64_t gas = 0;
      std::size_t n = 0;
      for (const auto& p : of_round(txs, x.round, "propose")) {
        gas += p.gas_used;
        ++n;
      }
      MESSAGE("figures (d) round " << x.round << " latency_blocks " << x.block - x.round
                                   << " propose_txs " << n << " propose_gas_total " << gas);
    }
    MESSAGE("(d) partition: " << landed.size() << " rounds landed by propose, blocks " << d_from
                              << ".." << d_to);
  }
  net.heal_peer_links();
  const std::uint64_t healed = net.head() + 1;
  REQUIRE_MESSAGE(KeeperNetwork::wait_until(
                      [&] {
                        market.move(net);
                        const auto txs = net.oracle_txs(healed, net.head());
                        return std::any_of(txs.begin(), txs.end(), [](const OracleTx& t) {
                          return t.function == "submit" && t.success;
                        });
                      },
                      40s),
                  net.logs());

  // ---- (b) + (e) one keeper killed with kill -9 and later restarted.
  const std::size_t victim = 2;
  net.kill9(victim);
  const std::uint64_t b_from = net.head() + 1;
  REQUIRE_MESSAGE(drive_until_landed(net, market, b_from, 3, 60s), net.logs());
  const std::uint64_t b_to = net.head();
  bool backup_seen = false;
  {
    const auto landed = landed_after(net, b_from);
    const auto txs = net.oracle_txs(b_from, b_to);
    std::set<std::uint64_t> rounds;
    for (const auto& a : landed) {
      CAPTURE(a.round);
      CHECK(rounds.insert(a.round).second);
      const OracleTx* t = by_hash(txs, a.tx_hash);
      REQUIRE(t != nullptr);
      CHECK(t->function == "submit");
      CHECK_FALSE(has_signer(*t, net.signer(victim)));
      CHECK(t->from != net.sender(victim));
      if (ranked(signers, a.round, 0) == net.signer(victim)) {
        // (e) the transmitter is down: the first backup lands it, after the
        // documented delay.
        backup_seen = true;
        const auto backup = net.keeper_of_signer(ranked(signers, a.round, 1));
        REQUIRE(backup);
        CHECK(t->from == net.sender(*backup));
        CHECK(a.block >= a.round + o.backup_delay_blocks);
        MESSAGE("(e) round " << a.round << " (transmitter k" << victim + 1
                             << " down) landed by backup k" << *backup + 1 << " in block "
                             << a.block << ", " << a.block - a.round
                             << " blocks after its trigger");
      }
    }
    for (std::uint64_t r = *rounds.begin(); r <= *rounds.rbegin(); r += o.round_blocks) {
      CHECK_MESSAGE(rounds.count(r) == 1, "round " << r << " did not land");
    }
  }
  CHECK(backup_seen);
  net.start(victim);
  const std::uint64_t restarted = net.head() + 1;
  REQUIRE_MESSAGE(KeeperNetwork::wait_until(
                      [&] {
                        market.move(net);
                        const auto txs = net.oracle_txs(restarted, net.head());
                        return std::any_of(txs.begin(), txs.end(), [&](const OracleTx& t) {
                          return t.success && has_signer(t, net.signer(victim));
                        });
                      },
                      60s),
                  net.logs());
  MESSAGE("(b) k" << victim + 1 << " killed at block " << b_from - 1 << ", restarted at block "
                  << restarted - 1 << ", its signature landed again by block " << net.head());

  // ---- (c) the same keeper behind a lying RPC endpoint (prices x 1.2).
  REQUIRE(net.stop(victim) != -1);
  test::FaultProxy liar(net.rpc_url());
  liar.set_fault(test::Fault::kLyingPrice);
  net.route_rpc(victim, "http://127.0.0.1:" + std::to_string(liar.port()));
  net.start(victim);
  const std::uint64_t c_from = net.head() + 1;
  REQUIRE_MESSAGE(drive_until_landed(net, market, c_from, 4, 60s), net.logs());
  const std::uint64_t c_to = net.head();
  CHECK(liar.prices_altered() > 0);
  std::map<std::uint64_t, chain::Hash32> landed_digest;
  {
    const auto landed = landed_after(net, c_from);
    const auto txs = net.oracle_txs(c_from, c_to);
    for (const auto& t : txs) {
      if (t.success) CHECK_FALSE(has_signer(t, net.signer(victim)));
    }
    for (const auto& a : landed) {
      CAPTURE(a.round);
      const OracleTx* t = by_hash(txs, a.tx_hash);
      REQUIRE(t != nullptr);
      CHECK(t->function == "submit");  // the honest two hold a quorum
      CHECK(t->from != net.sender(victim));
      landed_digest[a.round] = t->digest;
    }
  }
  // Its divergence incidents: our digest (the lie) against the honest peers'
  // (landed on chain).
  std::size_t matched = 0;
  for (const auto& inc : net.incidents(victim)) {
    if (inc.category != "divergence") continue;
    const auto ev = nlohmann::json::parse(inc.evidence);
    const auto it = landed_digest.find(ev.at("round").get<std::uint64_t>());
    if (it == landed_digest.end()) continue;
    CAPTURE(inc.evidence);
    CHECK(ev.at("their_digest").get<std::string>() == chain::to_hex(it->second));
    CHECK(ev.at("our_digest").get<std::string>() != chain::to_hex(it->second));
    const auto peer = chain::parse_address(ev.at("peer").get<std::string>());
    REQUIRE(peer);
    CHECK(*peer != net.signer(victim));
    CHECK(net.keeper_of_signer(*peer).has_value());
    ++matched;
  }
  CHECK(matched >= 1);
  // And an honest keeper's view of it: the victim diverged from the digest that
  // landed.
  std::size_t seen_by_honest = 0;
  for (const auto& inc : net.incidents(0)) {
    if (inc.category != "divergence") continue;
    const auto ev = nlohmann::json::parse(inc.evidence);
    const auto it = landed_digest.find(ev.at("round").get<std::uint64_t>());
    if (it == landed_digest.end()) continue;
    CHECK(*chain::parse_address(ev.at("peer").get<std::string>()) == net.signer(victim));
    CHECK(ev.at("our_digest").get<std::string>() == chain::to_hex(it->second));
    ++seen_by_honest;
  }
  CHECK(seen_by_honest >= 1);
  MESSAGE("(c) lying k" << victim + 1 << ": " << landed_digest.size()
                        << " rounds landed without it, " << matched
                        << " divergence incidents in its store naming the landed digest");
  for (std::size_t i = 0; i < net.size(); ++i) CHECK(net.running(i));
}
