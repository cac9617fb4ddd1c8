// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {OracleFixture} from "./base/OracleFixture.sol";
import {RiskOracle} from "../src/RiskOracle.sol";
import {RiskReport, Signature} from "../src/interfaces/IRiskOracle.sol";

/// @notice Setup phase and the configuration delay (issue 14, finding 8): immediate owner
/// configuration until the first accepted report or `finalizeSetup`, then queue -> wait
/// `changeDelay` -> execute, cancellable, with an event for every step.
contract RiskOracleTimelockTest is OracleFixture {
    event ChangeQueued(bytes32 indexed id, bytes4 indexed selector, bytes data, uint256 eta);
    event ChangeCancelled(bytes32 indexed id);
    event ChangeExecuted(bytes32 indexed id);
    event SetupFinalized();
    event QuorumSet(uint8 quorum, uint32 epoch);

    function setUp() public {
        _deployOracle(5, 3);
    }

    function _acceptFirst() internal {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        oracle.submit(r, _sigs3(r));
    }

    function test_setup_isOpenAfterDeploymentWithTwoDayDelay() public view {
        assertFalse(oracle.setupFinalized(), "open");
        assertEq(oracle.changeDelay(), 2 days, "default delay");
    }

    function test_setup_endsAtFirstAcceptedReport() public {
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        Signature[] memory s = _sigs3(r);
        vm.expectEmit(true, true, true, true, address(oracle));
        emit SetupFinalized();
        oracle.submit(r, s);
        assertTrue(oracle.setupFinalized(), "closed");
        vm.prank(owner);
        vm.expectRevert(RiskOracle.SetupClosed.selector);
        oracle.setQuorum(2);
    }

    function test_finalizeSetup_closesSetupOwnerOnlyAndNeedsQuorum() public {
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this))
        );
        oracle.finalizeSetup();
        vm.prank(owner);
        oracle.finalizeSetup();
        assertTrue(oracle.setupFinalized(), "closed");
        vm.prank(owner);
        vm.expectRevert(RiskOracle.SetupClosed.selector);
        oracle.setLimits(PID, 3600, 0, 0);

        vm.warp(T0);
        RiskOracle fresh = new RiskOracle(owner);
        vm.prank(owner);
        vm.expectRevert(RiskOracle.QuorumNotSet.selector);
        fresh.finalizeSetup();
    }

    function test_setLimits_refusedBeforeQuorum() public {
        RiskOracle fresh = new RiskOracle(owner);
        vm.startPrank(owner);
        fresh.addSigner(address(0x1234));
        vm.expectRevert(RiskOracle.QuorumNotSet.selector);
        fresh.setLimits(PID, 3600, 0, 0);
        fresh.setQuorum(1);
        fresh.setLimits(PID, 3600, 0, 0);
        vm.stopPrank();
        (uint32 maxAge,,) = fresh.limits(PID);
        assertEq(maxAge, 3600, "enabled once the quorum is set");
    }

    function test_queuedChange_waitsForDelayThenAnyoneExecutes() public {
        _acceptFirst();
        bytes memory data = abi.encodeCall(oracle.setQuorum, (2));
        bytes32 id = keccak256(data);
        vm.expectEmit(true, true, true, true, address(oracle));
        emit ChangeQueued(id, oracle.setQuorum.selector, data, T0 + 2 days);
        vm.prank(owner);
        assertEq(oracle.queueChange(data), id, "id");
        assertEq(oracle.changeEta(id), T0 + 2 days, "eta");

        vm.warp(T0 + 2 days - 1);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.ChangeNotReady.selector, id, T0 + 2 days));
        oracle.executeChange(data);
        assertEq(oracle.quorum(), 3, "unchanged before the delay");

        vm.warp(T0 + 2 days);
        vm.expectEmit(true, true, true, true, address(oracle));
        emit QuorumSet(2, oracle.signerEpoch() + 1);
        vm.expectEmit(true, true, true, true, address(oracle));
        emit ChangeExecuted(id);
        oracle.executeChange(data); // anyone
        assertEq(oracle.quorum(), 2, "applied");
        assertEq(oracle.changeEta(id), 0, "consumed");
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.ChangeNotQueued.selector, id));
        oracle.executeChange(data);
    }

    function test_queuedChange_cancelledByOwnerNeverApplies() public {
        _acceptFirst();
        address evil = address(0xE711);
        bytes memory data = abi.encodeCall(oracle.addSigner, (evil));
        bytes32 id = keccak256(data);
        vm.prank(owner);
        oracle.queueChange(data);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.ChangeAlreadyQueued.selector, id));
        oracle.queueChange(data);
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this))
        );
        oracle.cancelChange(data);
        vm.expectEmit(true, true, true, true, address(oracle));
        emit ChangeCancelled(id);
        vm.prank(owner);
        oracle.cancelChange(data);
        vm.warp(T0 + 3 days);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.ChangeNotQueued.selector, id));
        oracle.executeChange(data);
        assertFalse(oracle.isSigner(evil), "never added");
    }

    function test_queueChange_onlyOwnerAndOnlyConfigurationCalls() public {
        bytes memory data = abi.encodeCall(oracle.setQuorum, (2));
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this))
        );
        oracle.queueChange(data);
        RiskReport memory r = _report(1, uint64(T0), 0.05e18, 0.07e18);
        bytes memory submitCall = abi.encodeCall(oracle.submit, (r, _sigs3(r)));
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(RiskOracle.UnsupportedChange.selector, oracle.submit.selector)
        );
        oracle.queueChange(submitCall);
        bytes memory transfer = abi.encodeCall(oracle.transferOwnership, (address(1)));
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(
                RiskOracle.UnsupportedChange.selector, oracle.transferOwnership.selector
            )
        );
        oracle.queueChange(transfer);
    }

    function test_executeChange_passesOnTheChangesOwnRevert() public {
        _acceptFirst();
        bytes memory data = abi.encodeCall(oracle.setQuorum, (6)); // 5 signers
        vm.prank(owner);
        oracle.queueChange(data);
        vm.warp(T0 + 2 days);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.InvalidQuorum.selector, 6, 5));
        oracle.executeChange(data);
        assertEq(oracle.changeEta(keccak256(data)), T0 + 2 days, "still queued after a revert");
    }

    function test_changeDelay_changesOnlyThroughTheDelayAndWithinBounds() public {
        _acceptFirst();
        bytes memory shorter = abi.encodeCall(oracle.setChangeDelay, (1 hours));
        vm.prank(owner);
        oracle.queueChange(shorter);
        vm.warp(T0 + 2 days);
        oracle.executeChange(shorter);
        assertEq(oracle.changeDelay(), 1 hours, "new delay");
        bytes memory tooShort = abi.encodeCall(oracle.setChangeDelay, (59 minutes));
        vm.prank(owner);
        oracle.queueChange(tooShort);
        vm.warp(T0 + 2 days + 1 hours);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.InvalidDelay.selector, 59 minutes));
        oracle.executeChange(tooShort);
    }

    function test_changePolicy_setThroughQueueAppliesToLaterReports() public {
        _acceptFirst();
        bytes memory data = abi.encodeCall(oracle.setChangePolicy, (PID, 86_400, 2));
        vm.prank(owner);
        oracle.queueChange(data);
        vm.warp(T0 + 2 days);
        oracle.executeChange(data);
        (uint32 period, uint8 widening) = oracle.changePolicy(PID);
        assertEq(period, 86_400, "period");
        assertEq(widening, 2, "widening");
        RiskReport memory r = _report(2, uint64(T0 + 2 days), 0.051e18, 0.07e18);
        Signature[] memory s = _sigs3(r);
        // Elapsed observation time is 2 days (> 1 day): the full 50 % applies.
        oracle.submit(r, s);
        // One hour of a 50 %-per-day limit: VaR may move by at most 1/48 of itself.
        vm.warp(T0 + 2 days + 3600);
        uint64 prev = r.valueAtRisk;
        r = _report(3, uint64(T0 + 2 days + 3600), prev + prev / 48 + 1, 0.07e18);
        s = _sigs3(r);
        vm.expectRevert(
            abi.encodeWithSelector(
                RiskOracle.VaRChangeTooLarge.selector, prev, prev + prev / 48 + 1
            )
        );
        oracle.submit(r, s);
    }

    function test_ownership_twoStepAndPendingOwnerCannotConfigure() public {
        address next = address(0xB0B);
        vm.prank(owner);
        oracle.transferOwnership(next);
        assertEq(oracle.pendingOwner(), next, "pending");
        vm.prank(next);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, next));
        oracle.setQuorum(1);
        vm.prank(next);
        oracle.acceptOwnership();
        assertEq(oracle.owner(), next, "moved");
    }
}
