// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TestBase} from "./base/TestBase.sol";
import {MockAggregator} from "../src/mocks/MockAggregator.sol";
import {MockERC20} from "../src/mocks/MockERC20.sol";
import {MockConstantProductAMM} from "../src/mocks/MockConstantProductAMM.sol";

contract MockAggregatorTest is TestBase {
    MockAggregator internal feed;

    function setUp() public {
        vm.warp(1_700_000_000);
        feed = new MockAggregator(8, "ETH / USD", 2000e8);
    }

    function test_constructor_opensRoundOneWithInitialAnswer() public view {
        assertEq(feed.decimals(), 8, "decimals");
        assertEq(feed.description(), "ETH / USD", "description");
        assertEq(feed.version(), 4, "version");
        (uint80 id, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answered) =
            feed.latestRoundData();
        assertEq(id, 1, "round");
        assertEq(answer, int256(2000e8), "answer");
        assertEq(startedAt, 1_700_000_000, "startedAt");
        assertEq(updatedAt, 1_700_000_000, "updatedAt");
        assertEq(answered, 1, "answeredInRound");
        assertEq(feed.latestAnswer(), int256(2000e8), "latestAnswer");
        assertEq(feed.latestTimestamp(), 1_700_000_000, "latestTimestamp");
    }

    function test_constructor_withoutInitialAnswerHasNoData() public {
        MockAggregator empty = new MockAggregator(18, "X", 0);
        assertEq(empty.latestRound(), 0, "no round");
        vm.expectRevert(abi.encodeWithSelector(MockAggregator.NoDataPresent.selector, 0));
        empty.latestRoundData();
    }

    function test_setAnswer_opensNextRoundStampedNow() public {
        vm.warp(1_700_000_100);
        feed.setAnswer(1900e8);
        (uint80 id, int256 answer,, uint256 updatedAt,) = feed.latestRoundData();
        assertEq(id, 2, "round");
        assertEq(answer, int256(1900e8), "answer");
        assertEq(updatedAt, 1_700_000_100, "updatedAt");
        (, int256 old,,,) = feed.getRoundData(1);
        assertEq(old, int256(2000e8), "history kept");
    }

    function test_setRoundData_writesAnyRoundAndRaisesLatestOnlyUpward() public {
        feed.setRoundData(10, -5, 11, 12, 9);
        (uint80 id, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answered) =
            feed.getRoundData(10);
        assertEq(id, 10, "id");
        assertEq(answer, -5, "answer");
        assertEq(startedAt, 11, "startedAt");
        assertEq(updatedAt, 12, "updatedAt");
        assertEq(answered, 9, "answeredInRound");
        assertEq(feed.latestRound(), 10, "latest raised");
        feed.setRoundData(5, 7, 1, 1, 5);
        assertEq(feed.latestRound(), 10, "latest kept");
    }

    function test_getRoundData_revertsForMissingRound() public {
        vm.expectRevert(abi.encodeWithSelector(MockAggregator.NoDataPresent.selector, 3));
        feed.getRoundData(3);
    }
}

contract MockERC20Test is TestBase {
    function test_mintBurnDecimals() public {
        MockERC20 t = new MockERC20("USD Coin", "USDC", 6);
        assertEq(t.decimals(), 6, "decimals");
        assertEq(t.name(), "USD Coin", "name");
        t.mint(address(0xB0B), 5e6);
        assertEq(t.balanceOf(address(0xB0B)), 5e6, "minted");
        t.burn(address(0xB0B), 2e6);
        assertEq(t.balanceOf(address(0xB0B)), 3e6, "burnt");
        assertEq(t.totalSupply(), 3e6, "supply");
    }
}

contract MockConstantProductAMMTest is TestBase {
    MockERC20 internal a;
    MockERC20 internal b;
    MockConstantProductAMM internal amm;

    function setUp() public {
        a = new MockERC20("A", "A", 18);
        b = new MockERC20("B", "B", 6);
        amm = new MockConstantProductAMM(address(a), address(b), 30);
        a.mint(address(this), 2000e18);
        b.mint(address(this), 4_000_000e6);
        a.approve(address(amm), type(uint256).max);
        b.approve(address(amm), type(uint256).max);
        amm.addLiquidity(1000e18, 2_000_000e6);
    }

    /// Uniswap v2 whitepaper: out = in·997·R_out / (R_in·1000 + in·997) for a 0.3 % fee.
    function _v2Out(uint256 amountIn, uint256 rIn, uint256 rOut) internal pure returns (uint256) {
        return amountIn * 997 * rOut / (rIn * 1000 + amountIn * 997);
    }

    function test_constructor_refusesFeeOfOneHundredPercent() public {
        vm.expectRevert(abi.encodeWithSelector(MockConstantProductAMM.InvalidFee.selector, 10_000));
        new MockConstantProductAMM(address(a), address(b), 10_000);
    }

    function test_addLiquidity_movesTokensAndReserves() public view {
        assertEq(amm.reserve0(), 1000e18, "reserve0");
        assertEq(amm.reserve1(), 2_000_000e6, "reserve1");
        assertEq(a.balanceOf(address(amm)), 1000e18, "held0");
    }

    function test_getAmountOut_matchesUniswapV2Formula() public view {
        assertEq(amm.getAmountOut(address(a), 7e18), _v2Out(7e18, 1000e18, 2_000_000e6), "a->b");
        assertEq(
            amm.getAmountOut(address(b), 14_000e6), _v2Out(14_000e6, 2_000_000e6, 1000e18), "b->a"
        );
    }

    function test_swap_bothDirectionsKeepProductNonDecreasing() public {
        uint256 k0 = amm.reserve0() * amm.reserve1();
        uint256 out = amm.swap(address(a), address(b), 7e18, 0, address(0xB0B));
        assertEq(out, _v2Out(7e18, 1000e18, 2_000_000e6), "out");
        assertEq(b.balanceOf(address(0xB0B)), out, "delivered");
        assertEq(amm.reserve0(), 1007e18, "reserve0");
        assertEq(amm.reserve1(), 2_000_000e6 - out, "reserve1");
        uint256 back = amm.swap(address(b), address(a), out, 0, address(this));
        assertLt(back, 7e18, "round trip loses the fees");
        assertGe(amm.reserve0() * amm.reserve1(), k0, "k never decreases");
    }

    function test_swap_revertsOnUnknownPairZeroOrShortOutput() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                MockConstantProductAMM.UnknownPair.selector, address(a), address(a)
            )
        );
        amm.swap(address(a), address(a), 1, 0, address(this));
        vm.expectRevert(MockConstantProductAMM.ZeroAmount.selector);
        amm.swap(address(a), address(b), 0, 0, address(this));
        uint256 out = amm.getAmountOut(address(a), 1e18);
        vm.expectRevert(
            abi.encodeWithSelector(MockConstantProductAMM.InsufficientOutput.selector, out, out + 1)
        );
        amm.swap(address(a), address(b), 1e18, out + 1, address(this));
    }

    function testFuzz_swap_outputMatchesFormula(uint256 amountIn) public {
        amountIn = bound(amountIn, 1, 1000e18);
        uint256 expected = _v2Out(amountIn, 1000e18, 2_000_000e6);
        if (expected == 0) {
            vm.expectRevert(
                abi.encodeWithSelector(MockConstantProductAMM.InsufficientOutput.selector, 0, 0)
            );
        }
        uint256 out = amm.swap(address(a), address(b), amountIn, 0, address(this));
        assertEq(out, expected, "out");
    }
}
