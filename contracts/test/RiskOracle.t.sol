// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {OracleFixture} from "./base/OracleFixture.sol";
import {RiskOracle} from "../src/RiskOracle.sol";
import {AcceptedReport, RiskReport, Signature} from "../src/interfaces/IRiskOracle.sol";

contract RiskOracleTest is OracleFixture {
    event SignerAdded(address indexed signer, uint32 epoch);
    event SignerRemoved(address indexed signer, uint32 epoch);
    event QuorumSet(uint8 quorum, uint32 epoch);
    event LimitsSet(
        uint64 indexed portfolioId, uint32 maxAge, uint32 minInterval, uint64 maxVaRChange
    );
    event ReportProposed(
        uint64 indexed portfolioId, uint64 indexed round, address indexed signer, uint8 count
    );
    event ReportAccepted(
        uint64 indexed portfolioId,
        uint64 indexed round,
        uint64 valueAtRisk,
        uint64 expectedShortfall,
        uint8 breakerStatus
    );

    function setUp() public {
        _deployOracle(5, 3);
    }

    function _accept3(uint64 round, uint64 observedAt, uint64 var_, uint64 cvar_) internal {
        RiskReport memory r = _report(round, observedAt, var_, cvar_);
        oracle.submit(r, _sigs3(r));
    }

    // ------------------------------------------------------------ construction and owner

    function test_constructor_setsOwnerDomainAndNoSigners() public {
        RiskOracle fresh = new RiskOracle(owner);
        assertEq(fresh.owner(), owner, "owner");
        assertEq(fresh.quorum(), 0, "quorum");
        assertEq(fresh.signers().length, 0, "signers");
        assertEq(
            fresh.DOMAIN_SEPARATOR(), _domainSeparator(block.chainid, address(fresh)), "domain"
        );
        (, string memory name, string memory version, uint256 chainId, address verifying,,) =
            fresh.eip712Domain();
        assertEq(name, "varkeeper RiskOracle", "name");
        assertEq(version, "1", "version");
        assertEq(chainId, 31337, "chain id");
        assertEq(verifying, address(fresh), "verifying contract");
    }

    function test_constructor_refusesZeroOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new RiskOracle(address(0));
    }

    function test_addSigner_addsEmitsAndBumpsEpoch() public {
        uint32 epoch = oracle.signerEpoch();
        address s = address(0xBEEF);
        vm.expectEmit(true, false, false, true, address(oracle));
        emit SignerAdded(s, epoch + 1);
        vm.prank(owner);
        oracle.addSigner(s);
        assertTrue(oracle.isSigner(s), "is signer");
        assertEq(oracle.signers().length, 6, "count");
        assertEq(oracle.signerEpoch(), epoch + 1, "epoch");
    }

    function test_addSigner_revertsForNonOwner() public {
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this))
        );
        oracle.addSigner(address(0xBEEF));
    }

    function test_addSigner_revertsOnZeroAddress() public {
        vm.prank(owner);
        vm.expectRevert(RiskOracle.ZeroAddress.selector);
        oracle.addSigner(address(0));
    }

    function test_addSigner_revertsOnDuplicate() public {
        address s = vm.addr(keys[0]);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.AlreadySigner.selector, s));
        oracle.addSigner(s);
    }

    function test_addSigner_revertsBeyond255Signers() public {
        vm.startPrank(owner);
        for (uint256 i = 5; i < 255; ++i) {
            oracle.addSigner(address(uint160(0x10000 + i)));
        }
        assertEq(oracle.signers().length, 255, "full");
        vm.expectRevert(RiskOracle.TooManySigners.selector);
        oracle.addSigner(address(0xFFFFFF));
        vm.stopPrank();
    }

    function test_removeSigner_movesLastIntoGapAndEmits() public {
        address first = vm.addr(keys[0]);
        address last = vm.addr(keys[4]);
        vm.expectEmit(true, false, false, true, address(oracle));
        emit SignerRemoved(first, oracle.signerEpoch() + 1);
        vm.prank(owner);
        oracle.removeSigner(first);
        address[] memory s = oracle.signers();
        assertEq(s.length, 4, "count");
        assertEq(s[0], last, "last moved into the gap");
        assertFalse(oracle.isSigner(first), "removed");
        assertTrue(oracle.isSigner(last), "moved signer still authorized");
        // The moved signer still signs valid reports (its index was updated).
        vm.prank(owner);
        oracle.setQuorum(1);
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        oracle.submit(r, _sigs(r, _idx1(4)));
        assertEq(oracle.latest(PID).round, 1, "accepted");
    }

    function test_removeSigner_revertsForUnknown() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.NotSigner.selector, address(0xBEEF)));
        oracle.removeSigner(address(0xBEEF));
    }

    function test_removeSigner_revertsBelowQuorum() public {
        vm.startPrank(owner);
        oracle.removeSigner(vm.addr(keys[0]));
        oracle.removeSigner(vm.addr(keys[1]));
        address s = vm.addr(keys[2]);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.InvalidQuorum.selector, 3, 2));
        oracle.removeSigner(s);
        vm.stopPrank();
    }

    function test_removeSigner_revertsForNonOwner() public {
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this))
        );
        oracle.removeSigner(vm.addr(keys[0]));
    }

    function test_setQuorum_setsAndEmits() public {
        vm.expectEmit(false, false, false, true, address(oracle));
        emit QuorumSet(5, oracle.signerEpoch() + 1);
        vm.prank(owner);
        oracle.setQuorum(5);
        assertEq(oracle.quorum(), 5, "quorum");
    }

    function test_setQuorum_revertsOnZeroAndAboveSignerCount() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.InvalidQuorum.selector, 0, 5));
        oracle.setQuorum(0);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.InvalidQuorum.selector, 6, 5));
        oracle.setQuorum(6);
        vm.stopPrank();
    }

    function test_setQuorum_revertsForNonOwner() public {
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this))
        );
        oracle.setQuorum(1);
    }

    function test_setLimits_storesAndEmits() public {
        vm.expectEmit(true, false, false, true, address(oracle));
        emit LimitsSet(9, 100, 10, 0.2e18);
        vm.prank(owner);
        oracle.setLimits(9, 100, 10, 0.2e18);
        (uint32 maxAge, uint32 minInterval, uint64 maxChange) = oracle.limits(9);
        assertEq(maxAge, 100, "maxAge");
        assertEq(minInterval, 10, "minInterval");
        assertEq(maxChange, 0.2e18, "maxChange");
    }

    function test_setLimits_revertsOnZeroMaxAge() public {
        vm.prank(owner);
        vm.expectRevert(RiskOracle.InvalidLimits.selector);
        oracle.setLimits(9, 0, 10, 0);
    }

    function test_setLimits_revertsForNonOwner() public {
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this))
        );
        oracle.setLimits(9, 100, 10, 0);
    }

    // ------------------------------------------------------------ submit: acceptance

    function test_submit_acceptsQuorumAndStoresEveryField() public {
        RiskReport memory r = _report(1, uint64(T0 - 30), 0.052e18, 0.071e18);
        r.breakerStatus = 0;
        vm.expectEmit(true, true, false, true, address(oracle));
        emit ReportAccepted(PID, 1, 0.052e18, 0.071e18, 0);
        oracle.submit(r, _sigs3(r));
        AcceptedReport memory a = oracle.latest(PID);
        assertEq(a.round, 1, "round");
        assertEq(a.observedAt, T0 - 30, "observedAt");
        assertEq(a.valueAtRisk, 0.052e18, "VaR");
        assertEq(a.expectedShortfall, 0.071e18, "CVaR");
        assertEq(a.portfolioValue, 1_000_000e8, "value");
        assertEq(a.confidence, 0.99e18, "confidence");
        assertEq(a.horizon, 86_400, "horizon");
        assertEq(a.method, 3, "method");
        assertEq(a.breakerStatus, 0, "breaker");
        assertEq(a.acceptedAt, T0, "acceptedAt");
        assertEq(a.configHash, keccak256("varkeeper test config"), "configHash");
    }

    function test_submit_acceptsSignaturesInAnyOrderAndExtraValidOnes() public {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        uint256[] memory idx = new uint256[](4);
        (idx[0], idx[1], idx[2], idx[3]) = (4, 0, 3, 1);
        oracle.submit(r, _sigs(r, idx));
        assertEq(oracle.latest(PID).round, 1, "accepted");
    }

    function test_submit_acceptsFromAnyRelayer() public {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs3(r);
        vm.prank(address(0xD00D));
        oracle.submit(r, s);
        assertEq(oracle.latest(PID).round, 1, "accepted");
    }

    function test_submit_acceptsFutureDriftWithinBoundStoringBlockTime() public {
        RiskReport memory r = _report(1, uint64(T0 + 15), 0.05e18, 0.07e18);
        oracle.submit(r, _sigs3(r));
        assertEq(oracle.latest(PID).observedAt, T0, "observedAt clamped to the block time");
    }

    function test_submit_acceptsReportExactlyMaxAgeOld() public {
        RiskReport memory r = _report(1, uint64(T0 - 3600), 0.05e18, 0.07e18);
        oracle.submit(r, _sigs3(r));
        assertEq(oracle.latest(PID).round, 1, "accepted");
    }

    function test_submit_acceptsRoundGapsAndExactMinInterval() public {
        _accept3(1, uint64(T0), 0.05e18, 0.07e18);
        vm.warp(T0 + 60);
        _accept3(5, uint64(T0 + 60), 0.05e18, 0.07e18);
        assertEq(oracle.latest(PID).round, 5, "round");
    }

    function test_submit_breakerWidensChangeLimitByDefaultFactorFour() public {
        _accept3(1, uint64(T0), 0.05e18, 0.07e18);
        vm.warp(T0 + 3600);
        // +200 % in one period: 4 x 50 %.
        RiskReport memory r = _report(2, uint64(T0 + 3600), 0.15e18, 0.21e18);
        r.breakerStatus = 1;
        oracle.submit(r, _sigs3(r));
        vm.warp(T0 + 7200);
        r = _report(3, uint64(T0 + 7200), 0.45e18 + 1, 0.63e18);
        r.breakerStatus = 2;
        Signature[] memory s = _sigs3(r);
        vm.expectRevert(
            abi.encodeWithSelector(RiskOracle.VaRChangeTooLarge.selector, 0.15e18, 0.45e18 + 1)
        );
        oracle.submit(r, s);
        r.valueAtRisk = 0.45e18;
        oracle.submit(r, _sigs3(r));
        assertEq(oracle.latest(PID).valueAtRisk, 0.45e18, "VaR");
        assertEq(oracle.latest(PID).breakerStatus, 2, "breaker");
        (uint32 period, uint8 widening) = oracle.changePolicy(PID);
        assertEq(period, 3600, "default period");
        assertEq(widening, 4, "default widening");
    }

    function test_submit_allowsVaRChangeExactlyAtLimitAfterOnePeriod() public {
        _accept3(1, uint64(T0), 0.1e18, 0.2e18);
        vm.warp(T0 + 3600);
        _accept3(2, uint64(T0 + 3600), 0.15e18, 0.3e18); // +50 % = the limit
        vm.warp(T0 + 3 * 3600); // two periods still allow only one period's change
        _accept3(3, uint64(T0 + 3 * 3600), 0.075e18, 0.15e18); // −50 %
        assertEq(oracle.latest(PID).valueAtRisk, 0.075e18, "VaR");
    }

    function test_submit_changeLimitIsProportionalToElapsedObservationTime() public {
        _accept3(1, uint64(T0), 0.1e18, 0.2e18);
        vm.warp(T0 + 900); // a quarter period: 12.5 %
        RiskReport memory r = _report(2, uint64(T0 + 900), 0.1125e18 + 1, 0.2e18);
        Signature[] memory s = _sigs3(r);
        vm.expectRevert(
            abi.encodeWithSelector(RiskOracle.VaRChangeTooLarge.selector, 0.1e18, 0.1125e18 + 1)
        );
        oracle.submit(r, s);
        r = _report(2, uint64(T0 + 900), 0.1e18, 0.225e18 + 1);
        s = _sigs3(r);
        vm.expectRevert(
            abi.encodeWithSelector(RiskOracle.CVaRChangeTooLarge.selector, 0.2e18, 0.225e18 + 1)
        );
        oracle.submit(r, s);
        _accept3(2, uint64(T0 + 900), 0.1125e18, 0.225e18);
        assertEq(oracle.latest(PID).valueAtRisk, 0.1125e18, "exactly a quarter of the limit");
    }

    // ------------------------------------------------------------ submit: refusals

    function test_submit_revertsWithTooFewSignatures() public {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        uint256[] memory idx = new uint256[](2);
        (idx[0], idx[1]) = (0, 1);
        Signature[] memory s = _sigs(r, idx);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.InsufficientSignatures.selector, 2, 3));
        oracle.submit(r, s);
    }

    function test_submit_revertsForUnknownPortfolio() public {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        r.portfolioId = 8;
        Signature[] memory s = _sigs3(r);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.UnknownPortfolio.selector, 8));
        oracle.submit(r, s);
    }

    function test_submit_revertsOnConfidenceZeroOrOne() public {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        r.confidence = 0;
        Signature[] memory s = _sigs3(r);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.InvalidConfidence.selector, 0));
        oracle.submit(r, s);
        r.confidence = 1e18;
        s = _sigs3(r);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.InvalidConfidence.selector, 1e18));
        oracle.submit(r, s);
    }

    function test_submit_revertsOnZeroHorizon() public {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        r.horizon = 0;
        Signature[] memory s = _sigs3(r);
        vm.expectRevert(RiskOracle.InvalidHorizon.selector);
        oracle.submit(r, s);
    }

    function test_submit_revertsOnUnknownBreakerStatus() public {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        r.breakerStatus = 3;
        Signature[] memory s = _sigs3(r);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.InvalidBreakerStatus.selector, 3));
        oracle.submit(r, s);
    }

    function test_submit_revertsWhenVaRExceedsCVaR() public {
        RiskReport memory r = _report(1, uint64(T0), 0.08e18, 0.07e18);
        Signature[] memory s = _sigs3(r);
        vm.expectRevert(
            abi.encodeWithSelector(RiskOracle.InvalidFigures.selector, 0.08e18, 0.07e18)
        );
        oracle.submit(r, s);
    }

    function test_submit_revertsWhenCVaRAboveOneHundredPercent() public {
        RiskReport memory r = _report(1, uint64(T0), 0.5e18, 1e18 + 1);
        Signature[] memory s = _sigs3(r);
        vm.expectRevert(
            abi.encodeWithSelector(RiskOracle.InvalidFigures.selector, 0.5e18, 1e18 + 1)
        );
        oracle.submit(r, s);
    }

    function test_submit_revertsOnFutureDatedReport() public {
        RiskReport memory r = _report(1, uint64(T0 + 16), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs3(r);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.FutureReport.selector, T0 + 16, T0));
        oracle.submit(r, s);
    }

    function test_submit_revertsOnStaleReport() public {
        RiskReport memory r = _report(1, uint64(T0 - 3601), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs3(r);
        vm.expectRevert(
            abi.encodeWithSelector(RiskOracle.StaleReport.selector, T0 - 3601, T0, 3600)
        );
        oracle.submit(r, s);
    }

    function test_submit_revertsOnRepeatedOrLowerRound() public {
        _accept3(2, uint64(T0), 0.05e18, 0.07e18);
        vm.warp(T0 + 60);
        RiskReport memory r = _report(2, uint64(T0 + 60), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs3(r);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.RoundNotIncreasing.selector, 2, 2));
        oracle.submit(r, s);
        r.round = 1;
        s = _sigs3(r);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.RoundNotIncreasing.selector, 1, 2));
        oracle.submit(r, s);
    }

    function test_submit_revertsWithinMinIntervalOrOlderObservation() public {
        _accept3(1, uint64(T0), 0.05e18, 0.07e18);
        vm.warp(T0 + 100);
        RiskReport memory r = _report(2, uint64(T0 + 59), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs3(r);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.TooSoon.selector, T0 + 59, T0 + 60));
        oracle.submit(r, s);
    }

    function test_submit_revertsOnNonIncreasingObservationEvenWithoutInterval() public {
        vm.prank(owner);
        oracle.setLimits(PID, 3600, 0, 0);
        _accept3(1, uint64(T0), 0.05e18, 0.07e18);
        RiskReport memory r = _report(2, uint64(T0), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs3(r);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.TooSoon.selector, T0, T0));
        oracle.submit(r, s);
    }

    function test_submit_revertsOnVaRJumpInNormalState() public {
        _accept3(1, uint64(T0), 0.1e18, 0.2e18);
        vm.warp(T0 + 3600);
        RiskReport memory r = _report(2, uint64(T0 + 3600), 0.15e18 + 1, 0.2e18);
        Signature[] memory s = _sigs3(r);
        vm.expectRevert(
            abi.encodeWithSelector(RiskOracle.VaRChangeTooLarge.selector, 0.1e18, 0.15e18 + 1)
        );
        oracle.submit(r, s);
        r.valueAtRisk = 0.05e18 - 1;
        s = _sigs3(r);
        vm.expectRevert(
            abi.encodeWithSelector(RiskOracle.VaRChangeTooLarge.selector, 0.1e18, 0.05e18 - 1)
        );
        oracle.submit(r, s);
    }

    function test_submit_revertsOnHighSTwin() public {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs3(r);
        // The malleable twin (r, n − s, v ^ 1) recovers the same address; EIP-2 refuses it.
        s[1].s = bytes32(SECP256K1N - uint256(s[1].s));
        s[1].v = s[1].v == 27 ? 28 : 27;
        vm.expectRevert(RiskOracle.MalleableSignature.selector);
        oracle.submit(r, s);
    }

    function test_submit_revertsOnBadVOrUnrecoverableSignature() public {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs3(r);
        s[0].v = 29;
        vm.expectRevert(RiskOracle.InvalidSignature.selector);
        oracle.submit(r, s);
        s = _sigs3(r);
        s[2].r = bytes32(0); // r = 0 is not a curve point: ecrecover returns 0
        vm.expectRevert(RiskOracle.InvalidSignature.selector);
        oracle.submit(r, s);
    }

    function test_submit_revertsOnUnknownSigner() public {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs3(r);
        uint256 stranger = 0xBAD;
        s[2] = _sign(stranger, r);
        vm.expectRevert(
            abi.encodeWithSelector(RiskOracle.UnauthorizedSigner.selector, vm.addr(stranger))
        );
        oracle.submit(r, s);
    }

    function test_submit_revertsOnDuplicateSigner() public {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs(r, _idx3(0, 1, 0));
        vm.expectRevert(
            abi.encodeWithSelector(RiskOracle.DuplicateSigner.selector, vm.addr(keys[0]))
        );
        oracle.submit(r, s);
    }

    function test_submit_refusesSignatureForAnotherChain() public {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs3(r);
        bytes32 wrong = _digestFor(r, 1, address(oracle));
        s[0] = _signDigest(keys[0], wrong);
        (uint8 v, bytes32 rr, bytes32 ss) = (s[0].v, s[0].r, s[0].s);
        address recovered = ecrecover(_digest(r), v, rr, ss);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.UnauthorizedSigner.selector, recovered));
        oracle.submit(r, s);
    }

    function test_submit_refusesSignatureForAnotherContract() public {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs3(r);
        s[1] = _signDigest(
            keys[1],
            _digestFor(r, block.chainid, address(0x5FbDB2315678afecb367f032d93F642f64180aa3))
        );
        address recovered = ecrecover(_digest(r), s[1].v, s[1].r, s[1].s);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.UnauthorizedSigner.selector, recovered));
        oracle.submit(r, s);
    }

    function test_submit_refusesSignaturesOverADifferentReport() public {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs3(r);
        r.valueAtRisk = 0.01e18; // relayer tampers with the figure
        address recovered = ecrecover(_digest(r), s[0].v, s[0].r, s[0].s);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.UnauthorizedSigner.selector, recovered));
        oracle.submit(r, s);
    }

    function test_submit_refusesAfterSignerRemoved() public {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs3(r);
        vm.prank(owner);
        oracle.removeSigner(vm.addr(keys[2]));
        vm.expectRevert(
            abi.encodeWithSelector(RiskOracle.UnauthorizedSigner.selector, vm.addr(keys[2]))
        );
        oracle.submit(r, s);
    }

    // ------------------------------------------------------------ submitBatch

    function test_submitBatch_acceptsSeveralPortfolios() public {
        vm.prank(owner);
        oracle.setLimits(PID + 1, 3600, 60, 0);
        RiskReport[] memory rs = new RiskReport[](2);
        Signature[][] memory ss = new Signature[][](2);
        rs[0] = _report(1, uint64(T0), 0.05e18, 0.07e18);
        rs[1] = _report(4, uint64(T0), 0.02e18, 0.03e18);
        rs[1].portfolioId = PID + 1;
        ss[0] = _sigs3(rs[0]);
        ss[1] = _sigs3(rs[1]);
        oracle.submitBatch(rs, ss);
        assertEq(oracle.latest(PID).round, 1, "first");
        assertEq(oracle.latest(PID + 1).round, 4, "second");
        assertEq(oracle.latest(PID + 1).valueAtRisk, 0.02e18, "second VaR");
    }

    function test_submitBatch_revertsOnLengthMismatch() public {
        RiskReport[] memory rs = new RiskReport[](2);
        Signature[][] memory ss = new Signature[][](1);
        vm.expectRevert(RiskOracle.LengthMismatch.selector);
        oracle.submitBatch(rs, ss);
    }

    function test_submitBatch_isAllOrNothing() public {
        RiskReport[] memory rs = new RiskReport[](2);
        Signature[][] memory ss = new Signature[][](2);
        rs[0] = _report(1, uint64(T0), 0.05e18, 0.07e18);
        rs[1] = _report(1, uint64(T0), 0.05e18, 0.07e18);
        rs[1].portfolioId = 99; // not enabled
        ss[0] = _sigs3(rs[0]);
        ss[1] = _sigs3(rs[1]);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.UnknownPortfolio.selector, 99));
        oracle.submitBatch(rs, ss);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.NoReport.selector, PID));
        oracle.latest(PID);
    }

    // ------------------------------------------------------------ submitBatchSigned

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

    function _twoPortfolios() internal returns (RiskReport[] memory rs) {
        vm.prank(owner);
        oracle.setLimits(PID + 1, 3600, 60, 0);
        rs = new RiskReport[](2);
        rs[0] = _report(1, uint64(T0), 0.05e18, 0.07e18);
        rs[1] = _report(4, uint64(T0), 0.02e18, 0.03e18);
        rs[1].portfolioId = PID + 1;
    }

    function _batchSigs(RiskReport[] memory rs, uint256[] memory idx)
        internal
        view
        returns (Signature[] memory s)
    {
        bytes32 d = _batchDigest(rs);
        s = new Signature[](idx.length);
        for (uint256 i; i < idx.length; ++i) {
            s[i] = _signDigest(keys[idx[i]], d);
        }
    }

    function test_submitBatchSigned_acceptsEveryReportWithOneQuorum() public {
        RiskReport[] memory rs = _twoPortfolios();
        assertEq(oracle.hashBatch(rs), _batchDigest(rs), "digest");
        vm.expectEmit(true, true, false, true, address(oracle));
        emit ReportAccepted(PID, 1, 0.05e18, 0.07e18, 0);
        vm.expectEmit(true, true, false, true, address(oracle));
        emit ReportAccepted(PID + 1, 4, 0.02e18, 0.03e18, 0);
        oracle.submitBatchSigned(rs, _batchSigs(rs, _idx3(2, 0, 1)));
        assertEq(oracle.latest(PID).round, 1, "first");
        assertEq(oracle.latest(PID + 1).valueAtRisk, 0.02e18, "second");
    }

    function test_submitBatchSigned_refusesReorderedOrTruncatedBatch() public {
        RiskReport[] memory rs = _twoPortfolios();
        Signature[] memory s = _batchSigs(rs, _idx3(0, 1, 2));
        RiskReport[] memory swapped = new RiskReport[](2);
        (swapped[0], swapped[1]) = (rs[1], rs[0]);
        address recovered = ecrecover(_batchDigest(swapped), s[0].v, s[0].r, s[0].s);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.UnauthorizedSigner.selector, recovered));
        oracle.submitBatchSigned(swapped, s);
        RiskReport[] memory one = new RiskReport[](1);
        one[0] = rs[0];
        recovered = ecrecover(_batchDigest(one), s[0].v, s[0].r, s[0].s);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.UnauthorizedSigner.selector, recovered));
        oracle.submitBatchSigned(one, s);
    }

    function test_submitBatchSigned_refusesSingleReportSignatures() public {
        RiskReport[] memory rs = new RiskReport[](1);
        rs[0] = _report(1, uint64(T0), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs3(rs[0]); // over the RiskReport, not the batch
        address recovered = ecrecover(_batchDigest(rs), s[0].v, s[0].r, s[0].s);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.UnauthorizedSigner.selector, recovered));
        oracle.submitBatchSigned(rs, s);
    }

    function test_submitBatchSigned_revertsOnEmptyFewOrDuplicateSignatures() public {
        RiskReport[] memory none = new RiskReport[](0);
        Signature[] memory empty = new Signature[](0);
        vm.expectRevert(RiskOracle.EmptyBatch.selector);
        oracle.submitBatchSigned(none, empty);
        RiskReport[] memory rs = _twoPortfolios();
        uint256[] memory two = new uint256[](2);
        (two[0], two[1]) = (0, 1);
        Signature[] memory s = _batchSigs(rs, two);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.InsufficientSignatures.selector, 2, 3));
        oracle.submitBatchSigned(rs, s);
        s = _batchSigs(rs, _idx3(0, 1, 1));
        vm.expectRevert(
            abi.encodeWithSelector(RiskOracle.DuplicateSigner.selector, vm.addr(keys[1]))
        );
        oracle.submitBatchSigned(rs, s);
    }

    function test_submitBatchSigned_checksEachReportIncludingRepeatsOfAPortfolio() public {
        RiskReport[] memory rs = new RiskReport[](2);
        rs[0] = _report(1, uint64(T0 - 100), 0.05e18, 0.07e18);
        rs[1] = _report(2, uint64(T0 - 40), 0.05e18, 0.07e18); // 60 s later: allowed
        oracle.submitBatchSigned(rs, _batchSigs(rs, _idx3(0, 1, 2)));
        assertEq(oracle.latest(PID).round, 2, "both applied in order");
        vm.warp(T0 + 100);
        rs[0] = _report(3, uint64(T0 + 100), 0.05e18, 0.07e18);
        rs[1] = _report(3, uint64(T0 + 100), 0.05e18, 0.07e18); // same round twice
        Signature[] memory s = _batchSigs(rs, _idx3(0, 1, 2));
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.RoundNotIncreasing.selector, 3, 3));
        oracle.submitBatchSigned(rs, s);
        assertEq(oracle.latest(PID).round, 2, "all or nothing");
    }

    // ------------------------------------------------------------ propose (accumulation)

    function _model() internal view returns (bytes32) {
        return oracle.modelHash(86_400, 0.99e18, 3, keccak256("varkeeper test config"));
    }

    function test_propose_acceptsMedianVaRSignersWholeReportOnceQuorumReached() public {
        RiskReport memory a = _report(1, uint64(T0 - 20), 0.06e18, 0.09e18);
        RiskReport memory b = _report(1, uint64(T0 - 10), 0.04e18, 0.05e18);
        RiskReport memory c = _report(1, uint64(T0 - 30), 0.05e18, 0.1e18);
        a.portfolioValue = 300e8;
        b.portfolioValue = 100e8;
        c.portfolioValue = 200e8;
        b.breakerStatus = 1;

        vm.expectEmit(true, true, true, true, address(oracle));
        emit ReportProposed(PID, 1, vm.addr(keys[0]), 1);
        oracle.propose(a, _sign(keys[0], a));
        assertEq(oracle.pendingCount(PID, 1, _model()), 1, "pending 1");
        oracle.propose(b, _sign(keys[1], b));
        assertEq(oracle.pendingCount(PID, 1, _model()), 2, "pending 2");
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.NoReport.selector, PID));
        oracle.latest(PID);

        // c has the median VaR: its report is stored whole.
        vm.expectEmit(true, true, false, true, address(oracle));
        emit ReportAccepted(PID, 1, 0.05e18, 0.1e18, 0);
        oracle.propose(c, _sign(keys[4], c));
        AcceptedReport memory m = oracle.latest(PID);
        assertEq(m.round, 1, "round");
        assertEq(m.observedAt, T0 - 30, "c's observedAt");
        assertEq(m.valueAtRisk, 0.05e18, "median VaR");
        assertEq(m.expectedShortfall, 0.1e18, "c's CVaR");
        assertEq(m.portfolioValue, 200e8, "c's value");
        assertEq(m.breakerStatus, 0, "c's breaker");
        Signature memory late = _sign(keys[2], a);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.RoundNotIncreasing.selector, 1, 1));
        oracle.propose(a, late);
    }

    function test_propose_evenQuorumWithoutPreviousReportTakesLowerReport() public {
        vm.prank(owner);
        oracle.setQuorum(2);
        RiskReport memory a = _report(1, uint64(T0), 0.06e18, 0.09e18);
        RiskReport memory b = _report(1, uint64(T0), 0.04e18, 0.05e18);
        oracle.propose(a, _sign(keys[0], a));
        oracle.propose(b, _sign(keys[1], b));
        assertEq(oracle.latest(PID).valueAtRisk, 0.04e18, "lower median VaR");
        assertEq(oracle.latest(PID).expectedShortfall, 0.05e18, "lower median CVaR");
    }

    function test_propose_evenQuorumTakesReportNearerPreviousVaR() public {
        vm.prank(owner);
        oracle.setQuorum(2);
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        oracle.propose(r, _sign(keys[0], r));
        oracle.propose(r, _sign(keys[1], r));
        vm.warp(T0 + 3600);
        RiskReport memory low = _report(2, uint64(T0 + 3600), 0.04e18, 0.056e18);
        RiskReport memory high = _report(2, uint64(T0 + 3600), 0.058e18, 0.08e18);
        oracle.propose(low, _sign(keys[0], low));
        oracle.propose(high, _sign(keys[1], high));
        assertEq(oracle.latest(PID).valueAtRisk, 0.058e18, "0.058 is nearer 0.05 than 0.04");
        assertEq(oracle.latest(PID).expectedShortfall, 0.08e18, "the same report's CVaR");
    }

    function test_propose_revertsOnDuplicateSigner() public {
        RiskReport memory a = _report(1, uint64(T0), 0.06e18, 0.09e18);
        oracle.propose(a, _sign(keys[0], a));
        RiskReport memory b = _report(1, uint64(T0), 0.05e18, 0.09e18);
        Signature memory s = _sign(keys[0], b);
        vm.expectRevert(
            abi.encodeWithSelector(RiskOracle.DuplicateSigner.selector, vm.addr(keys[0]))
        );
        oracle.propose(b, s);
    }

    function test_propose_anotherModelOpensItsOwnGroup() public {
        RiskReport memory a = _report(1, uint64(T0), 0.06e18, 0.09e18);
        oracle.propose(a, _sign(keys[0], a));
        RiskReport memory b = _report(1, uint64(T0), 0.06e18, 0.09e18);
        b.method = 0;
        oracle.propose(b, _sign(keys[1], b));
        assertEq(oracle.pendingCount(PID, 1, _model()), 1, "a's group");
        bytes32 other = oracle.modelHash(86_400, 0.99e18, 0, keccak256("varkeeper test config"));
        assertEq(oracle.pendingCount(PID, 1, other), 1, "b's group");
        oracle.propose(a, _sign(keys[2], a));
        oracle.propose(a, _sign(keys[3], a));
        assertEq(oracle.latest(PID).method, 3, "a's group reached the quorum");
    }

    function test_propose_revertsOnUnknownSignerAndBadSignature() public {
        RiskReport memory a = _report(1, uint64(T0), 0.06e18, 0.09e18);
        Signature memory s = _sign(0xBAD, a);
        vm.expectRevert(
            abi.encodeWithSelector(RiskOracle.UnauthorizedSigner.selector, vm.addr(0xBAD))
        );
        oracle.propose(a, s);
        s = _sign(keys[0], a);
        s.s = bytes32(SECP256K1N - uint256(s.s));
        vm.expectRevert(RiskOracle.MalleableSignature.selector);
        oracle.propose(a, s);
    }

    function test_propose_revertsOnInvalidOrOldReport() public {
        _accept3(3, uint64(T0), 0.05e18, 0.07e18);
        RiskReport memory a = _report(3, uint64(T0), 0.06e18, 0.09e18);
        Signature memory s = _sign(keys[0], a);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.RoundNotIncreasing.selector, 3, 3));
        oracle.propose(a, s);
        a = _report(4, uint64(T0 - 4000), 0.06e18, 0.09e18);
        s = _sign(keys[0], a);
        vm.expectRevert(
            abi.encodeWithSelector(RiskOracle.StaleReport.selector, T0 - 4000, T0, 3600)
        );
        oracle.propose(a, s);
    }

    function test_propose_medianStillPassesHistoryChecks() public {
        _accept3(1, uint64(T0), 0.1e18, 0.2e18);
        vm.warp(T0 + 60);
        RiskReport memory a = _report(2, uint64(T0 + 60), 0.3e18, 0.4e18);
        oracle.propose(a, _sign(keys[0], a));
        oracle.propose(a, _sign(keys[1], a));
        // The quorum-th proposal is recorded but the round is not accepted: no proposal of the
        // group passes the change limit (`acceptable` says why), so none is picked.
        oracle.propose(a, _sign(keys[2], a));
        assertEq(oracle.latest(PID).round, 1, "not accepted");
        assertEq(oracle.pendingCount(PID, 2, _model()), 3, "recorded, waiting");
        vm.expectRevert(
            abi.encodeWithSelector(RiskOracle.VaRChangeTooLarge.selector, 0.1e18, 0.3e18)
        );
        oracle.acceptable(a);
    }

    function test_propose_signerSetChangeDiscardsPendingProposals() public {
        RiskReport memory a = _report(1, uint64(T0), 0.06e18, 0.09e18);
        oracle.propose(a, _sign(keys[0], a));
        oracle.propose(a, _sign(keys[1], a));
        vm.prank(owner);
        oracle.removeSigner(vm.addr(keys[1]));
        assertEq(oracle.pendingCount(PID, 1, _model()), 0, "discarded");
        // keys[0] may propose again in the new epoch; quorum needs three fresh proposals.
        oracle.propose(a, _sign(keys[0], a));
        oracle.propose(a, _sign(keys[2], a));
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.NoReport.selector, PID));
        oracle.latest(PID);
        oracle.propose(a, _sign(keys[3], a));
        assertEq(oracle.latest(PID).round, 1, "accepted in new epoch");
    }

    // ------------------------------------------------------------ views

    function test_latest_revertsWithoutReport() public {
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.NoReport.selector, PID));
        oracle.latest(PID);
    }

    function test_latestRoundData_returnsVaRChainlinkStyle() public {
        _accept3(42, uint64(T0 - 5), 0.052e18, 0.071e18);
        (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answered) =
            oracle.latestRoundData(PID);
        assertEq(roundId, 42, "roundId");
        assertEq(answer, int256(0.052e18), "answer");
        assertEq(startedAt, T0 - 5, "startedAt");
        assertEq(updatedAt, T0 - 5, "updatedAt");
        assertEq(answered, 42, "answeredInRound");
        assertEq(oracle.decimals(), 18, "decimals");
    }

    function test_latestRoundData_revertsWithoutReport() public {
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.NoReport.selector, PID));
        oracle.latestRoundData(PID);
    }

    function test_hashReport_matchesIndependentEip712Digest() public view {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        assertEq(oracle.hashReport(r), _digest(r), "digest");
        assertEq(oracle.REPORT_TYPEHASH(), TYPEHASH, "typehash");
        assertEq(keccak256(bytes(oracle.REPORT_TYPE())), TYPEHASH, "type string");
        assertEq(oracle.DOMAIN_SEPARATOR(), _domainSeparator(31337, address(oracle)), "domain");
    }

    function test_domainSeparator_followsChainIdChange() public {
        vm.chainId(1);
        assertEq(oracle.DOMAIN_SEPARATOR(), _domainSeparator(1, address(oracle)), "chain 1");
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        Signature[] memory s = new Signature[](3);
        bytes32 old = _digestFor(r, 31337, address(oracle));
        for (uint256 i; i < 3; ++i) {
            s[i] = _signDigest(keys[i], old);
        }
        // Signatures for the pre-fork chain id no longer verify.
        address recovered = ecrecover(_digestFor(r, 1, address(oracle)), s[0].v, s[0].r, s[0].s);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.UnauthorizedSigner.selector, recovered));
        oracle.submit(r, s);
    }

    function test_signers_listsAuthorizedAddresses() public view {
        address[] memory s = oracle.signers();
        assertEq(s.length, 5, "count");
        for (uint256 i; i < 5; ++i) {
            assertEq(s[i], vm.addr(keys[i]), "signer");
            assertTrue(oracle.isSigner(s[i]), "isSigner");
        }
        assertFalse(oracle.isSigner(address(0xBEEF)), "stranger");
    }

    // ------------------------------------------------------------ fuzz

    function testFuzz_submit_acceptsExactlyAuthorizedKeys(uint256 key) public {
        key = bound(key, 1, SECP256K1N - 1);
        vm.prank(owner);
        oracle.setQuorum(1);
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        Signature[] memory s = new Signature[](1);
        s[0] = _sign(key, r);
        address signer = vm.addr(key);
        if (!oracle.isSigner(signer)) {
            vm.expectRevert(abi.encodeWithSelector(RiskOracle.UnauthorizedSigner.selector, signer));
        }
        oracle.submit(r, s);
    }

    function testFuzz_submit_refusesArbitrarySignatureBytes(uint8 v, bytes32 r_, bytes32 s_)
        public
    {
        vm.prank(owner);
        oracle.setQuorum(1);
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        Signature[] memory s = new Signature[](1);
        s[0] = Signature(v, r_, s_);
        vm.expectRevert();
        oracle.submit(r, s);
    }

    function testFuzz_submit_roundsMustStrictlyIncrease(uint64 first, uint64 second) public {
        first = uint64(bound(first, 1, 2 ** 32));
        _accept3(first, uint64(T0), 0.05e18, 0.07e18);
        vm.warp(T0 + 60);
        RiskReport memory r = _report(second, uint64(T0 + 60), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs3(r);
        bool ok = second > first && uint256(second) - first <= 2 ** 32;
        if (second <= first) {
            vm.expectRevert(
                abi.encodeWithSelector(RiskOracle.RoundNotIncreasing.selector, second, first)
            );
        } else if (!ok) {
            vm.expectRevert(
                abi.encodeWithSelector(RiskOracle.RoundJumpTooLarge.selector, second, first)
            );
        }
        oracle.submit(r, s);
        assertEq(oracle.latest(PID).round, ok ? second : first, "round");
    }

    function testFuzz_submit_figuresAcceptedIffWellFormed(
        uint64 var_,
        uint64 cvar_,
        uint64 confidence,
        uint96 value
    ) public {
        RiskReport memory r = _report(1, uint64(T0), var_, cvar_);
        r.confidence = confidence;
        r.portfolioValue = value;
        Signature[] memory s = _sigs3(r);
        bool confidenceOk = confidence != 0 && confidence < WAD;
        bool figuresOk = var_ <= cvar_ && cvar_ <= WAD;
        if (!confidenceOk) {
            vm.expectRevert(
                abi.encodeWithSelector(RiskOracle.InvalidConfidence.selector, confidence)
            );
        } else if (!figuresOk) {
            vm.expectRevert(abi.encodeWithSelector(RiskOracle.InvalidFigures.selector, var_, cvar_));
        }
        oracle.submit(r, s);
        if (confidenceOk && figuresOk) {
            AcceptedReport memory a = oracle.latest(PID);
            assertEq(a.valueAtRisk, var_, "VaR");
            assertEq(a.expectedShortfall, cvar_, "CVaR");
            assertEq(a.confidence, confidence, "confidence");
            assertEq(a.portfolioValue, value, "value");
        }
    }

    /// The packed storage (three slots, issue 14 gas) returns every field as submitted, over
    /// two reports whose every field may differ (a model, value or breaker change between
    /// them rewrites slots B and C; an unchanged one skips them).
    function testFuzz_latest_roundTripsThePackedReport(
        uint64 round,
        uint32 age,
        uint64 var_,
        uint64 cvar_,
        uint96 value,
        uint8 status,
        uint256 model, // 0 = the same model; else confidence, horizon, method, configHash
        bytes32 configHash
    ) public {
        vm.prank(owner);
        oracle.setLimits(PID, type(uint32).max, 0, 0);
        vm.warp(T0 + 1000 days);
        _accept3(1, uint64(T0), 0.05e18, 0.07e18); // the first report, 1000 days old
        cvar_ = uint64(bound(cvar_, 0, WAD));
        age = uint32(bound(age, 0, 1000 days - 1));
        RiskReport memory r = _report(
            uint64(bound(round, 2, 2 ** 32)),
            uint64(block.timestamp - age),
            uint64(bound(var_, 0, cvar_)),
            cvar_
        );
        r.portfolioValue = value;
        r.breakerStatus = uint8(bound(status, 0, 2));
        if (model != 0) {
            r.confidence = uint64(bound(uint64(model), 1, WAD - 1));
            r.horizon = uint32(bound(uint32(model >> 64), 1, type(uint32).max));
            r.method = uint8(model >> 96);
            r.configHash = configHash;
        }
        oracle.submit(r, _sigs3(r));
        _assertLatestIs(r);
    }

    function _assertLatestIs(RiskReport memory r) internal view {
        AcceptedReport memory got = oracle.latest(PID);
        assertEq(got.round, r.round, "round");
        assertEq(got.observedAt, r.observedAt, "observedAt");
        assertEq(got.valueAtRisk, r.valueAtRisk, "VaR");
        assertEq(got.expectedShortfall, r.expectedShortfall, "CVaR");
        assertEq(got.portfolioValue, r.portfolioValue, "value");
        assertEq(got.confidence, r.confidence, "confidence");
        assertEq(got.horizon, r.horizon, "horizon");
        assertEq(got.method, r.method, "method");
        assertEq(got.breakerStatus, r.breakerStatus, "breaker");
        assertEq(got.acceptedAt, block.timestamp, "acceptedAt");
        assertEq(got.configHash, r.configHash, "configHash");
        (uint80 id, int256 answer,, uint256 updatedAt,) = oracle.latestRoundData(PID);
        assertEq(id, r.round, "roundId");
        assertEq(answer, int256(uint256(r.valueAtRisk)), "answer");
        assertEq(updatedAt, r.observedAt, "updatedAt");
    }

    /// A report word with bits above its field's type is refused (as the ABI decoder refuses
    /// it), though the submission path copies the words without decoding them one by one.
    function test_submit_refusesNonCanonicalReportWords() public {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs3(r);
        bytes memory data = abi.encodeCall(oracle.submit, (r, s));
        // word 5 of the report (method, uint8) at 4 + 5 * 32; set a bit above its 8 bits.
        data[4 + 5 * 32 + 30] = 0x01;
        (bool ok,) = address(oracle).call(data);
        assertFalse(ok, "dirty method word refused");
        // word 1 (round, uint64): a bit above 64.
        data = abi.encodeCall(oracle.submit, (r, s));
        data[4 + 1 * 32 + 23] = 0x01;
        (ok,) = address(oracle).call(data);
        assertFalse(ok, "dirty round word refused");
        data = abi.encodeCall(oracle.submit, (r, s));
        (ok,) = address(oracle).call(data);
        assertTrue(ok, "the canonical encoding is accepted");
        assertEq(oracle.latest(PID).round, 1, "stored");
    }

    function testFuzz_submit_varChangeLimit(
        uint64 prev,
        uint64 next,
        uint64 maxChange,
        uint32 elapsed
    ) public {
        prev = uint64(bound(prev, 1, WAD));
        next = uint64(bound(next, 0, WAD));
        maxChange = uint64(bound(maxChange, 1, 10 * WAD));
        elapsed = uint32(bound(elapsed, 1, 7200));
        vm.prank(owner);
        oracle.setLimits(PID, 3600, 0, maxChange);
        _accept3(1, uint64(T0), prev, prev);
        vm.warp(T0 + elapsed);
        RiskReport memory r = _report(2, uint64(T0 + elapsed), next, next);
        Signature[] memory s = _sigs3(r);
        uint256 diff = next > prev ? next - prev : prev - next;
        // Closed form of the rule: |next − prev| / prev ≤ maxChange · min(elapsed, 1 h) / 1 h.
        uint256 credited = elapsed < 3600 ? elapsed : 3600;
        bool ok = diff * WAD * 3600 <= uint256(maxChange) * credited * prev;
        if (!ok) {
            vm.expectRevert(
                abi.encodeWithSelector(RiskOracle.VaRChangeTooLarge.selector, prev, next)
            );
        }
        oracle.submit(r, s);
    }

    function testFuzz_propose_storesMedianOfThree(uint64 a, uint64 b, uint64 c) public {
        a = uint64(bound(a, 0, WAD));
        b = uint64(bound(b, 0, WAD));
        c = uint64(bound(c, 0, WAD));
        uint64[3] memory v = [a, b, c];
        for (uint256 i; i < 3; ++i) {
            RiskReport memory r = _report(1, uint64(T0), v[i], v[i]);
            oracle.propose(r, _sign(keys[i], r));
        }
        uint256 lo = a < b ? (a < c ? a : c) : (b < c ? b : c);
        uint256 hi = a > b ? (a > c ? a : c) : (b > c ? b : c);
        uint256 median = uint256(a) + b + c - lo - hi;
        assertEq(oracle.latest(PID).valueAtRisk, median, "median");
    }
}
