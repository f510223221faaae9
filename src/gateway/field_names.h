// Field-name rules shared by the gateway's config checks and its head building: the names a
// client may not pass to an upstream, the ones meant for one hop only, and how CGI-style servers
// compare names. No Beast, no I/O.
#pragma once

#include <string>
#include <string_view>

namespace gatepass::gateway {

/// A field name against a lower-case, '-' spelled one as CGI and WSGI servers compare them:
/// case and '-' / '_' alike (X_Gatepass_Sub reaches them as HTTP_X_GATEPASS_SUB, as
/// X-Gatepass-Sub does; nginx drops such names by default for this reason).
bool field_name_is(std::string_view name, std::string_view canonical);

/// A field name as field_name_is compares it: lower case, '_' as '-'.
std::string field_canonical(std::string_view name);

/// Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade, Proxy-Authorization,
/// Proxy-Authenticate (RFC 9110 §7.6.1 and the fields proxies treat alike), any case.
bool is_hop_by_hop(std::string_view name);

/// A field a client may send but only a proxy may set, since upstreams act on it: the
/// X-Forwarded-* this gateway sets and their variants (Forwarded, X-Forwarded-Port/-Prefix/
/// -Server/-Ssl/-Scheme, X-Url-Scheme, Front-End-Https), client addresses (X-Real-IP,
/// True-Client-IP, X-Client-IP, X-Cluster-Client-IP), and the path and method overrides some
/// frameworks route by (X-Original-URL, X-Rewrite-URL, X-Original-URI, X-Original-Method,
/// X-Forwarded-Uri, X-Forwarded-Method, X-HTTP-Method-Override, X-HTTP-Method,
/// X-Method-Override), which would let a request authorized for one route act as another.
/// `name` as received; compared as field_name_is does.
bool spoofed_by_client(std::string_view name);

/// An RFC 9110 §5.1 field name: one or more tchar.
bool field_name_valid(std::string_view name);

/// A name the gateway sets, answers, frames the message with or drops itself (Host, Expect,
/// Authorization, Content-Length, Transfer-Encoding, Cookie, hop-by-hop fields, X-Gatepass-*,
/// spoofed_by_client's): not one a configured claim→header mapping may take.
bool field_name_reserved(std::string_view name);

}  // namespace gatepass::gateway
