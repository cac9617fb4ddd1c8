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
