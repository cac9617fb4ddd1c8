// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

/// @notice One epoch's VaR protection: a plain, freely transferable ERC-20 (1 token = 1 unit of
/// notional in collateral units). Only the issuing VaRProtection pool mints (on purchase) and
/// burns (on claim).
/// @dev The pool deploys this contract once, as the implementation, and each epoch's token is
/// an EIP-1167 minimal proxy of it (OpenZeppelin `Clones.cloneWithImmutableArgs`) whose code
/// carries the epoch id, so an epoch costs a 53-byte clone instead of a full ERC-20 deployment
/// (issue 14: startEpoch 874k → < 150k gas). `pool` and the decimals are the implementation's
/// immutables, the same for every clone of that pool; the name and symbol are derived from the
/// epoch id, so a clone needs no initializer and no storage of its own.
contract ProtectionToken is ERC20 {
    /// @dev Runtime size of a clone with the 8-byte epoch id appended (Clones: 0x2d + args).
    uint256 private constant CLONE_SIZE = 0x2d + 8;

    address public immutable pool;
    uint8 private immutable _decimals;

    error OnlyPool();

    constructor(uint8 decimals_) ERC20("", "") {
        pool = msg.sender;
        _decimals = decimals_;
    }

    /// @notice The epoch this token protects (0 for the implementation itself).
    function epochId() public view returns (uint256) {
        if (address(this).code.length != CLONE_SIZE) return 0;
        return uint64(bytes8(Clones.fetchCloneArgs(address(this))));
    }

    function name() public view override returns (string memory) {
        return string.concat("varkeeper VaR protection #", Strings.toString(epochId()));
    }

    function symbol() public view override returns (string memory) {
        return string.concat("vkVP", Strings.toString(epochId()));
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
