#include "gateway/field_names.h"

#include <algorithm>

namespace gatepass::gateway {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char ch) {
             return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch + 32) : ch;
           };
           return lower(x) == lower(y);
         });
}

}  // namespace

bool field_name_is(std::string_view name, std::string_view canonical) {
  if (name.size() != canonical.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    c = c == '_' ? '-' : (c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
    if (c != canonical[i]) return false;
  }
  return true;
}

std::string field_canonical(std::string_view name) {
  std::string n(name);
  for (auto& ch : n)
    ch = ch == '_' ? '-' : (ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch + 32) : ch);
  return n;
}

bool is_hop_by_hop(std::string_view name) {
  static constexpr std::string_view hop[] = {
      "connection", "keep-alive", "proxy-connection",    "te",
      "trailer",    "upgrade",    "proxy-authorization", "proxy-authenticate"};
  for (auto h : hop)
    if (iequals(name, h)) return true;
  return false;
}

bool spoofed_by_client(std::string_view name) {
  static constexpr std::string_view names[] = {"x-forwarded-for",     "x-forwarded-proto",
                                               "x-forwarded-host",    "forwarded",
                                               "x-forwarded-port",    "x-forwarded-prefix",
                                               "x-forwarded-server",  "x-forwarded-ssl",
                                               "x-forwarded-scheme",  "x-url-scheme",
                                               "front-end-https",     "x-real-ip",
                                               "true-client-ip",      "x-client-ip",
                                               "x-cluster-client-ip", "x-original-url",
                                               "x-rewrite-url",       "x-original-uri",
                                               "x-original-method",   "x-forwarded-uri",
                                               "x-forwarded-method",  "x-http-method-override",
                                               "x-http-method",       "x-method-override"};
  for (const auto n : names)
    if (field_name_is(name, n)) return true;
  return false;
}

bool field_name_valid(std::string_view name) {
  static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           extra.find(ch) != std::string_view::npos;
  });
}

bool field_name_reserved(std::string_view name) {
  static constexpr std::string_view own[] = {
      "host", "expect", "authorization", "content-length", "transfer-encoding", "cookie"};
  for (const auto n : own)
    if (field_name_is(name, n)) return true;
  return is_hop_by_hop(field_canonical(name)) ||
         (name.size() >= 11 && field_name_is(name.substr(0, 11), "x-gatepass-")) ||
         spoofed_by_client(name);
}

}  // namespace gatepass::gateway
