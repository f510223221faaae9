#include "issuer/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "common/yaml_reader.h"
#include "jose/algorithm.h"

namespace gatepass::config {

issuer_section parse_issuer(const YAML::Node& is, reader& r) {
  issuer_section s;
  if (!r.mapping(is, "issuer")) return s;
  r.known_keys(is, "issuer.", {"url", "audience", "token_ttl", "listen", "scopes_supported"});
  s.url = r.str(is["url"], "issuer.url");
  if (s.url.empty()) {
    r.problem(is, "issuer.url", "required (e.g. https://auth.example.com)");
  } else if (s.url.rfind("https://", 0) != 0 && s.url.rfind("http://", 0) != 0) {
    r.problem(is["url"], "issuer.url", "must be an http(s) URL");
  } else if (s.url.find_first_of("?#") != std::string::npos) {
    // RFC 8414 §2, OIDC Discovery §3: the metadata URLs are built by appending to it
    r.problem(is["url"], "issuer.url", "must not have a query or a fragment");
  }
  s.audience = r.list(is["audience"], "issuer.audience");
  if (s.audience.empty())  // RFC 9068 §2.2: every access token has an aud
    r.problem(is["audience"] ? is["audience"] : is, "issuer.audience",
              "must name at least one audience (RFC 9068 section 2.2)");
  for (const auto& a : s.audience)
    if (a.empty()) r.problem(is["audience"], "issuer.audience", "an audience must not be empty");
  s.token_ttl = r.duration(is["token_ttl"], "issuer.token_ttl", 3600);
  if (s.token_ttl < 60 || s.token_ttl > 86400)
    r.problem(is["token_ttl"] ? is["token_ttl"] : is, "issuer.token_ttl",
              "must be between 60 s and 24 h");
  s.listen = r.listen(is["listen"], "issuer.listen");
  s.scopes_supported = r.list(is["scopes_supported"], "issuer.scopes_supported");
  return s;
}

namespace {

// What keys.store may hold (DESIGN.md): file:DIR, postgresql://… (or its postgres:// alias), or a
// bare path. Anything else that names a scheme is a mistake caught here, not at first use.
std::optional<std::string> store_problem(const std::string& store) {
  if (store.empty()) return "must not be empty (file:DIR or postgresql://…)";
  if (store.rfind("postgresql://", 0) == 0 || store.rfind("postgres://", 0) == 0)
    return std::nullopt;
  if (store.rfind("file:", 0) == 0) {
    if (store.size() == 5) return "file: needs a folder (file:DIR)";
    return std::nullopt;
  }
  // a URI scheme (RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":") of 2+ characters
  const auto colon = store.find(':');
  const bool scheme =
      colon != std::string::npos && colon >= 2 &&
      std::isalpha(static_cast<unsigned char>(store[0])) &&
      std::all_of(store.begin(), store.begin() + static_cast<std::ptrdiff_t>(colon), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
      });
  if (scheme || store.find("://") != std::string::npos)
    return "unknown store scheme " + store.substr(0, store.find(':')) +
           ": expected file:DIR or postgresql://… (write a path holding ':' as file:PATH)";
  return std::nullopt;
}

}  // namespace

keys_section parse_keys(const YAML::Node& ks, reader& r) {
  keys_section k;
  if (!r.mapping(ks, "keys")) return k;
  r.known_keys(ks, "keys.",
               {"store", "algorithm", "rsa_bits", "passphrase_env", "passphrase_file",
                "rotate_every", "publish_ahead", "retire_after"});
  k.store = r.str(ks["store"], "keys.store", k.store);
  if (const auto why = store_problem(k.store)) r.problem(ks["store"], "keys.store", *why);
  k.algorithm = r.str(ks["algorithm"], "keys.algorithm", k.algorithm);
  auto a = jose::alg_from_string(k.algorithm);
  if (!a || jose::family(*a) == jose::alg_family::hmac || *a == jose::alg::es512)
    r.problem(ks["algorithm"], "keys.algorithm",
              "expected one of RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA");
  if (ks["rsa_bits"]) {
    const auto bits = r.str(ks["rsa_bits"], "keys.rsa_bits");
    if (bits != "2048" && bits != "3072" && bits != "4096")
      r.problem(ks["rsa_bits"], "keys.rsa_bits",
                "expected 2048, 3072 or 4096 (below 2048 is refused)");
    else
      k.rsa_bits = std::stoi(bits);
  }
  k.passphrase_env = r.str(ks["passphrase_env"], "keys.passphrase_env");
  k.passphrase_file = r.str(ks["passphrase_file"], "keys.passphrase_file");
  if (!k.passphrase_env.empty())
    k.passphrase_line = ks["passphrase_env"].Mark().line + 1;
  else if (!k.passphrase_file.empty())
    k.passphrase_line = ks["passphrase_file"].Mark().line + 1;
  if (!k.passphrase_env.empty() && !k.passphrase_file.empty())
    r.problem(ks["passphrase_file"], "keys.passphrase_file",
              "give passphrase_env or passphrase_file, not both");
  k.rotate_every = r.duration(ks["rotate_every"], "keys.rotate_every", k.rotate_every);
  k.publish_ahead = r.duration(ks["publish_ahead"], "keys.publish_ahead", k.publish_ahead);
  k.retire_after = r.duration(ks["retire_after"], "keys.retire_after", 0);
  if (k.publish_ahead < 60)
    r.problem(ks["publish_ahead"], "keys.publish_ahead", "must be at least 60 s");
  if (k.rotate_every <= k.publish_ahead)
    r.problem(ks["rotate_every"] ? ks["rotate_every"] : ks, "keys.rotate_every",
              "must be longer than publish_ahead");
  return k;
}

std::vector<client_entry> parse_clients(const YAML::Node& cs, reader& r) {
  std::vector<client_entry> out;
  if (!cs.IsSequence()) {
    r.problem(cs, "clients", "expected a list");
  } else {
    std::set<std::string> ids;
    for (const auto& c : cs) {
      if (!r.mapping(c, "clients[]")) continue;
      r.known_keys(c, "clients[].", {"id", "secret_hash", "scopes", "audience"});
      client_entry e;
      e.id = r.str(c["id"], "clients[].id");
      e.secret_hash = r.str(c["secret_hash"], "clients[].secret_hash");
      e.scopes = r.list(c["scopes"], "clients[].scopes");
      e.audience = r.list(c["audience"], "clients[].audience");
      if (e.id.empty()) r.problem(c, "clients[].id", "required");
      if (e.secret_hash.rfind("$argon2id$", 0) != 0)
        r.problem(c["secret_hash"] ? c["secret_hash"] : c, "clients[].secret_hash",
                  "must be an argon2id hash (use `gatepass client add`)");
      if (!e.id.empty() && !ids.insert(e.id).second)
        r.problem(c["id"], "clients[].id", "duplicate id " + e.id);
      out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace gatepass::config
