// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OracleFixture} from "./base/OracleFixture.sol";
import {RiskReport, Signature} from "../src/interfaces/IRiskOracle.sol";

/// @notice The calls whose gas docs/benchmarks.md records. Run with
/// `forge test --match-contract RiskOracleGas --gas-report --isolate` so every call is its own
/// transaction (cold storage, intrinsic gas included) like on a real chain. Each test also
/// asserts the target on the gasleft() delta of the call plus its intrinsic cost.
abstract contract RiskOracleGasBase is OracleFixture {
    uint256 internal constant PORTFOLIOS = 5;

    function _setUpGas(uint8 quorum_) internal {
        _deployOracle(3, quorum_);
        vm.startPrank(owner);
        for (uint64 p = 1; p <= PORTFOLIOS; ++p) oracle.setLimits(p, 3600, 60, 0.5e18);
        vm.stopPrank();
        // Round 1 for every portfolio, so the measured calls update existing reports (the
        // steady state of a running keeper).
        (RiskReport[] memory rs, Signature[][] memory ss) = _batch(PORTFOLIOS, 1, uint64(T0));
        oracle.submitBatch(rs, ss);
        vm.warp(T0 + 300);
    }

    function _batch(uint256 n, uint64 round, uint64 observedAt)
        internal
        view
        returns (RiskReport[] memory rs, Signature[][] memory ss)
    {
        rs = new RiskReport[](n);
        ss = new Signature[][](n);
        uint256 q = oracle.quorum();
        uint256[] memory idx = new uint256[](q);
        for (uint256 i; i < q; ++i) idx[i] = i;
        for (uint256 i; i < n; ++i) {
            rs[i] = _report(round, observedAt, uint64(0.05e18 + i * 1e15), uint64(0.07e18 + round * 1e15));
            rs[i].portfolioId = uint64(i + 1);
            ss[i] = _sigs(rs[i], idx);
        }
    }

    /// @dev Intrinsic gas of a call with `data`: 21000 + 4 per zero byte + 16 per non-zero byte
    /// (EIP-2028); the EIP-7623 floor is lower for these payloads.
    function _intrinsic(bytes memory data) internal pure returns (uint256 g) {
        g = 21_000;
        for (uint256 i; i < data.length; ++i) g += data[i] == 0 ? 4 : 16;
    }

    function _measure(bytes memory data) internal returns (uint256) {
        uint256 before = gasleft();
        (bool ok,) = address(oracle).call(data);
        uint256 used = before - gasleft();
        assertTrue(ok, "call reverted");
        return used + _intrinsic(data);
    }

    function _submitData(RiskReport memory r, Signature[] memory s)
        internal
        view
        returns (bytes memory)
    {
        return abi.encodeCall(oracle.submit, (r, s));
    }
}

contract RiskOracleGasQuorum1Test is RiskOracleGasBase {
    function setUp() public {
        _setUpGas(1);
    }

    function test_gas_submitQuorum1() public {
        (RiskReport[] memory rs, Signature[][] memory ss) = _batch(1, 2, uint64(T0 + 300));
        oracle.submit(rs[0], ss[0]);
    }

    function test_gas_submitBatch1Quorum1() public {
        (RiskReport[] memory rs, Signature[][] memory ss) = _batch(1, 2, uint64(T0 + 300));
        oracle.submitBatch(rs, ss);
    }

    function test_gas_submitBatch5Quorum1() public {
        (RiskReport[] memory rs, Signature[][] memory ss) = _batch(5, 2, uint64(T0 + 300));
        oracle.submitBatch(rs, ss);
    }
}

contract RiskOracleGasQuorum3Test is RiskOracleGasBase {
    function setUp() public {
        _setUpGas(3);
    }

    function test_gas_submitQuorum3() public {
        (RiskReport[] memory rs, Signature[][] memory ss) = _batch(1, 2, uint64(T0 + 300));
        oracle.submit(rs[0], ss[0]);
    }

    function test_gas_submitBatch1Quorum3() public {
        (RiskReport[] memory rs, Signature[][] memory ss) = _batch(1, 2, uint64(T0 + 300));
        oracle.submitBatch(rs, ss);
    }

    function test_gas_submitBatch5Quorum3() public {
        (RiskReport[] memory rs, Signature[][] memory ss) = _batch(5, 2, uint64(T0 + 300));
        oracle.submitBatch(rs, ss);
    }
}
