// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OracleFixture} from "./base/OracleFixture.sol";
import {RiskOracle} from "../src/RiskOracle.sol";
import {RiskReport, Signature} from "../src/interfaces/IRiskOracle.sol";

/// @notice The golden EIP-712 vector shared with the C++ tests (tests/data/risk_report_eip712.json).
/// The constants below were NOT produced by this contract. They come from cast 1.7.1:
///   TYPEHASH  = cast keccak "<type string>"
///   DOMAIN    = cast keccak $(cast abi-encode "f(bytes32,bytes32,bytes32,uint256,address)"
///               <EIP712Domain typehash> $(cast keccak "varkeeper RiskOracle") $(cast keccak "1")
///               31337 0x5FbDB2315678afecb367f032d93F642f64180aa3)
///   STRUCT    = cast keccak $(cast abi-encode "f(bytes32,uint64,...,bytes32)" TYPEHASH <fields>)
///   DIGEST    = cast keccak 0x1901‖DOMAIN‖STRUCT
///   signature = cast wallet sign --private-key <anvil key 0> --data --from-file typed.json
///               (cast hashes the EIP-712 JSON itself), identical to
///               cast wallet sign --private-key <key> --no-hash DIGEST,
///               and `cast wallet verify --data` confirms 0xf39F...2266 signed it.
contract GoldenVectorTest is OracleFixture {
    address internal constant VERIFYING = 0x5FbDB2315678afecb367f032d93F642f64180aa3;
    uint256 internal constant ANVIL_KEY_0 =
        0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80;
    address internal constant ANVIL_ADDR_0 = 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266;

    bytes32 internal constant GOLDEN_TYPEHASH =
        0x9d561ebe8e436e13679ca54ee29228e8be5b5606a44ce8d479fbb4275890d02e;
    bytes32 internal constant GOLDEN_DOMAIN =
        0x1c12a8948f80d478bb0d9d08b9f868f7f07e2014f8522a536e9e9dfe58f17ed4;
    bytes32 internal constant GOLDEN_STRUCT =
        0x0eeb5076cc3c75778bf457bf24a02d5d6300b2f7fc02f7c9aaca1bdd30730650;
    bytes32 internal constant GOLDEN_DIGEST =
        0xeb73ed301b6c66379bd3e582b15dffd4b9c2339c7b5b410fd38ca27a08a66aa0;
    bytes32 internal constant GOLDEN_R =
        0x423a4615792cdfe91096ef3955fb1ab45d54f03fa9ce1bbe4da1c07e10183fe8;
    bytes32 internal constant GOLDEN_S =
        0x2ad5f62fe9c264e6bbd0e90622254cf1654c1d0653182604c4b0791e4c1aa97e;
    uint8 internal constant GOLDEN_V = 27;

    // RiskReportBatch([golden, second]) — same cast procedure with the batch typed data.
    bytes32 internal constant BATCH_TYPEHASH_CAST =
        0x5ec8e7b10f74ec2ccc8fbae4f79032814fdee57aae8729bcb910b7f0aa22fe9d;
    bytes32 internal constant BATCH_DIGEST =
        0x3c09332cc103ec58ead9ac3fe129c1cec46672d820780383db67a4464a510a81;
    bytes32 internal constant BATCH_R =
        0x61387b671bb6165f99e37a533f4b1e2c93434f43361dcfa8e188316a068c8165;
    bytes32 internal constant BATCH_S =
        0x0d9fdb9c78400ecff6c2c951916658cdd08b31a5543c4151fa722d3d68392579;
    uint8 internal constant BATCH_V = 27;

    function _golden() internal pure returns (RiskReport memory) {
        return RiskReport({
            portfolioId: 1,
            round: 42,
            observedAt: 1_700_000_000,
            horizon: 86_400,
            confidence: 0.99e18,
            method: 3,
            breakerStatus: 0,
            portfolioValue: 12_500_000e8,
            valueAtRisk: 0.052e18,
            expectedShortfall: 0.0713e18,
            configHash: keccak256("varkeeper golden config v1")
        });
    }

    function _second() internal pure returns (RiskReport memory) {
        return RiskReport({
            portfolioId: 2,
            round: 7,
            observedAt: 1_700_000_060,
            horizon: 3600,
            confidence: 0.95e18,
            method: 6,
            breakerStatus: 1,
            portfolioValue: 3100e8,
            valueAtRisk: 0.018e18,
            expectedShortfall: 0.0245e18,
            configHash: keccak256("varkeeper golden config v1")
        });
    }

    function _goldenBatch() internal pure returns (RiskReport[] memory b) {
        b = new RiskReport[](2);
        b[0] = _golden();
        b[1] = _second();
    }

    /// @dev Puts a RiskOracle's code at the vector's verifying contract and makes `owner_` its
    /// owner (Ownable's `_owner` is slot 0; etch copies code, not storage).
    function _oracleAtGoldenAddress(address owner_) internal returns (RiskOracle o) {
        RiskOracle template = new RiskOracle(owner_);
        vm.etch(VERIFYING, address(template).code);
        vm.store(VERIFYING, bytes32(0), bytes32(uint256(uint160(owner_))));
        o = RiskOracle(VERIFYING);
    }

    function test_golden_anvilKeyZeroIsTheDocumentedAccount() public pure {
        assertEq(vm.addr(ANVIL_KEY_0), ANVIL_ADDR_0, "anvil account 0");
    }

    function test_golden_testHelpersReproduceCastConstants() public pure {
        RiskReport memory r = _golden();
        assertEq(TYPEHASH, GOLDEN_TYPEHASH, "type hash");
        assertEq(_domainSeparator(31337, VERIFYING), GOLDEN_DOMAIN, "domain separator");
        assertEq(_structHash(r), GOLDEN_STRUCT, "struct hash");
        assertEq(_digestFor(r, 31337, VERIFYING), GOLDEN_DIGEST, "digest");
    }

    function test_golden_contractDigestEqualsVector() public {
        vm.chainId(31337);
        RiskOracle o = _oracleAtGoldenAddress(owner);
        assertEq(o.REPORT_TYPEHASH(), GOLDEN_TYPEHASH, "type hash");
        assertEq(o.DOMAIN_SEPARATOR(), GOLDEN_DOMAIN, "domain separator");
        assertEq(o.hashReport(_golden()), GOLDEN_DIGEST, "digest");
    }

    function test_golden_signatureByAnvilKeyEqualsVector() public pure {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ANVIL_KEY_0, GOLDEN_DIGEST);
        assertEq(v, GOLDEN_V, "v");
        assertEq(r, GOLDEN_R, "r");
        assertEq(s, GOLDEN_S, "s");
        assertEq(ecrecover(GOLDEN_DIGEST, GOLDEN_V, GOLDEN_R, GOLDEN_S), ANVIL_ADDR_0, "recover");
    }

    function test_golden_oracleAcceptsTheVectorSignature() public {
        vm.chainId(31337);
        RiskOracle o = _oracleAtGoldenAddress(owner);
        vm.startPrank(owner);
        o.addSigner(ANVIL_ADDR_0);
        o.setQuorum(1);
        o.setLimits(1, 3600, 0, 0);
        vm.stopPrank();
        vm.warp(1_700_000_010);
        Signature[] memory sigs = new Signature[](1);
        sigs[0] = Signature(GOLDEN_V, GOLDEN_R, GOLDEN_S);
        o.submit(_golden(), sigs);
        assertEq(o.latest(1).round, 42, "accepted");
        assertEq(o.latest(1).valueAtRisk, 0.052e18, "VaR");
    }

    function test_golden_batchDigestAndSignatureEqualVector() public {
        vm.chainId(31337);
        RiskOracle o = _oracleAtGoldenAddress(owner);
        assertEq(o.BATCH_TYPEHASH(), BATCH_TYPEHASH_CAST, "batch type hash");
        assertEq(o.hashBatch(_goldenBatch()), BATCH_DIGEST, "batch digest");
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ANVIL_KEY_0, BATCH_DIGEST);
        assertEq(v, BATCH_V, "v");
        assertEq(r, BATCH_R, "r");
        assertEq(s, BATCH_S, "s");
    }

    function test_golden_oracleAcceptsTheBatchVector() public {
        vm.chainId(31337);
        RiskOracle o = _oracleAtGoldenAddress(owner);
        vm.startPrank(owner);
        o.addSigner(ANVIL_ADDR_0);
        o.setQuorum(1);
        o.setLimits(1, 3600, 0, 0);
        o.setLimits(2, 3600, 0, 0);
        vm.stopPrank();
        vm.warp(1_700_000_100);
        Signature[] memory sigs = new Signature[](1);
        sigs[0] = Signature(BATCH_V, BATCH_R, BATCH_S);
        o.submitBatchSigned(_goldenBatch(), sigs);
        assertEq(o.latest(1).round, 42, "first");
        assertEq(o.latest(2).round, 7, "second");
        assertEq(o.latest(2).breakerStatus, 1, "second breaker");
    }
}
