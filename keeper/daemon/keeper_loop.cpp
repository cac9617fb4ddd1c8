#include "keeper/daemon/keeper_loop.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "chain/abi.hpp"
#include "chain/contract.hpp"
#include "chain/hex.hpp"
#include "keeper/core/contract_errors.hpp"
#include "keeper/core/units.hpp"
#include "keeper/ops/logging.hpp"
#include "keeper/store/store.hpp"
#include "risk/oprisk.hpp"

namespace varkeeper::keeper {

namespace {
chain::Bytes selector_bytes(const char* signature) {
  const auto sel = chain::function_selector(signature);
  return chain::Bytes(sel->begin(), sel->end());
}

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", fraction * 100.0);
  return buf;
}

// Reverts from the oracle's guards that mean a key or permission problem (issue 9: unauthorized
// access), as opposed to a report the rules refused.
bool is_permission_revert(const std::string& message) {
  static const std::string unauthorized =
      chain::to_hex(selector_bytes("UnauthorizedSigner(address)"));
  static const std::string not_owner =
      chain::to_hex(selector_bytes("OwnableUnauthorizedAccount(address)"));
  // The refusal is in human form when the error is known ("UnauthorizedSigner: 0x.. is not ..."),
  // its selector in hex otherwise.
  return message.find(unauthorized) != std::string::npos ||
         message.find(not_owner) != std::string::npos ||
         message.find("UnauthorizedSigner: ") != std::string::npos ||
         message.find("OwnableUnauthorizedAccount: ") != std::string::npos;
}

// An operational incident in the store, when there is one (DESIGN §6).
void record_incident(KeeperStore* store, std::int64_t time, std::string_view category,
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

KeeperLoop::KeeperLoop(chain::EthClient& eth, chain::TxManager& tx, ChainlinkSource& source,
                       Pipeline& pipeline, Reporter& reporter, ActionTargets actions,
                       KeeperStore* store)
    : eth_(eth),
      tx_(tx),
      source_(source),
      pipeline_(pipeline),
      reporter_(reporter),
      actions_(actions),
      store_(store) {
  tx_.before_attempt = [this](const chain::TxRecord& rec) { return resimulate(rec); };
}

KeeperLoop::~KeeperLoop() { tx_.before_attempt = nullptr; }

std::optional<std::string> KeeperLoop::resimulate(const chain::TxRecord& rec) {
  if (rec.request.label != "report" || !rec.request.to) {
    return std::nullopt;
  }
  auto sim = eth_.call({tx_.sender(), *rec.request.to, rec.request.data, rec.request.value, {}});
  if (sim || !is_revert(sim.error())) {
    return std::nullopt;  // passes, or no answer: the attempt goes ahead
  }
  return "would revert: " + explain(sim.error());
}

std::size_t KeeperLoop::resume_from_store() {
  if (store_ == nullptr) {
    return 0;
  }
  std::size_t picked = 0;
  for (const auto& pr : store_->reports_in_state(ReportState::kPending)) {
    if (!pr.tx_id) {
      // Held while its portfolio had a report in flight, never sent; the hold ended with the
      // process (issue 15, defect 5).
      store_->set_report_state(pr.portfolio_id, pr.round, ReportState::kDropped);
      continue;
    }
    reporter_.track_in_flight(pr.portfolio_id, *pr.tx_id);
    OnchainReport r;
    r.portfolio_id = pr.portfolio_id;
    r.round = pr.round;
    r.observed_at = static_cast<std::uint64_t>(pr.observed_at);
    picked += in_flight_.count(*pr.tx_id) == 0 ? 1 : 0;
    in_flight_[*pr.tx_id].push_back(r);
  }
  for (const auto& rec : store_->load_open(tx_.sender())) {
    const auto& label = rec.request.label;
    if (!label.empty() && label != "report") {
      open_actions_[label] = rec.id;
      ++picked;
    }
  }
  return picked;
}

void KeeperLoop::try_action(const chain::Address& target, const char* signature,
                            const std::string& label, TickSummary& summary) {
  if (const auto it = open_actions_.find(label); it != open_actions_.end()) {
    const auto rec = tx_.get(it->second);
    if (rec &&
        (rec->state == chain::TxState::kUnstarted || rec->state == chain::TxState::kInProgress ||
         rec->state == chain::TxState::kUnconfirmed ||
         rec->state == chain::TxState::kConfirmedMissingReceipt ||
         rec->state == chain::TxState::kConfirmed)) {
      // One at a time, until final: a receipt a reorg can still undo does not close the action
      // (the transaction would be re-sent while a second one went out; issue 15, defect 7).
      return;
    }
    if (rec && rec->mined_hash) {
      summary.actions.push_back(label + (rec->mined_success ? " mined " : " reverted ") +
                                chain::to_hex(*rec->mined_hash) + " gas " +
                                std::to_string(rec->gas_used));
    }
    open_actions_.erase(it);
  }
  const chain::Bytes data = selector_bytes(signature);
  // The contract decides (it reads the oracle itself); we only avoid paying for a revert.
  auto sim = eth_.call({tx_.sender(), target, data, {}, {}});
  if (!sim) {
    // Shown once per distinct reason, so an operator sees why an action is not taken.
    const std::string why = explain(sim.error());
    if (last_refusal_[label] != why) {
      summary.actions.push_back(label + " not possible: " + why);
      last_refusal_[label] = why;
    }
    return;
  }
  last_refusal_.erase(label);
  chain::TxRequest req;
  req.key = label + ":" + std::to_string(summary.block);
  req.to = target;
  req.data = data;
  req.label = label;
  open_actions_[label] = tx_.enqueue(req);
  summary.actions.push_back(label + " sent");
}

std::string KeeperLoop::explain(const chain::RpcError& error) const {
  if (const auto data = chain::revert_data_of(error)) {
    // The bundled contracts' errors in human form (keeper/core/contract_errors.hpp), others by
    // name from the loaded artifacts.
    return "reverted: " + describe_revert(*data, known_errors_);
  }
  return error.describe();
}

void KeeperLoop::follow_reports(TickSummary& summary) {
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    const auto rec = tx_.get(it->first);
    if (!rec) {
      it = in_flight_.erase(it);
      continue;
    }
    if (rec->state == chain::TxState::kConfirmed) {
      mined_once_.insert(rec->id);
    } else if (rec->state == chain::TxState::kUnconfirmed && mined_once_.erase(rec->id) > 0) {
      // Its receipt's block left the chain: the manager re-sends it; the rows stay pending.
      summary.errors.push_back("report transaction " + std::to_string(rec->id) +
                               " reorged out, re-sent: " + rec->error);
    }
    if (rec->state == chain::TxState::kFatal) {
      mined_once_.erase(rec->id);
      summary.errors.push_back("report transaction failed: " + rec->error);
      record_incident(store_, summary.now, risk::oprisk::kFailedSubmission,
                      "tx " + std::to_string(rec->id), {{"error", rec->error}});
      for (const auto& r : it->second) {
        end_report(summary, {r, rec->error}, /*dropped=*/true);
      }
      it = in_flight_.erase(it);
      continue;
    }
    // A row is accepted (or refused) only once its receipt is final: a confirmed receipt can
    // still be undone by a reorg, and the transaction may then never land (issue 15, defect 7).
    if (rec->state != chain::TxState::kFinalized) {
      ++it;
      continue;
    }
    mined_once_.erase(rec->id);
    for (const auto& r : it->second) {
      std::ostringstream line;
      line << "round " << r.round << " of portfolio " << r.portfolio_id
           << (rec->mined_success ? " accepted" : " REVERTED") << " in block " << rec->mined_block
           << ", gas " << rec->gas_used << ", tx " << chain::to_hex(*rec->mined_hash);
      summary.confirmations.push_back(line.str());
      if (store_) {
        store_->set_report_state(
            r.portfolio_id, r.round,
            rec->mined_success ? ReportState::kAccepted : ReportState::kRefused);
      }
    }
    it = in_flight_.erase(it);
  }
}

TickSummary KeeperLoop::tick() {
  const auto started = std::chrono::steady_clock::now();
  TickSummary s;
  s.tick = ++ticks_;
  const bool have_head = read_head(s);
  if (have_head) {
    run_pipeline(s);
    if (!s.reads_disagree) {
      publish(s);  // never sign what one lying endpoint says
    }
    fire_actions(s);
  }
  tx_.tick();
  if (have_head) {
    follow_reports(s);
  }
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return s;
}

bool KeeperLoop::read_head(TickSummary& s) {
  // Every endpoint's head first, so a lagging or frozen node is demoted before this tick reads
  // from it (issue 15, defect 4).
  eth_.pool().observe_heads();
  auto head = eth_.get_block(chain::BlockTag::latest());
  if (!head || !*head) {
    s.errors.push_back("cannot read the latest block: " +
                       (head ? std::string("no block") : head.error().describe()));
    return false;
  }
  s.block = (*head)->number;
  s.now = static_cast<std::int64_t>((*head)->timestamp);
  return true;
}

void KeeperLoop::run_pipeline(TickSummary& s) {
  auto poll = source_.poll(s.block);
  s.reads_disagree = poll.disagreement;
  if (poll.disagreement) {
    // A lying or forked endpoint (chain.agree_reads): an incident of its own, not a DoS.
    record_incident(store_, s.now, risk::oprisk::kOracleManipulation, "rpc",
                    {{"block", s.block}, {"error", poll.failures.front()}});
  }
  for (auto& f : poll.failures) {
    s.errors.push_back(std::move(f));
  }
  if (!poll.disagreement && !poll.failures.empty() && poll.readings.empty()) {
    record_incident(store_, s.now, risk::oprisk::kDenialOfService, "rpc",
                    {{"failed_feeds", poll.failures.size()}});
  }
  s.pipeline = pipeline_.tick(s.now, poll.readings);
  if (store_) {
    for (const auto& inc : s.pipeline.incidents) {
      store_->add_incident(inc);
    }
  }
}

void KeeperLoop::publish(TickSummary& s) {
  s.submitted = reporter_.publish(s.pipeline.portfolios);
  for (const auto& why : s.submitted.unbuilt) {
    s.errors.push_back("report not built: " + why);
  }
  for (const auto& why : s.submitted.not_sent) {
    s.actions.push_back("not sent: " + why);
  }
  // One report transaction per portfolio in flight (issue 15, defect 5): what waits, what a
  // newer report replaced, what would now revert.
  for (const auto& u : s.submitted.superseded) {
    end_report(s, u, /*dropped=*/false);
  }
  for (const auto& u : s.submitted.dropped) {
    end_report(s, u, /*dropped=*/true);
    record_incident(
        store_, s.now, risk::oprisk::kFailedSubmission, "RiskOracle",
        {{"portfolio", u.report.portfolio_id}, {"round", u.report.round}, {"dropped", u.why}});
  }
  for (const auto& r : s.submitted.waiting) {
    const auto carrier = reporter_.in_flight(r.portfolio_id);
    s.actions.push_back("p" + std::to_string(r.portfolio_id) + " round " + std::to_string(r.round) +
                        " waits for report transaction " +
                        (carrier ? std::to_string(*carrier) : std::string("?")) + " in flight");
    add_report_row(s, r, std::nullopt);
  }
  if (!s.submitted.refused.empty()) {
    s.errors.push_back("report refused in simulation: " + s.submitted.refused);
    record_incident(store_, s.now,
                    is_permission_revert(s.submitted.refused) ? risk::oprisk::kUnauthorizedAccess
                                                              : risk::oprisk::kFailedSubmission,
                    "RiskOracle", {{"revert", s.submitted.refused}});
  }
  if (s.submitted.tx_id == 0) {
    return;
  }
  in_flight_[s.submitted.tx_id] = s.submitted.reports;
  last_publish_time_ = s.now;
  for (const auto& r : s.submitted.reports) {
    pipeline_.mark_published(r, s.now);
    const bool waited = std::any_of(s.submitted.were_waiting.begin(),
                                    s.submitted.were_waiting.end(), [&](const OnchainReport& w) {
                                      return w.portfolio_id == r.portfolio_id && w.round == r.round;
                                    });
    if (waited) {
      if (store_) {
        store_->set_report_tx(r.portfolio_id, r.round, s.submitted.tx_id);
      }
    } else {
      add_report_row(s, r, s.submitted.tx_id);
    }
  }
}

void KeeperLoop::add_report_row(const TickSummary& s, const OnchainReport& r,
                                std::optional<std::uint64_t> tx_id) {
  if (!store_) {
    return;
  }
  PublishedReport pr;
  pr.portfolio_id = r.portfolio_id;
  pr.round = r.round;
  pr.observed_at = static_cast<std::int64_t>(r.observed_at);
  for (const auto& u : s.pipeline.portfolios) {
    if (u.portfolio_id != r.portfolio_id) {
      continue;
    }
    pr.var = u.computed.var;
    pr.cvar = u.computed.cvar;
    pr.published_var = u.published_var;
    pr.breaker_status = u.status;
  }
  pr.tx_id = tx_id;
  pr.created_at = s.now;
  store_->add_report(pr);
}

void KeeperLoop::end_report(TickSummary& s, const UnsentReport& u, bool dropped) {
  const std::string name =
      "p" + std::to_string(u.report.portfolio_id) + " round " + std::to_string(u.report.round);
  if (dropped) {
    s.errors.push_back("report " + name + " dropped: " + u.why);
    s.dropped.push_back(u);
  } else {
    s.actions.push_back("report " + name + " " + u.why);
    s.superseded.push_back(u);
  }
  if (store_ && store_->report(u.report.portfolio_id, u.report.round)) {
    store_->set_report_state(u.report.portfolio_id, u.report.round,
                             dropped ? ReportState::kDropped : ReportState::kSuperseded);
  }
}

void KeeperLoop::fire_actions(TickSummary& s) {
  if (actions_.rebalancer) {
    try_action(*actions_.rebalancer, "rebalance()", "rebalance", s);
  }
  if (actions_.protection) {
    // Fix the start price once the sale has closed (the contract takes the first feed round at
    // or after the close), settle a finished epoch (or refund one the feed gave no price for),
    // then open the next sale (anyone may; the contract checks the oracle's report is fresh and
    // prices the premium from it). Each is sent only when its eth_call passes.
    try_action(*actions_.protection, "startCoverage()", "startCoverage", s);
    try_action(*actions_.protection, "settle()", "settle", s);
    try_action(*actions_.protection, "refundEpoch()", "refundEpoch", s);
    try_action(*actions_.protection, "startEpoch()", "startEpoch", s);
  }
}

namespace {

// What became of a portfolio's report this tick (issue 19: a publish decision that is not sent
// says why): `brief` for the default line, `full` for --verbose. Empty when there was no decision
// to publish and nothing was sent.
struct Outcome {
  std::string brief;
  std::string full;
};

Outcome publish_outcome(const TickSummary& s, const PortfolioUpdate& u) {
  const auto& sub = s.submitted;
  const auto mine = [&u](const OnchainReport& r) { return r.portfolio_id == u.portfolio_id; };
  const std::string decided = std::string("publish(") + to_string(u.publish) + ") ";
  if (const auto it = std::find_if(sub.reports.begin(), sub.reports.end(), mine);
      it != sub.reports.end()) {
    const std::string round = std::to_string(it->round);
    if (sub.tx_id != 0) {
      return {"sent r" + round,
              decided + "sent round " + round + " in transaction " + std::to_string(sub.tx_id)};
    }
    return {"not sent: refused",
            decided + "not sent: round " + round + " refused in simulation: " + sub.refused};
  }
  if (u.publish == PublishReason::kNone || !u.has_estimate) {
    return {};
  }
  if (s.reads_disagree) {
    return {"not sent: reads disagree",
            decided + "not sent: the endpoints disagree on this tick's prices"};
  }
  if (const auto it = std::find_if(sub.waiting.begin(), sub.waiting.end(), mine);
      it != sub.waiting.end()) {
    const std::string round = std::to_string(it->round);
    return {"held r" + round + ": tx in flight",
            decided + "round " + round +
                " held: it waits for the portfolio's report transaction in flight"};
  }
  const std::string tag = "p" + std::to_string(u.portfolio_id) + " ";
  for (const auto& why : sub.not_sent) {
    if (why.rfind(tag, 0) == 0) {
      return {"not sent: no newer prices", decided + "not sent: " + why.substr(tag.size())};
    }
  }
  const std::string named = "portfolio " + std::to_string(u.portfolio_id) + ": ";
  for (const auto& why : sub.unbuilt) {
    if (why.rfind(named, 0) == 0) {
      std::string full = decided;
      full += "not sent: report not built: ";
      full += why;
      return {"not sent: not built", full};
    }
  }
  return {"not sent: no report", decided + "not sent: no report was built"};
}

// The default line's budget (issue 19): with the embedded default's two portfolios the line
// stays under it; events that do not fit are counted ("+2 more"; --verbose shows them).
constexpr std::size_t kShortLineBudget = 160;

// The tick's events in a few words, most telling first: errors (the first, shortened, and how
// many), report confirmations ("accepted p1 r1, p2 r1"), actions sent or mined, then refusals
// grouped by error ("startCoverage, settle: NoActiveEpoch"). What the portfolios' parts say
// already (reports not sent, reports waiting) is left out.
std::vector<std::string> brief_events(const TickSummary& s) {
  std::vector<std::string> events;
  if (!s.errors.empty()) {
    std::string first = s.errors.front();
    if (first.size() > 32) {
      first = first.substr(0, 29) + "...";
    }
    events.push_back(
        "error: " + first +
        (s.errors.size() > 1 ? " (+" + std::to_string(s.errors.size() - 1) + ")" : std::string()));
  }
  std::map<std::string, std::string> verdicts;  // "accepted" -> "p1 r1, p2 r1"
  for (const auto& text : s.confirmations) {
    unsigned long long round = 0;
    unsigned long long portfolio = 0;
    std::array<char, 16> verdict{};
    if (std::sscanf(text.c_str(), "round %llu of portfolio %llu %15s", &round, &portfolio,
                    verdict.data()) != 3) {
      events.push_back(text);
      continue;
    }
    auto& list = verdicts[verdict.data()];
    list += list.empty() ? "p" : ", p";
    list += std::to_string(portfolio);
    list += " r";
    list += std::to_string(round);
  }
  for (const auto& [verdict, list] : verdicts) {
    std::string event = verdict;
    event += ' ';
    event += list;
    events.push_back(std::move(event));
  }
  std::vector<std::pair<std::string, std::string>> refused;  // error -> labels
  for (const auto& text : s.actions) {
    if (text.rfind("not sent: ", 0) == 0 ||
        text.find(" waits for report transaction ") != std::string::npos) {
      continue;
    }
    if (const auto at = text.find(" not possible: "); at != std::string::npos) {
      // "rebalance not possible: reverted: InsideBand: VaR ..." -> InsideBand
      std::string why = text.substr(at + 15);
      if (why.rfind("reverted: ", 0) == 0) {
        why = why.substr(10);
        why = why.substr(0, std::min(why.find(':'), why.find('(')));
      } else {
        why = "not possible";
      }
      const auto it = std::find_if(refused.begin(), refused.end(),
                                   [&why](const auto& r) { return r.first == why; });
      if (it == refused.end()) {
        refused.emplace_back(why, text.substr(0, at));
      } else {
        it->second += ", " + text.substr(0, at);
      }
      continue;
    }
    std::string brief = text;
    for (const char* verb : {" mined ", " reverted "}) {
      if (const auto at = text.find(verb); at != std::string::npos) {
        brief = text.substr(0, at) + verb + "(gas" + text.substr(text.rfind(' ')) + ")";
      }
    }
    events.push_back(brief);
  }
  for (const auto& [why, labels] : refused) {
    std::string event = labels;
    event += ": ";
    event += why;
    events.push_back(std::move(event));
  }
  return events;
}

}  // namespace

std::string KeeperLoop::status_line(const TickSummary& s, bool verbose) {
  std::ostringstream out;
  out << "tick " << s.tick << " block " << s.block;
  if (verbose) {
    out << " |";
    for (const auto& [asset, price] : s.pipeline.prices) {
      out << ' ' << asset << ' ' << std::fixed << std::setprecision(2) << price;
    }
  }
  for (const auto& u : s.pipeline.portfolios) {
    out << " | p" << u.portfolio_id;
    if (!u.has_estimate) {
      out << ' ' << u.note;
      continue;
    }
    out << " VaR " << percent(u.published_var) << " CVaR " << percent(u.published_cvar) << ' '
        << risk::to_string(u.status);
    if (u.stepped) {
      // The oracle's change limit holds the figures back: how far they lag the breaker's.
      out << " stepping";
      if (verbose) {
        out << " to VaR " << percent(u.target_var) << " CVaR " << percent(u.target_cvar);
      }
    }
    // The estimate's diagnostics (risk/risk_diagnostic.hpp), e.g. [non_positive_var] when the
    // published 0 is a clamp of a negative VaR, so no fallback or clamp stays silent.
    for (const auto& d : u.computed.diagnostics) {
      out << " [" << risk::to_string(d.kind) << ']';
    }
    const Outcome outcome = publish_outcome(s, u);
    const std::string& said = verbose ? outcome.full : outcome.brief;
    if (!said.empty()) {
      out << ' ' << said;
    }
  }
  if (verbose) {
    std::ostringstream tail;
    tail << " | " << std::fixed << std::setprecision(3) << s.seconds << " s";
    for (const auto& c : s.confirmations) {
      out << " | " << c;
    }
    for (const auto& a : s.actions) {
      if (a.rfind("not sent: ", 0) != 0 &&
          a.find(" waits for report transaction ") == std::string::npos) {
        out << " | " << a;  // the portfolio's part says those
      }
    }
    for (const auto& e : s.errors) {
      out << " | error: " << e;
    }
    return out.str() + tail.str();
  }
  const std::vector<std::string> events = brief_events(s);
  std::string line = out.str();
  std::size_t shown = 0;
  for (; shown < events.size(); ++shown) {
    const std::size_t more = events.size() - shown - 1;
    const std::size_t reserve = more == 0 ? 0 : std::string(" | +99 more").size();
    if (line.size() + 3 + events[shown].size() + reserve > kShortLineBudget) {
      break;
    }
    line += " | " + events[shown];
  }
  if (shown < events.size()) {
    line += " | +" + std::to_string(events.size() - shown) + " more";
  }
  return line;
}

void run_keeper(KeeperLoop& loop, std::chrono::milliseconds interval, const StopSignals& stop,
                std::ostream& out, std::optional<std::uint64_t> max_ticks,
                const std::function<void(std::uint64_t)>& before_tick,
                const std::function<void(const TickSummary&)>& after_tick) {
  while (!stop.stop_requested() && (!max_ticks || loop.ticks() < *max_ticks)) {
    const auto next = std::chrono::steady_clock::now() + interval;
    if (before_tick) {
      before_tick(loop.ticks() + 1);
    }
    const auto summary = loop.tick();
    out << KeeperLoop::status_line(summary, verbose_ticks()) << std::endl;
    if (after_tick) {
      after_tick(summary);
    }
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(next - std::chrono::steady_clock::now());
    if (left.count() > 0) {
      (void)stop.wait_for_stop(left);
    }
  }
}

}  // namespace varkeeper::keeper
