// Query-string parameters as the upstream's parsers will read them: names compared the way
// common server-side parsers decode and fold them, values decoded, and a query with one
// parameter taken out. Pure functions; used by the gateway's token extraction (one token, in one
// place) and by forward_authorization: false.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gatepass::gateway {

/// Whether a query parameter's name is `name` to any common server-side parser: decoded
/// ("%74oken", RFC 3986 §2.1), case folded (ASP.NET), leading spaces dropped and ' ', '.', '['
/// read as '_' (PHP). A name that one of them reads as the token's would slip a second token
/// past the one-token check.
bool query_name_is(std::string_view raw, std::string_view name);

/// The values of every parameter named `name` (see query_name_is), form-decoded; '&' and ';'
/// both separate parameters, as some parsers (Rack, older Python) split on either.
std::vector<std::string> query_values(std::string_view query, std::string_view name);

/// The query without the parameters named `name` (see query_name_is); the others keep their
/// order and the separators before them.
std::string query_without(std::string_view query, std::string_view name);

}  // namespace gatepass::gateway
