// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {InvariantBase} from "./base/TestBase.sol";
import {MarketFixture} from "./base/MarketFixture.sol";
import {VaRProtection} from "../src/VaRProtection.sol";
import {ProtectionToken} from "../src/ProtectionToken.sol";

/// @notice Random underwriting, buying, price moves, settlements and claims by three actors.
contract ProtectionHandler is MarketFixture {
    VaRProtection public pool;
    address[3] internal actors = [address(0xA1), address(0xA2), address(0xA3)];
    uint32 internal constant HORIZON = 3600;
    uint256 public settlements;
    uint256 public paidEpochs;

    constructor() {
        _deployMarket(2000e8);
        pool = new VaRProtection(
            address(oracle),
            PID,
            address(feed),
            address(usdc),
            1.2e18,
            0.001e18,
            0.25e18,
            600,
            3600,
            3600
        );
        for (uint256 i; i < 3; ++i) {
            usdc.mint(actors[i], 1e15);
            vm.prank(actors[i]);
            usdc.approve(address(pool), type(uint256).max);
        }
    }

    function deposit(uint8 who, uint256 amount) external {
        amount = bound(amount, 1, 1e12);
        vm.prank(actors[who % 3]);
        try pool.deposit(amount) {} catch {}
    }

    function withdraw(uint8 who, uint256 fraction) external {
        address a = actors[who % 3];
        uint256 shares = pool.balanceOf(a) * bound(fraction, 0, 100) / 100;
        vm.prank(a);
        try pool.withdraw(shares) {} catch {}
    }

    function startEpoch(uint64 var_, uint64 spread) external {
        vm.warp(block.timestamp + 1);
        var_ = uint64(bound(var_, 0, 0.5e18));
        spread = uint64(bound(spread, 0, 0.5e18));
        feed.setAnswer(int256(uint256(feed.latestAnswer())));
        try this.publishAndStart(var_, var_ + spread) {} catch {}
    }

    function publishAndStart(uint64 var_, uint64 cvar_) external {
        require(msg.sender == address(this), "self only");
        _publish(var_, cvar_, HORIZON);
        pool.startEpoch();
    }

    function buy(uint8 who, uint256 notional) external {
        notional = bound(notional, 1, 1e13);
        vm.prank(actors[who % 3]);
        try pool.buyProtection(notional, type(uint256).max) {} catch {}
    }

    function movePrice(uint256 priceSeed, uint16 dt) external {
        vm.warp(block.timestamp + bound(dt, 1, 2000));
        feed.setAnswer(int256(bound(priceSeed, 1e8, 4000e8)));
    }

    function transferTokens(uint8 from, uint8 to, uint256 amount) external {
        uint256 id = pool.currentEpoch();
        if (id == 0) return;
        ProtectionToken t = pool.epoch(id).token;
        address a = actors[from % 3];
        amount = bound(amount, 0, t.balanceOf(a));
        vm.prank(a);
        t.transfer(actors[to % 3], amount);
    }

    /// Settles through the contract's own round search.
    function settleAuto() external {
        if (!pool.epochActive()) return;
        try pool.settle() {
            ++settlements;
            if (pool.epoch(pool.currentEpoch()).payoutPerUnit > 0) ++paidEpochs;
        } catch {}
    }

    /// Settles at the correct round (the first at or after the epoch end), found by search.
    function settle() external {
        if (!pool.epochActive()) return;
        VaRProtection.Epoch memory e = pool.epoch(pool.currentEpoch());
        if (!e.started) {
            try pool.startCoverage() {} catch {}
            e = pool.epoch(pool.currentEpoch());
            if (!e.started) return;
        }
        uint80 latestRound_ = feed.latestRound();
        for (uint80 r = e.startPriceRound + 1; r <= latestRound_; ++r) {
            (,,, uint256 updatedAt,) = feed.getRoundData(r);
            if (updatedAt >= e.end) {
                try pool.settle(r) {
                    ++settlements;
                    if (pool.epoch(pool.currentEpoch()).payoutPerUnit > 0) ++paidEpochs;
                } catch {}
                return;
            }
        }
    }

    function claim(uint8 who, uint256 epochSeed) external {
        uint256 n = pool.currentEpoch();
        if (n == 0) return;
        uint256 id = bound(epochSeed, 1, n);
        VaRProtection.Epoch memory e = pool.epoch(id);
        address a = actors[who % 3];
        uint256 bal = e.token.balanceOf(a);
        vm.prank(a);
        try pool.claim(id, bal) {} catch {}
    }
}

contract VaRProtectionInvariantTest is InvariantBase {
    ProtectionHandler internal handler;
    VaRProtection internal pool;

    function setUp() public {
        handler = new ProtectionHandler();
        pool = handler.pool();
        targetContract(address(handler));
        bytes4[] memory s = new bytes4[](9);
        s[0] = ProtectionHandler.deposit.selector;
        s[1] = ProtectionHandler.withdraw.selector;
        s[2] = ProtectionHandler.startEpoch.selector;
        s[3] = ProtectionHandler.buy.selector;
        s[4] = ProtectionHandler.movePrice.selector;
        s[5] = ProtectionHandler.settle.selector;
        s[6] = ProtectionHandler.claim.selector;
        s[7] = ProtectionHandler.transferTokens.selector;
        s[8] = ProtectionHandler.settleAuto.selector;
        targetSelector(FuzzSelector(address(handler), s));
    }

    /// The pool never promises more than it holds: underwriter assets cover notional x cap.
    function invariant_collateralCoversMaxObligation() public view {
        assertGe(pool.poolAssets(), pool.maxObligation(), "assets < max obligation");
    }

    /// The token balance covers what underwriters own plus what holders may still claim.
    function invariant_balanceCoversAssetsAndReservedClaims() public view {
        assertGe(
            pool.collateral().balanceOf(address(pool)),
            pool.poolAssets() + pool.reservedForClaims() + pool.pendingDeposits()
                + pool.reservedForRedemptions(),
            "balance < assets + reserved + queued"
        );
    }

    /// Every unclaimed protection token of a settled epoch can still be paid in full.
    function invariant_reserveCoversOutstandingClaims() public view {
        uint256 owed;
        for (uint256 id = 1; id <= pool.currentEpoch(); ++id) {
            VaRProtection.Epoch memory e = pool.epoch(id);
            if (!e.settled) continue;
            owed += e.token.totalSupply() * e.payoutPerUnit / 1e18;
        }
        assertGe(pool.reservedForClaims(), owed, "reserve < outstanding claims");
    }
}

/// @notice The handler is not vacuous: its actions start, sell, settle and pay epochs.
contract ProtectionHandlerSanityTest is InvariantBase {
    function test_handler_runsAPayingEpoch() public {
        ProtectionHandler h = new ProtectionHandler();
        VaRProtection p = h.pool();
        h.deposit(0, 1e12);
        h.startEpoch(0.05e18, 0.1e18);
        assertTrue(p.epochActive(), "started");
        h.buy(1, 1e12);
        assertGt(p.maxObligation(), 0, "sold");
        h.movePrice(2000e8, 2000); // after the 10 min sale: the start price
        h.movePrice(1000e8, 2000); // -50 % after the 1 h horizon
        h.movePrice(1000e8, 2000);
        h.settle();
        assertEq(h.settlements(), 1, "settled");
        assertEq(h.paidEpochs(), 1, "paid");
        uint256 reserved = p.reservedForClaims();
        assertGt(reserved, 0, "reserved");
        h.claim(1, 1);
        assertLt(p.reservedForClaims(), reserved, "claimed");
    }
}
