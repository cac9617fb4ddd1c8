// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MarketFixture} from "./base/MarketFixture.sol";
import {VaRProtection} from "../src/VaRProtection.sol";
import {ProtectionToken} from "../src/ProtectionToken.sol";

/// @notice The startEpoch gas docs/benchmarks.md records (issue 14: ≤ 150k; 874.6k when every
/// epoch deployed a full ERC-20). Everything but the measured call happens in setUp, so the
/// call finds the pool, oracle and feed storage cold, as a real transaction does; the figure is
/// the gasleft() delta plus the intrinsic cost (21000 + 16 per non-zero calldata byte). Also run
/// with `forge test --match-contract VaRProtectionGas --gas-report --isolate`.
abstract contract VaRProtectionGasBase is MarketFixture {
    uint256 internal constant TARGET = 150_000;
    VaRProtection internal pool;
    address internal alice = address(0xA11CE1);
    address internal bob = address(0xB0B);

    function _setUpPool() internal {
        _deployMarket(2000e8);
        pool = new VaRProtection(
            address(oracle),
            PID,
            address(feed),
            address(usdc),
            1.2e18,
            0.001e18,
            0.2e18,
            3600,
            3600,
            3600
        );
        usdc.mint(alice, 1_000_000e6);
        usdc.mint(bob, 1_000_000e6);
        vm.prank(alice);
        usdc.approve(address(pool), type(uint256).max);
        vm.prank(bob);
        usdc.approve(address(pool), type(uint256).max);
        vm.prank(alice);
        pool.deposit(1_000_000e6);
    }

    function _measureStartEpoch() internal returns (uint256 gasUsed) {
        bytes memory data = abi.encodeCall(pool.startEpoch, ());
        uint256 before = gasleft();
        (bool ok,) = address(pool).call(data);
        gasUsed = before - gasleft() + 21_000 + 16 * data.length;
        assertTrue(ok, "startEpoch reverted");
    }
}

/// A fresh pool's first epoch (the epoch counter's slot goes from zero to non-zero).
contract VaRProtectionGasFirstEpochTest is VaRProtectionGasBase {
    function setUp() public {
        _setUpPool();
        _publish(0.05e18, 0.25e18, 86_400);
    }

    function test_gas_startEpoch_firstEpochWithinTarget() public {
        uint256 g = _measureStartEpoch();
        emit log_named_uint("startEpoch (first epoch) tx gas", g);
        assertLe(g, TARGET, "startEpoch gas");
        ProtectionToken t = pool.epoch(1).token;
        assertEq(t.name(), "varkeeper VaR protection #1", "the clone's name");
        assertEq(t.symbol(), "vkVP1", "the clone's symbol");
        assertEq(t.decimals(), 6, "the clone's decimals");
        assertEq(t.pool(), address(pool), "the clone's pool");
        assertEq(address(t).code.length, 0x2d + 8, "an EIP-1167 clone with the epoch id");
    }
}

/// The steady state of a running keeper: the next epoch after one was sold, covered and settled.
contract VaRProtectionGasNextEpochTest is VaRProtectionGasBase {
    function setUp() public {
        _setUpPool();
        _publish(0.05e18, 0.25e18, 86_400);
        pool.startEpoch();
        vm.prank(bob);
        pool.buyProtection(100_000e6, type(uint256).max);
        vm.warp(pool.epoch(1).saleEnd);
        feed.setAnswer(2000e8);
        pool.startCoverage();
        vm.warp(pool.epoch(1).end);
        feed.setAnswer(1800e8);
        pool.settle();
        _publish(0.05e18, 0.25e18, 86_400);
    }

    function test_gas_startEpoch_nextEpochWithinTarget() public {
        uint256 g = _measureStartEpoch();
        emit log_named_uint("startEpoch (next epoch) tx gas", g);
        assertLe(g, TARGET, "startEpoch gas");
        ProtectionToken t2 = pool.epoch(2).token;
        assertTrue(address(t2) != address(pool.epoch(1).token), "a token per epoch");
        assertEq(t2.name(), "varkeeper VaR protection #2", "the clone's name");
        assertEq(t2.totalSupply(), 0, "no supply of its own");
        assertEq(pool.epoch(1).token.totalSupply(), 100_000e6, "epoch 1's tokens untouched");
    }
}

/// The keeper's other protection transactions, each measured cold from its own setUp state:
/// `startCoverage()` one round after the sale close, `settle()` one round after the end.
contract VaRProtectionGasCoverageAndSettleTest is VaRProtectionGasBase {
    function setUp() public {
        _setUpPool();
        _publish(0.05e18, 0.25e18, 86_400);
        pool.startEpoch();
        vm.prank(bob);
        pool.buyProtection(100_000e6, type(uint256).max);
        vm.warp(pool.epoch(1).saleEnd);
        feed.setAnswer(2000e8);
    }

    function _measure(bytes memory data) internal returns (uint256 gasUsed) {
        uint256 before = gasleft();
        (bool ok,) = address(pool).call(data);
        gasUsed = before - gasleft() + 21_000 + 16 * data.length;
        assertTrue(ok, "reverted");
    }

    function test_gas_startCoverage() public {
        uint256 g = _measure(abi.encodeWithSignature("startCoverage()"));
        emit log_named_uint("startCoverage() tx gas", g);
        assertEq(pool.epoch(1).startPrice, int256(2000e8), "started");
        assertLe(g, 100_000, "startCoverage gas");
    }

    function test_gas_settle() public {
        pool.startCoverage(); // warms nothing the next call reads that a new tx would not
        vm.warp(pool.epoch(1).end);
        feed.setAnswer(1800e8);
        uint256 g = _measure(abi.encodeWithSignature("settle()"));
        emit log_named_uint("settle() tx gas", g);
        assertEq(pool.epoch(1).payoutPerUnit, 0.05e18, "settled");
        assertLe(g, 150_000, "settle gas");
    }
}
