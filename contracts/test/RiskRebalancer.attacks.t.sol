// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RebalancerFixture} from "./RiskRebalancer.t.sol";
import {RiskRebalancer} from "../src/RiskRebalancer.sol";
import {MockConstantProductAMM} from "../src/mocks/MockConstantProductAMM.sol";
import {RiskReport, Signature} from "../src/interfaces/IRiskOracle.sol";

/// @notice Issue 14, finding 11: each test performs the attack on RiskRebalancer. The vault
/// (10 WETH at 2000, fixture) de-risks to 30 %: 7 WETH = 14,000 USDC against a pool of
/// 1000 WETH / 2,000,000 USDC with a 0.3 % fee and a 2 % slippage bound from the feed.
/// A sandwich front-running a trade of value V by A moves the pool price by about 2A/y and
/// costs the sandwicher about 2·fee·A, so it pays only when V > fee·y (6,000 USDC here): the
/// vault's chunk is 4,000 USDC, one chunk per 10 minutes, and only keepers may call.
contract RiskRebalancerAttacksTest is RebalancerFixture {
    address internal sandwicher = address(0x5A4D);
    address internal keeper = address(0x6EE9);
    uint128 internal constant CHUNK = 4000e6;
    uint32 internal constant COOLDOWN = 600;

    function setUp() public {
        _deployVault();
        vm.startPrank(treasury);
        vault.setExecution(RiskRebalancer.Execution({maxTradeValue: CHUNK, cooldown: COOLDOWN}));
        vault.setKeeper(address(this), false); // the fixture's caller: not a keeper here
        vault.setKeeper(keeper, true);
        vm.stopPrank();
        vm.prank(sandwicher);
        weth.approve(address(amm), type(uint256).max);
        vm.prank(sandwicher);
        usdc.approve(address(amm), type(uint256).max);
    }

    /// @dev Front-run: the sandwicher sells `frontIn` WETH into the pool (its price falls);
    /// then `caller` calls rebalance (the vault sells WETH too); back-run: the sandwicher sells
    /// every USDC it got back for WETH. Returns whether the vault traded and the sandwicher's
    /// profit in WETH (negative: it paid the pool's fees for nothing).
    function _sandwich(address caller, uint256 frontIn)
        internal
        returns (bool traded, int256 profit)
    {
        weth.mint(sandwicher, frontIn);
        vm.prank(sandwicher);
        uint256 got = amm.swap(address(weth), address(usdc), frontIn, 0, sandwicher);
        vm.prank(caller);
        try vault.rebalance() {
            traded = true;
        } catch {}
        vm.prank(sandwicher);
        uint256 back = amm.swap(address(usdc), address(weth), got, 0, sandwicher);
        profit = int256(back) - int256(frontIn);
    }

    function _publishTripped(uint64 var_) internal {
        RiskReport memory r = _report(nextRound++, uint64(block.timestamp), var_, var_);
        r.breakerStatus = 1; // BREAKER_TRIPPED
        Signature[] memory s = new Signature[](1);
        s[0] = _sign(keys[0], r);
        oracle.submit(r, s);
    }

    /// Finding 11 (open caller): anyone could bundle front-run, rebalance and back-run in one
    /// transaction at no risk (5 WETH in front took about 0.017 WETH, 33 USDC, from the vault).
    /// Now only keepers may call, so the bundle is refused.
    function test_finding11_sandwichBundleByAnyone_isRefused() public {
        _publish(0.1e18, 0.15e18, 86_400);
        vm.prank(sandwicher);
        vm.expectRevert(abi.encodeWithSelector(RiskRebalancer.NotKeeper.selector, sandwicher));
        vault.rebalance();
        (bool traded, int256 profit) = _sandwich(sandwicher, 5e18);
        assertFalse(traded, "the sandwicher's own rebalance is refused");
        assertTrue(profit < 0, "front and back legs alone only pay the pool's fee");
    }

    /// Finding 11 (mempool sandwich of the keeper's transaction): for any front-run size the
    /// sandwicher loses, because the vault trades at most one chunk below fee x pool depth.
    function testFuzz_finding11_sandwichOfKeeperCall_isUnprofitable(uint256 frontIn) public {
        frontIn = bound(frontIn, 0.01e18, 100e18);
        _publish(0.1e18, 0.15e18, 86_400);
        (, int256 profit) = _sandwich(keeper, frontIn);
        assertTrue(profit <= 0, "the sandwich of the keeper's call does not pay");
    }

    /// The same with the front-run sizes that paid best against the old contract.
    function test_finding11_sandwichOfKeeperCall_bestFrontRunLoses() public {
        _publish(0.1e18, 0.15e18, 86_400);
        (bool traded, int256 profit) = _sandwich(keeper, 3e18);
        assertTrue(traded, "the keeper's chunk went through the 2 % bound");
        assertTrue(profit < 0, "and the sandwich lost money");
        (uint256 riskyLeft) = weth.balanceOf(address(vault));
        // One chunk of 4,000 USDC at the feed's 2000 = 2 WETH sold, not the whole 7.
        assertEq(10e18 - riskyLeft, 2e18, "one chunk sold");
    }

    /// Finding 11 (breaker): while the oracle reports the portfolio's breaker tripped the
    /// figures are the breaker's, not a market signal: the vault does not act on them.
    function test_finding11_rebalanceWhileBreakerTripped_isRefused() public {
        _publishTripped(0.1e18);
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(RiskRebalancer.BreakerTripped.selector, 1));
        vault.rebalance();
        assertEq(weth.balanceOf(address(vault)), 10e18, "no trade");
        // Back to normal (same figures): the vault acts.
        vm.warp(block.timestamp + 60);
        _publish(0.1e18, 0.1e18, 86_400);
        vm.prank(keeper);
        vault.rebalance();
        assertEq(weth.balanceOf(address(vault)), 8e18, "one chunk sold once normal");
    }

    /// Finding 11 (whole size at once): a vault of 50 WETH de-risking 35 WETH (70,000 USDC)
    /// moves a 1000-WETH pool by ~7 %, past any sane slippage bound, so the old all-at-once
    /// trade reverted at every call and the vault never de-risked. Chunks of 4,000 USDC with
    /// arbitrage between them complete the de-risking.
    function test_finding11_largeDeRisking_completesInChunks() public {
        weth.mint(treasury, 40e18);
        vm.prank(treasury);
        vault.deposit(address(weth), 40e18);
        _publish(0.1e18, 0.15e18, 86_400);
        uint256 calls;
        while (vault.riskyWeight() > 0.31e18 && calls < 40) {
            vm.prank(keeper);
            vault.rebalance();
            ++calls;
            // The cool-down holds the next chunk back...
            vm.prank(keeper);
            vm.expectRevert(
                abi.encodeWithSelector(
                    RiskRebalancer.CoolingDown.selector, block.timestamp + COOLDOWN
                )
            );
            vault.rebalance();
            // ...while an arbitrageur brings the pool back to the feed's 2000.
            _arbitrage();
            vm.warp(block.timestamp + COOLDOWN);
            feed.setAnswer(2000e8); // a fresh round at the same price
            _publish(0.1e18, 0.15e18, 86_400);
        }
        assertEq(calls, 18, "70,000 USDC of WETH in 4,000-USDC chunks (the last one smaller)");
        assertLe(vault.riskyWeight(), 0.31e18, "de-risked to the target");
    }

    /// @dev Buys WETH back out of the pool until its price is the feed's 2000 again.
    function _arbitrage() internal {
        uint256 r0 = amm.reserve0();
        uint256 r1 = amm.reserve1();
        // price = r1 * 1e12 / r0 (USDC 6 decimals vs WETH 18); target k / r0'^2 = 2000e-12
        uint256 k = r0 * r1;
        uint256 target0 = _sqrt(k / 2000e6 * 1e18);
        if (target0 >= r0) return;
        uint256 wantOut = r0 - target0;
        uint256 usdcIn = r1 * wantOut * 10_000 / ((r0 - wantOut) * 9970) + 1;
        usdc.mint(address(this), usdcIn);
        amm.swap(address(usdc), address(weth), usdcIn, 0, address(this));
    }

    function _sqrt(uint256 x) internal pure returns (uint256 y) {
        if (x == 0) return 0;
        y = x;
        uint256 z = (x + 1) / 2;
        while (z < y) {
            y = z;
            z = (x / z + z) / 2;
        }
    }
}
