#include "net/fetch_target.h"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>

#include "net/errc.h"
#include "net/http_client.h"

namespace gatepass::net {

namespace urls = boost::urls;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

result<fetch_target> parse_target(std::string_view url) {
  auto u = urls::parse_uri(url);
  if (!u) return errc::fetch_failed;
  fetch_target t;
  if (u->scheme_id() == urls::scheme::https)
    t.tls = true;
  else if (u->scheme_id() != urls::scheme::http)
    return errc::fetch_failed;
  // Credentials in a key URL would be sent in clear text to logs; a percent-encoded host has
  // no business in a configured URL.
  if (u->has_userinfo() || u->encoded_host().find('%') != urls::pct_string_view::npos)
    return errc::fetch_failed;
  bool loopback = false;
  switch (u->host_type()) {
    case urls::host_type::ipv4:
      t.host_is_ip = true;
      loopback = u->host_ipv4_address().is_loopback();  // 127.0.0.0/8
      break;
    case urls::host_type::ipv6:
      t.host_is_ip = true;
      loopback = u->host_ipv6_address().is_loopback();  // ::1
      break;
    case urls::host_type::name:
      loopback = iequals(u->encoded_host(), "localhost");
      break;
    default:
      return errc::fetch_failed;
  }
  t.host = u->host_address();
  if (t.host.empty()) return errc::fetch_failed;
  if (!t.tls && !loopback) return errc::fetch_insecure;
  t.loopback_only = !t.tls;
  if (u->has_port()) {
    if (u->port().empty() || u->port_number() == 0) return errc::fetch_failed;
    t.port = std::to_string(u->port_number());
  } else {
    t.port = t.tls ? "443" : "80";
  }
  t.host_header = std::string(u->encoded_host_and_port());
  t.path = u->encoded_path().empty() ? "/" : std::string(u->encoded_path());
  if (u->has_query()) t.path += "?" + std::string(u->encoded_query());
  return t;
}

std::error_code check_fetch_url(std::string_view url) {
  auto t = parse_target(url);
  return t ? std::error_code{} : t.error();
}

}  // namespace gatepass::net
