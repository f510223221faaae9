// JWS algorithms gatepass implements (RFC 7518 §3, RFC 8037 §3.1). "none" is not one of them.
#pragma once

#include <optional>
#include <string_view>

namespace gatepass::jose {

enum class alg {
  rs256,
  rs384,
  rs512,
  ps256,
  ps384,
  ps512,
  es256,
  es384,
  es512,
  eddsa,
  hs256,
  hs384,
  hs512
};

enum class alg_family { rsa_pkcs1, rsa_pss, ecdsa, eddsa, hmac };

/// Exact, case-sensitive lookup of a registered name; nullopt for anything else (incl. "none").
std::optional<alg> alg_from_string(std::string_view name) noexcept;
std::string_view to_string(alg a) noexcept;
alg_family family(alg a) noexcept;
/// Hash name for EVP ("SHA256"…); empty for EdDSA (the signature hashes internally).
const char* hash_name(alg a) noexcept;
/// Digest length in octets (0 for EdDSA).
std::size_t hash_size(alg a) noexcept;
/// Octets of one ECDSA coordinate (32, 48, 66), 0 for other families.
std::size_t ec_coordinate_size(alg a) noexcept;
/// The JWK curve name an ECDSA alg requires ("P-256"…), empty for others.
std::string_view ec_curve(alg a) noexcept;

}  // namespace gatepass::jose
