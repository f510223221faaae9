// Plain request/response values for pure handlers (handle_request(req) -> response): they test
// without sockets and keep Beast out of every file but the session code.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatepass::net {

struct http_request {
  std::string method;  // "GET", "POST", …
  std::string target;  // origin-form, e.g. "/oauth2/token?x=1"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_address;

  /// First value of a header, case-insensitive name; empty when absent.
  std::string_view header(std::string_view name) const noexcept;
  /// How many fields have this name (any case).
  std::size_t header_count(std::string_view name) const noexcept;
  /// The path part of target (before '?').
  std::string_view path() const noexcept;
};

struct http_response {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  http_response& set(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  std::string_view header(std::string_view name) const noexcept;
};

/// {"message": …} JSON response with the given status.
http_response json_response(unsigned status, std::string body);

}  // namespace gatepass::net
