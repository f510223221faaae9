// One trusted key record (RFC 7517): (kid, kty, alg, crv, key), fixed when it is built.
// The algorithm is pinned here, never taken from a token (RFC 8725 §3.1).
#pragma once

#include <openssl/evp.h>

#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "jose/algorithm.h"

namespace gatepass::jose {

enum class key_type { rsa, ec, okp, oct };

std::string_view to_string(key_type k) noexcept;

struct jwk_parse_options {
  bool allow_private = false;  // accept private members (d, p, q…): keys we sign with
  bool allow_oct = false;      // accept symmetric keys: only from local configuration
};

namespace detail {
struct key_material;
}

class jwk {
 public:
  /// Parses and validates one JWK object. Private members are refused unless allowed.
  static result<jwk> parse(const boost::json::object& o, const jwk_parse_options& opt = {});
  /// Reads a PEM (SPKI public key, PKCS#8 or PKCS#1 private key). `pinned` overrides the
  /// default alg (RS256 for RSA, by curve for EC, EdDSA for Ed25519).
  static result<jwk> from_pem(std::string_view pem, std::optional<alg> pinned = std::nullopt,
                              std::string kid = {});
  /// Reads DER SubjectPublicKeyInfo.
  static result<jwk> from_der(std::string_view der, std::optional<alg> pinned = std::nullopt,
                              std::string kid = {});
  /// Wraps an existing key (shared, never copied), validating type and size as parse does.
  static result<jwk> from_pkey(std::shared_ptr<EVP_PKEY> key, std::optional<alg> pinned,
                               std::string kid);
  /// A configured HMAC secret; at least as long as the hash (RFC 7518 §3.2).
  static result<jwk> from_secret(std::string secret, alg a, std::string kid);

  const std::string& kid() const noexcept { return kid_; }
  key_type kty() const noexcept;
  alg algorithm() const noexcept;
  /// "P-256", "P-384", "P-521", "Ed25519", or empty.
  std::string_view crv() const noexcept;
  bool is_private() const noexcept;
  /// RSA modulus bits, EC field bits, 256 for Ed25519, secret bits for oct.
  int bits() const noexcept;
  EVP_PKEY* pkey() const noexcept;
  std::shared_ptr<EVP_PKEY> shared_pkey() const noexcept;

  /// The same key under another kid.
  jwk with_kid(std::string kid) const;

  /// Public JWK members: kty, use "sig", alg, kid and n/e, crv/x/y or crv/x. Never private.
  boost::json::object to_public_json() const;
  /// RFC 7638 JWK thumbprint (SHA-256), base64url.
  std::string thumbprint() const;
  /// Public key as PEM SubjectPublicKeyInfo.
  std::string public_pem() const;

  /// Verifies `signature` over `signing_input` with this key's pinned algorithm.
  std::error_code verify(std::string_view signing_input, std::string_view signature) const;
  /// Signs `signing_input` (JWS encoding: R||S for ECDSA). Needs a private key or a secret.
  result<std::string> sign(std::string_view signing_input) const;
  /// The same into `out`, which holds signature_size() octets; returns the length written.
  result<std::size_t> sign(std::string_view signing_input, unsigned char* out) const;
  /// The length of this key's JWS signatures: the RSA modulus, 2 × the ECDSA coordinate,
  /// 64 for Ed25519, the hash for HMAC.
  std::size_t signature_size() const noexcept;

 private:
  jwk(std::shared_ptr<detail::key_material> m, std::string kid)
      : m_(std::move(m)), kid_(std::move(kid)) {}
  std::shared_ptr<detail::key_material> m_;
  std::string kid_;
};

}  // namespace gatepass::jose
