// Issue 2: raw libsecp256k1 signing rate vs the full EIP-1559 path (RLP encode, Keccak signing
// hash, RFC 6979 low-s sign, raw signed bytes, transaction hash) on one thread, in one run.
// Target: full >= 80 % of raw.
#include <benchmark/benchmark.h>
#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "chain/keccak.hpp"
#include "chain/transaction.hpp"

using namespace varkeeper::chain;

namespace {
const SecretKey& key() {
  static const SecretKey k =
      *SecretKey::from_hex("0x4646464646464646464646464646464646464646464646464646464646464646");
  return k;
}
}  // namespace

static void BM_RawSecp256k1SignRecoverable(benchmark::State& state) {
  secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN);
  unsigned char seed[32];
  RAND_bytes(seed, sizeof seed);
  if (secp256k1_context_randomize(ctx, seed) != 1) state.SkipWithError("randomize failed");
  Hash32 digest = keccak256(std::string_view("varkeeper"));
  secp256k1_ecdsa_recoverable_signature sig;
  unsigned char out[64];
  int recid = 0;
  for (auto _ : state) {
    secp256k1_ecdsa_sign_recoverable(ctx, &sig, digest.data(), key().reveal().data(), nullptr,
                                     nullptr);
    secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, out, &recid, &sig);
    benchmark::DoNotOptimize(out);
    digest[0] ^= out[0];  // a new message each time, as in real use
  }
  secp256k1_context_destroy(ctx);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawSecp256k1SignRecoverable)->MinTime(3.0);

static void BM_Eip1559SignAndEncode(benchmark::State& state) {
  Eip1559Transaction tx;
  tx.chain_id = 1;
  tx.nonce = 7;
  tx.max_priority_fee_per_gas = 2'000'000'000;
  tx.max_fee_per_gas = 60'000'000'000ULL;
  tx.gas_limit = 90'000;
  tx.to = Address{};
  tx.value = 0;
  tx.data = Bytes(4 + 32 * 14, 0x5a);  // about the size of a RiskOracle.submit call
  for (auto _ : state) {
    const SignedTransaction stx = sign_transaction(tx, key());
    Bytes raw = encode_signed(stx);
    const Hash32 hash = keccak256(raw);
    benchmark::DoNotOptimize(raw);
    benchmark::DoNotOptimize(hash);
    ++tx.nonce;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Eip1559SignAndEncode)->MinTime(3.0);

BENCHMARK_MAIN();
