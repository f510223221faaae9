// The published documents: OpenID Connect Discovery 1.0 §3 / RFC 8414 metadata and the JWKS
// (RFC 7517 §5) with x5c and x5t#S256. Same bytes whether served or written by `publish`.
#pragma once

#include <string>
#include <vector>

#include "issuer/config.h"
#include "keys/key_manager.h"

namespace gatepass::issuer {

/// issuer URL + path, without doubling a slash.
std::string join_url(const std::string& base, const std::string& path);

/// Discovery metadata; id_token_signing_alg_values_supported lists `signing_algs` (the
/// configured algorithm, then those of the published keys).
std::string discovery_document(const config::issuer_section& issuer,
                               const std::vector<std::string>& signing_algs);
std::string jwks_document(const keys::key_ring& ring);
/// Strong ETag of a document: "\"<base64url sha-256, 22 chars>\"".
std::string etag_of(const std::string& body);

}  // namespace gatepass::issuer
