// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";
import {IAmmAdapter} from "./interfaces/IAmmAdapter.sol";
import {AcceptedReport, IRiskOracle} from "./interfaces/IRiskOracle.sol";

/// @title RiskRebalancer
/// @notice A vault of a risky and a stable token that de-risks by itself. `rebalance()` (keepers
/// only) reads the oracle: VaR above `upperVaR` → swap risky into stable toward `riskOffWeight`;
/// VaR below `lowerVaR` → swap stable into risky toward `normalWeight` (the gap between the two
/// thresholds is the hysteresis band; a weight within `weightTolerance` of its target is left
/// alone, so repeated calls do not churn); inside the band, or with a stale report or price, it
/// reverts with the reason. Trades go through an IAmmAdapter with a minimum output derived from
/// the reference price feed and `maxSlippage`, so a manipulated pool cannot fill the trade badly.
/// Against sandwiches (issue 14, finding 11): only the keepers the owner authorised may call
/// `rebalance()`, so no one can bundle a front-run, the rebalance and a back-run in one
/// transaction; each call trades at most `maxTradeValue` (a chunk) and at most one call per
/// `cooldown` seconds trades, so a mempool sandwich of the keeper's call can extract at most
/// about the chunk times the pool price move, which costs the sandwicher about twice the pool
/// fee on its own legs: with a chunk below fee x pool depth (stable side) it loses money.
/// Chunks also let a large de-risking complete while each chunk's price impact stays within
/// `maxSlippage`. The vault does not act while the oracle reports the portfolio's breaker
/// tripped. The owner (the treasury) deposits, withdraws, sets the policy and the keepers;
/// it can make the vault trade only by authorising itself, and then only as the policy says.
/// `requiredCollateralRatio` maps a portfolio's CVaR to a margin requirement.
contract RiskRebalancer is Ownable {
    using SafeERC20 for IERC20;

    uint256 internal constant WAD = 1e18;
    /// @notice Largest accepted `maxSlippage` (10 %): a wider bound only invites sandwiches.
    uint64 public constant MAX_SLIPPAGE = 0.1e18;
    /// @notice The oracle's breaker status for a tripped breaker (RiskOracle.BREAKER_TRIPPED).
    uint8 internal constant BREAKER_TRIPPED = 1;

    IRiskOracle public immutable oracle;
    uint64 public immutable portfolioId;
    IERC20 public immutable risky;
    IERC20 public immutable stable;
    /// @notice Price of one risky token in units of the stable token (e.g. ETH/USD, 8 decimals).
    AggregatorV3Interface public immutable priceFeed;
    IAmmAdapter public immutable amm;
    uint256 internal immutable _riskyUnit;
    uint256 internal immutable _stableUnit;
    uint256 internal immutable _priceUnit;

    struct Policy {
        uint64 upperVaR; // WAD: above → de-risk
        uint64 lowerVaR; // WAD: below → re-risk
        uint64 riskOffWeight; // WAD: risky value share after de-risking
        uint64 normalWeight; // WAD: risky value share after re-risking
        uint64 maxSlippage; // WAD: tolerated shortfall of AMM output vs the feed price
        uint64 weightTolerance; // WAD: no trade when the weight is this close to the target
        uint32 maxReportAge; // seconds
        uint32 maxPriceAge; // seconds
    }

    struct MarginPolicy {
        uint64 floorRatio; // WAD, e.g. 1.1e18 = 110 %
        uint64 capRatio; // WAD
        uint64 cvarMultiplier; // WAD: ratio = 1 + multiplier · CVaR before floor/cap
    }

    /// @notice How the vault trades (finding 11): the largest trade per call, valued in the
    /// stable token at the feed price, and the seconds between two trades.
    struct Execution {
        uint128 maxTradeValue; // stable-token units; 0 = not set (no trade)
        uint32 cooldown; // seconds after a trade before the next one
    }

    Policy public policy;
    MarginPolicy public marginPolicy;
    Execution public execution;
    /// @notice Block time of the last trade (0 = none yet).
    uint40 public lastTradeAt;
    /// @notice Addresses allowed to call `rebalance()`.
    mapping(address => bool) public isKeeper;

    event PolicySet(Policy policy);
    event MarginPolicySet(MarginPolicy marginPolicy);
    event ExecutionSet(Execution execution);
    event KeeperSet(address indexed keeper, bool allowed);
    event Deposited(address indexed token, uint256 amount);
    event Withdrawn(address indexed token, uint256 amount, address to);
    event Rebalanced(
        bool indexed derisk,
        uint64 valueAtRisk,
        uint256 amountIn,
        uint256 amountOut,
        uint256 weightBefore,
        uint256 targetWeight
    );

    error ZeroAddress();
    error InvalidPolicy();
    error PolicyNotSet();
    error UnknownToken(address token);
    error InsideBand(uint64 valueAtRisk, uint64 lowerVaR, uint64 upperVaR);
    error StaleReport(uint64 observedAt);
    error StalePrice(uint256 updatedAt);
    error InvalidPrice(int256 answer);
    error AlreadyAtTarget(uint256 weight, uint256 targetWeight);
    error SlippageExceeded(uint256 received, uint256 minimum);
    error NotKeeper(address caller);
    error BreakerTripped(uint8 breakerStatus);
    error CoolingDown(uint256 earliest);

    constructor(
        address initialOwner,
        address oracle_,
        uint64 portfolioId_,
        address risky_,
        address stable_,
        address priceFeed_,
        address amm_
    ) Ownable(initialOwner) {
        if (
            oracle_ == address(0) || risky_ == address(0) || stable_ == address(0)
                || priceFeed_ == address(0) || amm_ == address(0) || risky_ == stable_
        ) revert ZeroAddress();
        oracle = IRiskOracle(oracle_);
        portfolioId = portfolioId_;
        risky = IERC20(risky_);
        stable = IERC20(stable_);
        priceFeed = AggregatorV3Interface(priceFeed_);
        amm = IAmmAdapter(amm_);
        _riskyUnit = 10 ** IERC20Metadata(risky_).decimals();
        _stableUnit = 10 ** IERC20Metadata(stable_).decimals();
        _priceUnit = 10 ** AggregatorV3Interface(priceFeed_).decimals();
    }

    // ---------------------------------------------------------------- owner

    function setPolicy(Policy calldata p) external onlyOwner {
        if (
            p.lowerVaR > p.upperVaR || p.upperVaR > WAD || p.riskOffWeight > p.normalWeight
                || p.normalWeight > WAD || p.maxSlippage > MAX_SLIPPAGE || p.weightTolerance >= WAD
                || p.maxReportAge == 0 || p.maxPriceAge == 0
        ) revert InvalidPolicy();
        policy = p;
        emit PolicySet(p);
    }

    /// @notice Sets the chunk size and the cool-down (finding 11); `maxTradeValue` must be > 0.
    /// To keep sandwiches unprofitable choose `maxTradeValue` below the AMM fee times the pool's
    /// stable reserve (e.g. 0.3 % x 2,000,000 = 6,000 USDC).
    function setExecution(Execution calldata e) external onlyOwner {
        if (e.maxTradeValue == 0) revert InvalidPolicy();
        execution = e;
        emit ExecutionSet(e);
    }

    /// @notice Allows or disallows `keeper` to call `rebalance()`.
    function setKeeper(address keeper, bool allowed) external onlyOwner {
        if (keeper == address(0)) revert ZeroAddress();
        isKeeper[keeper] = allowed;
        emit KeeperSet(keeper, allowed);
    }

    function setMarginPolicy(MarginPolicy calldata m) external onlyOwner {
        if (m.floorRatio < WAD || m.capRatio < m.floorRatio) revert InvalidPolicy();
        marginPolicy = m;
        emit MarginPolicySet(m);
    }

    function deposit(address token, uint256 amount) external onlyOwner {
        _known(token).safeTransferFrom(msg.sender, address(this), amount);
        emit Deposited(token, amount);
    }

    function withdraw(address token, uint256 amount, address to) external onlyOwner {
        if (to == address(0)) revert ZeroAddress();
        _known(token).safeTransfer(to, amount);
        emit Withdrawn(token, amount, to);
    }

    // ---------------------------------------------------------------- rebalancing

    struct Trade {
        bool derisk;
        IERC20 tokenIn;
        IERC20 tokenOut;
        uint256 amountIn;
        uint256 minOut;
        uint256 weight;
        uint256 target;
        uint64 valueAtRisk;
    }

    /// @notice Trades toward the weight the oracle's VaR calls for, at most one chunk
    /// (`execution.maxTradeValue`) per call and one call per `execution.cooldown`, or reverts
    /// with the reason. Keepers only.
    function rebalance() external returns (uint256 amountIn, uint256 amountOut) {
        if (!isKeeper[msg.sender]) revert NotKeeper(msg.sender);
        Trade memory t = _plan();
        lastTradeAt = uint40(block.timestamp);
        amountIn = t.amountIn;
        uint256 before = t.tokenOut.balanceOf(address(this));
        t.tokenIn.forceApprove(address(amm), amountIn);
        amm.swap(address(t.tokenIn), address(t.tokenOut), amountIn, t.minOut, address(this));
        t.tokenIn.forceApprove(address(amm), 0);
        amountOut = t.tokenOut.balanceOf(address(this)) - before;
        if (amountOut < t.minOut) revert SlippageExceeded(amountOut, t.minOut);
        emit Rebalanced(t.derisk, t.valueAtRisk, amountIn, amountOut, t.weight, t.target);
    }

    /// @dev Decides direction and size from the oracle and the feed; reverts when no trade is due.
    function _plan() internal view returns (Trade memory t) {
        Policy memory p = policy;
        Execution memory e = execution;
        if (p.maxReportAge == 0 || e.maxTradeValue == 0) revert PolicyNotSet();
        uint256 last = lastTradeAt;
        if (last != 0 && block.timestamp < last + e.cooldown) {
            revert CoolingDown(last + e.cooldown);
        }
        AcceptedReport memory r = oracle.latest(portfolioId);
        if (block.timestamp > uint256(r.observedAt) + p.maxReportAge) {
            revert StaleReport(r.observedAt);
        }
        if (r.breakerStatus == BREAKER_TRIPPED) revert BreakerTripped(r.breakerStatus);
        t.valueAtRisk = r.valueAtRisk;
        if (r.valueAtRisk > p.upperVaR) {
            t.derisk = true;
            t.target = p.riskOffWeight;
        } else if (r.valueAtRisk < p.lowerVaR) {
            t.target = p.normalWeight;
        } else {
            revert InsideBand(r.valueAtRisk, p.lowerVaR, p.upperVaR);
        }

        uint256 price = _price(p.maxPriceAge);
        uint256 riskyBal = risky.balanceOf(address(this));
        uint256 riskyValue = _riskyToStable(riskyBal, price);
        uint256 total = riskyValue + stable.balanceOf(address(this));
        t.weight = total == 0 ? 0 : riskyValue * WAD / total;
        uint256 targetValue = total * t.target / WAD;
        uint256 expectedOut;
        if (t.derisk) {
            if (t.weight <= t.target + p.weightTolerance) {
                revert AlreadyAtTarget(t.weight, t.target);
            }
            uint256 value = riskyValue - targetValue;
            if (value > e.maxTradeValue) value = e.maxTradeValue;
            t.amountIn = _stableToRisky(value, price);
            if (t.amountIn > riskyBal) t.amountIn = riskyBal;
            expectedOut = _riskyToStable(t.amountIn, price);
            (t.tokenIn, t.tokenOut) = (risky, stable);
        } else {
            if (t.weight + p.weightTolerance >= t.target || riskyValue >= targetValue) {
                revert AlreadyAtTarget(t.weight, t.target);
            }
            t.amountIn = targetValue - riskyValue;
            if (t.amountIn > e.maxTradeValue) t.amountIn = e.maxTradeValue;
            expectedOut = _stableToRisky(t.amountIn, price);
            (t.tokenIn, t.tokenOut) = (stable, risky);
        }
        if (t.amountIn == 0 || expectedOut == 0) revert AlreadyAtTarget(t.weight, t.target);
        t.minOut = expectedOut * (WAD - p.maxSlippage) / WAD;
    }

    // ---------------------------------------------------------------- views

    /// @notice Collateral ratio (WAD) a lender should require against `portfolioId_`:
    /// clamp(1 + cvarMultiplier · CVaR, floorRatio, capRatio). Reverts on a stale report.
    function requiredCollateralRatio(uint64 portfolioId_) external view returns (uint256 ratio) {
        MarginPolicy memory m = marginPolicy;
        Policy memory p = policy;
        if (m.floorRatio == 0 || p.maxReportAge == 0) revert PolicyNotSet();
        AcceptedReport memory r = oracle.latest(portfolioId_);
        if (block.timestamp > uint256(r.observedAt) + p.maxReportAge) {
            revert StaleReport(r.observedAt);
        }
        ratio = WAD + uint256(m.cvarMultiplier) * r.expectedShortfall / WAD;
        if (ratio < m.floorRatio) ratio = m.floorRatio;
        if (ratio > m.capRatio) ratio = m.capRatio;
    }

    /// @notice Share of the vault's value held in the risky token (WAD), at the feed price.
    function riskyWeight() external view returns (uint256) {
        uint256 price = _price(type(uint32).max);
        uint256 riskyValue = _riskyToStable(risky.balanceOf(address(this)), price);
        uint256 total = riskyValue + stable.balanceOf(address(this));
        return total == 0 ? 0 : riskyValue * WAD / total;
    }

    function _price(uint256 maxAge) internal view returns (uint256) {
        (, int256 answer,, uint256 updatedAt,) = priceFeed.latestRoundData();
        if (answer <= 0) revert InvalidPrice(answer);
        if (block.timestamp > updatedAt + maxAge) revert StalePrice(updatedAt);
        return uint256(answer);
    }

    function _riskyToStable(uint256 amount, uint256 price) internal view returns (uint256) {
        return amount * price * _stableUnit / (_riskyUnit * _priceUnit);
    }

    function _stableToRisky(uint256 amount, uint256 price) internal view returns (uint256) {
        return amount * _riskyUnit * _priceUnit / (price * _stableUnit);
    }

    function _known(address token) internal view returns (IERC20) {
        if (token != address(risky) && token != address(stable)) revert UnknownToken(token);
        return IERC20(token);
    }
}
