// The message heads the gateway passes on, built as one contiguous string each: the request
// head for the upstream (DESIGN "Forwarding": hop-by-hop fields removed, client-sent claim and
// forwarding fields dropped, X-Forwarded-* and the claim headers set) and the response head
// for the client. Pure functions of a parsed head (head_parser) and a few facts; no I/O.
#pragma once

#include <boost/container/small_vector.hpp>
#include <span>
#include <string>
#include <string_view>

#include "gateway/field_names.h"
#include "gateway/head_parser.h"

namespace gatepass::gateway {

/// A Host value made only of what host[:port] may hold (RFC 3986 reg-name, IP literal, port;
/// no userinfo, path or spaces). Checked on every request, so a table, not a URI parser.
bool host_value_ok(std::string_view host);

/// The field names a message's Connection fields list (all of them, however many): those fields
/// are meant for this hop only and are not passed on (RFC 9110 §7.6.1).
template <bool isRequest>
boost::container::small_vector<std::string_view, 8> connection_tokens(
    const head_parser<isRequest>& msg);

/// Whether a message's Transfer-Encoding fields (all of them) name chunked and no other coding
/// (parameters aside): the gateway re-chunks bodies and writes "chunked" alone, so any other
/// coding ("gzip, chunked") would be dropped from the bytes' description. False without any.
template <bool isRequest>
bool only_chunked(const head_parser<isRequest>& msg);

/// "Name: value\r\n".
void append_field(std::string& out, std::string_view name, std::string_view value);

/// "Content-Length: n\r\n" for a message that has one. A length sent as a list of equal values
/// or in equal repeated fields ("3, 3"), which Beast accepts (RFC 9110 §8.6 lets a recipient
/// take it as the one value), goes on as that one value: a next hop reading it otherwise (the
/// first of two fields, or the whole as invalid) never frames the body differently.
template <bool isRequest>
void append_content_length(std::string& out, const head_parser<isRequest>& p);

/// What the upstream's request head is built from, besides the client's head.
struct upstream_request {
  std::string_view base_path;      // the upstream URL's path, before the request's
  std::string_view path;           // normalized (normalize_path)
  std::string_view query;          // as received, without '?'
  std::string_view host_header;    // Host for the upstream (its authority)
  std::string_view original_host;  // the client's Host, or an absolute-form target's authority
  std::string_view remote;         // the client's address, appended to X-Forwarded-For
  bool tls = false;                // the client came over TLS (X-Forwarded-Proto)
  // false: the field holding the token (Authorization, or the identity source's header) stays
  // here (a query parameter holding it is taken out of `query` by the caller)
  bool forward_authorization = true;
  std::string_view token_field;  // the identity source's header name when not Authorization
  // configured claim→header names of every authorizer, lower-case and '-' spelled (as
  // build_state makes them): compared with field_name_is
  std::span<const std::string> claim_header_names;
  std::string_view claim_lines;  // the verified token's X-Gatepass-* and claim header lines
};

/// The whole request head for the upstream, blank line included. Never passed on: hop-by-hop
/// fields and any a Connection field names; Host and Expect (set or answered here);
/// X-Gatepass-* and the configured claim header names; what a client says about this hop
/// (spoofed_by_client); the token's field when not forwarded; all also '_' spelled (see
/// field_name_is). The framing goes in one spelling ("Transfer-Encoding: chunked" for a
/// chunked body, which goes re-chunked; Content-Length as one value). A client's X-Forwarded-For
/// starts the list its address is appended to, as nginx's $proxy_add_x_forwarded_for, Envoy and AWS
/// do (an upstream trusts the entries its proxies added: the last ones).

void append_upstream_request_head(std::string& out, const head_parser<true>& req,
                                  const upstream_request& u);
void append_upstream_request_head(std::string& out, const head_parser<true>& req,
                                  const upstream_request& u);

/// The status line and the fields of an upstream answer that go on to the client (without the
/// blank line that ends a head): not the hop-by-hop ones, nor those its Connection fields name
/// (RFC 9110 §7.6.1), nor Transfer-Encoding or Content-Length when asked to drop them; a
/// Content-Length goes as one value.
void append_response_head(std::string& out, const head_parser<false>& rp, bool drop_te,
                          bool drop_cl);

}  // namespace gatepass::gateway
