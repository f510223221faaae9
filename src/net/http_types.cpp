#include "net/http_types.h"

namespace gatepass::net {

namespace {

bool iequal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

}  // namespace

std::string_view http_request::header(std::string_view name) const noexcept {
  for (const auto& [n, v] : headers)
    if (iequal(n, name)) return v;
  return {};
}

std::size_t http_request::header_count(std::string_view name) const noexcept {
  std::size_t n = 0;
  for (const auto& h : headers) n += iequal(h.first, name) ? 1 : 0;
  return n;
}

std::string_view http_request::path() const noexcept {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view http_response::header(std::string_view name) const noexcept {
  for (const auto& [n, v] : headers)
    if (iequal(n, name)) return v;
  return {};
}

http_response json_response(unsigned status, std::string body) {
  http_response r;
  r.status = status;
  r.set("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

}  // namespace gatepass::net
