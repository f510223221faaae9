// An immutable set of trusted keys (a JWKS, RFC 7517 §5). Bad keys are dropped with their
// reason and the rest stays usable. Shared as std::shared_ptr<const key_set>, swapped whole.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "jose/jwk.h"

namespace gatepass::jose {

struct dropped_key {
  std::size_t index;  // position in the "keys" array
  std::string kid;    // empty when absent or unreadable
  std::error_code reason;
};

class key_set {
 public:
  key_set() = default;
  /// Parses a JWKS document. Fails only when the document itself is unusable (not JSON,
  /// no "keys" array); each bad key is dropped and listed in dropped().
  static result<key_set> parse(std::string_view jwks_json, const jwk_parse_options& opt = {});
  static key_set parse(const boost::json::object& jwks, const jwk_parse_options& opt = {});
  /// Builds a set from keys already validated, applying the same set rules
  /// (duplicate kid, mixed symmetric/asymmetric keys).
  static key_set from_keys(std::vector<jwk> keys);

  const std::vector<jwk>& keys() const noexcept { return keys_; }
  const std::vector<dropped_key>& dropped() const noexcept { return dropped_; }
  bool empty() const noexcept { return keys_.empty(); }

  /// The key for a token: by exact kid; without kid only when the set has one key.
  result<const jwk*> select(std::optional<std::string_view> kid) const;

  /// {"keys":[public JWKs]}
  boost::json::object to_json() const;

 private:
  void add_all(std::vector<std::pair<std::size_t, jwk>> candidates);
  std::vector<jwk> keys_;
  std::vector<dropped_key> dropped_;
};

}  // namespace gatepass::jose
