// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {MarketFixture} from "./base/MarketFixture.sol";
import {RiskRebalancer} from "../src/RiskRebalancer.sol";
import {RiskOracle} from "../src/RiskOracle.sol";
import {IAmmAdapter} from "../src/interfaces/IAmmAdapter.sol";
import {MockConstantProductAMM} from "../src/mocks/MockConstantProductAMM.sol";
import {MockERC20} from "../src/mocks/MockERC20.sol";

/// @dev An adapter that takes the input and returns less than the minimum without reverting:
/// the vault must notice by its own balance.
contract ShortchangingAdapter is IAmmAdapter {
    function swap(address tokenIn, address tokenOut, uint256 amountIn, uint256 minOut, address to)
        external
        returns (uint256)
    {
        IERC20(tokenIn).transferFrom(msg.sender, address(this), amountIn);
        MockERC20(tokenOut).mint(to, minOut - 1);
        return minOut; // lies
    }
}

abstract contract RebalancerFixture is MarketFixture {
    RiskRebalancer internal vault;
    MockConstantProductAMM internal amm;
    MockERC20 internal weth;
    address internal treasury = address(0x7EA5);

    function _deployVault() internal {
        _deployMarket(2000e8);
        weth = new MockERC20("Wrapped Ether", "WETH", 18);
        amm = new MockConstantProductAMM(address(weth), address(usdc), 30);
        weth.mint(address(this), 1000e18);
        usdc.mint(address(this), 2_000_000e6);
        weth.approve(address(amm), type(uint256).max);
        usdc.approve(address(amm), type(uint256).max);
        amm.addLiquidity(1000e18, 2_000_000e6);
        vault = new RiskRebalancer(
            treasury,
            address(oracle),
            PID,
            address(weth),
            address(usdc),
            address(feed),
            address(amm)
        );
        vm.startPrank(treasury);
        vault.setPolicy(_policy());
        vault.setMarginPolicy(RiskRebalancer.MarginPolicy(1.1e18, 3e18, 5e18));
        // Whole trades at once and no cool-down (the chunked, keeper-only rules have their own
        // tests in RiskRebalancer.attacks.t.sol); this test contract is the keeper.
        vault.setExecution(RiskRebalancer.Execution(type(uint128).max, 0));
        vault.setKeeper(address(this), true);
        vm.stopPrank();
        weth.mint(treasury, 10e18);
        vm.startPrank(treasury);
        weth.approve(address(vault), type(uint256).max);
        usdc.approve(address(vault), type(uint256).max);
        vault.deposit(address(weth), 10e18);
        vm.stopPrank();
    }

    function _policy() internal pure returns (RiskRebalancer.Policy memory) {
        return RiskRebalancer.Policy({
            upperVaR: 0.08e18,
            lowerVaR: 0.04e18,
            riskOffWeight: 0.3e18,
            normalWeight: 0.8e18,
            maxSlippage: 0.02e18,
            weightTolerance: 0.01e18,
            maxReportAge: 3600,
            maxPriceAge: 3600
        });
    }

    /// @dev Uniswap v2 getAmountOut (whitepaper §3.2.1) with a 0.3 % fee, written out here.
    function _v2Out(uint256 amountIn, uint256 reserveIn, uint256 reserveOut)
        internal
        pure
        returns (uint256)
    {
        uint256 inWithFee = amountIn * 997;
        return inWithFee * reserveOut / (reserveIn * 1000 + inWithFee);
    }
}

contract RiskRebalancerTest is RebalancerFixture {
    event Rebalanced(
        bool indexed derisk,
        uint64 valueAtRisk,
        uint256 amountIn,
        uint256 amountOut,
        uint256 weightBefore,
        uint256 targetWeight
    );

    function setUp() public {
        _deployVault();
    }

    // ------------------------------------------------------------ construction and owner

    function test_constructor_storesAddresses() public view {
        assertEq(vault.owner(), treasury, "owner");
        assertEq(address(vault.oracle()), address(oracle), "oracle");
        assertEq(vault.portfolioId(), PID, "portfolio");
        assertEq(address(vault.risky()), address(weth), "risky");
        assertEq(address(vault.stable()), address(usdc), "stable");
        assertEq(address(vault.priceFeed()), address(feed), "feed");
        assertEq(address(vault.amm()), address(amm), "amm");
    }

    function test_constructor_refusesZeroOrSameTokens() public {
        address o = address(oracle);
        address w = address(weth);
        address u = address(usdc);
        address f = address(feed);
        address a = address(amm);
        vm.expectRevert(RiskRebalancer.ZeroAddress.selector);
        new RiskRebalancer(treasury, address(0), PID, w, u, f, a);
        vm.expectRevert(RiskRebalancer.ZeroAddress.selector);
        new RiskRebalancer(treasury, o, PID, address(0), u, f, a);
        vm.expectRevert(RiskRebalancer.ZeroAddress.selector);
        new RiskRebalancer(treasury, o, PID, w, address(0), f, a);
        vm.expectRevert(RiskRebalancer.ZeroAddress.selector);
        new RiskRebalancer(treasury, o, PID, w, u, address(0), a);
        vm.expectRevert(RiskRebalancer.ZeroAddress.selector);
        new RiskRebalancer(treasury, o, PID, w, u, f, address(0));
        vm.expectRevert(RiskRebalancer.ZeroAddress.selector);
        new RiskRebalancer(treasury, o, PID, w, w, f, a);
    }

    function test_setPolicy_storesAndRefusesInvalid() public {
        RiskRebalancer.Policy memory p = _policy();
        p.upperVaR = 0.1e18;
        vm.prank(treasury);
        vault.setPolicy(p);
        (uint64 upper,,,,,,,) = vault.policy();
        assertEq(upper, 0.1e18, "upper");

        RiskRebalancer.Policy[8] memory bad;
        for (uint256 i; i < 8; ++i) {
            bad[i] = _policy();
        }
        bad[0].lowerVaR = 0.09e18; // lower > upper
        bad[1].upperVaR = 1e18 + 1;
        bad[1].lowerVaR = 0;
        bad[2].riskOffWeight = 0.9e18; // risk-off above normal
        bad[3].normalWeight = 1e18 + 1;
        bad[4].maxSlippage = 0.1e18 + 1; // above MAX_SLIPPAGE
        bad[5].maxReportAge = 0;
        bad[6].maxPriceAge = 0;
        bad[7].weightTolerance = 1e18;
        for (uint256 i; i < 8; ++i) {
            vm.prank(treasury);
            vm.expectRevert(RiskRebalancer.InvalidPolicy.selector);
            vault.setPolicy(bad[i]);
        }
    }

    function test_setPolicy_onlyOwner() public {
        RiskRebalancer.Policy memory p = _policy();
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this))
        );
        vault.setPolicy(p);
    }

    function test_setExecutionAndKeeper_ownerOnlyAndValidated() public {
        vm.startPrank(treasury);
        vault.setExecution(RiskRebalancer.Execution(5000e6, 600));
        (uint128 chunk, uint32 cooldown) = vault.execution();
        assertEq(chunk, 5000e6, "chunk");
        assertEq(cooldown, 600, "cool-down");
        vm.expectRevert(RiskRebalancer.InvalidPolicy.selector);
        vault.setExecution(RiskRebalancer.Execution(0, 600));
        vault.setKeeper(address(0xB0B), true);
        assertTrue(vault.isKeeper(address(0xB0B)), "allowed");
        vault.setKeeper(address(0xB0B), false);
        assertFalse(vault.isKeeper(address(0xB0B)), "disallowed again");
        vm.expectRevert(RiskRebalancer.ZeroAddress.selector);
        vault.setKeeper(address(0), true);
        vm.stopPrank();
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this))
        );
        vault.setExecution(RiskRebalancer.Execution(5000e6, 600));
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this))
        );
        vault.setKeeper(address(this), true);
    }

    function test_setMarginPolicy_storesAndRefusesInvalid() public {
        vm.startPrank(treasury);
        vault.setMarginPolicy(RiskRebalancer.MarginPolicy(1.2e18, 2e18, 4e18));
        (uint64 floorRatio, uint64 capRatio, uint64 mult) = vault.marginPolicy();
        assertEq(floorRatio, 1.2e18, "floor");
        assertEq(capRatio, 2e18, "cap");
        assertEq(mult, 4e18, "multiplier");
        vm.expectRevert(RiskRebalancer.InvalidPolicy.selector);
        vault.setMarginPolicy(RiskRebalancer.MarginPolicy(0.9e18, 2e18, 4e18));
        vm.expectRevert(RiskRebalancer.InvalidPolicy.selector);
        vault.setMarginPolicy(RiskRebalancer.MarginPolicy(1.2e18, 1.1e18, 4e18));
        vm.stopPrank();
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this))
        );
        vault.setMarginPolicy(RiskRebalancer.MarginPolicy(1.2e18, 2e18, 4e18));
    }

    function test_depositWithdraw_ownerOnlyKnownTokens() public {
        usdc.mint(treasury, 100e6);
        vm.startPrank(treasury);
        vault.deposit(address(usdc), 100e6);
        assertEq(usdc.balanceOf(address(vault)), 100e6, "deposited");
        vault.withdraw(address(usdc), 40e6, address(0xCAFE));
        assertEq(usdc.balanceOf(address(0xCAFE)), 40e6, "withdrawn");
        vm.expectRevert(abi.encodeWithSelector(RiskRebalancer.UnknownToken.selector, address(feed)));
        vault.deposit(address(feed), 1);
        vm.expectRevert(abi.encodeWithSelector(RiskRebalancer.UnknownToken.selector, address(feed)));
        vault.withdraw(address(feed), 1, treasury);
        vm.expectRevert(RiskRebalancer.ZeroAddress.selector);
        vault.withdraw(address(usdc), 1, address(0));
        vm.stopPrank();
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this))
        );
        vault.withdraw(address(usdc), 1, address(this));
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this))
        );
        vault.deposit(address(usdc), 1);
    }

    // ------------------------------------------------------------ rebalance

    function test_rebalance_derisksTowardRiskOffWeight() public {
        _publish(0.1e18, 0.15e18, 86_400);
        // 10 ETH at 2000 = 20,000 USDC, target 30 % → sell 14,000 USDC worth = 7 ETH.
        uint256 expectedOut = _v2Out(7e18, 1000e18, 2_000_000e6);
        vm.expectEmit(true, false, false, true, address(vault));
        emit Rebalanced(true, 0.1e18, 7e18, expectedOut, 1e18, 0.3e18);
        (uint256 amountIn, uint256 amountOut) = vault.rebalance();
        assertEq(amountIn, 7e18, "sold");
        assertEq(amountOut, expectedOut, "bought at the pool's x*y=k price");
        assertEq(weth.balanceOf(address(vault)), 3e18, "risky left");
        assertEq(usdc.balanceOf(address(vault)), expectedOut, "stable received");
        uint256 w = vault.riskyWeight();
        assertGe(w, 0.3e18, "weight at least target (fees lower the stable leg)");
        assertLe(w, 0.31e18, "weight near target");
    }

    function test_rebalance_rerisksBelowLowerThreshold() public {
        _publish(0.1e18, 0.15e18, 86_400);
        vault.rebalance();
        vm.warp(T0 + 60);
        _publish(0.03e18, 0.05e18, 86_400);
        uint256 riskyBefore = weth.balanceOf(address(vault));
        (uint256 amountIn, uint256 amountOut) = vault.rebalance();
        assertGt(amountIn, 0, "spent stable");
        assertEq(weth.balanceOf(address(vault)) - riskyBefore, amountOut, "bought risky");
        uint256 w = vault.riskyWeight();
        // Bought at the pool price, which the de-risking trade left below the feed's: the
        // weight lands slightly above 80 %.
        assertGe(w, 0.79e18, "near normal weight");
        assertLe(w, 0.81e18, "near normal weight (above)");
    }

    function test_rebalance_revertsInsideBand() public {
        _publish(0.06e18, 0.08e18, 86_400);
        vm.expectRevert(
            abi.encodeWithSelector(RiskRebalancer.InsideBand.selector, 0.06e18, 0.04e18, 0.08e18)
        );
        vault.rebalance();
        vm.warp(T0 + 60);
        _publish(0.08e18, 0.08e18, 86_400); // the thresholds themselves are inside the band
        vm.expectRevert(
            abi.encodeWithSelector(RiskRebalancer.InsideBand.selector, 0.08e18, 0.04e18, 0.08e18)
        );
        vault.rebalance();
    }

    function test_rebalance_revertsWhenAlreadyAtTarget() public {
        _publish(0.1e18, 0.15e18, 86_400);
        vault.rebalance();
        uint256 w = vault.riskyWeight();
        vm.expectRevert(abi.encodeWithSelector(RiskRebalancer.AlreadyAtTarget.selector, w, 0.3e18));
        vault.rebalance();
    }

    function test_rebalance_revertsOnStaleReport() public {
        _publish(0.1e18, 0.15e18, 86_400);
        vm.warp(T0 + 3601);
        feed.setAnswer(2000e8);
        vm.expectRevert(abi.encodeWithSelector(RiskRebalancer.StaleReport.selector, T0));
        vault.rebalance();
    }

    function test_rebalance_revertsWithoutReportOrPolicy() public {
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.NoReport.selector, PID));
        vault.rebalance();
        RiskRebalancer fresh = new RiskRebalancer(
            treasury,
            address(oracle),
            PID,
            address(weth),
            address(usdc),
            address(feed),
            address(amm)
        );
        vm.expectRevert(abi.encodeWithSelector(RiskRebalancer.NotKeeper.selector, address(this)));
        fresh.rebalance();
        vm.prank(treasury);
        fresh.setKeeper(address(this), true);
        vm.expectRevert(RiskRebalancer.PolicyNotSet.selector);
        fresh.rebalance();
        vm.prank(treasury);
        fresh.setPolicy(_policy());
        vm.expectRevert(RiskRebalancer.PolicyNotSet.selector); // no execution (chunk) set
        fresh.rebalance();
    }

    function test_rebalance_revertsOnStaleOrInvalidPrice() public {
        _publish(0.1e18, 0.15e18, 86_400);
        feed.setRoundData(5, 2000e8, T0 - 3601, T0 - 3601, 5);
        vm.expectRevert(abi.encodeWithSelector(RiskRebalancer.StalePrice.selector, T0 - 3601));
        vault.rebalance();
        feed.setAnswer(0);
        vm.expectRevert(abi.encodeWithSelector(RiskRebalancer.InvalidPrice.selector, int256(0)));
        vault.rebalance();
    }

    function test_rebalance_refusesAManipulatedPool() public {
        _publish(0.1e18, 0.15e18, 86_400);
        // Someone dumps ETH into the pool: its price falls far below the feed's 2000.
        weth.mint(address(this), 1000e18);
        amm.swap(address(weth), address(usdc), 1000e18, 0, address(this));
        uint256 out = amm.getAmountOut(address(weth), 7e18);
        uint256 minOut = uint256(14_000e6) * 0.98e18 / 1e18;
        vm.expectRevert(
            abi.encodeWithSelector(MockConstantProductAMM.InsufficientOutput.selector, out, minOut)
        );
        vault.rebalance();
    }

    function test_rebalance_checksItsOwnBalanceNotTheAdapter() public {
        ShortchangingAdapter bad = new ShortchangingAdapter();
        RiskRebalancer v = new RiskRebalancer(
            treasury,
            address(oracle),
            PID,
            address(weth),
            address(usdc),
            address(feed),
            address(bad)
        );
        vm.startPrank(treasury);
        v.setPolicy(_policy());
        v.setExecution(RiskRebalancer.Execution(type(uint128).max, 0));
        v.setKeeper(address(this), true);
        weth.mint(treasury, 10e18);
        weth.approve(address(v), 10e18);
        v.deposit(address(weth), 10e18);
        vm.stopPrank();
        _publish(0.1e18, 0.15e18, 86_400);
        uint256 minOut = uint256(14_000e6) * 0.98e18 / 1e18;
        vm.expectRevert(
            abi.encodeWithSelector(RiskRebalancer.SlippageExceeded.selector, minOut - 1, minOut)
        );
        v.rebalance();
    }

    // ------------------------------------------------------------ margin policy

    function test_requiredCollateralRatio_floorLinearCap() public {
        _publish(0.005e18, 0.01e18, 86_400); // 1 + 5 * 0.01 = 1.05 → floor 1.1
        assertEq(vault.requiredCollateralRatio(PID), 1.1e18, "floor");
        vm.warp(T0 + 60);
        _publish(0.06e18, 0.1e18, 86_400); // 1 + 5 * 0.1 = 1.5
        assertEq(vault.requiredCollateralRatio(PID), 1.5e18, "linear");
        vm.warp(T0 + 120);
        _publish(0.3e18, 0.9e18, 86_400); // 1 + 4.5 = 5.5 → cap 3
        assertEq(vault.requiredCollateralRatio(PID), 3e18, "cap");
    }

    function test_requiredCollateralRatio_revertsWhenStaleOrUnset() public {
        _publish(0.06e18, 0.1e18, 86_400);
        vm.warp(T0 + 3601);
        vm.expectRevert(abi.encodeWithSelector(RiskRebalancer.StaleReport.selector, T0));
        vault.requiredCollateralRatio(PID);
        vm.expectRevert(abi.encodeWithSelector(RiskOracle.NoReport.selector, PID + 1));
        vault.requiredCollateralRatio(PID + 1);
        RiskRebalancer fresh = new RiskRebalancer(
            treasury,
            address(oracle),
            PID,
            address(weth),
            address(usdc),
            address(feed),
            address(amm)
        );
        vm.expectRevert(RiskRebalancer.PolicyNotSet.selector);
        fresh.requiredCollateralRatio(PID);
    }

    function test_riskyWeight_valuesAtFeedPrice() public {
        assertEq(vault.riskyWeight(), 1e18, "all risky");
        usdc.mint(treasury, 20_000e6);
        vm.prank(treasury);
        vault.deposit(address(usdc), 20_000e6);
        assertEq(vault.riskyWeight(), 0.5e18, "half");
    }

    // ------------------------------------------------------------ fuzz

    /// The decision rule: trade iff VaR is outside [lower, upper]; never inside.
    function testFuzz_rebalance_tradesOnlyOutsideBand(uint64 var_) public {
        var_ = uint64(bound(var_, 0, 1e18));
        _publish(var_, var_, 86_400);
        uint256 riskyBefore = weth.balanceOf(address(vault));
        if (var_ >= 0.04e18 && var_ <= 0.08e18) {
            vm.expectRevert(
                abi.encodeWithSelector(RiskRebalancer.InsideBand.selector, var_, 0.04e18, 0.08e18)
            );
            vault.rebalance();
        } else if (var_ < 0.04e18) {
            // already 100 % risky, above the 80 % normal weight: nothing to buy
            vm.expectRevert(
                abi.encodeWithSelector(RiskRebalancer.AlreadyAtTarget.selector, 1e18, 0.8e18)
            );
            vault.rebalance();
        } else {
            vault.rebalance();
            assertEq(riskyBefore - weth.balanceOf(address(vault)), 7e18, "de-risked");
        }
    }
}
