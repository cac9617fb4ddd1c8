// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {InvariantBase} from "./base/TestBase.sol";
import {MarketFixture} from "./base/MarketFixture.sol";
import {RiskRebalancer} from "../src/RiskRebalancer.sol";
import {MockConstantProductAMM} from "../src/mocks/MockConstantProductAMM.sol";
import {MockERC20} from "../src/mocks/MockERC20.sol";
import {AcceptedReport} from "../src/interfaces/IRiskOracle.sol";

/// @notice Random VaR reports (inside and outside the band), price moves, pool trades by others,
/// time passing, and rebalance calls; counts any trade made while VaR was inside the band.
contract RebalancerHandler is MarketFixture {
    RiskRebalancer public vault;
    MockConstantProductAMM public amm;
    MockERC20 public weth;
    uint64 internal constant LOWER = 0.04e18;
    uint64 internal constant UPPER = 0.08e18;

    uint256 public tradesInsideBand;
    uint256 public balanceChangesInsideBand;
    uint256 public trades;

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
        vault.setExecution(RiskRebalancer.Execution(type(uint128).max, 0));
        vault.setKeeper(address(this), true);
        weth.approve(address(vault), type(uint256).max);
        vault.deposit(address(weth), 10e18);
    }

    function publish(uint64 var_) external {
        vm.warp(block.timestamp + 1);
        var_ = uint64(bound(var_, 0, 0.2e18));
        _publish(var_, var_, 86_400);
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
        try oracle.latest(PID) returns (AcceptedReport memory r) {
            inside = r.valueAtRisk >= LOWER && r.valueAtRisk <= UPPER;
        } catch {}
        uint256 w0 = weth.balanceOf(address(vault));
        uint256 u0 = usdc.balanceOf(address(vault));
        try vault.rebalance() {
            ++trades;
            if (inside) ++tradesInsideBand;
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
        bytes4[] memory s = new bytes4[](4);
        s[0] = RebalancerHandler.publish.selector;
        s[1] = RebalancerHandler.movePrice.selector;
        s[2] = RebalancerHandler.passTime.selector;
        s[3] = RebalancerHandler.rebalance.selector;
        targetSelector(FuzzSelector(address(handler), s));
    }

    function invariant_neverTradesWhileVaRInsideBand() public view {
        assertEq(handler.tradesInsideBand(), 0, "traded inside the band");
        assertEq(handler.balanceChangesInsideBand(), 0, "balances moved inside the band");
    }
}

/// @notice The handler is not vacuous: outside the band it trades, inside it does not.
contract RebalancerHandlerSanityTest is InvariantBase {
    function test_handler_tradesOnlyOutsideBand() public {
        RebalancerHandler h = new RebalancerHandler();
        h.publish(0.06e18);
        h.rebalance();
        assertEq(h.trades(), 0, "inside: no trade");
        h.publish(0.1e18);
        h.rebalance();
        assertEq(h.trades(), 1, "above: de-risked");
        h.movePrice(1500e8);
        h.publish(0.01e18);
        h.rebalance();
        assertEq(h.trades(), 2, "below: re-risked");
    }
}
