// One error domain for the jose module: one enumerator per distinct failure, each with a
// human message (errc.cpp). Wired into std::error_code.
#pragma once

#include <system_error>

namespace gatepass::jose {

enum class errc {
  // token structure (RFC 7515 §7.1)
  token_empty = 1,       // no token at all
  token_too_large,       // longer than the configured cap, checked before anything else
  token_malformed,       // not exactly three non-empty-header segments
  header_bad_base64,     // header segment is not strict base64url
  payload_bad_base64,    // payload segment is not strict base64url
  signature_bad_base64,  // signature segment is not strict base64url
  // JSON (RFC 8259 / RFC 7515 §5.2)
  json_syntax,            // not well-formed JSON, or trailing data
  json_invalid_utf8,      // invalid UTF-8 or an unpaired surrogate
  json_too_deep,          // nesting deeper than the limit
  json_duplicate_member,  // the same member name twice in one object
  json_not_object,        // top level is not an object
  header_bad_json,        // header is not a JSON object
  payload_bad_json,       // claims are not a JSON object
  // header
  alg_missing,           // no "alg" member
  alg_not_string,        // "alg" is not a string
  alg_none,              // "none" in any casing: unsecured JWS never accepted
  alg_unsupported,       // alg not implemented by gatepass
  alg_not_allowed,       // alg not in the verifier's allow-list
  kid_not_string,        // "kid" present but not a string
  kid_required,          // the key set holds several keys and the token names none
  kid_unknown,           // no key with this kid
  header_key_forbidden,  // jwk / jku / x5u / x5c in the header (RFC 8725 §3.10)
  crit_invalid,          // crit empty, not an array of strings, lists a registered or absent name
  crit_unsupported,      // crit names an extension gatepass does not implement
  b64_unsupported,       // RFC 7797 unencoded payload
  nested_jwt,            // cty "JWT": nested tokens are not accepted (RFC 8725 §3.3)
  typ_not_string,        // "typ" present but not a string
  typ_mismatch,          // typ is not the expected one (RFC 8725 §3.11)
  // keys
  key_alg_mismatch,       // the token's alg is not the key's alg
  key_kty_missing,        // JWK without kty
  key_kty_unsupported,    // kty other than RSA, EC, OKP, oct
  key_alg_unsupported,    // JWK alg unknown
  key_alg_kty_mismatch,   // JWK alg does not fit its kty or curve
  key_use_invalid,        // "use" other than "sig"
  key_ops_invalid,        // key_ops without "verify"/"sign", or not an array of strings
  key_member_invalid,     // a JWK member has the wrong JSON type
  key_private_material,   // private members in a set that must be public
  key_rsa_missing_param,  // RSA n or e missing or not base64url
  key_rsa_bad_modulus,    // n with a leading zero octet or even
  key_rsa_too_small,      // modulus below 2048 bits (or above 16384)
  key_rsa_bad_exponent,   // e = 1, even, or with leading zero octets
  key_rsa_roca,           // modulus has the ROCA (CVE-2017-15361) fingerprint
  key_ec_bad_curve,       // crv missing or not P-256/P-384/P-521
  key_ec_bad_coordinate,  // x or y missing, not base64url, or not full length
  key_ec_point_invalid,   // point not on the curve
  key_okp_bad_curve,      // crv other than Ed25519
  key_okp_bad_x,          // x missing or not 32 octets
  key_oct_forbidden,      // symmetric key where only public keys are allowed
  key_oct_too_short,      // HMAC key shorter than the hash output (RFC 7518 §3.2)
  key_mixed_symmetry,     // symmetric and asymmetric keys mixed in one set
  key_duplicate_kid,      // two keys share a kid
  key_bad_pem,            // PEM/DER could not be read or holds an unsupported key
  key_not_private,        // a signing operation was given a public key
  key_private_mismatch,   // a private JWK's private members do not belong to its public key
  jwks_bad_json,          // the JWKS document is not a JSON object
  jwks_no_keys,           // no "keys" array
  jwks_no_valid_keys,     // every key in the set was dropped
  // signature
  signature_length_invalid,  // wrong length for the algorithm and key
  signature_invalid,         // the signature does not verify
  // claims (RFC 7519 §4.1)
  exp_missing,       // exp required but absent
  exp_not_numeric,   // exp not a number
  exp_out_of_range,  // exp negative, non-finite or beyond year 9999
  expired,           // now >= exp + leeway
  nbf_not_numeric,   // nbf not a number
  nbf_out_of_range,  // nbf negative or beyond year 9999
  not_yet_valid,     // now < nbf - leeway
  iat_not_numeric,   // iat not a number
  iat_out_of_range,  // iat negative or beyond year 9999
  iat_in_future,     // iat > now + leeway
  iss_missing,       // issuer configured, iss absent
  iss_not_string,    // iss not a string
  iss_mismatch,      // iss differs from the configured issuer (exact compare)
  aud_missing,       // audience configured, aud absent
  aud_invalid,       // aud neither a string nor an array of strings
  aud_mismatch,      // no aud value is a configured audience
  sub_not_string,    // sub not a string
  sub_invalid,       // sub contains NUL
  jti_not_string,    // jti not a string
  scope_invalid,     // scope / scp neither a string nor an array of strings
  crypto_failure,    // OpenSSL failed for a reason other than a bad signature
};

const std::error_category& jose_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), jose_category()};
}

/// Short stable identifier (e.g. "expired") for metrics and logs.
const char* errc_name(errc e) noexcept;

/// Highest enumerator, for tests that walk every value.
inline constexpr int errc_last = static_cast<int>(errc::crypto_failure);

}  // namespace gatepass::jose

template <>
struct std::is_error_code_enum<gatepass::jose::errc> : std::true_type {};
