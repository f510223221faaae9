#include "jose/jws.h"

#include <algorithm>
#include <array>
#include <boost/json/serializer.hpp>

#include "common/base64url.h"
#include "jose/errc.h"

namespace gatepass::jose {

namespace json = boost::json;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// RFC 7515 §4.1.11: crit lists extensions the recipient must understand. gatepass implements
// none, and "b64" (RFC 7797) is refused for JWTs.
std::error_code check_crit(const json::object& h) {
  auto it = h.find("crit");
  if (it == h.end()) return {};
  const auto* arr = it->value().if_array();
  if (arr == nullptr || arr->empty()) return errc::crit_invalid;
  static constexpr std::array<std::string_view, 13> registered{
      "alg",      "jku", "jwk", "kid",  "x5u", "x5c", "x5t",
      "x5t#S256", "typ", "cty", "crit", "enc", "zip"};
  for (const auto& v : *arr) {
    const auto* s = v.if_string();
    if (s == nullptr) return errc::crit_invalid;
    for (auto r : registered)
      if (*s == r) return errc::crit_invalid;
    if (!h.contains(*s)) return errc::crit_invalid;
    if (*s == "b64") return errc::b64_unsupported;
  }
  return errc::crit_unsupported;
}

// One pass over the header's members, then the checks in their fixed order.
std::error_code check_header(compact_jws_view& j) {
  const json::object& h = j.header;
  const json::value* alg_v = nullptr;
  const json::value* kid_v = nullptr;
  const json::value* typ_v = nullptr;
  const json::value* cty_v = nullptr;
  bool crit = false, b64 = false, header_key = false;
  for (const auto& m : h) {
    const std::string_view k = m.key();
    if (k == "alg")
      alg_v = &m.value();
    else if (k == "kid")
      kid_v = &m.value();
    else if (k == "typ")
      typ_v = &m.value();
    else if (k == "cty")
      cty_v = &m.value();
    else if (k == "crit")
      crit = true;
    else if (k == "b64")
      b64 = true;
    else if (k == "jwk" || k == "jku" || k == "x5u" || k == "x5c")
      header_key = true;
  }
  if (alg_v == nullptr) return errc::alg_missing;
  const auto* as = alg_v->if_string();
  if (as == nullptr) return errc::alg_not_string;
  if (iequals(*as, "none")) return errc::alg_none;
  auto parsed = alg_from_string(*as);
  if (!parsed) return errc::alg_unsupported;
  j.algorithm = *parsed;
  if (kid_v != nullptr) {
    const auto* ks = kid_v->if_string();
    if (ks == nullptr) return errc::kid_not_string;
    j.kid = std::string_view(ks->data(), ks->size());
  }
  // Keys named or carried by the token are never used and never fetched (RFC 8725 §3.10).
  if (header_key) return errc::header_key_forbidden;
  if (crit)
    if (auto ec = check_crit(h)) return ec;
  if (b64) return errc::b64_unsupported;
  if (cty_v != nullptr) {
    const auto* cs = cty_v->if_string();
    if (cs != nullptr && (iequals(*cs, "JWT") || iequals(*cs, "application/jwt")))
      return errc::nested_jwt;
  }
  if (typ_v != nullptr) {
    const auto* ts = typ_v->if_string();
    if (ts == nullptr) return errc::typ_not_string;
    j.typ = std::string_view(ts->data(), ts->size());
  }
  return {};
}

}  // namespace

result<compact_jws_view> parse_compact(std::string_view token, const jws_limits& limits,
                                       json::storage_ptr sp, std::string& payload_buf,
                                       std::string& signature_buf) {
  if (token.empty()) return errc::token_empty;
  if (token.size() > limits.max_token_size) return errc::token_too_large;
  const auto d1 = token.find('.');
  if (d1 == std::string_view::npos) return errc::token_malformed;
  const auto d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return errc::token_malformed;
  const auto header_b64 = token.substr(0, d1);
  const auto payload_b64 = token.substr(d1 + 1, d2 - d1 - 1);
  const auto sig_b64 = token.substr(d2 + 1);
  if (header_b64.empty()) return errc::token_malformed;

  // The header's JSON text is only needed while it parses: decoded on the stack when it fits.
  char header_stack[512];
  std::string header_heap;
  char* header_json = header_stack;
  const std::size_t header_len = base64url_decoded_size(header_b64.size());
  if (header_len > sizeof header_stack) {
    header_heap.resize(header_len);
    header_json = header_heap.data();
  }
  if (!base64url_decode(header_b64, header_json)) return errc::header_bad_base64;
  auto header =
      parse_json_object(std::string_view(header_json, header_len), limits.json, std::move(sp));
  if (!header) {
    const auto e = header.error();
    return e == errc::json_syntax || e == errc::json_not_object ? errc::header_bad_json : e;
  }
  if (!base64url_decode(payload_b64, payload_buf)) return errc::payload_bad_base64;
  if (!base64url_decode(sig_b64, signature_buf)) return errc::signature_bad_base64;
  // Moved, not assigned: the tree keeps its storage, and kid/typ views stay valid.
  compact_jws_view j{token.substr(0, d2), payload_b64, std::move(*header), payload_buf,
                     signature_buf,       alg::rs256,  std::nullopt,       std::nullopt};
  if (auto ec = check_header(j)) return ec;
  return j;
}

result<compact_jws> parse_compact(std::string_view token, const jws_limits& limits) {
  std::string payload, signature;
  auto v = parse_compact(token, limits, {}, payload, signature);
  if (!v) return v.error();
  return compact_jws{v->signing_input,
                     v->payload_b64,
                     std::move(v->header),
                     std::move(payload),
                     std::move(signature),
                     v->algorithm,
                     v->kid,
                     v->typ};
}

namespace {

result<const jwk*> verify_signature(alg a, std::optional<std::string_view> kid,
                                    std::string_view signing_input, std::string_view signature,
                                    const key_set& keys) {
  auto key = keys.select(kid);
  if (!key) return key.error();
  // The key decides the algorithm (RFC 8725 §3.1): the token's alg must be the key's.
  if ((*key)->algorithm() != a) return errc::key_alg_mismatch;
  if (signature.empty()) return errc::signature_length_invalid;
  if (auto ec = (*key)->verify(signing_input, signature)) return ec;
  return *key;
}

}  // namespace

result<const jwk*> verify_signature(const compact_jws& j, const key_set& keys) {
  return verify_signature(j.algorithm, j.kid, j.signing_input, j.signature, keys);
}

result<const jwk*> verify_signature(const compact_jws_view& j, const key_set& keys) {
  return verify_signature(j.algorithm, j.kid, j.signing_input, j.signature, keys);
}

namespace {

// Appends the JSON text of `v` as Boost.JSON serializes it, through one serializer reused for
// every member and without a temporary string per member.
template <class T>
void append_json(json::serializer& sr, const T& v, std::string& out) {
  sr.reset(v);
  char buf[256];
  while (!sr.done()) {
    const auto part = sr.read(buf);
    out.append(part.data(), part.size());
  }
}

}  // namespace

result<std::string> sign_compact(const jwk& key, std::string_view payload,
                                 const json::object& extra_header) {
  // The header is written directly, byte for byte what serializing the object {alg, extra
  // members in order, kid} gives, without building that object on every signature.
  json::serializer sr;
  std::string header;
  header.reserve(128);
  header += "{\"alg\":\"";
  header += to_string(key.algorithm());  // a registered name: nothing to escape
  header += '"';
  for (const auto& kv : extra_header) {
    if (kv.key() == "alg" || kv.key() == "kid") continue;
    header += ',';
    append_json(sr, kv.key(), header);
    header += ':';
    append_json(sr, &kv.value(), header);
  }
  if (!key.kid().empty()) {
    header += ",\"kid\":";
    append_json(sr, json::string_view(key.kid()), header);
  }
  header += '}';
  // One allocation for the whole token: header, payload and the signature, which is signed
  // into a stack buffer (RSA up to 16384 bits) and encoded straight from it.
  const auto b64_size = [](std::size_t n) { return (n * 4 + 2) / 3; };
  const std::size_t sig_size = key.signature_size();
  unsigned char sig[16384 / 8];
  if (sig_size > sizeof sig) return errc::crypto_failure;
  std::string out;
  out.reserve(b64_size(header.size()) + b64_size(payload.size()) + b64_size(sig_size) + 2);
  base64url_encode_append(header, out);
  out += '.';
  base64url_encode_append(payload, out);
  auto len = key.sign(out, sig);
  if (!len) return len.error();
  out += '.';
  base64url_encode_append(std::string_view(reinterpret_cast<const char*>(sig), *len), out);
  return out;
}

}  // namespace gatepass::jose
