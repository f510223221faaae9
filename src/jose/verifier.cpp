#include "jose/verifier.h"

#include <algorithm>
#include <array>

#include "jose/errc.h"
#include "jose/json.h"

namespace gatepass::jose {

namespace {

// What the verifier reuses from token to token on each thread: the decoded signature and the
// claims scanner's buffers. Only the token's JSON text outlives a call, moved into the result.
struct scratch_buffers {
  std::string signature;
  json_scanner header_scanner;
  json_scanner scanner;
  std::array<scanned_member, registered_claim_names.size()> claims;
  // A rare huge token (the size cap is configurable) does not pin its buffers for good.
  void trim() noexcept {
    constexpr std::size_t keep = 64 * 1024;
    if (signature.capacity() > keep) std::string().swap(signature);
  }
};

result<verified_token> verify_with(std::string_view token, const key_set& keys,
                                   const verify_options& opt, std::int64_t now,
                                   scratch_buffers& buf) {
  std::string text;
  auto jws = parse_compact(token, opt.limits, buf.header_scanner, text, buf.signature);
  if (!jws) return jws.error();
  if (!opt.algorithms.empty() && std::find(opt.algorithms.begin(), opt.algorithms.end(),
                                           jws->algorithm) == opt.algorithms.end())
    return errc::alg_not_allowed;
  if (opt.claims.typ && !(jws->typ && typ_matches(*jws->typ, *opt.claims.typ)))
    return errc::typ_mismatch;
  if (auto e = buf.scanner.scan(jws->payload, opt.limits.json, registered_claim_names, buf.claims))
    return e == errc::json_syntax || e == errc::json_not_object ? errc::payload_bad_json : e;
  auto key = verify_signature(*jws, keys);
  if (!key) return key.error();
  auto scopes = validate_claims_and_scopes(buf.claims, opt.claims, now);
  if (!scopes) return scopes.error();
  const std::size_t header_size = jws->header_json.size();
  verified_token out(std::move(text), header_size);
  out.algorithm = jws->algorithm;
  if (jws->kid) out.kid = *jws->kid;
  out.scopes = std::move(*scopes);
  constexpr std::size_t exp_index = 3;
  static_assert(registered_claim_names[exp_index] == "exp");
  if (const auto& exp = buf.claims[exp_index]; exp.type == scanned_member::kind::number)
    out.exp = exp.number;
  return out;
}

}  // namespace

result<verified_token> verify_jwt(std::string_view token, const key_set& keys,
                                  const verify_options& opt, std::int64_t now) {
  thread_local scratch_buffers buf;
  auto out = verify_with(token, keys, opt, now, buf);
  buf.trim();
  return out;
}

namespace {

boost::json::object reparse(std::string_view text) {
  auto o = reparse_json_object(text);  // checked at verification: it parses
  return o ? std::move(*o) : boost::json::object();
}

}  // namespace

boost::json::object verified_token::header() const {
  return reparse(header_json());
}

boost::json::object verified_token::claims() const {
  return reparse(claims_json());
}

result<verified_token> verifier::verify(std::string_view token, std::int64_t now) const {
  return verify_jwt(token, *keys_, options_, now);
}

}  // namespace gatepass::jose
