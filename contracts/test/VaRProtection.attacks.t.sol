// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MarketFixture} from "./base/MarketFixture.sol";
import {VaRProtection} from "../src/VaRProtection.sol";
import {ProtectionToken} from "../src/ProtectionToken.sol";
import {MockReentrantERC20} from "../src/mocks/MockReentrantERC20.sol";
import {MockFeeOnTransferERC20} from "../src/mocks/MockFeeOnTransferERC20.sol";

/// @notice Issue 14, VaRProtection findings 2, 3 and 5: each test performs the attack with the
/// v1 ABI only (errors by signature string), so it compiled and failed against the old contract.
contract VaRProtectionAttackTest is MarketFixture {
    address internal alice = address(0xA11CE1); // underwriter
    address internal bob = address(0xB0B); // buyer

    function _pool(address token, uint256 loading, uint256 floor, uint256 cap, uint256 sale)
        internal
        returns (VaRProtection)
    {
        return new VaRProtection(
            address(oracle), PID, address(feed), token, loading, floor, cap, sale, 3600, 3600
        );
    }

    function setUp() public {
        _deployMarket(2000e8);
    }

    // ------------------------------------------------------------ finding 2

    /// A short-horizon report must not leave protection on sale until the epoch's last second:
    /// the sale window is at most half the horizon.
    function test_finding2_saleWindowMustBeShorterThanHalfTheHorizon() public {
        VaRProtection pool = _pool(address(usdc), 1.2e18, 0.001e18, 0.2e18, 3600);
        usdc.mint(alice, 1_000_000e6);
        vm.prank(alice);
        usdc.approve(address(pool), type(uint256).max);
        vm.prank(alice);
        pool.deposit(1_000_000e6);
        _publish(0.05e18, 0.25e18, 3600); // horizon = the sale window
        (bool started,) = address(pool).call(abi.encodeCall(pool.startEpoch, ()));
        assertFalse(started, "an epoch started whose sale lasts until its end");
        vm.expectRevert(abi.encodeWithSignature("HorizonTooShort(uint256,uint256)", 3600, 3600));
        pool.startEpoch();
    }

    // ------------------------------------------------------------ finding 3

    /// A collateral token that calls back during `transferFrom` (ERC-777 style) re-enters
    /// `buyProtection` while the outer purchase has not been booked: the capacity check passes
    /// on stale state and the pool sells twice what it can pay.
    function test_finding3_reentrantBuyCannotOversellCapacity() public {
        MockReentrantERC20 token = new MockReentrantERC20();
        VaRProtection pool = _pool(address(token), 1.2e18, 0.001e18, 1e18, 3600);
        token.mint(alice, 1000e6);
        token.mint(bob, 1000e6);
        token.mint(address(token), 1000e6); // the re-entrant buyer is the token itself
        token.approveAs(alice, address(pool), type(uint256).max);
        token.approveAs(bob, address(pool), type(uint256).max);
        token.approveAs(address(token), address(pool), type(uint256).max);
        vm.prank(alice);
        pool.deposit(1000e6);
        _publish(0.05e18, 0.25e18, 86_400);
        uint256 id = pool.startEpoch();

        token.arm(address(pool), abi.encodeCall(pool.buyProtection, (1000e6, type(uint256).max)));
        vm.prank(bob);
        pool.buyProtection(1000e6, type(uint256).max);

        ProtectionToken pt = pool.epoch(id).token;
        uint256 sold = pt.totalSupply();
        assertTrue(token.hookCalled(), "the hook ran");
        assertFalse(token.hookSucceeded(), "the re-entrant purchase went through");
        assertEq(sold, pool.epoch(id).notional, "tokens outstanding = booked notional");
        assertLe(sold, pool.poolAssets(), "the pool can pay every token at the cap");
        assertEq(token.balanceOf(address(pool)), pool.poolAssets(), "balance = pool assets");
    }

    // ------------------------------------------------------------ finding 5

    /// loading = 0 with premiumFloor = 0 sells protection for nothing; each is refused.
    function test_finding5_zeroLoadingOrZeroFloorRefused() public {
        vm.expectRevert(abi.encodeWithSignature("InvalidParameters()"));
        _pool(address(usdc), 0, 0.001e18, 0.2e18, 3600);
        vm.expectRevert(abi.encodeWithSignature("InvalidParameters()"));
        _pool(address(usdc), 1.2e18, 0, 0.2e18, 3600);
    }

    /// A fee-on-transfer collateral would be credited at nominal value: the pool would book
    /// more than it holds. Deposits and premiums that arrive short are refused.
    function test_finding5_feeOnTransferCollateralRefused() public {
        MockFeeOnTransferERC20 token = new MockFeeOnTransferERC20(100); // 1 %
        VaRProtection pool = _pool(address(token), 1.2e18, 0.001e18, 0.2e18, 3600);
        token.mint(alice, 1000e6);
        vm.prank(alice);
        token.approve(address(pool), type(uint256).max);
        vm.prank(alice);
        (bool ok,) = address(pool).call(abi.encodeCall(pool.deposit, (1000e6)));
        assertLe(pool.poolAssets(), token.balanceOf(address(pool)), "booked more than held");
        assertFalse(ok, "a short deposit was accepted");
    }
}
