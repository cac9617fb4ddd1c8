#include "chain/keystore.hpp"

#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <cctype>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "chain/hex.hpp"
#include "chain/keccak.hpp"
#include "chain/secp256k1.hpp"
#include "tests/support/test_support.hpp"

using namespace varkeeper::chain;
using nlohmann::json;
using varkeeper::test::read_file;

namespace {

json load_json(const std::string& name) {
  return json::parse(read_file(std::string(VARKEEPER_DATA_DIR) + "/keystore/" + name));
}

// go-ethereum accounts/keystore/testdata/v3_test_vector.json (see tests/data/keystore/README.md).
const json& geth_vectors() {
  static const json vectors = load_json("geth_v3_test_vector.json");
  return vectors;
}

// The Web3 Secret Storage Definition's test key and its published address.
constexpr const char* kSpecSecret =
    "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d";
constexpr const char* kSpecAddress = "0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b";

SecretKey key_from_hex(std::string_view hex) {
  auto key = SecretKey::from_hex(hex);
  REQUIRE(key.has_value());
  return *key;
}

std::string key_hex(const SecretKey& key) { return to_hex(key.reveal(), false); }

// A light-scrypt keystore of the spec key with the password "pw", written once (a valid base for
// the malformed-field table).
const json& light_base() {
  static const json doc = [] {
    auto text = encrypt_keystore(key_from_hex(kSpecSecret), "pw", ScryptParams{2, 8, 1});
    REQUIRE(text.has_value());
    return json::parse(*text);
  }();
  return doc;
}

// The same as a pbkdf2 keystore.
const json& pbkdf2_base() {
  static const json doc = [] {
    auto text = encrypt_keystore(key_from_hex(kSpecSecret), "pw", Pbkdf2Params{1});
    REQUIRE(text.has_value());
    return json::parse(*text);
  }();
  return doc;
}

}  // namespace

TEST_CASE("the Web3 Secret Storage pbkdf2 vector decrypts to its published key and address") {
  const auto& v = geth_vectors()["wikipage_test_vector_pbkdf2"];
  auto key = decrypt_keystore(v["json"].dump(), v["password"].get<std::string>());
  REQUIRE_MESSAGE(key.has_value(), to_string(key.error()));
  CHECK(key_hex(*key) == v["priv"].get<std::string>());
  CHECK(key_hex(*key) == kSpecSecret);
  CHECK(to_hex(address_of(*key)) == kSpecAddress);
}

TEST_CASE("the go-ethereum scrypt vector (n=2^18, r=1, p=8) decrypts to its published key") {
  // Crypto++'s Scrypt takes these parameters; OpenSSL's EVP_PBE_scrypt would refuse them.
  const auto& v = geth_vectors()["wikipage_test_vector_scrypt"];
  auto ks = parse_keystore(v["json"].dump());
  REQUIRE(ks.has_value());
  CHECK(std::get<ScryptParams>(ks->kdf) == ScryptParams{262144, 1, 8});
  auto key = decrypt_keystore(*ks, v["password"].get<std::string>());
  REQUIRE_MESSAGE(key.has_value(), to_string(key.error()));
  CHECK(key_hex(*key) == v["priv"].get<std::string>());
  CHECK(to_hex(address_of(*key)) == kSpecAddress);
}

TEST_CASE("keys written with leading zero bytes dropped (geth's 31- and 30-byte vectors) load") {
  // geth reads the decrypted bytes as a big-endian integer (crypto.ToECDSAUnsafe).
  for (const char* name : {"31_byte_key", "30_byte_key"}) {
    CAPTURE(name);
    const auto& v = geth_vectors()[name];
    auto key = decrypt_keystore(v["json"].dump(), v["password"].get<std::string>());
    REQUIRE_MESSAGE(key.has_value(), to_string(key.error()));
    const std::string priv = v["priv"].get<std::string>();
    CHECK(key_hex(*key) == std::string(64 - priv.size(), '0') + priv);
  }
}

TEST_CASE("geth's very-light-scrypt file decrypts with the empty password to its stated address") {
  const std::string text = load_json("geth_very_light_scrypt.json").dump();
  auto ks = parse_keystore(text);
  REQUIRE(ks.has_value());
  REQUIRE(ks->address.has_value());
  CHECK(to_hex(*ks->address) == "0x45dea0fb0bba44f4fcf290bba71fd57d7117cbb8");
  auto key = decrypt_keystore(*ks, "");
  REQUIRE_MESSAGE(key.has_value(), to_string(key.error()));
  CHECK(to_hex(address_of(*key)) == "0x45dea0fb0bba44f4fcf290bba71fd57d7117cbb8");
  // geth's TestKeyEncryptDecrypt: password + "bad" must fail.
  auto bad = decrypt_keystore(*ks, "bad");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().error == KeystoreError::kWrongPassword);
}

TEST_CASE("a wrong password is reported as kWrongPassword, never as a key") {
  const auto& v = geth_vectors()["31_byte_key"];
  for (const char* password : {"", "fo", "foo ", "Foo", "foofoo"}) {
    CAPTURE(password);
    auto key = decrypt_keystore(v["json"].dump(), password);
    REQUIRE_FALSE(key.has_value());
    CHECK(key.error().error == KeystoreError::kWrongPassword);
    CHECK(to_string(key.error()) == "wrong password (the keystore MAC does not match)");
  }
}

TEST_CASE(
    "encrypting a vector's key with its salt and iv reproduces the published ciphertext and MAC") {
  for (const char* name : {"wikipage_test_vector_pbkdf2", "wikipage_test_vector_scrypt"}) {
    CAPTURE(name);
    const auto& v = geth_vectors()[name];
    auto published = parse_keystore(v["json"].dump());
    REQUIRE(published.has_value());
    KeystoreNonces nonces;
    nonces.salt = published->salt;
    nonces.iv = published->iv;
    auto text = encrypt_keystore_with(key_from_hex(v["priv"].get<std::string>()),
                                      v["password"].get<std::string>(), published->kdf, nonces);
    REQUIRE(text.has_value());
    auto ours = parse_keystore(*text);
    REQUIRE(ours.has_value());
    CHECK(ours->ciphertext == published->ciphertext);
    CHECK(ours->mac == published->mac);
    CHECK(ours->kdf == published->kdf);
    // geth writes the address lower-case without 0x.
    CHECK(json::parse(*text)["address"] == "008aeeda4d805471df9b2a5b0f38a0c3bcba786b");
  }
}

TEST_CASE("encrypt then decrypt round-trips for scrypt and pbkdf2 and any password") {
  const SecretKey key = key_from_hex(kSpecSecret);
  const KdfParams kdfs[] = {ScryptParams{1024, 8, 1}, ScryptParams{16, 1, 3}, Pbkdf2Params{1000}};
  const std::string passwords[] = {"", "testpassword", "p\xc3\xa4ss w\xc3\xb6rd \xe2\x82\xac",
                                   std::string("nul\0inside", 10), std::string(1000, 'x')};
  for (const auto& kdf : kdfs) {
    for (const auto& password : passwords) {
      auto text = encrypt_keystore(key, password, kdf);
      REQUIRE(text.has_value());
      auto back = decrypt_keystore(*text, password);
      REQUIRE_MESSAGE(back.has_value(), to_string(back.error()));
      CHECK(back->reveal() == key.reveal());
      auto wrong = decrypt_keystore(*text, password + "!");
      REQUIRE_FALSE(wrong.has_value());
      CHECK(wrong.error().error == KeystoreError::kWrongPassword);
    }
  }
}

TEST_CASE("encrypt writes geth's standard v3 layout: StandardScrypt, v4 UUID, fresh salt and iv") {
  const SecretKey key = key_from_hex(kSpecSecret);
  auto first = encrypt_keystore(key, "pw");  // the default: n=2^18, r=8, p=1, as geth
  auto second = encrypt_keystore(key, "pw", kLightScrypt);
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  const json a = json::parse(*first);
  const json b = json::parse(*second);
  CHECK(a["version"] == 3);
  CHECK(a["address"] == "008aeeda4d805471df9b2a5b0f38a0c3bcba786b");
  CHECK(a["crypto"]["cipher"] == "aes-128-ctr");
  CHECK(a["crypto"]["kdf"] == "scrypt");
  CHECK(a["crypto"]["kdfparams"]["n"] == 262144);
  CHECK(a["crypto"]["kdfparams"]["r"] == 8);
  CHECK(a["crypto"]["kdfparams"]["p"] == 1);
  CHECK(a["crypto"]["kdfparams"]["dklen"] == 32);
  CHECK(b["crypto"]["kdfparams"]["n"] == 4096);
  CHECK(b["crypto"]["kdfparams"]["p"] == 6);
  CHECK(a["crypto"]["kdfparams"]["salt"].get<std::string>().size() == 64);
  CHECK(a["crypto"]["cipherparams"]["iv"].get<std::string>().size() == 32);
  // RFC 4122 version 4: xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx.
  for (const json* doc : {&a, &b}) {
    const std::string id = (*doc)["id"].get<std::string>();
    REQUIRE(id.size() == 36);
    CHECK(id[8] == '-');
    CHECK(id[13] == '-');
    CHECK(id[14] == '4');
    CHECK(std::string("89ab").find(id[19]) != std::string::npos);
  }
  // Salt, iv and id come from the CSPRNG: never the same twice.
  CHECK(a["id"] != b["id"]);
  CHECK(a["crypto"]["kdfparams"]["salt"] != b["crypto"]["kdfparams"]["salt"]);
  CHECK(a["crypto"]["cipherparams"]["iv"] != b["crypto"]["cipherparams"]["iv"]);
  auto back = decrypt_keystore(*second, "pw");
  REQUIRE(back.has_value());
  CHECK(back->reveal() == key.reveal());
}

TEST_CASE("\"Crypto\" with a capital C is accepted, as geth accepts it") {
  json doc = light_base();
  doc["Crypto"] = doc["crypto"];
  doc.erase("crypto");
  auto key = decrypt_keystore(doc.dump(), "pw");
  REQUIRE_MESSAGE(key.has_value(), to_string(key.error()));
  CHECK(key_hex(*key) == kSpecSecret);
}

TEST_CASE("hex with a 0x prefix and upper-case digits is accepted") {
  json doc = light_base();
  auto& c = doc["crypto"];
  c["mac"] = "0x" + c["mac"].get<std::string>();
  std::string ct = c["ciphertext"].get<std::string>();
  for (auto& ch : ct) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  c["ciphertext"] = ct;
  doc["address"] = "0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b";
  auto key = decrypt_keystore(doc.dump(), "pw");
  REQUIRE_MESSAGE(key.has_value(), to_string(key.error()));
  CHECK(key_hex(*key) == kSpecSecret);
}

TEST_CASE("every malformed field is refused with its own error and field") {
  struct Case {
    const char* what;
    bool pbkdf2;  // mutate the pbkdf2 base instead of the scrypt one
    std::function<void(json&)> mutate;
    KeystoreError error;
    std::string_view field;
  };
  using E = KeystoreError;
  const auto set = [](const char* a, json value) {
    return [a, value](json& d) { d["crypto"][a] = value; };
  };
  const auto set_kdf = [](const char* a, json value) {
    return [a, value](json& d) { d["crypto"]["kdfparams"][a] = value; };
  };
  const auto drop_kdf = [](const char* a) {
    return [a](json& d) { d["crypto"]["kdfparams"].erase(a); };
  };
  const Case cases[] = {
      {"top level is an array", false, [](json& d) { d = json::array(); }, E::kMalformedJson, ""},
      {"version missing", false, [](json& d) { d.erase("version"); }, E::kMissingField, "version"},
      {"version is a string", false, [](json& d) { d["version"] = "3"; }, E::kWrongType, "version"},
      {"version is 3.0", false, [](json& d) { d["version"] = 3.0; }, E::kWrongType, "version"},
      {"version 1", false, [](json& d) { d["version"] = 1; }, E::kUnsupportedVersion, "version"},
      {"version 4", false, [](json& d) { d["version"] = 4; }, E::kUnsupportedVersion, "version"},
      {"version -3", false, [](json& d) { d["version"] = -3; }, E::kUnsupportedVersion, "version"},
      {"crypto missing", false, [](json& d) { d.erase("crypto"); }, E::kMissingField, "crypto"},
      {"crypto is a string", false, [](json& d) { d["crypto"] = "x"; }, E::kWrongType, "crypto"},
      {"cipher missing", false, [](json& d) { d["crypto"].erase("cipher"); }, E::kMissingField,
       "crypto.cipher"},
      {"cipher is a number", false, set("cipher", 128), E::kWrongType, "crypto.cipher"},
      {"cipher aes-128-cbc", false, set("cipher", "aes-128-cbc"), E::kUnsupportedCipher,
       "crypto.cipher"},
      {"cipher in capitals", false, set("cipher", "AES-128-CTR"), E::kUnsupportedCipher,
       "crypto.cipher"},
      {"cipherparams missing", false, [](json& d) { d["crypto"].erase("cipherparams"); },
       E::kMissingField, "crypto.cipherparams"},
      {"cipherparams is an array", false, set("cipherparams", json::array()), E::kWrongType,
       "crypto.cipherparams"},
      {"iv missing", false, set("cipherparams", json::object()), E::kMissingField,
       "crypto.cipherparams.iv"},
      {"iv not hex", false, set("cipherparams", {{"iv", "zz4926b48a105133d2f16b96833abf1e"}}),
       E::kBadHex, "crypto.cipherparams.iv"},
      {"iv odd length", false, set("cipherparams", {{"iv", "c4926b48a105133d2f16b96833abf1e"}}),
       E::kBadHex, "crypto.cipherparams.iv"},
      {"iv 15 bytes", false, set("cipherparams", {{"iv", "4926b48a105133d2f16b96833abf1e"}}),
       E::kBadParameter, "crypto.cipherparams.iv"},
      {"iv 17 bytes", false, set("cipherparams", {{"iv", "004926b48a105133d2f16b96833abf1e00"}}),
       E::kBadParameter, "crypto.cipherparams.iv"},
      {"ciphertext missing", false, [](json& d) { d["crypto"].erase("ciphertext"); },
       E::kMissingField, "crypto.ciphertext"},
      {"ciphertext empty", false, set("ciphertext", ""), E::kBadParameter, "crypto.ciphertext"},
      {"ciphertext 33 bytes", false, set("ciphertext", std::string(66, 'a')), E::kBadParameter,
       "crypto.ciphertext"},
      {"ciphertext not hex", false, set("ciphertext", std::string(64, 'g')), E::kBadHex,
       "crypto.ciphertext"},
      {"ciphertext is null", false, set("ciphertext", nullptr), E::kWrongType, "crypto.ciphertext"},
      {"kdf missing", false, [](json& d) { d["crypto"].erase("kdf"); }, E::kMissingField,
       "crypto.kdf"},
      {"kdf argon2id", false, set("kdf", "argon2id"), E::kUnsupportedKdf, "crypto.kdf"},
      {"kdf is an object", false, set("kdf", json::object()), E::kWrongType, "crypto.kdf"},
      {"kdfparams missing", false, [](json& d) { d["crypto"].erase("kdfparams"); },
       E::kMissingField, "crypto.kdfparams"},
      {"n missing", false, drop_kdf("n"), E::kMissingField, "crypto.kdfparams.n"},
      {"r missing", false, drop_kdf("r"), E::kMissingField, "crypto.kdfparams.r"},
      {"p missing", false, drop_kdf("p"), E::kMissingField, "crypto.kdfparams.p"},
      {"dklen missing", false, drop_kdf("dklen"), E::kMissingField, "crypto.kdfparams.dklen"},
      {"salt missing", false, drop_kdf("salt"), E::kMissingField, "crypto.kdfparams.salt"},
      {"n zero", false, set_kdf("n", 0), E::kBadParameter, "crypto.kdfparams.n"},
      {"n one", false, set_kdf("n", 1), E::kBadParameter, "crypto.kdfparams.n"},
      {"n not a power of two", false, set_kdf("n", 8191), E::kBadParameter, "crypto.kdfparams.n"},
      {"n negative", false, set_kdf("n", -8192), E::kBadParameter, "crypto.kdfparams.n"},
      {"n a string", false, set_kdf("n", "8192"), E::kWrongType, "crypto.kdfparams.n"},
      {"n a fraction", false, set_kdf("n", 8192.5), E::kWrongType, "crypto.kdfparams.n"},
      {"n beyond 64 bits", false, set_kdf("n", 1e30), E::kWrongType, "crypto.kdfparams.n"},
      {"n 2^40 (128 TiB)", false, set_kdf("n", 1ull << 40), E::kCostLimitExceeded,
       "crypto.kdfparams"},
      {"n 2^63", false, set_kdf("n", 1ull << 63), E::kCostLimitExceeded, "crypto.kdfparams"},
      {"r zero", false, set_kdf("r", 0), E::kBadParameter, "crypto.kdfparams.r"},
      {"r 2^40", false, set_kdf("r", 1ull << 40), E::kCostLimitExceeded, "crypto.kdfparams"},
      {"p zero", false, set_kdf("p", 0), E::kBadParameter, "crypto.kdfparams.p"},
      {"p 2^30", false, set_kdf("p", 1ull << 30), E::kCostLimitExceeded, "crypto.kdfparams"},
      {"p max u64", false, set_kdf("p", ~0ull), E::kCostLimitExceeded, "crypto.kdfparams"},
      {"dklen 31", false, set_kdf("dklen", 31), E::kBadParameter, "crypto.kdfparams.dklen"},
      {"dklen 65", false, set_kdf("dklen", 65), E::kBadParameter, "crypto.kdfparams.dklen"},
      {"dklen 2^32", false, set_kdf("dklen", 1ull << 32), E::kBadParameter,
       "crypto.kdfparams.dklen"},
      {"salt empty", false, set_kdf("salt", ""), E::kBadParameter, "crypto.kdfparams.salt"},
      {"salt 1025 bytes", false, set_kdf("salt", std::string(2050, '0')), E::kBadParameter,
       "crypto.kdfparams.salt"},
      {"salt not hex", false, set_kdf("salt", "0x0g"), E::kBadHex, "crypto.kdfparams.salt"},
      {"salt is a number", false, set_kdf("salt", 5), E::kWrongType, "crypto.kdfparams.salt"},
      {"prf missing", true, drop_kdf("prf"), E::kMissingField, "crypto.kdfparams.prf"},
      {"prf hmac-sha512", true, set_kdf("prf", "hmac-sha512"), E::kUnsupportedPrf,
       "crypto.kdfparams.prf"},
      {"c missing", true, drop_kdf("c"), E::kMissingField, "crypto.kdfparams.c"},
      {"c zero", true, set_kdf("c", 0), E::kBadParameter, "crypto.kdfparams.c"},
      {"c 2^22 + 1", true, set_kdf("c", (1ull << 22) + 1), E::kCostLimitExceeded,
       "crypto.kdfparams.c"},
      {"c a string", true, set_kdf("c", "262144"), E::kWrongType, "crypto.kdfparams.c"},
      {"mac missing", false, [](json& d) { d["crypto"].erase("mac"); }, E::kMissingField,
       "crypto.mac"},
      {"mac 31 bytes", false, set("mac", std::string(62, 'a')), E::kBadParameter, "crypto.mac"},
      {"mac not hex", false, set("mac", std::string(64, 'x')), E::kBadHex, "crypto.mac"},
      {"address not hex", false, [](json& d) { d["address"] = std::string(40, 'q'); }, E::kBadHex,
       "address"},
      {"address 19 bytes", false, [](json& d) { d["address"] = std::string(38, 'a'); },
       E::kBadParameter, "address"},
      {"address a number", false, [](json& d) { d["address"] = 1; }, E::kWrongType, "address"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    json doc = c.pbkdf2 ? pbkdf2_base() : light_base();
    c.mutate(doc);
    auto ks = parse_keystore(doc.dump());
    REQUIRE_FALSE(ks.has_value());
    CHECK(ks.error().error == c.error);
    CHECK(ks.error().field == c.field);
    CHECK_FALSE(to_string(ks.error()).empty());
    // The same failure through the one-call API.
    auto key = decrypt_keystore(doc.dump(), "pw");
    REQUIRE_FALSE(key.has_value());
    CHECK(key.error().error == c.error);
  }
}

TEST_CASE("text that is not a keystore JSON object is refused as malformed or too large") {
  for (const std::string text :
       {"", "{", "[]", "null", "3", "\"crypto\"", "{\"version\":3,}", "{\"a\":\"\xff\xfe\"}"}) {
    CAPTURE(text);
    auto ks = parse_keystore(text);
    REQUIRE_FALSE(ks.has_value());
    CHECK(ks.error().error == KeystoreError::kMalformedJson);
  }
  std::string big = light_base().dump();
  big.insert(1, "\"pad\":\"" + std::string(kMaxKeystoreSize, 'x') + "\",");
  auto ks = parse_keystore(big);
  REQUIRE_FALSE(ks.has_value());
  CHECK(ks.error().error == KeystoreError::kTooLarge);
}

TEST_CASE("a tampered ciphertext or MAC fails the MAC check before anything is decrypted") {
  for (const char* part : {"ciphertext", "mac"}) {
    CAPTURE(part);
    json doc = light_base();
    std::string hex = doc["crypto"][part].get<std::string>();
    hex[10] = hex[10] == '0' ? '1' : '0';
    doc["crypto"][part] = hex;
    auto key = decrypt_keystore(doc.dump(), "pw");
    REQUIRE_FALSE(key.has_value());
    CHECK(key.error().error == KeystoreError::kWrongPassword);
  }
}

TEST_CASE("an address field that is not the decrypted key's address is refused") {
  json doc = light_base();
  doc["address"] = "45dea0fb0bba44f4fcf290bba71fd57d7117cbb8";  // another key's address
  auto key = decrypt_keystore(doc.dump(), "pw");
  REQUIRE_FALSE(key.has_value());
  CHECK(key.error().error == KeystoreError::kAddressMismatch);
  CHECK(key.error().field == "address");
  // Without the field there is nothing to compare: the key loads.
  doc.erase("address");
  CHECK(decrypt_keystore(doc.dump(), "pw").has_value());
}

TEST_CASE("a correctly encrypted zero or out-of-range scalar is refused as kInvalidKey") {
  // Built with OpenSSL's PBKDF2 and AES-CTR (an implementation independent of ours), as geth's
  // TestDecryptInvalidKey builds its files: zero key and a key >= the group order n.
  const Bytes salt(32, 0x5a);
  const FixedBytes<16> iv{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  const std::string password = "foo";
  FixedBytes<32> derived{};
  REQUIRE(PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                            static_cast<int>(salt.size()), 1, EVP_sha256(), 32,
                            derived.data()) == 1);
  for (const Bytes& plain : {Bytes(32, 0x00), Bytes(32, 0xff)}) {
    Bytes ct(plain.size());
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    int len = 0;
    REQUIRE(EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, derived.data(), iv.data()) == 1);
    REQUIRE(EVP_EncryptUpdate(ctx, ct.data(), &len, plain.data(), static_cast<int>(plain.size())) ==
            1);
    EVP_CIPHER_CTX_free(ctx);
    Bytes mac_input(16 + ct.size());
    std::copy(derived.begin() + 16, derived.end(), mac_input.begin());
    std::copy(ct.begin(), ct.end(), mac_input.begin() + 16);
    const json doc{
        {"version", 3},
        {"crypto",
         {{"cipher", "aes-128-ctr"},
          {"cipherparams", {{"iv", to_hex(iv, false)}}},
          {"ciphertext", to_hex(ct, false)},
          {"kdf", "pbkdf2"},
          {"kdfparams", {{"c", 1}, {"dklen", 32}, {"prf", "hmac-sha256"}, {"salt", to_hex(salt)}}},
          {"mac", to_hex(keccak256(mac_input), false)}}}};
    auto key = decrypt_keystore(doc.dump(), password);
    REQUIRE_FALSE(key.has_value());
    CHECK(key.error().error == KeystoreError::kInvalidKey);
  }
}

TEST_CASE("parameters at the limits are accepted and just above them refused, before any work") {
  const auto parse_with = [](json kdfparams) {
    json doc = light_base();
    for (auto& [k, v] : kdfparams.items()) doc["crypto"]["kdfparams"][k] = v;
    return parse_keystore(doc.dump());
  };
  // 128 * 2^22 bytes = 512 MiB and n*r*p = 2^22: the largest accepted.
  CHECK(parse_with({{"n", 1u << 19}, {"r", 8}, {"p", 1}}).has_value());
  CHECK(parse_with({{"n", 1u << 22}, {"r", 1}, {"p", 1}}).has_value());
  CHECK(parse_with({{"n", 1u << 12}, {"r", 8}, {"p", 128}}).has_value());
  for (const json& over :
       {json{{"n", 1u << 20}, {"r", 8}, {"p", 1}}, json{{"n", 1u << 23}, {"r", 1}, {"p", 1}},
        json{{"n", 1u << 19}, {"r", 8}, {"p", 2}},
        json{{"n", 2}, {"r", 1}, {"p", (1u << 21) + 1}}}) {
    CAPTURE(over.dump());
    auto ks = parse_with(over);
    REQUIRE_FALSE(ks.has_value());
    CHECK(ks.error().error == KeystoreError::kCostLimitExceeded);
  }
  // Encryption applies the same limits, so every file we write we can read.
  auto text = encrypt_keystore(key_from_hex(kSpecSecret), "pw", ScryptParams{1u << 20, 8, 1});
  REQUIRE_FALSE(text.has_value());
  CHECK(text.error().error == KeystoreError::kCostLimitExceeded);
  text = encrypt_keystore(key_from_hex(kSpecSecret), "pw", ScryptParams{3, 8, 1});
  REQUIRE_FALSE(text.has_value());
  CHECK(text.error().error == KeystoreError::kBadParameter);
}

TEST_CASE("every keystore error has its own one-sentence description") {
  std::set<std::string_view> seen;
  for (int i = 0; i <= static_cast<int>(KeystoreError::kRandomFailure); ++i) {
    const auto text = to_string(static_cast<KeystoreError>(i));
    CAPTURE(i);
    CHECK_FALSE(text.empty());
    CHECK(text != "unknown keystore error");
    CHECK(seen.insert(text).second);
  }
  const KeystoreFailure f{KeystoreError::kCostLimitExceeded, "crypto.kdfparams",
                          "scrypt memory 128*n*r is limited to 512 MiB"};
  CHECK(to_string(f) ==
        "keystore field crypto.kdfparams asks for more memory or work than varkeeper allows: "
        "scrypt memory 128*n*r is limited to 512 MiB");
}
