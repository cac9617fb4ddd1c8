// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The report every signer signs (EIP-712 primary type `RiskReport`). Field order and
/// types are part of the signed type string; docs/contracts.md and the C++ keeper repeat them.
/// Units: observedAt in Unix seconds; horizon in seconds; confidence, valueAtRisk and
/// expectedShortfall as WAD fractions (1e18 = 100 %); portfolioValue in USD with 8 decimals.
struct RiskReport {
    uint64 portfolioId;
    uint64 round;
    uint64 observedAt;
    uint32 horizon;
    uint64 confidence;
    uint8 method;
    uint8 breakerStatus;
    uint96 portfolioValue;
    uint64 valueAtRisk;
    uint64 expectedShortfall;
    bytes32 configHash;
}

/// @notice A secp256k1 signature over the report's EIP-712 digest (v in {27, 28}, low s).
struct Signature {
    uint8 v;
    bytes32 r;
    bytes32 s;
}

/// @notice What `latest(portfolioId)` returns: the accepted figures plus the block time of
/// acceptance.
struct AcceptedReport {
    uint64 round;
    uint64 observedAt;
    uint64 valueAtRisk;
    uint64 expectedShortfall;
    uint96 portfolioValue;
    uint64 confidence;
    uint32 horizon;
    uint8 method;
    uint8 breakerStatus;
    uint40 acceptedAt;
    bytes32 configHash;
}

/// @notice The read side consumers (VaRProtection, RiskRebalancer, lenders) depend on.
interface IRiskOracle {
    function latest(uint64 portfolioId) external view returns (AcceptedReport memory);

    function latestRoundData(uint64 portfolioId)
        external
        view
        returns (
            uint80 roundId,
            int256 answer,
            uint256 startedAt,
            uint256 updatedAt,
            uint80 answeredInRound
        );
}
