#include "issuer/token_service.h"

#include <openssl/rand.h>

#include <array>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include "common/base64url.h"
#include "jose/jws.h"
#include "keys/errc.h"

namespace gatepass::issuer {

namespace json = boost::json;

bool is_reserved_claim(std::string_view name) noexcept {
  static constexpr std::array<std::string_view, 10> reserved{
      "iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "scp"};
  for (auto r : reserved)
    if (r == name) return true;
  return false;
}

result<std::string> token_service::issue(const keys::key_ring& ring, const token_request& req,
                                         std::int64_t now) const {
  if (!ring.current) return keys::errc::store_not_initialized;
  for (const auto& kv : req.extra)
    if (is_reserved_claim(kv.key())) return std::make_error_code(std::errc::invalid_argument);
  const auto ttl = req.ttl.value_or(ttl_);
  const auto& aud = req.audience.empty() ? audience_ : req.audience;
  unsigned char rnd[16];
  if (RAND_bytes(rnd, sizeof rnd) != 1) return std::make_error_code(std::errc::io_error);

  json::object c;
  c["iss"] = issuer_;
  if (!req.sub.empty()) c["sub"] = req.sub;
  if (aud.size() == 1)
    c["aud"] = aud.front();
  else if (!aud.empty())
    c["aud"] = json::value_from(aud);
  c["exp"] = now + ttl;
  c["iat"] = now;
  c["nbf"] = now;
  c["jti"] = base64url_encode(std::string_view(reinterpret_cast<char*>(rnd), sizeof rnd));
  if (!req.client_id.empty()) c["client_id"] = req.client_id;
  if (!req.scopes.empty()) {
    std::string scope;
    for (const auto& s : req.scopes) scope += (scope.empty() ? "" : " ") + s;
    c["scope"] = scope;
  }
  for (const auto& kv : req.extra) c[kv.key()] = kv.value();
  json::object header;
  header["typ"] = "at+jwt";
  return jose::sign_compact(*ring.current, json::serialize(c), header);
}

}  // namespace gatepass::issuer
