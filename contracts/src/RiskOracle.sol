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
    /// @notice keccak256(REPORT_TYPE), written out: solc hashes a string constant again at every
    /// use (~190 gas per report); the tests check that the two agree.
    bytes32 public constant REPORT_TYPEHASH =
        0x9d561ebe8e436e13679ca54ee29228e8be5b5606a44ce8d479fbb4275890d02e;
    /// @notice EIP-712 type of a batch signed once: referenced struct types follow the primary
    /// type (EIP-712 `encodeType`), and an array of structs is encoded as the keccak256 of the
    /// concatenated struct hashes.
    string public constant BATCH_TYPE =
        string.concat("RiskReportBatch(RiskReport[] reports)", REPORT_TYPE);
    /// @notice keccak256(BATCH_TYPE), written out as REPORT_TYPEHASH is.
    bytes32 public constant BATCH_TYPEHASH =
        0x5ec8e7b10f74ec2ccc8fbae4f79032814fdee57aae8729bcb910b7f0aa22fe9d;

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
        RiskReport memory r;
        _submit(report, signatures, q, false, _domainSeparatorV4(), r);
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
        bytes32 domain = _domainSeparatorV4();
        RiskReport memory r; // each report in turn (`_load`)
        uint256 freeMemory;
        assembly ("memory-safe") {
            freeMemory := mload(0x40)
        }
        for (uint256 i; i < reports.length; ++i) {
            _submit(reports[i], _signaturesAt(signatures, i), q, true, domain, r);
            // Nothing a report allocated outlives it: the next one reuses the memory instead
            // of expanding it (gas, issue 14).
            assembly ("memory-safe") {
                mstore(0x40, freeMemory)
            }
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
        RiskReport memory r; // each report in turn (`_load`)
        for (uint256 i; i < n; ++i) {
            hashes[i] = _load(reports[i], r);
            uint256 lim = _checkFields(r);
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
        uint256 lim = _checkFields(r);
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
            if (block.timestamp > uint256(r.observedAt) + _maxAge(lim)) {
                revert StaleReport(r.observedAt, block.timestamp, _maxAge(lim));
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
        uint256 lim = _limitsWord(portfolioId);
        return (uint32(_period(lim)), _widening(lim));
    }

    /// @notice Whether `report` passes every acceptance check against the stored report now
    /// (fields, age, round, interval, change limit), signatures aside; reverts with the reason
    /// otherwise. `propose` uses it to pick only acceptable proposals.
    function acceptable(RiskReport calldata report) external view returns (bool) {
        RiskReport memory r = report;
        uint256 lim = _checkFields(r);
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

    /// @dev A portfolio's `Limits` slot as one word, read with one SLOAD and unpacked by the
    /// helpers below (Solidity packs a struct's members from the low-order bits: maxAge 0-31,
    /// minInterval 32-63, maxVaRChange 64-127, changePeriod 128-159, breakerWidening 160-167).
    function _limitsWord(uint64 portfolioId) internal view returns (uint256 lim) {
        Limits storage l = _limits[portfolioId];
        assembly ("memory-safe") {
            lim := sload(l.slot)
        }
    }

    function _maxAge(uint256 lim) internal pure returns (uint32) {
        return uint32(lim);
    }

    function _minInterval(uint256 lim) internal pure returns (uint32) {
        return uint32(lim >> 32);
    }

    function _maxVaRChange(uint256 lim) internal pure returns (uint64) {
        return uint64(lim >> 64);
    }

    /// @dev The change period (elapsed >= minInterval always, so a period below minInterval
    /// already allows the full change to every report).
    function _period(uint256 lim) internal pure returns (uint256) {
        uint32 p = uint32(lim >> 128);
        return p != 0 ? p : DEFAULT_CHANGE_PERIOD;
    }

    function _widening(uint256 lim) internal pure returns (uint8) {
        uint8 w = uint8(lim >> 160);
        return w != 0 ? w : DEFAULT_BREAKER_WIDENING;
    }

    /// @dev With `skipAccepted`, a report whose round is already accepted is skipped with
    /// `ReportSkipped` instead of reverting `RoundNotIncreasing`.
    function _submit(
        RiskReport calldata report,
        Signature[] calldata signatures,
        uint256 q,
        bool skipAccepted,
        bytes32 domain,
        RiskReport memory r
    ) internal {
        if (signatures.length < q) revert InsufficientSignatures(signatures.length, q);
        bytes32 structHash = _load(report, r);
        StoredReport storage stored = _reports[r.portfolioId];
        uint256 a = stored.a;
        if (skipAccepted && r.round <= uint64(a)) {
            emit ReportSkipped(r.portfolioId, r.round, uint64(a));
            return;
        }
        uint256 lim = _checkFields(r);
        _checkHistory(r, lim, a);
        _verifyQuorum(_typedDigest(domain, structHash), signatures);
        _write(r, stored);
    }

    /// @dev Every signature must recover to a distinct authorized signer (the caller checked
    /// that there are at least `quorum` of them): low s (EIP-2), v in {27, 28}, a non-zero
    /// recovered address that is a signer, no signer twice. The loop runs in assembly over the
    /// calldata words (the slice's bounds were checked when it was decoded); what it finds wrong
    /// is reverted below with the same errors as `_recover` (gas, issue 14: ~250 per signature
    /// less than the Solidity loop over `_recover`).
    function _verifyQuorum(bytes32 digest, Signature[] calldata signatures) internal view {
        uint256 fault; // 0 = none, 1 = malleable, 2 = invalid, 3 = unauthorized, 4 = duplicate
        address signer;
        mapping(address => uint256) storage indexOf = _signerIndex;
        uint256 half = SECP256K1N_HALF;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, digest)
            let seen := 0
            let end := add(signatures.offset, mul(signatures.length, 0x60))
            for { let p := signatures.offset } lt(p, end) { p := add(p, 0x60) } {
                if gt(calldataload(add(p, 0x40)), half) {
                    fault := 1
                    break
                }
                if gt(sub(calldataload(p), 27), 1) {
                    // v not in {27, 28}
                    fault := 2
                    break
                }
                calldatacopy(add(m, 0x20), p, 0x60) // v (27 or 28, checked), r, s
                mstore(0x00, 0)
                pop(staticcall(gas(), 0x01, m, 0x80, 0x00, 0x20))
                signer := mload(0x00)
                if iszero(signer) {
                    fault := 2
                    break
                }
                // _signerIndex[signer]: keccak256(signer . slot)
                mstore(0x20, indexOf.slot)
                let bit := shl(sload(keccak256(0x00, 0x40)), 1)
                if eq(bit, 1) {
                    fault := 3
                    break
                }
                if and(seen, bit) {
                    fault := 4
                    break
                }
                seen := or(seen, bit)
            }
        }
        if (fault != 0) {
            if (fault == 1) revert MalleableSignature();
            if (fault == 2) revert InvalidSignature();
            if (fault == 3) revert UnauthorizedSigner(signer);
            revert DuplicateSigner(signer);
        }
    }

    /// @dev `all[i]` (i < all.length, checked by the caller) without the compiler's generic
    /// accessor: the same bounds checks as the ABI decoder (the array's offset and length fit
    /// in 64 bits and its last word lies inside the calldata; empty revert otherwise), fewer
    /// instructions (gas, issue 14).
    function _signaturesAt(Signature[][] calldata all, uint256 i)
        internal
        pure
        returns (Signature[] calldata sigs)
    {
        assembly ("memory-safe") {
            let rel := calldataload(add(all.offset, shl(5, i)))
            let start := add(all.offset, rel)
            let len := calldataload(start)
            sigs.offset := add(start, 0x20)
            sigs.length := len
            if or(
                or(gt(rel, 0xffffffffffffffff), gt(len, 0xffffffffffffffff)),
                gt(add(sigs.offset, mul(len, 0x60)), calldatasize())
            ) { revert(0, 0) }
        }
    }

    /// @dev The EIP-712 digest keccak256(0x1901 ‖ domain ‖ structHash), with the domain
    /// separator computed once per transaction by the caller.
    function _typedDigest(bytes32 domain, bytes32 structHash)
        internal
        pure
        returns (bytes32 digest)
    {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, hex"1901")
            mstore(add(m, 0x02), domain)
            mstore(add(m, 0x22), structHash)
            digest := keccak256(m, 0x42)
        }
    }

    function _batchDigest(bytes32[] memory hashes) internal view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(BATCH_TYPEHASH, keccak256(abi.encodePacked(hashes))))
        );
    }

    /// @dev The report's 11 calldata words copied into `r` in one go (the type hash put in the
    /// word before it for the time of one keccak, so the struct hash is hashed over the copy)
    /// instead of decoded field by field; a word with bits above its field's type is refused
    /// (empty revert, as the ABI decoder does). The caller allocates `r` once per transaction
    /// (a function returning a fresh struct pays ~250 gas to zero it first: gas, issue 14).
    function _load(RiskReport calldata report, RiskReport memory r)
        internal
        pure
        returns (bytes32 structHash)
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
            let before := sub(r, 0x20)
            let saved := mload(before)
            mstore(before, typeHash)
            calldatacopy(r, report, 0x160)
            structHash := keccak256(before, 0x180)
            mstore(before, saved)
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
    function _checkFields(RiskReport memory r) internal view returns (uint256 lim) {
        lim = _limitsWord(r.portfolioId);
        uint32 maxAge = _maxAge(lim);
        if (maxAge == 0) revert UnknownPortfolio(r.portfolioId);
        uint64 confidence = r.confidence;
        if (confidence == 0 || confidence >= WAD) revert InvalidConfidence(confidence);
        if (r.horizon == 0) revert InvalidHorizon();
        if (r.breakerStatus > BREAKER_COOLDOWN) revert InvalidBreakerStatus(r.breakerStatus);
        (uint64 var_, uint64 cvar) = (r.valueAtRisk, r.expectedShortfall);
        if (var_ > cvar || cvar > WAD) revert InvalidFigures(var_, cvar);
        uint64 observed = r.observedAt;
        // No overflow: a block time and a uint64 plus a uint32.
        unchecked {
            if (observed > block.timestamp + MAX_FUTURE_DRIFT) {
                revert FutureReport(observed, block.timestamp);
            }
            if (block.timestamp > uint256(observed) + maxAge) {
                revert StaleReport(observed, block.timestamp, maxAge);
            }
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
    function _checkHistory(RiskReport memory r, uint256 lim, uint256 a) internal pure {
        uint64 prevRound = uint64(a);
        uint64 round = r.round;
        if (round <= prevRound) revert RoundNotIncreasing(round, prevRound);
        unchecked {
            if (round - prevRound > MAX_ROUND_JUMP) revert RoundJumpTooLarge(round, prevRound);
        }
        if (prevRound == 0) return;
        uint64 prevObserved = _observedOf(a);
        uint64 observed = r.observedAt;
        uint256 earliest;
        unchecked {
            earliest = uint256(prevObserved) + _minInterval(lim); // < 2^41
        }
        if (observed <= prevObserved || observed < earliest) revert TooSoon(observed, earliest);
        uint256 maxChange = _maxVaRChange(lim);
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
        bytes32 c = r.configHash;
        uint256 fingerprint = _fingerprint(c);
        assembly ("memory-safe") {
            // The packing of `StoredReport` from r's memory words (each clean for its type:
            // checked in `_load`, or written by Solidity): round 0x20, observedAt 0x40, horizon
            // 0x60, confidence 0x80, method 0xa0, breakerStatus 0xc0, portfolioValue 0xe0,
            // valueAtRisk 0x100, expectedShortfall 0x120.
            let observed := mload(add(r, 0x40))
            if gt(observed, timestamp()) { observed := timestamp() }
            let a := or(mload(add(r, 0x20)), shl(64, observed))
            a := or(a, shl(104, mload(add(r, 0x100))))
            a := or(a, shl(164, mload(add(r, 0x120))))
            a := or(a, shl(224, sub(timestamp(), observed)))
            let b := or(mload(add(r, 0xe0)), shl(96, mload(add(r, 0x80))))
            b := or(b, shl(160, mload(add(r, 0x60))))
            b := or(b, shl(192, mload(add(r, 0xa0))))
            b := or(b, shl(200, mload(add(r, 0xc0))))
            b := or(b, shl(208, fingerprint))
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
        _emitAccepted(r);
    }

    /// @dev `emit ReportAccepted(...)` of `r`, encoded by hand (three data words): ~100 gas
    /// less per report than the compiler's encoder.
    function _emitAccepted(RiskReport memory r) internal {
        bytes32 topic = ReportAccepted.selector;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, mload(add(r, 0x100))) // valueAtRisk
            mstore(add(m, 0x20), mload(add(r, 0x120))) // expectedShortfall
            mstore(add(m, 0x40), mload(add(r, 0xc0))) // breakerStatus
            log3(m, 0x60, topic, mload(r), mload(add(r, 0x20))) // portfolioId, round
        }
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
