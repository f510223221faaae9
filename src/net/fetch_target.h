// What a fetch needs from its URL, checked before any network activity: one parser for the
// client and for the config check (Boost.URL only, no Asio or Beast).
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace gatepass::net {

struct fetch_target {
  bool tls = false;
  std::string host;  // for the resolver and certificate checks: no brackets, decoded
  bool host_is_ip = false;
  bool loopback_only = false;  // plain http: connect only to loopback addresses
  std::string port;
  std::string host_header;
  std::string path;  // origin-form target: path and query, never the fragment
};

/// errc::fetch_failed when `url` is not an absolute http(s) URL (or carries user info),
/// errc::fetch_insecure for plain http to a non-loopback host.
result<fetch_target> parse_target(std::string_view url);

}  // namespace gatepass::net
