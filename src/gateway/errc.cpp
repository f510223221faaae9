#include "gateway/errc.h"

#include <string>

namespace gatepass::gateway {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "gateway"; }
  std::string message(int v) const override {
    switch (static_cast<errc>(v)) {
      case errc::path_invalid:
        return "malformed request path";
      case errc::path_encoded_slash:
        return "encoded slash or backslash in the path";
      case errc::path_nul:
        return "NUL in the path";
      case errc::route_not_found:
        return "no route matches";
      case errc::token_missing:
        return "no token in the request";
      case errc::token_bad_scheme:
        return "the Authorization header is not a Bearer token";
      case errc::token_multiple:
        return "more than one token in the request";
      case errc::jwks_unavailable:
        return "the issuer's signing keys are not available";
      case errc::scope_insufficient:
        return "the token lacks the scope the route requires";
      case errc::upstream_refused:
        return "the upstream refused the connection";
      case errc::upstream_timeout:
        return "the upstream did not answer in time";
      case errc::upstream_bad_response:
        return "the upstream sent an invalid response";
      case errc::discovery_issuer_mismatch:
        return "the discovery document's issuer differs from issuer_url";
      case errc::discovery_invalid:
        return "the discovery document has no usable jwks_uri";
      case errc::claim_not_header_safe:
        return "a claim forwarded as a header holds a control character or edge whitespace";
      case errc::forward_auth_ambiguous:
        return "the fields naming the original request disagree or repeat";
      case errc::forward_auth_incomplete:
        return "the fields naming the original request's method or URI are missing";
      case errc::method_refused:
        return "CONNECT and TRACE are not proxied";
      case errc::path_ambiguous:
        return "the path names another route with its parameters (;) than without them";
      case errc::path_encoded_twice:
        return "a dot, slash or backslash escaped twice (%252e) or as overlong UTF-8 (%C0%AE)";
    }
    return "unknown gateway error";
  }
};

}  // namespace

const std::error_category& gateway_category() noexcept {
  static const category c;
  return c;
}

}  // namespace gatepass::gateway
