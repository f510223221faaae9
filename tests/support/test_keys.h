// Test support: the unit tests' keys, generated once per process and shared (RSA 2048 key
// generation dominates test time otherwise). One private key per algorithm; HMAC keys are
// fixed secrets exactly as long as the hash.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <string>
#include <string_view>
#include <system_error>

#include "common/base64url.h"
#include "common/ossl.h"
#include "jose/algorithm.h"
#include "jose/errc.h"
#include "jose/jwk.h"
#include "keys/key_generator.h"

namespace gatepass::test {

inline constexpr std::array<jose::alg, 13> all_algs{
    jose::alg::rs256, jose::alg::rs384, jose::alg::rs512, jose::alg::ps256, jose::alg::ps384,
    jose::alg::ps512, jose::alg::es256, jose::alg::es384, jose::alg::es512, jose::alg::eddsa,
    jose::alg::hs256, jose::alg::hs384, jose::alg::hs512};

/// The private signing key for `a` (kid = RFC 7638 thumbprint; HMAC kid "hmac-<alg>").
/// The three RSA PKCS#1 and the three PSS algorithms share one RSA 2048 key pair, pinned
/// differently, so only one RSA key is generated.
inline const jose::jwk& private_key(jose::alg a) {
  static const std::map<jose::alg, jose::jwk> cache = [] {
    std::map<jose::alg, jose::jwk> m;
    auto rsa = keys::generate_key(jose::alg::rs256, 2048);
    if (!rsa) throw std::system_error(rsa.error());
    for (auto x : all_algs) {
      switch (jose::family(x)) {
        case jose::alg_family::rsa_pkcs1:
        case jose::alg_family::rsa_pss: {
          auto k = jose::jwk::from_pkey(rsa->shared_pkey(), x, std::string(jose::to_string(x)));
          if (!k) throw std::system_error(k.error());
          m.emplace(x, std::move(*k));
          break;
        }
        case jose::alg_family::hmac: {
          std::string secret(jose::hash_size(x), '\0');
          for (std::size_t i = 0; i < secret.size(); ++i)
            secret[i] = static_cast<char>(0x5a ^ static_cast<int>(i * 7));
          auto k = jose::jwk::from_secret(std::move(secret), x,
                                          "hmac-" + std::string(jose::to_string(x)));
          if (!k) throw std::system_error(k.error());
          m.emplace(x, std::move(*k));
          break;
        }
        default: {
          auto k = keys::generate_key(x);
          if (!k) throw std::system_error(k.error());
          m.emplace(x, std::move(*k));
        }
      }
    }
    return m;
  }();
  return cache.at(a);
}

/// The verification side of private_key(a): rebuilt from its public JWK (HMAC: the key itself).
inline const jose::jwk& public_key(jose::alg a) {
  static const std::map<jose::alg, jose::jwk> cache = [] {
    std::map<jose::alg, jose::jwk> m;
    for (auto x : all_algs) {
      const auto& priv = private_key(x);
      if (jose::family(x) == jose::alg_family::hmac) {
        m.emplace(x, priv);
        continue;
      }
      auto k = jose::jwk::parse(priv.to_public_json());
      if (!k) throw std::system_error(k.error());
      m.emplace(x, std::move(*k));
    }
    return m;
  }();
  return cache.at(a);
}

/// base64url of a JSON text, for hand-built headers and payloads.
inline std::string b64(std::string_view text) {
  return base64url_encode(text);
}

/// A token with a hand-written header and payload, signed by `key` over exactly those bytes.
inline std::string sign_raw(const jose::jwk& key, std::string_view header_json,
                            std::string_view payload_json) {
  std::string input = b64(header_json) + "." + b64(payload_json);
  auto sig = key.sign(input);
  if (!sig) throw std::system_error(sig.error());
  return input + "." + base64url_encode(*sig);
}

/// Prints an error code as "name (message)" in assertion failures.
inline std::string describe(std::error_code ec) {
  if (!ec) return "success";
  if (ec.category() == jose::jose_category())
    return std::string(jose::errc_name(static_cast<jose::errc>(ec.value()))) + " (" + ec.message() +
           ")";
  return ec.category().name() + std::string(":") + std::to_string(ec.value()) + " (" +
         ec.message() + ")";
}

/// An RSA modulus with the ROCA fingerprint (n ≡ 1 mod every prime the detector uses), 2048
/// bits, base64url.
inline std::string roca_modulus_b64() {
  ossl::bn_ctx_ptr ctx(BN_CTX_new());
  ossl::bn_ptr m(BN_new()), q(BN_new()), n(BN_new()), top(BN_new());
  BN_one(m.get());
  for (unsigned p : {2u,   3u,   5u,   7u,   11u,  13u,  17u,  19u,  23u,  29u,  31u,  37u,  41u,
                     43u,  47u,  53u,  59u,  61u,  67u,  71u,  73u,  79u,  83u,  89u,  97u,  101u,
                     103u, 107u, 109u, 113u, 127u, 131u, 137u, 139u, 149u, 151u, 157u, 163u, 167u})
    BN_mul_word(m.get(), p);
  BN_set_bit(top.get(), 2047);
  BN_div(q.get(), nullptr, top.get(), m.get(), ctx.get());
  BN_add_word(q.get(), 1);
  BN_mul(n.get(), q.get(), m.get(), ctx.get());
  BN_add_word(n.get(), 1);
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(n.get())), '\0');
  BN_bn2bin(n.get(), reinterpret_cast<unsigned char*>(bytes.data()));
  return base64url_encode(bytes);
}

/// A copy of `o` with member `name` set to `v` (table-driven claim and header cases).
inline boost::json::object with(boost::json::object o, std::string_view name,
                                boost::json::value v) {
  o[name] = std::move(v);
  return o;
}

/// A copy of `o` without member `name`.
inline boost::json::object without(boost::json::object o, std::string_view name) {
  o.erase(name);
  return o;
}

}  // namespace gatepass::test
