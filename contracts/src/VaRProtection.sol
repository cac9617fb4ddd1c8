// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";
import {AcceptedReport, IRiskOracle} from "./interfaces/IRiskOracle.sol";
import {ProtectionToken} from "./ProtectionToken.sol";

/// @title VaRProtection — the Value-at-Risk security
/// @notice Underwriters deposit a stable collateral token and receive this contract's ERC-20
/// shares. Coverage runs in epochs; each epoch has three phases (docs/contracts.md):
///  1. Sale (`startEpoch` .. `saleEnd`): the premium per unit notional is fixed from the oracle
///     report at sale open, premium = max(floor, (1 − α) · (CVaR − VaR) · loading)
///     ((1 − α)(CVaR − VaR) = E[(L − VaR)⁺], the fair price of the excess loss beyond VaR), and
///     buyers pay it for ERC-20 protection tokens (1 token = 1 collateral unit of notional).
///  2. Coverage (`saleEnd` .. `end` = saleEnd + horizon): the start price is the first positive
///     feed round stamped at or after the sale close (`startCoverage`), a price nobody knows
///     while protection is on sale and nobody chooses.
///  3. Settlement: the first positive feed round stamped in [end, end + SETTLEMENT_GRACE]; if the
///     reference price fell by more than the VaR fixed at sale open, each protection unit is
///     paid min(loss − VaR, cap); otherwise the premiums stay with the underwriters. Without a
///     start or settlement price in time, premiums are refunded pro rata (`refundEpoch`).
/// While an epoch runs, underwriters cannot enter or leave: they request a deposit or a
/// redemption (ERC-7540 style), which takes effect at the epoch boundary (settlement or refund),
/// at the share price after the epoch's outcome, and is claimed afterwards. So neither a buyer
/// nor an underwriter holds an option on information (issue 14, finding 1).
/// No one (there is no admin) can move collateral, and the pool never sells more protection
/// than it can pay at the cap. Every function that moves tokens is `nonReentrant` and books its
/// effects before the transfer out; collateral that arrives short (fee-on-transfer) is refused,
/// so the books always equal what the pool holds (findings 3 and 5).
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
    /// @notice Seconds after `startEpoch` during which protection is sold; an epoch starts only
    /// if this is at most half the report's horizon.
    uint256 public immutable saleWindow;
    /// @notice Maximum age of the oracle report when an epoch starts.
    uint256 public immutable maxReportAge;
    /// @notice The longest the start price may come after the sale close: a start round must be
    /// stamped in [saleEnd, saleEnd + maxPriceAge] (and before the end), else the epoch is
    /// refunded.
    uint256 public immutable maxPriceAge;
    /// @notice The ProtectionToken every epoch's token is a minimal clone of (EIP-1167).
    address public immutable tokenImplementation;

    struct Epoch {
        ProtectionToken token;
        uint40 saleEnd; // the sale closes and coverage starts
        uint40 end; // saleEnd + the report's horizon
        uint64 reportRound;
        uint64 valueAtRisk; // WAD, from the report at sale open
        uint64 premiumPerUnit; // WAD, from the report at sale open
        uint64 payoutPerUnit; // WAD, set at settlement (or the refund per unit)
        uint80 startPriceRound; // the first valid round at or after saleEnd
        bool started; // the start price is fixed
        bool settled; // settled or refunded: the epoch boundary has passed
        int128 startPrice; // the feed's answer (Chainlink answers fit int192; larger is refused)
        uint256 notional; // protection sold, collateral units
        // Requests queued to the boundary (ERC-7540 style) and what they became there.
        uint128 depositsRequested; // collateral
        uint128 depositShares; // shares minted for them at the boundary
        uint128 redeemsRequested; // shares
        uint128 redeemAssets; // collateral set aside for them at the boundary
        uint128 depositsClaimed; // collateral whose shares were claimed
        uint128 redeemsClaimed; // shares whose collateral was claimed
    }

    /// @notice Collateral owned by underwriters: deposits + premiums − withdrawals − payouts.
    uint256 public poolAssets;
    /// @notice Collateral owed to holders of settled epochs' protection tokens, not yet claimed.
    uint256 public reservedForClaims;
    /// @notice Collateral of deposit requests not yet processed at an epoch boundary.
    uint256 public pendingDeposits;
    /// @notice Collateral of processed redemption requests, not yet claimed.
    uint256 public reservedForRedemptions;
    /// @notice Id of the current (active) or last epoch; epochs are numbered from 1. Packed with
    /// `epochActive` in one slot, which startEpoch writes once; `_slotInUse` makes that slot
    /// non-zero from deployment, so even the first epoch pays a 2.9k rather than a 20k SSTORE.
    uint64 public currentEpoch;
    bool public epochActive;
    bool private _slotInUse;
    mapping(uint256 => Epoch) internal _epochs;
    /// @notice Queued requests per epoch and underwriter: collateral to deposit, shares to redeem.
    mapping(uint256 => mapping(address => uint256)) public depositRequest;
    mapping(uint256 => mapping(address => uint256)) public redeemRequest;

    event Deposited(address indexed underwriter, uint256 assets, uint256 shares);
    event Withdrawn(address indexed underwriter, uint256 assets, uint256 shares);
    event DepositRequested(uint256 indexed epochId, address indexed underwriter, uint256 assets);
    event RedeemRequested(uint256 indexed epochId, address indexed underwriter, uint256 shares);
    event DepositClaimed(uint256 indexed epochId, address indexed underwriter, uint256 shares);
    event RedeemClaimed(uint256 indexed epochId, address indexed underwriter, uint256 assets);
    event EpochStarted(
        uint256 indexed epochId,
        address token,
        uint64 saleEnd,
        uint64 end,
        uint64 valueAtRisk,
        uint64 premiumPerUnit
    );
    event CoverageStarted(uint256 indexed epochId, uint80 roundId, int256 startPrice);
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
    error PoolLocked(uint256 epochId);
    error StaleReport(uint64 observedAt);
    error InvalidPrice(int256 answer);
    error SaleNotOver(uint256 saleEnd);
    error NoPriceAfterSale(uint256 saleEnd);
    error CoverageAlreadyStarted();
    error CoverageNotStarted();
    error WrongStartRound(uint80 roundId);
    error NoStartPrice(uint256 saleEnd, uint256 deadline);
    error StartAvailable(uint80 roundId);
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
        tokenImplementation = address(new ProtectionToken(_collateralDecimals));
        _slotInUse = true;
    }

    /// @notice Shares carry the collateral's decimals.
    function decimals() public view override returns (uint8) {
        return _collateralDecimals;
    }

    // ---------------------------------------------------------------- underwriters

    /// @notice Deposits `assets` collateral for shares (rounded down; one virtual share and one
    /// virtual asset make donation-inflation attacks unprofitable). Only between epochs; during
    /// an epoch use `requestDeposit`.
    function deposit(uint256 assets) external nonReentrant returns (uint256 shares) {
        if (assets == 0) revert ZeroAmount();
        _requireIdle();
        shares = previewDeposit(assets);
        if (shares == 0) revert ZeroShares();
        _pull(msg.sender, assets);
        poolAssets += assets;
        _mint(msg.sender, shares);
        emit Deposited(msg.sender, assets, shares);
    }

    /// @notice Burns `shares` for their part of the pool (rounded down). Only between epochs;
    /// during an epoch use `requestRedeem`.
    function withdraw(uint256 shares) external nonReentrant returns (uint256 assets) {
        if (shares == 0) revert ZeroAmount();
        _requireIdle();
        assets = previewWithdraw(shares);
        _burn(msg.sender, shares);
        poolAssets -= assets;
        collateral.safeTransfer(msg.sender, assets);
        emit Withdrawn(msg.sender, assets, shares);
    }

    /// @notice Queues a deposit of `assets` to the current epoch's boundary: the collateral is
    /// taken now, earns and bears nothing of this epoch, and becomes shares at the share price
    /// after the epoch's settlement or refund (`claimDeposit`).
    function requestDeposit(uint256 assets) external nonReentrant {
        if (assets == 0) revert ZeroAmount();
        if (!epochActive) revert NoActiveEpoch();
        if (previewDeposit(assets) == 0) revert ZeroShares();
        uint256 id = currentEpoch;
        _epochs[id].depositsRequested += uint128(assets);
        depositRequest[id][msg.sender] += assets;
        pendingDeposits += assets;
        _pull(msg.sender, assets);
        emit DepositRequested(id, msg.sender, assets);
    }

    /// @notice Queues the redemption of `shares` to the current epoch's boundary: the shares are
    /// locked in the pool now, bear this epoch's outcome in full, and are paid at the share
    /// price after its settlement or refund (`claimRedeem`). An underwriter who sees a fall
    /// coming cannot leave before it is paid.
    function requestRedeem(uint256 shares) external nonReentrant {
        if (shares == 0) revert ZeroAmount();
        if (!epochActive) revert NoActiveEpoch();
        uint256 id = currentEpoch;
        _epochs[id].redeemsRequested += uint128(shares);
        redeemRequest[id][msg.sender] += shares;
        _transfer(msg.sender, address(this), shares);
        emit RedeemRequested(id, msg.sender, shares);
    }

    /// @notice Moves the shares a deposit request of epoch `epochId` became to its requester.
    function claimDeposit(uint256 epochId) external nonReentrant returns (uint256 shares) {
        Epoch storage e = _epochs[epochId];
        if (!e.settled) revert NotSettled(epochId);
        uint256 assets = depositRequest[epochId][msg.sender];
        if (assets == 0) revert NothingToClaim(epochId);
        delete depositRequest[epochId][msg.sender];
        uint256 done = e.depositsClaimed;
        shares = _proRata(done, assets, e.depositShares, e.depositsRequested);
        e.depositsClaimed = uint128(done + assets);
        _transfer(address(this), msg.sender, shares);
        emit DepositClaimed(epochId, msg.sender, shares);
    }

    /// @notice Pays the collateral a redemption request of epoch `epochId` became.
    function claimRedeem(uint256 epochId) external nonReentrant returns (uint256 assets) {
        Epoch storage e = _epochs[epochId];
        if (!e.settled) revert NotSettled(epochId);
        uint256 shares = redeemRequest[epochId][msg.sender];
        if (shares == 0) revert NothingToClaim(epochId);
        delete redeemRequest[epochId][msg.sender];
        uint256 done = e.redeemsClaimed;
        assets = _proRata(done, shares, e.redeemAssets, e.redeemsRequested);
        e.redeemsClaimed = uint128(done + shares);
        reservedForRedemptions -= assets;
        collateral.safeTransfer(msg.sender, assets);
        emit RedeemClaimed(epochId, msg.sender, assets);
    }

    /// @dev Underwriters enter and leave directly only between epochs: during one, the outcome
    /// becomes partly known, and a well-informed underwriter could leave before a payout (or
    /// join before premiums are released) at the others' expense.
    function _requireIdle() internal view {
        if (epochActive) revert PoolLocked(currentEpoch);
    }

    function previewDeposit(uint256 assets) public view returns (uint256) {
        return assets * (totalSupply() + 1) / (poolAssets + 1);
    }

    function previewWithdraw(uint256 shares) public view returns (uint256) {
        return shares * (poolAssets + 1) / (totalSupply() + 1);
    }

    // ---------------------------------------------------------------- epochs

    /// @notice Opens the next epoch's sale, priced from the oracle's latest report.
    function startEpoch() external nonReentrant returns (uint256 epochId) {
        if (epochActive) revert EpochIsActive();
        AcceptedReport memory r = oracle.latest(portfolioId);
        if (block.timestamp > uint256(r.observedAt) + maxReportAge) {
            revert StaleReport(r.observedAt);
        }
        if (2 * saleWindow > r.horizon) revert HorizonTooShort(r.horizon, saleWindow);
        if (r.horizon > MAX_HORIZON) revert HorizonTooLong(r.horizon, MAX_HORIZON);
        // The feed is not read here: the start price comes after the sale, and a feed that gives
        // none in time ends in refundEpoch (reading it would cost ~10k gas, more behind a proxy).

        uint256 premium = premiumPerUnitFor(r.confidence, r.valueAtRisk, r.expectedShortfall);
        epochId = ++currentEpoch;
        epochActive = true;
        // EIP-1167 clone carrying the epoch id (ProtectionToken derives its name from it).
        ProtectionToken token = ProtectionToken(
            Clones.cloneWithImmutableArgs(tokenImplementation, abi.encodePacked(uint64(epochId)))
        );
        uint40 saleEnd = uint40(block.timestamp + saleWindow);
        uint40 end = saleEnd + uint40(r.horizon);
        Epoch storage e = _epochs[epochId];
        e.token = token;
        e.saleEnd = saleEnd;
        e.end = end;
        e.reportRound = r.round;
        e.valueAtRisk = r.valueAtRisk;
        e.premiumPerUnit = uint64(premium);
        emit EpochStarted(epochId, address(token), saleEnd, end, r.valueAtRisk, uint64(premium));
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

    /// @notice Fixes the current epoch's start price at the round `findStartRound()` returns.
    function startCoverage() external nonReentrant {
        _fixStart(currentEpoch, findStartRound());
    }

    /// @notice The start round of the current epoch: the first feed round with a positive price
    /// stamped in [saleEnd, saleEnd + maxPriceAge] (and before the end), found by walking back from the
    /// latest round (at most `MAX_ROUND_SEARCH` steps).
    function findStartRound() public view returns (uint80 roundId) {
        if (!epochActive) revert NoActiveEpoch();
        Epoch storage e = _epochs[currentEpoch];
        if (e.started) revert CoverageAlreadyStarted();
        if (block.timestamp < e.saleEnd) revert SaleNotOver(e.saleEnd);
        (uint80 latest,,, uint256 updatedAt,) = priceFeed.latestRoundData();
        if (updatedAt < e.saleEnd) revert NoPriceAfterSale(e.saleEnd);
        bool complete;
        (roundId, complete) = _earliestValidRound(latest, 0, e.saleEnd, _startDeadline(e));
        if (!complete) revert SettlementRoundNotFound();
        if (roundId == 0) revert NoStartPrice(e.saleEnd, _startDeadline(e));
    }

    /// @notice Fixes the current epoch's start price at `roundId`, which must be the first
    /// round with a positive price stamped at or after the sale close (the contract checks it
    /// and the rounds before it), so no caller picks the reference price.
    function startCoverage(uint80 roundId) public nonReentrant {
        if (!epochActive) revert NoActiveEpoch();
        _startCoverage(currentEpoch, roundId);
    }

    function _startCoverage(uint256 epochId, uint80 roundId) internal {
        Epoch storage e = _epochs[epochId];
        if (e.started) revert CoverageAlreadyStarted();
        if (block.timestamp < e.saleEnd) revert SaleNotOver(e.saleEnd);
        (bool exists, int256 price, uint256 updatedAt) = _round(roundId);
        if (!exists || updatedAt < e.saleEnd || updatedAt > _startDeadline(e)) {
            revert WrongStartRound(roundId);
        }
        if (price <= 0) revert InvalidPrice(price);
        (uint80 earlier, bool complete) =
            _earliestValidRound(roundId - 1, 0, e.saleEnd, _startDeadline(e));
        if (!complete) revert SettlementRoundNotFound();
        if (earlier != 0) revert WrongStartRound(roundId);
        _fixStart(epochId, roundId);
    }

    /// @dev Fixes the start price at `roundId`, which `findStartRound` returned or
    /// `_startCoverage` verified.
    function _fixStart(uint256 epochId, uint80 roundId) internal {
        Epoch storage e = _epochs[epochId];
        (, int256 price,) = _round(roundId);
        if (price > type(int128).max) revert InvalidPrice(price);
        e.startPriceRound = roundId;
        e.startPrice = int128(price);
        e.started = true;
        emit CoverageStarted(epochId, roundId, price);
    }

    /// @dev The latest stamp a start round may carry: saleEnd + maxPriceAge, and before the
    /// end (a start price at the end would cover nothing).
    function _startDeadline(Epoch storage e) internal view returns (uint256) {
        uint256 d = uint256(e.saleEnd) + maxPriceAge;
        return d < e.end ? d : uint256(e.end) - 1;
    }

    /// @notice Settles the current epoch: fixes the start price first if nobody has, then
    /// settles at the round `findSettlementRound()` returns.
    function settle() external {
        if (!epochActive) revert NoActiveEpoch();
        if (!_epochs[currentEpoch].started) _fixStart(currentEpoch, findStartRound());
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
        (roundId, complete) = _earliestValidRound(
            latest, e.startPriceRound, e.end, uint256(e.end) + SETTLEMENT_GRACE
        );
        if (!complete) revert SettlementRoundNotFound();
        if (roundId == 0) revert NoSettlementPrice(e.end, uint256(e.end) + SETTLEMENT_GRACE);
    }

    /// @notice Settles the current epoch at `roundId`, which must be the settlement round (see
    /// `findSettlementRound`; the contract checks it and the rounds before it), so no caller can
    /// pick a favourable price. The start price must be fixed (`startCoverage`).
    function settle(uint80 roundId) public nonReentrant {
        if (!epochActive) revert NoActiveEpoch();
        uint256 epochId = currentEpoch;
        Epoch storage e = _epochs[epochId];
        if (block.timestamp < e.end) revert EpochNotOver(e.end);
        if (!e.started) revert CoverageNotStarted();
        uint256 graceEnd = uint256(e.end) + SETTLEMENT_GRACE;
        if (roundId <= e.startPriceRound) revert WrongSettlementRound(roundId);
        (bool exists, int256 endPrice, uint256 updatedAt) = _round(roundId);
        if (!exists || updatedAt < e.end || updatedAt > graceEnd) {
            revert WrongSettlementRound(roundId);
        }
        if (endPrice <= 0) revert InvalidPrice(endPrice);
        (uint80 earlier, bool complete) =
            _earliestValidRound(roundId - 1, e.startPriceRound, e.end, graceEnd);
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

    /// @notice Settlement fallback: the epoch is closed with every protection token redeemable
    /// through `claim` for the premium paid per unit, and the pool unlocked, when the feed gave
    /// no start price (no positive round stamped in [saleEnd, saleEnd + maxPriceAge], callable once that
    /// deadline has passed) or no settlement price (no positive round stamped in
    /// [end, end + SETTLEMENT_GRACE], callable once the grace period has passed). Refused while
    /// a start or settlement round exists.
    function refundEpoch() external nonReentrant {
        if (!epochActive) revert NoActiveEpoch();
        uint256 epochId = currentEpoch;
        Epoch storage e = _epochs[epochId];
        (uint80 latest,,, uint256 updatedAt,) = priceFeed.latestRoundData();
        if (!e.started) {
            uint256 deadline = _startDeadline(e);
            if (block.timestamp <= deadline) revert GracePeriodNotOver(deadline);
            if (updatedAt >= e.saleEnd) {
                (uint80 start, bool found) = _earliestValidRound(latest, 0, e.saleEnd, deadline);
                if (!found) revert SettlementRoundNotFound();
                if (start != 0) revert StartAvailable(start);
            }
        } else {
            uint256 graceEnd = uint256(e.end) + SETTLEMENT_GRACE;
            if (block.timestamp <= graceEnd) revert GracePeriodNotOver(graceEnd);
            if (updatedAt >= e.end) {
                (uint80 roundId, bool complete) =
                    _earliestValidRound(latest, e.startPriceRound, e.end, graceEnd);
                if (!complete) revert SettlementRoundNotFound();
                if (roundId != 0) revert SettlementAvailable(roundId);
            }
        }
        uint256 perUnit = e.premiumPerUnit;
        uint256 refund = e.notional * perUnit / WAD; // <= the premiums taken (rounded up)
        _close(e, perUnit, refund);
        emit EpochRefunded(epochId, uint64(perUnit), refund);
    }

    /// @dev The epoch boundary: the outcome is booked, then the queued redemptions are paid
    /// and the queued deposits enter, both at the share price after the outcome.
    function _close(Epoch storage e, uint256 perUnit, uint256 owed) internal {
        uint256 assets = poolAssets - owed;
        reservedForClaims += owed;
        e.payoutPerUnit = uint64(perUnit);
        e.settled = true;
        epochActive = false;
        uint256 supply = totalSupply();
        uint256 redeems = e.redeemsRequested;
        if (redeems != 0) {
            uint256 out = redeems * (assets + 1) / (supply + 1);
            _burn(address(this), redeems);
            supply -= redeems;
            assets -= out;
            reservedForRedemptions += out;
            e.redeemAssets = uint128(out);
        }
        uint256 deposits = e.depositsRequested;
        if (deposits != 0) {
            uint256 shares = deposits * (supply + 1) / (assets + 1);
            _mint(address(this), shares);
            assets += deposits;
            pendingDeposits -= deposits;
            e.depositShares = uint128(shares);
        }
        poolAssets = assets;
    }

    /// @dev Walks back from round `from` (not below `floor`) over the rounds stamped at or
    /// after `notBefore` and returns the earliest with a positive price stamped by `notAfter`
    /// (0 if none); `complete` is false if MAX_ROUND_SEARCH rounds did not reach a round
    /// stamped before `notBefore`, a missing round or `floor`.
    function _earliestValidRound(uint80 from, uint80 floor, uint256 notBefore, uint256 notAfter)
        internal
        view
        returns (uint80 roundId, bool complete)
    {
        uint80 r = from;
        for (uint256 i; i < MAX_ROUND_SEARCH; ++i) {
            if (r <= floor) return (roundId, true);
            (bool exists, int256 answer, uint256 stampedAt) = _round(r);
            if (!exists || stampedAt < notBefore) return (roundId, true);
            if (answer > 0 && stampedAt <= notAfter) roundId = r;
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

    /// @dev The part of `total` owed for `amount` of `whole` after `done` was already paid out,
    /// rounded on the cumulative amount so all parts add up to exactly `total`.
    function _proRata(uint256 done, uint256 amount, uint256 total, uint256 whole)
        internal
        pure
        returns (uint256)
    {
        return (done + amount) * total / whole - done * total / whole;
    }

    function _mulDivUp(uint256 a, uint256 b, uint256 d) internal pure returns (uint256) {
        uint256 p = a * b;
        return p == 0 ? 0 : (p - 1) / d + 1;
    }
}
