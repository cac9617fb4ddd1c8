// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";

/// @notice LOCAL USE ONLY: a Chainlink-compatible price feed whose answers, round ids and
/// timestamps anyone can set. Round ids start at 1 and increase by one per `setAnswer`.
contract MockAggregator is AggregatorV3Interface {
    struct Round {
        int256 answer;
        uint64 startedAt;
        uint64 updatedAt;
        uint80 answeredInRound;
    }

    uint8 public immutable override decimals;
    string public override description;
    uint256 public constant override version = 4;
    uint80 public latestRound;
    mapping(uint80 => Round) internal _rounds;

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);

    error NoDataPresent(uint80 roundId);

    constructor(uint8 decimals_, string memory description_, int256 initialAnswer) {
        decimals = decimals_;
        description = description_;
        if (initialAnswer != 0) setAnswer(initialAnswer);
    }

    /// @notice Opens the next round with `answer`, stamped with the block time.
    function setAnswer(int256 answer) public {
        setRoundData(latestRound + 1, answer, block.timestamp, block.timestamp, latestRound + 1);
    }

    /// @notice Writes any round; it becomes the latest if its id is the highest so far.
    function setRoundData(
        uint80 roundId,
        int256 answer,
        uint256 startedAt,
        uint256 updatedAt,
        uint80 answeredInRound
    ) public {
        _rounds[roundId] = Round(answer, uint64(startedAt), uint64(updatedAt), answeredInRound);
        if (roundId > latestRound) latestRound = roundId;
        emit AnswerUpdated(answer, roundId, updatedAt);
    }

    function getRoundData(uint80 roundId)
        public
        view
        override
        returns (uint80, int256, uint256, uint256, uint80)
    {
        Round memory r = _rounds[roundId];
        if (r.updatedAt == 0) revert NoDataPresent(roundId);
        return (roundId, r.answer, r.startedAt, r.updatedAt, r.answeredInRound);
    }

    function latestRoundData()
        external
        view
        override
        returns (uint80, int256, uint256, uint256, uint80)
    {
        return getRoundData(latestRound);
    }

    /// @notice Chainlink's legacy AggregatorInterface reads.
    function latestAnswer() external view returns (int256) {
        return _rounds[latestRound].answer;
    }

    function latestTimestamp() external view returns (uint256) {
        return _rounds[latestRound].updatedAt;
    }
}
