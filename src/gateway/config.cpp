#include "gateway/config.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <set>

#include "common/yaml_reader.h"
#include "gateway/field_names.h"
#include "gateway/route_matcher.h"
#include "jose/algorithm.h"
#include "net/errc.h"
#include "net/http_client.h"

namespace gatepass::gateway {

std::optional<identity_source_parts> parse_identity_source(std::string_view source) {
  for (const auto& [prefix, header] :
       {std::pair<std::string_view, bool>{"$request.header.", true},
        std::pair<std::string_view, bool>{"$request.querystring.", false}})
    if (source.substr(0, prefix.size()) == prefix)
      return identity_source_parts{header, std::string(source.substr(prefix.size()))};
  return std::nullopt;
}

namespace {

bool valid_upstream(const std::string& u) {
  return u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0;
}

}  // namespace

gateway_config parse_gateway(const YAML::Node& g, config::reader& r) {
  gateway_config c;
  if (!g.IsMap()) {
    r.problem(g, "gateway", "expected a mapping");
    return c;
  }
  r.known_keys(g, "gateway.",
               {"listen", "admin_listen", "threads", "forward_auth_path", "access_log",
                "authorizers", "routes", "limits", "tls", "upstream_ca_file"});
  c.listen = r.listen(g["listen"], "gateway.listen", c.listen);
  c.admin_listen = r.listen(g["admin_listen"], "gateway.admin_listen");
  if (g["threads"]) {
    const auto n = config::whole_number(r.str(g["threads"], "gateway.threads"));
    if (n && *n <= 256)
      c.threads = static_cast<unsigned>(*n);
    else
      r.problem(g["threads"], "gateway.threads", "expected a number 0-256 (0: one per core)");
  }
  c.forward_auth_path =
      r.str(g["forward_auth_path"], "gateway.forward_auth_path", c.forward_auth_path);
  if (c.forward_auth_path.empty() || c.forward_auth_path[0] != '/')
    r.problem(g["forward_auth_path"], "gateway.forward_auth_path", "must start with /");
  c.access_log = r.boolean(g["access_log"], "gateway.access_log", c.access_log);
  c.upstream_ca_file = r.str(g["upstream_ca_file"], "gateway.upstream_ca_file");

  if (const auto l = g["limits"]; l && r.mapping(l, "gateway.limits")) {
    r.known_keys(l, "gateway.limits.",
                 {"max_header_bytes", "max_url_bytes", "max_token_bytes", "max_body_bytes",
                  "read_timeout", "idle_timeout", "upstream_connect_timeout", "upstream_timeout",
                  "max_connections", "token_cache_entries", "token_cache_bytes"});
    auto size = [&](const char* name, std::size_t& out) {
      if (!l[name]) return;
      const std::string field = std::string("gateway.limits.") + name;
      if (const auto n = config::whole_number(r.str(l[name], field)))
        out = static_cast<std::size_t>(*n);
      else
        r.problem(l[name], field, "expected a whole number of bytes or entries (digits only)");
    };
    size("max_header_bytes", c.limits.max_header_bytes);
    if (c.limits.max_header_bytes > 1024 * 1024 || c.limits.max_header_bytes < 1024)
      r.problem(l["max_header_bytes"], "gateway.limits.max_header_bytes",
                "expected 1024 to 1048576");
    size("max_url_bytes", c.limits.max_url_bytes);
    // a URL is part of the head: a head limit below the default URL limit lowers that too
    if (!l["max_url_bytes"])
      c.limits.max_url_bytes = std::min(c.limits.max_url_bytes, c.limits.max_header_bytes);
    size("max_token_bytes", c.limits.max_token_bytes);
    size("max_body_bytes", c.limits.max_body_bytes);
    size("max_connections", c.limits.max_connections);
    size("token_cache_entries", c.limits.token_cache_entries);
    size("token_cache_bytes", c.limits.token_cache_bytes);
    c.limits.read_timeout =
        r.duration(l["read_timeout"], "gateway.limits.read_timeout", c.limits.read_timeout);
    c.limits.idle_timeout =
        r.duration(l["idle_timeout"], "gateway.limits.idle_timeout", c.limits.idle_timeout);
    c.limits.upstream_connect_timeout =
        r.duration(l["upstream_connect_timeout"], "gateway.limits.upstream_connect_timeout",
                   c.limits.upstream_connect_timeout);
    c.limits.upstream_timeout = r.duration(l["upstream_timeout"], "gateway.limits.upstream_timeout",
                                           c.limits.upstream_timeout);
    // 0 would cut every request or upstream at once (an idle_timeout of 0 closes a connection
    // once its answer is sent: no keep-alive, as nginx's keepalive_timeout 0)
    for (const auto& [name, v] :
         {std::pair{"read_timeout", c.limits.read_timeout},
          std::pair{"upstream_connect_timeout", c.limits.upstream_connect_timeout},
          std::pair{"upstream_timeout", c.limits.upstream_timeout}})
      if (v < 1) r.problem(l[name], std::string("gateway.limits.") + name, "at least 1 s");
    if (c.limits.max_url_bytes > c.limits.max_header_bytes)
      r.problem(l["max_url_bytes"], "gateway.limits.max_url_bytes",
                "larger than max_header_bytes: a long URL would be a 431, never a 414");
  }
  if (const auto t = g["tls"]; t && r.mapping(t, "gateway.tls")) {
    r.known_keys(t, "gateway.tls.", {"cert_file", "key_file"});
    c.tls.cert_file = r.str(t["cert_file"], "gateway.tls.cert_file");
    c.tls.key_file = r.str(t["key_file"], "gateway.tls.key_file");
    if (c.tls.cert_file.empty() != c.tls.key_file.empty())
      r.problem(t, "gateway.tls", "give both cert_file and key_file");
  }

  if (const auto as = g["authorizers"]) {
    if (!as.IsMap())
      r.problem(as, "gateway.authorizers", "expected a mapping of name → authorizer");
    r.unique_keys(as, "gateway.authorizers");
    if (as.IsMap())
      for (const auto& kv : as) {
        const auto name = r.key(kv.first, "gateway.authorizers");
        if (name.empty()) continue;
        const auto& a = kv.second;
        const std::string p = "gateway.authorizers." + name + ".";
        if (!r.mapping(a, "gateway.authorizers." + name)) continue;
        r.known_keys(a, p,
                     {"identity_source", "issuer_url", "audience", "algorithms", "leeway", "typ",
                      "jwks_min_ttl", "jwks_max_ttl", "refetch_cooldown", "ca_file",
                      "forward_authorization", "claims_to_headers", "type"});
        authorizer_config ac;
        ac.name = name;
        ac.identity_source = r.str(a["identity_source"], p + "identity_source", ac.identity_source);
        const auto source = parse_identity_source(ac.identity_source);
        if (!source)
          r.problem(a["identity_source"], p + "identity_source",
                    "expected $request.header.NAME or $request.querystring.NAME");
        else if (source->name.empty() || (source->header && !field_name_valid(source->name)))
          r.problem(a["identity_source"], p + "identity_source",
                    "NAME must be a header field name or query parameter");
        // serverless.yml's httpApi authorizers: type jwt (this one) or request (a Lambda)
        std::string type = r.str(a["type"], p + "type", "jwt");
        for (auto& ch : type) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (type != "jwt")  // any case, as serverless.yml's "JWT"
          r.problem(a["type"], p + "type",
                    "only jwt authorizers exist here (" + type + " would run no check)");
        ac.issuer_url = r.str(a["issuer_url"], p + "issuer_url");
        if (ac.issuer_url.empty())
          r.problem(a, p + "issuer_url", "required");
        else if (!valid_upstream(ac.issuer_url))
          r.problem(a["issuer_url"], p + "issuer_url", "must be an http(s) URL");
        else if (net::check_fetch_url(ac.issuer_url) == net::errc::fetch_insecure)
          r.problem(a["issuer_url"], p + "issuer_url",
                    "plain http is for loopback issuers only (its keys would come unprotected); "
                    "use https");
        ac.audience = r.list(a["audience"], p + "audience");
        if (ac.audience.empty())
          r.problem(a, p + "audience", "required: at least one accepted aud");
        ac.algorithms = r.list(a["algorithms"], p + "algorithms");
        for (const auto& alg : ac.algorithms) {
          auto parsed = jose::alg_from_string(alg);
          if (!parsed || jose::family(*parsed) == jose::alg_family::hmac)
            r.problem(a["algorithms"], p + "algorithms",
                      alg + " is not an asymmetric JWS algorithm");
        }
        ac.leeway = r.duration(a["leeway"], p + "leeway", ac.leeway);
        if (ac.leeway > 300) r.problem(a["leeway"], p + "leeway", "at most 300 s");
        ac.typ = r.str(a["typ"], p + "typ");
        ac.jwks_min_ttl = r.duration(a["jwks_min_ttl"], p + "jwks_min_ttl", ac.jwks_min_ttl);
        ac.jwks_max_ttl = r.duration(a["jwks_max_ttl"], p + "jwks_max_ttl", ac.jwks_max_ttl);
        ac.refetch_cooldown =
            r.duration(a["refetch_cooldown"], p + "refetch_cooldown", ac.refetch_cooldown);
        if (ac.jwks_min_ttl > ac.jwks_max_ttl)
          r.problem(a, p + "jwks_min_ttl", "must not exceed jwks_max_ttl");
        // 0 would refetch the issuer's JWKS in a loop, or once for every unknown kid
        if (ac.jwks_min_ttl < 1) r.problem(a["jwks_min_ttl"], p + "jwks_min_ttl", "at least 1 s");
        if (ac.refetch_cooldown < 1)
          r.problem(a["refetch_cooldown"], p + "refetch_cooldown", "at least 1 s");
        ac.ca_file = r.str(a["ca_file"], p + "ca_file");
        ac.forward_authorization = r.boolean(a["forward_authorization"],
                                             p + "forward_authorization", ac.forward_authorization);
        if (const auto m = a["claims_to_headers"]) {
          if (!m.IsMap())
            r.problem(m, p + "claims_to_headers", "expected a mapping of header → claim path");
          r.unique_keys(m, p + "claims_to_headers");
          if (m.IsMap())
            for (const auto& h : m)
              if (auto header = r.key(h.first, p + "claims_to_headers"); !header.empty()) {
                // the name goes into every upstream request head as written
                if (!field_name_valid(header))
                  r.problem(h.first, p + "claims_to_headers",
                            "\"" + header + "\" is not a header field name (RFC 9110 token)");
                else if (field_name_reserved(header))
                  r.problem(h.first, p + "claims_to_headers",
                            header +
                                " is set, framed or dropped by the gateway itself; "
                                "choose another name");
                ac.claims_to_headers.emplace_back(std::move(header),
                                                  r.str(h.second, p + "claims_to_headers"));
              }
        }
        c.authorizers.emplace(name, std::move(ac));
      }
  }

  if (const auto rs = g["routes"]) {
    if (!rs.IsSequence()) {
      r.problem(rs, "gateway.routes", "expected a list");
    } else {
      std::set<std::string> seen;
      std::vector<YAML::Node> route_nodes;  // c.routes' nodes, for the template check's line
      const auto problems_before = r.problems().size();
      for (const auto& n : rs) {
        if (!r.mapping(n, "gateway.routes[]")) continue;
        r.known_keys(n, "gateway.routes[].",
                     {"method", "path", "authorizer", "scopes", "scopes_match", "upstream"});
        route_config rc;
        rc.line = n.Mark().line + 1;
        rc.method = r.str(n["method"], "gateway.routes[].method", "ANY");
        for (auto& ch : rc.method)
          ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        rc.path = r.str(n["path"], "gateway.routes[].path");
        if (rc.path.empty())
          r.problem(n, "gateway.routes[].path", "required");
        else if (rc.path != "$default" && rc.path[0] != '/')
          r.problem(n["path"], "gateway.routes[].path", "must start with / (or be $default)");
        rc.authorizer = r.str(n["authorizer"], "gateway.routes[].authorizer");
        if (!rc.authorizer.empty() && !c.authorizers.count(rc.authorizer))
          r.problem(n["authorizer"], "gateway.routes[].authorizer",
                    "no authorizer named " + rc.authorizer);
        rc.scopes = r.list(n["scopes"], "gateway.routes[].scopes");
        if (!rc.scopes.empty() && rc.authorizer.empty())
          r.problem(n["scopes"], "gateway.routes[].scopes", "scopes need an authorizer");
        const auto match = r.str(n["scopes_match"], "gateway.routes[].scopes_match", "any");
        if (match != "any" && match != "all")
          r.problem(n["scopes_match"], "gateway.routes[].scopes_match", "expected any or all");
        rc.scopes_all = match == "all";
        rc.upstream = r.str(n["upstream"], "gateway.routes[].upstream");
        if (!rc.upstream.empty() && !valid_upstream(rc.upstream))
          r.problem(n["upstream"], "gateway.routes[].upstream", "must be an http(s) URL");
        if (!seen.insert(rc.method + " " + rc.path).second)
          r.problem(n, "gateway.routes[]", "duplicate route " + rc.method + " " + rc.path);
        // paths the gateway answers itself would silently never reach this route's upstream
        const auto& fa = c.forward_auth_path;
        if (rc.path == fa || (rc.path.size() > fa.size() &&
                              rc.path.compare(0, fa.size(), fa) == 0 && rc.path[fa.size()] == '/'))
          r.problem(n["path"], "gateway.routes[].path",
                    "answered by the forward-auth endpoint (gateway.forward_auth_path " + fa + ")");
        else if (c.admin_listen.empty() &&
                 (rc.method == "GET" || rc.method == "HEAD" || rc.method == "ANY") &&
                 (rc.path == "/healthz" || rc.path == "/readyz" || rc.path == "/metrics"))
          r.problem(n["path"], "gateway.routes[].path",
                    rc.path +
                        " is answered by the gateway itself; set gateway.admin_listen to "
                        "move it to another address");
        c.routes.push_back(std::move(rc));
        route_nodes.push_back(n);
      }
      // the templates as the gateway compiles them ({proxy+} last, no ambiguous pair, ...):
      // found here with their line, not at start
      // (once the routes are otherwise right: a mistake found above is not reported twice)
      std::vector<route_spec> specs;
      for (const auto& rc : c.routes) specs.push_back({rc.method, rc.path});
      if (r.problems().size() == problems_before) try {
          route_matcher check(std::move(specs));
        } catch (const route_error& e) {
          const bool method = e.in_method();
          r.problem(route_nodes[e.index()][method ? "method" : "path"],
                    method ? "gateway.routes[].method" : "gateway.routes[].path", e.why());
        }
    }
  }
  return c;
}

}  // namespace gatepass::gateway
