// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MarketFixture} from "./base/MarketFixture.sol";
import {VaRProtection} from "../src/VaRProtection.sol";
import {ProtectionToken} from "../src/ProtectionToken.sol";
import {RiskOracle} from "../src/RiskOracle.sol";

contract VaRProtectionTest is MarketFixture {
    VaRProtection internal pool;
    address internal alice = address(0xA11CE1); // underwriter
    address internal bob = address(0xB0B); // buyer
    address internal carol = address(0xCA401); // second holder

    uint256 internal constant LOADING = 1.2e18;
    uint256 internal constant FLOOR = 0.001e18;
    uint256 internal constant CAP = 0.2e18;
    uint32 internal constant HORIZON = 86_400;

    event EpochStarted(
        uint256 indexed epochId,
        address token,
        uint64 saleEnd,
        uint64 end,
        uint64 valueAtRisk,
        uint64 premiumPerUnit
    );
    event CoverageStarted(uint256 indexed epochId, uint80 roundId, int256 startPrice);
    event EpochSettled(
        uint256 indexed epochId, int256 endPrice, uint256 loss, uint64 payoutPerUnit, uint256 payout
    );

    function setUp() public {
        _deployMarket(2000e8);
        pool = new VaRProtection(
            address(oracle),
            PID,
            address(feed),
            address(usdc),
            LOADING,
            FLOOR,
            CAP,
            3600,
            3600,
            3600
        );
        _fund(alice, 1_000_000e6);
        _fund(bob, 1_000_000e6);
        _fund(carol, 1_000_000e6);
        _publish(0.05e18, 0.25e18, HORIZON);
    }

    function assertApproxEq(uint256 a, uint256 b, uint256 tolerance, string memory message)
        internal
        pure
    {
        assertLe(a > b ? a - b : b - a, tolerance, message);
    }

    function _fund(address who, uint256 amount) internal {
        usdc.mint(who, amount);
        vm.prank(who);
        usdc.approve(address(pool), type(uint256).max);
    }

    function _deposit(address who, uint256 amount) internal returns (uint256) {
        vm.prank(who);
        return pool.deposit(amount);
    }

    function _buy(address who, uint256 notional) internal returns (uint256) {
        vm.prank(who);
        return pool.buyProtection(notional, type(uint256).max);
    }

    /// @dev Closes the sale: a feed round at `startPrice` stamped at the sale close, taken as
    /// the start price.
    function _cover(int256 startPrice) internal {
        vm.warp(pool.epoch(pool.currentEpoch()).saleEnd);
        feed.setAnswer(startPrice);
        pool.startCoverage();
    }

    /// @dev Ends the epoch with the feed at `endPrice` in a round stamped at the end (after a
    /// start round at 2000 at the sale close if coverage has not started); returns that round.
    function _endAt(int256 endPrice) internal returns (uint80) {
        if (!pool.epoch(pool.currentEpoch()).started) _cover(2000e8);
        VaRProtection.Epoch memory e = pool.epoch(pool.currentEpoch());
        vm.warp(e.end);
        feed.setAnswer(endPrice);
        return feed.latestRound();
    }

    // ------------------------------------------------------------ construction

    function test_constructor_storesParameters() public view {
        assertEq(address(pool.oracle()), address(oracle), "oracle");
        assertEq(pool.portfolioId(), PID, "portfolio");
        assertEq(address(pool.priceFeed()), address(feed), "feed");
        assertEq(address(pool.collateral()), address(usdc), "collateral");
        assertEq(pool.loading(), LOADING, "loading");
        assertEq(pool.premiumFloor(), FLOOR, "floor");
        assertEq(pool.payoutCap(), CAP, "cap");
        assertEq(pool.saleWindow(), 3600, "sale window");
        assertEq(pool.decimals(), 6, "share decimals follow collateral");
        assertEq(pool.symbol(), "vkUW", "symbol");
    }

    function test_constructor_refusesInvalidParameters() public {
        address o = address(oracle);
        address f = address(feed);
        address c = address(usdc);
        vm.expectRevert(VaRProtection.InvalidParameters.selector);
        new VaRProtection(address(0), PID, f, c, LOADING, FLOOR, CAP, 3600, 3600, 3600);
        vm.expectRevert(VaRProtection.InvalidParameters.selector);
        new VaRProtection(o, PID, address(0), c, LOADING, FLOOR, CAP, 3600, 3600, 3600);
        vm.expectRevert(VaRProtection.InvalidParameters.selector);
        new VaRProtection(o, PID, f, address(0), LOADING, FLOOR, CAP, 3600, 3600, 3600);
        vm.expectRevert(VaRProtection.InvalidParameters.selector);
        new VaRProtection(o, PID, f, c, LOADING, FLOOR, 0, 3600, 3600, 3600);
        vm.expectRevert(VaRProtection.InvalidParameters.selector);
        new VaRProtection(o, PID, f, c, LOADING, FLOOR, 1e18 + 1, 3600, 3600, 3600);
        vm.expectRevert(VaRProtection.InvalidParameters.selector);
        new VaRProtection(o, PID, f, c, LOADING, 1e18 + 1, CAP, 3600, 3600, 3600);
        vm.expectRevert(VaRProtection.InvalidParameters.selector);
        new VaRProtection(o, PID, f, c, LOADING, FLOOR, CAP, 0, 3600, 3600);
        vm.expectRevert(VaRProtection.InvalidParameters.selector);
        new VaRProtection(o, PID, f, c, LOADING, FLOOR, CAP, 3600, 0, 3600);
        vm.expectRevert(VaRProtection.InvalidParameters.selector);
        new VaRProtection(o, PID, f, c, LOADING, FLOOR, CAP, 3600, 3600, 0);
    }

    // ------------------------------------------------------------ underwriters

    function test_deposit_mintsSharesOneToOneThenProRata() public {
        assertEq(_deposit(alice, 1000e6), 1000e6, "first deposit");
        assertEq(pool.balanceOf(alice), 1000e6, "alice shares");
        assertEq(pool.poolAssets(), 1000e6, "assets");
        assertEq(usdc.balanceOf(address(pool)), 1000e6, "collateral held");
        assertEq(_deposit(carol, 500e6), 500e6, "second deposit at the same price");
    }

    function test_deposit_revertsOnZero() public {
        vm.expectRevert(VaRProtection.ZeroAmount.selector);
        _deposit(alice, 0);
    }

    function test_deposit_revertsWhenSharesRoundToZero() public {
        _deposit(alice, 10e6);
        pool.startEpoch();
        _buy(bob, 10e6); // premium 0.0024 * 10e6 = 24_000 raises the share price
        vm.prank(carol);
        vm.expectRevert(VaRProtection.ZeroShares.selector);
        pool.requestDeposit(1);
        pool.settle(_endAt(2000e8));
        vm.expectRevert(VaRProtection.ZeroShares.selector);
        _deposit(carol, 1);
    }

    function test_withdraw_returnsAssetsWhenIdle() public {
        _deposit(alice, 1000e6);
        uint256 before = usdc.balanceOf(alice);
        vm.prank(alice);
        uint256 assets = pool.withdraw(400e6);
        assertEq(assets, 400e6, "assets");
        assertEq(usdc.balanceOf(alice) - before, 400e6, "paid");
        assertEq(pool.poolAssets(), 600e6, "remaining");
        assertEq(pool.balanceOf(alice), 600e6, "shares");
    }

    function test_withdraw_revertsOnZero() public {
        vm.prank(alice);
        vm.expectRevert(VaRProtection.ZeroAmount.selector);
        pool.withdraw(0);
    }

    function test_depositWithdraw_lockedForTheWholeEpoch() public {
        _deposit(alice, 1000e6);
        pool.startEpoch();
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.PoolLocked.selector, 1));
        _deposit(carol, 100e6); // even during the sale window
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.PoolLocked.selector, 1));
        pool.withdraw(1e6);
        pool.settle(_endAt(2000e8));
        vm.prank(alice);
        pool.withdraw(1e6); // idle again
        _deposit(carol, 100e6);
    }

    function test_requests_refusedWhileIdleOrZero() public {
        vm.prank(alice);
        vm.expectRevert(VaRProtection.NoActiveEpoch.selector);
        pool.requestDeposit(1e6);
        vm.prank(alice);
        vm.expectRevert(VaRProtection.NoActiveEpoch.selector);
        pool.requestRedeem(1e6);
        pool.startEpoch();
        vm.prank(alice);
        vm.expectRevert(VaRProtection.ZeroAmount.selector);
        pool.requestDeposit(0);
        vm.prank(alice);
        vm.expectRevert(VaRProtection.ZeroAmount.selector);
        pool.requestRedeem(0);
    }

    /// A deposit requested during an epoch earns none of its premium and bears none of its
    /// payout: it becomes shares at the price after settlement.
    function test_requestDeposit_entersAtTheBoundaryAfterThePayout() public {
        _deposit(alice, 1000e6);
        pool.startEpoch();
        _buy(bob, 1000e6); // premium 2.4e6
        vm.prank(carol);
        pool.requestDeposit(500e6);
        assertEq(pool.pendingDeposits(), 500e6, "pending");
        assertEq(pool.poolAssets(), 1002.4e6, "not in the pool yet");
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.NotSettled.selector, 1));
        pool.claimDeposit(1);
        pool.settle(_endAt(1800e8)); // -10 %: 50e6 paid, pool 952.4e6 for 1000e6 shares
        assertEq(pool.poolAssets(), 1452.4e6, "deposit entered after the payout");
        assertEq(pool.pendingDeposits(), 0, "processed");
        uint256 expected = uint256(500e6) * (1000e6 + 1) / (952.4e6 + 1);
        assertEq(pool.epoch(1).depositShares, expected, "shares at the post-settlement price");
        vm.prank(carol);
        assertEq(pool.claimDeposit(1), expected, "claimed");
        assertEq(pool.balanceOf(carol), expected, "carol's shares");
        assertEq(pool.balanceOf(address(pool)), 0, "none left in the pool");
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.NothingToClaim.selector, 1));
        pool.claimDeposit(1);
        // carol's shares are worth what she paid in (to rounding): she joined after the payout.
        assertApproxEq(pool.previewWithdraw(expected), 500e6, 2, "carol's value");
    }

    /// A redemption requested during an epoch bears its payout in full.
    function test_requestRedeem_paidAtTheBoundaryAfterThePayout() public {
        _deposit(alice, 500e6);
        _deposit(carol, 500e6);
        pool.startEpoch();
        _buy(bob, 1000e6); // premium 2.4e6
        vm.prank(alice);
        pool.requestRedeem(500e6);
        assertEq(pool.balanceOf(alice), 0, "shares locked");
        assertEq(pool.balanceOf(address(pool)), 500e6, "held by the pool");
        pool.settle(_endAt(1400e8)); // -30 %: 200e6 paid at the cap, pool 802.4e6
        uint256 out = uint256(500e6) * (802.4e6 + 1) / (1000e6 + 1);
        assertEq(pool.reservedForRedemptions(), out, "set aside");
        assertEq(pool.poolAssets(), 802.4e6 - out, "left to carol");
        assertEq(pool.totalSupply(), 500e6, "alice's shares burnt");
        uint256 before = usdc.balanceOf(alice);
        vm.prank(alice);
        assertEq(pool.claimRedeem(1), out, "claim");
        assertEq(usdc.balanceOf(alice) - before, out, "paid");
        assertEq(pool.reservedForRedemptions(), 0, "reserve used");
        assertApproxEq(pool.previewWithdraw(500e6), out, 2, "alice and carol fare alike");
        assertEq(
            usdc.balanceOf(address(pool)),
            pool.poolAssets() + pool.reservedForClaims(),
            "books = holdings"
        );
    }

    // ------------------------------------------------------------ epochs

    function test_startEpoch_fixesPremiumFromOracleAndMintsNothing() public {
        _deposit(alice, 1000e6);
        vm.expectEmit(true, false, false, false, address(pool));
        emit EpochStarted(1, address(0), 0, 0, 0, 0);
        uint256 id = pool.startEpoch();
        assertEq(id, 1, "epoch id");
        VaRProtection.Epoch memory e = pool.epoch(1);
        assertEq(e.saleEnd, T0 + 3600, "sale end");
        assertEq(e.end, T0 + 3600 + HORIZON, "end = sale end + report horizon");
        assertEq(e.valueAtRisk, 0.05e18, "VaR at start");
        // (1 - 0.99) * (0.25 - 0.05) * 1.2 = 0.0024
        assertEq(e.premiumPerUnit, 0.0024e18, "premium per unit");
        assertFalse(e.started, "no start price while on sale");
        assertEq(e.startPrice, int256(0), "start price unknown");
        assertTrue(pool.epochActive(), "active");
        ProtectionToken t = e.token;
        assertEq(t.pool(), address(pool), "token pool");
        assertEq(t.decimals(), 6, "token decimals");
        assertEq(t.name(), "varkeeper VaR protection #1", "token name");
        assertEq(t.totalSupply(), 0, "no tokens yet");
    }

    function test_startEpoch_revertsWhileActive() public {
        pool.startEpoch();
        vm.expectRevert(VaRProtection.EpochIsActive.selector);
        pool.startEpoch();
    }

    function test_startEpoch_revertsOnStaleReport() public {
        vm.warp(T0 + 3601);
        feed.setAnswer(2000e8);
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.StaleReport.selector, T0));
        pool.startEpoch();
    }

    function test_startEpoch_revertsWithoutReport() public {
        VaRProtection other = new VaRProtection(
            address(oracle),
            PID + 1,
            address(feed),
            address(usdc),
            LOADING,
            FLOOR,
            CAP,
            3600,
            3600,
            3600
        );
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.NoReport.selector, PID + 1));
        other.startEpoch();
    }

    /// The feed is not read at sale open (the start price comes after the sale): a sale opened
    /// on a feed that then gives no price starts no coverage and ends in a refund.
    function test_startEpoch_doesNotReadTheFeed() public {
        feed.setRoundData(10, 0, T0 - 7200, T0 - 7200, 10); // dead: no positive, fresh price
        assertEq(pool.startEpoch(), 1, "the sale opens");
        vm.warp(T0 + 3600 + 3601);
        pool.refundEpoch();
        assertFalse(pool.epochActive(), "refunded");
    }

    function test_premiumPerUnitFor_floorAndFullCap() public view {
        // (1 - 0.99) * (0.07 - 0.05) * 1.2 = 0.00024 < floor 0.001
        assertEq(pool.premiumPerUnitFor(0.99e18, 0.05e18, 0.07e18), FLOOR, "floor");
        assertEq(pool.premiumPerUnitFor(0.95e18, 0.1e18, 0.5e18), 0.024e18, "0.05 * 0.4 * 1.2");
        assertEq(pool.premiumPerUnitFor(1, 0, 1e18), 1e18, "capped at 100 %");
    }

    function test_buyProtection_mintsTokensForPremium() public {
        _deposit(alice, 1000e6);
        pool.startEpoch();
        uint256 before = usdc.balanceOf(bob);
        assertEq(pool.quote(1000e6), 2.4e6, "quote");
        uint256 premium = _buy(bob, 1000e6);
        assertEq(premium, 2.4e6, "premium = 1000 * 0.0024");
        assertEq(before - usdc.balanceOf(bob), 2.4e6, "paid");
        assertEq(pool.poolAssets(), 1002.4e6, "premium joins the pool");
        assertEq(pool.epoch(1).token.balanceOf(bob), 1000e6, "tokens");
        assertEq(pool.maxObligation(), 200e6, "obligation at the cap");
    }

    function test_buyProtection_roundsPremiumUp() public {
        _deposit(alice, 1000e6);
        pool.startEpoch();
        assertEq(_buy(bob, 1), 1, "ceil(1 * 0.0024) = 1");
    }

    function test_buyProtection_revertsWithoutEpoch() public {
        vm.expectRevert(VaRProtection.NoActiveEpoch.selector);
        _buy(bob, 1);
    }

    function test_buyProtection_revertsOnZero() public {
        pool.startEpoch();
        vm.expectRevert(VaRProtection.ZeroAmount.selector);
        _buy(bob, 0);
    }

    function test_buyProtection_revertsAfterSaleWindow() public {
        _deposit(alice, 1000e6);
        pool.startEpoch();
        vm.warp(T0 + 3600);
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.SaleClosed.selector, T0 + 3600));
        _buy(bob, 1e6);
    }

    function test_buyProtection_revertsAbovePremiumLimit() public {
        _deposit(alice, 1000e6);
        pool.startEpoch();
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(VaRProtection.PremiumTooHigh.selector, 2.4e6, 2.4e6 - 1)
        );
        pool.buyProtection(1000e6, 2.4e6 - 1);
    }

    function test_buyProtection_neverSellsBeyondCapacity() public {
        _deposit(alice, 1000e6);
        pool.startEpoch();
        // Capacity: notional * 0.2 ≤ 1000e6 + notional * 0.0024 → notional ≤ 5060.7e6
        _buy(bob, 5060e6);
        uint256 assets = pool.poolAssets();
        uint256 premium = pool.quote(1e6);
        vm.expectRevert(
            abi.encodeWithSelector(
                VaRProtection.InsufficientCapacity.selector, 5061e6 * 2 / 10, assets + premium
            )
        );
        _buy(carol, 1e6);
    }

    // ------------------------------------------------------------ settlement

    function test_settle_paysExcessLossCappedPerUnit() public {
        _deposit(alice, 1000e6);
        pool.startEpoch();
        _buy(bob, 1000e6);
        uint80 round = _endAt(1400e8); // -30 %: excess 25 % capped at 20 %
        vm.expectEmit(true, false, false, true, address(pool));
        emit EpochSettled(1, 1400e8, 0.3e18, 0.2e18, 200e6);
        pool.settle(round);
        assertFalse(pool.epochActive(), "closed");
        assertEq(pool.reservedForClaims(), 200e6, "reserved");
        assertEq(pool.poolAssets(), 802.4e6, "underwriters keep premium, pay loss");
        vm.prank(bob);
        assertEq(pool.claim(1, 1000e6), 200e6, "claim");
        assertEq(pool.reservedForClaims(), 0, "reserve used");
    }

    function test_settle_paysLossBeyondVaR() public {
        _deposit(alice, 1000e6);
        pool.startEpoch();
        _buy(bob, 1000e6);
        uint80 round = _endAt(1800e8); // -10 %: excess over 5 % VaR = 5 %
        pool.settle(round);
        assertEq(pool.epoch(1).payoutPerUnit, 0.05e18, "per unit");
        assertEq(pool.reservedForClaims(), 50e6, "reserved");
    }

    function test_settle_premiumsStayWithUnderwritersWithinVaR() public {
        _deposit(alice, 1000e6);
        pool.startEpoch();
        _buy(bob, 1000e6);
        uint80 round = _endAt(1920e8); // -4 % < 5 % VaR
        pool.settle(round);
        assertEq(pool.epoch(1).payoutPerUnit, 0, "no payout");
        assertEq(pool.poolAssets(), 1002.4e6, "premium earned");
        vm.prank(alice);
        // shares * (assets + 1) / (supply + 1) = 1000e6 * 1002.4e6+1 / 1000e6+1, rounded down
        assertEq(pool.withdraw(1000e6), uint256(1000e6) * (1002.4e6 + 1) / (1000e6 + 1), "all");
    }

    function test_settle_gainPaysNothing() public {
        _deposit(alice, 1000e6);
        pool.startEpoch();
        _buy(bob, 1000e6);
        pool.settle(_endAt(2500e8));
        assertEq(pool.epoch(1).payoutPerUnit, 0, "no payout");
    }

    function test_settle_revertsWithoutEpoch() public {
        vm.expectRevert(VaRProtection.NoActiveEpoch.selector);
        pool.settle(1);
    }

    function test_settle_revertsBeforeEndOrWithoutStartPrice() public {
        pool.startEpoch();
        uint256 end = T0 + 3600 + HORIZON;
        vm.warp(end - 1);
        feed.setAnswer(1000e8);
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.EpochNotOver.selector, end));
        pool.settle(2);
        vm.warp(end);
        feed.setAnswer(1000e8);
        vm.expectRevert(VaRProtection.CoverageNotStarted.selector);
        pool.settle(3);
    }

    // ------------------------------------------------------------ coverage start

    /// The start price is the first positive round stamped at or after the sale close: not the
    /// price at sale open, not one before the close, not a later one the caller prefers.
    function test_startCoverage_takesTheFirstRoundAtOrAfterTheSaleClose() public {
        _deposit(alice, 1000e6);
        pool.startEpoch(); // round 1 at T0
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.SaleNotOver.selector, T0 + 3600));
        pool.startCoverage();
        vm.warp(T0 + 3599);
        feed.setAnswer(1500e8); // round 2: before the close
        vm.warp(T0 + 3600);
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.NoPriceAfterSale.selector, T0 + 3600));
        pool.startCoverage();
        vm.warp(T0 + 3610);
        feed.setAnswer(0); // round 3: not a price
        vm.warp(T0 + 3620);
        feed.setAnswer(1600e8); // round 4: the start price
        vm.warp(T0 + 3630);
        feed.setAnswer(1700e8); // round 5: later
        for (uint80 r = 2; r <= 5; ++r) {
            if (r == 4) continue;
            vm.expectRevert();
            pool.startCoverage(r);
        }
        assertEq(pool.findStartRound(), 4, "search");
        vm.expectEmit(true, false, false, true, address(pool));
        emit CoverageStarted(1, 4, 1600e8);
        pool.startCoverage();
        assertEq(pool.epoch(1).startPrice, int256(1600e8), "start price");
        assertEq(pool.epoch(1).startPriceRound, 4, "start round");
        vm.expectRevert(VaRProtection.CoverageAlreadyStarted.selector);
        pool.startCoverage(4);
        vm.expectRevert(VaRProtection.CoverageAlreadyStarted.selector);
        pool.startCoverage();
    }

    /// A feed with no price within maxPriceAge of the sale close starts no coverage: once
    /// that deadline passes, the premiums are refunded and the pool unlocked.
    function test_refundEpoch_whenNoStartPriceArrivesInTime() public {
        _deposit(alice, 1000e6);
        pool.startEpoch();
        _buy(bob, 1000e6);
        uint256 deadline = T0 + 3600 + 3600;
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.GracePeriodNotOver.selector, deadline));
        pool.refundEpoch();
        vm.warp(deadline + 1);
        feed.setAnswer(1000e8); // too late to be a start price
        vm.expectRevert(
            abi.encodeWithSelector(VaRProtection.NoStartPrice.selector, T0 + 3600, deadline)
        );
        pool.startCoverage();
        pool.refundEpoch();
        assertFalse(pool.epochActive(), "unlocked");
        vm.prank(bob);
        assertEq(pool.claim(1, 1000e6), 2.4e6, "premium back");
        assertEq(pool.poolAssets(), 1000e6, "the pool as before");
    }

    function test_refundEpoch_refusedWhileAStartRoundExists() public {
        pool.startEpoch();
        vm.warp(T0 + 3600 + 10);
        feed.setAnswer(2000e8); // round 2
        vm.warp(T0 + 3600 + 3601);
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.StartAvailable.selector, 2));
        pool.refundEpoch();
    }

    function test_settle_refusesAnyRoundButTheFirstAtOrAfterEnd() public {
        pool.startEpoch();
        _cover(2000e8); // start price round 2
        uint256 end = T0 + 3600 + HORIZON;
        vm.warp(end - 10);
        feed.setAnswer(1500e8); // round 3, before end
        vm.warp(end + 5);
        feed.setAnswer(1900e8); // round 4: first at/after end
        vm.warp(end + 50);
        feed.setAnswer(1000e8); // round 5: later
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.WrongSettlementRound.selector, 2));
        pool.settle(2);
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.WrongSettlementRound.selector, 3));
        pool.settle(3);
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.WrongSettlementRound.selector, 5));
        pool.settle(5);
        pool.settle(4);
        assertEq(pool.epoch(1).payoutPerUnit, 0, "-5 % is within VaR");
    }

    function test_settleWithoutArgument_findsTheFirstRoundAtOrAfterEnd() public {
        _deposit(alice, 1000e6);
        pool.startEpoch(); // round 1
        _buy(bob, 1000e6);
        uint256 end = T0 + 3600 + HORIZON;
        vm.warp(T0 + 3600);
        feed.setAnswer(2000e8); // round 2: the start price, not yet fixed
        vm.warp(end - 10);
        feed.setAnswer(1500e8); // round 3, before end
        vm.warp(end + 5);
        feed.setAnswer(1800e8); // round 4: the settlement price (-10 %)
        vm.warp(end + 50);
        feed.setAnswer(1000e8); // round 5
        assertEq(pool.findStartRound(), 2, "start round");
        pool.settle(); // fixes the start price, then settles
        assertEq(pool.epoch(1).startPriceRound, 2, "started at round 2");
        assertEq(pool.epoch(1).payoutPerUnit, 0.05e18, "settled at round 4");
    }

    function test_settleWithoutArgument_revertsWithoutPriceAfterEndOrTooFarBack() public {
        vm.expectRevert(VaRProtection.NoActiveEpoch.selector);
        pool.findSettlementRound();
        pool.startEpoch();
        _cover(2000e8); // round 2
        uint256 end = T0 + 3600 + HORIZON;
        vm.warp(end);
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.NoPriceAfterEnd.selector, end));
        pool.settle();
        for (uint256 i; i < 65; ++i) {
            vm.warp(block.timestamp + 1);
            feed.setAnswer(2000e8);
        }
        vm.expectRevert(VaRProtection.SettlementRoundNotFound.selector);
        pool.settle();
        pool.settle(3); // the explicit form still works
        assertFalse(pool.epochActive(), "settled");
    }

    function test_settle_revertsOnNonPositiveEndPrice() public {
        pool.startEpoch();
        uint80 round = _endAt(0);
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.InvalidPrice.selector, int256(0)));
        pool.settle(round);
    }

    function test_settle_allowsNextEpoch() public {
        _deposit(alice, 1000e6);
        pool.startEpoch();
        pool.settle(_endAt(2000e8));
        _publish(0.05e18, 0.25e18, HORIZON);
        assertEq(pool.startEpoch(), 2, "second epoch");
        assertTrue(address(pool.epoch(2).token) != address(pool.epoch(1).token), "new token");
    }

    // ------------------------------------------------------------ claims

    function test_claim_paysAnyHolderOfTransferredTokens() public {
        _deposit(alice, 1000e6);
        pool.startEpoch();
        _buy(bob, 1000e6);
        ProtectionToken t = pool.epoch(1).token;
        vm.prank(bob);
        t.transfer(carol, 400e6);
        pool.settle(_endAt(1800e8));
        uint256 before = usdc.balanceOf(carol);
        vm.prank(carol);
        assertEq(pool.claim(1, 400e6), 20e6, "400 * 5 %");
        assertEq(usdc.balanceOf(carol) - before, 20e6, "paid");
        assertEq(t.balanceOf(carol), 0, "burnt");
        vm.prank(bob);
        assertEq(pool.claim(1, 600e6), 30e6, "600 * 5 %");
    }

    function test_claim_revertsBeforeSettlement() public {
        pool.startEpoch();
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.NotSettled.selector, 1));
        pool.claim(1, 1);
    }

    function test_claim_revertsOnZeroOrNothingDue() public {
        _deposit(alice, 1000e6);
        pool.startEpoch();
        _buy(bob, 1000e6);
        pool.settle(_endAt(2000e8));
        vm.startPrank(bob);
        vm.expectRevert(VaRProtection.ZeroAmount.selector);
        pool.claim(1, 0);
        vm.expectRevert(abi.encodeWithSelector(VaRProtection.NothingToClaim.selector, 1));
        pool.claim(1, 1000e6);
        vm.stopPrank();
    }

    function test_claim_revertsBeyondHolding() public {
        _deposit(alice, 1000e6);
        pool.startEpoch();
        _buy(bob, 1000e6);
        pool.settle(_endAt(1800e8));
        vm.prank(carol);
        vm.expectRevert(); // ERC20InsufficientBalance from the token's burn
        pool.claim(1, 1e6);
    }

    function test_protectionToken_onlyPoolMintsAndBurns() public {
        pool.startEpoch();
        ProtectionToken t = pool.epoch(1).token;
        assertEq(t.pool(), address(pool), "token pool");
        vm.expectRevert(ProtectionToken.OnlyPool.selector);
        t.mint(address(this), 1);
        vm.expectRevert(ProtectionToken.OnlyPool.selector);
        t.burn(bob, 1);
    }

    function test_lossFraction_closedForm() public view {
        assertEq(pool.lossFraction(2000e8, 1500e8), 0.25e18, "25 %");
        assertEq(pool.lossFraction(2000e8, 2000e8), 0, "flat");
        assertEq(pool.lossFraction(2000e8, 3000e8), 0, "gain");
        assertEq(pool.lossFraction(3, 1), 666_666_666_666_666_666, "rounds down");
    }

    // ------------------------------------------------------------ fuzz

    /// Feed rounds at random times around the epoch end: only the first round updated at or
    /// after the end settles.
    function testFuzz_settle_onlyFirstRoundAtOrAfterEnd(uint256 seed, uint80 pick) public {
        _deposit(alice, 1000e6);
        pool.startEpoch();
        _cover(2000e8); // start price is round 2 at the sale close
        uint256 end = T0 + 3600 + HORIZON;
        uint256 t = T0 + 3600;
        uint80 first;
        for (uint80 r = 3; r <= 10; ++r) {
            t += 1 + uint256(keccak256(abi.encode(seed, r))) % (HORIZON / 3);
            feed.setRoundData(r, int256(2000e8 - int256(uint256(r)) * 10e8), t, t, r);
            if (first == 0 && t >= end) first = r;
        }
        vm.warp(t > end ? t : end);
        pick = uint80(bound(pick, 0, 11));
        if (first == 0 || pick != first) {
            vm.expectRevert();
            pool.settle(pick);
        } else {
            pool.settle(pick);
            assertFalse(pool.epochActive(), "settled");
        }
    }

    function testFuzz_premium_matchesClosedForm(uint64 confidence, uint64 v, uint64 c) public {
        confidence = uint64(bound(confidence, 1, 1e18 - 1));
        c = uint64(bound(c, 0, 1e18));
        v = uint64(bound(v, 0, c));
        uint256 expected = (1e18 - uint256(confidence)) * (c - v) / 1e18 * LOADING / 1e18;
        if (expected < FLOOR) expected = FLOOR;
        if (expected > 1e18) expected = 1e18;
        assertEq(pool.premiumPerUnitFor(confidence, v, c), expected, "premium");
        // An epoch prices itself from the published report (whose confidence is 0.99).
        vm.warp(T0 + 1);
        _publish(v, c, HORIZON);
        pool.startEpoch();
        assertEq(
            pool.epoch(1).premiumPerUnit, pool.premiumPerUnitFor(0.99e18, v, c), "epoch premium"
        );
    }

    function testFuzz_settlement_paysClosedFormAndStaysSolvent(
        uint256 deposit,
        uint256 notional,
        uint256 endPrice
    ) public {
        deposit = bound(deposit, 1e6, 1e12);
        _deposit(alice, deposit);
        pool.startEpoch();
        uint256 maxNotional = deposit * 1e18 / CAP; // ignoring premiums: always sellable
        notional = bound(notional, 1, maxNotional);
        _buy(bob, notional);
        endPrice = bound(endPrice, 1, 4000e8);
        pool.settle(_endAt(int256(endPrice)));

        uint256 loss = endPrice >= 2000e8 ? 0 : (2000e8 - endPrice) * 1e18 / 2000e8;
        uint256 perUnit = loss > 0.05e18 ? loss - 0.05e18 : 0;
        if (perUnit > CAP) perUnit = CAP;
        assertEq(pool.epoch(1).payoutPerUnit, perUnit, "per unit");
        uint256 payout = notional * perUnit / 1e18;
        assertEq(pool.reservedForClaims(), payout, "reserved");
        assertGe(
            usdc.balanceOf(address(pool)), pool.poolAssets() + pool.reservedForClaims(), "solvent"
        );
        if (payout > 0) {
            uint256 before = usdc.balanceOf(bob);
            vm.prank(bob);
            pool.claim(1, notional);
            assertEq(usdc.balanceOf(bob) - before, payout, "claimed");
        }
    }
}
