#include "jose/algorithm.h"

#include <array>
#include <cstring>
#include <utility>

namespace gatepass::jose {
namespace {

constexpr std::array<std::pair<std::string_view, alg>, 13> names{{
    {"RS256", alg::rs256},
    {"RS384", alg::rs384},
    {"RS512", alg::rs512},
    {"PS256", alg::ps256},
    {"PS384", alg::ps384},
    {"PS512", alg::ps512},
    {"ES256", alg::es256},
    {"ES384", alg::es384},
    {"ES512", alg::es512},
    {"EdDSA", alg::eddsa},
    {"HS256", alg::hs256},
    {"HS384", alg::hs384},
    {"HS512", alg::hs512},
}};
static_assert([] {
  for (const auto& entry : names)
    if (entry.first.size() != 5) return false;
  return true;
}());

}  // namespace

std::optional<alg> alg_from_string(std::string_view name) noexcept {
  // Every registered name has five characters: one length check, then fixed-size compares
  // the compiler inlines.
  if (name.size() != 5) return std::nullopt;
  for (const auto& [n, a] : names)
    if (std::memcmp(n.data(), name.data(), 5) == 0) return a;
  return std::nullopt;
}

std::string_view to_string(alg a) noexcept {
  return names[static_cast<std::size_t>(a)].first;
}

alg_family family(alg a) noexcept {
  switch (a) {
    case alg::rs256:
    case alg::rs384:
    case alg::rs512:
      return alg_family::rsa_pkcs1;
    case alg::ps256:
    case alg::ps384:
    case alg::ps512:
      return alg_family::rsa_pss;
    case alg::es256:
    case alg::es384:
    case alg::es512:
      return alg_family::ecdsa;
    case alg::eddsa:
      return alg_family::eddsa;
    case alg::hs256:
    case alg::hs384:
    case alg::hs512:
      return alg_family::hmac;
  }
  return alg_family::hmac;
}

const char* hash_name(alg a) noexcept {
  switch (a) {
    case alg::rs256:
    case alg::ps256:
    case alg::es256:
    case alg::hs256:
      return "SHA256";
    case alg::rs384:
    case alg::ps384:
    case alg::es384:
    case alg::hs384:
      return "SHA384";
    case alg::rs512:
    case alg::ps512:
    case alg::es512:
    case alg::hs512:
      return "SHA512";
    case alg::eddsa:
      return "";
  }
  return "";
}

std::size_t hash_size(alg a) noexcept {
  switch (a) {
    case alg::rs256:
    case alg::ps256:
    case alg::es256:
    case alg::hs256:
      return 32;
    case alg::rs384:
    case alg::ps384:
    case alg::es384:
    case alg::hs384:
      return 48;
    case alg::rs512:
    case alg::ps512:
    case alg::es512:
    case alg::hs512:
      return 64;
    case alg::eddsa:
      return 0;
  }
  return 0;
}

std::size_t ec_coordinate_size(alg a) noexcept {
  switch (a) {
    case alg::es256:
      return 32;
    case alg::es384:
      return 48;
    case alg::es512:
      return 66;
    default:
      return 0;
  }
}

std::string_view ec_curve(alg a) noexcept {
  switch (a) {
    case alg::es256:
      return "P-256";
    case alg::es384:
      return "P-384";
    case alg::es512:
      return "P-521";
    default:
      return {};
  }
}

}  // namespace gatepass::jose
