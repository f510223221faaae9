// Conformance against public vectors, read in place (SECURITY.md §2.1-2.2): RFC 7515
// appendix A, RFC 7520 §4 + RFC 8037 + RFC 7797, Wycheproof JWS/JWK files and the Wycheproof
// primitive verify files (RSA PKCS#1 v1.5, RSA-PSS, ECDSA P1363, Ed25519, HMAC).
//
// Every case is checked against its file's expectation; a mismatch fails with its tcId and
// comment. Per-file counts are printed ("[vectors] ...") and recorded as test properties.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/base64url.h"
#include "jose/algorithm.h"
#include "jose/errc.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "jose/key_set.h"
#include "support/vectors.h"

namespace gatepass::jose {
namespace {

namespace json = boost::json;
using test::vector_counts;

// ---- helpers ---------------------------------------------------------------------------

std::string str_of(const json::value* v) {
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->get_string());
}

std::string str_of(const json::object& o, std::string_view key) {
  return str_of(o.if_contains(key));
}

std::int64_t int_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return -1;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_string()) return std::stoll(std::string(v->get_string()));
  return -1;
}

const json::array& array_of(const json::object& o, std::string_view key) {
  static const json::array empty;
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_array() ? v->get_array() : empty;
}

std::string describe(std::error_code ec) {
  return ec ? ec.message() : std::string("verified");
}

/// A compact JWS verifies with `keys`: strict parse, then key selection and signature.
std::error_code verify_compact(std::string_view token, const key_set& keys) {
  auto parsed = parse_compact(token);
  if (!parsed) return parsed.error();
  auto key = verify_signature(*parsed, keys);
  if (!key) return key.error();
  return {};
}

enum class expectation { valid, invalid, acceptable };

expectation expectation_of(std::string_view result) {
  if (result == "valid") return expectation::valid;
  if (result == "acceptable") return expectation::acceptable;
  return expectation::invalid;
}

/// Records one case; a mismatch fails the test with `what` (tcId, comment) and the reason.
void record(vector_counts& c, expectation e, std::error_code outcome, const std::string& what) {
  ++c.cases;
  const bool verified = !outcome;
  switch (e) {
    case expectation::acceptable:
      ++c.acceptable;
      ++c.matched;
      return;
    case expectation::valid:
      if (verified) {
        ++c.accepted_valid;
        ++c.matched;
        return;
      }
      break;
    case expectation::invalid:
      if (!verified) {
        ++c.rejected_invalid;
        ++c.matched;
        return;
      }
      break;
  }
  ++c.mismatched;
  ADD_FAILURE() << c.file << " " << what << ": expected "
                << (e == expectation::valid ? "valid" : "invalid") << ", got " << describe(outcome);
}

std::string case_label(const json::object& tc) {
  std::ostringstream s;
  s << "tcId " << int_of(tc, "tcId") << " (" << str_of(tc, "comment") << ")";
  return s.str();
}

/// Flips one bit of the signature segment (decoded, re-encoded canonically).
std::optional<std::string> with_flipped_signature_bit(std::string_view token) {
  const auto dot = token.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto sig = base64url_decode(token.substr(dot + 1));
  if (!sig || sig->empty()) return std::nullopt;
  (*sig)[sig->size() / 2] = static_cast<char>((*sig)[sig->size() / 2] ^ 0x01);
  return std::string(token.substr(0, dot + 1)) + base64url_encode(*sig);
}

// ---- RFC 7515 appendix A -------------------------------------------------------------------

/// A JWK for a published RFC key: when the key has no "alg", it is pinned to the alg the RFC
/// section states (gatepass binds one alg per key by design). Harness-supplied keys may be
/// symmetric.
result<jwk> rfc_key(const json::object& key_json, std::string_view stated_alg) {
  json::object k = key_json;
  if (!k.contains("alg")) k["alg"] = stated_alg;
  return jwk::parse(k, jwk_parse_options{.allow_private = false, .allow_oct = true});
}

TEST(ConformanceRfc7515, AppendixA) {
  GATEPASS_LOAD_VECTORS_OR_SKIP(file, "rfc/rfc7515_appendix_a.json");
  vector_counts counts{.file = "rfc/rfc7515_appendix_a.json"};
  const auto& vectors = array_of(file.json.get_object(), "vectors");
  ASSERT_EQ(vectors.size(), 5u);

  // Every key of the file: an unsecured token must be refused whichever key is configured.
  std::vector<key_set> all_sets;
  for (const auto& v : vectors) {
    const auto& o = v.get_object();
    if (const auto* k = o.if_contains("jwk"); k != nullptr && k->is_object()) {
      auto key = rfc_key(k->get_object(), str_of(o, "alg"));
      ASSERT_TRUE(key) << str_of(o, "id") << ": " << key.error().message();
      all_sets.push_back(key_set::from_keys({*key}));
    }
  }

  for (const auto& v : vectors) {
    const auto& o = v.get_object();
    const std::string id = str_of(o, "id");
    const std::string token = str_of(o, "jws");
    const expectation e = expectation_of(str_of(o, "signature_result"));
    const auto* k = o.if_contains("jwk");
    if (k == nullptr || !k->is_object()) {
      // A.5: alg "none". Rejected under every configured key, and by the parser already.
      ASSERT_EQ(e, expectation::invalid) << id;
      EXPECT_EQ(parse_compact(token).error(), make_error_code(errc::alg_none)) << id;
      ASSERT_FALSE(all_sets.empty());
      std::error_code outcome;  // "verified" unless refused under every key
      bool refused_everywhere = true;
      for (const auto& set : all_sets) {
        const auto ec = verify_compact(token, set);
        refused_everywhere &= static_cast<bool>(ec);
        if (ec) outcome = ec;
      }
      record(counts, e, refused_everywhere ? outcome : std::error_code(), id + " (every key)");
      continue;
    }
    auto key = rfc_key(k->get_object(), str_of(o, "alg"));
    ASSERT_TRUE(key) << id << ": " << key.error().message();
    const key_set set = key_set::from_keys({*key});
    record(counts, e, verify_compact(token, set), id);
    // the same token with one signature bit flipped must fail
    auto tampered = with_flipped_signature_bit(token);
    ASSERT_TRUE(tampered) << id;
    EXPECT_TRUE(verify_compact(*tampered, set)) << id << ": tampered signature verified";
  }
  counts.print();
  EXPECT_EQ(counts.cases, 5);
  EXPECT_EQ(counts.matched, counts.cases);
}

// ---- RFC 7520 §4, RFC 8037 A.4, RFC 7797 §4.2 ------------------------------------------------

struct rfc_jws_case {
  std::string_view id;
  bool compact_valid;    // the compact form (when the entry has one) must verify
  bool reassemble_flat;  // also reject protected.payload.signature built from json_flat
  std::string_view why;
};

// JWS payloads here are not JWT claims: checked at the JWS level (parse + signature).
constexpr std::array<rfc_jws_case, 10> kRfcJwsCases{{
    {"jws_4_1.rsa_v15_signature", true, false, "RFC 7520 §4.1 RS256"},
    {"jws_4_2.rsa-pss_signature", true, false, "RFC 7520 §4.2 PS384"},
    {"jws_4_3.ecdsa_signature", true, false, "RFC 7520 §4.3 ES512"},
    {"jws_4_4.hmac-sha2_integrity_protection", true, false, "RFC 7520 §4.4 HS256"},
    {"jws_4_5.signature_with_detached_content", false, false,
     "detached content: the compact form has an empty payload"},
    // §4.6: its protected header + payload + signature alone would be a legitimate compact JWS
    // (the kid travels unprotected); only the JSON serialization itself is tested.
    {"jws_4_6.protecting_specific_header_fields", false, false, "JSON serialization only"},
    {"jws_4_7.protecting_content_only", false, true, "no protected header: JSON only"},
    {"jws_4_8.multiple_signatures", false, false, "general JSON, three signatures"},
    {"curve25519_jws", true, false, "RFC 8037 A.4 Ed25519"},
    {"rfc7797_4.2.hmac-sha2_b64_false", false, true, "b64=false (RFC 7797)"},
}};

TEST(ConformanceRfc7520, JwsCookbookAndEd25519AndB64) {
  GATEPASS_LOAD_VECTORS_OR_SKIP(file, "rfc/rfc7520_rfc8037_rfc7797_jws.json");
  vector_counts counts{.file = "rfc/rfc7520_rfc8037_rfc7797_jws.json"};
  const auto& vectors = array_of(file.json.get_object(), "vectors");
  ASSERT_EQ(vectors.size(), kRfcJwsCases.size());

  for (const auto& v : vectors) {
    const auto& o = v.get_object();
    const std::string id = str_of(o, "id");
    const auto* tc = std::find_if(kRfcJwsCases.begin(), kRfcJwsCases.end(),
                                  [&](const rfc_jws_case& c) { return c.id == id; });
    ASSERT_NE(tc, kRfcJwsCases.end()) << "entry not in the expectation table: " << id;

    // The key: one JWK pinned to the section's alg; for §4.8 (three keys), the first one.
    const json::value* key_json = o.if_contains("public_jwk");
    const json::value* alg_json = o.if_contains("alg");
    if (key_json != nullptr && key_json->is_array()) key_json = &key_json->get_array().at(0);
    if (alg_json != nullptr && alg_json->is_array()) alg_json = &alg_json->get_array().at(0);
    ASSERT_TRUE(key_json != nullptr && key_json->is_object()) << id;
    auto key = rfc_key(key_json->get_object(), str_of(alg_json));
    ASSERT_TRUE(key) << id << ": " << key.error().message();
    const key_set set = key_set::from_keys({*key});

    // inputs: {label, token, expected}
    struct input {
      std::string label;
      std::string token;
      expectation expected;
    };
    std::vector<input> inputs;
    if (const auto* c = o.if_contains("compact"); c != nullptr && c->is_string())
      inputs.push_back({id + " compact", std::string(c->get_string()),
                        tc->compact_valid ? expectation::valid : expectation::invalid});
    else
      ASSERT_FALSE(tc->compact_valid) << id << ": expected a compact form";
    for (std::string_view form : {"json_flat", "json"})
      if (const auto* j = o.if_contains(form); j != nullptr && j->is_object())
        inputs.push_back({id + " " + std::string(form) + " serialization", json::serialize(*j),
                          expectation::invalid});
    if (tc->reassemble_flat) {
      const auto* flat = o.if_contains("json_flat");
      ASSERT_TRUE(flat != nullptr && flat->is_object()) << id;
      const auto& f = flat->get_object();
      inputs.push_back(
          {id + " reassembled compact",
           str_of(f, "protected") + "." + str_of(f, "payload") + "." + str_of(f, "signature"),
           expectation::invalid});
    }
    ASSERT_FALSE(inputs.empty()) << id;
    for (const auto& in : inputs) {
      record(counts, in.expected, verify_compact(in.token, set),
             in.label + " [" + std::string(tc->why) + "]");
      if (in.expected == expectation::valid) {
        auto tampered = with_flipped_signature_bit(in.token);
        ASSERT_TRUE(tampered) << in.label;
        EXPECT_TRUE(verify_compact(*tampered, set)) << in.label << ": tampered signature verified";
      }
    }
  }
  counts.print();
  EXPECT_EQ(counts.accepted_valid, 5) << "RFC 7520 §4.1-4.4 and RFC 8037 A.4 must verify";
  EXPECT_EQ(counts.matched, counts.cases);
}

// ---- Wycheproof json_web_signature_test.json -----------------------------------------------

// Upstream labels a strict verifier must override. Each override is grounded by a check on
// the token itself, so a regenerated file cannot silently shift them.
enum class grounding {
  identical_to_tc,      // byte-identical to another case's token
  contains_char,        // contains a character outside the base64url alphabet
  alg_differs_from_key  // the token's header alg is not the alg the group's key declares
};
struct label_override {
  std::int64_t tc_id;
  expectation expected;
  grounding ground;
  std::int64_t other_tc;  // identical_to_tc
  char character;         // contains_char
  std::string_view why;
};
constexpr std::array<label_override, 6> kJwsLabelOverrides{{
    // SECURITY.md §2.1: the "base64" group.
    {367, expectation::valid, grounding::identical_to_tc, 357, '\0',
     "byte-identical to valid tc 357 (padding lost upstream)"},
    {370, expectation::valid, grounding::identical_to_tc, 357, '\0',
     "byte-identical to valid tc 357 (padding lost upstream)"},
    {372, expectation::invalid, grounding::contains_char, 0, '?',
     "'?' is not base64url; a strict decoder rejects it"},
    {373, expectation::invalid, grounding::contains_char, 0, '?',
     "'?' is not base64url; a strict decoder rejects it"},
    // RFC 7520 Figure 20 is a PS384 token, but Wycheproof's key for it declares "alg":"PS256".
    // SECURITY.md §0.1: the token's alg must equal the key's alg exactly; a mismatch is a hard
    // failure. Accepting it would mean pinning a family, not an alg (CVE-2022-23539 class).
    {346, expectation::invalid, grounding::alg_differs_from_key, 0, '\0',
     "PS384 token, key declares PS256: alg pinning (SECURITY.md §0.1)"},
    {350, expectation::invalid, grounding::alg_differs_from_key, 0, '\0',
     "PS384 token, key declares PS256: alg pinning (SECURITY.md §0.1)"},
}};

/// The "alg" of a compact token's header, or empty.
std::string header_alg(std::string_view token) {
  auto header = base64url_decode(token.substr(0, token.find('.')));
  if (!header) return {};
  boost::system::error_code ec;
  const json::value v = json::parse(*header, ec);
  return !ec && v.is_object() ? str_of(v.get_object(), "alg") : std::string();
}

/// The group's key: "public" when present (parsed with the default, public-only options),
/// else "private" (the harness supplies the key: private members and secrets allowed).
result<key_set> wycheproof_jws_keys(const json::object& group) {
  const json::value* k = group.if_contains("public");
  jwk_parse_options opt;
  if (k == nullptr) {
    k = group.if_contains("private");
    opt = jwk_parse_options{.allow_private = true, .allow_oct = true};
  }
  if (k == nullptr || !k->is_object()) return make_error_code(errc::key_member_invalid);
  auto key = jwk::parse(k->get_object(), opt);
  if (!key) return key.error();
  return key_set::from_keys({*key});
}

TEST(ConformanceWycheproof, JsonWebSignature) {
  GATEPASS_LOAD_VECTORS_OR_SKIP(file, "wycheproof/json_web_signature_test.json");
  vector_counts counts{.file = "wycheproof/json_web_signature_test.json"};
  const auto& root = file.json.get_object();

  std::map<std::int64_t, std::string> tokens;  // for the override checks
  for (const auto& g : array_of(root, "testGroups"))
    for (const auto& t : array_of(g.get_object(), "tests"))
      tokens[int_of(t.get_object(), "tcId")] = str_of(t.get_object(), "jws");

  int overrides_applied = 0;
  int groups_refused = 0;
  for (const auto& g : array_of(root, "testGroups")) {
    const auto& group = g.get_object();
    auto keys = wycheproof_jws_keys(group);
    if (!keys) ++groups_refused;
    for (const auto& t : array_of(group, "tests")) {
      const auto& tc = t.get_object();
      const std::int64_t id = int_of(tc, "tcId");
      const std::string token = str_of(tc, "jws");
      expectation e = expectation_of(str_of(tc, "result"));
      std::string label = case_label(tc);
      for (const auto& ov : kJwsLabelOverrides) {
        if (ov.tc_id != id) continue;
        switch (ov.ground) {
          case grounding::identical_to_tc:
            ASSERT_EQ(token, tokens[ov.other_tc])
                << "tc " << id << " override no longer applies: not identical to tc "
                << ov.other_tc;
            break;
          case grounding::contains_char:
            ASSERT_NE(token.find(ov.character), std::string::npos)
                << "tc " << id << " override no longer applies";
            break;
          case grounding::alg_differs_from_key: {
            const auto* key = group.if_contains("public");
            if (key == nullptr) key = group.if_contains("private");
            ASSERT_TRUE(key != nullptr && key->is_object());
            const std::string key_alg = str_of(key->get_object(), "alg");
            ASSERT_FALSE(key_alg.empty()) << "tc " << id << " override no longer applies";
            ASSERT_NE(header_alg(token), key_alg) << "tc " << id << " override no longer applies";
            break;
          }
        }
        e = ov.expected;
        label += " [label overridden: " + std::string(ov.why) + "]";
        ++overrides_applied;
      }
      // A key the library refuses verifies nothing: every case of its group must be invalid.
      const std::error_code outcome = keys ? verify_compact(token, *keys) : keys.error();
      if (!keys) label += " [group key refused: " + keys.error().message() + "]";
      record(counts, e, outcome, label);
    }
  }
  counts.print();
  std::cout << "[vectors] json_web_signature_test.json: groups with a refused key="
            << groups_refused << ", label overrides applied=" << overrides_applied << std::endl;
  EXPECT_EQ(overrides_applied, static_cast<int>(kJwsLabelOverrides.size()));
  EXPECT_EQ(counts.cases, int_of(root, "numberOfTests"));
  EXPECT_EQ(counts.cases, 401);
  EXPECT_EQ(counts.matched, counts.cases);
}

// ---- Wycheproof json_web_key_test.json -----------------------------------------------------

TEST(ConformanceWycheproof, JsonWebKey) {
  GATEPASS_LOAD_VECTORS_OR_SKIP(file, "wycheproof/json_web_key_test.json");
  vector_counts counts{.file = "wycheproof/json_web_key_test.json"};
  const auto& root = file.json.get_object();

  for (const auto& g : array_of(root, "testGroups")) {
    const auto& group = g.get_object();
    // "public" is a JWKS as a remote issuer would publish it; "private" is harness-supplied.
    const json::value* jwks = group.if_contains("public");
    jwk_parse_options opt;
    if (jwks == nullptr) {
      jwks = group.if_contains("private");
      opt = jwk_parse_options{.allow_private = true, .allow_oct = true};
    }
    ASSERT_TRUE(jwks != nullptr && jwks->is_object()) << str_of(group, "comment");
    auto set = key_set::parse(json::serialize(*jwks), opt);
    for (const auto& t : array_of(group, "tests")) {
      const auto& tc = t.get_object();
      std::string label = case_label(tc) + " group " + str_of(group, "comment");
      std::error_code outcome;
      if (!set) {
        outcome = set.error();
        label += " [JWKS refused: " + outcome.message() + "]";
      } else {
        outcome = verify_compact(str_of(tc, "jws"), *set);
        for (const auto& d : set->dropped())
          label += " [dropped key " + std::to_string(d.index) + ": " + d.reason.message() + "]";
      }
      record(counts, expectation_of(str_of(tc, "result")), outcome, label);
    }
  }
  counts.print();
  EXPECT_EQ(counts.cases, int_of(root, "numberOfTests"));
  EXPECT_EQ(counts.cases, 26);
  EXPECT_EQ(counts.matched, counts.cases);
}

// ---- Wycheproof primitive verify files ---------------------------------------------------

enum class primitive { rsa_pkcs1, rsa_pss, ecdsa, eddsa, hmac };

struct primitive_file {
  std::string_view path;
  primitive kind;
  int expected_cases;
};

constexpr std::array<primitive_file, 15> kPrimitiveFiles{{
    {"wycheproof/rsa_signature_2048_sha256_test.json", primitive::rsa_pkcs1, 259},
    {"wycheproof/rsa_signature_2048_sha384_test.json", primitive::rsa_pkcs1, 258},
    {"wycheproof/rsa_signature_2048_sha512_test.json", primitive::rsa_pkcs1, 259},
    {"wycheproof/rsa_signature_3072_sha256_test.json", primitive::rsa_pkcs1, 259},
    {"wycheproof/rsa_signature_4096_sha256_test.json", primitive::rsa_pkcs1, 258},
    {"wycheproof/rsa_pss_2048_sha256_mgf1_32_test.json", primitive::rsa_pss, 108},
    {"wycheproof/rsa_pss_2048_sha384_mgf1_48_test.json", primitive::rsa_pss, 141},
    {"wycheproof/rsa_pss_4096_sha512_mgf1_64_test.json", primitive::rsa_pss, 179},
    {"wycheproof/ecdsa_secp256r1_sha256_p1363_test.json", primitive::ecdsa, 252},
    {"wycheproof/ecdsa_secp384r1_sha384_p1363_test.json", primitive::ecdsa, 270},
    {"wycheproof/ecdsa_secp521r1_sha512_p1363_test.json", primitive::ecdsa, 308},
    {"wycheproof/ed25519_test.json", primitive::eddsa, 150},
    {"wycheproof/hmac_sha256_test.json", primitive::hmac, 174},
    {"wycheproof/hmac_sha384_test.json", primitive::hmac, 174},
    {"wycheproof/hmac_sha512_test.json", primitive::hmac, 174},
}};

/// The JOSE alg a primitive group maps to; nullopt when the group has no JOSE equivalent
/// (its cases count as not applicable). `why` says which.
std::optional<alg> jose_alg_for(primitive kind, const json::object& group,
                                std::string_view file_path, std::string& why) {
  const std::string sha = str_of(group, "sha");
  auto by_sha = [&](alg a256, alg a384, alg a512) -> std::optional<alg> {
    if (sha == "SHA-256") return a256;
    if (sha == "SHA-384") return a384;
    if (sha == "SHA-512") return a512;
    why = "hash " + sha + " has no JOSE alg";
    return std::nullopt;
  };
  switch (kind) {
    case primitive::rsa_pkcs1:
      return by_sha(alg::rs256, alg::rs384, alg::rs512);
    case primitive::rsa_pss: {
      auto a = by_sha(alg::ps256, alg::ps384, alg::ps512);
      if (!a) return a;
      // RFC 7518 §3.5: MGF1 with the same hash, salt length = hash length.
      if (str_of(group, "mgf") != "MGF1" || str_of(group, "mgfSha") != sha ||
          int_of(group, "sLen") != static_cast<std::int64_t>(hash_size(*a))) {
        why = "PSS parameters (mgf " + str_of(group, "mgfSha") + ", sLen " +
              std::to_string(int_of(group, "sLen")) + ") are not JOSE's";
        return std::nullopt;
      }
      return a;
    }
    case primitive::ecdsa: {
      auto a = by_sha(alg::es256, alg::es384, alg::es512);
      if (!a) return a;
      const auto* pk = group.if_contains("publicKey");
      const std::string curve =
          pk != nullptr && pk->is_object() ? str_of(pk->get_object(), "curve") : "";
      static constexpr std::array<std::pair<std::string_view, alg>, 3> curves{
          {{"secp256r1", alg::es256}, {"secp384r1", alg::es384}, {"secp521r1", alg::es512}}};
      for (const auto& [name, pinned] : curves)
        if (curve == name && pinned == *a) return a;
      why = "curve " + curve + " with " + sha + " has no JOSE alg";
      return std::nullopt;
    }
    case primitive::eddsa:
      return alg::eddsa;
    case primitive::hmac: {
      const alg a = file_path.find("sha256") != std::string_view::npos   ? alg::hs256
                    : file_path.find("sha384") != std::string_view::npos ? alg::hs384
                                                                         : alg::hs512;
      const auto bits = static_cast<std::int64_t>(hash_size(a) * 8);
      // RFC 7518 §3.2: full-length tag, key at least as long as the hash.
      if (int_of(group, "tagSize") != bits || int_of(group, "keySize") < bits) {
        why = "keySize " + std::to_string(int_of(group, "keySize")) + " / tagSize " +
              std::to_string(int_of(group, "tagSize")) + " outside RFC 7518 §3.2";
        return std::nullopt;
      }
      return a;
    }
  }
  return std::nullopt;
}

class ConformanceWycheproofPrimitive : public testing::TestWithParam<primitive_file> {};

TEST_P(ConformanceWycheproofPrimitive, Verify) {
  const primitive_file& pf = GetParam();
  GATEPASS_LOAD_VECTORS_OR_SKIP(file, pf.path);
  vector_counts counts{.file = std::string(pf.path)};
  const auto& root = file.json.get_object();
  int groups_not_applicable = 0;
  std::vector<std::string> refused;

  for (const auto& g : array_of(root, "testGroups")) {
    const auto& group = g.get_object();
    const auto& tests = array_of(group, "tests");
    std::string why;
    const auto a = jose_alg_for(pf.kind, group, pf.path, why);
    if (!a) {
      ++groups_not_applicable;
      counts.cases += static_cast<int>(tests.size());
      counts.not_applicable += static_cast<int>(tests.size());
      continue;
    }
    // Asymmetric keys: DER SubjectPublicKeyInfo, pinned to the group's alg. HMAC: per case.
    std::optional<result<jwk>> group_key;
    if (pf.kind != primitive::hmac) {
      auto der = test::hex_decode(str_of(group, "publicKeyDer"));
      ASSERT_TRUE(der) << pf.path << ": publicKeyDer is not hex";
      group_key = jwk::from_der(*der, *a);
      if (!*group_key) {
        std::ostringstream s;
        s << "group keySize " << int_of(group, "keySize") << " ("
          << str_of(group, "publicKeyDer").substr(0, 24) << "...): " << group_key->error().message()
          << " -> " << tests.size() << " cases must be invalid/acceptable";
        refused.push_back(s.str());
      }
    }
    for (const auto& t : array_of(group, "tests")) {
      const auto& tc = t.get_object();
      const std::string label = case_label(tc);
      auto msg = test::hex_decode(str_of(tc, "msg"));
      auto sig = test::hex_decode(str_of(tc, pf.kind == primitive::hmac ? "tag" : "sig"));
      ASSERT_TRUE(msg && sig) << pf.path << " " << label << ": bad hex";
      std::error_code outcome;
      if (pf.kind == primitive::hmac) {
        auto secret = test::hex_decode(str_of(tc, "key"));
        ASSERT_TRUE(secret) << pf.path << " " << label << ": bad key hex";
        auto key = jwk::from_secret(*secret, *a, {});
        outcome = key ? key->verify(*msg, *sig) : key.error();
      } else {
        outcome = *group_key ? (*group_key)->verify(*msg, *sig) : group_key->error();
      }
      record(counts, expectation_of(str_of(tc, "result")), outcome, label);
    }
  }
  counts.print();
  if (groups_not_applicable > 0)
    std::cout << "[vectors] " << pf.path
              << ": groups not applicable to JOSE=" << groups_not_applicable << std::endl;
  for (const auto& r : refused)
    std::cout << "[vectors] " << pf.path << ": key refused by gatepass: " << r << std::endl;
  EXPECT_EQ(counts.cases, int_of(root, "numberOfTests"));
  EXPECT_EQ(counts.cases, pf.expected_cases);
  EXPECT_EQ(counts.matched + counts.not_applicable, counts.cases);
  EXPECT_GT(counts.accepted_valid, 0) << pf.path << ": no valid case verified";
}

std::string primitive_name(const testing::TestParamInfo<primitive_file>& info) {
  std::string_view p = info.param.path;
  p = p.substr(p.rfind('/') + 1);
  p = p.substr(0, p.rfind("_test.json"));
  std::string name;
  for (char c : p) name.push_back((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Conformance, ConformanceWycheproofPrimitive,
                         testing::ValuesIn(kPrimitiveFiles), primitive_name);

}  // namespace
}  // namespace gatepass::jose
