// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {InvariantBase} from "./base/TestBase.sol";
import {MarketFixture} from "./base/MarketFixture.sol";
import {VaRProtection} from "../src/VaRProtection.sol";

/// @notice Issue 14: random price paths (with feed faults: silent stretches and non-positive
/// rounds) traded by adversarial actors who see the next price before it is published:
///  - an informed buyer who buys the whole capacity when the next move is a fall beyond VaR;
///  - an informed underwriter who leaves (withdraw when idle, requestRedeem during an epoch)
///    when the next move is a fall, and comes back when it is a rise;
///  - an honest underwriter and an uninformed buyer.
/// The handler records every feed round it writes (the path) and the books it can see, so the
/// invariants compare the contract against what the path alone says.
contract AdversarialProtectionHandler is MarketFixture {
    VaRProtection public pool;
    address internal constant HONEST_UW = address(0xB1);
    address internal constant INFORMED_UW = address(0xB2);
    address internal constant INFORMED_BUYER = address(0xB3);
    address internal constant BUYER = address(0xB4);
    uint32 internal constant HORIZON = 3600;
    uint256 internal constant SALE = 600;
    uint256 internal constant MAX_PRICE_AGE = 1200;

    struct Round {
        uint256 t;
        int256 p;
    }

    Round[] internal path;
    int256 public price = 2000e8;

    // Books as the actors see them.
    uint256 public deposited; // direct deposits + queued deposits that entered at a boundary
    uint256 public withdrawn; // direct withdrawals + redemptions set aside at a boundary
    uint256 public premiums;
    uint256 public owed; // payouts and refunds reserved at boundaries
    // Findings of the handler (all must stay 0).
    uint256 public wrongReference; // an epoch settled at a price the path does not give
    uint256 public leaverAdvantage; // WAD per share a leaver got above the stayers' value
    uint256 public stuck; // an epoch past its deadlines that could neither settle nor refund
    uint256 public overpaid; // a boundary that owed more than the pool held
    // Coverage of the run.
    uint256 public settlements;
    uint256 public refunds;
    uint256 public paidEpochs;
    uint256 public informedRedeems;

    constructor() {
        _deployMarket(2000e8);
        path.push(Round(block.timestamp, 2000e8));
        pool = new VaRProtection(
            address(oracle),
            PID,
            address(feed),
            address(usdc),
            1.2e18,
            0.001e18,
            0.25e18,
            SALE,
            3600,
            MAX_PRICE_AGE
        );
        address[4] memory all = [HONEST_UW, INFORMED_UW, INFORMED_BUYER, BUYER];
        for (uint256 i; i < 4; ++i) {
            usdc.mint(all[i], 1e15);
            vm.prank(all[i]);
            usdc.approve(address(pool), type(uint256).max);
        }
        vm.prank(HONEST_UW);
        pool.deposit(1e12);
        vm.prank(INFORMED_UW);
        pool.deposit(1e12);
        deposited = 2e12;
    }

    // ------------------------------------------------------------ the price path

    /// @dev The next price: a move of −40 % .. +40 % from the current one.
    function _next(uint256 seed) internal view returns (int256) {
        int256 bp = int256(seed % 8001) - 4000;
        int256 p = price + price * bp / 10_000;
        return p < 1e8 ? int256(1e8) : p;
    }

    function _publishPrice(int256 p) internal {
        price = p;
        feed.setAnswer(p);
        path.push(Round(block.timestamp, p));
    }

    /// Time passes and the feed moves; one call in ten the feed stays silent, one in ten it
    /// publishes a non-positive answer.
    function move(uint256 seed, uint16 dt) external {
        vm.warp(block.timestamp + bound(dt, 1, 1500));
        uint256 fault = seed % 10;
        if (fault == 0) return;
        if (fault == 1) {
            feed.setAnswer(0);
            path.push(Round(block.timestamp, 0));
            return;
        }
        _publishPrice(_next(seed / 10));
    }

    // ------------------------------------------------------------ epochs

    function open(uint64 var_, uint64 spread) external {
        if (pool.epochActive()) return;
        vm.warp(block.timestamp + 1);
        var_ = uint64(bound(var_, 0.01e18, 0.3e18));
        spread = uint64(bound(spread, 0, 0.3e18));
        _publish(var_, var_ + spread, HORIZON);
        try pool.startEpoch() {} catch {}
    }

    /// The keeper's loop: fix the start price, settle, or refund, whichever the feed allows;
    /// `jump` moves past the deadlines first (a feed that stopped).
    function advance(bool jump) external {
        if (!pool.epochActive()) return;
        VaRProtection.Epoch memory e = pool.epoch(pool.currentEpoch());
        uint256 startDeadline = _startDeadline(e);
        uint256 graceEnd = uint256(e.end) + pool.SETTLEMENT_GRACE();
        if (jump) vm.warp((e.started ? graceEnd : startDeadline) + 1);
        if (!e.started && block.timestamp >= e.saleEnd) {
            try pool.startCoverage() {} catch {}
        }
        e = pool.epoch(pool.currentEpoch());
        bool pastDeadline = e.started ? block.timestamp > graceEnd : block.timestamp > startDeadline;
        if (e.started && block.timestamp >= e.end && _close(true)) return;
        if (pastDeadline && !_close(false)) ++stuck;
    }

    /// @dev Settles (or refunds) the current epoch; books what the boundary did and checks it.
    function _close(bool settle_) internal returns (bool ok) {
        uint256 id = pool.currentEpoch();
        uint256 assets0 = pool.poolAssets();
        uint256 supply0 = pool.totalSupply();
        uint256 reserved0 = pool.reservedForClaims();
        uint256 redemptions0 = pool.reservedForRedemptions();
        uint256 pending0 = pool.pendingDeposits();
        if (settle_) {
            try pool.settle() {
                ok = true;
            } catch {}
        } else {
            try pool.refundEpoch() {
                ok = true;
            } catch {}
        }
        if (!ok) return false;
        VaRProtection.Epoch memory e = pool.epoch(id);
        uint256 o = pool.reservedForClaims() - reserved0;
        if (o > assets0) ++overpaid;
        owed += o;
        withdrawn += pool.reservedForRedemptions() - redemptions0;
        deposited += pending0 - pool.pendingDeposits();
        if (settle_) {
            ++settlements;
            if (e.payoutPerUnit > 0) ++paidEpochs;
            _checkReference(e);
        } else {
            ++refunds;
            if (e.payoutPerUnit != e.premiumPerUnit) ++wrongReference;
        }
        // A redemption requested during the epoch is paid no more per share than the shares
        // that stayed are worth after the payout.
        if (e.redeemsRequested > 0) {
            uint256 leaver = uint256(e.redeemAssets) * 1e18 / e.redeemsRequested;
            uint256 stayShares = supply0 - e.redeemsRequested;
            uint256 stayAssets = assets0 - o - e.redeemAssets;
            uint256 stay = stayShares == 0 ? leaver : (stayAssets + 1) * 1e18 / (stayShares + 1);
            if (leaver > stay && leaver - stay > leaverAdvantage) leaverAdvantage = leaver - stay;
        }
    }

    /// @dev The start price must be the first positive round of the path stamped in
    /// [saleEnd, startDeadline], the end price the first positive one in [end, end + grace],
    /// and the payout the closed form of the two.
    function _checkReference(VaRProtection.Epoch memory e) internal {
        (bool hasStart, int256 start) =
            _firstPositive(e.saleEnd, _startDeadline(e), e.startPriceRound == 0);
        (bool hasEnd, int256 end_) =
            _firstPositive(e.end, uint256(e.end) + pool.SETTLEMENT_GRACE(), false);
        if (!hasStart || !hasEnd || start != int256(e.startPrice)) {
            ++wrongReference;
            return;
        }
        uint256 loss = end_ >= start ? 0 : uint256(start - end_) * 1e18 / uint256(start);
        uint256 perUnit = loss > e.valueAtRisk ? loss - e.valueAtRisk : 0;
        if (perUnit > pool.payoutCap()) perUnit = pool.payoutCap();
        if (perUnit != e.payoutPerUnit) ++wrongReference;
    }

    function _firstPositive(uint256 from, uint256 to, bool)
        internal
        view
        returns (bool found, int256 p)
    {
        for (uint256 i; i < path.length; ++i) {
            if (path[i].t < from) continue;
            if (path[i].p <= 0) continue;
            if (path[i].t > to) return (false, 0);
            return (true, path[i].p);
        }
    }

    function _startDeadline(VaRProtection.Epoch memory e) internal view returns (uint256) {
        uint256 d = uint256(e.saleEnd) + MAX_PRICE_AGE;
        return d < e.end ? d : uint256(e.end) - 1;
    }

    // ------------------------------------------------------------ adversaries

    /// The informed buyer sees the next price: if it is a fall beyond the epoch's VaR it buys
    /// the pool's whole capacity, otherwise a little; then the price moves (during the sale).
    function informedBuy(uint256 seed) external {
        int256 next = _next(seed);
        if (pool.epochActive()) {
            VaRProtection.Epoch memory e = pool.epoch(pool.currentEpoch());
            if (block.timestamp < e.saleEnd) {
                bool fall = next < price - price * int256(uint256(e.valueAtRisk)) / 1e18;
                uint256 capacity = pool.poolAssets() * 1e18 / pool.payoutCap();
                uint256 sold = e.notional;
                uint256 notional = fall ? (capacity > sold ? capacity - sold : 0) : 1e6;
                _buy(INFORMED_BUYER, notional);
            }
        }
        vm.warp(block.timestamp + 1 + seed % 300);
        _publishPrice(next);
    }

    function buy(uint256 notional) external {
        if (!pool.epochActive()) return;
        _buy(BUYER, bound(notional, 1, 1e12));
    }

    function _buy(address who, uint256 notional) internal {
        if (notional == 0) return;
        vm.prank(who);
        try pool.buyProtection(notional, type(uint256).max) returns (uint256 p) {
            premiums += p;
        } catch {}
    }

    /// The informed underwriter sees the next price: before a fall it leaves with everything
    /// (at once when idle, by a redemption request during an epoch); before a rise it comes
    /// back with what it has. Then the price moves.
    function informedUnderwriter(uint256 seed) external {
        int256 next = _next(seed);
        uint256 shares = pool.balanceOf(INFORMED_UW);
        vm.startPrank(INFORMED_UW);
        if (next < price && shares > 0) {
            if (!pool.epochActive()) {
                try pool.withdraw(shares) returns (uint256 a) {
                    withdrawn += a;
                } catch {}
            } else {
                try pool.requestRedeem(shares) {
                    ++informedRedeems;
                } catch {}
            }
        } else if (next >= price) {
            uint256 amount = 1e12;
            if (!pool.epochActive()) {
                try pool.deposit(amount) {
                    deposited += amount;
                } catch {}
            } else {
                try pool.requestDeposit(amount) {} catch {}
            }
        }
        vm.stopPrank();
        vm.warp(block.timestamp + 1 + seed % 300);
        _publishPrice(next);
    }

    /// Everyone claims what settled epochs owe them.
    function claimAll(uint256 epochSeed) external {
        uint256 n = pool.currentEpoch();
        if (n == 0) return;
        uint256 id = bound(epochSeed, 1, n);
        VaRProtection.Epoch memory e = pool.epoch(id);
        if (!e.settled) return;
        address[2] memory buyers = [INFORMED_BUYER, BUYER];
        for (uint256 i; i < 2; ++i) {
            uint256 bal = e.token.balanceOf(buyers[i]);
            if (bal == 0) continue;
            vm.prank(buyers[i]);
            try pool.claim(id, bal) {} catch {}
        }
        vm.startPrank(INFORMED_UW);
        try pool.claimRedeem(id) {} catch {}
        try pool.claimDeposit(id) {} catch {}
        vm.stopPrank();
    }
}

contract VaRProtectionAdversarialInvariantTest is InvariantBase {
    AdversarialProtectionHandler internal handler;
    VaRProtection internal pool;

    function setUp() public {
        handler = new AdversarialProtectionHandler();
        pool = handler.pool();
        targetContract(address(handler));
        bytes4[] memory s = new bytes4[](7);
        s[0] = AdversarialProtectionHandler.move.selector;
        s[1] = AdversarialProtectionHandler.open.selector;
        s[2] = AdversarialProtectionHandler.advance.selector;
        s[3] = AdversarialProtectionHandler.informedBuy.selector;
        s[4] = AdversarialProtectionHandler.buy.selector;
        s[5] = AdversarialProtectionHandler.informedUnderwriter.selector;
        s[6] = AdversarialProtectionHandler.claimAll.selector;
        targetSelector(FuzzSelector(address(handler), s));
    }

    /// Whatever the informed actors do, every epoch pays exactly the closed form of the path's
    /// first positive round at or after the sale close and the first at or after the end: no
    /// purchase, deposit or withdrawal timing changes the reference prices (no option on
    /// information), and refunds give back exactly the premium per unit.
    function invariant_payoutIsTheFairValueOfThePathAfterTheSaleClose() public view {
        assertEq(handler.wrongReference(), 0, "an epoch paid other than the path's fair value");
    }

    /// Underwriters as a whole get exactly premiums minus payouts: the pool's assets are what
    /// they put in, minus what they took out, plus premiums, minus what epochs owed.
    function invariant_underwritersPnLIsPremiumsMinusPayouts() public view {
        assertEq(
            pool.poolAssets() + handler.withdrawn() + handler.owed(),
            handler.deposited() + handler.premiums(),
            "pool assets != deposits - withdrawals + premiums - payouts"
        );
    }

    /// The underwriter who requests a redemption after seeing a fall is paid no more per share
    /// than the shares that stayed are worth after the payout (1e-9 of rounding at most).
    function invariant_leaverBearsTheEpochsOutcome() public view {
        assertLe(handler.leaverAdvantage(), 1e9, "a leaver escaped part of the payout");
    }

    /// The pool never owes more than it holds, and holds what its books say.
    function invariant_poolNeverPaysMoreThanItsCollateral() public view {
        assertEq(handler.overpaid(), 0, "a boundary owed more than the pool's assets");
        assertGe(pool.poolAssets(), pool.maxObligation(), "assets < max obligation");
        assertEq(
            pool.collateral().balanceOf(address(pool)),
            pool.poolAssets() + pool.reservedForClaims() + pool.pendingDeposits()
                + pool.reservedForRedemptions(),
            "balance != books"
        );
    }

    /// Every epoch past its start deadline (no start price) or its grace period (no settlement
    /// price) can be settled or refunded: the pool is never locked for ever.
    function invariant_everyEpochSettlesOrRefundsWithinGrace() public view {
        assertEq(handler.stuck(), 0, "an epoch past its deadlines could not be closed");
    }
}

/// @notice The adversarial handler is not vacuous: a scripted run where both adversaries act
/// on a fall they foresee settles with a payout measured from the sale close, and the leaver
/// bears it.
contract AdversarialProtectionHandlerSanityTest is InvariantBase {
    function test_adversaries_foreseeAFallAndGainNothingFromIt() public {
        AdversarialProtectionHandler h = new AdversarialProtectionHandler();
        VaRProtection p = h.pool();
        h.open(0.05e18, 0.1e18);
        assertTrue(p.epochActive(), "sale open");
        // Seed 1000 makes the next move -30 % (bp = 1000 - 4000); the adversaries see it first.
        h.informedBuy(1000); // buys the whole capacity, then 2000 -> 1400 during the sale
        assertEq(p.epoch(1).notional, 8e12, "the whole capacity: 2e12 / 25 % cap");
        h.informedUnderwriter(1000); // requests a redemption, then 1400 -> 980
        assertEq(h.informedRedeems(), 1, "the informed underwriter tried to leave");
        h.move(40_002, 700); // flat (bp 0) after the sale close: the start price
        h.advance(false);
        assertEq(p.epoch(1).startPrice, int256(980e8), "start price after the sale close");
        h.move(2, 1500); // -40 %: 980 -> 588, during coverage
        h.move(40_002, 1500);
        h.move(40_002, 1500); // past the end
        h.advance(false);
        assertEq(h.settlements(), 1, "settled");
        // Only the fall after the sale close counts: 40 % - 5 % VaR, capped at 25 %.
        assertEq(p.epoch(1).payoutPerUnit, 0.25e18, "per unit");
        assertEq(h.wrongReference(), 0, "fair value");
        assertLe(h.leaverAdvantage(), 1e9, "the leaver bore the payout");
        uint256 out = p.epoch(1).redeemAssets;
        assertGt(out, 0, "the redemption was paid at the boundary");
        // The leaver and the honest underwriter held equal shares: equal outcomes.
        uint256 stay = p.previewWithdraw(p.balanceOf(address(0xB1)));
        assertLe(out > stay ? out - stay : stay - out, 1, "equal shares, equal outcome");
        assertLt(out, 1e12, "the leaver lost money");
    }
}
