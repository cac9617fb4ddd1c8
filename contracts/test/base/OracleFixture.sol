// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TestBase} from "./TestBase.sol";
import {RiskOracle} from "../../src/RiskOracle.sol";
import {RiskReport, Signature} from "../../src/interfaces/IRiskOracle.sol";

/// @notice Shared set-up for tests that need an oracle: five signer keys, helpers that build
/// reports and sign them over an EIP-712 digest computed here, independently of the contract.
abstract contract OracleFixture is TestBase {
    // Written out in full (not taken from the contract) so a drift in either copy fails a test.
    bytes32 internal constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    bytes32 internal constant TYPEHASH = keccak256(
        "RiskReport(uint64 portfolioId,uint64 round,uint64 observedAt,uint32 horizon,"
        "uint64 confidence,uint8 method,uint8 breakerStatus,uint96 portfolioValue,"
        "uint64 valueAtRisk,uint64 expectedShortfall,bytes32 configHash)"
    );
    uint256 internal constant WAD = 1e18;
    uint256 internal constant SECP256K1N =
        0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141;
    uint256 internal constant T0 = 1_700_000_000;
    uint64 internal constant PID = 7;

    RiskOracle internal oracle;
    address internal owner = address(0x0A11CE);
    uint256[] internal keys;

    function _deployOracle(uint256 signerCount, uint8 quorum_) internal {
        vm.warp(T0);
        oracle = new RiskOracle(owner);
        for (uint256 i; i < signerCount; ++i) {
            uint256 key = 0x5157 + i * 0x1000;
            keys.push(key);
            vm.prank(owner);
            oracle.addSigner(vm.addr(key));
        }
        vm.prank(owner);
        oracle.setQuorum(quorum_);
        vm.prank(owner);
        oracle.setLimits(PID, 3600, 60, 0.5e18);
    }

    function _report(uint64 round, uint64 observedAt, uint64 var_, uint64 cvar_)
        internal
        pure
        returns (RiskReport memory r)
    {
        r = RiskReport({
            portfolioId: PID,
            round: round,
            observedAt: observedAt,
            horizon: 86_400,
            confidence: 0.99e18,
            method: 3,
            breakerStatus: 0,
            portfolioValue: 1_000_000e8,
            valueAtRisk: var_,
            expectedShortfall: cvar_,
            configHash: keccak256("varkeeper test config")
        });
    }

    function _domainSeparator(uint256 chainId, address verifyingContract)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(
            abi.encode(
                DOMAIN_TYPEHASH,
                keccak256("varkeeper RiskOracle"),
                keccak256("1"),
                chainId,
                verifyingContract
            )
        );
    }

    function _structHash(RiskReport memory r) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                TYPEHASH,
                r.portfolioId,
                r.round,
                r.observedAt,
                r.horizon,
                r.confidence,
                r.method,
                r.breakerStatus,
                r.portfolioValue,
                r.valueAtRisk,
                r.expectedShortfall,
                r.configHash
            )
        );
    }

    function _digestFor(RiskReport memory r, uint256 chainId, address verifyingContract)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(
            abi.encodePacked(
                hex"1901", _domainSeparator(chainId, verifyingContract), _structHash(r)
            )
        );
    }

    function _digest(RiskReport memory r) internal view returns (bytes32) {
        return _digestFor(r, block.chainid, address(oracle));
    }

    function _signDigest(uint256 key, bytes32 digest) internal pure returns (Signature memory s) {
        (s.v, s.r, s.s) = vm.sign(key, digest);
    }

    function _sign(uint256 key, RiskReport memory r) internal view returns (Signature memory) {
        return _signDigest(key, _digest(r));
    }

    /// @dev Signatures by keys[idx[0]], keys[idx[1]], ... in that order.
    function _sigs(RiskReport memory r, uint256[] memory idx)
        internal
        view
        returns (Signature[] memory sigs)
    {
        sigs = new Signature[](idx.length);
        bytes32 d = _digest(r);
        for (uint256 i; i < idx.length; ++i) {
            sigs[i] = _signDigest(keys[idx[i]], d);
        }
    }

    function _idx1(uint256 a) internal pure returns (uint256[] memory x) {
        x = new uint256[](1);
        x[0] = a;
    }

    function _idx3(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory x) {
        x = new uint256[](3);
        (x[0], x[1], x[2]) = (a, b, c);
    }

    function _sigs1(RiskReport memory r) internal view returns (Signature[] memory) {
        return _sigs(r, _idx1(0));
    }

    function _sigs3(RiskReport memory r) internal view returns (Signature[] memory) {
        return _sigs(r, _idx3(0, 1, 2));
    }
}
