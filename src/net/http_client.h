// A small async HTTP/1.1 GET client on Boost.Beast for fetching discovery and JWKS documents:
// a total timeout, a body limit, no redirects, HTTPS with certificate and host-name
// verification (system CAs, or a CA file for private CAs); plain http only to loopback hosts.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "common/result.h"

namespace boost::asio {
class io_context;
}

namespace gatepass::net {

struct fetch_options {
  std::chrono::milliseconds timeout{1500};
  std::size_t max_body = 150 * 1024;
  std::string ca_file;  // empty: the system trust store
};

struct fetch_response {
  unsigned status = 0;
  std::string body;
  std::string cache_control;  // the Cache-Control header, verbatim
  std::string content_type;
};

/// GETs `url` (http:// to loopback, or https://). Completes exactly once on the io_context's
/// executor. Errors: net::errc::fetch_failed / fetch_too_large / fetch_redirect /
/// fetch_insecure / fetch_not_ok (a status other than 200), or the network error.
void async_fetch(boost::asio::io_context& ioc, const std::string& url, const fetch_options& opt,
                 std::function<void(result<fetch_response>)> done);

/// async_fetch on an io_context of its own, waited for (the command line's use).
result<fetch_response> fetch_now(const std::string& url, const fetch_options& opt);

/// Checks `url` as async_fetch would, without any network activity: {} when fetchable,
/// errc::fetch_insecure for plain http to a non-loopback host, errc::fetch_failed when it is
/// not an absolute http(s) URL (or carries user info).
std::error_code check_fetch_url(std::string_view url);

/// The freshness lifetime from a Cache-Control value (RFC 9111 §5.2.2): s-maxage, else
/// max-age (first occurrence; a malformed value is ignored); 0s for no-store / no-cache
/// (the caller's minimum then applies); nullopt when neither is present.
std::optional<std::chrono::seconds> cache_max_age(std::string_view cache_control);

}  // namespace gatepass::net
