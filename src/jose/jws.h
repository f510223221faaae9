// JWS compact serialization (RFC 7515 §3.1, §5.2, §7.1), parsed strictly: a size cap first,
// exactly three segments, strict base64url, a JSON-object header with a registered alg.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "jose/algorithm.h"
#include "jose/json.h"
#include "jose/key_set.h"

namespace gatepass::jose {

struct jws_limits {
  std::size_t max_token_size = 16 * 1024;
  json_limits json;
};

/// A parsed token. Views point into the caller's token text, which must outlive it.
struct compact_jws {
  std::string_view signing_input;  // "header.payload" as sent
  std::string_view payload_b64;
  boost::json::object header;
  std::string payload;    // decoded
  std::string signature;  // decoded
  alg algorithm = alg::rs256;
  std::optional<std::string_view> kid;  // points into `header`
  std::optional<std::string_view> typ;  // points into `header`
};

/// A parsed token whose decoded header, payload and signature live in buffers the caller owns.
/// Views point into the token text, those buffers and the header scanner.
struct compact_jws_view {
  std::string_view signing_input;
  std::string_view payload_b64;
  std::string_view header_json;  // decoded
  std::string_view payload;      // decoded
  std::string_view signature;
  alg algorithm = alg::rs256;
  std::optional<std::string_view> kid;
  std::optional<std::string_view> typ;
};

/// Splits, decodes and checks the header (alg, kid, crit, b64, header keys, cty).
/// Does not verify the signature.
result<compact_jws> parse_compact(std::string_view token, const jws_limits& limits = {});

/// The same checks in the same order, for the verifier's hot path: no header tree is built
/// (`header_scanner` reads the members it checks), the header and payload JSON are decoded one
/// after the other into `text_buf` (which the verified token keeps), and the signature into
/// `signature_buf`; the caller reuses the scanner and `signature_buf` from token to token.
result<compact_jws_view> parse_compact(std::string_view token, const jws_limits& limits,
                                       json_scanner& header_scanner, std::string& text_buf,
                                       std::string& signature_buf);

/// Picks the key by kid and checks the signature with the key's pinned algorithm.
/// Returns the key used.
result<const jwk*> verify_signature(const compact_jws& jws, const key_set& keys);
result<const jwk*> verify_signature(const compact_jws_view& jws, const key_set& keys);

/// Signs `payload` with `key`: the header gets "alg" (the key's) and "kid" (when the key has
/// one) in addition to `extra_header` (e.g. typ).
result<std::string> sign_compact(const jwk& key, std::string_view payload,
                                 const boost::json::object& extra_header = {});

}  // namespace gatepass::jose
