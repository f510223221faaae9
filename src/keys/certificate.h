// Self-signed X.509 certificates for JWKS x5c (RFC 7517 §4.7): a real certificate over the
// key, never a bare key dressed as one.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "jose/jwk.h"

namespace gatepass::keys {

/// DER of a self-signed v3 certificate for `key` (private), subject CN=<subject>, valid from
/// `not_before` for `days`.
result<std::string> self_signed_certificate(const jose::jwk& key, const std::string& subject,
                                            std::int64_t not_before, int days = 3650);

/// A DER certificate as PEM text and back (how the stores keep x5c); empty on malformed input.
std::string der_to_pem_cert(const std::string& der);
std::string pem_cert_to_der(const std::string& pem);

}  // namespace gatepass::keys
