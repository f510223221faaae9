// jwk (RFC 7517/7518 §6, RFC 8037, RFC 7638), key_set (RFC 7517 §5) and the PEM paths of
// keys::key_generator. Every bad key as a table row {name, jwk json, options, expected errc}.
#include "jose/jwk.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/base64url.h"
#include "common/ossl.h"
#include "jose/errc.h"
#include "jose/key_set.h"
#include "keys/certificate.h"
#include "keys/errc.h"
#include "keys/key_generator.h"
#include "support/test_keys.h"

namespace gatepass::jose {
namespace {

using test::roca_modulus_b64;

namespace json = boost::json;
using test::describe;
using test::private_key;
using test::public_key;
using test::with;
using test::without;

json::object obj(std::string_view text) {
  return json::parse(text).as_object();
}

std::string member_bytes(const json::object& o, std::string_view name) {
  auto v = base64url_decode(std::string_view(o.at(name).as_string()));
  if (!v) throw std::runtime_error("test key member not base64url");
  return *v;
}

std::string bn_b64(const BIGNUM* bn, int pad = 0) {
  const int n = pad > 0 ? pad : BN_num_bytes(bn);
  std::string out(static_cast<std::size_t>(n), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), n);
  return base64url_encode(out);
}

std::string bn_param_b64(EVP_PKEY* k, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(k, name, &bn) != 1) throw std::runtime_error(name);
  ossl::bn_ptr owned(bn);
  return bn_b64(bn, pad);
}

/// A private JWK for a generated key, built from its OpenSSL parameters.
json::object private_json(const jwk& k) {
  json::object o = k.to_public_json();
  EVP_PKEY* p = k.pkey();
  switch (k.kty()) {
    case key_type::rsa:
      o["d"] = bn_param_b64(p, OSSL_PKEY_PARAM_RSA_D);
      o["p"] = bn_param_b64(p, OSSL_PKEY_PARAM_RSA_FACTOR1);
      o["q"] = bn_param_b64(p, OSSL_PKEY_PARAM_RSA_FACTOR2);
      o["dp"] = bn_param_b64(p, OSSL_PKEY_PARAM_RSA_EXPONENT1);
      o["dq"] = bn_param_b64(p, OSSL_PKEY_PARAM_RSA_EXPONENT2);
      o["qi"] = bn_param_b64(p, OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
      break;
    case key_type::ec:
      o["d"] = bn_param_b64(p, OSSL_PKEY_PARAM_PRIV_KEY,
                            static_cast<int>(ec_coordinate_size(k.algorithm())));
      break;
    case key_type::okp: {
      std::string d(32, '\0');
      std::size_t len = d.size();
      EVP_PKEY_get_raw_private_key(p, reinterpret_cast<unsigned char*>(d.data()), &len);
      o["d"] = base64url_encode(d);
      break;
    }
    case key_type::oct:
      break;
  }
  return o;
}

// ---- good keys ---------------------------------------------------------------------------

TEST(Jwk, GeneratedKeysRoundTripThroughPublicJson) {
  const std::array<std::pair<alg, std::string_view>, 7> cases{{
      {alg::rs256, ""},
      {alg::ps384, ""},
      {alg::rs512, ""},
      {alg::es256, "P-256"},
      {alg::es384, "P-384"},
      {alg::es512, "P-521"},
      {alg::eddsa, "Ed25519"},
  }};
  for (const auto& [a, crv] : cases) {
    SCOPED_TRACE(std::string(to_string(a)));
    const jwk& priv = private_key(a);
    EXPECT_TRUE(priv.is_private());
    const json::object pub_json = priv.to_public_json();
    for (std::string_view secret : {"d", "p", "q", "dp", "dq", "qi", "k"})
      EXPECT_FALSE(pub_json.contains(secret)) << secret;
    EXPECT_EQ(pub_json.at("use").as_string(), "sig");
    EXPECT_EQ(pub_json.at("alg").as_string(), to_string(a));
    auto pub = jwk::parse(pub_json);
    ASSERT_TRUE(pub) << describe(pub.error());
    EXPECT_FALSE(pub->is_private());
    EXPECT_EQ(pub->algorithm(), a);
    EXPECT_EQ(pub->kty(), priv.kty());
    EXPECT_EQ(pub->crv(), crv);
    EXPECT_EQ(pub->bits(), priv.bits());
    EXPECT_EQ(pub->kid(), priv.kid());
    EXPECT_EQ(pub->thumbprint(), priv.thumbprint());
    EXPECT_EQ(pub->to_public_json(), pub_json);
    EXPECT_EQ(pub->public_pem(), priv.public_pem());
    auto sig = priv.sign("payload");
    ASSERT_TRUE(sig) << describe(sig.error());
    EXPECT_EQ(sig->size(), priv.signature_size());
    EXPECT_EQ(pub->signature_size(), priv.signature_size());
    EXPECT_FALSE(pub->verify("payload", *sig)) << "signature from the private key";
    EXPECT_EQ(pub->verify("Payload", *sig), errc::signature_invalid);
    auto no_sign = pub->sign("payload");
    ASSERT_FALSE(no_sign);
    EXPECT_EQ(no_sign.error(), errc::key_not_private);
  }
  EXPECT_EQ(private_key(alg::rs256).bits(), 2048);
  EXPECT_EQ(private_key(alg::es256).bits(), 256);
  EXPECT_EQ(private_key(alg::es512).bits(), 521);
  EXPECT_EQ(private_key(alg::eddsa).bits(), 256);
}

TEST(Jwk, GeneratedKidIsTheThumbprint) {
  auto k = keys::generate_key(alg::es256);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->kid(), k->thumbprint());
  EXPECT_EQ(k->with_kid("other").kid(), "other");
  EXPECT_EQ(k->with_kid("other").thumbprint(), k->thumbprint());
}

TEST(Jwk, PrivateJwkParsesOnlyWhenAllowedAndSigns) {
  jwk_parse_options allow;
  allow.allow_private = true;
  for (alg a : {alg::rs256, alg::es256, alg::es384, alg::es512, alg::eddsa}) {
    SCOPED_TRACE(std::string(to_string(a)));
    const json::object pj = private_json(private_key(a));
    auto refused = jwk::parse(pj);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), errc::key_private_material);
    auto k = jwk::parse(pj, allow);
    ASSERT_TRUE(k) << describe(k.error());
    EXPECT_TRUE(k->is_private());
    auto sig = k->sign("input");
    ASSERT_TRUE(sig) << describe(sig.error());
    EXPECT_FALSE(public_key(a).verify("input", *sig));
  }
}

TEST(Jwk, Rfc7638ExampleThumbprint) {
  // RFC 7638 §3.1
  const json::object o = obj(R"({"kty":"RSA",
    "n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e":"AQAB","alg":"RS256","kid":"2011-04-29"})");
  auto k = jwk::parse(o);
  ASSERT_TRUE(k) << describe(k.error());
  EXPECT_EQ(k->thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EXPECT_EQ(k->kid(), "2011-04-29");
  EXPECT_EQ(k->algorithm(), alg::rs256);
  // the thumbprint ignores kid, alg and use
  auto bare = jwk::parse(without(without(o, "kid"), "alg"));
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST(Jwk, DefaultsPinTheAlgorithmFromTheKey) {
  auto rsa = jwk::parse(without(public_key(alg::ps256).to_public_json(), "alg"));
  ASSERT_TRUE(rsa);
  EXPECT_EQ(rsa->algorithm(), alg::rs256);
  auto ec = jwk::parse(without(public_key(alg::es384).to_public_json(), "alg"));
  ASSERT_TRUE(ec);
  EXPECT_EQ(ec->algorithm(), alg::es384);
  auto ed = jwk::parse(without(public_key(alg::eddsa).to_public_json(), "alg"));
  ASSERT_TRUE(ed);
  EXPECT_EQ(ed->algorithm(), alg::eddsa);
  // "ES521", the misspelling found in published keys, still pins P-521 / ES512
  auto es521 = jwk::parse(with(public_key(alg::es512).to_public_json(), "alg", "ES521"));
  ASSERT_TRUE(es521) << describe(es521.error());
  EXPECT_EQ(es521->algorithm(), alg::es512);
}

TEST(Jwk, AcceptsKeyOpsWithVerifyAndOctWhenAllowed) {
  auto ops =
      jwk::parse(with(public_key(alg::es256).to_public_json(), "key_ops", json::array{"verify"}));
  EXPECT_TRUE(ops) << describe(ops.error());
  jwk_parse_options allow_oct;
  allow_oct.allow_oct = true;
  const std::string secret(48, 'k');
  auto oct = jwk::parse(
      json::object{{"kty", "oct"}, {"alg", "HS384"}, {"k", base64url_encode(secret)}, {"kid", "h"}},
      allow_oct);
  ASSERT_TRUE(oct) << describe(oct.error());
  EXPECT_EQ(oct->kty(), key_type::oct);
  EXPECT_EQ(oct->algorithm(), alg::hs384);
  EXPECT_EQ(oct->bits(), 384);
  EXPECT_FALSE(oct->to_public_json().contains("k")) << "a secret is never published";
}

// ---- bad keys ----------------------------------------------------------------------------

struct bad_key_case {
  std::string name;
  json::object key;
  jwk_parse_options options;
  errc expected;
};

jwk_parse_options allow_private() {
  jwk_parse_options o;
  o.allow_private = true;
  return o;
}
jwk_parse_options allow_oct() {
  jwk_parse_options o;
  o.allow_oct = true;
  return o;
}

std::vector<bad_key_case> bad_keys() {
  const json::object rsa = public_key(alg::rs256).to_public_json();
  const json::object rsa_priv = private_json(private_key(alg::rs256));
  const json::object p256 = public_key(alg::es256).to_public_json();
  const json::object p521 = public_key(alg::es512).to_public_json();
  const json::object ed = public_key(alg::eddsa).to_public_json();
  const json::object ed_priv = private_json(private_key(alg::eddsa));
  const json::object p256_priv = private_json(private_key(alg::es256));
  static const auto other_rsa_key = keys::generate_key(alg::rs256, 2048);
  const json::object other_rsa = other_rsa_key->to_public_json();
  auto flip_last = [](std::string bytes) {
    bytes.back() = static_cast<char>(bytes.back() ^ 2);
    return bytes;
  };
  const std::string n = member_bytes(rsa, "n");
  const std::string x256 = member_bytes(p256, "x");
  const std::string y256 = member_bytes(p256, "y");
  const std::string ed_x = member_bytes(ed, "x");
  auto b = [](std::string_view bytes) { return json::value(base64url_encode(bytes)); };

  std::string n_even = n;
  n_even.back() = static_cast<char>(n_even.back() & ~1);
  std::string n_1024 = n.substr(0, 128);
  n_1024.back() = static_cast<char>(n_1024.back() | 1);
  std::string n_2047 = n;
  n_2047[0] = static_cast<char>((static_cast<unsigned char>(n_2047[0]) & 0x7f) | 0x40);
  const std::string n_16392(2049, '\xff');
  std::string y_off_curve = y256;
  y_off_curve.back() = static_cast<char>(y_off_curve.back() ^ 1);
  std::string ed_x_other = ed_x;
  ed_x_other[0] = static_cast<char>(ed_x_other[0] ^ 1);
  const std::string secret_31(31, 's');
  const std::string secret_32(32, 's');

  return {
      // common members
      {"kty_missing", without(rsa, "kty"), {}, errc::key_kty_missing},
      {"kty_unsupported_dsa", with(rsa, "kty", "DSA"), {}, errc::key_kty_unsupported},
      {"kty_unsupported_lowercase_rsa", with(rsa, "kty", "rsa"), {}, errc::key_kty_unsupported},
      {"kty_unsupported_empty", with(rsa, "kty", ""), {}, errc::key_kty_unsupported},
      {"kty_not_string", with(rsa, "kty", 1), {}, errc::key_member_invalid},
      {"kid_not_string", with(rsa, "kid", 5), {}, errc::key_member_invalid},
      {"use_not_string", with(rsa, "use", true), {}, errc::key_member_invalid},
      {"alg_not_string", with(rsa, "alg", 256), {}, errc::key_member_invalid},
      {"alg_none", with(rsa, "alg", "none"), {}, errc::key_alg_unsupported},
      {"alg_unknown", with(rsa, "alg", "RS1"), {}, errc::key_alg_unsupported},
      {"alg_wrong_case", with(rsa, "alg", "rs256"), {}, errc::key_alg_unsupported},
      {"alg_es256k", with(p256, "alg", "ES256K"), {}, errc::key_alg_unsupported},
      {"alg_encryption", with(rsa, "alg", "RSA-OAEP"), {}, errc::key_alg_unsupported},
      {"alg_rsa_with_es256", with(rsa, "alg", "ES256"), {}, errc::key_alg_kty_mismatch},
      {"alg_rsa_with_hs256", with(rsa, "alg", "HS256"), {}, errc::key_alg_kty_mismatch},
      {"alg_rsa_with_eddsa", with(rsa, "alg", "EdDSA"), {}, errc::key_alg_kty_mismatch},
      {"alg_p256_with_es384", with(p256, "alg", "ES384"), {}, errc::key_alg_kty_mismatch},
      {"alg_p521_with_es256", with(p521, "alg", "ES256"), {}, errc::key_alg_kty_mismatch},
      {"alg_ec_with_rs256", with(p256, "alg", "RS256"), {}, errc::key_alg_kty_mismatch},
      {"alg_okp_with_es256", with(ed, "alg", "ES256"), {}, errc::key_alg_kty_mismatch},
      {"alg_oct_with_rs256",
       json::object{{"kty", "oct"}, {"alg", "RS256"}, {"k", base64url_encode(secret_32)}},
       allow_oct(), errc::key_alg_kty_mismatch},
      {"use_enc", with(rsa, "use", "enc"), {}, errc::key_use_invalid},
      {"use_empty", with(rsa, "use", ""), {}, errc::key_use_invalid},
      {"use_uppercase", with(rsa, "use", "SIG"), {}, errc::key_use_invalid},
      {"key_ops_string", with(rsa, "key_ops", "verify"), {}, errc::key_ops_invalid},
      {"key_ops_empty", with(rsa, "key_ops", json::array{}), {}, errc::key_ops_invalid},
      {"key_ops_encrypt_only",
       with(rsa, "key_ops", json::array{"encrypt"}),
       {},
       errc::key_ops_invalid},
      {"key_ops_not_strings",
       with(rsa, "key_ops", json::array{"verify", 1}),
       {},
       errc::key_ops_invalid},
      // private material in a public set
      {"rsa_d_in_public_set", with(rsa, "d", "AQAB"), {}, errc::key_private_material},
      {"rsa_p_in_public_set", with(rsa, "p", "AQAB"), {}, errc::key_private_material},
      {"rsa_oth_in_public_set", with(rsa, "oth", json::array{}), {}, errc::key_private_material},
      {"rsa_full_private", rsa_priv, {}, errc::key_private_material},
      {"ec_d_in_public_set", with(p256, "d", b(x256)), {}, errc::key_private_material},
      {"okp_d_in_public_set", ed_priv, {}, errc::key_private_material},
      // RSA
      {"rsa_n_missing", without(rsa, "n"), {}, errc::key_rsa_missing_param},
      {"rsa_e_missing", without(rsa, "e"), {}, errc::key_rsa_missing_param},
      {"rsa_n_not_string", with(rsa, "n", 12345), {}, errc::key_rsa_missing_param},
      {"rsa_n_not_base64url", with(rsa, "n", "a+b/"), {}, errc::key_rsa_missing_param},
      {"rsa_n_padded",
       with(rsa, "n", json::string(std::string(rsa.at("n").as_string()) + "==")),
       {},
       errc::key_rsa_missing_param},
      {"rsa_private_missing_qi", without(rsa_priv, "qi"), allow_private(),
       errc::key_rsa_missing_param},
      {"rsa_private_d_not_base64url", with(rsa_priv, "d", "!!"), allow_private(),
       errc::key_rsa_missing_param},
      {"rsa_n_leading_zero",
       with(rsa, "n", b(std::string(1, '\0') + n)),
       {},
       errc::key_rsa_bad_modulus},
      {"rsa_n_empty", with(rsa, "n", ""), {}, errc::key_rsa_bad_modulus},
      {"rsa_n_even", with(rsa, "n", b(n_even)), {}, errc::key_rsa_bad_modulus},
      {"rsa_n_above_16384_bits", with(rsa, "n", b(n_16392)), {}, errc::key_rsa_bad_modulus},
      {"rsa_1024_bits", with(rsa, "n", b(n_1024)), {}, errc::key_rsa_too_small},
      {"rsa_2047_bits", with(rsa, "n", b(n_2047)), {}, errc::key_rsa_too_small},
      {"rsa_e_one", with(rsa, "e", "AQ"), {}, errc::key_rsa_bad_exponent},
      {"rsa_e_even", with(rsa, "e", "AQAA"), {}, errc::key_rsa_bad_exponent},
      {"rsa_e_two", with(rsa, "e", "Ag"), {}, errc::key_rsa_bad_exponent},
      {"rsa_e_leading_zero", with(rsa, "e", "AAEAAQ"), {}, errc::key_rsa_bad_exponent},
      {"rsa_e_empty", with(rsa, "e", ""), {}, errc::key_rsa_bad_exponent},
      {"rsa_e_above_64_bits",
       with(rsa, "e", b("\x01\x00\x00\x00\x00\x00\x00\x00\x01")),
       {},
       errc::key_rsa_bad_exponent},
      {"rsa_roca_fingerprint",
       with(rsa, "n", json::value(roca_modulus_b64())),
       {},
       errc::key_rsa_roca},
      // EC
      {"ec_crv_missing", without(p256, "crv"), {}, errc::key_ec_bad_curve},
      {"ec_crv_p192", with(p256, "crv", "P-192"), {}, errc::key_ec_bad_curve},
      {"ec_crv_secp256k1", with(p256, "crv", "secp256k1"), {}, errc::key_ec_bad_curve},
      {"ec_crv_openssl_name", with(p256, "crv", "prime256v1"), {}, errc::key_ec_bad_curve},
      {"ec_crv_not_string", with(p256, "crv", 256), {}, errc::key_ec_bad_curve},
      {"ec_crv_ed25519", with(p256, "crv", "Ed25519"), {}, errc::key_ec_bad_curve},
      {"ec_x_missing", without(p256, "x"), {}, errc::key_ec_bad_coordinate},
      {"ec_y_missing", without(p256, "y"), {}, errc::key_ec_bad_coordinate},
      {"ec_x_short", with(p256, "x", b(x256.substr(1))), {}, errc::key_ec_bad_coordinate},
      {"ec_x_long",
       with(p256, "x", b(std::string(1, '\0') + x256)),
       {},
       errc::key_ec_bad_coordinate},
      {"ec_y_short", with(p256, "y", b(y256.substr(0, 31))), {}, errc::key_ec_bad_coordinate},
      {"ec_x_not_base64url", with(p256, "x", "+/+/"), {}, errc::key_ec_bad_coordinate},
      {"ec_y_not_string", with(p256, "y", 3), {}, errc::key_ec_bad_coordinate},
      {"ec_p521_x_65_octets",
       with(p521, "x", b(member_bytes(p521, "x").substr(1))),
       {},
       errc::key_ec_bad_coordinate},
      {"ec_p256_coordinates_on_p384",
       with(with(p256, "crv", "P-384"), "alg", "ES384"),
       {},
       errc::key_ec_bad_coordinate},
      {"ec_point_off_curve", with(p256, "y", b(y_off_curve)), {}, errc::key_ec_point_invalid},
      {"ec_point_zero",
       with(with(p256, "x", b(std::string(32, '\0'))), "y", b(std::string(32, '\0'))),
       {},
       errc::key_ec_point_invalid},
      {"ec_coordinate_above_field",
       with(p256, "x", b(std::string(32, '\xff'))),
       {},
       errc::key_ec_point_invalid},
      // OKP
      {"okp_crv_missing", without(ed, "crv"), {}, errc::key_okp_bad_curve},
      {"okp_crv_x25519", with(ed, "crv", "X25519"), {}, errc::key_okp_bad_curve},
      {"okp_crv_ed448", with(ed, "crv", "Ed448"), {}, errc::key_okp_bad_curve},
      {"okp_crv_p256", with(ed, "crv", "P-256"), {}, errc::key_okp_bad_curve},
      {"okp_x_missing", without(ed, "x"), {}, errc::key_okp_bad_x},
      {"okp_x_31_octets", with(ed, "x", b(ed_x.substr(1))), {}, errc::key_okp_bad_x},
      {"okp_x_33_octets", with(ed, "x", b(ed_x + '\0')), {}, errc::key_okp_bad_x},
      {"okp_x_not_base64url", with(ed, "x", "=="), {}, errc::key_okp_bad_x},
      // private halves that do not belong to the public one (signing would make tokens the
      // published key never verifies)
      {"okp_private_x_not_from_d", with(ed_priv, "x", b(ed_x_other)), allow_private(),
       errc::key_private_mismatch},
      {"rsa_private_d_altered", with(rsa_priv, "d", b(flip_last(member_bytes(rsa_priv, "d")))),
       allow_private(), errc::key_private_mismatch},
      {"rsa_private_qi_altered", with(rsa_priv, "qi", b(flip_last(member_bytes(rsa_priv, "qi")))),
       allow_private(), errc::key_private_mismatch},
      {"rsa_private_for_another_modulus", with(rsa_priv, "n", other_rsa.at("n")), allow_private(),
       errc::key_private_mismatch},
      {"ec_private_d_altered", with(p256_priv, "d", b(flip_last(member_bytes(p256_priv, "d")))),
       allow_private(), errc::key_private_mismatch},
      // oct
      {"oct_in_public_set",
       json::object{{"kty", "oct"}, {"alg", "HS256"}, {"k", base64url_encode(secret_32)}},
       {},
       errc::key_oct_forbidden},
      {"oct_short_for_hs256",
       json::object{{"kty", "oct"}, {"alg", "HS256"}, {"k", base64url_encode(secret_31)}},
       allow_oct(), errc::key_oct_too_short},
      {"oct_short_default_alg", json::object{{"kty", "oct"}, {"k", base64url_encode(secret_31)}},
       allow_oct(), errc::key_oct_too_short},
      {"oct_32_for_hs512",
       json::object{{"kty", "oct"}, {"alg", "HS512"}, {"k", base64url_encode(secret_32)}},
       allow_oct(), errc::key_oct_too_short},
      {"oct_k_missing", json::object{{"kty", "oct"}, {"alg", "HS256"}}, allow_oct(),
       errc::key_oct_too_short},
  };
}

TEST(Jwk, RejectsBadKeysTable) {
  for (const auto& c : bad_keys()) {
    auto r = jwk::parse(c.key, c.options);
    ASSERT_FALSE(r) << c.name << " was accepted: " << json::serialize(c.key);
    EXPECT_EQ(r.error(), make_error_code(c.expected))
        << c.name << ": got " << describe(r.error()) << ", want " << errc_name(c.expected);
  }
}

// ---- PEM and DER ---------------------------------------------------------------------------

std::string pem_of(EVP_PKEY* k, int selection, const char* structure) {
  OSSL_ENCODER_CTX* ectx = OSSL_ENCODER_CTX_new_for_pkey(k, selection, "PEM", structure, nullptr);
  unsigned char* data = nullptr;
  std::size_t len = 0;
  const bool ok = ectx != nullptr && OSSL_ENCODER_to_data(ectx, &data, &len) == 1;
  OSSL_ENCODER_CTX_free(ectx);
  if (!ok) throw std::runtime_error("encode PEM");
  std::string out(reinterpret_cast<char*>(data), len);
  OPENSSL_free(data);
  return out;
}

std::string certificate_pem(const jwk& key) {
  auto der = keys::self_signed_certificate(key, "gatepass test", 1700000000);
  if (!der) throw std::system_error(der.error());
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  ossl::x509_ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der->size())));
  ossl::bio_ptr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert.get());
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

TEST(JwkPem, ReadsSpkiPkcs8Pkcs1AndCertificates) {
  for (alg a : {alg::rs256, alg::es256, alg::es384, alg::es512, alg::eddsa}) {
    SCOPED_TRACE(std::string(to_string(a)));
    const jwk& priv = private_key(a);

    auto spki = jwk::from_pem(priv.public_pem(), std::nullopt, "spki");
    ASSERT_TRUE(spki) << describe(spki.error());
    EXPECT_FALSE(spki->is_private());
    EXPECT_EQ(spki->kid(), "spki");
    EXPECT_EQ(spki->algorithm(), a) << "default alg from the key";
    EXPECT_EQ(spki->thumbprint(), priv.thumbprint());

    auto pkcs8 = jwk::from_pem(pem_of(priv.pkey(), EVP_PKEY_KEYPAIR, "PrivateKeyInfo"));
    ASSERT_TRUE(pkcs8) << describe(pkcs8.error());
    EXPECT_TRUE(pkcs8->is_private());
    EXPECT_EQ(pkcs8->thumbprint(), priv.thumbprint());
    auto sig = pkcs8->sign("x");
    ASSERT_TRUE(sig);
    EXPECT_FALSE(public_key(a).verify("x", *sig));

    auto cert = jwk::from_pem(certificate_pem(priv), std::nullopt, "cert");
    ASSERT_TRUE(cert) << describe(cert.error());
    EXPECT_FALSE(cert->is_private());
    EXPECT_EQ(cert->thumbprint(), priv.thumbprint());

    unsigned char* der = nullptr;
    const int der_len = i2d_PUBKEY(priv.pkey(), &der);
    ASSERT_GT(der_len, 0);
    auto from_der = jwk::from_der(
        std::string_view(reinterpret_cast<char*>(der), static_cast<std::size_t>(der_len)));
    OPENSSL_free(der);
    ASSERT_TRUE(from_der) << describe(from_der.error());
    EXPECT_EQ(from_der->thumbprint(), priv.thumbprint());
  }
  // PKCS#1 "RSA PRIVATE KEY" and "RSA PUBLIC KEY"
  const jwk& rsa = private_key(alg::rs256);
  auto pkcs1 = jwk::from_pem(pem_of(rsa.pkey(), EVP_PKEY_KEYPAIR, "type-specific"));
  ASSERT_TRUE(pkcs1) << describe(pkcs1.error());
  EXPECT_TRUE(pkcs1->is_private());
  EXPECT_EQ(pkcs1->thumbprint(), rsa.thumbprint());
}

TEST(JwkPem, PinnedAlgorithmMustFitTheKey) {
  const std::string rsa_pem = private_key(alg::rs256).public_pem();
  auto ps = jwk::from_pem(rsa_pem, alg::ps512);
  ASSERT_TRUE(ps);
  EXPECT_EQ(ps->algorithm(), alg::ps512);
  auto mismatch = jwk::from_pem(rsa_pem, alg::es256);
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error(), errc::key_alg_kty_mismatch);
  auto wrong_curve = jwk::from_pem(private_key(alg::es256).public_pem(), alg::es384);
  ASSERT_FALSE(wrong_curve);
  EXPECT_EQ(wrong_curve.error(), errc::key_alg_kty_mismatch);
  auto hs = jwk::from_pem(private_key(alg::eddsa).public_pem(), alg::hs256);
  ASSERT_FALSE(hs);
  EXPECT_EQ(hs.error(), errc::key_alg_kty_mismatch);
}

struct api_case {
  const char* name;
  std::function<std::error_code()> run;
  errc expected;
};

template <class T>
std::error_code error_of(const result<T>& r) {
  return r ? std::error_code() : r.error();
}

TEST(JwkPem, RejectsTable) {
  const jwk& es = private_key(alg::es256);
  const jwk& rsa = private_key(alg::rs256);
  const std::string encrypted = *keys::private_pem(es, "correct horse");
  const api_case cases[] = {
      {"pem_garbage", [] { return error_of(jwk::from_pem("not a pem")); }, errc::key_bad_pem},
      {"pem_empty", [] { return error_of(jwk::from_pem("")); }, errc::key_bad_pem},
      {"pem_truncated", [&] { return error_of(jwk::from_pem(es.public_pem().substr(0, 60))); },
       errc::key_bad_pem},
      {"pem_bad_certificate",
       [] {
         return error_of(
             jwk::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
       },
       errc::key_bad_pem},
      {"pem_encrypted_without_passphrase", [&] { return error_of(jwk::from_pem(encrypted)); },
       errc::key_bad_pem},
      {"der_garbage", [] { return error_of(jwk::from_der("\x30\x03\x02\x01\x01")); },
       errc::key_bad_pem},
      {"der_empty", [] { return error_of(jwk::from_der("")); }, errc::key_bad_pem},
      {"from_pkey_null", [] { return error_of(jwk::from_pkey(nullptr, std::nullopt, "")); },
       errc::key_bad_pem},
      {"secret_for_rs256",
       [] { return error_of(jwk::from_secret(std::string(64, 'k'), alg::rs256, "")); },
       errc::key_alg_kty_mismatch},
      {"secret_short",
       [] { return error_of(jwk::from_secret(std::string(47, 'k'), alg::hs384, "")); },
       errc::key_oct_too_short},
      {"sign_with_public_key", [&] { return error_of(public_key(alg::es256).sign("x")); },
       errc::key_not_private},
      {"sign_with_spki_key", [&] { return error_of(jwk::from_pem(rsa.public_pem())->sign("x")); },
       errc::key_not_private},
      {"private_pem_of_public_key",
       [&] { return error_of(keys::private_pem(public_key(alg::eddsa))); }, errc::key_not_private},
      {"private_pem_of_secret",
       [&] { return error_of(keys::private_pem(private_key(alg::hs256))); }, errc::key_not_private},
      {"read_private_pem_public_pem",
       [&] { return error_of(keys::read_private_pem(es.public_pem(), "", std::nullopt, "")); },
       errc::key_bad_pem},
      {"read_private_pem_pinned_mismatch",
       [&] { return error_of(keys::read_private_pem(*keys::private_pem(es), "", alg::rs256, "")); },
       errc::key_alg_kty_mismatch},
      {"generate_hmac", [] { return error_of(keys::generate_key(alg::hs256)); },
       errc::key_alg_unsupported},
      {"generate_rsa_1024", [] { return error_of(keys::generate_key(alg::rs256, 1024)); },
       errc::key_rsa_too_small},
  };
  for (const auto& c : cases) {
    const std::error_code ec = c.run();
    EXPECT_EQ(ec, make_error_code(c.expected))
        << c.name << ": got " << describe(ec) << ", want " << errc_name(c.expected);
  }
}

// An encrypted PEM read without a passphrase and one read with the wrong passphrase are two
// errors (`keys import` tells the user which); garbage stays key_bad_pem with or without one.
TEST(JwkPem, EncryptedPemWithoutAndWithAWrongPassphraseAreDistinct) {
  const jwk& es = private_key(alg::es256);
  const std::string pkcs8 = *keys::private_pem(es, "correct horse");
  // a traditional (PKCS#1) encrypted PEM, as `openssl genrsa -aes256` writes
  const std::string traditional = [] {
    ossl::bio_ptr bio(BIO_new(BIO_s_mem()));
    const jwk& rsa = private_key(alg::rs256);
    if (PEM_write_bio_PrivateKey_traditional(bio.get(), rsa.pkey(), EVP_aes_256_cbc(), nullptr, 0,
                                             nullptr, const_cast<char*>("correct horse")) != 1)
      return std::string();
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
  }();
  ASSERT_NE(traditional.find("Proc-Type: 4,ENCRYPTED"), std::string::npos);
  struct row {
    const char* name;
    std::string pem;
    std::string passphrase;
    std::error_code expected;
  };
  const std::vector<row> rows{
      {"pkcs8_no_passphrase", pkcs8, "", keys::errc::passphrase_needed},
      {"pkcs8_wrong_passphrase", pkcs8, "wrong", keys::errc::wrong_passphrase},
      {"traditional_no_passphrase", traditional, "", keys::errc::passphrase_needed},
      {"traditional_wrong_passphrase", traditional, "wrong", keys::errc::wrong_passphrase},
      {"garbage_no_passphrase", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
       "", errc::key_bad_pem},
      {"garbage_with_passphrase", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
       "x", errc::key_bad_pem},
  };
  for (const auto& r : rows) {
    auto k = keys::read_private_pem(r.pem, r.passphrase, std::nullopt, "");
    EXPECT_EQ(k ? std::error_code() : k.error(), r.expected) << r.name;
  }
  for (const auto* pem : {&pkcs8, &traditional}) {
    auto ok = keys::read_private_pem(*pem, "correct horse", std::nullopt, "");
    EXPECT_TRUE(ok) << describe(ok.error());
    EXPECT_TRUE(keys::is_encrypted_pem(*pem));
  }
  EXPECT_FALSE(keys::is_encrypted_pem(*keys::private_pem(es)));
}

TEST(JwkPem, PrivatePemRoundTrips) {
  for (alg a : {alg::rs256, alg::es384, alg::eddsa}) {
    SCOPED_TRACE(std::string(to_string(a)));
    const jwk& k = private_key(a);
    for (const std::string passphrase : {"", "correct horse battery staple"}) {
      auto pem = keys::private_pem(k, passphrase);
      ASSERT_TRUE(pem) << describe(pem.error());
      EXPECT_NE(pem->find(passphrase.empty() ? "BEGIN PRIVATE KEY" : "BEGIN ENCRYPTED PRIVATE KEY"),
                std::string::npos);
      auto back = keys::read_private_pem(*pem, passphrase, a, "");
      ASSERT_TRUE(back) << describe(back.error());
      EXPECT_TRUE(back->is_private());
      EXPECT_EQ(back->algorithm(), a);
      EXPECT_EQ(back->kid(), k.thumbprint()) << "kid defaults to the thumbprint";
      EXPECT_EQ(back->thumbprint(), k.thumbprint());
      auto sig = back->sign("round trip");
      ASSERT_TRUE(sig);
      EXPECT_FALSE(public_key(a).verify("round trip", *sig));
      if (!passphrase.empty()) {
        auto wrong = keys::read_private_pem(*pem, passphrase + "x", a, "");
        ASSERT_FALSE(wrong);
        EXPECT_EQ(wrong.error(), keys::errc::wrong_passphrase);
      }
    }
  }
}

// ---- key_set ---------------------------------------------------------------------------------

std::string jwks_text(std::initializer_list<json::value> keys) {
  json::array arr;
  for (const auto& k : keys) arr.push_back(k);
  json::object doc;
  doc["keys"] = std::move(arr);
  return json::serialize(doc);
}

TEST(KeySet, ParsesAndSelectsByKid) {
  const json::object es = public_key(alg::es256).to_public_json();
  const json::object rs = public_key(alg::rs256).to_public_json();
  auto set = key_set::parse(jwks_text({es, rs}));
  ASSERT_TRUE(set) << describe(set.error());
  EXPECT_EQ(set->keys().size(), 2u);
  EXPECT_TRUE(set->dropped().empty());
  auto k = set->select(std::string_view(public_key(alg::rs256).kid()));
  ASSERT_TRUE(k);
  EXPECT_EQ((*k)->algorithm(), alg::rs256);
  // to_json round trip
  auto again = key_set::parse(json::serialize(set->to_json()));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->keys().size(), 2u);
}

TEST(KeySet, DropsBadKeysAndKeepsTheRest) {
  const json::object es = public_key(alg::es256).to_public_json();
  auto set =
      key_set::parse(jwks_text({es, with(public_key(alg::rs256).to_public_json(), "e", "AQ"), 7,
                                json::object{{"kty", "oct"}, {"k", "c2VjcmV0"}, {"kid", "s"}}}));
  ASSERT_TRUE(set);
  ASSERT_EQ(set->keys().size(), 1u);
  ASSERT_EQ(set->dropped().size(), 3u);
  EXPECT_EQ(set->dropped()[0].index, 1u);
  EXPECT_EQ(set->dropped()[0].reason, errc::key_rsa_bad_exponent);
  EXPECT_EQ(set->dropped()[0].kid, public_key(alg::rs256).kid());
  EXPECT_EQ(set->dropped()[1].index, 2u);
  EXPECT_EQ(set->dropped()[1].reason, errc::key_member_invalid);
  EXPECT_EQ(set->dropped()[2].reason, errc::key_oct_forbidden);
  EXPECT_EQ(set->dropped()[2].kid, "s");
}

TEST(KeySet, DuplicateKidDropsEveryKeyUnderIt) {
  const json::object a = with(public_key(alg::es256).to_public_json(), "kid", "dup");
  const json::object b = with(public_key(alg::es384).to_public_json(), "kid", "dup");
  const json::object c = public_key(alg::eddsa).to_public_json();
  auto set = key_set::parse(jwks_text({a, c, b}));
  ASSERT_TRUE(set);
  ASSERT_EQ(set->keys().size(), 1u);
  EXPECT_EQ(set->keys()[0].algorithm(), alg::eddsa);
  ASSERT_EQ(set->dropped().size(), 2u);
  for (const auto& d : set->dropped()) {
    EXPECT_EQ(d.reason, errc::key_duplicate_kid);
    EXPECT_EQ(d.kid, "dup");
  }
  auto sel = set->select(std::string_view("dup"));
  ASSERT_FALSE(sel);
  EXPECT_EQ(sel.error(), errc::kid_unknown);
}

TEST(KeySet, KidSharedWithADroppedKeyIsAmbiguous) {
  const json::object good = with(public_key(alg::es256).to_public_json(), "kid", "k1");
  const json::object bad =
      with(with(public_key(alg::es384).to_public_json(), "kid", "k1"), "use", "enc");
  auto set = key_set::parse(jwks_text({good, bad}));
  ASSERT_TRUE(set);
  EXPECT_TRUE(set->empty());
  ASSERT_EQ(set->dropped().size(), 2u);
  EXPECT_EQ(set->dropped()[0].reason, errc::key_use_invalid);
  EXPECT_EQ(set->dropped()[1].reason, errc::key_duplicate_kid);
  auto sel = set->select(std::string_view("k1"));
  ASSERT_FALSE(sel);
  EXPECT_EQ(sel.error(), errc::jwks_no_valid_keys);
}

TEST(KeySet, MixedSymmetryDropsTheSecret) {
  jwk_parse_options opt;
  opt.allow_oct = true;
  const json::object oct{
      {"kty", "oct"}, {"kid", "hmac"}, {"k", base64url_encode(std::string(32, 'q'))}};
  auto set = key_set::parse(jwks_text({oct, public_key(alg::es256).to_public_json()}), opt);
  ASSERT_TRUE(set);
  ASSERT_EQ(set->keys().size(), 1u);
  EXPECT_EQ(set->keys()[0].kty(), key_type::ec);
  ASSERT_EQ(set->dropped().size(), 1u);
  EXPECT_EQ(set->dropped()[0].reason, errc::key_mixed_symmetry);
  EXPECT_EQ(set->dropped()[0].kid, "hmac");

  auto only_oct = key_set::parse(jwks_text({oct}), opt);
  ASSERT_TRUE(only_oct);
  EXPECT_EQ(only_oct->keys().size(), 1u);

  // the same rules for keys built in code
  auto from = key_set::from_keys({private_key(alg::hs256), private_key(alg::es256),
                                  private_key(alg::es384).with_kid("x"),
                                  private_key(alg::eddsa).with_kid("x")});
  ASSERT_EQ(from.keys().size(), 1u);
  EXPECT_EQ(from.keys()[0].algorithm(), alg::es256);
  ASSERT_EQ(from.dropped().size(), 3u);
  EXPECT_EQ(from.dropped()[0].reason, errc::key_mixed_symmetry);
  EXPECT_EQ(from.dropped()[1].reason, errc::key_duplicate_kid);
  EXPECT_EQ(from.dropped()[2].reason, errc::key_duplicate_kid);
}

TEST(KeySet, SelectRules) {
  const jwk lone_no_kid = private_key(alg::es256).with_kid("");
  const jwk lone_kid = private_key(alg::es256).with_kid("only");
  const key_set two = key_set::from_keys({private_key(alg::es256), private_key(alg::es384)});
  const key_set empty;
  const key_set one_no_kid = key_set::from_keys({lone_no_kid});
  const key_set one_kid = key_set::from_keys({lone_kid});

  // positive rules
  EXPECT_TRUE(two.select(std::string_view(private_key(alg::es384).kid())));
  auto any = one_no_kid.select(std::string_view("whatever"));
  ASSERT_TRUE(any) << "a lone kid-less key matches any kid";
  EXPECT_EQ((*any)->kid(), "");
  EXPECT_TRUE(one_no_kid.select(std::nullopt));
  EXPECT_TRUE(one_kid.select(std::nullopt)) << "one key, token without kid";
  EXPECT_TRUE(one_kid.select(std::string_view("only")));

  struct select_case {
    const char* name;
    const key_set& set;
    std::optional<std::string_view> kid;
    errc expected;
  };
  const select_case cases[] = {
      {"several_keys_no_kid", two, std::nullopt, errc::kid_required},
      {"several_keys_unknown_kid", two, "nope", errc::kid_unknown},
      {"kid_is_case_sensitive", one_kid, "ONLY", errc::kid_unknown},
      {"kid_prefix", one_kid, "onl", errc::kid_unknown},
      {"empty_kid_vs_named_key", one_kid, "", errc::kid_unknown},
      {"empty_set_no_kid", empty, std::nullopt, errc::jwks_no_valid_keys},
      {"empty_set_kid", empty, "a", errc::jwks_no_valid_keys},
  };
  for (const auto& c : cases) {
    auto r = c.set.select(c.kid);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error(), make_error_code(c.expected)) << c.name << ": got " << describe(r.error());
  }
}

TEST(KeySet, DocumentErrorsTable) {
  struct doc_case {
    const char* name;
    std::string text;
    errc expected;
  };
  const doc_case cases[] = {
      {"not_json", "keys", errc::jwks_bad_json},
      {"empty", "", errc::jwks_bad_json},
      {"top_array", "[{\"kty\":\"RSA\"}]", errc::jwks_bad_json},
      {"duplicate_keys_member", R"({"keys":[],"keys":[]})", errc::jwks_bad_json},
      {"trailing_data", R"({"keys":[]}x)", errc::jwks_bad_json},
      {"too_deep", R"({"keys":[{"a":[[[[[[[[1]]]]]]]]}]})", errc::jwks_bad_json},
      {"no_keys_member", "{}", errc::jwks_no_keys},
      {"keys_is_object", R"({"keys":{}})", errc::jwks_no_keys},
      {"keys_is_string", R"({"keys":"x"})", errc::jwks_no_keys},
      {"keys_is_null", R"({"keys":null})", errc::jwks_no_keys},
  };
  for (const auto& c : cases) {
    auto r = key_set::parse(c.text);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error(), make_error_code(c.expected)) << c.name << ": got " << describe(r.error());
  }
  auto empty = key_set::parse(R"({"keys":[]})");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace gatepass::jose
