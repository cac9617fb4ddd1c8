// The keeper's one durable state (DESIGN.md §5): a SQLite database in WAL mode with
// synchronous=FULL, so every write has reached the disk when the call returns and a `kill -9` at
// any point loses nothing that was acknowledged and leaves no half-written row group (several rows
// written through transaction() commit together or not at all).
//
// It holds: the transaction manager's records (KeeperStore implements chain::TxStore), raw price
// observations, resampled closes, published reports, incidents (issue 9) and a small key-value
// meta table. The schema is versioned by `PRAGMA user_version` and migrated forwards on open, one
// transaction per step; a file from a newer varkeeper is refused. Key material is never stored:
// transactions keep only their signed bytes.
//
// Integers the store keeps (rounds, nonces, blocks, ids) are SQLite's signed 64-bit integers: an
// unsigned value above 2^63-1 is refused with StoreErrorKind::kInvalidValue. Timestamps are Unix
// seconds. Every method is safe to call from several threads (one connection, one mutex).
//
// Cost: each call outside transaction() is its own commit, i.e. one fsync of the WAL (2-9 ms a row
// measured on the 2-core dev machine, against 2.5 us a row inside one transaction); write many rows
// (a tick's incidents, a history bootstrap) inside one transaction() or with
// add_prices/upsert_closes, which commit once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chain/bytes.hpp"
#include "chain/tx_store.hpp"
#include "keeper/core/incident.hpp"
#include "keeper/store/store_error.hpp"
#include "risk/circuit_breaker.hpp"

namespace varkeeper::keeper {

namespace sqlite {
class Database;
}

// The schema version this build writes; `PRAGMA user_version` of a migrated store.
inline constexpr int kStoreSchemaVersion = 3;
// `PRAGMA application_id` of a varkeeper store ("VaRk"), so another program's SQLite file is
// recognised and refused rather than migrated.
inline constexpr std::int32_t kStoreApplicationId = 0x5661526b;

struct StoreOptions {
  int busy_timeout_ms = 5000;  // wait this long for another process's lock before kBusy
  bool verify_on_open = true;  // run `PRAGMA quick_check` when opening (refuses a damaged file)
};

// One price reading as a source reported it (Chainlink latestRoundData/getRoundData, or a CSV
// replay row). Idempotent on (asset, source, round_id).
struct PriceObservation {
  std::string asset;     // e.g. "ETH/USD"
  std::string source;    // e.g. the aggregator address, or "csv:FILE"
  std::string round_id;  // canonical decimal: Chainlink roundIds are uint80 (phaseId << 64 | round)
  std::string answer;    // canonical decimal integer as the feed returned it (int256, may be < 0)
  int decimals = 0;      // the feed's decimals(): price = answer / 10^decimals
  std::int64_t updated_at = 0;   // the feed's updatedAt, Unix seconds
  std::int64_t observed_at = 0;  // when the keeper read it, Unix seconds
  // answer / 10^decimals as a double (for the risk engine; the exact value stays in `answer`).
  [[nodiscard]] double price() const;
  friend bool operator==(const PriceObservation&, const PriceObservation&) = default;
};

// One resampled close: the last price at or before the end of [period_start, period_start +
// interval).
struct Close {
  std::int64_t period_start = 0;
  double close = 0.0;
  friend bool operator==(const Close&, const Close&) = default;
};

// kSuperseded: signed and held while its portfolio had a report transaction in flight, then
// replaced by a newer report; kDropped: never landed (its simulation reverted before an attempt,
// or its transaction failed). Neither was ever mined (issue 15, defect 5).
enum class ReportState { kPending, kAccepted, kRefused, kSuperseded, kDropped };
[[nodiscard]] std::string_view to_string(ReportState s) noexcept;
[[nodiscard]] std::optional<ReportState> parse_report_state(std::string_view s) noexcept;

// A report the keeper decided to publish for (portfolio_id, round), and what became of it.
struct PublishedReport {
  std::uint64_t portfolio_id = 0;
  std::uint64_t round = 0;
  std::int64_t observed_at = 0;  // price observation time the figures are for, Unix seconds
  double var = 0.0;              // computed VaR, positive loss fraction (DESIGN.md §3)
  double cvar = 0.0;             // computed CVaR
  double published_var = 0.0;    // VaR after the breaker/smoother, as sent on chain
  risk::BreakerStatus breaker_status = risk::BreakerStatus::kNormal;
  chain::Hash32 digest{};              // EIP-712 digest of the on-chain report
  std::optional<std::uint64_t> tx_id;  // the chain::TxRecord that carries it (foreign key)
  ReportState state = ReportState::kPending;
  std::int64_t created_at = 0;
  friend bool operator==(const PublishedReport&, const PublishedReport&) = default;
};

class KeeperStore final : public chain::TxStore {
 public:
  // Opens or creates the store at `path` (creating its parent directories), switches it to WAL,
  // migrates it to kStoreSchemaVersion. Throws StoreError (one sentence naming the file) if the
  // file is not a SQLite database, is another program's database, is corrupt, or was written by
  // a newer varkeeper.
  [[nodiscard]] static std::unique_ptr<KeeperStore> open(const std::string& path,
                                                         const StoreOptions& options = {});
  ~KeeperStore() override;
  KeeperStore(const KeeperStore&) = delete;
  KeeperStore& operator=(const KeeperStore&) = delete;

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] int schema_version() const;
  // `PRAGMA integrity_check`: "ok" or SQLite's list of problems.
  [[nodiscard]] std::string integrity_check() const;

  // Runs `fn` in one transaction: every write it makes (through this store) commits together
  // when it returns, or none does if it throws (the exception propagates). Nests: an inner call
  // is a savepoint of the outer one. Other threads' calls wait until it ends.
  void transaction(const std::function<void()>& fn);

  // ---- chain::TxStore (same behaviour as chain::InMemoryTxStore) ----
  std::uint64_t insert(const chain::TxRequest& request, const chain::Address& from) override;
  void save(const chain::TxRecord& record) override;
  [[nodiscard]] std::optional<chain::TxRecord> get(std::uint64_t id) const override;
  [[nodiscard]] std::optional<chain::TxRecord> find_by_key(std::string_view key) const override;
  [[nodiscard]] std::vector<chain::TxRecord> load_open(const chain::Address& from) const override;
  [[nodiscard]] std::optional<std::uint64_t> highest_nonce(
      const chain::Address& from) const override;

  // ---- price observations ----
  // Returns true if stored, false if (asset, source, round_id) was already there (unchanged).
  // Throws StoreError kInvalidValue if round_id/answer are not canonical decimal integers.
  bool add_price(const PriceObservation& observation);
  // Several observations in one transaction (one fsync, for bootstrapping history); returns how
  // many were new.
  std::size_t add_prices(std::span<const PriceObservation> observations);
  // Observations of `asset` (every source) with from <= updated_at <= to, by updated_at, then
  // source, then round.
  [[nodiscard]] std::vector<PriceObservation> prices(std::string_view asset, std::int64_t from,
                                                     std::int64_t to) const;
  // The observation of (asset, source) with the highest round_id.
  [[nodiscard]] std::optional<PriceObservation> latest_price(std::string_view asset,
                                                             std::string_view source) const;

  // ---- resampled closes, per asset and return interval (seconds) ----
  void upsert_close(std::string_view asset, std::int64_t interval_s, const Close& close);
  // All in one transaction.
  void upsert_closes(std::string_view asset, std::int64_t interval_s,
                     std::span<const Close> closes);
  // The last `n` closes (or fewer), oldest first.
  [[nodiscard]] std::vector<Close> last_closes(std::string_view asset, std::int64_t interval_s,
                                               std::size_t n) const;

  // ---- published reports; UNIQUE (portfolio_id, round) ----
  // Throws StoreError kConstraint if the round exists already (a round is never published twice)
  // or tx_id names no transaction.
  void add_report(const PublishedReport& report);
  [[nodiscard]] std::optional<PublishedReport> report(std::uint64_t portfolio_id,
                                                      std::uint64_t round) const;
  // The report with the highest round of the portfolio, whatever its state.
  [[nodiscard]] std::optional<PublishedReport> last_report(std::uint64_t portfolio_id) const;
  // The highest round with state accepted.
  [[nodiscard]] std::optional<PublishedReport> last_accepted_report(
      std::uint64_t portfolio_id) const;
  // last_report's round + 1, or 1 (RiskOracle's rounds start at 1: round 0 means "no report").
  [[nodiscard]] std::uint64_t next_round(std::uint64_t portfolio_id) const;
  // Throws StoreError kInvalidValue if no such report exists.
  void set_report_state(std::uint64_t portfolio_id, std::uint64_t round, ReportState state);
  void set_report_tx(std::uint64_t portfolio_id, std::uint64_t round, std::uint64_t tx_id);
  // Every report in `state` (all portfolios), by portfolio then round.
  [[nodiscard]] std::vector<PublishedReport> reports_in_state(ReportState state) const;

  // ---- incidents (issue 9) ----
  // Returns the new incident's id. Throws StoreError kConstraint if evidence is not JSON or the
  // category is empty.
  std::uint64_t add_incident(const Incident& incident);
  // Incidents with from <= time < to, by time then id.
  [[nodiscard]] std::vector<Incident> incidents(std::int64_t from, std::int64_t to) const;
  // Number of incidents per category with from <= time < to.
  [[nodiscard]] std::map<std::string, std::uint64_t> incident_counts(std::int64_t from,
                                                                     std::int64_t to) const;
  // Time of the first and the last incident (the observation window of the internal ARO).
  struct TimeSpan {
    std::int64_t first = 0;
    std::int64_t last = 0;
  };
  [[nodiscard]] std::optional<TimeSpan> incident_span() const;

  // ---- what the store holds (for `varkeeper store info` and logs) ----
  struct Summary {
    int schema_version = 0;
    std::uint64_t transactions = 0;
    std::uint64_t open_transactions = 0;  // neither finalized nor fatal
    std::uint64_t price_observations = 0;
    std::uint64_t closes = 0;
    std::map<std::string, std::uint64_t> reports_by_state;  // "pending", "accepted", "refused"
    std::uint64_t incidents = 0;
    std::uint64_t meta_entries = 0;
  };
  [[nodiscard]] Summary summary() const;

  // ---- key-value meta (e.g. "last_block:<chain id>") ----
  void set_meta(std::string_view key, std::string_view value);
  [[nodiscard]] std::optional<std::string> meta(std::string_view key) const;
  void erase_meta(std::string_view key);

 private:
  KeeperStore(std::string path, std::unique_ptr<sqlite::Database> db);
  void migrate();
  [[nodiscard]] std::vector<chain::TxAttempt> attempts_of(std::uint64_t id) const;

  std::string path_;
  std::unique_ptr<sqlite::Database> db_;
  mutable std::recursive_mutex mu_;
  int depth_ = 0;  // transaction() nesting depth
};

}  // namespace varkeeper::keeper
