// Seeded random Solidity ABI types and values, shared by the cast differential test and the
// hostile-input test. Header-only; every draw comes from the caller's std::mt19937_64.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "chain/abi.hpp"
#include "chain/hex.hpp"

namespace varkeeper::test {

class AbiRandom {
 public:
  explicit AbiRandom(std::uint64_t seed) : rng_(seed) {}

  std::mt19937_64& rng() { return rng_; }

  std::size_t below(std::size_t n) {
    return static_cast<std::size_t>(std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng_));
  }
  bool coin() { return below(2) == 0; }

  // A random type; `depth` bounds nesting of arrays and tuples.
  chain::AbiType type(int depth) {
    using namespace chain;
    const std::size_t pick = below(depth > 0 ? 11 : 7);
    switch (pick) {
      case 0: return abi_uint(8 * (1 + below(32)));
      case 1: return abi_int(8 * (1 + below(32)));
      case 2: return abi_address();
      case 3: return abi_bool();
      case 4: return abi_fixed_bytes(1 + below(32));
      case 5: return abi_bytes();
      case 6: return abi_string();
      case 7: return abi_array(type(depth - 1));
      case 8: return abi_fixed_array(type(depth - 1), 1 + below(3));
      default: {
        std::vector<AbiType> members;
        const std::size_t n = 1 + below(3);
        for (std::size_t i = 0; i < n; ++i) members.push_back(type(depth - 1));
        return abi_tuple(std::move(members));
      }
    }
  }

  chain::U256 bits(std::size_t n) {
    using chain::U256;
    // Mostly edge values, otherwise uniform over n bits.
    const U256 max = n >= 256 ? ~U256(0) : (U256(1) << n) - 1;
    switch (below(6)) {
      case 0: return 0;
      case 1: return max;
      case 2: return U256(below(256)) & max;
      default: {
        U256 v = 0;
        for (int k = 0; k < 4; ++k) v = (v << 64) | U256(rng_());
        const std::size_t width = 1 + below(n);  // random magnitude, not just huge ones
        return width >= 256 ? v : (v & ((U256(1) << width) - 1));
      }
    }
  }

  // Text cast accepts inside quotes and as a bare argument: no '"' or '\'.
  std::string text() {
    static const std::vector<std::string> pieces = {"a",
                                                    "b",
                                                    "Z",
                                                    "0",
                                                    "9",
                                                    " ",
                                                    "-",
                                                    "_",
                                                    ".",
                                                    ":",
                                                    ";",
                                                    "!",
                                                    "?",
                                                    "@",
                                                    "#",
                                                    "%",
                                                    "&",
                                                    "*",
                                                    "+",
                                                    "=",
                                                    "/",
                                                    ",",
                                                    "(",
                                                    ")",
                                                    "[",
                                                    "]",
                                                    "{",
                                                    "}",
                                                    "\xc3\xa9",
                                                    "\xe4\xb8\x96",
                                                    "\xe2\x82\xac",
                                                    "hello",
                                                    "world"};
    std::string out;
    const std::size_t n = below(5) == 0 ? 0 : below(below(4) == 0 ? 80 : 12);
    for (std::size_t i = 0; i < n; ++i) out += pieces[below(pieces.size())];
    return out;
  }

  chain::Bytes bytes(std::size_t n) {
    chain::Bytes out(n);
    for (auto& b : out) b = static_cast<std::uint8_t>(rng_());
    return out;
  }

  chain::AbiValue value(const chain::AbiType& t) {
    using namespace chain;
    switch (t.kind) {
      case AbiKind::kUint: return AbiValue::from_uint(bits(t.size));
      case AbiKind::kInt: {
        const bool negative = coin();
        // magnitude <= 2^(M-1) if negative, < 2^(M-1) otherwise
        U256 magnitude = bits(t.size - 1);
        if (negative && below(8) == 0) magnitude = U256(1) << (t.size - 1);
        return AbiValue::from_int(AbiInt{negative && magnitude != 0, magnitude});
      }
      case AbiKind::kAddress: {
        Address a{};
        const Bytes b = bytes(20);
        std::copy(b.begin(), b.end(), a.begin());
        return AbiValue::from_address(a);
      }
      case AbiKind::kBool: return AbiValue::from_bool(coin());
      case AbiKind::kFixedBytes: return AbiValue::from_bytes(bytes(t.size));
      case AbiKind::kBytes:
        return AbiValue::from_bytes(bytes(below(4) == 0 ? below(100) : below(8)));
      case AbiKind::kString: return AbiValue::from_string(text());
      case AbiKind::kArray:
      case AbiKind::kFixedArray:
      case AbiKind::kTuple: {
        AbiValue::List items;
        const std::size_t n = t.kind == AbiKind::kTuple        ? t.components.size()
                              : t.kind == AbiKind::kFixedArray ? t.size
                                                               : below(4);
        for (std::size_t i = 0; i < n; ++i) {
          items.push_back(value(t.kind == AbiKind::kTuple ? t.components[i] : t.components[0]));
        }
        return AbiValue::from_list(std::move(items));
      }
    }
    return {};
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace varkeeper::test
