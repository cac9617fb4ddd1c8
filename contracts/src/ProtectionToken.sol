// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice One epoch's VaR protection: a plain, freely transferable ERC-20 (1 token = 1 unit of
/// notional in collateral units). Only the issuing VaRProtection pool mints (on purchase) and
/// burns (on claim).
contract ProtectionToken is ERC20 {
    address public immutable pool;
    uint8 private immutable _decimals;

    error OnlyPool();

    constructor(string memory name_, string memory symbol_, uint8 decimals_) ERC20(name_, symbol_) {
        pool = msg.sender;
        _decimals = decimals_;
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    function mint(address to, uint256 amount) external {
        if (msg.sender != pool) revert OnlyPool();
        _mint(to, amount);
    }

    function burn(address from, uint256 amount) external {
        if (msg.sender != pool) revert OnlyPool();
        _burn(from, amount);
    }
}
