// Error domain of the shared HTTP plumbing: fetching documents (JWKS, discovery) over HTTP(S).
#pragma once

#include <system_error>

namespace gatepass::net {

enum class errc {
  fetch_failed = 1,  // the URL cannot be fetched (not an absolute http(s) URL, TLS setup)
  fetch_too_large,   // the fetched document is larger than the limit
  fetch_redirect,    // redirects are never followed
  fetch_insecure,    // plain http to a non-loopback host
  fetch_not_ok,      // the server answered, with a status other than 200
};

const std::error_category& net_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), net_category()};
}

}  // namespace gatepass::net

template <>
struct std::is_error_code_enum<gatepass::net::errc> : std::true_type {};
