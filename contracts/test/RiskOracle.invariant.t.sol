// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {InvariantBase} from "./base/TestBase.sol";
import {OracleFixture} from "./base/OracleFixture.sol";
import {RiskOracle} from "../src/RiskOracle.sol";
import {AcceptedReport, RiskReport, Signature} from "../src/interfaces/IRiskOracle.sol";

/// @notice Drives the oracle with random submissions (any subset of six keys, duplicates,
/// outsiders, old or new rounds), single-signer proposals, and signer-set/quorum changes (queued
/// and executed after the delay once setup is over), and an owner trying to change the
/// configuration at once; counts every acceptance or change that breaks a law.
contract OracleHandler is OracleFixture {
    uint256 internal constant POOL = 6; // keys[0..3] start authorized, keys[4..5] do not

    uint64 public ghostRound;
    uint256 public roundDecreases;
    uint256 public underQuorumAcceptances;
    uint256 public acceptances;
    uint256 public immediateChangesAfterSetup;
    uint256 public delayedChanges;

    /// signers that proposed for (PID, round) within one signer epoch
    mapping(bytes32 => address[]) internal _proposers;

    constructor() {
        vm.warp(T0);
        owner = address(this);
        oracle = new RiskOracle(address(this));
        for (uint256 i; i < POOL; ++i) {
            keys.push(0xA000 + i * 7919);
            if (i < 4) oracle.addSigner(vm.addr(keys[i]));
        }
        oracle.setQuorum(2);
        oracle.setLimits(PID, 3600, 0, 0);
        oracle.setChangeDelay(1 hours);
    }

    function quorumOf() external view returns (uint8) {
        return oracle.quorum();
    }

    function latestRound() public view returns (uint64) {
        try oracle.latest(PID) returns (AcceptedReport memory a) {
            return a.round;
        } catch {
            return 0;
        }
    }

    function _afterAction(uint64 before) internal {
        uint64 now_ = latestRound();
        if (now_ < before || now_ < ghostRound) ++roundDecreases;
        if (now_ > ghostRound) ghostRound = now_;
    }

    function _distinctAuthorized(address[] memory signers_) internal view returns (uint256 n) {
        for (uint256 i; i < signers_.length; ++i) {
            if (!oracle.isSigner(signers_[i])) continue;
            bool seen;
            for (uint256 j; j < i; ++j) {
                if (signers_[j] == signers_[i]) seen = true;
            }
            if (!seen) ++n;
        }
    }

    function _reportAt(uint64 round, uint256 seed) internal view returns (RiskReport memory r) {
        uint64 v = uint64(seed % 0.5e18);
        r = _report(round, uint64(block.timestamp), v, v + uint64(seed % 0.1e18));
    }

    /// All-in-one submission with `count` signatures from random keys of the pool.
    function submit(uint256 seed, uint8 count, uint8 roundStep, uint8 dt) external {
        vm.warp(block.timestamp + (dt % 120));
        uint64 before = latestRound();
        // one below, equal to, or up to three above the latest round
        uint64 round = before + (roundStep % 5);
        round = round == 0 ? 1 : round - 1;
        RiskReport memory r = _reportAt(round, seed);
        count = count % 6;
        Signature[] memory sigs = new Signature[](count);
        address[] memory who = new address[](count);
        bytes32 d = _digest(r);
        for (uint256 i; i < count; ++i) {
            uint256 k = keys[uint256(keccak256(abi.encode(seed, i))) % POOL];
            sigs[i] = _signDigest(k, d);
            who[i] = vm.addr(k);
        }
        uint256 q = oracle.quorum();
        try oracle.submit(r, sigs) {
            ++acceptances;
            if (_distinctAuthorized(who) < q) ++underQuorumAcceptances;
        } catch {}
        _afterAction(before);
    }

    /// A batch of one or two reports for the portfolio signed once by `count` random keys.
    function submitBatchSigned(uint256 seed, uint8 count, uint8 size, uint8 dt) external {
        vm.warp(block.timestamp + 2 + (dt % 60)); // both observations after the last one
        uint64 before = latestRound();
        uint256 n = 1 + size % 2;
        RiskReport[] memory rs = new RiskReport[](n);
        bytes32[] memory h = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            rs[i] = _reportAt(before + 1 + uint64(i), seed);
            rs[i].observedAt = uint64(block.timestamp - (n - 1 - i)); // strictly increasing
            h[i] = _structHash(rs[i]);
        }
        bytes32 d = keccak256(
            abi.encodePacked(
                hex"1901",
                _domainSeparator(block.chainid, address(oracle)),
                keccak256(abi.encode(oracle.BATCH_TYPEHASH(), keccak256(abi.encodePacked(h))))
            )
        );
        count = count % 6;
        Signature[] memory sigs = new Signature[](count);
        address[] memory who = new address[](count);
        for (uint256 i; i < count; ++i) {
            uint256 k = keys[uint256(keccak256(abi.encode(seed, i))) % POOL];
            sigs[i] = _signDigest(k, d);
            who[i] = vm.addr(k);
        }
        uint256 q = oracle.quorum();
        try oracle.submitBatchSigned(rs, sigs) {
            ++acceptances;
            if (_distinctAuthorized(who) < q) ++underQuorumAcceptances;
        } catch {}
        _afterAction(before);
    }

    /// One signer's proposal for the next round(s).
    function propose(uint256 seed, uint8 keyIndex, uint8 roundStep, uint8 dt) external {
        vm.warp(block.timestamp + (dt % 30));
        uint64 before = latestRound();
        uint64 round = before + 1 + (roundStep % 2);
        RiskReport memory r = _reportAt(round, seed);
        uint256 k = keys[keyIndex % POOL];
        bytes32 slot = keccak256(abi.encode(round, oracle.signerEpoch()));
        uint256 q = oracle.quorum();
        try oracle.propose(r, _sign(k, r)) {
            _proposers[slot].push(vm.addr(k));
            if (latestRound() == round) {
                ++acceptances;
                if (_distinctAuthorized(_proposers[slot]) < q) ++underQuorumAcceptances;
            }
        } catch {}
        _afterAction(before);
    }

    /// Owner changes: add or remove a pool key, or set a new quorum. During setup they apply at
    /// once; afterwards the owner first tries the direct call (it must fail), then queues the
    /// change and executes it `changeDelay` later.
    function reconfigure(uint8 action, uint8 keyIndex, uint8 newQuorum) external {
        uint64 before = latestRound();
        address a = vm.addr(keys[keyIndex % POOL]);
        bytes memory data;
        if (action % 3 == 0) {
            data = abi.encodeCall(oracle.addSigner, (a));
        } else if (action % 3 == 1) {
            data = abi.encodeCall(oracle.removeSigner, (a));
        } else {
            data = abi.encodeCall(oracle.setQuorum, (uint8(1 + newQuorum % 4)));
        }
        bool closed = oracle.setupFinalized();
        (bool direct,) = address(oracle).call(data);
        if (closed) {
            if (direct) ++immediateChangesAfterSetup;
            try oracle.queueChange(data) {
                vm.warp(block.timestamp + oracle.changeDelay());
                try oracle.executeChange(data) {
                    ++delayedChanges;
                } catch {
                    oracle.cancelChange(data);
                }
            } catch {}
        }
        _afterAction(before);
    }
}

contract RiskOracleInvariantTest is InvariantBase {
    OracleHandler internal handler;

    function setUp() public {
        handler = new OracleHandler();
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](4);
        selectors[0] = OracleHandler.submit.selector;
        selectors[1] = OracleHandler.propose.selector;
        selectors[2] = OracleHandler.reconfigure.selector;
        selectors[3] = OracleHandler.submitBatchSigned.selector;
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    function invariant_roundsOnlyIncrease() public view {
        assertEq(handler.roundDecreases(), 0, "latest round decreased");
        assertEq(handler.latestRound(), handler.ghostRound(), "latest round is the highest seen");
    }

    function invariant_acceptedReportHasQuorumOfDistinctAuthorizedSigners() public view {
        assertEq(handler.underQuorumAcceptances(), 0, "accepted below quorum");
    }

    function invariant_ownerChangesNothingAtOnceAfterSetup() public view {
        assertEq(handler.immediateChangesAfterSetup(), 0, "a direct change after setup applied");
    }
}

/// @notice The handler is not vacuous: its actions do get reports accepted.
contract OracleHandlerSanityTest is InvariantBase {
    function test_handler_submitAndProposeGetAccepted() public {
        OracleHandler h = new OracleHandler();
        // Find a seed whose first two signatures come from two distinct authorized keys.
        uint256 seed;
        for (; seed < 100; ++seed) {
            uint256 a = uint256(keccak256(abi.encode(seed, uint256(0)))) % 6;
            uint256 b = uint256(keccak256(abi.encode(seed, uint256(1)))) % 6;
            if (a < 4 && b < 4 && a != b) break;
        }
        h.submit(seed, 2, 2, 1);
        assertEq(h.acceptances(), 1, "submit accepted");
        assertEq(h.latestRound(), 1, "round 1");
        h.propose(7, 0, 0, 1);
        h.propose(7, 1, 0, 0);
        assertEq(h.acceptances(), 2, "proposals accepted");
        assertEq(h.latestRound(), 2, "round 2");
        h.submitBatchSigned(seed, 2, 1, 0);
        assertEq(h.acceptances(), 3, "signed batch accepted");
        assertEq(h.latestRound(), 4, "rounds 3 and 4");
        // Setup is over: a quorum change goes through the delay.
        h.reconfigure(2, 0, 2); // setQuorum(3)
        assertEq(h.delayedChanges(), 1, "queued and executed after the delay");
        assertEq(h.immediateChangesAfterSetup(), 0, "not at once");
        assertEq(h.quorumOf(), 3, "quorum 3");
    }
}

/// @notice Adversaries against an oracle that is running (setup finalised, a change limit of
/// 20 % per hour): a faulty signer (keys[0], authorised) that signs wrong figures, front-runs
/// the honest proposals of a round with another model hash and leaves proposals behind to be
/// replayed after a signer change; the owner (an EOA) that tries to make itself a signer, set
/// quorum 1 and lift the limits at once, then through the queue (rarely letting it mature);
/// honest signers (keys[1..3]) publishing figures a random step from the last ones. After every
/// action it checks the accepted figures against the current signers, quorum and change policy.
contract OracleAdversaryHandler is OracleFixture {
    uint256 internal constant OWNER_KEY = 0x0F0F;
    uint256 internal constant FAULTY = 0;
    uint256 internal constant OUTSIDER = 4;
    bytes32 internal constant FAULTY_MODEL = keccak256("a model nobody else runs");

    address public ownerAddr;
    uint256 public acceptances;
    uint256 public underQuorum;
    uint256 public tooFast;
    uint256 public earlyConfig;
    uint256 public honestBlocked;
    uint256 public faultyModelLanded;
    uint256 public delayedChanges;

    uint64 internal _lastRound;
    uint64 internal _lastObserved;
    uint64 internal _lastVaR;
    uint64 internal _lastCVaR;
    bytes32 internal _configSnapshot;
    /// proposers for (round, signer epoch, model)
    mapping(bytes32 => address[]) internal _proposers;

    constructor() {
        vm.warp(T0);
        ownerAddr = vm.addr(OWNER_KEY);
        owner = ownerAddr;
        oracle = new RiskOracle(ownerAddr);
        vm.startPrank(ownerAddr);
        for (uint256 i; i < 5; ++i) {
            keys.push(0xB000 + i * 7919);
            if (i < 4) oracle.addSigner(vm.addr(keys[i]));
        }
        oracle.setQuorum(2);
        oracle.setLimits(PID, 3600, 0, 0.2e18);
        oracle.setChangeDelay(1 hours);
        oracle.finalizeSetup();
        vm.stopPrank();
        RiskReport memory r = _report(1, uint64(block.timestamp), 0.05e18, 0.07e18);
        oracle.submit(r, _sigs(r, _pair(1, 2)));
        _configSnapshot = _config();
        _afterAction();
    }

    function _pair(uint256 a, uint256 b) internal pure returns (uint256[] memory x) {
        x = new uint256[](2);
        (x[0], x[1]) = (a, b);
    }

    /// @dev Everything only the timelock may change.
    function _config() internal view returns (bytes32) {
        (uint32 maxAge, uint32 minInterval, uint64 maxChange) = oracle.limits(PID);
        (uint32 period, uint8 widening) = oracle.changePolicy(PID);
        return keccak256(
            abi.encode(
                oracle.quorum(),
                oracle.signers(),
                maxAge,
                minInterval,
                maxChange,
                period,
                widening,
                oracle.changeDelay()
            )
        );
    }

    function _distinctCurrent(address[] memory who) internal view returns (uint256 n) {
        for (uint256 i; i < who.length; ++i) {
            if (!oracle.isSigner(who[i])) continue;
            bool seen;
            for (uint256 j; j < i; ++j) {
                if (who[j] == who[i]) seen = true;
            }
            if (!seen) ++n;
        }
    }

    /// @dev The change rule with the limits in force: |next - prev| / prev <=
    /// maxChange * min(dt, period) / period (x widening while the breaker is not normal).
    function _withinPolicy(uint64 prev, uint64 next, uint256 dt, uint8 status)
        internal
        view
        returns (bool)
    {
        (,, uint64 maxChange) = oracle.limits(PID);
        if (maxChange == 0 || prev == 0) return true;
        (uint32 period, uint8 widening) = oracle.changePolicy(PID);
        uint256 credited = dt < period ? dt : period;
        uint256 allowance = uint256(maxChange) * credited * (status != 0 ? widening : 1);
        uint256 diff = next > prev ? next - prev : prev - next;
        return diff * WAD * period <= allowance * prev;
    }

    /// @dev Checks a new acceptance against the change policy and records it; checks that the
    /// configuration changed only through an executed, matured change.
    function _afterAction() internal {
        AcceptedReport memory a = oracle.latest(PID);
        if (a.round != _lastRound) {
            if (_lastRound != 0) {
                uint256 dt = a.observedAt - _lastObserved;
                if (
                    !_withinPolicy(_lastVaR, a.valueAtRisk, dt, a.breakerStatus)
                        || !_withinPolicy(_lastCVaR, a.expectedShortfall, dt, a.breakerStatus)
                ) ++tooFast;
            }
            ++acceptances;
            if (a.configHash == FAULTY_MODEL && oracle.quorum() > 1) ++faultyModelLanded;
            (_lastRound, _lastObserved) = (a.round, a.observedAt);
            (_lastVaR, _lastCVaR) = (a.valueAtRisk, a.expectedShortfall);
        }
        if (_config() != _configSnapshot) ++earlyConfig;
    }

    /// @dev A report for the next round observed now whose figures are a step of up to
    /// ±`maxStepPct` % from the last accepted ones.
    function _next(uint256 seed, uint256 maxStepPct) internal view returns (RiskReport memory r) {
        uint256 step = seed % (2 * maxStepPct + 1); // 0 .. 2 * max
        uint256 v = uint256(_lastVaR) * (100 + step - maxStepPct) / 100;
        uint256 c = uint256(_lastCVaR) * (100 + step - maxStepPct) / 100;
        if (c > WAD) c = WAD;
        if (v > c) v = c;
        r = _report(_lastRound + 1, uint64(block.timestamp), uint64(v), uint64(c));
        r.breakerStatus = uint8((seed >> 128) % 3);
    }

    /// @dev Submits `r` signed by `signerIdx` (indices into keys); an acceptance must have a
    /// quorum of distinct current signers among them.
    function _submitSigned(RiskReport memory r, uint256[] memory signerIdx) internal {
        address[] memory who = new address[](signerIdx.length);
        for (uint256 i; i < signerIdx.length; ++i) {
            who[i] = vm.addr(keys[signerIdx[i]]);
        }
        uint256 q = oracle.quorum();
        try oracle.submit(r, _sigs(r, signerIdx)) {
            if (_distinctCurrent(who) < q) ++underQuorum;
        } catch {}
    }

    /// Honest signers publish a step of up to ±40 % (the limit allows 20 % per hour).
    function honest(uint256 seed, uint16 dt) external {
        vm.warp(block.timestamp + 1 + dt % 1800);
        RiskReport memory r = _next(seed, 40);
        _submitSigned(r, _pair(1 + seed % 3, 1 + (seed / 3 + 1 + seed % 3) % 3));
        _afterAction();
    }

    /// The faulty signer signs wild figures: alone, twice, with the outsider, or with an honest
    /// signature over another report.
    function faultyFigures(uint256 seed, uint8 mode) external {
        vm.warp(block.timestamp + 1 + seed % 600);
        RiskReport memory r = _next(seed, 0);
        r.expectedShortfall = uint64(seed % WAD);
        r.valueAtRisk = uint64((seed >> 64) % (uint256(r.expectedShortfall) + 1));
        mode %= 4;
        if (mode == 0) {
            uint256[] memory one = new uint256[](1);
            _submitSigned(r, one);
        } else if (mode == 1) {
            _submitSigned(r, _pair(FAULTY, FAULTY));
        } else if (mode == 2) {
            _submitSigned(r, _pair(FAULTY, OUTSIDER));
        } else {
            Signature[] memory s = new Signature[](2);
            s[0] = _sign(keys[FAULTY], r);
            s[1] = _sign(keys[1], _next(seed, 0)); // honest, over the honest report
            uint256 q = oracle.quorum();
            try oracle.submit(r, s) {
                address[] memory who = new address[](1);
                who[0] = vm.addr(keys[FAULTY]);
                if (_distinctCurrent(who) < q) ++underQuorum;
            } catch {}
        }
        _afterAction();
    }

    function _propose(RiskReport memory r, uint256 k) internal {
        bytes32 slot = keccak256(
            abi.encode(
                r.round,
                oracle.signerEpoch(),
                oracle.modelHash(r.horizon, r.confidence, r.method, r.configHash)
            )
        );
        uint256 q = oracle.quorum();
        uint64 before = _lastRound;
        try oracle.propose(r, _sign(keys[k], r)) {
            _proposers[slot].push(vm.addr(keys[k]));
            if (oracle.latest(PID).round != before && _distinctCurrent(_proposers[slot]) < q) {
                ++underQuorum;
            }
        } catch {}
    }

    /// The faulty signer proposes first for the next round with another model; the honest
    /// signers then propose the unchanged figures with the usual model: their round must land.
    function faultyFrontRun(uint256 seed) external {
        vm.warp(block.timestamp + 1 + seed % 600);
        RiskReport memory bad = _next(seed, 0);
        bad.configHash = FAULTY_MODEL;
        bad.valueAtRisk = 0;
        _propose(bad, FAULTY);
        _afterAction();
        // Only after the owner's matured grab (quorum 1) can one proposal land: nothing to block.
        if (oracle.latest(PID).round >= bad.round) return;
        RiskReport memory good = _next(0, 0); // the last figures, observed now
        good.breakerStatus = 0;
        uint256 q = oracle.quorum();
        uint256 honestSigners;
        for (uint256 k = 1; k <= 3 && oracle.latest(PID).round < good.round; ++k) {
            if (!oracle.isSigner(vm.addr(keys[k]))) continue;
            ++honestSigners;
            _propose(good, k);
        }
        if (honestSigners >= q && oracle.latest(PID).round < good.round) ++honestBlocked;
        _afterAction();
    }

    /// The faulty signer proposes; the signer set changes (outsider added or removed, through
    /// the delay); an honest signer then proposes the very same report: one proposal of the
    /// current epoch must not complete a quorum of 2 with the stale one.
    function replayAfterSignerChange(uint256 seed) external {
        vm.warp(block.timestamp + 1 + seed % 600);
        RiskReport memory r = _next(seed, 10);
        _propose(r, FAULTY);
        _afterAction();
        address outsider = vm.addr(keys[OUTSIDER]);
        bytes memory change = oracle.isSigner(outsider)
            ? abi.encodeCall(oracle.removeSigner, (outsider))
            : abi.encodeCall(oracle.addSigner, (outsider));
        _queueAndExecute(change);
        _propose(r, 1 + seed % 3);
        _afterAction();
    }

    function _queueAndExecute(bytes memory change) internal {
        vm.prank(ownerAddr);
        try oracle.queueChange(change) {
            vm.warp(block.timestamp + oracle.changeDelay());
            try oracle.executeChange(change) {
                ++delayedChanges;
                _configSnapshot = _config(); // a matured change is the legitimate path
            } catch {
                vm.prank(ownerAddr);
                oracle.cancelChange(change);
            }
        } catch {}
    }

    /// The owner tries to seize the oracle in one block: make itself a signer, quorum 1, no
    /// change limit, then publish a figure of its own; then queues the same changes and tries
    /// to execute them early; cancels them, except one time in eight, when it waits the delay.
    function ownerGrab(uint256 seed) external {
        bytes[] memory grab = new bytes[](3);
        grab[0] = abi.encodeCall(oracle.addSigner, (ownerAddr));
        grab[1] = abi.encodeCall(oracle.setQuorum, (uint8(1)));
        grab[2] = abi.encodeCall(oracle.setLimits, (PID, uint32(3600), uint32(0), uint64(0)));
        for (uint256 i; i < 3; ++i) {
            vm.prank(ownerAddr);
            (bool ok,) = address(oracle).call(grab[i]);
            ok; // the snapshot check in _afterAction counts any change that applied
        }
        vm.warp(block.timestamp + 1);
        RiskReport memory r = _next(seed, 0);
        r.valueAtRisk = 0;
        Signature[] memory s = new Signature[](1);
        s[0] = _signDigest(OWNER_KEY, _digest(r));
        address[] memory who = new address[](1);
        who[0] = ownerAddr;
        uint256 q = oracle.quorum();
        try oracle.submit(r, s) {
            if (_distinctCurrent(who) < q) ++underQuorum;
        } catch {}
        _afterAction();
        if (seed % 8 == 0) {
            for (uint256 i; i < 3; ++i) {
                _queueAndExecute(grab[i]);
            }
        } else {
            for (uint256 i; i < 3; ++i) {
                vm.prank(ownerAddr);
                try oracle.queueChange(grab[i]) {
                    try oracle.executeChange(grab[i]) {} catch {} // too early: refused
                    vm.prank(ownerAddr);
                    oracle.cancelChange(grab[i]);
                } catch {}
            }
        }
        _afterAction();
    }
}

contract RiskOracleAdversaryInvariantTest is InvariantBase {
    OracleAdversaryHandler internal handler;

    function setUp() public {
        handler = new OracleAdversaryHandler();
        targetContract(address(handler));
        bytes4[] memory s = new bytes4[](5);
        s[0] = OracleAdversaryHandler.honest.selector;
        s[1] = OracleAdversaryHandler.faultyFigures.selector;
        s[2] = OracleAdversaryHandler.faultyFrontRun.selector;
        s[3] = OracleAdversaryHandler.replayAfterSignerChange.selector;
        s[4] = OracleAdversaryHandler.ownerGrab.selector;
        targetSelector(FuzzSelector(address(handler), s));
    }

    /// forge-config: default.invariant.runs = 16
    function invariant_noFigureLandsWithoutQuorumOfCurrentSigners() public view {
        assertEq(handler.underQuorum(), 0, "accepted without a quorum of current signers");
    }

    /// forge-config: default.invariant.runs = 16
    function invariant_figuresMoveNoFasterThanTheChangePolicy() public view {
        assertEq(handler.tooFast(), 0, "VaR or CVaR moved faster than the change policy");
    }

    /// forge-config: default.invariant.runs = 16
    function invariant_nothingChangesBeforeTheTimelock() public view {
        assertEq(handler.earlyConfig(), 0, "configuration changed before its delay");
    }

    /// forge-config: default.invariant.runs = 16
    function invariant_faultySignerCannotBlockHonestRoundsOrLandItsModel() public view {
        assertEq(handler.honestBlocked(), 0, "honest proposals blocked");
        assertEq(handler.faultyModelLanded(), 0, "the faulty signer's model landed");
    }
}

/// @notice The adversary handler is not vacuous: honest rounds land, the faulty front-run does
/// not stop them, a replayed proposal after a signer change does not complete, the owner's
/// grab lands only after the delay.
contract OracleAdversaryHandlerSanityTest is InvariantBase {
    function test_adversaryHandler_exercisesEveryPath() public {
        OracleAdversaryHandler h = new OracleAdversaryHandler();
        uint256 start = h.acceptances();
        h.honest(40, 3599); // a step of 0 % an hour later
        assertEq(h.acceptances(), start + 1, "honest round landed");
        h.faultyFigures(12_345, 0);
        h.faultyFigures(12_345, 2);
        assertEq(h.acceptances(), start + 1, "the faulty signer alone lands nothing");
        h.faultyFrontRun(7);
        assertEq(h.acceptances(), start + 2, "the honest round landed despite the front-run");
        h.replayAfterSignerChange(9);
        assertEq(h.delayedChanges(), 1, "signer change through the delay");
        assertEq(h.acceptances(), start + 2, "the stale proposal did not complete a quorum");
        h.ownerGrab(1); // cancelled
        assertEq(h.delayedChanges(), 1, "the owner's grab was cancelled");
        h.ownerGrab(8); // waits the delay: lands, legitimately
        assertEq(h.delayedChanges(), 4, "after the delay the owner's changes apply");
        assertEq(h.earlyConfig() + h.underQuorum() + h.tooFast() + h.honestBlocked(), 0, "clean");
    }
}
