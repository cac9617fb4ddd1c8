// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OracleFixture} from "./base/OracleFixture.sol";
import {RiskReport, Signature} from "../src/interfaces/IRiskOracle.sol";

/// @notice The calls whose gas docs/benchmarks.md records (the receipts there come from
/// tools/measure_gas.sh). Each test asserts its target on the gasleft() delta of the call plus
/// its intrinsic cost, on a plain `forge test` run (under `--isolate` the delta also holds the
/// inner transaction's own 21,000 + calldata, so the asserts fail there; use `--isolate` with
/// `--gas-report` only, for per-call transaction figures). Every report
/// moves the portfolio's value, VaR and CVaR (a running keeper's usual case: the value changes
/// at every report, so slot B is rewritten); `test_gas_submitBatch5Quorum3ValueConstant` keeps
/// the value for the record.
abstract contract RiskOracleGasBase is OracleFixture {
    uint256 internal constant PORTFOLIOS = 5;
    /// @dev Enabled and reported like the others; the one-portfolio batch of `_marginal`.
    uint64 internal constant SPARE = 6;

    function _setUpGas(uint8 quorum_) internal {
        _deployOracle(3, quorum_);
        vm.startPrank(owner);
        for (uint64 p = 1; p <= SPARE; ++p) {
            oracle.setLimits(p, 3600, 60, 0.5e18);
        }
        vm.stopPrank();
        // Round 1 for every portfolio, so the measured calls update existing reports (the
        // steady state of a running keeper).
        (RiskReport[] memory rs, Signature[][] memory ss) = _batch(SPARE, 1, uint64(T0), quorum_);
        oracle.submitBatch(rs, ss);
        vm.warp(T0 + 300);
    }

    /// @dev `q` is passed in rather than read from the oracle so the measured call finds the
    /// oracle's storage cold, as a real transaction does. Portfolio i's report at `round`:
    /// value, VaR and CVaR all differ from those of every other round (steps of 0.2-2 %, within
    /// the change limit for 300 s).
    function _batch(uint256 n, uint64 round, uint64 observedAt, uint256 q)
        internal
        view
        returns (RiskReport[] memory rs, Signature[][] memory ss)
    {
        return _batch(1, n, round, observedAt, q);
    }

    /// @dev The same for portfolios firstId .. firstId + n - 1.
    function _batch(uint256 firstId, uint256 n, uint64 round, uint64 observedAt, uint256 q)
        internal
        view
        returns (RiskReport[] memory rs, Signature[][] memory ss)
    {
        rs = new RiskReport[](n);
        ss = new Signature[][](n);
        uint256[] memory idx = new uint256[](q);
        for (uint256 i; i < q; ++i) {
            idx[i] = i;
        }
        for (uint256 i; i < n; ++i) {
            uint256 id = firstId + i;
            rs[i] = _report(
                round,
                observedAt,
                uint64(0.05e18 + id * 1e15 + round * 1e14),
                uint64(0.07e18 + round * 1e15)
            );
            rs[i].portfolioId = uint64(id);
            rs[i].portfolioValue = uint96(1_000_000e8 + id * 1e8 + round * 12_345e8);
            ss[i] = _sigs(rs[i], idx);
        }
    }

    /// @dev Intrinsic gas of a call with `data`: 21000 + 4 per zero byte + 16 per non-zero byte
    /// (EIP-2028); the EIP-7623 floor is lower for these payloads.
    function _intrinsic(bytes memory data) internal pure returns (uint256 g) {
        g = 21_000;
        for (uint256 i; i < data.length; ++i) {
            g += data[i] == 0 ? 4 : 16;
        }
    }

    function _measure(bytes memory data) internal returns (uint256) {
        uint256 before = gasleft();
        (bool ok,) = address(oracle).call(data);
        uint256 used = before - gasleft();
        assertTrue(ok, "call reverted");
        return used + _intrinsic(data);
    }

    /// @dev Gas of submitBatchSigned with portfolios firstId .. firstId + n - 1 at round 2 and q
    /// signatures over the batch.
    function _txGasSigned(uint256 firstId, uint256 n, uint256 q) internal returns (uint256) {
        (RiskReport[] memory rs,) = _batch(firstId, n, 2, uint64(block.timestamp), 0);
        bytes32 d = _batchDigestOf(rs);
        Signature[] memory s = new Signature[](q);
        for (uint256 i; i < q; ++i) {
            s[i] = _signDigest(keys[i], d);
        }
        uint256 g = _measure(abi.encodeCall(oracle.submitBatchSigned, (rs, s)));
        emit log_named_uint("submitBatchSigned tx gas", g);
        return g;
    }

    function _batchDigestOf(RiskReport[] memory rs) internal view returns (bytes32) {
        bytes32[] memory h = new bytes32[](rs.length);
        for (uint256 i; i < rs.length; ++i) {
            h[i] = _structHash(rs[i]);
        }
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "RiskReportBatch(RiskReport[] reports)RiskReport(uint64 portfolioId,"
                    "uint64 round,uint64 observedAt,uint32 horizon,uint64 confidence,uint8 method,"
                    "uint8 breakerStatus,uint96 portfolioValue,uint64 valueAtRisk,"
                    "uint64 expectedShortfall,bytes32 configHash)"
                ),
                keccak256(abi.encodePacked(h))
            )
        );
        return keccak256(
            abi.encodePacked(
                hex"1901", _domainSeparator(block.chainid, address(oracle)), structHash
            )
        );
    }

    /// @dev Gas of submit (n = 0) or of submitBatch with portfolios firstId .. firstId + n - 1
    /// at round 2, as a transaction. The gasleft() delta also pays the 2600 cold-account charge that a
    /// transaction's 21000 already covers, so the figure is ~2.5k above the real one: a
    /// conservative check.
    function _txGas(uint256 firstId, uint256 n, uint256 q) internal returns (uint256) {
        (RiskReport[] memory rs, Signature[][] memory ss) =
            _batch(firstId, n == 0 ? 1 : n, 2, uint64(block.timestamp), q);
        bytes memory data = n == 0
            ? abi.encodeCall(oracle.submit, (rs[0], ss[0]))
            : abi.encodeCall(oracle.submitBatch, (rs, ss));
        uint256 g = _measure(data);
        emit log_named_uint(n == 0 ? "submit tx gas" : "submitBatch tx gas", g);
        return g;
    }

    function _txGas(uint256 n, uint256 q) internal returns (uint256) {
        return _txGas(1, n, q);
    }

    /// @dev Gas per extra portfolio: a batch of portfolio SPARE alone, then (with the oracle's
    /// account and slots cooled as a new transaction finds them) a batch of portfolios 1-5, all
    /// at round 2; (g5 - g1) / 4. The two calls write disjoint slots (a slot this transaction
    /// already wrote would cost 100, not 2,900, to write again, cooled or not), both rewrite
    /// the value of every portfolio they carry, and the cold-account overcharge of `_measure`
    /// cancels out.
    function _marginal(uint256 q, bool signedOnce) internal returns (uint256 perPortfolio) {
        uint256 g1 = signedOnce ? _txGasSigned(SPARE, 1, q) : _txGas(SPARE, 1, q);
        vm.cool(address(oracle));
        uint256 g5 = signedOnce ? _txGasSigned(1, 5, q) : _txGas(1, 5, q);
        perPortfolio = (g5 - g1) / 4;
        emit log_named_uint("gas per extra portfolio", perPortfolio);
    }
}

contract RiskOracleGasQuorum1Test is RiskOracleGasBase {
    function setUp() public {
        _setUpGas(1);
    }

    function test_gas_submitQuorum1() public {
        assertLe(_txGas(0, 1), 60_000, "quorum-1 submit target");
    }

    function test_gas_submitBatch1Quorum1() public {
        assertLe(_txGas(1, 1), 60_000, "one-portfolio batch");
    }

    function test_gas_submitBatchMarginalQuorum1() public {
        assertLe(_marginal(1, false), 35_000, "each extra portfolio <= 35k at quorum 1");
    }
}

contract RiskOracleGasQuorum3Test is RiskOracleGasBase {
    function setUp() public {
        _setUpGas(3);
    }

    function test_gas_submitQuorum3() public {
        assertLe(_txGas(0, 3), 90_000, "quorum-3 submit target");
    }

    function test_gas_submitBatch1Quorum3() public {
        assertLe(_txGas(1, 3), 90_000, "one-portfolio batch");
    }

    /// Issue 14's batch target in its realistic case: every portfolio's value changes at every
    /// report (was ~36.2k per extra portfolio, over the target, before the signature loop,
    /// limit read and report buffer were tightened).
    function test_gas_submitBatchMarginalQuorum3() public {
        assertLe(_marginal(3, false), 35_000, "each extra portfolio <= 35k at quorum 3");
    }

    /// The same with every portfolio's value kept since round 1 (slot B not rewritten: ~2.9k
    /// less per portfolio). Recorded; the target is asserted on the changing case above.
    function test_gas_submitBatch5Quorum3ValueConstant() public {
        (RiskReport[] memory rs,) = _batch(5, 2, uint64(T0 + 300), 0);
        (RiskReport[] memory first,) = _batch(5, 1, uint64(T0), 0);
        Signature[][] memory ss = new Signature[][](5);
        uint256[] memory idx = new uint256[](3);
        (idx[1], idx[2]) = (1, 2);
        for (uint256 i; i < 5; ++i) {
            rs[i].portfolioValue = first[i].portfolioValue;
            ss[i] = _sigs(rs[i], idx);
        }
        uint256 g = _measure(abi.encodeCall(oracle.submitBatch, (rs, ss)));
        emit log_named_uint("submitBatch (values kept) tx gas", g);
        assertLe(g, 90_000 + 4 * 35_000, "quorum-3 batch, values kept");
    }

    function test_gas_submitBatchSigned1Quorum3() public {
        assertLe(_txGasSigned(1, 1, 3), 90_000, "one-portfolio signed batch");
    }

    function test_gas_submitBatchSignedMarginalQuorum3() public {
        assertLe(_marginal(3, true), 35_000, "each extra portfolio <= 35k at quorum 3");
    }
}
