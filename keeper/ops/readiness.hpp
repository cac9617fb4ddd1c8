// What /readyz answers: the keeper is ready when its prices are fresh and a report was accepted
// recently. The tick records both; the HTTP thread asks. Thread-safe.
//
// Times are Unix seconds of the keeper's clock (the wall clock in the daemon, simulated time in a
// replay), the same clock the publish policy uses, so "recent" means the same thing to both.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "keeper/ops/http_server.hpp"

namespace varkeeper::keeper {

struct ReadinessPolicy {
  std::int64_t max_price_age_s = 120;     // consensus prices older than this: not ready
  std::int64_t max_publish_age_s = 3600;  // last accepted report older than this: not ready
                                          // (a publish heartbeat plus slack is a good value)
};

class ReadinessTracker {
 public:
  explicit ReadinessTracker(ReadinessPolicy policy = {}) : policy_(policy) {}

  // The tick had fresh, accepted prices for every configured asset at `now`.
  void prices_fresh(std::int64_t now);
  // A report was accepted on chain (or, in a dry run, by the recorder) at `now`.
  void publish_succeeded(std::int64_t now);

  // Ready, or not with a one-line reason naming what is missing or how old it is.
  [[nodiscard]] Readiness check(std::int64_t now) const;

 private:
  ReadinessPolicy policy_;
  mutable std::mutex mutex_;
  std::optional<std::int64_t> prices_at_;
  std::optional<std::int64_t> publish_at_;
};

}  // namespace varkeeper::keeper
