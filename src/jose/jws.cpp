#include "jose/jws.h"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>

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
      "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit", "enc", "zip"};
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

std::error_code check_header(compact_jws& j) {
  const json::object& h = j.header;
  auto a = h.find("alg");
  if (a == h.end()) return errc::alg_missing;
  const auto* as = a->value().if_string();
  if (as == nullptr) return errc::alg_not_string;
  if (iequals(*as, "none")) return errc::alg_none;
  auto parsed = alg_from_string(*as);
  if (!parsed) return errc::alg_unsupported;
  j.algorithm = *parsed;
  if (auto k = h.find("kid"); k != h.end()) {
    const auto* ks = k->value().if_string();
    if (ks == nullptr) return errc::kid_not_string;
    j.kid = std::string_view(ks->data(), ks->size());
  }
  // Keys named or carried by the token are never used and never fetched (RFC 8725 §3.10).
  for (std::string_view forbidden : {"jwk", "jku", "x5u", "x5c"})
    if (h.contains(forbidden)) return errc::header_key_forbidden;
  if (auto ec = check_crit(h)) return ec;
  if (h.contains("b64")) return errc::b64_unsupported;
  if (auto c = h.find("cty"); c != h.end()) {
    const auto* cs = c->value().if_string();
    if (cs != nullptr && (iequals(*cs, "JWT") || iequals(*cs, "application/jwt")))
      return errc::nested_jwt;
  }
  if (auto t = h.find("typ"); t != h.end()) {
    const auto* ts = t->value().if_string();
    if (ts == nullptr) return errc::typ_not_string;
    j.typ = std::string_view(ts->data(), ts->size());
  }
  return {};
}

}  // namespace

result<compact_jws> parse_compact(std::string_view token, const jws_limits& limits) {
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

  compact_jws j;
  j.signing_input = token.substr(0, d2);
  j.payload_b64 = payload_b64;
  std::string header_json;
  if (!base64url_decode(header_b64, header_json)) return errc::header_bad_base64;
  auto header = parse_json_object(header_json, limits.json);
  if (!header) {
    const auto e = header.error();
    return e == errc::json_syntax || e == errc::json_not_object ? errc::header_bad_json : e;
  }
  j.header = std::move(*header);
  if (!base64url_decode(payload_b64, j.payload)) return errc::payload_bad_base64;
  if (!base64url_decode(sig_b64, j.signature)) return errc::signature_bad_base64;
  if (auto ec = check_header(j)) return ec;
  return j;
}

result<const jwk*> verify_signature(const compact_jws& j, const key_set& keys) {
  auto key = keys.select(j.kid);
  if (!key) return key.error();
  // The key decides the algorithm (RFC 8725 §3.1): the token's alg must be the key's.
  if ((*key)->algorithm() != j.algorithm) return errc::key_alg_mismatch;
  if (j.signature.empty()) return errc::signature_length_invalid;
  if (auto ec = (*key)->verify(j.signing_input, j.signature)) return ec;
  return *key;
}

result<std::string> sign_compact(const jwk& key, std::string_view payload,
                                 const json::object& extra_header) {
  // The header is written directly, byte for byte what serializing the object {alg, extra
  // members in order, kid} gives, without building that object on every signature.
  std::string header = "{\"alg\":\"";
  header += to_string(key.algorithm());  // a registered name: nothing to escape
  header += '"';
  for (const auto& kv : extra_header) {
    if (kv.key() == "alg" || kv.key() == "kid") continue;
    header += ',';
    header += json::serialize(kv.key());
    header += ':';
    header += json::serialize(kv.value());
  }
  if (!key.kid().empty()) {
    header += ",\"kid\":";
    header += json::serialize(json::string_view(key.kid()));
  }
  header += '}';
  // One allocation for the whole token: header, payload and the largest signature the key
  // can make (RSA modulus bytes; 132 covers ECDSA P-521, EdDSA and HMAC up to SHA-512).
  const auto b64_size = [](std::size_t n) { return (n * 4 + 2) / 3; };
  const std::size_t sig_max = std::max<std::size_t>(132, static_cast<std::size_t>(key.bits()) / 8 + 1);
  std::string out;
  out.reserve(b64_size(header.size()) + b64_size(payload.size()) + b64_size(sig_max) + 2);
  base64url_encode_append(header, out);
  out += '.';
  base64url_encode_append(payload, out);
  auto sig = key.sign(out);
  if (!sig) return sig.error();
  out += '.';
  base64url_encode_append(*sig, out);
  return out;
}

}  // namespace gatepass::jose
