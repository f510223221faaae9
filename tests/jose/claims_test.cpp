// JWT claims policy (RFC 7519 §4.1, RFC 9068, RFC 8725 §3.8-3.11) and the end-to-end verifier:
// each rule as a table row {name, claims, expected errc}, with the leeway boundaries exact.
#include "jose/claims.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "jose/errc.h"
#include "jose/verifier.h"
#include "support/test_keys.h"

namespace gatepass::jose {
namespace {

namespace json = boost::json;
using test::b64;
using test::describe;
using test::private_key;
using test::public_key;
using test::sign_raw;
using test::with;
using test::without;

constexpr std::int64_t now = 1'700'000'000;
constexpr const char* issuer = "https://issuer.example";

claims_policy policy() {
  claims_policy p;
  p.issuer = issuer;
  p.audiences = {"api", "api2"};
  p.leeway = 60;
  return p;
}

// The verifier's path: the claims as JSON text, read by json_scanner, checked without a tree.
result<std::vector<std::string>> scanned_validate(const json::object& claims,
                                                  const claims_policy& p) {
  const std::string text = json::serialize(claims);
  json_scanner scanner;
  std::array<scanned_member, registered_claim_names.size()> members;
  if (auto ec = scanner.scan(text, {}, registered_claim_names, members)) return ec;
  return validate_claims_and_scopes(members, p, now);
}

json::object good_claims() {
  return json::object{{"iss", issuer},   {"sub", "alice"},  {"aud", "api"}, {"exp", now + 300},
                      {"nbf", now - 10}, {"iat", now - 10}, {"jti", "id-1"}};
}

TEST(Claims, GoodClaimsPass) {
  EXPECT_FALSE(validate_claims(good_claims(), policy(), now));
  // optional claims may be absent
  EXPECT_FALSE(validate_claims(json::object{{"iss", issuer}, {"aud", "api2"}, {"exp", now + 1}},
                               policy(), now));
  // nothing configured, nothing required
  claims_policy open;
  open.require_exp = false;
  EXPECT_FALSE(validate_claims(json::object{}, open, now));
}

TEST(Claims, AudienceForms) {
  const auto p = policy();
  EXPECT_FALSE(validate_claims(with(good_claims(), "aud", "api2"), p, now));
  EXPECT_FALSE(validate_claims(with(good_claims(), "aud", json::array{"other", "api"}), p, now));
  EXPECT_FALSE(validate_claims(with(good_claims(), "aud", json::array{"api2"}), p, now));
  claims_policy no_aud = p;
  no_aud.audiences.clear();
  EXPECT_FALSE(validate_claims(without(good_claims(), "aud"), no_aud, now));
  EXPECT_FALSE(validate_claims(with(good_claims(), "aud", "anything"), no_aud, now));
}

TEST(Claims, LeewayBoundaries) {
  const auto p = policy();  // leeway 60
  // exp: valid while now < exp + leeway
  EXPECT_FALSE(validate_claims(with(good_claims(), "exp", now - 59), p, now));
  EXPECT_EQ(validate_claims(with(good_claims(), "exp", now - 60), p, now), errc::expired);
  EXPECT_FALSE(validate_claims(with(good_claims(), "exp", double(now) - 59.5), p, now));
  // nbf: valid once now >= nbf - leeway
  EXPECT_FALSE(validate_claims(with(good_claims(), "nbf", now + 60), p, now));
  EXPECT_EQ(validate_claims(with(good_claims(), "nbf", now + 61), p, now), errc::not_yet_valid);
  // iat: at most leeway in the future
  EXPECT_FALSE(validate_claims(with(good_claims(), "iat", now + 60), p, now));
  EXPECT_EQ(validate_claims(with(good_claims(), "iat", now + 61), p, now), errc::iat_in_future);

  claims_policy strict = p;
  strict.leeway = 0;
  EXPECT_FALSE(validate_claims(with(good_claims(), "exp", now + 1), strict, now));
  EXPECT_EQ(validate_claims(with(good_claims(), "exp", now), strict, now), errc::expired);
  EXPECT_FALSE(validate_claims(with(good_claims(), "nbf", now), strict, now));
  EXPECT_EQ(validate_claims(with(good_claims(), "nbf", now + 1), strict, now), errc::not_yet_valid);
  EXPECT_FALSE(validate_claims(with(good_claims(), "iat", now), strict, now));
  EXPECT_EQ(validate_claims(with(good_claims(), "iat", now + 1), strict, now), errc::iat_in_future);
  // year 9999 is the last representable NumericDate
  EXPECT_FALSE(validate_claims(with(good_claims(), "exp", 253402300799), p, now));
  EXPECT_FALSE(validate_claims(with(good_claims(), "exp", std::uint64_t{253402300799}), p, now));
}

struct claims_case {
  std::string name;
  json::object claims;
  errc expected;
};

TEST(Claims, RejectsTable) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const json::object g = good_claims();
  const std::vector<claims_case> cases = {
      // exp
      {"exp_missing", without(g, "exp"), errc::exp_missing},
      {"exp_string", with(g, "exp", "1700000300"), errc::exp_not_numeric},
      {"exp_null", with(g, "exp", nullptr), errc::exp_not_numeric},
      {"exp_bool", with(g, "exp", true), errc::exp_not_numeric},
      {"exp_array", with(g, "exp", json::array{now + 300}), errc::exp_not_numeric},
      {"exp_object", with(g, "exp", json::object{}), errc::exp_not_numeric},
      {"exp_negative", with(g, "exp", -1), errc::exp_out_of_range},
      {"exp_negative_fraction", with(g, "exp", -0.5), errc::exp_out_of_range},
      {"exp_after_9999", with(g, "exp", 253402300800), errc::exp_out_of_range},
      {"exp_huge_double", with(g, "exp", 1e300), errc::exp_out_of_range},
      {"exp_uint64_max", with(g, "exp", std::numeric_limits<std::uint64_t>::max()),
       errc::exp_out_of_range},
      {"exp_int64_min", with(g, "exp", std::numeric_limits<std::int64_t>::min()),
       errc::exp_out_of_range},
      {"exp_infinite", with(g, "exp", inf), errc::exp_out_of_range},
      {"exp_nan", with(g, "exp", nan), errc::exp_out_of_range},
      {"expired", with(g, "exp", now - 3600), errc::expired},
      {"expired_at_leeway_boundary", with(g, "exp", now - 60), errc::expired},
      {"expired_epoch", with(g, "exp", 0), errc::expired},
      // nbf
      {"nbf_string", with(g, "nbf", "now"), errc::nbf_not_numeric},
      {"nbf_null", with(g, "nbf", nullptr), errc::nbf_not_numeric},
      {"nbf_negative", with(g, "nbf", -5), errc::nbf_out_of_range},
      {"nbf_after_9999", with(g, "nbf", 1e12), errc::nbf_out_of_range},
      {"nbf_infinite", with(g, "nbf", inf), errc::nbf_out_of_range},
      {"not_yet_valid", with(g, "nbf", now + 3600), errc::not_yet_valid},
      {"not_yet_valid_past_leeway", with(g, "nbf", now + 61), errc::not_yet_valid},
      // iat
      {"iat_string", with(g, "iat", "yesterday"), errc::iat_not_numeric},
      {"iat_array", with(g, "iat", json::array{}), errc::iat_not_numeric},
      {"iat_negative", with(g, "iat", -1), errc::iat_out_of_range},
      {"iat_after_9999", with(g, "iat", 253402300800.0), errc::iat_out_of_range},
      {"iat_in_future", with(g, "iat", now + 3600), errc::iat_in_future},
      {"iat_in_future_past_leeway", with(g, "iat", now + 61), errc::iat_in_future},
      // iss
      {"iss_missing", without(g, "iss"), errc::iss_missing},
      {"iss_number", with(g, "iss", 1), errc::iss_not_string},
      {"iss_array", with(g, "iss", json::array{issuer}), errc::iss_not_string},
      {"iss_null", with(g, "iss", nullptr), errc::iss_not_string},
      {"iss_trailing_slash", with(g, "iss", "https://issuer.example/"), errc::iss_mismatch},
      {"iss_case", with(g, "iss", "https://ISSUER.example"), errc::iss_mismatch},
      {"iss_prefix", with(g, "iss", "https://issuer.exam"), errc::iss_mismatch},
      {"iss_empty", with(g, "iss", ""), errc::iss_mismatch},
      {"iss_embedded_nul",
       with(g, "iss", json::string(std::string_view("https://issuer.example\0", 23))),
       errc::iss_mismatch},
      // aud
      {"aud_missing", without(g, "aud"), errc::aud_missing},
      {"aud_mismatch_string", with(g, "aud", "other"), errc::aud_mismatch},
      {"aud_mismatch_case", with(g, "aud", "API"), errc::aud_mismatch},
      {"aud_mismatch_array", with(g, "aud", json::array{"a", "b"}), errc::aud_mismatch},
      {"aud_empty_array", with(g, "aud", json::array{}), errc::aud_mismatch},
      {"aud_number", with(g, "aud", 5), errc::aud_invalid},
      {"aud_null", with(g, "aud", nullptr), errc::aud_invalid},
      {"aud_object", with(g, "aud", json::object{{"api", true}}), errc::aud_invalid},
      {"aud_array_with_number", with(g, "aud", json::array{"api", 2}), errc::aud_invalid},
      {"aud_array_nested", with(g, "aud", json::array{json::array{"api"}}), errc::aud_invalid},
      // sub, jti
      {"sub_number", with(g, "sub", 42), errc::sub_not_string},
      {"sub_null", with(g, "sub", nullptr), errc::sub_not_string},
      {"sub_nul_inside", with(g, "sub", json::string(std::string_view("ali\0ce", 6))),
       errc::sub_invalid},
      {"sub_nul_at_end", with(g, "sub", json::string(std::string_view("alice\0", 6))),
       errc::sub_invalid},
      {"jti_number", with(g, "jti", 7), errc::jti_not_string},
      {"jti_object", with(g, "jti", json::object{}), errc::jti_not_string},
  };
  const auto p = policy();
  for (const auto& c : cases) {
    if (parse_json_object(json::serialize(c.claims))) {  // NaN and infinity have no JSON text
      EXPECT_EQ(scanned_validate(c.claims, p).error(), make_error_code(c.expected)) << c.name;
    }
    const std::error_code ec = validate_claims(c.claims, p, now);
    EXPECT_EQ(ec, make_error_code(c.expected))
        << c.name << ": got " << describe(ec) << ", want " << errc_name(c.expected) << " for "
        << json::serialize(c.claims);
    // the verifier's one-pass form reports the same first failure
    auto both = validate_claims_and_scopes(c.claims, p, now);
    ASSERT_FALSE(both) << c.name;
    EXPECT_EQ(both.error(), make_error_code(c.expected)) << c.name;
  }
}

// AWS's JWT authorizer (the gateway's policy): without aud, client_id must be an audience.
TEST(Claims, ClientIdStandsInForAMissingAudOnlyWhenAsked) {
  const auto g = good_claims();
  const auto no_aud = without(g, "aud");
  struct case_ {
    const char* name;
    json::object claims;
    bool aws;
    std::error_code expected;
  };
  const std::vector<case_> cases = {
      {"client_id_audience", with(no_aud, "client_id", "api2"), true, {}},
      {"client_id_other", with(no_aud, "client_id", "other"), true, errc::aud_mismatch},
      {"client_id_number", with(no_aud, "client_id", 5), true, errc::aud_invalid},
      {"client_id_array", with(no_aud, "client_id", json::array{"api"}), true, errc::aud_invalid},
      {"neither", without(no_aud, "client_id"), true, errc::aud_missing},
      {"aud_present_decides", with(with(g, "aud", "other"), "client_id", "api"), true,
       errc::aud_mismatch},
      {"not_asked", with(no_aud, "client_id", "api"), false, errc::aud_missing},
  };
  for (const auto& c : cases) {
    auto p = policy();
    p.client_id_for_missing_aud = c.aws;
    EXPECT_EQ(validate_claims(c.claims, p, now), c.expected) << c.name;
    const auto scanned = scanned_validate(c.claims, p);  // the verifier's path
    EXPECT_EQ(scanned ? std::error_code() : scanned.error(), c.expected) << c.name;
  }
}

TEST(Claims, TypesAreCheckedEvenWhenNotConfigured) {
  claims_policy open;
  open.require_exp = false;
  const std::vector<claims_case> cases = {
      {"iss_not_string", json::object{{"iss", 1}}, errc::iss_not_string},
      {"aud_invalid", json::object{{"aud", 1}}, errc::aud_invalid},
      {"exp_not_numeric", json::object{{"exp", "x"}}, errc::exp_not_numeric},
      {"expired", json::object{{"exp", 1}}, errc::expired},
  };
  for (const auto& c : cases)
    EXPECT_EQ(validate_claims(c.claims, open, now), make_error_code(c.expected)) << c.name;
}

// ---- typ ---------------------------------------------------------------------------------------

TEST(Claims, TypMatches) {
  struct typ_case {
    std::string_view actual, expected;
    bool match;
  };
  const typ_case cases[] = {
      {"at+jwt", "at+jwt", true},
      {"AT+JWT", "at+jwt", true},
      {"at+jwt", "AT+JWT", true},
      {"application/at+jwt", "at+jwt", true},
      {"APPLICATION/AT+JWT", "at+jwt", true},
      {"Application/At+Jwt", "application/at+jwt", true},
      {"at+jwt", "application/at+jwt", true},
      {"JWT", "jwt", true},
      {"jwt", "at+jwt", false},
      {"at+jwt", "jwt", false},
      {"at+jwt ", "at+jwt", false},
      {"at+jwtx", "at+jwt", false},
      {"", "at+jwt", false},
      {"application/", "at+jwt", false},
      {"text/at+jwt", "at+jwt", false},
      {"application/jwt", "at+jwt", false},
      {"applicationXat+jwt", "at+jwt", false},
      {std::string_view("application\x0f"
                        "at+jwt"),
       "at+jwt", false},
      {"APPLICATION\x0f"
       "AT+JWT",
       "application/at+jwt", false},
      {"at-jwt", "at+jwt", false},
  };
  for (const auto& c : cases)
    EXPECT_EQ(typ_matches(c.actual, c.expected), c.match)
        << '"' << c.actual << "\" vs \"" << c.expected << '"';
}

// ---- scopes ----------------------------------------------------------------------------------

TEST(Claims, ScopesOf) {
  struct scope_case {
    const char* name;
    json::object claims;
    std::vector<std::string> expected;
  };
  const scope_case cases[] = {
      {"none", {}, {}},
      {"scope_string", {{"scope", "write read  admin read"}}, {"admin", "read", "write"}},
      {"scope_empty", {{"scope", ""}}, {}},
      {"scope_spaces_only", {{"scope", "   "}}, {}},
      {"scope_array", {{"scope", json::array{"b", "a"}}}, {"a", "b"}},
      {"scp_array",
       {{"scp", json::array{"orders.read", "orders.write"}}},
       {"orders.read", "orders.write"}},
      {"scp_string", {{"scp", "x y"}}, {"x", "y"}},
      {"scope_and_scp_merged", {{"scope", "a b"}, {"scp", json::array{"b", "c"}}}, {"a", "b", "c"}},
  };
  claims_policy open;
  open.require_exp = false;
  for (const auto& c : cases) {
    auto r = scopes_of(c.claims);
    ASSERT_TRUE(r) << c.name << ": " << describe(r.error());
    EXPECT_EQ(*r, c.expected) << c.name;
    auto both = validate_claims_and_scopes(c.claims, open, now);
    ASSERT_TRUE(both) << c.name << ": " << describe(both.error());
    EXPECT_EQ(*both, c.expected) << c.name;
    auto scanned = scanned_validate(c.claims, open);
    ASSERT_TRUE(scanned) << c.name << ": " << describe(scanned.error());
    EXPECT_EQ(*scanned, c.expected) << c.name;
  }
  const std::vector<claims_case> bad = {
      {"scope_number", {{"scope", 1}}, errc::scope_invalid},
      {"scope_null", {{"scope", nullptr}}, errc::scope_invalid},
      {"scope_object", {{"scope", json::object{}}}, errc::scope_invalid},
      {"scope_array_of_numbers", {{"scope", json::array{1}}}, errc::scope_invalid},
      {"scp_bool", {{"scp", false}}, errc::scope_invalid},
      {"scp_mixed_array", {{"scp", json::array{"a", nullptr}}}, errc::scope_invalid},
      {"scp_bad_scope_good", {{"scope", "a"}, {"scp", 3}}, errc::scope_invalid},
  };
  for (const auto& c : bad) {
    auto r = scopes_of(c.claims);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error(), make_error_code(c.expected)) << c.name;
    auto both = validate_claims_and_scopes(c.claims, open, now);
    ASSERT_FALSE(both) << c.name;
    EXPECT_EQ(both.error(), make_error_code(c.expected)) << c.name;
    EXPECT_EQ(scanned_validate(c.claims, open).error(), make_error_code(c.expected)) << c.name;
  }
}

// ---- verify_jwt end to end -----------------------------------------------------------------

verify_options options() {
  verify_options o;
  o.claims = policy();
  o.claims.typ = "at+jwt";
  o.algorithms = {alg::es256, alg::eddsa};
  return o;
}

const key_set& keys() {
  static const key_set k = key_set::from_keys({public_key(alg::es256), public_key(alg::eddsa)});
  return k;
}

std::string header_for(alg a, std::string_view typ = "at+jwt") {
  json::object h{{"alg", to_string(a)}, {"kid", private_key(a).kid()}};
  if (!typ.empty()) h["typ"] = typ;
  return json::serialize(h);
}

std::string token(const json::object& claims, alg a = alg::es256, std::string_view typ = "at+jwt") {
  return sign_raw(private_key(a), header_for(a, typ), json::serialize(claims));
}

TEST(Verifier, AcceptsAGoodToken) {
  json::object c = good_claims();
  c["scope"] = "read write";
  for (alg a : {alg::es256, alg::eddsa}) {
    auto r = verify_jwt(token(c, a), keys(), options(), now);
    ASSERT_TRUE(r) << describe(r.error());
    EXPECT_EQ(r->algorithm, a);
    EXPECT_EQ(r->kid, private_key(a).kid());
    EXPECT_EQ(r->claims().at("sub").as_string(), "alice");
    EXPECT_EQ(r->header().at("typ").as_string(), "at+jwt");
    EXPECT_EQ(r->scopes, (std::vector<std::string>{"read", "write"}));
  }
  // the verifier object is the same function
  const verifier v(std::make_shared<const key_set>(keys()), options());
  EXPECT_TRUE(v.verify(token(c), now));
  EXPECT_EQ(v.keys().keys().size(), 2u);
  // typ compared as a media type
  EXPECT_TRUE(verify_jwt(token(c, alg::es256, "application/AT+JWT"), keys(), options(), now));
  // no allow-list: the key's pinned alg decides
  verify_options any = options();
  any.algorithms.clear();
  EXPECT_TRUE(verify_jwt(token(c), keys(), any, now));
  // no typ policy: any typ or none
  verify_options no_typ = options();
  no_typ.claims.typ.reset();
  EXPECT_TRUE(verify_jwt(token(c, alg::es256, ""), keys(), no_typ, now));
}

TEST(Verifier, RejectsTable) {
  const json::object g = good_claims();
  const std::string good = token(g);
  const std::string h = b64(header_for(alg::es256));
  auto with_payload = [&](std::string_view payload_text) {
    return sign_raw(private_key(alg::es256), header_for(alg::es256), payload_text);
  };
  const std::string bad_sig =
      good.substr(0, good.rfind('.') + 1) + std::string(good.size() - good.rfind('.') - 1, 'A');
  // the same length, one signature character changed
  auto corrupt = [](std::string t) {
    const std::size_t i = t.rfind('.') + 1;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    return t;
  };
  verify_options rs_only = options();
  rs_only.algorithms = {alg::rs256};

  struct verify_case {
    std::string name;
    std::string token;
    verify_options opt;
    errc expected;
  };
  const std::vector<verify_case> cases = {
      {"alg_not_allowed", good, rs_only, errc::alg_not_allowed},
      {"alg_not_allowed_before_signature", bad_sig, rs_only, errc::alg_not_allowed},
      {"typ_mismatch_jwt", token(g, alg::es256, "JWT"), options(), errc::typ_mismatch},
      {"typ_missing", token(g, alg::es256, ""), options(), errc::typ_mismatch},
      {"typ_mismatch_before_signature", corrupt(token(g, alg::es256, "JWT")), options(),
       errc::typ_mismatch},
      {"payload_not_json", with_payload("hello"), options(), errc::payload_bad_json},
      {"payload_empty", with_payload(""), options(), errc::payload_bad_json},
      {"payload_array", with_payload("[]"), options(), errc::payload_bad_json},
      {"payload_string", with_payload(R"("sub")"), options(), errc::payload_bad_json},
      {"payload_trailing_data", with_payload(json::serialize(g) + "{}"), options(),
       errc::payload_bad_json},
      {"payload_duplicate_exp",
       with_payload(R"({"iss":"https://issuer.example","aud":"api","exp":1,"exp":2000000000})"),
       options(), errc::json_duplicate_member},
      {"payload_invalid_utf8", with_payload("{\"sub\":\"\xed\xa0\x80\"}"), options(),
       errc::json_invalid_utf8},
      {"payload_too_deep", with_payload(R"({"a":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]})"),
       options(), errc::json_too_deep},
      {"signature_invalid", bad_sig, options(), errc::signature_invalid},
      {"signature_before_claims", corrupt(token(with(g, "exp", now - 3600))), options(),
       errc::signature_invalid},
      {"expired", token(with(g, "exp", now - 3600)), options(), errc::expired},
      {"iss_mismatch", token(with(g, "iss", "https://evil.example")), options(),
       errc::iss_mismatch},
      {"aud_mismatch", token(with(g, "aud", "other")), options(), errc::aud_mismatch},
      {"scope_invalid", token(with(g, "scope", 5)), options(), errc::scope_invalid},
      {"token_empty", "", options(), errc::token_empty},
      {"alg_none", b64(R"({"alg":"none","typ":"at+jwt"})") + "." + b64(json::serialize(g)) + ".",
       options(), errc::alg_none},
  };
  for (const auto& c : cases) {
    auto r = verify_jwt(c.token, keys(), c.opt, now);
    ASSERT_FALSE(r) << c.name << " was accepted";
    EXPECT_EQ(r.error(), make_error_code(c.expected))
        << c.name << ": got " << describe(r.error()) << ", want " << errc_name(c.expected);
  }
}

}  // namespace
}  // namespace gatepass::jose
