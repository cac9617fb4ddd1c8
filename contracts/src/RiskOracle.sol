// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {AcceptedReport, IRiskOracle, RiskReport, Signature} from "./interfaces/IRiskOracle.sol";

/// @title RiskOracle
/// @notice Stores the latest accepted risk report per portfolio. A report for
/// (portfolioId, round) is accepted once `quorum` (>= 1) distinct authorized signers have signed
/// it (EIP-712, domain "varkeeper RiskOracle" / "1"), either all in one `submit` transaction or
/// accumulated over several `propose` transactions (then the stored figures are one signer's
/// whole report: the median by VaR). Anyone may relay. Rounds strictly increase by bounded
/// steps; stale, future-dated and too-frequent reports are refused, and VaR and CVaR may move
/// only as fast as the portfolio's change limit allows for the time elapsed (wider, never
/// unlimited, while the breaker is tripped). The owner configures signers, quorum and limits
/// freely only during setup (until `finalizeSetup` or the first accepted report); afterwards
/// every such change is queued and takes effect `changeDelay` seconds later (issue 14).
contract RiskOracle is IRiskOracle, Ownable2Step, EIP712 {
    // ---------------------------------------------------------------- constants

    /// @notice EIP-712 type string of the report (the keeper hashes the identical string).
    string public constant REPORT_TYPE = "RiskReport(uint64 portfolioId,uint64 round,uint64 observedAt,uint32 horizon,"
        "uint64 confidence,uint8 method,uint8 breakerStatus,uint96 portfolioValue,"
        "uint64 valueAtRisk,uint64 expectedShortfall,bytes32 configHash)";
    bytes32 public constant REPORT_TYPEHASH = keccak256(bytes(REPORT_TYPE));
    /// @notice EIP-712 type of a batch signed once: referenced struct types follow the primary
    /// type (EIP-712 `encodeType`), and an array of structs is encoded as the keccak256 of the
    /// concatenated struct hashes.
    string public constant BATCH_TYPE =
        string.concat("RiskReportBatch(RiskReport[] reports)", REPORT_TYPE);
    bytes32 public constant BATCH_TYPEHASH = keccak256(bytes(BATCH_TYPE));

    uint256 internal constant WAD = 1e18;
    /// @dev secp256k1 n / 2: signatures with a larger s are the malleable twin (EIP-2).
    uint256 internal constant SECP256K1N_HALF =
        0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    /// @notice Seconds a report's observation time may lie ahead of the block time (clock skew
    /// between the keeper and the chain); such a report is stored with the block time instead,
    /// so `block.timestamp - updatedAt` never underflows for a consumer.
    uint256 public constant MAX_FUTURE_DRIFT = 15;
    /// @notice Signer indices occupy bits 1..255 of a bitmap.
    uint256 public constant MAX_SIGNERS = 255;
    /// @notice Largest step between a portfolio's accepted rounds (also from 0 to the first), so
    /// no report can push the round to 2^64-1 and brick the portfolio.
    uint256 public constant MAX_ROUND_JUMP = 2 ** 32;

    /// @notice Breaker status codes (the keeper's breaker state machine, issue 5).
    uint8 public constant BREAKER_NORMAL = 0;
    uint8 public constant BREAKER_TRIPPED = 1;
    uint8 public constant BREAKER_COOLDOWN = 2;

    /// @notice The change limit's period when none is set.
    uint32 public constant DEFAULT_CHANGE_PERIOD = 3600;
    /// @notice The factor the change limit widens by while the breaker status is not normal,
    /// when none is set.
    uint8 public constant DEFAULT_BREAKER_WIDENING = 4;
    uint8 public constant MAX_BREAKER_WIDENING = 20;
    uint32 public constant MAX_CHANGE_PERIOD = 30 days;

    /// @notice Delay of a queued configuration change after setup, and its bounds.
    uint32 public constant DEFAULT_CHANGE_DELAY = 2 days;
    uint32 public constant MIN_CHANGE_DELAY = 1 hours;
    uint32 public constant MAX_CHANGE_DELAY = 30 days;

    // ---------------------------------------------------------------- storage

    /// @notice Signatures required for acceptance; 0 until set, and no portfolio can be enabled
    /// before it is. (quorum, signerEpoch, setupFinalized, changeDelay share one slot.)
    uint8 public quorum;
    /// @notice Bumped on every signer-set or quorum change; proposals are keyed by it, so those
    /// of an older epoch can never complete.
    uint32 public signerEpoch;
    /// @notice False during setup (configuration immediate); true after `finalizeSetup` or the
    /// first accepted report (configuration only through `queueChange` + `executeChange`).
    bool public setupFinalized;
    /// @notice Seconds between queueing a configuration change and its earliest execution.
    uint32 public changeDelay;

    address[] internal _signers;
    /// @dev 1-based position in `_signers`, 0 = not a signer.
    mapping(address => uint256) internal _signerIndex;

    /// @dev One slot per portfolio; `limits(id)` returns the first three fields (v1 ABI).
    struct Limits {
        uint32 maxAge; // seconds a report may be old when it arrives; 0 = portfolio not enabled
        uint32 minInterval; // seconds between observation times of accepted rounds
        uint64 maxVaRChange; // WAD relative change of VaR and CVaR per period; 0 = unlimited
        uint32 changePeriod; // seconds; 0 = DEFAULT_CHANGE_PERIOD
        uint8 breakerWidening; // factor while the breaker is not normal; 0 = default
    }

    mapping(uint64 => Limits) internal _limits;

    /// @dev The accepted report in three slots, packed so that what changes at every report
    /// shares one slot (gas, issue 14): A = round (64 bits) | observedAt (40) | valueAtRisk (60)
    /// | expectedShortfall (60) | acceptedAt - observedAt (32); B = portfolioValue (96) |
    /// confidence (64) | horizon (32) | method (8) | breakerStatus (8) | fingerprint of
    /// configHash (48, `_fingerprint`); C = configHash. The narrower fields hold every value
    /// that can be accepted: observedAt <= block time + 15 s, VaR <= CVaR <= 1e18 < 2^60, and
    /// acceptedAt - observedAt <= maxAge < 2^32. A report reads A and B and writes A; B only
    /// when the value, breaker status or model changed; C only when the fingerprint changed
    /// (a new configHash whose 47-bit fingerprint equals the old one's, odds 2^-47 per model
    /// change, would leave the old configHash in `latest`; the figures are stored regardless,
    /// and only a quorum of signers can submit a configHash at all).
    struct StoredReport {
        uint256 a;
        uint256 b;
        bytes32 c;
    }

    mapping(uint64 => StoredReport) internal _reports;

    /// @dev Proposals for one (portfolioId, round, modelHash, signerEpoch).
    struct Pending {
        uint8 count;
        uint256 signerBitmap;
    }

    struct Proposal {
        uint64 observedAt;
        uint64 valueAtRisk;
        uint64 expectedShortfall;
        uint8 breakerStatus;
        uint96 portfolioValue;
    }

    mapping(bytes32 => Pending) internal _pending;
    mapping(bytes32 => mapping(uint256 => Proposal)) internal _proposals;

    /// @notice Earliest execution time of a queued configuration change, by id =
    /// keccak256(calldata of the change); 0 = not queued.
    mapping(bytes32 => uint256) public changeEta;

    // ---------------------------------------------------------------- events

    event SignerAdded(address indexed signer, uint32 epoch);
    event SignerRemoved(address indexed signer, uint32 epoch);
    event QuorumSet(uint8 quorum, uint32 epoch);
    event LimitsSet(
        uint64 indexed portfolioId, uint32 maxAge, uint32 minInterval, uint64 maxVaRChange
    );
    event ChangePolicySet(uint64 indexed portfolioId, uint32 changePeriod, uint8 breakerWidening);
    event ChangeDelaySet(uint32 delay);
    event SetupFinalized();
    event ChangeQueued(bytes32 indexed id, bytes4 indexed selector, bytes data, uint256 eta);
    event ChangeCancelled(bytes32 indexed id);
    event ChangeExecuted(bytes32 indexed id);
    event ReportProposed(
        uint64 indexed portfolioId, uint64 indexed round, address indexed signer, uint8 count
    );
    event ReportAccepted(
        uint64 indexed portfolioId,
        uint64 indexed round,
        uint64 valueAtRisk,
        uint64 expectedShortfall,
        uint8 breakerStatus
    );
    /// @notice A `submitBatch` report whose round was already accepted (e.g. copied out of the
    /// batch and landed first) is skipped, not fatal to the batch.
    event ReportSkipped(uint64 indexed portfolioId, uint64 indexed round, uint64 latestRound);

    // ---------------------------------------------------------------- errors

    error ZeroAddress();
    error AlreadySigner(address signer);
    error NotSigner(address signer);
    error TooManySigners();
    error InvalidQuorum(uint256 quorum, uint256 signerCount);
    error InvalidLimits();
    error QuorumNotSet();
    error SetupClosed();
    error InvalidDelay(uint256 delay);
    error UnsupportedChange(bytes4 selector);
    error ChangeAlreadyQueued(bytes32 id);
    error ChangeNotQueued(bytes32 id);
    error ChangeNotReady(bytes32 id, uint256 eta);
    error LengthMismatch();
    error EmptyBatch();
    error UnknownPortfolio(uint64 portfolioId);
    error InvalidConfidence(uint64 confidence);
    error InvalidHorizon();
    error InvalidBreakerStatus(uint8 status);
    error InvalidFigures(uint64 valueAtRisk, uint64 expectedShortfall);
    error FutureReport(uint64 observedAt, uint256 blockTime);
    error StaleReport(uint64 observedAt, uint256 blockTime, uint32 maxAge);
    error RoundNotIncreasing(uint64 round, uint64 latestRound);
    error RoundJumpTooLarge(uint64 round, uint64 latestRound);
    error TooSoon(uint64 observedAt, uint256 earliest);
    error VaRChangeTooLarge(uint64 previous, uint64 proposed);
    error CVaRChangeTooLarge(uint64 previous, uint64 proposed);
    error InsufficientSignatures(uint256 given, uint256 quorum);
    error MalleableSignature();
    error InvalidSignature();
    error UnauthorizedSigner(address recovered);
    error DuplicateSigner(address signer);
    error NoReport(uint64 portfolioId);

    // ---------------------------------------------------------------- construction

    /// @param initialOwner configures signers, quorum and limits (immediately during setup,
    /// behind `changeDelay` afterwards); holds no power over figures.
    constructor(address initialOwner) Ownable(initialOwner) EIP712("varkeeper RiskOracle", "1") {
        changeDelay = DEFAULT_CHANGE_DELAY;
    }

    // ---------------------------------------------------------------- configuration

    /// @dev The configuration setters: the owner during setup, afterwards only this contract
    /// itself, i.e. `executeChange` of a change queued at least `changeDelay` earlier.
    modifier onlyConfig() {
        if (msg.sender != address(this)) {
            _checkOwner();
            if (setupFinalized) revert SetupClosed();
        }
        _;
    }

    function addSigner(address signer) external onlyConfig {
        if (signer == address(0)) revert ZeroAddress();
        if (_signerIndex[signer] != 0) revert AlreadySigner(signer);
        if (_signers.length >= MAX_SIGNERS) revert TooManySigners();
        _signers.push(signer);
        _signerIndex[signer] = _signers.length;
        uint32 epoch = ++signerEpoch;
        emit SignerAdded(signer, epoch);
    }

    function removeSigner(address signer) external onlyConfig {
        uint256 index = _signerIndex[signer];
        if (index == 0) revert NotSigner(signer);
        uint256 count = _signers.length;
        if (count - 1 < quorum) revert InvalidQuorum(quorum, count - 1);
        address last = _signers[count - 1];
        _signers[index - 1] = last;
        _signerIndex[last] = index;
        _signers.pop();
        delete _signerIndex[signer];
        uint32 epoch = ++signerEpoch;
        emit SignerRemoved(signer, epoch);
    }

    function setQuorum(uint8 newQuorum) external onlyConfig {
        if (newQuorum == 0 || newQuorum > _signers.length) {
            revert InvalidQuorum(newQuorum, _signers.length);
        }
        quorum = newQuorum;
        uint32 epoch = ++signerEpoch;
        emit QuorumSet(newQuorum, epoch);
    }

    /// @notice Enables a portfolio (maxAge > 0) and sets its acceptance limits; refused while no
    /// quorum is set (`QuorumNotSet`), so no report can ever be accepted with zero signatures.
    /// Keeps the portfolio's change policy.
    function setLimits(uint64 portfolioId, uint32 maxAge, uint32 minInterval, uint64 maxVaRChange)
        external
        onlyConfig
    {
        if (maxAge == 0) revert InvalidLimits();
        if (quorum == 0) revert QuorumNotSet();
        Limits storage l = _limits[portfolioId];
        (l.maxAge, l.minInterval, l.maxVaRChange) = (maxAge, minInterval, maxVaRChange);
        emit LimitsSet(portfolioId, maxAge, minInterval, maxVaRChange);
    }

    /// @notice The change limit's time scale: VaR and CVaR may each move by at most
    /// maxVaRChange * min(elapsed, changePeriod) / changePeriod of their previous value, where
    /// elapsed is the time since the previous acceptance; while the breaker status is not normal
    /// the bound is `breakerWidening` times wider. 0 selects the defaults.
    function setChangePolicy(uint64 portfolioId, uint32 changePeriod, uint8 breakerWidening)
        external
        onlyConfig
    {
        if (changePeriod > MAX_CHANGE_PERIOD || breakerWidening > MAX_BREAKER_WIDENING) {
            revert InvalidLimits();
        }
        Limits storage l = _limits[portfolioId];
        (l.changePeriod, l.breakerWidening) = (changePeriod, breakerWidening);
        emit ChangePolicySet(portfolioId, changePeriod, breakerWidening);
    }

    function setChangeDelay(uint32 delay) external onlyConfig {
        if (delay < MIN_CHANGE_DELAY || delay > MAX_CHANGE_DELAY) revert InvalidDelay(delay);
        changeDelay = delay;
        emit ChangeDelaySet(delay);
    }

    /// @notice Ends setup early (it also ends at the first accepted report): from now on the
    /// configuration changes only through `queueChange` / `executeChange`.
    function finalizeSetup() external onlyOwner {
        if (quorum == 0) revert QuorumNotSet();
        if (!setupFinalized) {
            setupFinalized = true;
            emit SetupFinalized();
        }
    }

    /// @notice Queues a configuration change: `data` is the calldata of `addSigner`,
    /// `removeSigner`, `setQuorum`, `setLimits`, `setChangePolicy` or `setChangeDelay`. It can
    /// be executed by anyone `changeDelay` seconds later, and cancelled by the owner until then.
    function queueChange(bytes calldata data) external onlyOwner returns (bytes32 id) {
        bytes4 selector = bytes4(data);
        if (
            selector != this.addSigner.selector && selector != this.removeSigner.selector
                && selector != this.setQuorum.selector && selector != this.setLimits.selector
                && selector != this.setChangePolicy.selector
                && selector != this.setChangeDelay.selector
        ) revert UnsupportedChange(selector);
        id = keccak256(data);
        if (changeEta[id] != 0) revert ChangeAlreadyQueued(id);
        uint256 eta = block.timestamp + changeDelay;
        changeEta[id] = eta;
        emit ChangeQueued(id, selector, data, eta);
    }

    function cancelChange(bytes calldata data) external onlyOwner {
        bytes32 id = keccak256(data);
        if (changeEta[id] == 0) revert ChangeNotQueued(id);
        delete changeEta[id];
        emit ChangeCancelled(id);
    }

    /// @notice Applies a queued change once its delay has passed (anyone may call); the
    /// change's own checks run now and its revert, if any, is passed on.
    function executeChange(bytes calldata data) external {
        bytes32 id = keccak256(data);
        uint256 eta = changeEta[id];
        if (eta == 0) revert ChangeNotQueued(id);
        if (block.timestamp < eta) revert ChangeNotReady(id, eta);
        delete changeEta[id];
        (bool ok, bytes memory ret) = address(this).call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
        emit ChangeExecuted(id);
    }

    // ---------------------------------------------------------------- submission

    /// @notice Accepts `report` if `signatures` holds at least `quorum` valid signatures by
    /// distinct authorized signers (every given signature must be valid). Anyone may relay.
    function submit(RiskReport calldata report, Signature[] calldata signatures) external {
        (uint256 q, bool finalized) = _quorum();
        _submit(report, signatures, q, false);
        _closeSetup(finalized);
    }

    /// @notice `submit` for several portfolios in one transaction. A report whose round is
    /// already accepted is skipped (`ReportSkipped`), so landing a copy of one report first
    /// cannot sink the batch; any other refusal reverts the whole batch.
    function submitBatch(RiskReport[] calldata reports, Signature[][] calldata signatures)
        external
    {
        if (reports.length != signatures.length) revert LengthMismatch();
        (uint256 q, bool finalized) = _quorum();
        for (uint256 i; i < reports.length; ++i) {
            _submit(reports[i], signatures[i], q, true);
        }
        _closeSetup(finalized);
    }

    /// @notice Accepts several reports (any portfolios) signed together: each signature is over
    /// the EIP-712 `RiskReportBatch` of exactly these reports in this order, so the signature
    /// cost is paid once per batch, not once per portfolio. Every report passes the same checks
    /// as in `submit` (a repeated portfolio is credited only the observation time between its
    /// reports by the change limit); all or nothing.
    function submitBatchSigned(RiskReport[] calldata reports, Signature[] calldata signatures)
        external
    {
        uint256 n = reports.length;
        if (n == 0) revert EmptyBatch();
        (uint256 q, bool finalized) = _quorum();
        if (signatures.length < q) revert InsufficientSignatures(signatures.length, q);
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            RiskReport memory r;
            (r, hashes[i]) = _load(reports[i]);
            Limits memory lim = _checkFields(r);
            StoredReport storage stored = _reports[r.portfolioId];
            _checkHistory(r, lim, stored.a);
            // Written at once so a later report of the same portfolio is checked against it;
            // a bad signature below reverts everything.
            _write(r, stored);
        }
        _verifyQuorum(_batchDigest(hashes), signatures);
        _closeSetup(finalized);
    }

    /// @notice Records one signer's report. Proposals are grouped by (portfolioId, round, model
    /// hash, signer epoch), model hash = keccak256(horizon, confidence, method, configHash): a
    /// proposal for another model opens its own group instead of blocking this one, and a
    /// signer-set change starts new groups. When a group has `quorum` distinct signers, the
    /// report of the signer with the median VaR is accepted whole (for an even count, of the two
    /// middle reports the one whose VaR is nearer the last accepted VaR).
    function propose(RiskReport calldata report, Signature calldata signature) external {
        RiskReport memory r = report;
        Limits memory lim = _checkFields(r);
        uint64 latestRound = uint64(_reports[r.portfolioId].a);
        if (r.round <= latestRound) revert RoundNotIncreasing(r.round, latestRound);
        address signer = _recover(hashReport(report), signature);
        uint256 index = _signerIndex[signer];
        if (index == 0) revert UnauthorizedSigner(signer);
        (uint256 q, bool finalized) = _quorum();

        bytes32 key = _proposalKey(
            r.portfolioId,
            r.round,
            modelHash(r.horizon, r.confidence, r.method, r.configHash),
            signerEpoch
        );
        Pending storage p = _pending[key];
        uint256 bit = 1 << index;
        if (p.signerBitmap & bit != 0) revert DuplicateSigner(signer);
        p.signerBitmap |= bit;
        uint8 count = p.count;
        _proposals[key][count] = Proposal(
            r.observedAt, r.valueAtRisk, r.expectedShortfall, r.breakerStatus, r.portfolioValue
        );
        p.count = ++count;
        emit ReportProposed(r.portfolioId, r.round, signer, count);

        if (count >= q) {
            StoredReport storage stored = _reports[r.portfolioId];
            uint256 a = stored.a;
            // Fewer than q acceptable proposals: recorded, the round waits for more.
            if (!_applyMedian(r, key, count, _varOf(a), q)) return;
            // The chosen report may be older than the block that completes the quorum.
            if (block.timestamp > uint256(r.observedAt) + lim.maxAge) {
                revert StaleReport(r.observedAt, block.timestamp, lim.maxAge);
            }
            _checkHistory(r, lim, a);
            _write(r, stored);
            _closeSetup(finalized);
        }
    }

    // ---------------------------------------------------------------- views

    /// @notice A portfolio's acceptance limits (the v1 getter; `changePolicy` has the rest).
    function limits(uint64 portfolioId)
        external
        view
        returns (uint32 maxAge, uint32 minInterval, uint64 maxVaRChange)
    {
        Limits storage l = _limits[portfolioId];
        return (l.maxAge, l.minInterval, l.maxVaRChange);
    }

    /// @notice The change limit's effective period and breaker widening (defaults resolved).
    function changePolicy(uint64 portfolioId)
        external
        view
        returns (uint32 changePeriod, uint8 breakerWidening)
    {
        Limits memory l = _limits[portfolioId];
        return (uint32(_period(l)), _widening(l));
    }

    /// @notice Whether `report` passes every acceptance check against the stored report now
    /// (fields, age, round, interval, change limit), signatures aside; reverts with the reason
    /// otherwise. `propose` uses it to pick only acceptable proposals.
    function acceptable(RiskReport calldata report) external view returns (bool) {
        RiskReport memory r = report;
        Limits memory lim = _checkFields(r);
        _checkHistory(r, lim, _reports[r.portfolioId].a);
        return true;
    }

    /// @notice What proposals are grouped by besides (portfolioId, round, signer epoch).
    function modelHash(uint32 horizon, uint64 confidence, uint8 method, bytes32 configHash)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(horizon, confidence, method, configHash));
    }

    function latest(uint64 portfolioId) external view returns (AcceptedReport memory r) {
        StoredReport storage stored = _reports[portfolioId];
        uint256 a = stored.a;
        if (uint64(a) == 0) revert NoReport(portfolioId);
        uint256 b = stored.b;
        r.round = uint64(a);
        r.observedAt = _observedOf(a);
        r.valueAtRisk = _varOf(a);
        r.expectedShortfall = _cvarOf(a);
        r.acceptedAt = uint40(r.observedAt + (a >> 224));
        r.portfolioValue = uint96(b);
        r.confidence = uint64(b >> 96);
        r.horizon = uint32(b >> 160);
        r.method = uint8(b >> 192);
        r.breakerStatus = uint8(b >> 200);
        r.configHash = stored.c;
    }

    /// @notice Chainlink-style read of a portfolio's VaR: answer = VaR as a WAD fraction
    /// (`decimals()` = 18), roundId = report round, startedAt = updatedAt = observation time.
    function latestRoundData(uint64 portfolioId)
        external
        view
        returns (
            uint80 roundId,
            int256 answer,
            uint256 startedAt,
            uint256 updatedAt,
            uint80 answeredInRound
        )
    {
        uint256 a = _reports[portfolioId].a;
        uint64 round = uint64(a);
        if (round == 0) revert NoReport(portfolioId);
        uint64 observed = _observedOf(a);
        return (round, int256(uint256(_varOf(a))), observed, observed, round);
    }

    function decimals() external pure returns (uint8) {
        return 18;
    }

    function signers() external view returns (address[] memory) {
        return _signers;
    }

    function isSigner(address account) external view returns (bool) {
        return _signerIndex[account] != 0;
    }

    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice Number of proposals recorded for (portfolioId, round) with this model hash in the
    /// current signer epoch (see `modelHash`).
    function pendingCount(uint64 portfolioId, uint64 round, bytes32 modelHash_)
        external
        view
        returns (uint8)
    {
        return _pending[_proposalKey(portfolioId, round, modelHash_, signerEpoch)].count;
    }

    /// @notice EIP-712 digest of a `RiskReportBatch` (what `submitBatchSigned` verifies).
    function hashBatch(RiskReport[] calldata reports) external view returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](reports.length);
        for (uint256 i; i < reports.length; ++i) {
            hashes[i] = keccak256(abi.encode(REPORT_TYPEHASH, reports[i]));
        }
        return _batchDigest(hashes);
    }

    /// @notice EIP-712 digest the signers sign: keccak256(0x1901 ‖ domainSeparator ‖ structHash).
    function hashReport(RiskReport calldata report) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(REPORT_TYPEHASH, report)));
    }

    // ---------------------------------------------------------------- internals

    /// @dev The quorum, which must be set (it is before any portfolio can be enabled; checked
    /// again so no path can ever accept a report on zero signatures), and whether setup is over
    /// (same slot).
    function _quorum() internal view returns (uint256 q, bool finalized) {
        (q, finalized) = (quorum, setupFinalized);
        if (q == 0) revert QuorumNotSet();
    }

    /// @dev The first accepted report ends setup.
    function _closeSetup(bool finalized) internal {
        if (!finalized) {
            setupFinalized = true;
            emit SetupFinalized();
        }
    }

    function _proposalKey(uint64 portfolioId, uint64 round, bytes32 model, uint32 epoch)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(portfolioId, round, model, epoch));
    }

    /// @dev The change period (elapsed >= minInterval always, so a period below minInterval
    /// already allows the full change to every report).
    function _period(Limits memory l) internal pure returns (uint256) {
        return l.changePeriod != 0 ? l.changePeriod : DEFAULT_CHANGE_PERIOD;
    }

    function _widening(Limits memory l) internal pure returns (uint8) {
        return l.breakerWidening != 0 ? l.breakerWidening : DEFAULT_BREAKER_WIDENING;
    }

    /// @dev With `skipAccepted`, a report whose round is already accepted is skipped with
    /// `ReportSkipped` instead of reverting `RoundNotIncreasing`.
    function _submit(
        RiskReport calldata report,
        Signature[] calldata signatures,
        uint256 q,
        bool skipAccepted
    ) internal {
        if (signatures.length < q) revert InsufficientSignatures(signatures.length, q);
        (RiskReport memory r, bytes32 structHash) = _load(report);
        StoredReport storage stored = _reports[r.portfolioId];
        uint256 a = stored.a;
        if (skipAccepted && r.round <= uint64(a)) {
            emit ReportSkipped(r.portfolioId, r.round, uint64(a));
            return;
        }
        Limits memory lim = _checkFields(r);
        _checkHistory(r, lim, a);
        _verifyQuorum(_hashTypedDataV4(structHash), signatures);
        _write(r, stored);
    }

    /// @dev Every signature must recover to a distinct authorized signer (the caller checked
    /// that there are at least `quorum` of them).
    function _verifyQuorum(bytes32 digest, Signature[] calldata signatures) internal view {
        uint256 seen;
        for (uint256 i; i < signatures.length; ++i) {
            address signer = _recover(digest, signatures[i]);
            uint256 index = _signerIndex[signer];
            if (index == 0) revert UnauthorizedSigner(signer);
            uint256 bit = 1 << index;
            if (seen & bit != 0) revert DuplicateSigner(signer);
            seen |= bit;
        }
    }

    function _batchDigest(bytes32[] memory hashes) internal view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(BATCH_TYPEHASH, keccak256(abi.encodePacked(hashes))))
        );
    }

    /// @dev The report's 11 calldata words copied to memory in one go (after the type hash, so
    /// the struct hash is one keccak over the copy) instead of decoded field by field; a word
    /// with bits above its field's type is refused (empty revert, as the ABI decoder does).
    function _load(RiskReport calldata report)
        internal
        pure
        returns (RiskReport memory r, bytes32 structHash)
    {
        bytes32 typeHash = REPORT_TYPEHASH;
        assembly ("memory-safe") {
            // Refuse non-canonical words (as the ABI decoder would): high bits above each
            // field's type (uint64 x5, uint32, uint8 x2, uint96, uint64 x2; bytes32 is whole).
            let dirty := or(shr(64, calldataload(report)), shr(64, calldataload(add(report, 0x20))))
            dirty := or(dirty, shr(64, calldataload(add(report, 0x40))))
            dirty := or(dirty, shr(32, calldataload(add(report, 0x60))))
            dirty := or(dirty, shr(64, calldataload(add(report, 0x80))))
            dirty := or(dirty, shr(8, calldataload(add(report, 0xa0))))
            dirty := or(dirty, shr(8, calldataload(add(report, 0xc0))))
            dirty := or(dirty, shr(96, calldataload(add(report, 0xe0))))
            dirty := or(dirty, shr(64, calldataload(add(report, 0x100))))
            dirty := or(dirty, shr(64, calldataload(add(report, 0x120))))
            if dirty { revert(0, 0) }
            let m := mload(0x40)
            mstore(m, typeHash)
            calldatacopy(add(m, 0x20), report, 0x160)
            structHash := keccak256(m, 0x180)
            r := add(m, 0x20)
            mstore(0x40, add(m, 0x180))
        }
    }

    function _recover(bytes32 digest, Signature calldata sig)
        internal
        view
        returns (address signer)
    {
        uint256 v;
        uint256 s;
        assembly ("memory-safe") {
            v := calldataload(sig)
            s := calldataload(add(sig, 0x40))
        }
        // EIP-2: only the low-s form is accepted, so a signature has exactly one valid encoding.
        if (s > SECP256K1N_HALF) revert MalleableSignature();
        if (v != 27 && v != 28) revert InvalidSignature();
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, digest)
            mstore(add(m, 0x20), v)
            calldatacopy(add(m, 0x40), add(sig, 0x20), 0x40) // r, s
            mstore(0x00, 0)
            pop(staticcall(gas(), 0x01, m, 0x80, 0x00, 0x20))
            signer := mload(0x00)
        }
        if (signer == address(0)) revert InvalidSignature();
    }

    /// @dev Checks that need no previous report; returns the portfolio's limits.
    function _checkFields(RiskReport memory r) internal view returns (Limits memory lim) {
        lim = _limits[r.portfolioId];
        if (lim.maxAge == 0) revert UnknownPortfolio(r.portfolioId);
        if (r.confidence == 0 || r.confidence >= WAD) revert InvalidConfidence(r.confidence);
        if (r.horizon == 0) revert InvalidHorizon();
        if (r.breakerStatus > BREAKER_COOLDOWN) revert InvalidBreakerStatus(r.breakerStatus);
        if (r.valueAtRisk > r.expectedShortfall || r.expectedShortfall > WAD) {
            revert InvalidFigures(r.valueAtRisk, r.expectedShortfall);
        }
        if (r.observedAt > block.timestamp + MAX_FUTURE_DRIFT) {
            revert FutureReport(r.observedAt, block.timestamp);
        }
        if (block.timestamp > uint256(r.observedAt) + lim.maxAge) {
            revert StaleReport(r.observedAt, block.timestamp, lim.maxAge);
        }
    }

    /// @dev 48 bits of keccak256(configHash) with the top bit set (so never 0, the value of an
    /// empty slot B): slot C is rewritten only when this changes.
    function _fingerprint(bytes32 configHash) internal pure returns (uint256 f) {
        assembly ("memory-safe") {
            mstore(0x00, configHash)
            f := or(and(keccak256(0x00, 0x20), 0x7fffffffffff), 0x800000000000)
        }
    }

    /// @dev Fields of slot A (see `StoredReport`).
    function _observedOf(uint256 a) internal pure returns (uint64) {
        return uint64(uint40(a >> 64));
    }

    function _varOf(uint256 a) internal pure returns (uint64) {
        return uint64((a >> 104) & (2 ** 60 - 1));
    }

    function _cvarOf(uint256 a) internal pure returns (uint64) {
        return uint64((a >> 164) & (2 ** 60 - 1));
    }

    /// @dev Checks against the stored report (`a` is its slot A): round (increasing, bounded
    /// jump), interval, and the change of VaR and CVaR for the time elapsed since the previous
    /// observation.
    function _checkHistory(RiskReport memory r, Limits memory lim, uint256 a) internal pure {
        uint64 prevRound = uint64(a);
        uint64 round = r.round;
        if (round <= prevRound) revert RoundNotIncreasing(round, prevRound);
        unchecked {
            if (round - prevRound > MAX_ROUND_JUMP) revert RoundJumpTooLarge(round, prevRound);
        }
        if (prevRound == 0) return;
        uint64 prevObserved = _observedOf(a);
        uint64 observed = r.observedAt;
        uint256 earliest = uint256(prevObserved) + lim.minInterval;
        if (observed <= prevObserved || observed < earliest) revert TooSoon(observed, earliest);
        uint256 maxChange = lim.maxVaRChange;
        if (maxChange == 0) return;
        // Allowed relative move: maxVaRChange * min(elapsed, period) / period, times the
        // breaker widening while the breaker is not normal. Elapsed runs on observation times,
        // which only increase, lie at most MAX_FUTURE_DRIFT ahead of the block and at most
        // maxAge behind it: reports repeated in one transaction share the time that passed,
        // and no sequence of reports is credited more than real time + maxAge + drift.
        // |next - prev| * WAD * period > allowance * prev is refused; a zero previous figure is
        // not limited (there is no scale to move relative to). No overflow: differences and
        // figures < 2^64, WAD < 2^60, period <= 2^32, allowance < 2^64 * 2^32 * 2^5.
        unchecked {
            uint256 period = _period(lim);
            uint256 elapsed = observed - prevObserved; // > 0, checked above
            if (elapsed > period) elapsed = period;
            uint256 allowance = maxChange * elapsed;
            if (r.breakerStatus != BREAKER_NORMAL) allowance *= _widening(lim);
            uint256 scale = WAD * period;
            uint256 prev = _varOf(a);
            uint256 next = r.valueAtRisk;
            if (prev != 0 && (next > prev ? next - prev : prev - next) * scale > allowance * prev) {
                revert VaRChangeTooLarge(uint64(prev), uint64(next));
            }
            prev = _cvarOf(a);
            next = r.expectedShortfall;
            if (prev != 0 && (next > prev ? next - prev : prev - next) * scale > allowance * prev) {
                revert CVaRChangeTooLarge(uint64(prev), uint64(next));
            }
        }
    }

    /// @dev Writes the three slots of `StoredReport` whole and emits the acceptance. An
    /// observation time ahead of the block (within MAX_FUTURE_DRIFT) is stored as the block
    /// time. The callers checked the bounds the packing relies on (`_checkFields`, and the
    /// age check before every write).
    function _write(RiskReport memory r, StoredReport storage stored) internal {
        uint256 observed = r.observedAt > block.timestamp ? block.timestamp : r.observedAt;
        uint256 a = uint256(r.round) | observed << 64 | uint256(r.valueAtRisk) << 104
            | uint256(r.expectedShortfall) << 164 | (block.timestamp - observed) << 224;
        bytes32 c = r.configHash;
        uint256 b = uint256(r.portfolioValue) | uint256(r.confidence) << 96 | uint256(r.horizon)
            << 160 | uint256(r.method) << 192 | uint256(r.breakerStatus) << 200 | _fingerprint(c)
            << 208;
        assembly ("memory-safe") {
            let slot := stored.slot
            sstore(slot, a)
            let previousB := sload(add(slot, 1))
            // Slot B usually repeats (same value, breaker status and model): not rewritten
            // then. Slot C is not touched unless the configHash fingerprint changed.
            if iszero(eq(previousB, b)) {
                sstore(add(slot, 1), b)
                if iszero(eq(shr(208, previousB), shr(208, b))) {
                    sstore(add(slot, 2), c)
                }
            }
        }
        emit ReportAccepted(
            r.portfolioId, r.round, r.valueAtRisk, r.expectedShortfall, r.breakerStatus
        );
    }

    /// @dev Replaces the figures of `r` (observedAt, VaR, CVaR, breaker status, value) by those
    /// of one proposal of the group: among the proposals that would pass the acceptance checks
    /// now (`acceptable`: age, interval, change limit), the one with the median VaR (ties by
    /// CVaR, then by order of arrival). For an even count, of the two middle proposals the one
    /// whose VaR is nearer `prevVaR` (the last accepted VaR; the lower one on a tie or without a
    /// previous report) is taken, so a faulty signer can pull the result toward the status quo,
    /// never past an honest figure. Returns false, leaving `r` alone, while fewer than `q`
    /// proposals pass: a faulty proposal that has gone stale or breaks the change limit is
    /// never picked, so it cannot make the honest proposals that complete the quorum revert
    /// (issue 14, found by the adversarial invariant suite).
    function _applyMedian(
        RiskReport memory r,
        bytes32 key,
        uint256 total,
        uint64 prevVaR,
        uint256 q
    ) internal view returns (bool) {
        mapping(uint256 => Proposal) storage props = _proposals[key];
        Proposal[] memory ps = new Proposal[](total);
        uint256 count;
        for (uint256 i; i < total; ++i) {
            Proposal memory p = props[i];
            (r.observedAt, r.valueAtRisk, r.expectedShortfall) =
            (p.observedAt, p.valueAtRisk, p.expectedShortfall);
            (r.breakerStatus, r.portfolioValue) = (p.breakerStatus, p.portfolioValue);
            try this.acceptable(r) returns (bool ok) {
                if (ok) ps[count++] = p;
            } catch {}
        }
        if (count < q) return false;
        // Insertion sort by (VaR, CVaR); stable, so equal figures keep their order of arrival.
        for (uint256 i = 1; i < count; ++i) {
            Proposal memory x = ps[i];
            uint256 j = i;
            while (j > 0 && _after(ps[j - 1], x)) {
                ps[j] = ps[j - 1];
                --j;
            }
            ps[j] = x;
        }
        Proposal memory m = ps[(count - 1) / 2];
        if (count % 2 == 0 && prevVaR != 0) {
            Proposal memory upper = ps[count / 2];
            uint256 dLow =
                m.valueAtRisk > prevVaR ? m.valueAtRisk - prevVaR : prevVaR - m.valueAtRisk;
            uint256 dUp = upper.valueAtRisk > prevVaR
                ? upper.valueAtRisk - prevVaR
                : prevVaR - upper.valueAtRisk;
            if (dUp < dLow) m = upper;
        }
        r.observedAt = m.observedAt;
        r.valueAtRisk = m.valueAtRisk;
        r.expectedShortfall = m.expectedShortfall;
        r.breakerStatus = m.breakerStatus;
        r.portfolioValue = m.portfolioValue;
        return true;
    }

    function _after(Proposal memory x, Proposal memory y) internal pure returns (bool) {
        if (x.valueAtRisk != y.valueAtRisk) return x.valueAtRisk > y.valueAtRisk;
        return x.expectedShortfall > y.expectedShortfall;
    }
}
