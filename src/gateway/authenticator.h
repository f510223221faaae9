// One configured authorizer: token extraction from its identity source and the AWS JWT
// authorizer's decision — a pure function of (token, keys, route, config, now) around a
// verified-token cache. Check order: keys loaded → cache → jose::verify_jwt (signature, iss,
// exp/nbf/iat, aud, typ) → route scopes.
#pragma once

#include <atomic>
#include <boost/beast/http/field.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/result.h"
#include "gateway/config.h"
#include "gateway/token_cache.h"
#include "jose/key_set.h"
#include "jose/verifier.h"

namespace gatepass::gateway {

class jwks_cache;

/// Every place a token could be in a request, as the session found them.
struct token_sources {
  std::vector<std::string_view> header_values;  // values of the identity header
  std::vector<std::string_view> query_values;   // values of the identity query parameter
  bool other_location = false;  // a token also sits elsewhere (access_token query, Authorization)
};

struct decision {
  unsigned status = 401;  // 200, 401 or 403
  std::error_code reason;
  std::shared_ptr<const verified_entry> token;
  bool cache_hit = false;
  bool refetching = false;  // kid unknown and a JWKS refetch is running: worth one retry
  // when refetching: the key set this decision saw (the retry waits until the set differs)
  std::shared_ptr<const jose::key_set> seen;
};

class authenticator {
 public:
  authenticator(authorizer_config cfg, std::shared_ptr<jwks_cache> jwks, std::size_t cache_entries,
                std::size_t max_token_bytes, std::size_t cache_bytes = token_cache::default_bytes);

  /// The token from the identity source: "Bearer " prefix optional; errors token_missing,
  /// token_bad_scheme, token_multiple.
  result<std::string_view> extract(const token_sources& src) const;

  decision authorize(std::string_view token, const route_config& route, std::int64_t now) const;

  /// The same decision against an explicit key set (no cache, no refetch): the pure core.
  static decision decide(std::string_view token, const jose::key_set& keys,
                         const jose::verify_options& opt, const authorizer_config& cfg,
                         const route_config& route, std::int64_t now,
                         std::shared_ptr<verified_entry>* built = nullptr);

  const authorizer_config& config() const noexcept { return cfg_; }
  const std::shared_ptr<jwks_cache>& jwks() const noexcept { return jwks_; }
  std::uint64_t cache_hits() const noexcept { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t cache_misses() const noexcept { return misses_.load(std::memory_order_relaxed); }
  /// "header" or "query"
  bool from_header() const noexcept { return from_header_; }
  const std::string& source_name() const noexcept { return source_name_; }
  /// The identity header as Beast's enum (unknown: compare source_name()).
  boost::beast::http::field source_field() const noexcept { return source_field_; }
  /// The identity header's name as field_name_is compares (lower case, '-'): a header source.
  const std::string& source_canonical() const noexcept { return source_canonical_; }

 private:
  authorizer_config cfg_;
  std::shared_ptr<jwks_cache> jwks_;
  jose::verify_options opt_;
  mutable token_cache cache_;
  bool from_header_ = true;
  std::string source_name_;
  std::string source_canonical_;
  boost::beast::http::field source_field_ = boost::beast::http::field::unknown;
  mutable std::atomic<std::uint64_t> hits_{0}, misses_{0};
};

/// A cached token's claim headers as (name, value) pairs.
std::vector<std::pair<std::string, std::string>> header_pairs(const verified_entry& e);

/// True when `granted` satisfies the route's scopes (any, or all with scopes_all).
bool scopes_satisfied(const std::vector<std::string>& granted, const route_config& route);

/// Builds the claim headers forwarded upstream: X-Gatepass-Sub, X-Gatepass-Scopes,
/// X-Gatepass-Claims (base64url JSON), and the configured claim → header mappings
/// (nested paths with '.', arrays joined with ','). A value that a header cannot carry
/// unchanged (a control character, or whitespace at an end, which parsers trim) refuses the
/// token (claim_not_header_safe): altered, "ad\r\nmin" would reach the upstream as "admin".
result<std::vector<std::pair<std::string, std::string>>> claim_headers(
    const boost::json::object& claims, const std::vector<std::string>& scopes,
    const authorizer_config& cfg);

}  // namespace gatepass::gateway
