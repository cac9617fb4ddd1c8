// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {InvariantBase} from "./base/TestBase.sol";
import {MarketFixture} from "./base/MarketFixture.sol";
import {RiskRebalancer} from "../src/RiskRebalancer.sol";
import {MockConstantProductAMM} from "../src/mocks/MockConstantProductAMM.sol";
import {MockERC20} from "../src/mocks/MockERC20.sol";
import {AcceptedReport, RiskReport, Signature} from "../src/interfaces/IRiskOracle.sol";

/// @notice Random VaR reports (inside and outside the band, breaker normal or tripped), price
/// moves, pool trades by others, time passing, rebalance calls by the keeper (this handler), and
/// a sandwicher who front-runs the keeper's call on the pool in either direction and back-runs
/// it (issue 14, finding 11); counts any trade made while VaR was inside the band or the
/// breaker tripped, and any sandwich that paid.
contract RebalancerHandler is MarketFixture {
    RiskRebalancer public vault;
    MockConstantProductAMM public amm;
    MockERC20 public weth;
    uint64 internal constant LOWER = 0.04e18;
    uint64 internal constant UPPER = 0.08e18;

    uint256 public tradesInsideBand;
    uint256 public balanceChangesInsideBand;
    uint256 public trades;
    uint256 public tradesWhileTripped;
    uint256 public sandwiches; // sandwiches around a keeper call that traded
    uint256 public profitableSandwiches;
    int256 public bestSandwichProfit = type(int256).min; // USDC units (6 decimals)
    address internal constant SANDWICHER = address(0x5A4D);
    /// The chunk: below the pool fee x its stable reserve (0.3 % x >= 1.4M USDC over the
    /// handler's price range), so no sandwich of one chunk can pay.
    uint128 internal constant CHUNK = 3000e6;

    constructor() {
        _deployMarket(2000e8);
        weth = new MockERC20("Wrapped Ether", "WETH", 18);
        amm = new MockConstantProductAMM(address(weth), address(usdc), 30);
        weth.mint(address(this), 1_000_000e18);
        usdc.mint(address(this), 1e15);
        weth.approve(address(amm), type(uint256).max);
        usdc.approve(address(amm), type(uint256).max);
        amm.addLiquidity(1000e18, 2_000_000e6);
        vault = new RiskRebalancer(
            address(this),
            address(oracle),
            PID,
            address(weth),
            address(usdc),
            address(feed),
            address(amm)
        );
        vault.setPolicy(
            RiskRebalancer.Policy(UPPER, LOWER, 0.3e18, 0.8e18, 0.05e18, 0.01e18, 3600, 3600)
        );
        vault.setExecution(RiskRebalancer.Execution(CHUNK, 0));
        vault.setKeeper(address(this), true);
        weth.mint(SANDWICHER, 1_000_000e18);
        usdc.mint(SANDWICHER, 1e15);
        vm.prank(SANDWICHER);
        weth.approve(address(amm), type(uint256).max);
        vm.prank(SANDWICHER);
        usdc.approve(address(amm), type(uint256).max);
        weth.approve(address(vault), type(uint256).max);
        vault.deposit(address(weth), 10e18);
    }

    function publish(uint64 var_, uint8 status) external {
        vm.warp(block.timestamp + 1);
        var_ = uint64(bound(var_, 0, 0.2e18));
        RiskReport memory r = _report(nextRound++, uint64(block.timestamp), var_, var_);
        r.breakerStatus = uint8(status % 4 == 0 ? 1 : 0); // tripped one time in four
        Signature[] memory sg = new Signature[](1);
        sg[0] = _sign(keys[0], r);
        oracle.submit(r, sg);
    }

    /// The sandwicher moves the pool by `frontIn` (selling WETH, or buying it with USDC), the
    /// keeper's rebalance runs, the sandwicher trades everything back; its profit is valued at
    /// the feed price.
    function sandwich(uint256 frontIn, bool sellRisky) external {
        vm.prank(SANDWICHER);
        uint256 got;
        uint256 back;
        uint256 t0 = trades;
        if (sellRisky) {
            frontIn = bound(frontIn, 0.01e18, 200e18);
            got = amm.swap(address(weth), address(usdc), frontIn, 0, SANDWICHER);
        } else {
            frontIn = bound(frontIn, 10e6, 400_000e6);
            got = amm.swap(address(usdc), address(weth), frontIn, 0, SANDWICHER);
        }
        this.rebalance();
        vm.prank(SANDWICHER);
        if (sellRisky) {
            back = amm.swap(address(usdc), address(weth), got, 0, SANDWICHER);
        } else {
            back = amm.swap(address(weth), address(usdc), got, 0, SANDWICHER);
        }
        if (trades == t0) return; // the vault did not trade: nothing was sandwiched
        (, int256 price,,,) = feed.latestRoundData(); // USD per WETH, 8 decimals
        int256 profit = sellRisky
            ? (int256(back) - int256(frontIn)) * price / 1e20  // WETH (18) -> USDC (6)
            : int256(back) - int256(frontIn);
        ++sandwiches;
        if (profit > bestSandwichProfit) bestSandwichProfit = profit;
        if (profit > 0) ++profitableSandwiches;
    }

    /// Moves the feed and arbitrages the pool toward it (so slippage bounds can be met).
    function movePrice(uint256 price) external {
        price = bound(price, 1000e8, 3000e8);
        feed.setAnswer(int256(price));
        // pool price = r1 / r0 in USDC per ETH; trade toward price / 100 (8 → 6 decimals)
        uint256 r0 = amm.reserve0();
        uint256 r1 = amm.reserve1();
        uint256 poolPrice = r1 * 1e20 / r0; // 8-decimal USD per ETH
        if (poolPrice > price) {
            amm.swap(
                address(weth), address(usdc), r0 * (poolPrice - price) / price / 2, 0, address(this)
            );
        } else if (poolPrice < price) {
            amm.swap(
                address(usdc),
                address(weth),
                r1 * (price - poolPrice) / poolPrice / 2,
                0,
                address(this)
            );
        }
    }

    function passTime(uint16 dt) external {
        vm.warp(block.timestamp + dt);
    }

    function rebalance() external {
        bool inside;
        bool tripped;
        try oracle.latest(PID) returns (AcceptedReport memory r) {
            inside = r.valueAtRisk >= LOWER && r.valueAtRisk <= UPPER;
            tripped = r.breakerStatus == 1;
        } catch {}
        uint256 w0 = weth.balanceOf(address(vault));
        uint256 u0 = usdc.balanceOf(address(vault));
        try vault.rebalance() {
            ++trades;
            if (inside) ++tradesInsideBand;
            if (tripped) ++tradesWhileTripped;
        } catch {}
        if (
            inside && (weth.balanceOf(address(vault)) != w0 || usdc.balanceOf(address(vault)) != u0)
        ) {
            ++balanceChangesInsideBand;
        }
    }
}

contract RiskRebalancerInvariantTest is InvariantBase {
    RebalancerHandler internal handler;

    function setUp() public {
        handler = new RebalancerHandler();
        targetContract(address(handler));
        bytes4[] memory s = new bytes4[](5);
        s[0] = RebalancerHandler.publish.selector;
        s[1] = RebalancerHandler.movePrice.selector;
        s[2] = RebalancerHandler.passTime.selector;
        s[3] = RebalancerHandler.rebalance.selector;
        s[4] = RebalancerHandler.sandwich.selector;
        targetSelector(FuzzSelector(address(handler), s));
    }

    function invariant_neverTradesWhileVaRInsideBand() public view {
        assertEq(handler.tradesInsideBand(), 0, "traded inside the band");
        assertEq(handler.balanceChangesInsideBand(), 0, "balances moved inside the band");
    }

    function invariant_neverTradesWhileBreakerTripped() public view {
        assertEq(handler.tradesWhileTripped(), 0, "traded under a tripped breaker");
    }

    function invariant_sandwicherNeverProfits() public view {
        assertEq(handler.profitableSandwiches(), 0, "a sandwich of the keeper's call paid");
    }
}

/// @notice The handler is not vacuous: outside the band it trades, inside it does not.
contract RebalancerHandlerSanityTest is InvariantBase {
    function test_handler_tradesOnlyOutsideBand() public {
        RebalancerHandler h = new RebalancerHandler();
        h.publish(0.06e18, 1);
        h.rebalance();
        assertEq(h.trades(), 0, "inside: no trade");
        h.publish(0.1e18, 0); // above, but the breaker is tripped
        h.rebalance();
        assertEq(h.trades(), 0, "tripped: no trade");
        h.publish(0.1e18, 1);
        h.rebalance();
        assertEq(h.trades(), 1, "above: de-risked one chunk");
        h.sandwich(5e18, true); // sell WETH ahead of the vault's sale
        assertEq(h.trades(), 2, "the sandwiched call traded another chunk");
        assertEq(h.sandwiches(), 1, "a sandwich happened");
        assertTrue(h.bestSandwichProfit() < 0, "and lost money");
        h.movePrice(1500e8);
        h.publish(0.01e18, 1);
        h.rebalance();
        assertEq(h.trades(), 3, "below: re-risked");
    }
}
