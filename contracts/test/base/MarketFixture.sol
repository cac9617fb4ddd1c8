// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OracleFixture} from "./OracleFixture.sol";
import {MockAggregator} from "../../src/mocks/MockAggregator.sol";
import {MockERC20} from "../../src/mocks/MockERC20.sol";
import {RiskReport, Signature} from "../../src/interfaces/IRiskOracle.sol";

/// @notice An oracle with one signer (quorum 1) and no change limit, a USD price feed with
/// 8 decimals and a 6-decimal stable token: what the consumer contracts read.
abstract contract MarketFixture is OracleFixture {
    MockAggregator internal feed;
    MockERC20 internal usdc;
    uint64 internal nextRound = 1;

    function _deployMarket(int256 price) internal {
        _deployOracle(1, 1);
        vm.prank(owner);
        oracle.setLimits(PID, 3600, 0, 0);
        feed = new MockAggregator(8, "ETH / USD", price);
        usdc = new MockERC20("USD Coin", "USDC", 6);
    }

    /// @dev Publishes a report observed now with the given figures.
    function _publish(uint64 var_, uint64 cvar_, uint32 horizon) internal {
        RiskReport memory r = _report(nextRound++, uint64(block.timestamp), var_, cvar_);
        r.horizon = horizon;
        Signature[] memory s = new Signature[](1);
        s[0] = _sign(keys[0], r);
        oracle.submit(r, s);
    }
}
