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

    // ------------------------------------------------------------ finding 1

    /// @dev Ends every epoch of these tests: a feed round at a time past the epoch end
    /// whatever the epoch layout (v1: start + horizon; v2: sale close + horizon).
    function _settleAfter(VaRProtection pool, uint256 at, int256 endPrice) internal {
        vm.warp(at);
        feed.setAnswer(endPrice);
        (bool ok,) = address(pool).call(abi.encodeWithSignature("settle()"));
        assertTrue(ok, "settle() reverted");
        assertFalse(pool.epochActive(), "settled");
    }

    /// The market falls 25 % during the sale window; a buyer who saw it buys the pool's
    /// protection. It must not pay in the money against the price before the fall: the
    /// reference price is the first feed round at or after the sale close, not one chosen when
    /// the sale opened (v1 paid the 20 % cap for a 0.24 % premium).
    function test_finding1_informedBuyerGetsNoInTheMoneyProtectionAtTheOldPrice() public {
        VaRProtection pool = _pool(address(usdc), 1.2e18, 0.001e18, 0.2e18, 3600);
        usdc.mint(alice, 1_000_000e6);
        usdc.mint(bob, 1_000_000e6);
        vm.prank(alice);
        usdc.approve(address(pool), type(uint256).max);
        vm.prank(bob);
        usdc.approve(address(pool), type(uint256).max);
        vm.prank(alice);
        pool.deposit(1_000_000e6);
        _publish(0.05e18, 0.25e18, 86_400);
        uint256 id = pool.startEpoch(); // the sale opens at 2000
        vm.warp(T0 + 1800);
        feed.setAnswer(1500e8); // -25 %, seen by the buyer while the sale is open
        vm.prank(bob);
        pool.buyProtection(1_000_000e6, type(uint256).max);
        vm.warp(T0 + 3600); // the sale closes; the market stays at 1500
        feed.setAnswer(1500e8);
        _settleAfter(pool, T0 + 3600 + 86_400, 1500e8);
        assertEq(pool.epoch(id).payoutPerUnit, 0, "paid in the money at the pre-fall price");
        uint256 before = usdc.balanceOf(bob);
        vm.prank(bob);
        (bool claimed,) = address(pool).call(abi.encodeCall(pool.claim, (id, 1_000_000e6)));
        assertFalse(claimed && usdc.balanceOf(bob) > before, "the informed buyer was paid");
    }

    /// Two underwriters with equal shares; the market falls during the sale window and falls
    /// further before the end. One sees the fall and tries to leave (v1: `withdraw` while the
    /// sale is open; v2: `requestRedeem`, which takes effect at the epoch boundary). Both must
    /// bear the epoch's loss equally (v1: the leaver kept all her collateral and the other
    /// underwriter paid the whole 200k payout).
    function test_finding1_underwriterWhoSeesTheFallStillBearsTheEpochsLoss() public {
        VaRProtection pool = _pool(address(usdc), 1.2e18, 0.001e18, 0.2e18, 3600);
        address carol = address(0xCA401);
        address[3] memory who = [alice, bob, carol];
        for (uint256 i; i < 3; ++i) {
            usdc.mint(who[i], 1_000_000e6);
            vm.prank(who[i]);
            usdc.approve(address(pool), type(uint256).max);
        }
        vm.prank(alice);
        pool.deposit(500_000e6);
        vm.prank(carol);
        pool.deposit(500_000e6);
        _publish(0.05e18, 0.25e18, 86_400);
        uint256 id = pool.startEpoch();
        vm.prank(bob);
        pool.buyProtection(1_000_000e6, type(uint256).max); // 200k at the cap
        vm.warp(T0 + 1800);
        feed.setAnswer(1700e8); // -15 %: alice sees it and leaves with all her shares
        uint256 shares = pool.balanceOf(alice);
        vm.startPrank(alice);
        (bool left,) = address(pool).call(abi.encodeCall(pool.withdraw, (shares)));
        if (!left) {
            (left,) = address(pool).call(abi.encodeWithSignature("requestRedeem(uint256)", shares));
        }
        vm.stopPrank();
        assertTrue(left, "the underwriter could neither withdraw nor request a redemption");
        vm.warp(T0 + 3600);
        feed.setAnswer(1700e8); // the sale closes at 1700
        _settleAfter(pool, T0 + 3600 + 86_400, 1275e8); // -25 % from 1700, -36 % from 2000
        assertEq(pool.epoch(id).payoutPerUnit, 0.2e18, "the epoch paid the cap");
        vm.prank(alice);
        (bool redeemed,) = address(pool).call(abi.encodeWithSignature("claimRedeem(uint256)", id));
        assertTrue(redeemed || left, "unreachable: the leaver is out either way");
        for (uint256 i; i < 3; i += 2) {
            uint256 rest = pool.balanceOf(who[i]);
            if (rest == 0) continue;
            vm.prank(who[i]);
            pool.withdraw(rest);
        }
        uint256 aliceEnd = usdc.balanceOf(alice);
        uint256 carolEnd = usdc.balanceOf(carol);
        assertLt(aliceEnd, 1_000_000e6 - 90_000e6, "the leaver escaped the epoch's loss");
        uint256 gap = aliceEnd > carolEnd ? aliceEnd - carolEnd : carolEnd - aliceEnd;
        assertLe(gap, 2, "equal shares, unequal outcome");
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

    // ------------------------------------------------------------ finding 4

    /// @dev A funded pool with an epoch of one day started at T0 and bob's protection bought.
    function _epochWithProtection() internal returns (VaRProtection pool, uint256 id) {
        pool = _pool(address(usdc), 1.2e18, 0.001e18, 0.2e18, 3600);
        usdc.mint(alice, 1_000_000e6);
        usdc.mint(bob, 1_000_000e6);
        vm.prank(alice);
        usdc.approve(address(pool), type(uint256).max);
        vm.prank(bob);
        usdc.approve(address(pool), type(uint256).max);
        vm.prank(alice);
        pool.deposit(1_000_000e6);
        _publish(0.05e18, 0.25e18, 86_400);
        id = pool.startEpoch();
        vm.prank(bob);
        pool.buyProtection(100_000e6, type(uint256).max);
        vm.warp(pool.epoch(id).saleEnd); // the sale closes at 2000: coverage starts
        feed.setAnswer(2000e8);
        pool.startCoverage();
    }

    /// The first round after the end carries a non-positive price: the epoch still settles,
    /// at the first valid round after the end, instead of locking the pool for ever.
    function test_finding4_nonPositiveFirstRoundDoesNotLockPool() public {
        (VaRProtection pool, uint256 id) = _epochWithProtection();
        vm.warp(pool.epoch(id).end);
        feed.setAnswer(0); // a broken round at the end
        vm.warp(block.timestamp + 60);
        feed.setAnswer(1500e8); // -25 %: the first valid price after the end
        (bool viaSearch,) = address(pool).call(abi.encodeWithSignature("settle()"));
        if (!viaSearch) {
            (bool direct,) =
                address(pool).call(abi.encodeWithSignature("settle(uint80)", feed.latestRound()));
            assertTrue(direct, "no way to settle: the pool is locked");
        }
        assertFalse(pool.epochActive(), "settled");
        // loss 25 % - VaR 5 % = 20 % = the cap.
        assertEq(pool.epoch(id).payoutPerUnit, 0.2e18, "paid at the first valid price");
    }

    /// At a Chainlink proxy phase change the settlement round's predecessor does not exist
    /// (getRoundData reverts): that must not make the epoch unsettleable.
    function test_finding4_missingPreviousRoundDoesNotLockPool() public {
        (VaRProtection pool, uint256 id) = _epochWithProtection();
        uint64 end = pool.epoch(id).end;
        vm.warp(end + 60);
        uint80 phase2 = (uint80(2) << 64) | 1; // the new phase's first round
        feed.setRoundData(phase2, 1900e8, end + 60, end + 60, phase2);
        (bool ok,) = address(pool).call(abi.encodeWithSignature("settle()"));
        assertTrue(ok, "settle() reverted");
        assertFalse(pool.epochActive(), "settled");
    }

    /// The feed stops: no price after the end ever arrives. After a grace period the epoch is
    /// refunded (premiums back to buyers through claim) and the pool unlocked.
    function test_finding4_stoppedFeedRefundsPremiumsAfterGrace() public {
        (VaRProtection pool, uint256 id) = _epochWithProtection();
        uint256 premium = 100_000e6 * uint256(pool.epoch(id).premiumPerUnit) / 1e18;
        vm.warp(pool.epoch(id).end + 30 days);
        (bool refunded,) = address(pool).call(abi.encodeWithSignature("refundEpoch()"));
        assertTrue(refunded, "no way out: the pool is locked for ever");
        assertFalse(pool.epochActive(), "unlocked");
        uint256 before = usdc.balanceOf(bob);
        vm.prank(bob);
        pool.claim(id, 100_000e6);
        assertEq(usdc.balanceOf(bob) - before, premium, "premium refunded");
        uint256 shares = pool.balanceOf(alice);
        vm.prank(alice);
        pool.withdraw(shares); // the pool is free again
        assertEq(pool.poolAssets(), 0, "the underwriter left with the pool");
    }

    function test_refundEpoch_refusedBeforeGraceAndWhileASettlementRoundExists() public {
        (VaRProtection pool, uint256 id) = _epochWithProtection();
        uint256 graceEnd = uint256(pool.epoch(id).end) + pool.SETTLEMENT_GRACE();
        vm.warp(graceEnd);
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.GracePeriodNotOver.selector, graceEnd));
        pool.refundEpoch();
        vm.warp(graceEnd - 1); // a valid price inside the grace window
        feed.setAnswer(1990e8);
        uint80 round = feed.latestRound();
        vm.warp(graceEnd + 1);
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.SettlementAvailable.selector, round));
        pool.refundEpoch();
        pool.settle();
        assertEq(pool.epoch(id).payoutPerUnit, 0, "a 0.5 % fall pays nothing");
    }

    function test_settle_refusesAPriceStampedAfterTheGraceWindow() public {
        (VaRProtection pool, uint256 id) = _epochWithProtection();
        uint256 graceEnd = uint256(pool.epoch(id).end) + pool.SETTLEMENT_GRACE();
        vm.warp(graceEnd + 1);
        feed.setAnswer(1000e8);
        uint80 round = feed.latestRound();
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.WrongSettlementRound.selector, round));
        pool.settle(round);
        vm.expectRevert(
            abi.encodeWithSelector(
                VaRProtection.NoSettlementPrice.selector, pool.epoch(id).end, graceEnd
            )
        );
        pool.settle();
        pool.refundEpoch(); // the feed gave no price in time: premiums back
        assertEq(pool.epoch(id).payoutPerUnit, pool.epoch(id).premiumPerUnit, "refund per unit");
    }

    // ------------------------------------------------------------ finding 5

    /// Claims rounded down per holder strand dust in the reserve for ever; rounded on the
    /// cumulative amount, all claims add up to exactly what settlement reserved.
    function test_finding5_claimRoundingLeavesNoDust() public {
        (VaRProtection pool, uint256 id) = _epochWithProtection();
        ProtectionToken pt = pool.epoch(id).token;
        address carol = address(0xCA401);
        vm.prank(bob);
        pt.transfer(carol, 7); // 7 units are owed 1.25 units of collateral
        vm.warp(pool.epoch(id).end);
        feed.setAnswer(1543.21e8); // loss 22.8395 %: 17.8395 % per unit
        pool.settle();
        uint256 reserved = pool.reservedForClaims();
        vm.prank(carol);
        uint256 paidCarol = pool.claim(id, 7);
        uint256 rest = pt.balanceOf(bob);
        vm.prank(bob);
        uint256 paidBob = pool.claim(id, rest);
        assertEq(paidCarol + paidBob, reserved, "claims add up to the reserve");
        assertEq(pool.reservedForClaims(), 0, "dust stranded in the reserve");
        assertEq(usdc.balanceOf(address(pool)), pool.poolAssets(), "books = holdings");
    }

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
