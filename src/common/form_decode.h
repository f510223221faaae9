// application/x-www-form-urlencoded decoding of one name or value: "%XX" escapes and '+' as a
// space (the HTML form rule RFC 6749 and query strings rely on). form_decode keeps a malformed
// escape as written; form_decode_strict refuses it (a malformed request, RFC 6749 §5.2).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gatepass {

namespace detail {
// Decodes `s`; `malformed` is set when a '%' is not followed by two hex digits (kept as written).
inline std::string form_decode(std::string_view s, bool& malformed) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      malformed = malformed || s[i] == '%';
      out.push_back(s[i]);
    }
  }
  return out;
}
}  // namespace detail

inline std::string form_decode(std::string_view s) {
  bool malformed = false;
  return detail::form_decode(s, malformed);
}

/// The decoded text, or nullopt when an escape is malformed ("%ZZ", a trailing "%4").
inline std::optional<std::string> form_decode_strict(std::string_view s) {
  bool malformed = false;
  auto out = detail::form_decode(s, malformed);
  if (malformed) return std::nullopt;
  return out;
}

}  // namespace gatepass
