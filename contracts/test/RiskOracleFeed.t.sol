// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OracleFixture} from "./base/OracleFixture.sol";
import {RiskOracle} from "../src/RiskOracle.sol";
import {RiskOracleFeed} from "../src/RiskOracleFeed.sol";
import {AggregatorV3Interface} from "../src/interfaces/AggregatorV3Interface.sol";
import {RiskReport} from "../src/interfaces/IRiskOracle.sol";

contract RiskOracleFeedTest is OracleFixture {
    AggregatorV3Interface internal feed;

    function setUp() public {
        _deployOracle(3, 3);
        feed = new RiskOracleFeed(address(oracle), PID, "varkeeper VaR 99% 1d: treasury");
    }

    function test_metadata() public view {
        assertEq(feed.decimals(), 18, "decimals");
        assertEq(feed.version(), 1, "version");
        assertEq(feed.description(), "varkeeper VaR 99% 1d: treasury", "description");
        assertEq(address(RiskOracleFeed(address(feed)).oracle()), address(oracle), "oracle");
        assertEq(RiskOracleFeed(address(feed)).portfolioId(), PID, "portfolio");
    }

    function test_latestRoundData_readsTheAcceptedVaR() public {
        RiskReport memory r = _report(9, uint64(T0 - 7), 0.052e18, 0.071e18);
        oracle.submit(r, _sigs3(r));
        (uint80 id, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answered) =
            feed.latestRoundData();
        assertEq(id, 9, "roundId");
        assertEq(answer, int256(0.052e18), "answer");
        assertEq(startedAt, T0 - 7, "startedAt");
        assertEq(updatedAt, T0 - 7, "updatedAt");
        assertEq(answered, 9, "answeredInRound");
        (id,,,,) = feed.getRoundData(9);
        assertEq(id, 9, "getRoundData latest");
    }

    function test_reverts_withoutReportOrForOldRounds() public {
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.NoReport.selector, PID));
        feed.latestRoundData();
        RiskReport memory r = _report(9, uint64(T0), 0.05e18, 0.07e18);
        oracle.submit(r, _sigs3(r));
        vm.expectRevert(abi.encodeWithSelector(RiskOracleFeed.NoDataPresent.selector, 8));
        feed.getRoundData(8);
    }
}
