// JWT claims policy (RFC 7519 §4.1, RFC 9068 §4, RFC 8725 §3.8-3.11): exact iss, aud any-of,
// exp required, nbf/iat with bounded leeway, optional typ; scopes exposed as a set.
#pragma once

#include <array>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/result.h"
#include "jose/json.h"

namespace gatepass::jose {

struct claims_policy {
  std::optional<std::string> issuer;   // exact, byte-for-byte
  std::vector<std::string> audiences;  // any one must appear in aud; empty = not checked
  // AWS's JWT authorizer: a token without aud passes when its client_id is one of the
  // audiences (Cognito access tokens carry client_id, not aud). Off: aud is required.
  bool client_id_for_missing_aud = false;
  std::int64_t leeway = 60;  // seconds, for exp, nbf and iat
  bool require_exp = true;
  std::optional<std::string> typ;  // e.g. "at+jwt"; compared as a media type
};

/// The claims the policy reads, in the order validate_claims_and_scopes expects them from
/// json_scanner.
inline constexpr std::array<std::string_view, 10> registered_claim_names{
    "iss", "sub", "jti", "exp", "nbf", "iat", "aud", "scope", "scp", "client_id"};

/// Checks the registered claims against `policy` at wall-clock time `now` (seconds).
std::error_code validate_claims(const boost::json::object& claims, const claims_policy& policy,
                                std::int64_t now);

/// RFC 7515 §4.1.9 media type compare: case-insensitive, "application/" optional.
bool typ_matches(std::string_view actual, std::string_view expected) noexcept;

/// The granted scopes from "scope" (space-separated string, RFC 9068/8693) and "scp"
/// (string or array, as Azure AD and Okta issue it), sorted and unique.
result<std::vector<std::string>> scopes_of(const boost::json::object& claims);

/// validate_claims, then scopes_of, finding the registered claims once: the verifier's path.
result<std::vector<std::string>> validate_claims_and_scopes(const boost::json::object& claims,
                                                            const claims_policy& policy,
                                                            std::int64_t now);

/// The same over the members json_scanner found for registered_claim_names: the verifier's
/// path, which never builds the claims tree.
result<std::vector<std::string>> validate_claims_and_scopes(
    std::span<const scanned_member, registered_claim_names.size()> claims,
    const claims_policy& policy, std::int64_t now);

}  // namespace gatepass::jose
