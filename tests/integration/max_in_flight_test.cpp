// Issue 15, defect 5 (the cap): the daemon keeps at most chain.max_in_flight transactions with a
// nonce and no receipt (default 16, Chainlink's), not the transaction manager's own 256.
#include <doctest/doctest.h>

#include "chain/tx_manager.hpp"
#include "keeper/config/config.hpp"

TEST_CASE("defect 5: the daemon caps transactions in flight at chain.max_in_flight (16)") {
  CHECK(varkeeper::keeper::ChainSettings{}.max_in_flight == 16);
  CHECK(varkeeper::keeper::tx_manager_options(varkeeper::keeper::ChainSettings{}).max_in_flight ==
        16);
  varkeeper::keeper::ChainSettings chain;
  chain.max_in_flight = 3;
  CHECK(varkeeper::keeper::tx_manager_options(chain).max_in_flight == 3);
}
