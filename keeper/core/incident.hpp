// An operational incident (issue 9), recorded by the pipeline and the daemon, persisted by the
// store, counted by the operational-risk model. `category` is free text so the taxonomy stays
// extensible from config (risk/oprisk.hpp names the built-in ones); `evidence` is a JSON object.
#pragma once

#include <cstdint>
#include <string>

namespace varkeeper::keeper {

struct Incident {
  std::uint64_t id = 0;  // assigned by the store
  std::int64_t time = 0;
  std::string category;  // e.g. "stale_feed", "oracle_manipulation", "denial_of_service"
  std::string subject;   // the asset, endpoint or portfolio concerned
  std::string evidence = "{}";
  friend bool operator==(const Incident&, const Incident&) = default;
};

}  // namespace varkeeper::keeper
