#include "jose/jws.h"

#include <algorithm>
#include <array>
#include <boost/json/serializer.hpp>
#include <span>

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

// The header members check_header reads, found by the scanner in one pass.
constexpr std::array<std::string_view, 10> header_names{"alg", "kid", "typ", "cty", "crit",
                                                        "b64", "jwk", "jku", "x5u", "x5c"};
enum header_index : std::size_t {
  h_alg,
  h_kid,
  h_typ,
  h_cty,
  h_crit,
  h_b64,
  h_jwk,
  h_jku,
  h_x5u,
  h_x5c
};

// The checks in their fixed order over the scanned members.
std::error_code check_header(compact_jws_view& j,
                             std::span<const scanned_member, header_names.size()> h) {
  using kind = scanned_member::kind;
  if (h[h_alg].type == kind::absent) return errc::alg_missing;
  if (h[h_alg].type != kind::string) return errc::alg_not_string;
  if (iequals(h[h_alg].text, "none")) return errc::alg_none;
  auto parsed = alg_from_string(h[h_alg].text);
  if (!parsed) return errc::alg_unsupported;
  j.algorithm = *parsed;
  if (h[h_kid].type != kind::absent) {
    if (h[h_kid].type != kind::string) return errc::kid_not_string;
    j.kid = h[h_kid].text;
  }
  // Keys named or carried by the token are never used and never fetched (RFC 8725 §3.10).
  for (const auto i : {h_jwk, h_jku, h_x5u, h_x5c})
    if (h[i].type != kind::absent) return errc::header_key_forbidden;
  if (h[h_crit].type != kind::absent) {
    // Rare: crit's names are checked against the whole header, so build it.
    auto tree = reparse_json_object(j.header_json);
    if (!tree) return errc::header_bad_json;
    if (auto ec = check_crit(*tree)) return ec;
  }
  if (h[h_b64].type != kind::absent) return errc::b64_unsupported;
  if (h[h_cty].type == kind::string &&
      (iequals(h[h_cty].text, "JWT") || iequals(h[h_cty].text, "application/jwt")))
    return errc::nested_jwt;
  if (h[h_typ].type != kind::absent) {
    if (h[h_typ].type != kind::string) return errc::typ_not_string;
    j.typ = h[h_typ].text;
  }
  return {};
}

}  // namespace

result<compact_jws_view> parse_compact(std::string_view token, const jws_limits& limits,
                                       json_scanner& header_scanner, std::string& text_buf,
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

  // Header and payload JSON side by side in one buffer: one allocation for both texts.
  const std::size_t header_len = base64url_decoded_size(header_b64.size());
  const std::size_t payload_len = base64url_decoded_size(payload_b64.size());
  text_buf.resize(header_len + payload_len);
  char* const header_json = text_buf.data();
  if (!base64url_decode(header_b64, header_json)) return errc::header_bad_base64;
  std::array<scanned_member, header_names.size()> members;
  if (const auto e = header_scanner.scan(std::string_view(header_json, header_len), limits.json,
                                         header_names, members))
    return e == errc::json_syntax || e == errc::json_not_object ? errc::header_bad_json : e;
  if (!base64url_decode(payload_b64, header_json + header_len)) return errc::payload_bad_base64;
  if (!base64url_decode(sig_b64, signature_buf)) return errc::signature_bad_base64;
  compact_jws_view j{token.substr(0, d2),
                     payload_b64,
                     std::string_view(header_json, header_len),
                     std::string_view(header_json + header_len, payload_len),
                     signature_buf,
                     alg::rs256,
                     std::nullopt,
                     std::nullopt};
  if (auto ec = check_header(j, members)) return ec;
  return j;
}

result<compact_jws> parse_compact(std::string_view token, const jws_limits& limits) {
  std::string text, signature;
  json_scanner scanner;
  auto v = parse_compact(token, limits, scanner, text, signature);
  if (!v) return v.error();
  // The header text passed the same checks, so it parses; kid and typ then point into the tree.
  auto header = reparse_json_object(v->header_json);
  if (!header) return errc::header_bad_json;
  compact_jws out{v->signing_input,     v->payload_b64, std::move(*header), std::string(v->payload),
                  std::move(signature), v->algorithm,   std::nullopt,       std::nullopt};
  auto view_of = [&](std::string_view name) -> std::optional<std::string_view> {
    const auto* s = out.header.if_contains(name);
    if (s == nullptr || !s->is_string()) return std::nullopt;
    return std::string_view(s->get_string().data(), s->get_string().size());
  };
  if (v->kid) out.kid = view_of("kid");
  if (v->typ) out.typ = view_of("typ");
  return out;
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
