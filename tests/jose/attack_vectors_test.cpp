// The generated attack set (SECURITY.md §2.4), read in place: all 110 tokens of
// attacks/jwt_attack_vectors.json under the strict default, and the 16 cases of
// attacks/jwks_bad_keys.json. Table-driven: {name, input, expected}, expected from the file.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <set>
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
#include "jose/verifier.h"
#include "support/vectors.h"

namespace gatepass::jose {
namespace {

namespace json = boost::json;

std::string str_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::int64_t int_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_string()) return std::stoll(std::string(v->get_string()));
  return 0;
}

std::string describe(std::error_code ec) {
  return ec ? ec.message() : std::string("accepted");
}

// ---- expectation mapping under the strict default ---------------------------------------

enum class verdict { accept, reject };

/// The file's expect labels under gatepass's strict default. Unknown labels are reported
/// (nullopt) so that a regenerated file with new labels is noticed, not silently rejected.
std::optional<verdict> strict_verdict(std::string_view expect) {
  static constexpr std::array<std::string_view, 4> accepts{
      "accept", "accept_or_policy", "accept_with_60s_skew", "accept_if_at+jwt"};
  static constexpr std::array<std::string_view, 3> rejects{"reject", "policy", "policy_reject"};
  for (auto a : accepts)
    if (expect == a) return verdict::accept;
  for (auto r : rejects)
    if (expect == r) return verdict::reject;
  if (expect.starts_with("reject_if_")) return verdict::reject;
  return std::nullopt;
}

/// Vectors whose expectation is about the typ check get claims.typ = "at+jwt".
bool wants_typ_check(std::string_view expect) {
  return expect.find("typ") != std::string_view::npos || expect == "accept_if_at+jwt";
}

/// The header's alg, read only to route the token to the right trusted key set (the gateway
/// does the same per issuer): HS* to the configured secrets, everything else to the JWKS.
bool routes_to_secrets(std::string_view token) {
  const auto dot = token.find('.');
  if (dot == std::string_view::npos) return false;
  auto header = base64url_decode(token.substr(0, dot));
  if (!header) return false;
  boost::system::error_code ec;
  const json::value v = json::parse(*header, ec);
  if (ec || !v.is_object()) return false;
  const auto* a = v.get_object().if_contains("alg");
  if (a == nullptr || !a->is_string()) return false;
  const auto parsed = alg_from_string(std::string_view(a->get_string()));
  return parsed && family(*parsed) == alg_family::hmac;
}

std::optional<std::string> with_flipped_signature_bit(std::string_view token) {
  const auto dot = token.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto sig = base64url_decode(token.substr(dot + 1));
  if (!sig || sig->empty()) return std::nullopt;
  (*sig)[0] = static_cast<char>((*sig)[0] ^ 0x80);
  return std::string(token.substr(0, dot + 1)) + base64url_encode(*sig);
}

struct attack_config {
  key_set jwks;     // public keys, as a remote issuer publishes them
  key_set secrets;  // configured HMAC secrets: a separate set, never merged with the JWKS
  verify_options options;
  std::int64_t now = 0;
};

TEST(AttackVectors, JwtAttackVectorsStrictDefault) {
  GATEPASS_LOAD_VECTORS_OR_SKIP(file, "attacks/jwt_attack_vectors.json");
  const auto& root = file.json.get_object();

  attack_config cfg;
  const auto* jwks = root.if_contains("jwks");
  ASSERT_TRUE(jwks != nullptr && jwks->is_object());
  auto parsed_jwks = key_set::parse(json::serialize(*jwks));  // default: public keys only
  ASSERT_TRUE(parsed_jwks) << parsed_jwks.error().message();
  cfg.jwks = std::move(*parsed_jwks);
  ASSERT_TRUE(cfg.jwks.dropped().empty())
      << "a trusted JWKS key was dropped: " << cfg.jwks.dropped().front().reason.message();
  ASSERT_EQ(cfg.jwks.keys().size(), 2u);

  const auto* secrets = root.if_contains("shared_secrets");
  ASSERT_TRUE(secrets != nullptr && secrets->is_object());
  std::vector<jwk> secret_keys;
  for (const auto& kv : secrets->get_object()) {
    ASSERT_TRUE(kv.value().is_object());
    auto k = jwk::parse(kv.value().get_object(), jwk_parse_options{.allow_oct = true});
    ASSERT_TRUE(k) << kv.key() << ": " << k.error().message();
    EXPECT_EQ(k->kty(), key_type::oct);
    secret_keys.push_back(std::move(*k));
  }
  cfg.secrets = key_set::from_keys(std::move(secret_keys));
  ASSERT_EQ(cfg.secrets.keys().size(), 1u);

  cfg.options.claims.issuer = str_of(root, "issuer");
  cfg.options.claims.audiences = {str_of(root, "audience")};
  cfg.options.claims.leeway = int_of(root, "clock_skew_s");
  cfg.now = int_of(root, "now");
  ASSERT_FALSE(cfg.options.claims.issuer->empty());
  ASSERT_GT(cfg.now, 0);

  const auto* vectors = root.if_contains("vectors");
  ASSERT_TRUE(vectors != nullptr && vectors->is_array());

  struct row {
    std::string name;
    std::string input;
    std::string expect;
  };
  std::vector<row> table;
  for (const auto& v : vectors->get_array())
    table.push_back({str_of(v.get_object(), "id"), str_of(v.get_object(), "token"),
                     str_of(v.get_object(), "expect")});

  int accepted = 0, rejected = 0, mismatched = 0, typ_checked = 0, to_secrets = 0;
  std::set<std::string> names;
  for (const auto& r : table) {
    EXPECT_TRUE(names.insert(r.name).second) << "duplicate vector id " << r.name;
    const auto expected = strict_verdict(r.expect);
    if (!expected) {
      ADD_FAILURE() << r.name << ": unknown expectation label '" << r.expect << "'";
      ++mismatched;
      continue;
    }
    verify_options opt = cfg.options;
    if (wants_typ_check(r.expect)) {
      opt.claims.typ = "at+jwt";
      ++typ_checked;
    }
    const bool hmac = routes_to_secrets(r.input);
    to_secrets += hmac ? 1 : 0;
    const key_set& keys = hmac ? cfg.secrets : cfg.jwks;
    auto result = verify_jwt(r.input, keys, opt, cfg.now);
    const std::error_code outcome = result ? std::error_code() : result.error();
    const verdict got = outcome ? verdict::reject : verdict::accept;
    if (got != *expected) {
      ++mismatched;
      ADD_FAILURE() << r.name << " (expect '" << r.expect << "', key set "
                    << (hmac ? "secrets" : "jwks") << "): expected "
                    << (*expected == verdict::accept ? "accept" : "reject") << ", got "
                    << describe(outcome);
      continue;
    }
    if (got == verdict::accept) {
      ++accepted;
      // an accepted token with one signature bit flipped must be rejected
      auto tampered = with_flipped_signature_bit(r.input);
      ASSERT_TRUE(tampered) << r.name;
      EXPECT_FALSE(verify_jwt(*tampered, keys, opt, cfg.now))
          << r.name << ": tampered signature accepted";
    } else {
      ++rejected;
    }
  }
  std::cout << "[vectors] attacks/jwt_attack_vectors.json: cases=" << table.size()
            << " matched=" << accepted + rejected << " accepted=" << accepted
            << " rejected=" << rejected << " mismatched=" << mismatched << " (typ enforced on "
            << typ_checked << ", routed to secrets " << to_secrets << ")" << std::endl;
  RecordProperty("jwt_attack_vectors.cases", static_cast<int>(table.size()));
  RecordProperty("jwt_attack_vectors.matched", accepted + rejected);
  EXPECT_EQ(table.size(), 110u);
  EXPECT_EQ(accepted + rejected, static_cast<int>(table.size()));
  EXPECT_EQ(typ_checked, 3);
}

// ---- jwks_bad_keys.json -------------------------------------------------------------------

/// Extra checks beyond "the key is dropped from a remote JWKS".
enum class extra_check {
  none,
  also_with_allow_oct,        // refused even from local configuration (short HMAC key)
  dropped_beside_asymmetric,  // with oct allowed, still dropped next to an asymmetric key
  forged_token_fails,         // the forged token must not verify
  kid_must_not_resolve,       // duplicate kid: the kid selects nothing
};

struct bad_key_case {
  std::string_view name;
  extra_check extra;
};

constexpr std::array<bad_key_case, 16> kBadKeyCases{{
    {"rsa_1024", extra_check::none},
    {"rsa_e_1", extra_check::forged_token_fails},
    {"rsa_e_even", extra_check::none},
    {"rsa_n_leading_zero", extra_check::none},
    {"rsa_n_even", extra_check::none},
    {"kty_alg_mismatch_rsa_es256", extra_check::none},
    {"ec_crv_alg_mismatch", extra_check::none},
    {"ec_point_not_on_curve", extra_check::none},
    {"ec_short_x", extra_check::none},
    {"oct_in_asymmetric_set", extra_check::dropped_beside_asymmetric},
    {"hs256_short_key", extra_check::also_with_allow_oct},
    {"use_enc", extra_check::none},
    {"key_ops_encrypt_only", extra_check::none},
    {"duplicate_kid", extra_check::kid_must_not_resolve},
    {"private_key_in_jwks", extra_check::none},
    {"kid_not_string", extra_check::none},
}};

json::object jwks_of(const json::value& key) {
  json::object doc;
  doc["keys"] = json::array{key};
  return doc;
}

TEST(AttackVectors, JwksBadKeys) {
  GATEPASS_LOAD_VECTORS_OR_SKIP(file, "attacks/jwks_bad_keys.json");
  GATEPASS_LOAD_VECTORS_OR_SKIP(attacks, "attacks/jwt_attack_vectors.json");
  const auto& root = file.json.get_object();
  const auto& attack_root = attacks.json.get_object();
  const auto* cases = root.if_contains("cases");
  ASSERT_TRUE(cases != nullptr && cases->is_array());
  ASSERT_EQ(cases->get_array().size(), kBadKeyCases.size());

  int matched = 0;
  for (const auto& c : cases->get_array()) {
    const auto& o = c.get_object();
    const std::string name = str_of(o, "id");
    const auto* tc = std::find_if(kBadKeyCases.begin(), kBadKeyCases.end(),
                                  [&](const bad_key_case& b) { return b.name == name; });
    ASSERT_NE(tc, kBadKeyCases.end()) << "case not in the table: " << name;
    const int failures_before =
        testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();

    // The input: one JWK (wrapped in a JWKS) or a whole JWKS.
    json::object doc;
    if (const auto* k = o.if_contains("jwk"); k != nullptr) {
      doc = jwks_of(*k);
    } else {
      const auto* s = o.if_contains("jwks");
      ASSERT_TRUE(s != nullptr && s->is_object()) << name;
      doc = s->get_object();
    }
    const std::string text = json::serialize(doc);

    // As a remote JWKS (default options): the document parses, the bad key is dropped.
    auto remote = key_set::parse(text);
    ASSERT_TRUE(remote) << name << ": " << remote.error().message();
    EXPECT_TRUE(remote->keys().empty()) << name << ": a bad key was kept";
    EXPECT_FALSE(remote->dropped().empty()) << name << ": no drop reason recorded";
    for (const auto& d : remote->dropped())
      std::cout << "[vectors] jwks_bad_keys " << name << ": key " << d.index
                << " dropped: " << errc_name(static_cast<errc>(d.reason.value())) << std::endl;

    switch (tc->extra) {
      case extra_check::none:
        break;
      case extra_check::also_with_allow_oct: {
        auto local = key_set::parse(text, jwk_parse_options{.allow_oct = true});
        ASSERT_TRUE(local) << name;
        EXPECT_TRUE(local->keys().empty()) << name << ": short HMAC key kept with allow_oct";
        break;
      }
      case extra_check::dropped_beside_asymmetric: {
        // the oct key next to the trusted RSA key, even where oct keys are otherwise allowed
        const auto* trusted = attack_root.if_contains("jwks");
        ASSERT_TRUE(trusted != nullptr && trusted->is_object());
        json::object mixed = trusted->get_object();
        mixed["keys"].get_array().push_back(doc["keys"].get_array().at(0));
        auto set = key_set::parse(json::serialize(mixed), jwk_parse_options{.allow_oct = true});
        ASSERT_TRUE(set) << name;
        for (const auto& k : set->keys())
          EXPECT_NE(k.kty(), key_type::oct) << name << ": oct key kept beside asymmetric keys";
        auto remote_mixed = key_set::parse(json::serialize(mixed));
        ASSERT_TRUE(remote_mixed) << name;
        EXPECT_EQ(remote_mixed->keys().size(), 2u) << name << ": good keys must stay usable";
        for (const auto& k : remote_mixed->keys()) EXPECT_NE(k.kty(), key_type::oct) << name;
        break;
      }
      case extra_check::forged_token_fails: {
        const std::string forged = str_of(o, "forged_token");
        ASSERT_FALSE(forged.empty()) << name;
        verify_options opt;
        opt.claims.issuer = str_of(attack_root, "issuer");
        opt.claims.audiences = {str_of(attack_root, "audience")};
        const std::int64_t now = int_of(attack_root, "now");
        // neither the bad key's own set nor a harness that allows private/oct members
        EXPECT_FALSE(verify_jwt(forged, *remote, opt, now)) << name << ": forged token verified";
        auto lax =
            key_set::parse(text, jwk_parse_options{.allow_private = true, .allow_oct = true});
        ASSERT_TRUE(lax) << name;
        EXPECT_TRUE(lax->keys().empty()) << name << ": e=1 key kept";
        EXPECT_FALSE(verify_jwt(forged, *lax, opt, now)) << name << ": forged token verified";
        break;
      }
      case extra_check::kid_must_not_resolve: {
        std::set<std::string> kids;
        for (const auto& k : doc["keys"].get_array())
          if (k.is_object()) kids.insert(str_of(k.get_object(), "kid"));
        ASSERT_EQ(kids.size(), 1u) << name;
        EXPECT_FALSE(remote->select(std::string_view(*kids.begin())))
            << name << ": duplicate kid resolved to a key";
        // the valid baseline token (kid rsa-1) must not verify against the ambiguous set
        for (const auto& v : attack_root.at("vectors").get_array())
          if (str_of(v.get_object(), "id") == "valid_rs256") {
            verify_options opt;
            opt.claims.issuer = str_of(attack_root, "issuer");
            opt.claims.audiences = {str_of(attack_root, "audience")};
            EXPECT_FALSE(verify_jwt(str_of(v.get_object(), "token"), *remote, opt,
                                    int_of(attack_root, "now")))
                << name << ": token verified under an ambiguous kid";
          }
        break;
      }
    }
    const int failures_after =
        testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
    if (failures_after == failures_before) ++matched;
  }
  std::cout << "[vectors] attacks/jwks_bad_keys.json: cases=" << cases->get_array().size()
            << " matched=" << matched << std::endl;
  RecordProperty("jwks_bad_keys.cases", static_cast<int>(cases->get_array().size()));
  RecordProperty("jwks_bad_keys.matched", matched);
  EXPECT_EQ(matched, static_cast<int>(kBadKeyCases.size()));
}

}  // namespace
}  // namespace gatepass::jose
