// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";
import {IRiskOracle} from "./interfaces/IRiskOracle.sol";

/// @title RiskOracleFeed
/// @notice One portfolio's VaR behind Chainlink's AggregatorV3Interface, so a consumer written
/// for a price feed reads it unchanged: answer = VaR as a WAD fraction (decimals 18),
/// roundId = report round, startedAt = updatedAt = observation time. The oracle keeps only the
/// latest report, so `getRoundData` answers for the latest round and reverts for any other.
contract RiskOracleFeed is AggregatorV3Interface {
    IRiskOracle public immutable oracle;
    uint64 public immutable portfolioId;
    string public override description;

    error NoDataPresent(uint80 roundId);

    constructor(address oracle_, uint64 portfolioId_, string memory description_) {
        oracle = IRiskOracle(oracle_);
        portfolioId = portfolioId_;
        description = description_;
    }

    function decimals() external pure override returns (uint8) {
        return 18;
    }

    function version() external pure override returns (uint256) {
        return 1;
    }

    function latestRoundData()
        public
        view
        override
        returns (uint80, int256, uint256, uint256, uint80)
    {
        return oracle.latestRoundData(portfolioId);
    }

    function getRoundData(uint80 roundId)
        external
        view
        override
        returns (uint80, int256, uint256, uint256, uint80)
    {
        (uint80 id, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answered) =
            latestRoundData();
        if (roundId != id) revert NoDataPresent(roundId);
        return (id, answer, startedAt, updatedAt, answered);
    }
}
