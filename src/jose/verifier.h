// The JWT verifier: a pure function of (token, keys, options, now). Checks in one fixed order,
// cheapest first: size → structure → header → alg allowed → typ → claims JSON → key by kid →
// signature → iss → sub/jti → exp/nbf/iat → aud → scopes parse.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "jose/claims.h"
#include "jose/jws.h"
#include "jose/key_set.h"

namespace gatepass::jose {

struct verify_options {
  jws_limits limits;
  claims_policy claims;
  std::vector<alg> algorithms;  // allow-list; empty = whatever the key pins
};

/// header and claims share one arena per token (make_token_storage), freed with the last of
/// them; it never reuses memory, so a long-lived, heavily edited copy belongs in its own storage.
struct verified_token {
  boost::json::object header;
  boost::json::object claims;
  alg algorithm = alg::rs256;
  std::string kid;
  std::vector<std::string> scopes;  // sorted, unique
};

class verifier {
 public:
  verifier(std::shared_ptr<const key_set> keys, verify_options options)
      : keys_(std::move(keys)), options_(std::move(options)) {}

  result<verified_token> verify(std::string_view token, std::int64_t now) const;

  const verify_options& options() const noexcept { return options_; }
  const key_set& keys() const noexcept { return *keys_; }

 private:
  std::shared_ptr<const key_set> keys_;
  verify_options options_;
};

/// One-shot form of verifier::verify.
result<verified_token> verify_jwt(std::string_view token, const key_set& keys,
                                  const verify_options& options, std::int64_t now);

}  // namespace gatepass::jose
