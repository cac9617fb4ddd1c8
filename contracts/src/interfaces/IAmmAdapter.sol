// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice What RiskRebalancer needs from an exchange. The adapter pulls `amountIn` of `tokenIn`
/// from the caller (who approved it), sends at least `minAmountOut` of `tokenOut` to `to`, or
/// reverts. The caller checks its own balance afterwards and does not trust the return value.
interface IAmmAdapter {
    function swap(
        address tokenIn,
        address tokenOut,
        uint256 amountIn,
        uint256 minAmountOut,
        address to
    ) external returns (uint256 amountOut);
}
