// A failure to start (unreachable node, wrong chain id, feed without code, ...): one sentence.
// Every start-up path (daemon, embedded local chain, simulation on chain) throws this one type.
#pragma once

#include <stdexcept>

namespace varkeeper::keeper {

class StartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace varkeeper::keeper
