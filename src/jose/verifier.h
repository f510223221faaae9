// The JWT verifier: a pure function of (token, keys, options, now). Checks in one fixed order,
// cheapest first: size → structure → header → alg allowed → typ → claims JSON → key by kid →
// signature → iss → sub/jti → exp/nbf/iat → aud → scopes parse.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <optional>
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

/// What a successful verification yields. The header and claims are kept as the JSON text the
/// token carried (checked as strictly as parse_json_object checks, so it always parses); the
/// verifier itself reads the registered claims without building a tree, and header() and
/// claims() build one on each call for whoever wants the rest.
struct verified_token {
  alg algorithm = alg::rs256;
  std::string kid;
  std::vector<std::string> scopes;  // sorted, unique
  std::optional<double> exp;        // NumericDate; absent only when the policy allows it

  verified_token() = default;
  verified_token(std::string json_text, std::size_t header_size)
      : json_text_(std::move(json_text)), header_size_(header_size) {}

  std::string_view header_json() const noexcept {
    return std::string_view(json_text_).substr(0, header_size_);
  }
  std::string_view claims_json() const noexcept {
    return std::string_view(json_text_).substr(header_size_);
  }
  boost::json::object header() const;
  boost::json::object claims() const;

 private:
  std::string json_text_;  // the header's JSON text, then the claims'
  std::size_t header_size_ = 0;
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
