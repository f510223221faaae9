#include "issuer/documents.h"

#include <openssl/evp.h>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "common/base64url.h"

namespace gatepass::issuer {

namespace json = boost::json;

namespace {

std::string sha256(std::string_view data) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string standard_base64(const std::string& der) {
  std::string b64(4 * ((der.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                reinterpret_cast<const unsigned char*>(der.data()),
                                static_cast<int>(der.size()));
  b64.resize(static_cast<std::size_t>(n));
  return b64;
}

json::array strings(std::initializer_list<const char*> l) {
  json::array a;
  for (const char* s : l) a.emplace_back(s);
  return a;
}

}  // namespace

std::string join_url(const std::string& base, const std::string& path) {
  if (!base.empty() && base.back() == '/') return base + path.substr(path.front() == '/' ? 1 : 0);
  return base + path;
}

std::string discovery_document(const config::issuer_section& is,
                               const std::vector<std::string>& signing_algs) {
  json::object d;
  d["issuer"] = is.url;
  d["jwks_uri"] = join_url(is.url, "/.well-known/jwks.json");
  d["token_endpoint"] = join_url(is.url, "/oauth2/token");
  // OIDC's default grant types exclude client_credentials: name it explicitly.
  d["grant_types_supported"] = strings({"client_credentials"});
  d["token_endpoint_auth_methods_supported"] =
      strings({"client_secret_basic", "client_secret_post"});
  json::array algs;
  for (const auto& a : signing_algs) algs.emplace_back(a);
  d["id_token_signing_alg_values_supported"] = algs;
  d["response_types_supported"] = strings({"token"});
  d["subject_types_supported"] = strings({"public"});
  json::array scopes;
  for (const auto& s : is.scopes_supported) scopes.emplace_back(s);
  d["scopes_supported"] = std::move(scopes);
  d["claims_supported"] =
      strings({"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope"});
  return json::serialize(d);
}

std::string jwks_document(const keys::key_ring& ring) {
  json::array keys;
  for (const auto& k : ring.published.keys()) {
    json::object o = k.to_public_json();
    for (const auto& [kid, der] : ring.certs) {
      if (kid != k.kid()) continue;
      json::array x5c;
      x5c.emplace_back(standard_base64(der));  // RFC 7517 §4.7: base64, not base64url
      o["x5c"] = std::move(x5c);
      o["x5t#S256"] = base64url_encode(sha256(der));
    }
    keys.push_back(std::move(o));
  }
  json::object doc;
  doc["keys"] = std::move(keys);
  return json::serialize(doc);
}

std::string etag_of(const std::string& body) {
  return "\"" + base64url_encode(sha256(body)).substr(0, 22) + "\"";
}

}  // namespace gatepass::issuer
