// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {AcceptedReport, IRiskOracle, RiskReport, Signature} from "./interfaces/IRiskOracle.sol";

/// @title RiskOracle
/// @notice Stores the latest accepted risk report per portfolio. A report for
/// (portfolioId, round) is accepted once `quorum` distinct authorized signers have signed it
/// (EIP-712, domain "varkeeper RiskOracle" / "1"), either all in one `submit` transaction or
/// accumulated over several `propose` transactions (then the stored figures are the median of the
/// quorum). Anyone may relay. Rounds strictly increase; stale, future-dated, too-frequent and
/// (outside a breaker state) too-large VaR moves are refused with custom errors.
contract RiskOracle is IRiskOracle, Ownable, EIP712 {
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
    /// between the keeper and the chain).
    uint256 public constant MAX_FUTURE_DRIFT = 15;
    /// @notice Signer indices occupy bits 1..255 of a bitmap.
    uint256 public constant MAX_SIGNERS = 255;

    /// @notice Breaker status codes (the keeper's breaker state machine, issue 5).
    uint8 public constant BREAKER_NORMAL = 0;
    uint8 public constant BREAKER_TRIPPED = 1;
    uint8 public constant BREAKER_COOLDOWN = 2;

    // ---------------------------------------------------------------- storage

    /// @notice Signatures required for acceptance (packs into Ownable's slot).
    uint8 public quorum;
    /// @notice Bumped on every signer-set or quorum change; pending accumulations of an older
    /// epoch are discarded.
    uint32 public signerEpoch;

    address[] internal _signers;
    /// @dev 1-based position in `_signers`, 0 = not a signer.
    mapping(address => uint256) internal _signerIndex;

    struct Limits {
        uint32 maxAge; // seconds a report may be old when it arrives; 0 = portfolio not enabled
        uint32 minInterval; // seconds between observation times of accepted rounds
        uint64 maxVaRChange; // WAD relative change of VaR per round; 0 = unlimited
    }

    mapping(uint64 => Limits) public limits;

    /// @dev The accepted report in three slots:
    /// A = round|observedAt|valueAtRisk|expectedShortfall, B = portfolioValue|confidence|horizon|
    /// method|breakerStatus|acceptedAt, C = configHash.
    mapping(uint64 => AcceptedReport) internal _latest;

    struct Pending {
        uint32 epoch;
        uint8 count;
        uint256 signerBitmap;
        bytes32 modelHash; // horizon, confidence, method and configHash must agree
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

    // ---------------------------------------------------------------- events

    event SignerAdded(address indexed signer, uint32 epoch);
    event SignerRemoved(address indexed signer, uint32 epoch);
    event QuorumSet(uint8 quorum, uint32 epoch);
    event LimitsSet(
        uint64 indexed portfolioId, uint32 maxAge, uint32 minInterval, uint64 maxVaRChange
    );
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

    // ---------------------------------------------------------------- errors

    error ZeroAddress();
    error AlreadySigner(address signer);
    error NotSigner(address signer);
    error TooManySigners();
    error InvalidQuorum(uint256 quorum, uint256 signerCount);
    error InvalidLimits();
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
    error TooSoon(uint64 observedAt, uint256 earliest);
    error VaRChangeTooLarge(uint64 previous, uint64 proposed);
    error InsufficientSignatures(uint256 given, uint256 quorum);
    error MalleableSignature();
    error InvalidSignature();
    error UnauthorizedSigner(address recovered);
    error DuplicateSigner(address signer);
    error ModelMismatch();
    error NoReport(uint64 portfolioId);

    // ---------------------------------------------------------------- construction

    /// @param initialOwner manages signers, quorum and limits; holds no power over figures.
    constructor(address initialOwner) Ownable(initialOwner) EIP712("varkeeper RiskOracle", "1") {}

    // ---------------------------------------------------------------- owner

    function addSigner(address signer) external onlyOwner {
        if (signer == address(0)) revert ZeroAddress();
        if (_signerIndex[signer] != 0) revert AlreadySigner(signer);
        if (_signers.length >= MAX_SIGNERS) revert TooManySigners();
        _signers.push(signer);
        _signerIndex[signer] = _signers.length;
        uint32 epoch = ++signerEpoch;
        emit SignerAdded(signer, epoch);
    }

    function removeSigner(address signer) external onlyOwner {
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

    function setQuorum(uint8 newQuorum) external onlyOwner {
        if (newQuorum == 0 || newQuorum > _signers.length) {
            revert InvalidQuorum(newQuorum, _signers.length);
        }
        quorum = newQuorum;
        uint32 epoch = ++signerEpoch;
        emit QuorumSet(newQuorum, epoch);
    }

    /// @notice Enables a portfolio (maxAge > 0) and sets its acceptance limits.
    function setLimits(uint64 portfolioId, uint32 maxAge, uint32 minInterval, uint64 maxVaRChange)
        external
        onlyOwner
    {
        if (maxAge == 0) revert InvalidLimits();
        limits[portfolioId] = Limits(maxAge, minInterval, maxVaRChange);
        emit LimitsSet(portfolioId, maxAge, minInterval, maxVaRChange);
    }

    // ---------------------------------------------------------------- submission

    /// @notice Accepts `report` if `signatures` holds at least `quorum` valid signatures by
    /// distinct authorized signers (every given signature must be valid). Anyone may relay.
    function submit(RiskReport calldata report, Signature[] calldata signatures) external {
        _submit(report, signatures, quorum);
    }

    /// @notice `submit` for several portfolios in one transaction; all or nothing.
    function submitBatch(RiskReport[] calldata reports, Signature[][] calldata signatures)
        external
    {
        if (reports.length != signatures.length) revert LengthMismatch();
        uint256 q = quorum;
        for (uint256 i; i < reports.length; ++i) {
            _submit(reports[i], signatures[i], q);
        }
    }

    /// @notice Accepts several reports (any portfolios) signed together: each signature is over
    /// the EIP-712 `RiskReportBatch` of exactly these reports in this order, so the signature
    /// cost is paid once per batch, not once per portfolio. Every report passes the same checks
    /// as in `submit`; all or nothing.
    function submitBatchSigned(RiskReport[] calldata reports, Signature[] calldata signatures)
        external
    {
        uint256 n = reports.length;
        if (n == 0) revert EmptyBatch();
        uint256 q = quorum;
        if (signatures.length < q) revert InsufficientSignatures(signatures.length, q);
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            RiskReport memory r = reports[i];
            Limits memory lim = _checkFields(r);
            AcceptedReport storage stored = _latest[r.portfolioId];
            _checkHistory(r, lim, stored);
            hashes[i] = keccak256(abi.encode(REPORT_TYPEHASH, reports[i]));
            // Written at once so a later report of the same portfolio is checked against it;
            // a bad signature below reverts everything.
            _write(r, stored);
        }
        _verifyQuorum(_batchDigest(hashes), signatures);
    }

    /// @notice Records one signer's report for (portfolioId, round); when `quorum` distinct
    /// signers of the current signer epoch have proposed, the median of their figures is
    /// accepted. horizon, confidence, method and configHash must agree among the proposals.
    function propose(RiskReport calldata report, Signature calldata signature) external {
        RiskReport memory r = report;
        Limits memory lim = _checkFields(r);
        uint64 latestRound = _latest[r.portfolioId].round;
        if (r.round <= latestRound) revert RoundNotIncreasing(r.round, latestRound);
        address signer = _recover(hashReport(report), signature);
        uint256 index = _signerIndex[signer];
        if (index == 0) revert UnauthorizedSigner(signer);

        bytes32 key = keccak256(abi.encode(report.portfolioId, report.round));
        bytes32 modelHash = keccak256(
            abi.encode(report.horizon, report.confidence, report.method, report.configHash)
        );
        Pending storage p = _pending[key];
        uint32 epoch = signerEpoch;
        if (p.epoch != epoch || p.count == 0) {
            p.epoch = epoch;
            p.count = 0;
            p.signerBitmap = 0;
            p.modelHash = modelHash;
        } else if (p.modelHash != modelHash) {
            revert ModelMismatch();
        }
        uint256 bit = 1 << index;
        if (p.signerBitmap & bit != 0) revert DuplicateSigner(signer);
        p.signerBitmap |= bit;
        uint8 count = p.count;
        _proposals[key][count] = Proposal(
            report.observedAt,
            report.valueAtRisk,
            report.expectedShortfall,
            report.breakerStatus,
            report.portfolioValue
        );
        p.count = ++count;
        emit ReportProposed(report.portfolioId, report.round, signer, count);

        if (count >= quorum) {
            RiskReport memory m = _median(r, key, count);
            p.count = 0;
            p.signerBitmap = 0;
            // The median observation time lies between accepted proposals' times, but the
            // acceptance block may be later than theirs: check age again.
            if (block.timestamp > uint256(m.observedAt) + lim.maxAge) {
                revert StaleReport(m.observedAt, block.timestamp, lim.maxAge);
            }
            AcceptedReport storage stored = _latest[m.portfolioId];
            _checkHistory(m, lim, stored);
            _write(m, stored);
        }
    }

    // ---------------------------------------------------------------- views

    function latest(uint64 portfolioId) external view returns (AcceptedReport memory r) {
        r = _latest[portfolioId];
        if (r.round == 0) revert NoReport(portfolioId);
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
        AcceptedReport storage r = _latest[portfolioId];
        uint64 round = r.round;
        if (round == 0) revert NoReport(portfolioId);
        return (round, int256(uint256(r.valueAtRisk)), r.observedAt, r.observedAt, round);
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

    /// @notice Number of proposals recorded for (portfolioId, round) in the current signer epoch.
    function pendingCount(uint64 portfolioId, uint64 round) external view returns (uint8) {
        Pending storage p = _pending[keccak256(abi.encode(portfolioId, round))];
        return p.epoch == signerEpoch ? p.count : 0;
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

    function _submit(RiskReport calldata report, Signature[] calldata signatures, uint256 q)
        internal
    {
        if (signatures.length < q) revert InsufficientSignatures(signatures.length, q);
        RiskReport memory r = report;
        Limits memory lim = _checkFields(r);
        AcceptedReport storage stored = _latest[r.portfolioId];
        _checkHistory(r, lim, stored);
        _verifyQuorum(hashReport(report), signatures);
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

    function _recover(bytes32 digest, Signature calldata sig) internal pure returns (address) {
        // EIP-2: only the low-s form is accepted, so a signature has exactly one valid encoding.
        if (uint256(sig.s) > SECP256K1N_HALF) revert MalleableSignature();
        if (sig.v != 27 && sig.v != 28) revert InvalidSignature();
        address signer = ecrecover(digest, sig.v, sig.r, sig.s);
        if (signer == address(0)) revert InvalidSignature();
        return signer;
    }

    /// @dev Checks that need no previous report; returns the portfolio's limits.
    function _checkFields(RiskReport memory r) internal view returns (Limits memory lim) {
        lim = limits[r.portfolioId];
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

    /// @dev Checks against the stored report: round, interval, VaR change.
    function _checkHistory(RiskReport memory r, Limits memory lim, AcceptedReport storage stored)
        internal
        view
    {
        uint256 a;
        assembly ("memory-safe") {
            a := sload(stored.slot)
        }
        uint64 prevRound = uint64(a);
        if (r.round <= prevRound) revert RoundNotIncreasing(r.round, prevRound);
        if (prevRound != 0) {
            uint64 prevObserved = uint64(a >> 64);
            uint256 earliest = uint256(prevObserved) + lim.minInterval;
            if (r.observedAt <= prevObserved || r.observedAt < earliest) {
                revert TooSoon(r.observedAt, earliest);
            }
            uint64 prevVaR = uint64(a >> 128);
            if (lim.maxVaRChange != 0 && prevVaR != 0 && r.breakerStatus == BREAKER_NORMAL) {
                uint64 v = r.valueAtRisk;
                uint256 diff = v > prevVaR ? v - prevVaR : prevVaR - v;
                if (diff * WAD > uint256(lim.maxVaRChange) * prevVaR) {
                    revert VaRChangeTooLarge(prevVaR, v);
                }
            }
        }
    }

    /// @dev Writes the three slots of `AcceptedReport` whole (Solidity's packing order: first
    /// field in the lowest bits) and emits the acceptance.
    function _write(RiskReport memory r, AcceptedReport storage stored) internal {
        uint256 a = uint256(r.round) | uint256(r.observedAt) << 64 | uint256(r.valueAtRisk) << 128
            | uint256(r.expectedShortfall) << 192;
        uint256 b = uint256(r.portfolioValue) | uint256(r.confidence) << 96 | uint256(r.horizon)
            << 160 | uint256(r.method) << 192 | uint256(r.breakerStatus) << 200
            | uint256(uint40(block.timestamp)) << 208;
        bytes32 c = r.configHash;
        assembly ("memory-safe") {
            let slot := stored.slot
            sstore(slot, a)
            sstore(add(slot, 1), b)
            sstore(add(slot, 2), c)
        }
        emit ReportAccepted(
            r.portfolioId, r.round, r.valueAtRisk, r.expectedShortfall, r.breakerStatus
        );
    }

    /// @dev Median of the `count` recorded proposals, field by field. With an even count the
    /// lower median is taken, so every accepted figure was signed by some signer.
    function _median(RiskReport memory report, bytes32 key, uint256 count)
        internal
        view
        returns (RiskReport memory m)
    {
        mapping(uint256 => Proposal) storage props = _proposals[key];
        uint256[] memory observed = new uint256[](count);
        uint256[] memory vars = new uint256[](count);
        uint256[] memory cvars = new uint256[](count);
        uint256[] memory breakers = new uint256[](count);
        uint256[] memory values = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            Proposal memory p = props[i];
            observed[i] = p.observedAt;
            vars[i] = p.valueAtRisk;
            cvars[i] = p.expectedShortfall;
            breakers[i] = p.breakerStatus;
            values[i] = p.portfolioValue;
        }
        uint256 mid = (count - 1) / 2;
        m = RiskReport(
            report.portfolioId,
            report.round,
            0,
            report.horizon,
            report.confidence,
            report.method,
            0,
            0,
            0,
            0,
            report.configHash
        );
        m.observedAt = uint64(_select(observed, mid));
        m.valueAtRisk = uint64(_select(vars, mid));
        m.expectedShortfall = uint64(_select(cvars, mid));
        m.breakerStatus = uint8(_select(breakers, mid));
        m.portfolioValue = uint96(_select(values, mid));
    }

    /// @dev The k-th smallest element (insertion sort; quorum is small).
    function _select(uint256[] memory a, uint256 k) internal pure returns (uint256) {
        for (uint256 i = 1; i < a.length; ++i) {
            uint256 x = a[i];
            uint256 j = i;
            while (j > 0 && a[j - 1] > x) {
                a[j] = a[j - 1];
                --j;
            }
            a[j] = x;
        }
        return a[k];
    }
}
