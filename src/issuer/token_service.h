// Issues RFC 9068 access tokens: header {alg, typ "at+jwt", kid}; claims iss, sub, aud, exp,
// iat, nbf, jti (random), client_id, scope, plus custom claims that may not override those.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "keys/key_manager.h"

namespace gatepass::issuer {

struct token_request {
  std::string sub;
  std::string client_id;
  std::vector<std::string> scopes;
  std::vector<std::string> audience;  // empty: the issuer's default
  std::optional<std::int64_t> ttl;    // seconds; empty: the issuer's default
  boost::json::object extra;          // custom claims
};

/// True for the claims only token_service sets (iss, sub, aud, exp, iat, nbf, jti,
/// client_id, scope, scp).
bool is_reserved_claim(std::string_view name) noexcept;

class token_service {
 public:
  token_service(std::string issuer_url, std::vector<std::string> default_audience,
                std::int64_t default_ttl)
      : issuer_(std::move(issuer_url)), audience_(std::move(default_audience)), ttl_(default_ttl) {}

  /// Signs with the ring's current key. A custom claim named like a registered one is refused
  /// (std::errc::invalid_argument).
  result<std::string> issue(const keys::key_ring& ring, const token_request& req,
                            std::int64_t now) const;

  const std::string& issuer() const noexcept { return issuer_; }
  std::int64_t default_ttl() const noexcept { return ttl_; }

 private:
  std::string issuer_;
  std::vector<std::string> audience_;
  std::int64_t ttl_;
};

}  // namespace gatepass::issuer
