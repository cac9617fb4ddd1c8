// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "./Vm.sol";

/// @notice A minimal test base (npm's forge-std 1.1.2 needs ds-test, which is not available
/// offline). Forge runs `setUp()`, then every `test*` function (fuzzing those with parameters)
/// and, for invariant suites, every `invariant_*` function after each random call sequence.
/// A test fails when it reverts; every assertion below reverts with a message naming both values.
abstract contract TestBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev forge reads this to recognise a test contract.
    bool public IS_TEST = true;

    error AssertionFailed(string message);

    /// @dev ds-test's log event, which forge prints under "Logs:" with -vv.
    event log_named_uint(string key, uint256 val);

    function fail(string memory message) internal pure {
        revert AssertionFailed(message);
    }

    function assertTrue(bool condition, string memory message) internal pure {
        if (!condition) fail(message);
    }

    function assertFalse(bool condition, string memory message) internal pure {
        if (condition) fail(message);
    }

    function assertEq(uint256 a, uint256 b, string memory message) internal pure {
        if (a != b) {
            fail(string.concat(message, ": ", vm.toString(a), " != ", vm.toString(b)));
        }
    }

    function assertEq(int256 a, int256 b, string memory message) internal pure {
        if (a != b) {
            fail(string.concat(message, ": ", vm.toString(a), " != ", vm.toString(b)));
        }
    }

    function assertEq(address a, address b, string memory message) internal pure {
        if (a != b) {
            fail(string.concat(message, ": ", vm.toString(a), " != ", vm.toString(b)));
        }
    }

    function assertEq(bytes32 a, bytes32 b, string memory message) internal pure {
        if (a != b) {
            fail(string.concat(message, ": ", vm.toString(a), " != ", vm.toString(b)));
        }
    }

    function assertEq(bool a, bool b, string memory message) internal pure {
        if (a != b) fail(string.concat(message, ": bool mismatch"));
    }

    function assertEq(string memory a, string memory b, string memory message) internal pure {
        if (keccak256(bytes(a)) != keccak256(bytes(b))) {
            fail(string.concat(message, ": \"", a, "\" != \"", b, "\""));
        }
    }

    function assertLe(uint256 a, uint256 b, string memory message) internal pure {
        if (a > b) fail(string.concat(message, ": ", vm.toString(a), " > ", vm.toString(b)));
    }

    function assertGe(uint256 a, uint256 b, string memory message) internal pure {
        if (a < b) fail(string.concat(message, ": ", vm.toString(a), " < ", vm.toString(b)));
    }

    function assertLt(uint256 a, uint256 b, string memory message) internal pure {
        if (a >= b) fail(string.concat(message, ": ", vm.toString(a), " >= ", vm.toString(b)));
    }

    function assertGt(uint256 a, uint256 b, string memory message) internal pure {
        if (a <= b) fail(string.concat(message, ": ", vm.toString(a), " <= ", vm.toString(b)));
    }

    /// @dev Maps any fuzzed x into [lo, hi] (uniform enough for fuzzing; keeps edge values).
    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        require(lo <= hi, "bound: lo > hi");
        if (x >= lo && x <= hi) return x;
        uint256 size = hi - lo;
        if (size == type(uint256).max) return x;
        return lo + x % (size + 1);
    }
}

/// @notice What an invariant suite declares so forge fuzzes only the handlers (forge calls
/// `targetContracts()` and `targetSelectors()` on the test contract if they exist).
abstract contract InvariantBase is TestBase {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] internal _targetContracts;
    FuzzSelector[] internal _targetSelectors;

    function targetContract(address target) internal {
        _targetContracts.push(target);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetSelectors.push(selector);
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetSelectors;
    }
}
