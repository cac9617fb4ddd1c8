// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice TEST USE ONLY: an ERC-20 that, like an ERC-777 token with a `tokensToSend` hook,
/// calls out before it moves the tokens of a `transferFrom`: the armed call (target, data) runs
/// once, its success and revert data are recorded, and the transfer proceeds either way.
contract MockReentrantERC20 is ERC20 {
    address public hookTarget;
    bytes public hookData;
    bool public hookCalled;
    bool public hookSucceeded;
    bytes public hookReturn;

    constructor() ERC20("Reentrant USD", "rUSD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Lets the test give this token contract (the re-entrant caller) an allowance.
    function approveAs(address owner, address spender, uint256 amount) external {
        _approve(owner, spender, amount);
    }

    /// @notice Arms the hook for the next `transferFrom`.
    function arm(address target, bytes calldata data) external {
        (hookTarget, hookData, hookCalled) = (target, data, false);
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        address target = hookTarget;
        if (target != address(0) && !hookCalled) {
            hookCalled = true;
            hookTarget = address(0);
            (hookSucceeded, hookReturn) = target.call(hookData);
        }
        return super.transferFrom(from, to, value);
    }
}
