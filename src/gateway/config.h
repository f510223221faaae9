// The gateway: section of gatepass.yaml, field for field. Mirrors serverless.yml's httpApi
// (authorizers + routes) so its users recognise it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace YAML {
class Node;
}

namespace gatepass::config {
class reader;
}

namespace gatepass::gateway {

struct authorizer_config {
  std::string name;
  std::string identity_source = "$request.header.Authorization";  // or $request.querystring.NAME
  std::string issuer_url;
  std::vector<std::string> audience;
  std::vector<std::string> algorithms;  // empty: whatever each key pins
  std::int64_t leeway = 60;
  std::string typ;  // e.g. at+jwt; empty: not checked
  std::int64_t jwks_min_ttl = 60;
  std::int64_t jwks_max_ttl = 3600;
  std::int64_t refetch_cooldown = 30;
  std::string ca_file;                // private CA for the issuer's https
  bool forward_authorization = true;  // pass Authorization upstream (as AWS does)
  std::vector<std::pair<std::string, std::string>> claims_to_headers;  // header → claim path
  bool operator==(const authorizer_config&) const = default;
};

struct route_config {
  std::string method = "ANY";
  std::string path;        // template or "$default"
  std::string authorizer;  // empty: public route
  std::vector<std::string> scopes;
  bool scopes_all = false;  // scopes_match: all (default any, as AWS)
  std::string upstream;     // http(s)://host:port[/base]; empty: forward-auth only
  int line = 0;
};

struct limits_config {
  std::size_t max_header_bytes = 16 * 1024;  // → 431
  std::size_t max_url_bytes = 8 * 1024;      // → 414
  std::size_t max_token_bytes = 16 * 1024;
  std::size_t max_body_bytes = 10 * 1024 * 1024;  // → 413
  std::int64_t read_timeout = 10;                 // seconds to receive a request header
  std::int64_t idle_timeout = 60;                 // keep-alive idle
  std::int64_t upstream_connect_timeout = 2;      // → 504 (a refused connection: 502)
  std::int64_t upstream_timeout = 30;             // response header wait → 504
  std::size_t max_connections = 20000;
  std::size_t token_cache_entries = 100000;
  std::size_t token_cache_bytes = 64 * 1024 * 1024;  // tokens and their claims, per authorizer
};

struct tls_config {
  std::string cert_file;
  std::string key_file;
};

struct gateway_config {
  std::string listen = "0.0.0.0:8080";
  std::string admin_listen;  // empty: /healthz /readyz /metrics on listen
  unsigned threads = 0;      // 0: one event loop per core
  std::string forward_auth_path = "/_gatepass/auth";
  bool access_log = true;
  std::map<std::string, authorizer_config> authorizers;
  std::vector<route_config> routes;
  limits_config limits;
  tls_config tls;
  std::string upstream_ca_file;
};

/// An identity source's parts: a header's or a query parameter's NAME; nullopt when the source
/// is neither "$request.header.NAME" nor "$request.querystring.NAME".
struct identity_source_parts {
  bool header;
  std::string name;
};
std::optional<identity_source_parts> parse_identity_source(std::string_view source);

/// Parses the gateway: node, adding every problem to `r`.
gateway_config parse_gateway(const YAML::Node& node, config::reader& r);

}  // namespace gatepass::gateway
