#include "gateway/authenticator.h"

#include <openssl/evp.h>

#include <algorithm>
#include <boost/json/serialize.hpp>

#include "common/base64url.h"
#include "gateway/errc.h"
#include "gateway/field_names.h"
#include "gateway/jwks_cache.h"
#include "jose/errc.h"

namespace gatepass::gateway {

namespace json = boost::json;

namespace {

bool istarts_with(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

std::string value_text(const json::value& v) {
  if (const auto* s = v.if_string()) return std::string(*s);
  if (const auto* a = v.if_array()) {
    std::string out;
    for (const auto& e : *a) out += (out.empty() ? "" : ",") + value_text(e);
    return out;
  }
  return json::serialize(v);
}

// A field value (RFC 9110 §5.5) that reads back as written: visible characters, spaces and
// tabs inside, non-ASCII bytes (obs-text), no control character (CR/LF would inject a header),
// no space or tab at either end (trimmed by every parser).
bool header_safe(std::string_view v) {
  for (const char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return v.empty() ||
         (v.front() != ' ' && v.front() != '\t' && v.back() != ' ' && v.back() != '\t');
}

// A cached token verified under an older key set counts only while the current set holds the
// very key it was verified with: the same kid, algorithm and public key (a kid reused for
// another key ends it). Under the same set, nothing to look up.
bool still_trusted(const verified_entry& e, const jose::key_set& keys) {
  if (e.verified_with.get() == &keys) return true;
  if (!e.verified_with) return false;
  auto now_key = keys.select(std::string_view(e.kid));
  auto then_key = e.verified_with->select(std::string_view(e.kid));
  return now_key && then_key && (*now_key)->algorithm() == (*then_key)->algorithm() &&
         EVP_PKEY_eq((*now_key)->pkey(), (*then_key)->pkey()) == 1;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> header_pairs(const verified_entry& e) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string_view rest = e.header_lines;
  while (!rest.empty()) {
    const auto eol = rest.find("\r\n");
    const auto line = rest.substr(0, eol);
    const auto colon = line.find(": ");
    out.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 2)));
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 2);
  }
  return out;
}

bool scopes_satisfied(const std::vector<std::string>& granted, const route_config& route) {
  if (route.scopes.empty()) return true;
  auto has = [&](const std::string& s) {
    return std::binary_search(granted.begin(), granted.end(), s);
  };
  return route.scopes_all ? std::all_of(route.scopes.begin(), route.scopes.end(), has)
                          : std::any_of(route.scopes.begin(), route.scopes.end(), has);
}

result<std::vector<std::pair<std::string, std::string>>> claim_headers(
    const json::object& claims, const std::vector<std::string>& scopes,
    const authorizer_config& cfg) {
  std::vector<std::pair<std::string, std::string>> h;
  if (auto it = claims.find("sub"); it != claims.end() && it->value().is_string())
    h.emplace_back("X-Gatepass-Sub", std::string(it->value().get_string()));
  std::string sc;
  for (const auto& s : scopes) sc += (sc.empty() ? "" : " ") + s;
  h.emplace_back("X-Gatepass-Scopes", std::move(sc));
  h.emplace_back("X-Gatepass-Claims", base64url_encode(json::serialize(claims)));
  for (const auto& [header, path] : cfg.claims_to_headers) {
    const json::value* v = nullptr;
    const json::object* o = &claims;
    std::string_view rest = path;
    while (o != nullptr) {
      const auto dot = rest.find('.');
      auto it = o->find(rest.substr(0, dot));
      if (it == o->end()) break;
      if (dot == std::string_view::npos) {
        v = &it->value();
        break;
      }
      o = it->value().if_object();
      rest = rest.substr(dot + 1);
    }
    // a claim whose name itself contains dots (e.g. a URL) is looked up whole as well
    if (v == nullptr)
      if (auto it = claims.find(path); it != claims.end()) v = &it->value();
    if (v != nullptr) h.emplace_back(header, value_text(*v));
  }
  for (const auto& [name, value] : h)
    if (!header_safe(value)) return std::error_code(errc::claim_not_header_safe);
  return h;
}

authenticator::authenticator(authorizer_config cfg, std::shared_ptr<jwks_cache> jwks,
                             std::size_t cache_entries, std::size_t max_token_bytes,
                             std::size_t cache_bytes)
    : cfg_(std::move(cfg)), jwks_(std::move(jwks)), cache_(cache_entries, cache_bytes) {
  opt_.limits.max_token_size = max_token_bytes;
  opt_.claims.issuer = cfg_.issuer_url;
  opt_.claims.audiences = cfg_.audience;
  opt_.claims.client_id_for_missing_aud = true;  // as AWS: aud, or client_id when aud is absent
  opt_.claims.leeway = cfg_.leeway;
  if (!cfg_.typ.empty()) opt_.claims.typ = cfg_.typ;
  for (const auto& a : cfg_.algorithms)
    if (auto parsed = jose::alg_from_string(a)) opt_.algorithms.push_back(*parsed);
  // checked by the config (the default is $request.header.Authorization)
  const auto source = parse_identity_source(cfg_.identity_source)
                          .value_or(identity_source_parts{true, "Authorization"});
  source_name_ = source.name;
  if (!source.header) {
    from_header_ = false;
  } else {
    source_field_ = boost::beast::http::string_to_field(source_name_);
    source_canonical_ = field_canonical(source_name_);
  }
}

result<std::string_view> authenticator::extract(const token_sources& src) const {
  const auto& values = from_header_ ? src.header_values : src.query_values;
  if (values.empty()) return errc::token_missing;
  if (values.size() > 1 || src.other_location) return errc::token_multiple;
  std::string_view v = values.front();
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (istarts_with(v, "Bearer") && (v.size() == 6 || v[6] == ' ')) {
    v.remove_prefix(6);
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  } else if (v.find(' ') != std::string_view::npos) {
    return errc::token_bad_scheme;  // "Basic …", "DPoP …"
  }
  if (v.empty()) return errc::token_missing;
  return v;
}

decision authenticator::decide(std::string_view token, const jose::key_set& keys,
                               const jose::verify_options& opt, const authorizer_config& cfg,
                               const route_config& route, std::int64_t now,
                               std::shared_ptr<verified_entry>* built) {
  decision d;
  auto v = jose::verify_jwt(token, keys, opt, now);
  if (!v) {
    d.status = 401;
    d.reason = v.error();
    return d;
  }
  auto e = std::make_shared<verified_entry>();
  e->kid = v->kid;
  // exp is required by the gateway's policy, so always present here.
  e->valid_until = v->exp.value_or(0) + static_cast<double>(opt.claims.leeway);
  auto headers = claim_headers(v->claims(), v->scopes, cfg);
  if (!headers) {
    d.status = 401;
    d.reason = headers.error();
    return d;
  }
  for (const auto& [name, value] : *headers) {
    e->header_lines.append(name).append(": ", 2).append(value).append("\r\n", 2);
  }
  e->scopes = std::move(v->scopes);
  d.token = e;
  if (built != nullptr) *built = e;
  if (!scopes_satisfied(e->scopes, route)) {
    d.status = 403;
    d.reason = errc::scope_insufficient;
    return d;
  }
  d.status = 200;
  return d;
}

decision authenticator::authorize(std::string_view token, const route_config& route,
                                  std::int64_t now) const {
  auto keys = jwks_->keys();
  if (!keys) {
    decision d;
    d.reason = errc::jwks_unavailable;
    return d;
  }
  if (auto hit = cache_.find(token, now); hit && still_trusted(*hit, *keys)) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    decision d;
    d.cache_hit = true;
    d.token = hit;
    if (scopes_satisfied(hit->scopes, route)) {
      d.status = 200;
    } else {
      d.status = 403;
      d.reason = errc::scope_insufficient;
    }
    return d;
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<verified_entry> built;
  auto d = decide(token, *keys, opt_, cfg_, route, now, &built);
  if (built) {
    built->verified_with = keys;
    cache_.insert(token, std::move(built), now);
  }
  if (d.reason == jose::errc::kid_unknown && jwks_->on_unknown_kid()) {
    d.refetching = true;
    d.seen = std::move(keys);
  }
  return d;
}

}  // namespace gatepass::gateway
