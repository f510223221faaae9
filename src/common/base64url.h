// Strict base64url (RFC 4648 §5) as JWS requires (RFC 7515 §2): no padding, no whitespace,
// no '+' or '/', and canonical trailing bits.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace gatepass {

/// The decoded size of `n` base64url characters; exact for any input that decodes.
constexpr std::size_t base64url_decoded_size(std::size_t n) noexcept {
  return n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
}

/// Decodes `in` into `out`, which has room for base64url_decoded_size(in.size()) octets; false
/// (and `out` unspecified) on any non-canonical input. For callers that decode into their own
/// buffers on a hot path.
bool base64url_decode(std::string_view in, char* out) noexcept;
/// Decodes `in` into `out`; false (and `out` unspecified) on any non-canonical input.
bool base64url_decode(std::string_view in, std::string& out);
std::optional<std::string> base64url_decode(std::string_view in);

std::string base64url_encode(std::string_view bytes);
void base64url_encode_append(std::string_view bytes, std::string& out);

}  // namespace gatepass
