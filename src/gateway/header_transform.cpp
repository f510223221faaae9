#include "gateway/header_transform.h"

#include <algorithm>
#include <array>
#include <boost/beast/core/string.hpp>

namespace gatepass::gateway {

namespace beast = boost::beast;
namespace http = beast::http;

bool host_value_ok(std::string_view host) {
  static constexpr auto allowed = [] {
    std::array<bool, 256> t{};
    for (unsigned char ch : std::string_view("-._~%!$&'()*+,;=:[]")) t[ch] = true;
    for (int ch = '0'; ch <= '9'; ++ch) t[static_cast<unsigned char>(ch)] = true;
    for (int ch = 'a'; ch <= 'z'; ++ch) t[static_cast<unsigned char>(ch)] = true;
    for (int ch = 'A'; ch <= 'Z'; ++ch) t[static_cast<unsigned char>(ch)] = true;
    return t;
  }();
  return std::all_of(host.begin(), host.end(),
                     [](char ch) { return allowed[static_cast<unsigned char>(ch)]; });
}

template <bool isRequest>
boost::container::small_vector<std::string_view, 8> connection_tokens(
    const head_parser<isRequest>& msg) {
  boost::container::small_vector<std::string_view, 8> out;
  for (const auto& f : msg.fields()) {
    if (f.name() != http::field::connection) continue;
    for (std::string_view conn = f.value(); !conn.empty();) {
      const auto comma = conn.find(',');
      auto tok = conn.substr(0, comma);
      while (!tok.empty() && (tok.front() == ' ' || tok.front() == '\t')) tok.remove_prefix(1);
      while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t')) tok.remove_suffix(1);
      if (!tok.empty()) out.push_back(tok);
      conn = comma == std::string_view::npos ? std::string_view() : conn.substr(comma + 1);
    }
  }
  return out;
}

template <bool isRequest>
bool only_chunked(const head_parser<isRequest>& msg) {
  int chunked = 0;
  for (const auto& f : msg.fields()) {
    if (f.name() != http::field::transfer_encoding) continue;
    for (std::string_view list = f.value(); !list.empty();) {
      const auto comma = list.find(',');
      auto coding = list.substr(0, std::min(comma, list.find(';')));
      while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t'))
        coding.remove_prefix(1);
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t'))
        coding.remove_suffix(1);
      if (!coding.empty()) {
        if (!beast::iequals(coding, "chunked")) return false;
        ++chunked;
      }
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
  }
  return chunked == 1;
}

// Message heads are written as one contiguous string: Beast's serializer
// walks its fields through a chain of buffer views, which cost a tenth of the request path.
void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ", 2);
  out.append(value);
  out.append("\r\n", 2);
}

template <bool isRequest>
void append_content_length(std::string& out, const head_parser<isRequest>& p) {
  if (const auto n = p.content_length()) {
    out.append("Content-Length: ");
    out.append(std::to_string(*n));
    out.append("\r\n", 2);
  }
}

void append_response_head(std::string& out, const head_parser<false>& rp, bool drop_te,
                          bool drop_cl) {
  out.append("HTTP/1.1 ", 9);
  out.append(std::to_string(rp.status()));
  out += ' ';
  out.append(rp.reason());
  out.append("\r\n", 2);
  const auto conn_tokens = connection_tokens(rp);
  for (const auto& f : rp.fields()) {
    // framing: the gateway's own, written below (a Connection field naming Transfer-Encoding
    // must not take it away from a body that goes on chunked)
    if (is_hop_by_hop(f.name_string()) || f.name() == http::field::transfer_encoding ||
        f.name() == http::field::content_length)
      continue;
    if (std::any_of(conn_tokens.begin(), conn_tokens.end(),
                    [&](std::string_view tok) { return beast::iequals(f.name_string(), tok); }))
      continue;
    append_field(out, f.name_string(), f.value());
  }
  if (!drop_te && rp.chunked()) out.append("Transfer-Encoding: chunked\r\n");
  if (!drop_cl) append_content_length(out, rp);
}

void append_upstream_request_head(std::string& out, const head_parser<true>& req,
                                  const upstream_request& u) {
  const auto conn_tokens = connection_tokens(req);
  auto dropped = [&](const head_parser<true>::field_view& f) {
    switch (f.name()) {
      case http::field::host:
      case http::field::expect:
        return true;
      case http::field::content_length:
      case http::field::transfer_encoding:
        // framing, sent below in one canonical spelling: the body goes on re-chunked, and an
        // upstream that reads "chunked;q=1" or "Chunked ," otherwise than Beast did could take
        // the chunks for a second request
        return true;
      case http::field::authorization:
        if (!u.forward_authorization) return true;
        break;
      default:
        break;
    }
    const auto name = f.name_string();
    if (is_hop_by_hop(name)) return true;
    // framing and hop-by-hop names spelled with '_' (Transfer_Encoding reaches CGI-style
    // servers as Transfer-Encoding does)
    if (name.find('_') != std::string_view::npos) {
      const auto canonical = field_canonical(name);
      if (is_hop_by_hop(canonical) || canonical == "content-length" ||
          canonical == "transfer-encoding" || canonical == "host" || canonical == "expect")
        return true;
    }
    // the fields set here, also spelled with '_' (see field_name_is)
    if (name.size() >= 11 && field_name_is(name.substr(0, 11), "x-gatepass-")) return true;
    if (spoofed_by_client(name)) return true;
    if (!u.forward_authorization && !u.token_field.empty() && field_name_is(name, u.token_field))
      return true;
    for (const auto tok : conn_tokens)
      if (beast::iequals(name, tok)) return true;
    for (const auto& claim_header : u.claim_header_names)
      if (field_name_is(name, claim_header)) return true;
    return false;
  };
  out.append(req.method_string());
  out += ' ';
  out += u.base_path;
  out += u.path;
  if (!u.query.empty()) {
    out += '?';
    out.append(u.query);
  }
  out.append(" HTTP/1.1\r\n", 11);
  append_field(out, "Host", u.host_header);
  std::string_view xff;
  for (const auto& f : req.fields()) {
    if (dropped(f)) {
      if (xff.empty() && beast::iequals(f.name_string(), "x-forwarded-for")) xff = f.value();
      continue;
    }
    append_field(out, f.name_string(), f.value());
  }
  if (req.chunked()) out.append("Transfer-Encoding: chunked\r\n");
  append_content_length(out, req);
  out.append("X-Forwarded-For: ");
  if (!xff.empty()) {
    out.append(xff);
    out.append(", ");
  }
  out.append(u.remote);
  out.append("\r\n");
  append_field(out, "X-Forwarded-Proto", u.tls ? "https" : "http");
  if (!u.original_host.empty()) append_field(out, "X-Forwarded-Host", u.original_host);
  out.append(u.claim_lines);
  out.append("\r\n", 2);
}

template boost::container::small_vector<std::string_view, 8> connection_tokens(
    const head_parser<true>&);
template boost::container::small_vector<std::string_view, 8> connection_tokens(
    const head_parser<false>&);
template bool only_chunked(const head_parser<true>&);
template bool only_chunked(const head_parser<false>&);
template void append_content_length(std::string&, const head_parser<true>&);
template void append_content_length(std::string&, const head_parser<false>&);

}  // namespace gatepass::gateway
