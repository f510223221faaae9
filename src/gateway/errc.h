// Error domain of the gateway: request shape, token extraction, authorization, upstreams.
// Each maps to one HTTP status at the edge (status_of).
#pragma once

#include <system_error>

namespace gatepass::gateway {

enum class errc {
  path_invalid = 1,           // malformed percent-encoding or not an absolute path → 400
  path_encoded_slash,         // %2F or %5C in the path → 400
  path_nul,                   // NUL (%00) in the path → 400
  route_not_found,            // no route matches → 404
  token_missing,              // no token in the identity source → 401
  token_bad_scheme,           // Authorization is not "Bearer <token>" → 401
  token_multiple,             // tokens in two places (header and query, or twice) → 401
  jwks_unavailable,           // the issuer's keys have never been loaded → 401 (with reason)
  scope_insufficient,         // none (or not all) of the route's scopes granted → 403
  upstream_refused,           // connection to the upstream failed → 502
  upstream_timeout,           // the upstream did not answer in time → 504
  upstream_bad_response,      // the upstream sent something that is not HTTP → 502
  discovery_issuer_mismatch,  // discovery "issuer" differs from issuer_url
  discovery_invalid,          // discovery document without a usable jwks_uri
  claim_not_header_safe,      // a claim forwarded as a header cannot be one unchanged → 401
  forward_auth_ambiguous,     // forward-auth fields naming the original request disagree → 400
  forward_auth_incomplete,    // forward-auth request names no original method or URI → 400
  method_refused,             // CONNECT (no tunnels) → 400, TRACE (echoes credentials) → 405
  path_ambiguous,             // another route with the path's ';' parameters than without → 400
  path_encoded_twice,         // '.', '/' or '\' escaped twice (%252e) or as overlong UTF-8 → 400
};

const std::error_category& gateway_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), gateway_category()};
}

}  // namespace gatepass::gateway

template <>
struct std::is_error_code_enum<gatepass::gateway::errc> : std::true_type {};
