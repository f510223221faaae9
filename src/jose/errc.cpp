#include "jose/errc.h"

namespace gatepass::jose {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "jose"; }
  std::string message(int v) const override {
    switch (static_cast<errc>(v)) {
      case errc::token_empty:
        return "no token at all";
      case errc::token_too_large:
        return "longer than the configured cap, checked before anything else";
      case errc::token_malformed:
        return "not exactly three non-empty-header segments";
      case errc::header_bad_base64:
        return "header segment is not strict base64url";
      case errc::payload_bad_base64:
        return "payload segment is not strict base64url";
      case errc::signature_bad_base64:
        return "signature segment is not strict base64url";
      case errc::json_syntax:
        return "not well-formed JSON, or trailing data";
      case errc::json_invalid_utf8:
        return "invalid UTF-8 or an unpaired surrogate";
      case errc::json_too_deep:
        return "nesting deeper than the limit";
      case errc::json_duplicate_member:
        return "the same member name twice in one object";
      case errc::json_not_object:
        return "top level is not an object";
      case errc::header_bad_json:
        return "header is not a JSON object";
      case errc::payload_bad_json:
        return "claims are not a JSON object";
      case errc::alg_missing:
        return "no \"alg\" member";
      case errc::alg_not_string:
        return "\"alg\" is not a string";
      case errc::alg_none:
        return "\"none\" in any casing: unsecured JWS never accepted";
      case errc::alg_unsupported:
        return "alg not implemented by gatepass";
      case errc::alg_not_allowed:
        return "alg not in the verifier's allow-list";
      case errc::kid_not_string:
        return "\"kid\" present but not a string";
      case errc::kid_required:
        return "the key set holds several keys and the token names none";
      case errc::kid_unknown:
        return "no key with this kid";
      case errc::header_key_forbidden:
        return "jwk / jku / x5u / x5c in the header (RFC 8725 §3.10)";
      case errc::crit_invalid:
        return "crit empty, not an array of strings, lists a registered or absent name";
      case errc::crit_unsupported:
        return "crit names an extension gatepass does not implement";
      case errc::b64_unsupported:
        return "RFC 7797 unencoded payload";
      case errc::nested_jwt:
        return "cty \"JWT\": nested tokens are not accepted (RFC 8725 §3.3)";
      case errc::typ_not_string:
        return "\"typ\" present but not a string";
      case errc::typ_mismatch:
        return "typ is not the expected one (RFC 8725 §3.11)";
      case errc::key_alg_mismatch:
        return "the token's alg is not the key's alg";
      case errc::key_kty_missing:
        return "JWK without kty";
      case errc::key_kty_unsupported:
        return "kty other than RSA, EC, OKP, oct";
      case errc::key_alg_unsupported:
        return "JWK alg unknown";
      case errc::key_alg_kty_mismatch:
        return "JWK alg does not fit its kty or curve";
      case errc::key_use_invalid:
        return "\"use\" other than \"sig\"";
      case errc::key_ops_invalid:
        return "key_ops without \"verify\"/\"sign\", or not an array of strings";
      case errc::key_member_invalid:
        return "a JWK member has the wrong JSON type";
      case errc::key_private_material:
        return "private members in a set that must be public";
      case errc::key_rsa_missing_param:
        return "RSA n or e missing or not base64url";
      case errc::key_rsa_bad_modulus:
        return "n with a leading zero octet or even";
      case errc::key_rsa_too_small:
        return "modulus below 2048 bits (or above 16384)";
      case errc::key_rsa_bad_exponent:
        return "e = 1, even, or with leading zero octets";
      case errc::key_rsa_roca:
        return "modulus has the ROCA (CVE-2017-15361) fingerprint";
      case errc::key_ec_bad_curve:
        return "crv missing or not P-256/P-384/P-521";
      case errc::key_ec_bad_coordinate:
        return "x or y missing, not base64url, or not full length";
      case errc::key_ec_point_invalid:
        return "point not on the curve";
      case errc::key_okp_bad_curve:
        return "crv other than Ed25519";
      case errc::key_okp_bad_x:
        return "x missing or not 32 octets";
      case errc::key_oct_forbidden:
        return "symmetric key where only public keys are allowed";
      case errc::key_oct_too_short:
        return "HMAC key shorter than the hash output (RFC 7518 §3.2)";
      case errc::key_mixed_symmetry:
        return "symmetric and asymmetric keys mixed in one set";
      case errc::key_duplicate_kid:
        return "two keys share a kid";
      case errc::key_bad_pem:
        return "PEM/DER could not be read or holds an unsupported key";
      case errc::key_not_private:
        return "a signing operation was given a public key";
      case errc::key_private_mismatch:
        return "the private key members do not belong to the public key";
      case errc::jwks_bad_json:
        return "the JWKS document is not a JSON object";
      case errc::jwks_no_keys:
        return "no \"keys\" array";
      case errc::jwks_no_valid_keys:
        return "every key in the set was dropped";
      case errc::signature_length_invalid:
        return "wrong length for the algorithm and key";
      case errc::signature_invalid:
        return "the signature does not verify";
      case errc::exp_missing:
        return "exp required but absent";
      case errc::exp_not_numeric:
        return "exp not a number";
      case errc::exp_out_of_range:
        return "exp negative, non-finite or beyond year 9999";
      case errc::expired:
        return "the token has expired";
      case errc::nbf_not_numeric:
        return "nbf not a number";
      case errc::nbf_out_of_range:
        return "nbf negative or beyond year 9999";
      case errc::not_yet_valid:
        return "the token is not valid yet (nbf)";
      case errc::iat_not_numeric:
        return "iat not a number";
      case errc::iat_out_of_range:
        return "iat negative or beyond year 9999";
      case errc::iat_in_future:
        return "the token was issued in the future (iat)";
      case errc::iss_missing:
        return "issuer configured, iss absent";
      case errc::iss_not_string:
        return "iss not a string";
      case errc::iss_mismatch:
        return "iss differs from the configured issuer (exact compare)";
      case errc::aud_missing:
        return "audience configured, aud absent";
      case errc::aud_invalid:
        return "aud neither a string nor an array of strings";
      case errc::aud_mismatch:
        return "no aud value is a configured audience";
      case errc::sub_not_string:
        return "sub not a string";
      case errc::sub_invalid:
        return "sub contains NUL";
      case errc::jti_not_string:
        return "jti not a string";
      case errc::scope_invalid:
        return "scope / scp neither a string nor an array of strings";
      case errc::crypto_failure:
        return "OpenSSL failed for a reason other than a bad signature";
    }
    return "unknown jose error";
  }
};

}  // namespace

const std::error_category& jose_category() noexcept {
  static const category c;
  return c;
}

const char* errc_name(errc e) noexcept {
  switch (e) {
    case errc::token_empty:
      return "token_empty";
    case errc::token_too_large:
      return "token_too_large";
    case errc::token_malformed:
      return "token_malformed";
    case errc::header_bad_base64:
      return "header_bad_base64";
    case errc::payload_bad_base64:
      return "payload_bad_base64";
    case errc::signature_bad_base64:
      return "signature_bad_base64";
    case errc::json_syntax:
      return "json_syntax";
    case errc::json_invalid_utf8:
      return "json_invalid_utf8";
    case errc::json_too_deep:
      return "json_too_deep";
    case errc::json_duplicate_member:
      return "json_duplicate_member";
    case errc::json_not_object:
      return "json_not_object";
    case errc::header_bad_json:
      return "header_bad_json";
    case errc::payload_bad_json:
      return "payload_bad_json";
    case errc::alg_missing:
      return "alg_missing";
    case errc::alg_not_string:
      return "alg_not_string";
    case errc::alg_none:
      return "alg_none";
    case errc::alg_unsupported:
      return "alg_unsupported";
    case errc::alg_not_allowed:
      return "alg_not_allowed";
    case errc::kid_not_string:
      return "kid_not_string";
    case errc::kid_required:
      return "kid_required";
    case errc::kid_unknown:
      return "kid_unknown";
    case errc::header_key_forbidden:
      return "header_key_forbidden";
    case errc::crit_invalid:
      return "crit_invalid";
    case errc::crit_unsupported:
      return "crit_unsupported";
    case errc::b64_unsupported:
      return "b64_unsupported";
    case errc::nested_jwt:
      return "nested_jwt";
    case errc::typ_not_string:
      return "typ_not_string";
    case errc::typ_mismatch:
      return "typ_mismatch";
    case errc::key_alg_mismatch:
      return "key_alg_mismatch";
    case errc::key_kty_missing:
      return "key_kty_missing";
    case errc::key_kty_unsupported:
      return "key_kty_unsupported";
    case errc::key_alg_unsupported:
      return "key_alg_unsupported";
    case errc::key_alg_kty_mismatch:
      return "key_alg_kty_mismatch";
    case errc::key_use_invalid:
      return "key_use_invalid";
    case errc::key_ops_invalid:
      return "key_ops_invalid";
    case errc::key_member_invalid:
      return "key_member_invalid";
    case errc::key_private_material:
      return "key_private_material";
    case errc::key_rsa_missing_param:
      return "key_rsa_missing_param";
    case errc::key_rsa_bad_modulus:
      return "key_rsa_bad_modulus";
    case errc::key_rsa_too_small:
      return "key_rsa_too_small";
    case errc::key_rsa_bad_exponent:
      return "key_rsa_bad_exponent";
    case errc::key_rsa_roca:
      return "key_rsa_roca";
    case errc::key_ec_bad_curve:
      return "key_ec_bad_curve";
    case errc::key_ec_bad_coordinate:
      return "key_ec_bad_coordinate";
    case errc::key_ec_point_invalid:
      return "key_ec_point_invalid";
    case errc::key_okp_bad_curve:
      return "key_okp_bad_curve";
    case errc::key_okp_bad_x:
      return "key_okp_bad_x";
    case errc::key_oct_forbidden:
      return "key_oct_forbidden";
    case errc::key_oct_too_short:
      return "key_oct_too_short";
    case errc::key_mixed_symmetry:
      return "key_mixed_symmetry";
    case errc::key_duplicate_kid:
      return "key_duplicate_kid";
    case errc::key_bad_pem:
      return "key_bad_pem";
    case errc::key_not_private:
      return "key_not_private";
    case errc::key_private_mismatch:
      return "key_private_mismatch";
    case errc::jwks_bad_json:
      return "jwks_bad_json";
    case errc::jwks_no_keys:
      return "jwks_no_keys";
    case errc::jwks_no_valid_keys:
      return "jwks_no_valid_keys";
    case errc::signature_length_invalid:
      return "signature_length_invalid";
    case errc::signature_invalid:
      return "signature_invalid";
    case errc::exp_missing:
      return "exp_missing";
    case errc::exp_not_numeric:
      return "exp_not_numeric";
    case errc::exp_out_of_range:
      return "exp_out_of_range";
    case errc::expired:
      return "expired";
    case errc::nbf_not_numeric:
      return "nbf_not_numeric";
    case errc::nbf_out_of_range:
      return "nbf_out_of_range";
    case errc::not_yet_valid:
      return "not_yet_valid";
    case errc::iat_not_numeric:
      return "iat_not_numeric";
    case errc::iat_out_of_range:
      return "iat_out_of_range";
    case errc::iat_in_future:
      return "iat_in_future";
    case errc::iss_missing:
      return "iss_missing";
    case errc::iss_not_string:
      return "iss_not_string";
    case errc::iss_mismatch:
      return "iss_mismatch";
    case errc::aud_missing:
      return "aud_missing";
    case errc::aud_invalid:
      return "aud_invalid";
    case errc::aud_mismatch:
      return "aud_mismatch";
    case errc::sub_not_string:
      return "sub_not_string";
    case errc::sub_invalid:
      return "sub_invalid";
    case errc::jti_not_string:
      return "jti_not_string";
    case errc::scope_invalid:
      return "scope_invalid";
    case errc::crypto_failure:
      return "crypto_failure";
  }
  return "unknown";
}

}  // namespace gatepass::jose
