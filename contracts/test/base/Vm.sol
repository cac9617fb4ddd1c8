// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The Foundry cheatcodes these tests use (a subset of forge-std's `Vm`, with the exact
/// signatures forge's cheatcode handler dispatches on). The handler lives at
/// address(uint160(uint256(keccak256("hevm cheat code")))).
interface Vm {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function warp(uint256 newTimestamp) external;
    /// Marks an account and its storage slots cold again (EIP-2929), as a new transaction
    /// finds them.
    function cool(address target) external;
    function roll(uint256 newHeight) external;
    function chainId(uint256 newChainId) external;
    function prank(address msgSender) external;
    function startPrank(address msgSender) external;
    function stopPrank() external;
    function expectRevert() external;
    function expectRevert(bytes4 revertData) external;
    function expectRevert(bytes calldata revertData) external;
    function expectEmit() external;
    function expectEmit(address emitter) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData)
        external;
    function expectEmit(
        bool checkTopic1,
        bool checkTopic2,
        bool checkTopic3,
        bool checkData,
        address emitter
    ) external;
    function sign(uint256 privateKey, bytes32 digest)
        external
        pure
        returns (uint8 v, bytes32 r, bytes32 s);
    function addr(uint256 privateKey) external pure returns (address keyAddr);
    function deal(address account, uint256 newBalance) external;
    function store(address target, bytes32 slot, bytes32 value) external;
    function load(address target, bytes32 slot) external view returns (bytes32 data);
    function etch(address target, bytes calldata newRuntimeBytecode) external;
    function assume(bool condition) external pure;
    function label(address account, string calldata newLabel) external;
    function toString(uint256 value) external pure returns (string memory);
    function toString(int256 value) external pure returns (string memory);
    function toString(address value) external pure returns (string memory);
    function toString(bytes32 value) external pure returns (string memory);
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory logs);
}
