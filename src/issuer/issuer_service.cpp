#include "issuer/issuer_service.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <optional>
#include <utility>
#include <vector>

#include "common/form_decode.h"
#include "issuer/documents.h"

namespace gatepass::issuer {

namespace json = boost::json;
using net::http_request;
using net::http_response;

namespace {

// RFC 6749 §5.2 error body
http_response oauth_error(unsigned status, const char* error, const std::string& description) {
  json::object o;
  o["error"] = error;
  // RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E only (a requested scope is quoted in some):
  // a quote or a backslash becomes ', any other byte outside is left out
  std::string text;
  for (const char c : description) {
    const auto u = static_cast<unsigned char>(c);
    if (u == '"' || u == '\\')
      text += '\'';
    else if (u >= 0x20 && u <= 0x7e)
      text += c;
  }
  if (!text.empty()) o["error_description"] = text;
  auto r = net::json_response(status, json::serialize(o));
  r.set("Cache-Control", "no-store");
  r.set("Pragma", "no-cache");
  if (status == 401) r.set("WWW-Authenticate", "Basic realm=\"gatepass\", charset=\"UTF-8\"");
  return r;
}

// Standard base64 (RFC 4648 §4) for the Basic credentials; strict, padding required.
bool base64_std_decode(std::string_view in, std::string& out) {
  if (in.empty() || in.size() % 4 != 0) return false;
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out.clear();
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    const int a = val(in[i]), b = val(in[i + 1]);
    const int c = (last && in[i + 2] == '=') ? -2 : val(in[i + 2]);
    const int d = (last && in[i + 3] == '=') ? -2 : val(in[i + 3]);
    if (a < 0 || b < 0 || c == -1 || d == -1 || (c == -2 && d != -2)) return false;
    out.push_back(static_cast<char>((a << 2) | (b >> 4)));
    if (c >= 0) out.push_back(static_cast<char>(((b & 15) << 4) | (c >> 2)));
    if (d >= 0) out.push_back(static_cast<char>(((c & 3) << 6) | d));
  }
  return true;
}

using form_fields = std::vector<std::pair<std::string, std::string>>;

// An application/x-www-form-urlencoded body; nullopt on a malformed escape ("scope=%ZZ").
std::optional<form_fields> parse_form(std::string_view body) {
  form_fields form;
  while (!body.empty()) {
    const auto amp = body.find('&');
    const auto part = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto name = form_decode_strict(part.substr(0, eq));
    auto value = eq == std::string_view::npos ? std::optional<std::string>(std::string())
                                              : form_decode_strict(part.substr(eq + 1));
    if (!name || !value) return std::nullopt;
    form.emplace_back(std::move(*name), std::move(*value));
  }
  return form;
}

bool iequals_ascii(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// client_secret_basic: "Basic base64(id:secret)", both parts form-encoded (RFC 6749 §2.3.1);
// nullopt when malformed.
std::optional<std::pair<std::string, std::string>> basic_credentials(std::string_view auth) {
  std::string decoded;
  // the scheme in any case (RFC 9110 §11.1: "BASIC" is "Basic")
  if (auth.size() < 6 || !iequals_ascii(auth.substr(0, 6), "basic ") ||
      !base64_std_decode(auth.substr(6), decoded) || decoded.find(':') == std::string::npos)
    return std::nullopt;
  const auto colon = decoded.find(':');
  auto id = form_decode_strict(decoded.substr(0, colon));
  auto secret = form_decode_strict(decoded.substr(colon + 1));
  if (!id || !secret) return std::nullopt;
  return std::pair{std::move(*id), std::move(*secret)};
}

}  // namespace

issuer_service::issuer_service(config::issuer_section cfg, keys::key_settings settings)
    : cfg_(std::move(cfg)),
      settings_(settings),
      tokens_(cfg_.url, cfg_.audience, cfg_.token_ttl),
      discovery_(discovery_document(cfg_, {std::string(jose::to_string(settings.algorithm))})),
      clients_(std::make_shared<client_registry>(std::vector<keys::client_record>{})) {}

void issuer_service::set_ring(std::shared_ptr<const keys::key_ring> ring) {
  auto p = std::make_shared<published>();
  p->jwks = jwks_document(*ring);
  p->etag = etag_of(p->jwks);
  // the algorithms verifiers will meet: the configured one and every published key's (an
  // imported Ed25519 key signs EdDSA whatever keys.algorithm says)
  std::vector<std::string> algs{std::string(jose::to_string(settings_.algorithm))};
  for (const auto& k : ring->published.keys()) {
    std::string a(jose::to_string(k.algorithm()));
    if (std::find(algs.begin(), algs.end(), a) == algs.end()) algs.push_back(std::move(a));
  }
  p->discovery = discovery_document(cfg_, algs);
  p->ring = std::move(ring);
  std::lock_guard lock(m_);
  published_ = std::move(p);
}

void issuer_service::set_clients(std::shared_ptr<const client_registry> clients) {
  std::lock_guard lock(m_);
  clients_ = std::move(clients);
}

std::shared_ptr<const issuer_service::published> issuer_service::current() const {
  std::lock_guard lock(m_);
  return published_;
}

std::shared_ptr<const client_registry> issuer_service::clients() const {
  std::lock_guard lock(m_);
  return clients_;
}

std::shared_ptr<const keys::key_ring> issuer_service::ring() const {
  auto p = current();
  return p ? p->ring : nullptr;
}

std::string issuer_service::discovery() const {
  auto p = current();
  return p ? p->discovery : discovery_;
}

std::string issuer_service::jwks() const {
  auto p = current();
  return p ? p->jwks : std::string();
}

http_response issuer_service::handle(const http_request& req, std::int64_t now) const {
  const auto path = req.path();
  const bool get = req.method == "GET" || req.method == "HEAD";
  if (path == "/healthz") return net::json_response(200, "{\"status\":\"ok\"}");
  if (path == "/.well-known/openid-configuration" ||
      path == "/.well-known/oauth-authorization-server") {
    if (!get)
      return net::json_response(405, "{\"message\":\"Method Not Allowed\"}")
          .set("Allow", "GET, HEAD");
    const auto p = current();
    auto r = net::json_response(200, p ? p->discovery : discovery_);
    r.set("Cache-Control", "public, max-age=3600");
    return r;
  }
  if (path == "/.well-known/jwks.json") {
    if (!get)
      return net::json_response(405, "{\"message\":\"Method Not Allowed\"}")
          .set("Allow", "GET, HEAD");
    auto p = current();
    if (!p) return net::json_response(503, "{\"message\":\"no keys loaded\"}");
    const auto max_age = keys::jwks_max_age(p->ring->records, now, settings_.rotation);
    http_response r;
    // If-None-Match (RFC 9110 §13.1.2): "*" alone or a list of entity tags (weak comparison),
    // in every such field of the request
    auto trimmed = [](std::string_view v) {
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      return v;
    };
    auto not_modified = [&](std::string_view inm) {
      if (trimmed(inm) == "*") return true;
      while (!inm.empty()) {
        const auto comma = inm.find(',');
        auto tag = trimmed(inm.substr(0, comma));
        inm = comma == std::string_view::npos ? std::string_view() : inm.substr(comma + 1);
        if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
        if (tag == p->etag) return true;
      }
      return false;
    };
    bool matched = false;
    for (const auto& [name, value] : req.headers)
      if (iequals_ascii(name, "If-None-Match") && not_modified(value)) matched = true;
    if (matched) {
      r.status = 304;
    } else {
      r = net::json_response(200, p->jwks);
      r.headers.front().second = "application/jwk-set+json";
    }
    r.set("Cache-Control", "public, max-age=" + std::to_string(max_age));
    r.set("ETag", p->etag);
    return r;
  }
  if (path == "/oauth2/token") {
    if (req.method != "POST")
      return net::json_response(405, "{\"message\":\"Method Not Allowed\"}").set("Allow", "POST");
    return token_endpoint(req, now);
  }
  return net::json_response(404, "{\"message\":\"Not Found\"}");
}

bool issuer_service::needs_secret_hashing(const http_request& req) const {
  if (req.method != "POST" || req.path() != "/oauth2/token") return false;
  std::string id, secret;
  if (const auto auth = req.header("Authorization"); !auth.empty()) {
    auto basic = basic_credentials(auth);
    if (!basic) return false;  // refused before any hashing
    id = std::move(basic->first);
    secret = std::move(basic->second);
  } else {
    const auto form = parse_form(req.body);
    if (!form) return false;
    for (const auto& [k, v] : *form) {
      if (k == "client_id") id = v;
      if (k == "client_secret") secret = v;
    }
  }
  return !clients()->verified(id, secret);
}

http_response issuer_service::token_endpoint(const http_request& req, std::int64_t now) const {
  // one Content-Type: with two, a proxy in front and this endpoint could read different ones
  if (req.header_count("Content-Type") > 1)
    return oauth_error(400, "invalid_request", "more than one Content-Type");
  // the media type without parameters, compared without regard to case (RFC 9110 §8.3.1)
  std::string ctype(req.header("Content-Type").substr(0, req.header("Content-Type").find(';')));
  while (!ctype.empty() && (ctype.back() == ' ' || ctype.back() == '\t')) ctype.pop_back();
  for (auto& ch : ctype) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (ctype != "application/x-www-form-urlencoded")
    return oauth_error(400, "invalid_request",
                       "Content-Type must be application/x-www-form-urlencoded");
  // a malformed escape ("scope=%ZZ") makes the request malformed, whatever the field
  const auto parsed = parse_form(req.body);
  if (!parsed)
    return oauth_error(400, "invalid_request", "malformed percent-encoding in the request body");
  const auto& form = *parsed;
  auto param = [&](const char* name, bool& dup) -> const std::string* {
    const std::string* found = nullptr;
    for (const auto& [k, v] : form)
      if (k == name) {
        if (found != nullptr) dup = true;
        found = &v;
      }
    return found;
  };
  bool dup = false;
  const auto* grant = param("grant_type", dup);
  const auto* scope = param("scope", dup);
  const auto* form_id = param("client_id", dup);
  const auto* form_secret = param("client_secret", dup);
  if (dup) return oauth_error(400, "invalid_request", "a parameter was given more than once");
  if (grant == nullptr) return oauth_error(400, "invalid_request", "grant_type is required");
  if (*grant != "client_credentials")
    return oauth_error(400, "unsupported_grant_type", "only client_credentials is supported");

  // client authentication: client_secret_basic or client_secret_post, never both (RFC 6749 §2.3)
  std::string id, secret;
  const auto auth = req.header("Authorization");
  if (req.header_count("Authorization") > 1)
    return oauth_error(400, "invalid_request", "more than one Authorization field");
  if (!auth.empty()) {
    if (form_secret != nullptr)
      return oauth_error(400, "invalid_request", "use one client authentication method");
    auto basic = basic_credentials(auth);
    if (!basic) return oauth_error(401, "invalid_client", "malformed Basic credentials");
    id = std::move(basic->first);
    secret = std::move(basic->second);
    // a client_id in the body names the client too: it must be the one authenticated
    if (form_id != nullptr && *form_id != id)
      return oauth_error(400, "invalid_request", "client_id differs from the authenticated client");
  } else if (form_id != nullptr && form_secret != nullptr) {
    id = *form_id;
    secret = *form_secret;
  } else {
    return oauth_error(401, "invalid_client", "client authentication required");
  }
  const auto registry = clients();
  const auto* client = registry->authenticate(id, secret);
  if (client == nullptr)
    return oauth_error(401, "invalid_client", "unknown client or wrong secret");

  std::vector<std::string> granted;
  if (scope != nullptr && !scope->empty()) {
    std::string_view s = *scope;
    while (!s.empty()) {
      const auto sp = s.find(' ');
      const auto w = s.substr(0, sp);
      s = sp == std::string_view::npos ? std::string_view() : s.substr(sp + 1);
      if (w.empty()) continue;
      if (std::find(client->scopes.begin(), client->scopes.end(), w) == client->scopes.end())
        return oauth_error(400, "invalid_scope",
                           "scope " + std::string(w) + " is not granted to this client");
      if (std::find(granted.begin(), granted.end(), w) == granted.end()) granted.emplace_back(w);
    }
    // spaces only: no scope-token at all (RFC 6749 §3.3), neither "none" nor "all of them"
    if (granted.empty()) return oauth_error(400, "invalid_scope", "the scope names no scope");
  } else {
    granted = client->scopes;
  }
  auto p = current();
  if (!p) return oauth_error(503, "temporarily_unavailable", "no signing key loaded");
  token_request tr;
  tr.sub = client->id;
  tr.client_id = client->id;
  tr.scopes = granted;
  tr.audience = client->audience;
  auto token = tokens_.issue(*p->ring, tr, now);
  if (!token) return oauth_error(500, "server_error", "signing failed");
  json::object o;
  o["access_token"] = *token;
  o["token_type"] = "Bearer";
  o["expires_in"] = tokens_.default_ttl();
  std::string scope_out;
  for (const auto& g : granted) scope_out += (scope_out.empty() ? "" : " ") + g;
  if (!scope_out.empty()) o["scope"] = scope_out;
  auto r = net::json_response(200, json::serialize(o));
  r.set("Cache-Control", "no-store");
  r.set("Pragma", "no-cache");
  return r;
}

}  // namespace gatepass::issuer
