// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";
import {AcceptedReport, IRiskOracle} from "./interfaces/IRiskOracle.sol";
import {ProtectionToken} from "./ProtectionToken.sol";

/// @title VaRProtection — the Value-at-Risk security
/// @notice Underwriters deposit a stable collateral token and receive this contract's ERC-20
/// shares. Coverage runs in epochs as long as the oracle report's horizon. At epoch start the
/// premium per unit notional is fixed from the oracle's figures:
///     premium = max(floor, (1 − α) · (CVaR − VaR) · loading)
/// ((1 − α)(CVaR − VaR) = E[(L − VaR)⁺], the fair price of the excess loss beyond VaR). Buyers pay
/// it for ERC-20 protection tokens (1 token = 1 collateral unit of notional), sold only during the
/// sale window at the start of the epoch. After the epoch, anyone calls `settle(roundId)` with
/// the first price-feed round at or after the epoch end: if the reference price fell by more
/// than the VaR published at epoch start, each protection unit is paid min(loss − VaR, cap);
/// otherwise the premiums stay with the underwriters. No one (there is no admin) can move
/// collateral, and the pool never sells more protection than it can pay at the cap.
/// Every function that moves tokens is `nonReentrant` and books its effects before the transfer
/// out; collateral that arrives short (fee-on-transfer) is refused, so the books always equal
/// what the pool holds (issue 14, findings 3 and 5).
contract VaRProtection is ERC20, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    uint256 internal constant WAD = 1e18;
    uint256 public constant MAX_ROUND_SEARCH = 64;
    /// @notice How long after an epoch's end its settlement price may be stamped; if the feed
    /// has no valid (positive) round in [end, end + grace], the epoch is refunded instead.
    uint256 public constant SETTLEMENT_GRACE = 7 days;
    /// @notice Longest epoch `startEpoch` accepts (the report's horizon).
    uint256 public constant MAX_HORIZON = 365 days;

    IRiskOracle public immutable oracle;
    uint64 public immutable portfolioId;
    AggregatorV3Interface public immutable priceFeed;
    IERC20 public immutable collateral;
    uint8 internal immutable _collateralDecimals;
    /// @notice Multiplier on the fair tail premium (WAD, 1.2e18 = 20 % loading).
    uint256 public immutable loading;
    /// @notice Minimum premium per unit notional (WAD fraction).
    uint256 public immutable premiumFloor;
    /// @notice Maximum payout per unit notional (WAD fraction, ≤ 1e18).
    uint256 public immutable payoutCap;
    /// @notice Seconds after epoch start during which protection is sold; an epoch starts only
    /// if this is at most half the report's horizon, so nobody buys once the outcome is nearly
    /// known.
    uint256 public immutable saleWindow;
    /// @notice Maximum age of the oracle report and of the start price when an epoch starts.
    uint256 public immutable maxReportAge;
    uint256 public immutable maxPriceAge;

    struct Epoch {
        uint64 start;
        uint64 end;
        uint64 saleEnd;
        uint64 reportRound;
        uint64 valueAtRisk; // WAD, from the oracle at start
        uint64 premiumPerUnit; // WAD
        uint64 payoutPerUnit; // WAD, set at settlement
        uint80 startPriceRound;
        bool settled;
        int256 startPrice;
        uint256 notional; // protection sold, collateral units
        ProtectionToken token;
    }

    /// @notice Collateral owned by underwriters: deposits + premiums − withdrawals − payouts.
    uint256 public poolAssets;
    /// @notice Collateral owed to holders of settled epochs' protection tokens, not yet claimed.
    uint256 public reservedForClaims;
    /// @notice Id of the current (active) or last epoch; epochs are numbered from 1.
    uint256 public currentEpoch;
    bool public epochActive;
    mapping(uint256 => Epoch) internal _epochs;

    event Deposited(address indexed underwriter, uint256 assets, uint256 shares);
    event Withdrawn(address indexed underwriter, uint256 assets, uint256 shares);
    event EpochStarted(
        uint256 indexed epochId,
        address token,
        uint64 start,
        uint64 end,
        uint64 valueAtRisk,
        uint64 premiumPerUnit,
        int256 startPrice
    );
    event ProtectionBought(
        uint256 indexed epochId, address indexed buyer, uint256 notional, uint256 premium
    );
    event EpochSettled(
        uint256 indexed epochId, int256 endPrice, uint256 loss, uint64 payoutPerUnit, uint256 payout
    );
    event EpochRefunded(uint256 indexed epochId, uint64 refundPerUnit, uint256 refund);
    event Claimed(uint256 indexed epochId, address indexed holder, uint256 tokens, uint256 paid);

    error ZeroAmount();
    error ZeroShares();
    error InvalidParameters();
    error EpochIsActive();
    error NoActiveEpoch();
    error SaleClosed(uint256 saleEnd);
    error PremiumTooHigh(uint256 premium, uint256 maxPremium);
    error InsufficientCapacity(uint256 obligation, uint256 assets);
    error CollateralLocked(uint256 remaining, uint256 obligation);
    error PoolLocked(uint256 saleEnd);
    error StaleReport(uint64 observedAt);
    error StalePrice(uint256 updatedAt);
    error InvalidPrice(int256 answer);
    error EpochNotOver(uint256 end);
    error WrongSettlementRound(uint80 roundId);
    error NoPriceAfterEnd(uint256 end);
    error SettlementRoundNotFound();
    error NotSettled(uint256 epochId);
    error NothingToClaim(uint256 epochId);
    error HorizonTooShort(uint256 horizon, uint256 saleWindow);
    error HorizonTooLong(uint256 horizon, uint256 maxHorizon);
    error CollateralShortfall(uint256 expected, uint256 received);
    error NoSettlementPrice(uint256 end, uint256 graceEnd);
    error SettlementAvailable(uint80 roundId);
    error GracePeriodNotOver(uint256 graceEnd);

    constructor(
        address oracle_,
        uint64 portfolioId_,
        address priceFeed_,
        address collateral_,
        uint256 loading_,
        uint256 premiumFloor_,
        uint256 payoutCap_,
        uint256 saleWindow_,
        uint256 maxReportAge_,
        uint256 maxPriceAge_
    ) ERC20("varkeeper VaR protection underwriter share", "vkUW") {
        if (
            oracle_ == address(0) || priceFeed_ == address(0) || collateral_ == address(0)
                || payoutCap_ == 0 || payoutCap_ > WAD || loading_ == 0 || premiumFloor_ == 0
                || premiumFloor_ > WAD || saleWindow_ == 0 || maxReportAge_ == 0
                || maxPriceAge_ == 0
        ) revert InvalidParameters();
        oracle = IRiskOracle(oracle_);
        portfolioId = portfolioId_;
        priceFeed = AggregatorV3Interface(priceFeed_);
        collateral = IERC20(collateral_);
        _collateralDecimals = IERC20Metadata(collateral_).decimals();
        loading = loading_;
        premiumFloor = premiumFloor_;
        payoutCap = payoutCap_;
        saleWindow = saleWindow_;
        maxReportAge = maxReportAge_;
        maxPriceAge = maxPriceAge_;
    }

    /// @notice Shares carry the collateral's decimals.
    function decimals() public view override returns (uint8) {
        return _collateralDecimals;
    }

    // ---------------------------------------------------------------- underwriters

    /// @notice Deposits `assets` collateral for shares (rounded down; one virtual share and one
    /// virtual asset make donation-inflation attacks unprofitable).
    function deposit(uint256 assets) external nonReentrant returns (uint256 shares) {
        if (assets == 0) revert ZeroAmount();
        _requireUnlocked();
        shares = assets * (totalSupply() + 1) / (poolAssets + 1);
        if (shares == 0) revert ZeroShares();
        _pull(msg.sender, assets);
        poolAssets += assets;
        _mint(msg.sender, shares);
        emit Deposited(msg.sender, assets, shares);
    }

    /// @notice Burns `shares` for their part of the pool (rounded down), as long as the rest
    /// still covers the current epoch's maximum obligation.
    function withdraw(uint256 shares) external nonReentrant returns (uint256 assets) {
        if (shares == 0) revert ZeroAmount();
        _requireUnlocked();
        assets = previewWithdraw(shares);
        uint256 remaining = poolAssets - assets;
        uint256 obligation = maxObligation();
        if (remaining < obligation) revert CollateralLocked(remaining, obligation);
        _burn(msg.sender, shares);
        poolAssets = remaining;
        collateral.safeTransfer(msg.sender, assets);
        emit Withdrawn(msg.sender, assets, shares);
    }

    /// @dev Underwriters enter and leave only while idle or during the sale window: later in an
    /// epoch the outcome is partly known, and a well-informed underwriter could leave before a
    /// payout (or join before premiums are released) at the others' expense.
    function _requireUnlocked() internal view {
        if (epochActive) {
            uint256 saleEnd = _epochs[currentEpoch].saleEnd;
            if (block.timestamp >= saleEnd) revert PoolLocked(saleEnd);
        }
    }

    function previewWithdraw(uint256 shares) public view returns (uint256) {
        return shares * (poolAssets + 1) / (totalSupply() + 1);
    }

    // ---------------------------------------------------------------- epochs

    /// @notice Starts the next epoch from the oracle's latest report and the feed's latest price.
    function startEpoch() external nonReentrant returns (uint256 epochId) {
        if (epochActive) revert EpochIsActive();
        AcceptedReport memory r = oracle.latest(portfolioId);
        if (block.timestamp > uint256(r.observedAt) + maxReportAge) {
            revert StaleReport(r.observedAt);
        }
        if (2 * saleWindow > r.horizon) revert HorizonTooShort(r.horizon, saleWindow);
        if (r.horizon > MAX_HORIZON) revert HorizonTooLong(r.horizon, MAX_HORIZON);
        (uint80 roundId, int256 price,, uint256 updatedAt,) = priceFeed.latestRoundData();
        if (price <= 0) revert InvalidPrice(price);
        if (block.timestamp > updatedAt + maxPriceAge) revert StalePrice(updatedAt);

        uint256 premium = premiumPerUnitFor(r.confidence, r.valueAtRisk, r.expectedShortfall);
        epochId = ++currentEpoch;
        epochActive = true;
        ProtectionToken token = new ProtectionToken(
            string.concat("varkeeper VaR protection #", Strings.toString(epochId)),
            string.concat("vkVP", Strings.toString(epochId)),
            _collateralDecimals
        );
        uint64 start = uint64(block.timestamp);
        uint64 end = start + r.horizon;
        uint256 saleEnd = block.timestamp + saleWindow;
        _epochs[epochId] = Epoch({
            start: start,
            end: end,
            saleEnd: uint64(saleEnd), // < end: 2 * saleWindow <= horizon
            reportRound: r.round,
            valueAtRisk: r.valueAtRisk,
            premiumPerUnit: uint64(premium),
            payoutPerUnit: 0,
            startPriceRound: roundId,
            settled: false,
            startPrice: price,
            notional: 0,
            token: token
        });
        emit EpochStarted(
            epochId, address(token), start, end, r.valueAtRisk, uint64(premium), price
        );
    }

    /// @notice Premium per unit notional (WAD): max(floor, (1 − α)(CVaR − VaR) · loading).
    function premiumPerUnitFor(uint64 confidence, uint64 valueAtRisk, uint64 expectedShortfall)
        public
        view
        returns (uint256)
    {
        uint256 tail = (WAD - confidence) * (expectedShortfall - valueAtRisk) / WAD;
        uint256 premium = tail * loading / WAD;
        if (premium < premiumFloor) premium = premiumFloor;
        return premium > WAD ? WAD : premium;
    }

    /// @notice Premium for `notional` in the current epoch (rounded up, in the pool's favour).
    function quote(uint256 notional) public view returns (uint256) {
        Epoch storage e = _epochs[currentEpoch];
        return _mulDivUp(notional, e.premiumPerUnit, WAD);
    }

    /// @notice Buys `notional` units of protection for the current epoch; reverts if the premium
    /// exceeds `maxPremium` or the pool could not pay the whole notional at the cap.
    function buyProtection(uint256 notional, uint256 maxPremium)
        external
        nonReentrant
        returns (uint256 premium)
    {
        if (!epochActive) revert NoActiveEpoch();
        if (notional == 0) revert ZeroAmount();
        Epoch storage e = _epochs[currentEpoch];
        if (block.timestamp >= e.saleEnd) revert SaleClosed(e.saleEnd);
        premium = _mulDivUp(notional, e.premiumPerUnit, WAD);
        if (premium > maxPremium) revert PremiumTooHigh(premium, maxPremium);
        uint256 newNotional = e.notional + notional;
        uint256 obligation = _mulDivUp(newNotional, payoutCap, WAD);
        uint256 assetsAfter = poolAssets + premium;
        if (obligation > assetsAfter) revert InsufficientCapacity(obligation, assetsAfter);
        // Checks-effects-interactions: booked before the premium is pulled.
        poolAssets = assetsAfter;
        e.notional = newNotional;
        e.token.mint(msg.sender, notional);
        _pull(msg.sender, premium);
        emit ProtectionBought(currentEpoch, msg.sender, notional, premium);
    }

    /// @notice Settles the current epoch at the round `findSettlementRound()` returns.
    function settle() external {
        settle(findSettlementRound());
    }

    /// @notice The settlement round of the current epoch: the first feed round with a positive
    /// price stamped in [end, end + SETTLEMENT_GRACE]. Found by walking back from the latest
    /// round (at most `MAX_ROUND_SEARCH` steps; beyond that, find it off chain and call
    /// `settle(roundId)`). Rounds with a non-positive price are skipped; a round the feed does
    /// not have (a Chainlink proxy's phase change) ends the walk like a round before the end.
    function findSettlementRound() public view returns (uint80 roundId) {
        if (!epochActive) revert NoActiveEpoch();
        Epoch storage e = _epochs[currentEpoch];
        (uint80 latest,,, uint256 updatedAt,) = priceFeed.latestRoundData();
        if (updatedAt < e.end) revert NoPriceAfterEnd(e.end);
        bool complete;
        (roundId, complete) = _earliestValidRound(e, latest);
        if (!complete) revert SettlementRoundNotFound();
        if (roundId == 0) revert NoSettlementPrice(e.end, uint256(e.end) + SETTLEMENT_GRACE);
    }

    /// @notice Settles the current epoch at `roundId`, which must be the settlement round (see
    /// `findSettlementRound`; the contract checks it and the rounds before it), so no caller can
    /// pick a favourable price.
    function settle(uint80 roundId) public nonReentrant {
        if (!epochActive) revert NoActiveEpoch();
        uint256 epochId = currentEpoch;
        Epoch storage e = _epochs[epochId];
        if (block.timestamp < e.end) revert EpochNotOver(e.end);
        if (roundId <= e.startPriceRound) revert WrongSettlementRound(roundId);
        (bool exists, int256 endPrice, uint256 updatedAt) = _round(roundId);
        if (!exists || updatedAt < e.end || updatedAt > uint256(e.end) + SETTLEMENT_GRACE) {
            revert WrongSettlementRound(roundId);
        }
        if (endPrice <= 0) revert InvalidPrice(endPrice);
        (uint80 earlier, bool complete) = _earliestValidRound(e, roundId - 1);
        if (!complete) revert SettlementRoundNotFound();
        if (earlier != 0) revert WrongSettlementRound(roundId);

        uint256 loss = lossFraction(e.startPrice, endPrice);
        uint256 perUnit;
        if (loss > e.valueAtRisk) {
            perUnit = loss - e.valueAtRisk;
            if (perUnit > payoutCap) perUnit = payoutCap;
        }
        uint256 notional = e.notional;
        uint256 payout = notional * perUnit / WAD;
        if (payout > poolAssets) {
            // Cannot happen while the sale rule holds; kept so holders share pro rata regardless.
            perUnit = poolAssets * WAD / notional;
            payout = notional * perUnit / WAD;
        }
        _close(e, perUnit, payout);
        emit EpochSettled(epochId, endPrice, loss, uint64(perUnit), payout);
    }

    /// @notice Settlement fallback: once SETTLEMENT_GRACE has passed after the end and the feed
    /// has no settlement round (it stopped, or only gave non-positive prices), the epoch is
    /// closed with every protection token redeemable through `claim` for the premium paid per
    /// unit, and the pool is unlocked. Refused while a settlement round exists.
    function refundEpoch() external nonReentrant {
        if (!epochActive) revert NoActiveEpoch();
        uint256 epochId = currentEpoch;
        Epoch storage e = _epochs[epochId];
        uint256 graceEnd = uint256(e.end) + SETTLEMENT_GRACE;
        if (block.timestamp <= graceEnd) revert GracePeriodNotOver(graceEnd);
        (uint80 latest,,, uint256 updatedAt,) = priceFeed.latestRoundData();
        if (updatedAt >= e.end) {
            (uint80 roundId, bool complete) = _earliestValidRound(e, latest);
            if (!complete) revert SettlementRoundNotFound();
            if (roundId != 0) revert SettlementAvailable(roundId);
        }
        uint256 perUnit = e.premiumPerUnit;
        uint256 refund = e.notional * perUnit / WAD; // <= the premiums taken (rounded up)
        _close(e, perUnit, refund);
        emit EpochRefunded(epochId, uint64(perUnit), refund);
    }

    function _close(Epoch storage e, uint256 perUnit, uint256 owed) internal {
        poolAssets -= owed;
        reservedForClaims += owed;
        e.payoutPerUnit = uint64(perUnit);
        e.settled = true;
        epochActive = false;
    }

    /// @dev Walks back from round `from` over the rounds stamped at or after the epoch end and
    /// returns the earliest with a positive price stamped by end + SETTLEMENT_GRACE (0 if
    /// none); `complete` is false if MAX_ROUND_SEARCH rounds did not reach a round before the
    /// end, a missing round or the start round.
    function _earliestValidRound(Epoch storage e, uint80 from)
        internal
        view
        returns (uint80 roundId, bool complete)
    {
        uint256 end = e.end;
        uint256 graceEnd = end + SETTLEMENT_GRACE;
        uint80 startRound = e.startPriceRound;
        uint80 r = from;
        for (uint256 i; i < MAX_ROUND_SEARCH; ++i) {
            if (r <= startRound) return (roundId, true);
            (bool exists, int256 answer, uint256 stampedAt) = _round(r);
            if (!exists || stampedAt < end) return (roundId, true);
            if (answer > 0 && stampedAt <= graceEnd) roundId = r;
            --r;
        }
        return (roundId, false);
    }

    /// @dev A feed round; `exists` is false if the feed reverts or has no timestamp for it.
    function _round(uint80 roundId)
        internal
        view
        returns (bool exists, int256 answer, uint256 updatedAt)
    {
        try priceFeed.getRoundData(roundId) returns (uint80, int256 a, uint256, uint256 u, uint80) {
            return (u != 0, a, u);
        } catch {
            return (false, 0, 0);
        }
    }

    /// @notice Realised loss fraction (WAD) of a move from `startPrice` to `endPrice`, 0 on a gain.
    function lossFraction(int256 startPrice, int256 endPrice) public pure returns (uint256) {
        if (endPrice >= startPrice) return 0;
        return uint256(startPrice - endPrice) * WAD / uint256(startPrice);
    }

    /// @notice Burns `tokens` protection tokens of a settled epoch and pays tokens · payoutPerUnit.
    function claim(uint256 epochId, uint256 tokens) external nonReentrant returns (uint256 paid) {
        Epoch storage e = _epochs[epochId];
        if (!e.settled) revert NotSettled(epochId);
        if (tokens == 0) revert ZeroAmount();
        // Rounded on the cumulative amount claimed (tokens burnt so far), not per claim: the
        // claims of all holders add up to exactly the reserved notional * perUnit / WAD, so no
        // rounding dust is stranded in the reserve.
        uint256 perUnit = e.payoutPerUnit;
        uint256 burnt = e.notional - e.token.totalSupply();
        paid = (burnt + tokens) * perUnit / WAD - burnt * perUnit / WAD;
        if (paid == 0) revert NothingToClaim(epochId);
        e.token.burn(msg.sender, tokens);
        reservedForClaims -= paid;
        collateral.safeTransfer(msg.sender, paid);
        emit Claimed(epochId, msg.sender, tokens, paid);
    }

    // ---------------------------------------------------------------- views

    /// @notice The most the pool can owe for the active epoch: notional · cap (0 when idle).
    function maxObligation() public view returns (uint256) {
        if (!epochActive) return 0;
        return _mulDivUp(_epochs[currentEpoch].notional, payoutCap, WAD);
    }

    function epoch(uint256 epochId) external view returns (Epoch memory) {
        return _epochs[epochId];
    }

    /// @dev Pulls exactly `amount` collateral from `from`; a token that delivers less (a
    /// transfer fee, a rebasing haircut) is refused rather than credited at nominal value.
    function _pull(address from, uint256 amount) internal {
        uint256 before = collateral.balanceOf(address(this));
        collateral.safeTransferFrom(from, address(this), amount);
        uint256 received = collateral.balanceOf(address(this)) - before;
        if (received != amount) revert CollateralShortfall(amount, received);
    }

    function _mulDivUp(uint256 a, uint256 b, uint256 d) internal pure returns (uint256) {
        uint256 p = a * b;
        return p == 0 ? 0 : (p - 1) / d + 1;
    }
}
