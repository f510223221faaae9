// Strict base64url (RFC 4648 §5) as JWS requires (RFC 7515 §2): no padding, no whitespace,
// no '+' or '/', and canonical trailing bits.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gatepass {

/// Decodes `in` into `out`; false (and `out` unspecified) on any non-canonical input.
bool base64url_decode(std::string_view in, std::string& out);
std::optional<std::string> base64url_decode(std::string_view in);

std::string base64url_encode(std::string_view bytes);
void base64url_encode_append(std::string_view bytes, std::string& out);

}  // namespace gatepass
