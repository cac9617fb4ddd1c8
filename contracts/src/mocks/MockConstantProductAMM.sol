// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IAmmAdapter} from "../interfaces/IAmmAdapter.sol";

/// @notice LOCAL USE ONLY: a two-token constant-product pool (x·y = k, Uniswap v2 pricing with a
/// fee in basis points) that is its own IAmmAdapter. No LP tokens: liquidity is a gift.
contract MockConstantProductAMM is IAmmAdapter {
    using SafeERC20 for IERC20;

    IERC20 public immutable token0;
    IERC20 public immutable token1;
    uint256 public immutable feeBps;
    uint256 public reserve0;
    uint256 public reserve1;

    event LiquidityAdded(address indexed provider, uint256 amount0, uint256 amount1);
    event Swapped(
        address indexed sender, address tokenIn, uint256 amountIn, uint256 amountOut, address to
    );

    error UnknownPair(address tokenIn, address tokenOut);
    error ZeroAmount();
    error InsufficientOutput(uint256 amountOut, uint256 minAmountOut);
    error InvalidFee(uint256 feeBps);

    constructor(address token0_, address token1_, uint256 feeBps_) {
        if (feeBps_ >= 10_000) revert InvalidFee(feeBps_);
        token0 = IERC20(token0_);
        token1 = IERC20(token1_);
        feeBps = feeBps_;
    }

    function addLiquidity(uint256 amount0, uint256 amount1) external {
        token0.safeTransferFrom(msg.sender, address(this), amount0);
        token1.safeTransferFrom(msg.sender, address(this), amount1);
        reserve0 += amount0;
        reserve1 += amount1;
        emit LiquidityAdded(msg.sender, amount0, amount1);
    }

    /// @notice Output for `amountIn` given the reserves: out = in·(1−fee)·R_out / (R_in + in·(1−fee)).
    function getAmountOut(address tokenIn, uint256 amountIn) public view returns (uint256) {
        (uint256 rIn, uint256 rOut) =
            tokenIn == address(token0) ? (reserve0, reserve1) : (reserve1, reserve0);
        uint256 inWithFee = amountIn * (10_000 - feeBps);
        return inWithFee * rOut / (rIn * 10_000 + inWithFee);
    }

    function swap(
        address tokenIn,
        address tokenOut,
        uint256 amountIn,
        uint256 minAmountOut,
        address to
    ) external returns (uint256 amountOut) {
        bool zeroForOne;
        if (tokenIn == address(token0) && tokenOut == address(token1)) {
            zeroForOne = true;
        } else if (!(tokenIn == address(token1) && tokenOut == address(token0))) {
            revert UnknownPair(tokenIn, tokenOut);
        }
        if (amountIn == 0) revert ZeroAmount();
        amountOut = getAmountOut(tokenIn, amountIn);
        if (amountOut < minAmountOut || amountOut == 0) {
            revert InsufficientOutput(amountOut, minAmountOut);
        }
        IERC20(tokenIn).safeTransferFrom(msg.sender, address(this), amountIn);
        IERC20(tokenOut).safeTransfer(to, amountOut);
        if (zeroForOne) {
            reserve0 += amountIn;
            reserve1 -= amountOut;
        } else {
            reserve1 += amountIn;
            reserve0 -= amountOut;
        }
        emit Swapped(msg.sender, tokenIn, amountIn, amountOut, to);
    }
}
