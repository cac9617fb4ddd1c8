// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OracleFixture} from "./base/OracleFixture.sol";
import {RiskOracle} from "../src/RiskOracle.sol";
import {AcceptedReport, RiskReport, Signature} from "../src/interfaces/IRiskOracle.sol";

/// @notice Issue 14, findings 6-10: each test performs the attack a reviewer described against
/// RiskOracle and asserts that it no longer works. They use only the ABI the attacker had (the
/// v1 functions, errors addressed by their signature strings), so they compile against the old
/// contract too, where each of them failed.
contract RiskOracleAttackTest is OracleFixture {
    uint256 internal constant EVIL_KEY = 0xE711;

    function _batchDigest(RiskReport[] memory rs) internal view returns (bytes32) {
        bytes32[] memory h = new bytes32[](rs.length);
        for (uint256 i; i < rs.length; ++i) {
            h[i] = _structHash(rs[i]);
        }
        bytes32 batchType = keccak256(
            "RiskReportBatch(RiskReport[] reports)RiskReport(uint64 portfolioId,uint64 round,"
            "uint64 observedAt,uint32 horizon,uint64 confidence,uint8 method,uint8 breakerStatus,"
            "uint96 portfolioValue,uint64 valueAtRisk,uint64 expectedShortfall,bytes32 configHash)"
        );
        bytes32 structHash = keccak256(abi.encode(batchType, keccak256(abi.encodePacked(h))));
        return keccak256(
            abi.encodePacked(
                hex"1901", _domainSeparator(block.chainid, address(oracle)), structHash
            )
        );
    }

    function _call(address from, bytes memory data) internal returns (bool ok) {
        vm.prank(from);
        (ok,) = address(oracle).call(data);
    }

    // ------------------------------------------------------------ finding 6

    /// A fresh oracle has quorum 0: enabling a portfolio must be refused until a quorum is set,
    /// so a report with no signature at all can never land.
    function test_finding6_submitWithoutSignaturesRefusedBeforeQuorum() public {
        vm.warp(T0);
        oracle = new RiskOracle(owner);
        vm.prank(owner);
        oracle.addSigner(vm.addr(0x5157));
        bool enabled = _call(owner, abi.encodeCall(oracle.setLimits, (PID, 3600, 60, 0.5e18)));
        assertFalse(enabled, "setLimits accepted while quorum is 0");

        RiskReport memory r = _report(1, uint64(T0), 0.9e18, 0.95e18);
        Signature[] memory none = new Signature[](0);
        bool landed = _call(address(0xBAD), abi.encodeCall(oracle.submit, (r, none)));
        assertFalse(landed, "an unsigned report was accepted");
        bool proposed = _call(address(0xBAD), abi.encodeCall(oracle.propose, (r, _sign(0x5157, r))));
        assertFalse(proposed, "one proposal was accepted with quorum 0");
        assertEq(oracle.quorum(), 0, "quorum untouched");
    }

    // ------------------------------------------------------------ finding 7

    /// A breaker flag set by the signers widens the change limit; it does not switch it off.
    function test_finding7_breakerFlagDoesNotRemoveVaRLimit() public {
        _deployOracle(1, 1);
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        oracle.submit(r, _sigs1(r));
        vm.warp(T0 + 3600);
        r = _report(2, uint64(T0 + 3600), 0.9e18, 0.95e18);
        r.breakerStatus = 1; // tripped
        vm.expectRevert(
            abi.encodeWithSignature(
                "VaRChangeTooLarge(uint64,uint64)", uint64(0.05e18), uint64(0.9e18)
            )
        );
        oracle.submit(r, _sigs1(r));
        assertEq(oracle.latest(PID).valueAtRisk, 0.05e18, "VaR unchanged");
    }

    /// One submitBatchSigned repeating a portfolio in +1 s steps (minInterval 0), each step
    /// +50 % (within the per-report limit), must not move VaR: no time passes between them.
    function test_finding7_batchOfOneSecondStepsCannotCompoundVaR() public {
        _deployOracle(1, 1);
        vm.prank(owner);
        oracle.setLimits(PID, 3600, 0, 0.5e18);
        RiskReport memory first = _report(1, uint64(T0 - 100), 0.01e18, 0.012e18);
        oracle.submit(first, _sigs1(first));
        vm.warp(T0 + 3600);
        uint256 n = 8;
        RiskReport[] memory rs = new RiskReport[](n);
        uint64 v = 0.01e18;
        for (uint256 i; i < n; ++i) {
            v = v * 3 / 2;
            rs[i] = _report(uint64(2 + i), uint64(T0 + 3600 - n + i), v, v + v / 5);
        }
        Signature[] memory s = new Signature[](1);
        s[0] = _signDigest(keys[0], _batchDigest(rs));
        bool ok = _call(address(0xBAD), abi.encodeCall(oracle.submitBatchSigned, (rs, s)));
        // 1.5^8 = 25.6x in one transaction before the fix.
        assertLe(oracle.latest(PID).valueAtRisk, 0.015e18, "VaR moved beyond one period's limit");
        assertFalse(ok, "the compounding batch was accepted");
    }

    /// Across transactions the limit scales with the time elapsed since the last acceptance:
    /// one minute of a 50 %-per-hour limit allows well under 1 %, not 50 %.
    function test_finding7_changeLimitScalesWithElapsedTimeAcrossTransactions() public {
        _deployOracle(1, 1);
        vm.prank(owner);
        oracle.setLimits(PID, 3600, 60, 0.5e18);
        RiskReport memory r = _report(1, uint64(T0), 0.04e18, 0.05e18);
        oracle.submit(r, _sigs1(r));
        vm.warp(T0 + 60);
        r = _report(2, uint64(T0 + 60), 0.06e18, 0.075e18); // +50 % after 60 s
        vm.expectRevert(
            abi.encodeWithSignature(
                "VaRChangeTooLarge(uint64,uint64)", uint64(0.04e18), uint64(0.06e18)
            )
        );
        oracle.submit(r, _sigs1(r));
    }

    /// CVaR prices premiums and margins: it is guarded like VaR.
    function test_finding7_cvarIsGuardedLikeVaR() public {
        _deployOracle(1, 1);
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.06e18);
        oracle.submit(r, _sigs1(r));
        vm.warp(T0 + 3600);
        r = _report(2, uint64(T0 + 3600), 0.05e18, 0.9e18); // VaR flat, CVaR x15
        vm.expectRevert(
            abi.encodeWithSignature(
                "CVaRChangeTooLarge(uint64,uint64)", uint64(0.06e18), uint64(0.9e18)
            )
        );
        oracle.submit(r, _sigs1(r));
    }

    // ------------------------------------------------------------ finding 8

    /// Once the oracle is in use, the owner cannot add itself as a signer, drop the quorum to
    /// one and lift the limits in one block, and so cannot write a figure.
    function test_finding8_ownerCannotSeizeOracleInOneBlock() public {
        _deployOracle(5, 3);
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        oracle.submit(r, _sigs3(r));

        address evil = vm.addr(EVIL_KEY);
        bool added = _call(owner, abi.encodeCall(oracle.addSigner, (evil)));
        bool removed0 = _call(owner, abi.encodeCall(oracle.removeSigner, (vm.addr(keys[0]))));
        bool quorumSet = _call(owner, abi.encodeCall(oracle.setQuorum, (1)));
        bool lifted = _call(owner, abi.encodeCall(oracle.setLimits, (PID, 3600, 0, 0)));
        vm.warp(T0 + 1);
        RiskReport memory forged = _report(2, uint64(T0 + 1), 0.9e18, 0.95e18);
        Signature[] memory s = new Signature[](1);
        s[0] = _signDigest(EVIL_KEY, _digest(forged));
        bool landed = _call(owner, abi.encodeCall(oracle.submit, (forged, s)));

        assertFalse(added, "owner added a signer immediately");
        assertFalse(removed0, "owner removed a signer immediately");
        assertFalse(quorumSet, "owner changed the quorum immediately");
        assertFalse(lifted, "owner changed limits immediately");
        assertFalse(landed, "the owner's figure landed");
        assertEq(oracle.latest(PID).valueAtRisk, 0.05e18, "VaR unchanged");
        assertEq(oracle.quorum(), 3, "quorum unchanged");
    }

    // ------------------------------------------------------------ finding 9

    /// A faulty signer proposes first with another configHash; the honest quorum still lands.
    function test_finding9_faultySignerCannotBlockHonestProposals() public {
        _deployOracle(5, 3);
        RiskReport memory bad = _report(1, uint64(T0), 0.05e18, 0.07e18);
        bad.configHash = keccak256("a model nobody else runs");
        oracle.propose(bad, _sign(keys[4], bad));

        RiskReport memory honest = _report(1, uint64(T0), 0.05e18, 0.07e18);
        for (uint256 i; i < 3; ++i) {
            bool ok = _call(
                address(0xCAFE), abi.encodeCall(oracle.propose, (honest, _sign(keys[i], honest)))
            );
            assertTrue(ok, "an honest proposal was refused");
        }
        AcceptedReport memory a = oracle.latest(PID);
        assertEq(a.round, 1, "round accepted");
        assertEq(a.configHash, honest.configHash, "the honest model");
    }

    /// Found by RiskOracle.invariant.t.sol's adversary suite (issue 14): a faulty signer
    /// proposes the honest model's round early with the previous VaR (so it is the report
    /// nearest the status quo) and lets it age past maxAge. Every honest proposal that completes
    /// the quorum picked the faulty report, reverted StaleReport, and the round never landed
    /// through `propose`. An invalid proposal must not be picked: the honest ones land.
    function test_finding9_staleFaultyProposalCannotBlockHonestRound() public {
        _deployOracle(5, 2);
        RiskReport memory first = _report(1, uint64(T0), 0.05e18, 0.07e18);
        oracle.submit(first, _sigs(first, _idx3(0, 1, 2)));
        vm.warp(T0 + 60);
        RiskReport memory bad = _report(2, uint64(T0 + 60), 0.05e18, 0.07e18);
        oracle.propose(bad, _sign(keys[4], bad));
        vm.warp(T0 + 60 + 3601); // the faulty proposal is now stale (maxAge 3600)
        RiskReport memory honest = _report(2, uint64(block.timestamp), 0.052e18, 0.072e18);
        for (uint256 i; i < 2; ++i) {
            bool ok = _call(
                address(0xCAFE), abi.encodeCall(oracle.propose, (honest, _sign(keys[i], honest)))
            );
            assertTrue(ok, "an honest proposal was refused");
        }
        AcceptedReport memory a = oracle.latest(PID);
        assertEq(a.round, 2, "the honest round landed");
        assertEq(a.valueAtRisk, 0.052e18, "with an honest figure");
    }

    /// The accepted figures are one signer's report whole, not a per-field mix nobody signed.
    function test_finding9_medianIsOneSignersConsistentReport() public {
        _deployOracle(5, 3);
        RiskReport memory a = _report(1, uint64(T0 - 30), 0.01e18, 0.05e18);
        RiskReport memory b = _report(1, uint64(T0 - 20), 0.02e18, 0.03e18);
        RiskReport memory c = _report(1, uint64(T0 - 10), 0.03e18, 0.04e18);
        a.portfolioValue = 3e8;
        b.portfolioValue = 1e8;
        c.portfolioValue = 2e8;
        oracle.propose(a, _sign(keys[0], a));
        oracle.propose(b, _sign(keys[1], b));
        oracle.propose(c, _sign(keys[2], c));
        AcceptedReport memory m = oracle.latest(PID);
        // b has the median VaR: its whole report is stored (per field: 0.02 / 0.04 / T0-20 / 2e8).
        assertEq(m.valueAtRisk, 0.02e18, "VaR");
        assertEq(m.expectedShortfall, 0.03e18, "CVaR of the same signer");
        assertEq(m.observedAt, T0 - 20, "observedAt of the same signer");
        assertEq(m.portfolioValue, 1e8, "value of the same signer");
    }

    /// With an even quorum a faulty signer does not decide the figure by going low: of the two
    /// middle reports the one nearer the last accepted VaR is taken.
    function test_finding9_evenQuorumFaultySignerCannotPullMedianDown() public {
        _deployOracle(4, 2);
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs(r, _twoIdx());
        oracle.submit(r, s);
        vm.warp(T0 + 3600);
        RiskReport memory faulty = _report(2, uint64(T0 + 3600), 0.03e18, 0.042e18);
        RiskReport memory honest = _report(2, uint64(T0 + 3600), 0.055e18, 0.077e18);
        oracle.propose(faulty, _sign(keys[3], faulty));
        oracle.propose(honest, _sign(keys[0], honest));
        assertEq(oracle.latest(PID).valueAtRisk, 0.055e18, "the faulty low figure won");
    }

    function _twoIdx() internal pure returns (uint256[] memory x) {
        x = new uint256[](2);
        (x[0], x[1]) = (0, 1);
    }

    // ------------------------------------------------------------ finding 10

    /// A report observed up to 15 s ahead of the block is accepted (clock skew) but stored with
    /// the block time, so `block.timestamp - updatedAt` never underflows for a consumer.
    function test_finding10_futureTimestampClampedToBlockTime() public {
        _deployOracle(1, 1);
        RiskReport memory r = _report(1, uint64(T0 + 10), 0.05e18, 0.07e18);
        oracle.submit(r, _sigs1(r));
        (,,, uint256 updatedAt,) = oracle.latestRoundData(PID);
        assertLe(updatedAt, block.timestamp, "updatedAt in the future");
        assertEq(updatedAt, T0, "clamped to the block time");
    }

    /// A round of 2^64-1 would brick the portfolio for ever: round jumps are bounded.
    function test_finding10_roundJumpIsBounded() public {
        _deployOracle(1, 1);
        RiskReport memory r = _report(type(uint64).max, uint64(T0), 0.05e18, 0.07e18);
        vm.expectRevert(
            abi.encodeWithSignature("RoundJumpTooLarge(uint64,uint64)", type(uint64).max, uint64(0))
        );
        oracle.submit(r, _sigs1(r));
    }

    /// Copying one report out of a submitBatch and landing it first does not sink the batch.
    function test_finding10_copiedReportDoesNotGriefBatch() public {
        _deployOracle(1, 1);
        vm.prank(owner);
        oracle.setLimits(PID + 1, 3600, 60, 0.5e18);
        RiskReport[] memory rs = new RiskReport[](2);
        rs[0] = _report(1, uint64(T0), 0.05e18, 0.07e18);
        rs[1] = _report(1, uint64(T0), 0.02e18, 0.03e18);
        rs[1].portfolioId = PID + 1;
        Signature[][] memory sigs = new Signature[][](2);
        sigs[0] = _sigs1(rs[0]);
        sigs[1] = _sigs1(rs[1]);
        oracle.submit(rs[0], sigs[0]); // the griefer, front-running with a copy
        bool ok = _call(address(0xCAFE), abi.encodeCall(oracle.submitBatch, (rs, sigs)));
        assertTrue(ok, "the batch reverted");
        assertEq(oracle.latest(PID + 1).valueAtRisk, 0.02e18, "the other report landed");
    }

    /// Ownership moves only when the new owner accepts it (a typo cannot lose the oracle).
    function test_finding10_ownershipTransferIsTwoStep() public {
        _deployOracle(1, 1);
        address next = address(0xB0B);
        vm.prank(owner);
        oracle.transferOwnership(next);
        assertEq(oracle.owner(), owner, "ownership moved before acceptance");
        bool accepted = _call(next, abi.encodeWithSignature("acceptOwnership()"));
        assertTrue(accepted, "acceptOwnership");
        assertEq(oracle.owner(), next, "owner after acceptance");
    }
}
