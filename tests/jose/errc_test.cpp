// The jose error domain: every enumerator has a distinct name and message, and every one is
// produced by a real API call (no enumerator exists that no input can reach).
#include "jose/errc.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <boost/json/serialize.hpp>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "common/base64url.h"
#include "common/ossl.h"
#include "jose/claims.h"
#include "jose/json.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "jose/key_set.h"
#include "jose/verifier.h"
#include "keys/key_generator.h"
#include "support/test_keys.h"

namespace gatepass::jose {
namespace {

namespace json = boost::json;
using test::b64;
using test::describe;
using test::private_key;
using test::public_key;
using test::roca_modulus_b64;
using test::sign_raw;
using test::with;
using test::without;

TEST(Errc, EveryValueHasADistinctNameAndMessage) {
  std::set<std::string> names, messages;
  for (int v = 1; v <= errc_last; ++v) {
    const auto e = static_cast<errc>(v);
    const std::error_code ec = e;
    EXPECT_EQ(&ec.category(), &jose_category());
    EXPECT_EQ(ec.value(), v);
    const std::string name = errc_name(e);
    const std::string message = ec.message();
    EXPECT_FALSE(name.empty()) << v;
    EXPECT_FALSE(message.empty()) << v;
    EXPECT_NE(message, "unknown jose error") << name;
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
    EXPECT_TRUE(messages.insert(message).second) << "duplicate message for " << name;
    for (char c : name)
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
          << "name not snake_case: " << name;
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(errc_last));
  EXPECT_STREQ(jose_category().name(), "jose");
  EXPECT_EQ(errc_name(errc::token_empty), std::string("token_empty"));
  EXPECT_EQ(errc_name(errc::crypto_failure), std::string("crypto_failure"));
  // values outside the enum do not crash
  EXPECT_FALSE(jose_category().message(0).empty());
  EXPECT_FALSE(jose_category().message(errc_last + 1).empty());
}

TEST(Errc, ComparesWithErrorCodes) {
  const std::error_code ec = errc::expired;
  EXPECT_EQ(ec, errc::expired);
  EXPECT_NE(ec, errc::not_yet_valid);
  EXPECT_NE(ec, std::make_error_code(std::errc::timed_out));
  EXPECT_TRUE(ec);
}

// ---- every enumerator reached through the public API -------------------------------------

template <class T>
std::error_code error_of(const result<T>& r) {
  return r ? std::error_code() : r.error();
}

constexpr std::int64_t now = 1'700'000'000;
constexpr std::string_view good_payload = R"({"iss":"i","aud":"a","exp":1700000300})";

std::error_code parse_err(std::string_view token) {
  return error_of(parse_compact(token));
}

std::error_code header_err(std::string_view header_json) {
  return parse_err(sign_raw(private_key(alg::hs256), header_json, good_payload));
}

std::error_code json_err(std::string_view text) {
  return error_of(parse_json_object(text));
}

std::error_code jwk_err(const json::object& o, jwk_parse_options opt = {}) {
  return error_of(jwk::parse(o, opt));
}

verify_options options() {
  verify_options o;
  o.claims.issuer = "i";
  o.claims.audiences = {"a"};
  o.claims.typ = "at+jwt";
  o.algorithms = {alg::es256};
  return o;
}

std::error_code verify_err(std::string_view token, const verify_options& opt = options()) {
  static const key_set keys = key_set::from_keys({public_key(alg::es256)});
  return error_of(verify_jwt(token, keys, opt, now));
}

std::string es256_token(std::string_view payload, std::string_view typ = "at+jwt") {
  json::object h{{"alg", "ES256"}, {"kid", private_key(alg::es256).kid()}};
  if (!typ.empty()) h["typ"] = typ;
  return sign_raw(private_key(alg::es256), json::serialize(h), payload);
}

std::error_code claims_err(const json::object& claims) {
  claims_policy p;
  p.issuer = "i";
  p.audiences = {"a"};
  p.leeway = 0;
  return validate_claims(claims, p, now);
}

json::object good_claims() {
  return json::object{{"iss", "i"}, {"aud", "a"}, {"exp", now + 300}};
}

/// An RSA private JWK whose first prime is 2: well-formed JSON with a valid public half, which
/// OpenSSL accepts as data but cannot sign with (Montgomery arithmetic needs an odd modulus).
json::object rsa_private_with_even_prime() {
  json::object o = public_key(alg::rs256).to_public_json();
  const std::string one_k = base64url_encode(std::string(128, '\x7f'));
  o["d"] = base64url_encode(std::string(256, '\x33'));
  o["p"] = "Ag";
  o["q"] = one_k;
  o["dp"] = "AQ";
  o["dq"] = one_k;
  o["qi"] = "AQ";
  return o;
}

/// The same numbers as an EVP_PKEY: OpenSSL builds it from data without checking that the
/// halves belong together (jwk::parse does, and refuses this JWK).
std::shared_ptr<EVP_PKEY> pkey_with_even_prime() {
  const json::object o = rsa_private_with_even_prime();
  static constexpr std::pair<const char*, const char*> parts[] = {
      {"n", OSSL_PKEY_PARAM_RSA_N},          {"e", OSSL_PKEY_PARAM_RSA_E},
      {"d", OSSL_PKEY_PARAM_RSA_D},          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
      {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
      {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
  ossl::param_bld_ptr bld(OSSL_PARAM_BLD_new());
  std::vector<ossl::bn_ptr> keep;
  for (const auto& [member, param] : parts) {
    const std::string bytes = *base64url_decode(std::string_view(o.at(member).as_string()));
    keep.emplace_back(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()), nullptr));
    OSSL_PARAM_BLD_push_BN(bld.get(), param, keep.back().get());
  }
  ossl::params_ptr params(OSSL_PARAM_BLD_to_param(bld.get()));
  ossl::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) != 1)
    return nullptr;
  return ossl::share(ossl::pkey_ptr(raw));
}

struct reach_case {
  const char* name;
  std::function<std::error_code()> run;
  errc expected;
};

TEST(Errc, EveryEnumeratorIsReachable) {
  const json::object rsa = public_key(alg::rs256).to_public_json();
  const json::object p256 = public_key(alg::es256).to_public_json();
  const json::object ed = public_key(alg::eddsa).to_public_json();
  const std::string n = *base64url_decode(std::string_view(rsa.at("n").as_string()));
  const std::string y = *base64url_decode(std::string_view(p256.at("y").as_string()));
  jwk_parse_options allow_oct;
  allow_oct.allow_oct = true;
  jwk_parse_options allow_private;
  allow_private.allow_private = true;
  const std::string good = es256_token(json::serialize(good_claims()));
  const std::string hs_token =
      sign_raw(private_key(alg::hs256), R"({"alg":"HS256"})", good_payload);
  const std::string hs_h = hs_token.substr(0, hs_token.find('.'));

  const std::vector<reach_case> cases = {
      // token structure
      {"token_empty", [] { return parse_err(""); }, errc::token_empty},
      {"token_too_large", [] { return parse_err(std::string(16 * 1024 + 1, '.')); },
       errc::token_too_large},
      {"token_malformed", [] { return parse_err("a.b"); }, errc::token_malformed},
      {"header_bad_base64", [] { return parse_err("e30=.e30.AA"); }, errc::header_bad_base64},
      {"payload_bad_base64", [&] { return parse_err(hs_h + ".e30=.AA"); },
       errc::payload_bad_base64},
      {"signature_bad_base64", [&] { return parse_err(hs_h + ".e30.A"); },
       errc::signature_bad_base64},
      // JSON
      {"json_syntax", [] { return json_err("{\"a\":}"); }, errc::json_syntax},
      {"json_invalid_utf8", [] { return json_err("{\"a\":\"\xed\xa0\x80\"}"); },
       errc::json_invalid_utf8},
      {"json_too_deep", [] { return json_err(std::string(20, '[') + std::string(20, ']')); },
       errc::json_too_deep},
      {"json_duplicate_member", [] { return json_err(R"({"a":1,"a":2})"); },
       errc::json_duplicate_member},
      {"json_not_object", [] { return json_err("[]"); }, errc::json_not_object},
      {"header_bad_json", [] { return header_err("[]"); }, errc::header_bad_json},
      {"payload_bad_json", [] { return verify_err(es256_token("[]")); }, errc::payload_bad_json},
      // header
      {"alg_missing", [] { return header_err("{}"); }, errc::alg_missing},
      {"alg_not_string", [] { return header_err(R"({"alg":1})"); }, errc::alg_not_string},
      {"alg_none", [] { return header_err(R"({"alg":"nOnE"})"); }, errc::alg_none},
      {"alg_unsupported", [] { return header_err(R"({"alg":"HS1"})"); }, errc::alg_unsupported},
      {"alg_not_allowed",
       [&] {
         auto o = options();
         o.algorithms = {alg::eddsa};
         return verify_err(good, o);
       },
       errc::alg_not_allowed},
      {"kid_not_string", [] { return header_err(R"({"alg":"HS256","kid":7})"); },
       errc::kid_not_string},
      {"kid_required",
       [] {
         return error_of(key_set::from_keys({public_key(alg::es256), public_key(alg::eddsa)})
                             .select(std::nullopt));
       },
       errc::kid_required},
      {"kid_unknown",
       [] {
         return verify_err(sign_raw(private_key(alg::es256),
                                    R"({"alg":"ES256","typ":"at+jwt","kid":"nope"})",
                                    good_payload));
       },
       errc::kid_unknown},
      {"header_key_forbidden", [] { return header_err(R"({"alg":"HS256","jku":"https://x"})"); },
       errc::header_key_forbidden},
      {"crit_invalid", [] { return header_err(R"({"alg":"HS256","crit":[]})"); },
       errc::crit_invalid},
      {"crit_unsupported", [] { return header_err(R"({"alg":"HS256","crit":["x"],"x":1})"); },
       errc::crit_unsupported},
      {"b64_unsupported", [] { return header_err(R"({"alg":"HS256","b64":false})"); },
       errc::b64_unsupported},
      {"nested_jwt", [] { return header_err(R"({"alg":"HS256","cty":"JWT"})"); }, errc::nested_jwt},
      {"typ_not_string", [] { return header_err(R"({"alg":"HS256","typ":{}})"); },
       errc::typ_not_string},
      {"typ_mismatch", [] { return verify_err(es256_token(R"({"exp":1})", "JWT")); },
       errc::typ_mismatch},
      // keys
      {"key_alg_mismatch",
       [] {
         auto o = options();
         o.algorithms.clear();
         const std::string t = sign_raw(
             private_key(alg::es384),
             R"({"alg":"ES384","typ":"at+jwt","kid":")" + private_key(alg::es256).kid() + "\"}",
             "{}");
         return verify_err(t, o);
       },
       errc::key_alg_mismatch},
      {"key_kty_missing", [&] { return jwk_err(without(rsa, "kty")); }, errc::key_kty_missing},
      {"key_kty_unsupported", [&] { return jwk_err(with(rsa, "kty", "DSA")); },
       errc::key_kty_unsupported},
      {"key_alg_unsupported", [&] { return jwk_err(with(rsa, "alg", "none")); },
       errc::key_alg_unsupported},
      {"key_alg_kty_mismatch", [&] { return jwk_err(with(p256, "alg", "ES512")); },
       errc::key_alg_kty_mismatch},
      {"key_use_invalid", [&] { return jwk_err(with(rsa, "use", "enc")); }, errc::key_use_invalid},
      {"key_ops_invalid", [&] { return jwk_err(with(rsa, "key_ops", json::array{"encrypt"})); },
       errc::key_ops_invalid},
      {"key_member_invalid", [&] { return jwk_err(with(rsa, "kid", 1)); },
       errc::key_member_invalid},
      {"key_private_material", [&] { return jwk_err(with(p256, "d", "AAAA")); },
       errc::key_private_material},
      {"key_rsa_missing_param", [&] { return jwk_err(without(rsa, "e")); },
       errc::key_rsa_missing_param},
      {"key_rsa_bad_modulus",
       [&] { return jwk_err(with(rsa, "n", json::string(base64url_encode('\0' + n)))); },
       errc::key_rsa_bad_modulus},
      {"key_rsa_too_small",
       [&] {
         return jwk_err(with(rsa, "n", json::string(base64url_encode(n.substr(0, 127) + '\x01'))));
       },
       errc::key_rsa_too_small},
      {"key_rsa_bad_exponent", [&] { return jwk_err(with(rsa, "e", "AQ")); },
       errc::key_rsa_bad_exponent},
      {"key_rsa_roca", [&] { return jwk_err(with(rsa, "n", json::string(roca_modulus_b64()))); },
       errc::key_rsa_roca},
      {"key_ec_bad_curve", [&] { return jwk_err(with(p256, "crv", "P-224")); },
       errc::key_ec_bad_curve},
      {"key_ec_bad_coordinate", [&] { return jwk_err(without(p256, "y")); },
       errc::key_ec_bad_coordinate},
      {"key_ec_point_invalid",
       [&] {
         std::string bad = y;
         bad.back() = static_cast<char>(bad.back() ^ 0x01);
         return jwk_err(with(p256, "y", json::string(base64url_encode(bad))));
       },
       errc::key_ec_point_invalid},
      {"key_okp_bad_curve", [&] { return jwk_err(with(ed, "crv", "X25519")); },
       errc::key_okp_bad_curve},
      {"key_okp_bad_x", [&] { return jwk_err(with(ed, "x", "AAAA")); }, errc::key_okp_bad_x},
      {"key_oct_forbidden",
       [] {
         return jwk_err(
             json::object{{"kty", "oct"}, {"k", base64url_encode(std::string(32, 'k'))}});
       },
       errc::key_oct_forbidden},
      {"key_oct_too_short",
       [&] {
         return jwk_err(json::object{{"kty", "oct"}, {"k", "c2hvcnQ"}}, allow_oct);
       },
       errc::key_oct_too_short},
      {"key_mixed_symmetry",
       [] {
         const auto set = key_set::from_keys({private_key(alg::hs256), public_key(alg::es256)});
         return set.dropped().empty() ? std::error_code() : set.dropped()[0].reason;
       },
       errc::key_mixed_symmetry},
      {"key_duplicate_kid",
       [] {
         const auto set = key_set::from_keys(
             {public_key(alg::es256).with_kid("k"), public_key(alg::eddsa).with_kid("k")});
         return set.dropped().empty() ? std::error_code() : set.dropped()[0].reason;
       },
       errc::key_duplicate_kid},
      {"key_bad_pem", [] { return error_of(jwk::from_pem("-----BEGIN PUBLIC KEY-----\n")); },
       errc::key_bad_pem},
      {"key_not_private", [] { return error_of(public_key(alg::eddsa).sign("x")); },
       errc::key_not_private},
      {"jwks_bad_json", [] { return error_of(key_set::parse("{")); }, errc::jwks_bad_json},
      {"jwks_no_keys", [] { return error_of(key_set::parse("{}")); }, errc::jwks_no_keys},
      {"jwks_no_valid_keys",
       [] {
         auto set = key_set::parse(R"({"keys":[{"kty":"RSA"}]})");
         return set ? error_of(set->select(std::nullopt)) : set.error();
       },
       errc::jwks_no_valid_keys},
      // signature
      {"signature_length_invalid", [&] { return verify_err(good + "AAAA"); },
       errc::signature_length_invalid},
      {"signature_invalid",
       [&] {
         std::string t = good;
         t[t.rfind('.') + 1] = t[t.rfind('.') + 1] == 'A' ? 'B' : 'A';
         return verify_err(t);
       },
       errc::signature_invalid},
      // claims
      {"exp_missing", [] { return claims_err(without(good_claims(), "exp")); }, errc::exp_missing},
      {"exp_not_numeric", [] { return claims_err(with(good_claims(), "exp", "1")); },
       errc::exp_not_numeric},
      {"exp_out_of_range", [] { return claims_err(with(good_claims(), "exp", -1)); },
       errc::exp_out_of_range},
      {"expired", [] { return claims_err(with(good_claims(), "exp", now)); }, errc::expired},
      {"nbf_not_numeric", [] { return claims_err(with(good_claims(), "nbf", true)); },
       errc::nbf_not_numeric},
      {"nbf_out_of_range", [] { return claims_err(with(good_claims(), "nbf", 1e13)); },
       errc::nbf_out_of_range},
      {"not_yet_valid", [] { return claims_err(with(good_claims(), "nbf", now + 1)); },
       errc::not_yet_valid},
      {"iat_not_numeric", [] { return claims_err(with(good_claims(), "iat", nullptr)); },
       errc::iat_not_numeric},
      {"iat_out_of_range", [] { return claims_err(with(good_claims(), "iat", -3)); },
       errc::iat_out_of_range},
      {"iat_in_future", [] { return claims_err(with(good_claims(), "iat", now + 1)); },
       errc::iat_in_future},
      {"iss_missing", [] { return claims_err(without(good_claims(), "iss")); }, errc::iss_missing},
      {"iss_not_string", [] { return claims_err(with(good_claims(), "iss", 1)); },
       errc::iss_not_string},
      {"iss_mismatch",
       [] { return verify_err(es256_token(R"({"iss":"j","aud":"a","exp":1700000300})")); },
       errc::iss_mismatch},
      {"aud_missing", [] { return claims_err(without(good_claims(), "aud")); }, errc::aud_missing},
      {"aud_invalid", [] { return claims_err(with(good_claims(), "aud", json::array{1})); },
       errc::aud_invalid},
      {"aud_mismatch", [] { return claims_err(with(good_claims(), "aud", "b")); },
       errc::aud_mismatch},
      {"sub_not_string", [] { return claims_err(with(good_claims(), "sub", 1)); },
       errc::sub_not_string},
      {"sub_invalid",
       [] {
         return claims_err(with(good_claims(), "sub", json::string(std::string_view("a\0b", 3))));
       },
       errc::sub_invalid},
      {"jti_not_string", [] { return claims_err(with(good_claims(), "jti", 1)); },
       errc::jti_not_string},
      {"scope_invalid",
       [] {
         return verify_err(es256_token(R"({"iss":"i","aud":"a","exp":1700000300,"scope":1})"));
       },
       errc::scope_invalid},
      {"key_private_mismatch",
       [&] { return error_of(jwk::parse(rsa_private_with_even_prime(), allow_private)); },
       errc::key_private_mismatch},
      {"crypto_failure",
       [] {
         auto k = jwk::from_pkey(pkey_with_even_prime(), alg::rs256, "even-prime");
         return k ? error_of(k->sign("x")) : k.error();
       },
       errc::crypto_failure},
  };

  std::set<int> reached;
  for (const auto& c : cases) {
    const std::error_code ec = c.run();
    EXPECT_EQ(ec, make_error_code(c.expected))
        << c.name << ": got " << describe(ec) << ", want " << errc_name(c.expected);
    if (ec == make_error_code(c.expected)) reached.insert(ec.value());
  }
  for (int v = 1; v <= errc_last; ++v)
    EXPECT_TRUE(reached.count(v)) << "never reached: " << errc_name(static_cast<errc>(v));
  EXPECT_EQ(reached.size(), static_cast<std::size_t>(errc_last));
}

}  // namespace
}  // namespace gatepass::jose
