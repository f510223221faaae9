// JWS compact serialization (RFC 7515): sign and verify with every algorithm, each followed by
// a sweep that flips every signature bit and truncates the signature at every length; then the
// header and structure errors as {name, token, expected errc} tables.
#include "jose/jws.h"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/base64url.h"
#include "jose/errc.h"
#include "jose/key_set.h"
#include "support/test_keys.h"

namespace gatepass::jose {
namespace {

namespace json = boost::json;
using test::b64;
using test::describe;
using test::private_key;
using test::public_key;
using test::sign_raw;

constexpr std::string_view payload =
    R"({"iss":"https://issuer.example","sub":"alice","exp":2000000000})";

std::error_code verify_token(std::string_view token, const key_set& keys) {
  auto j = parse_compact(token);
  if (!j) return j.error();
  auto k = verify_signature(*j, keys);
  return k ? std::error_code() : k.error();
}

std::string signing_input_of(std::string_view token) {
  return std::string(token.substr(0, token.rfind('.')));
}

class JwsAlg : public testing::TestWithParam<alg> {};

TEST_P(JwsAlg, SignThenVerify) {
  const alg a = GetParam();
  const key_set keys = key_set::from_keys({public_key(a)});
  json::object extra{{"typ", "at+jwt"}, {"alg", "none"}, {"kid", "forged"}};
  auto token = sign_compact(private_key(a), payload, extra);
  ASSERT_TRUE(token) << describe(token.error());
  auto j = parse_compact(*token);
  ASSERT_TRUE(j) << describe(j.error());
  EXPECT_EQ(j->algorithm, a);
  EXPECT_EQ(j->header.at("alg").as_string(), to_string(a)) << "the key's alg, never the caller's";
  ASSERT_TRUE(j->kid);
  EXPECT_EQ(*j->kid, private_key(a).kid());
  ASSERT_TRUE(j->typ);
  EXPECT_EQ(*j->typ, "at+jwt");
  EXPECT_EQ(j->payload, payload);
  auto used = verify_signature(*j, keys);
  ASSERT_TRUE(used) << describe(used.error());
  EXPECT_EQ((*used)->algorithm(), a);
  const std::size_t sig_len = j->signature.size();
  switch (family(a)) {
    case alg_family::rsa_pkcs1:
    case alg_family::rsa_pss:
      EXPECT_EQ(sig_len, 256u);
      break;
    case alg_family::ecdsa:
      EXPECT_EQ(sig_len, 2 * ec_coordinate_size(a));
      break;
    case alg_family::eddsa:
      EXPECT_EQ(sig_len, 64u);
      break;
    case alg_family::hmac:
      EXPECT_EQ(sig_len, hash_size(a));
      break;
  }
}

TEST_P(JwsAlg, EveryBitFlipAndTruncationOfTheSignatureFails) {
  const alg a = GetParam();
  const key_set keys = key_set::from_keys({public_key(a)});
  auto token = sign_compact(private_key(a), payload);
  ASSERT_TRUE(token);
  ASSERT_FALSE(verify_token(*token, keys));
  const std::string input = signing_input_of(*token);
  const std::string sig = *base64url_decode(std::string_view(*token).substr(input.size() + 1));

  int flips = 0;
  for (std::size_t byte = 0; byte < sig.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = sig;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      const std::error_code ec = verify_token(input + "." + base64url_encode(bad), keys);
      ASSERT_EQ(ec, make_error_code(errc::signature_invalid))
          << "byte " << byte << " bit " << bit << ": " << describe(ec);
      ++flips;
    }
  }
  EXPECT_EQ(flips, static_cast<int>(sig.size() * 8));

  for (std::size_t len = 0; len < sig.size(); ++len) {
    const std::error_code ec =
        verify_token(input + "." + base64url_encode(sig.substr(0, len)), keys);
    ASSERT_EQ(ec, make_error_code(errc::signature_length_invalid))
        << "truncated to " << len << ": " << describe(ec);
  }
  // one octet too many, and the signature twice
  EXPECT_EQ(verify_token(input + "." + base64url_encode(sig + '\0'), keys),
            errc::signature_length_invalid);
  EXPECT_EQ(verify_token(input + "." + base64url_encode(sig + sig), keys),
            errc::signature_length_invalid);
}

TEST_P(JwsAlg, ChangedHeaderOrPayloadFails) {
  const alg a = GetParam();
  const key_set keys = key_set::from_keys({public_key(a)});
  auto token = sign_compact(private_key(a), payload);
  ASSERT_TRUE(token);
  const std::string sig_b64 = token->substr(token->rfind('.') + 1);
  const std::string header_b64 = token->substr(0, token->find('.'));
  const std::string other_payload =
      b64(R"({"iss":"https://issuer.example","sub":"mallory","exp":2000000000})");
  EXPECT_EQ(verify_token(header_b64 + "." + other_payload + "." + sig_b64, keys),
            errc::signature_invalid);
  auto other_header = sign_compact(private_key(a), payload, json::object{{"typ", "JWT"}});
  ASSERT_TRUE(other_header);
  const std::string forged =
      other_header->substr(0, other_header->find('.')) + "." + b64(payload) + "." + sig_b64;
  EXPECT_EQ(verify_token(forged, keys), errc::signature_invalid);
}

/// A second key for `a` under the same kid (one extra RSA key for all six RSA algorithms).
jwk other_key(alg a) {
  const std::string kid = private_key(a).kid();
  switch (family(a)) {
    case alg_family::hmac:
      return *jwk::from_secret(std::string(hash_size(a), 'z'), a, kid);
    case alg_family::rsa_pkcs1:
    case alg_family::rsa_pss: {
      static const jwk rsa = *keys::generate_key(alg::rs256);
      return *jwk::from_pkey(rsa.shared_pkey(), a, kid);
    }
    default:
      return keys::generate_key(a)->with_kid(kid);
  }
}

TEST_P(JwsAlg, OtherKeyOfTheSameAlgorithmFails) {
  const alg a = GetParam();
  auto token = sign_compact(private_key(a), payload);
  ASSERT_TRUE(token);
  EXPECT_EQ(verify_token(*token, key_set::from_keys({other_key(a)})), errc::signature_invalid);
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, JwsAlg, testing::ValuesIn(test::all_algs),
                         [](const testing::TestParamInfo<alg>& p) {
                           return std::string(to_string(p.param));
                         });

// ---- structure and header errors ---------------------------------------------------------

struct token_case {
  std::string name;
  std::string token;
  errc expected;
};

void run_parse_table(const std::vector<token_case>& cases, const jws_limits& limits = {}) {
  for (const auto& c : cases) {
    auto r = parse_compact(c.token, limits);
    ASSERT_FALSE(r) << c.name << " was accepted";
    EXPECT_EQ(r.error(), make_error_code(c.expected))
        << c.name << ": got " << describe(r.error()) << ", want " << errc_name(c.expected);
  }
}

std::string with_header(std::string_view header_json) {
  return sign_raw(private_key(alg::hs256), header_json, payload);
}

TEST(Jws, HeaderErrorsTable) {
  std::vector<token_case> cases = {
      {"alg_missing", with_header(R"({"typ":"JWT"})"), errc::alg_missing},
      {"alg_missing_empty_header", with_header("{}"), errc::alg_missing},
      {"alg_number", with_header(R"({"alg":256})"), errc::alg_not_string},
      {"alg_null", with_header(R"({"alg":null})"), errc::alg_not_string},
      {"alg_array", with_header(R"({"alg":["HS256"]})"), errc::alg_not_string},
      {"alg_object", with_header(R"({"alg":{"name":"HS256"}})"), errc::alg_not_string},
      {"alg_bool", with_header(R"({"alg":true})"), errc::alg_not_string},
      {"alg_unsupported_rs1", with_header(R"({"alg":"RS1"})"), errc::alg_unsupported},
      {"alg_unsupported_lowercase", with_header(R"({"alg":"hs256"})"), errc::alg_unsupported},
      {"alg_unsupported_es256k", with_header(R"({"alg":"ES256K"})"), errc::alg_unsupported},
      {"alg_unsupported_ed25519", with_header(R"({"alg":"Ed25519"})"), errc::alg_unsupported},
      {"alg_unsupported_trailing_space", with_header(R"({"alg":"HS256 "})"), errc::alg_unsupported},
      {"alg_unsupported_nul", with_header(R"({"alg":"HS256\u0000"})"), errc::alg_unsupported},
      {"alg_unsupported_empty", with_header(R"({"alg":""})"), errc::alg_unsupported},
      {"alg_unsupported_encryption", with_header(R"({"alg":"RSA-OAEP"})"), errc::alg_unsupported},
      {"kid_number", with_header(R"({"alg":"HS256","kid":1})"), errc::kid_not_string},
      {"kid_null", with_header(R"({"alg":"HS256","kid":null})"), errc::kid_not_string},
      {"kid_array", with_header(R"({"alg":"HS256","kid":["a"]})"), errc::kid_not_string},
      {"jwk_in_header", with_header(R"({"alg":"HS256","jwk":{"kty":"oct","k":"AAAA"}})"),
       errc::header_key_forbidden},
      {"jku_in_header", with_header(R"({"alg":"HS256","jku":"https://evil.example/jwks"})"),
       errc::header_key_forbidden},
      {"x5u_in_header", with_header(R"({"alg":"HS256","x5u":"https://evil.example/c.pem"})"),
       errc::header_key_forbidden},
      {"x5c_in_header", with_header(R"({"alg":"HS256","x5c":["MIIB"]})"),
       errc::header_key_forbidden},
      {"jku_null", with_header(R"({"alg":"HS256","jku":null})"), errc::header_key_forbidden},
      {"crit_string", with_header(R"({"alg":"HS256","crit":"exp","exp":1})"), errc::crit_invalid},
      {"crit_empty", with_header(R"({"alg":"HS256","crit":[]})"), errc::crit_invalid},
      {"crit_number_entry", with_header(R"({"alg":"HS256","crit":[1]})"), errc::crit_invalid},
      {"crit_registered_alg", with_header(R"({"alg":"HS256","crit":["alg"]})"), errc::crit_invalid},
      {"crit_registered_kid", with_header(R"({"alg":"HS256","kid":"a","crit":["kid"]})"),
       errc::crit_invalid},
      {"crit_registered_typ", with_header(R"({"alg":"HS256","typ":"JWT","crit":["typ"]})"),
       errc::crit_invalid},
      {"crit_absent_member", with_header(R"({"alg":"HS256","crit":["exp"]})"), errc::crit_invalid},
      {"crit_null", with_header(R"({"alg":"HS256","crit":null})"), errc::crit_invalid},
      {"crit_unknown_extension", with_header(R"({"alg":"HS256","crit":["exp"],"exp":1})"),
       errc::crit_unsupported},
      {"crit_two_unknown", with_header(R"({"alg":"HS256","crit":["a","b"],"a":1,"b":2})"),
       errc::crit_unsupported},
      {"crit_b64", with_header(R"({"alg":"HS256","crit":["b64"],"b64":false})"),
       errc::b64_unsupported},
      {"b64_false_without_crit", with_header(R"({"alg":"HS256","b64":false})"),
       errc::b64_unsupported},
      {"b64_true", with_header(R"({"alg":"HS256","b64":true})"), errc::b64_unsupported},
      {"cty_jwt", with_header(R"({"alg":"HS256","cty":"JWT"})"), errc::nested_jwt},
      {"cty_jwt_lowercase", with_header(R"({"alg":"HS256","cty":"jwt"})"), errc::nested_jwt},
      {"cty_application_jwt", with_header(R"({"alg":"HS256","cty":"application/JWT"})"),
       errc::nested_jwt},
      {"typ_number", with_header(R"({"alg":"HS256","typ":1})"), errc::typ_not_string},
      {"typ_array", with_header(R"({"alg":"HS256","typ":["JWT"]})"), errc::typ_not_string},
      // header JSON
      {"header_not_json", with_header("alg=HS256"), errc::header_bad_json},
      {"header_array", with_header(R"([{"alg":"HS256"}])"), errc::header_bad_json},
      {"header_string", with_header(R"("HS256")"), errc::header_bad_json},
      {"header_null", with_header("null"), errc::header_bad_json},
      {"header_empty", "." + b64(payload) + ".", errc::token_malformed},
      {"header_trailing_data", with_header(R"({"alg":"HS256"}x)"), errc::header_bad_json},
      {"header_bom", with_header("\xef\xbb\xbf{\"alg\":\"HS256\"}"), errc::header_bad_json},
      {"header_duplicate_alg", with_header(R"({"alg":"HS256","alg":"none"})"),
       errc::json_duplicate_member},
      {"header_invalid_utf8", with_header("{\"alg\":\"HS256\",\"x\":\"\xc0\xaf\"}"),
       errc::json_invalid_utf8},
      {"header_too_deep",
       with_header(R"({"alg":"HS256","x":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]})"),
       errc::json_too_deep},
  };
  // "none" in every casing
  for (std::string_view none : {"none", "None", "NONE", "nOnE", "NoNe", "noNE"})
    cases.push_back({"alg_" + std::string(none),
                     b64(R"({"alg":")" + std::string(none) + R"("})") + "." + b64(payload) + ".",
                     errc::alg_none});
  cases.push_back({"alg_none_with_signature", with_header(R"({"alg":"none"})"), errc::alg_none});
  run_parse_table(cases);
}

TEST(Jws, StructureErrorsTable) {
  const std::string good = with_header(R"({"alg":"HS256"})");
  const std::string h = good.substr(0, good.find('.'));
  const std::string p = b64(payload);
  const std::string s = good.substr(good.rfind('.') + 1);
  std::vector<token_case> cases = {
      {"empty", "", errc::token_empty},
      {"no_dot", h, errc::token_malformed},
      {"one_dot", h + "." + p, errc::token_malformed},
      {"four_segments", good + ".x", errc::token_malformed},
      {"five_segments_jwe_shape", h + "." + p + "." + s + "." + s + "." + s, errc::token_malformed},
      {"trailing_dot", good + ".", errc::token_malformed},
      {"dot_only", ".", errc::token_malformed},
      {"two_dots_only", "..", errc::token_malformed},
      {"empty_header", "." + p + "." + s, errc::token_malformed},
      {"header_padding", h + "=." + p + "." + s, errc::header_bad_base64},
      {"header_plus", "+" + h.substr(1) + "." + p + "." + s, errc::header_bad_base64},
      {"header_space", h.substr(0, 4) + " " + h.substr(4) + "." + p + "." + s,
       errc::header_bad_base64},
      {"header_standard_base64_padded", b64(R"({"alg":"HS256"})") + "==." + p + "." + s,
       errc::header_bad_base64},
      {"header_length_mod4_1", h + "A." + p + "." + s, errc::header_bad_base64},
      {"payload_padding", h + "." + p + "=." + s, errc::payload_bad_base64},
      {"payload_slash", h + "./" + p.substr(1) + "." + s, errc::payload_bad_base64},
      {"payload_newline", h + "." + p.substr(0, 8) + "\n" + p.substr(8) + "." + s,
       errc::payload_bad_base64},
      {"payload_length_mod4_1", h + "." + p + "A." + s, errc::payload_bad_base64},
      {"signature_padding", good + "=", errc::signature_bad_base64},
      {"signature_plus", h + "." + p + ".+" + s.substr(1), errc::signature_bad_base64},
      {"signature_space", good + " ", errc::signature_bad_base64},
      {"signature_length_mod4_1", good + "AA", errc::signature_bad_base64},
  };
  // HS256: 32 octets = 43 characters, the last carrying 2 unused bits that must be zero
  ASSERT_EQ(s.size(), 43u);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const auto last = alphabet.find(s.back());
  for (std::size_t low = 1; low < 4; ++low) {
    const char c = alphabet[(last & ~std::size_t{3}) | low];
    cases.push_back({"signature_noncanonical_tail_" + std::to_string(low),
                     good.substr(0, good.size() - 1) + c, errc::signature_bad_base64});
  }
  run_parse_table(cases);
}

TEST(Jws, SizeLimitIsCheckedBeforeAnythingElse) {
  jws_limits limits;
  limits.max_token_size = 64;
  run_parse_table(
      {
          {"garbage_over_limit", std::string(65, '!'), errc::token_too_large},
          {"dots_over_limit", std::string(65, '.'), errc::token_too_large},
          {"good_token_over_limit", with_header(R"({"alg":"HS256"})"), errc::token_too_large},
      },
      limits);
  // the default cap is 16 KiB
  run_parse_table({{"default_cap", std::string(16 * 1024 + 1, 'A'), errc::token_too_large}});
  EXPECT_EQ(parse_compact(std::string(16 * 1024, 'A')).error(), errc::token_malformed);
  // exactly at the limit is allowed
  const std::string t = with_header(R"({"alg":"HS256"})");
  limits.max_token_size = t.size();
  EXPECT_TRUE(parse_compact(t, limits));
  limits.max_token_size = t.size() - 1;
  EXPECT_EQ(parse_compact(t, limits).error(), errc::token_too_large);
}

TEST(Jws, HeaderDepthFollowsTheLimits) {
  jws_limits limits;
  limits.json.max_depth = 1;
  const std::string t = with_header(R"({"alg":"HS256","x":{}})");
  EXPECT_EQ(parse_compact(t, limits).error(), errc::json_too_deep);
  EXPECT_TRUE(parse_compact(t));
}

TEST(Jws, KeyErrorsTable) {
  const jwk rs_as_ps_kid = public_key(alg::rs256).with_kid(private_key(alg::ps256).kid());
  const key_set rs_only = key_set::from_keys({rs_as_ps_kid});
  const key_set es_only = key_set::from_keys({public_key(alg::es256)});
  const key_set two = key_set::from_keys({public_key(alg::es256), public_key(alg::es384)});
  const key_set hs_only = key_set::from_keys({private_key(alg::hs256)});
  const key_set none;
  const std::string ps_token = *sign_compact(private_key(alg::ps256), payload);
  const std::string es_token = *sign_compact(private_key(alg::es256), payload);
  const std::string es_no_kid = sign_raw(private_key(alg::es256), R"({"alg":"ES256"})", payload);
  const std::string es384_as_es256 =
      sign_raw(private_key(alg::es384),
               R"({"alg":"ES384","kid":")" + public_key(alg::es256).kid() + "\"}", payload);
  // the HS256 / RS256 confusion: an HMAC over the token keyed with public key bytes
  const std::string pem = public_key(alg::rs256).public_pem();
  const jwk pem_secret = *jwk::from_secret(pem, alg::hs256, rs_as_ps_kid.kid());
  const std::string confused = sign_raw(pem_secret, R"({"alg":"HS256","kid":"PS256"})", payload);

  struct key_case {
    const char* name;
    std::string token;
    const key_set& keys;
    errc expected;
  };
  const key_case cases[] = {
      {"ps256_token_rs256_key", ps_token, rs_only, errc::key_alg_mismatch},
      {"hs256_token_rsa_key", confused, rs_only, errc::key_alg_mismatch},
      {"es384_token_es256_key", es384_as_es256, two, errc::key_alg_mismatch},
      {"es256_token_hmac_set", es_no_kid, hs_only, errc::key_alg_mismatch},
      {"empty_signature", es_token.substr(0, es_token.rfind('.') + 1), es_only,
       errc::signature_length_invalid},
      {"der_encoded_ecdsa_signature_length", es_token + "AAAA", es_only,
       errc::signature_length_invalid},
      {"no_kid_several_keys", es_no_kid, two, errc::kid_required},
      {"unknown_kid", ps_token, es_only, errc::kid_unknown},
      {"empty_set", es_token, none, errc::jwks_no_valid_keys},
  };
  for (const auto& c : cases) {
    const std::error_code ec = verify_token(c.token, c.keys);
    EXPECT_EQ(ec, make_error_code(c.expected))
        << c.name << ": got " << describe(ec) << ", want " << errc_name(c.expected);
  }
}

TEST(Jws, SignedHeaderIsExactlyTheSerializedObject) {
  // sign_compact writes the header itself, without building the object; it must be byte for
  // byte what Boost.JSON serializes for {alg, extra members in order, kid}, escapes included.
  const jwk plain_kid = private_key(alg::es256);
  const jwk odd_kid = plain_kid.with_kid("we\"ird\\kid\x02/\xc3\xa9");
  const std::vector<json::object> extras = {
      {},
      {{"typ", "at+jwt"}},
      {{"typ", "JWT"}, {"cty", "text/plain"}},
      {{"quote\"key", "back\\slash"}, {"ctl", "a\x01\n\tb\x1f"}, {"utf8", "h\xc3\xa9 \x7f"}},
      {{"num", 42},
       {"neg", -1.5},
       {"flag", true},
       {"none", nullptr},
       {"arr", json::array{1, "x\"y"}},
       {"obj", json::object{{"k", "v"}}}},
      {{"alg", "none"}, {"kid", "forged"}, {"", ""}},
  };
  for (const jwk* key : {&plain_kid, &odd_kid}) {
    for (const auto& extra : extras) {
      auto token = sign_compact(*key, payload, extra);
      ASSERT_TRUE(token) << describe(token.error());
      json::object expected{{"alg", to_string(key->algorithm())}};
      for (const auto& kv : extra)
        if (kv.key() != "alg" && kv.key() != "kid") expected[kv.key()] = kv.value();
      expected["kid"] = key->kid();
      const auto header = base64url_decode(std::string_view(*token).substr(0, token->find('.')));
      ASSERT_TRUE(header);
      EXPECT_EQ(*header, json::serialize(expected)) << json::serialize(extra);
    }
  }
}

TEST(Jws, SignCompactNeedsAPrivateKey) {
  auto r = sign_compact(public_key(alg::es256), payload);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::key_not_private);
}

TEST(Jws, EmptyPayloadParses) {
  // an empty payload is a valid JWS; it is the claims layer that wants an object
  auto t = sign_compact(private_key(alg::hs256), "");
  ASSERT_TRUE(t);
  auto j = parse_compact(*t);
  ASSERT_TRUE(j) << describe(j.error());
  EXPECT_TRUE(j->payload.empty());
  EXPECT_TRUE(verify_signature(*j, key_set::from_keys({private_key(alg::hs256)})));
}

}  // namespace
}  // namespace gatepass::jose
