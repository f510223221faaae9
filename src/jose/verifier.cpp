#include "jose/verifier.h"

#include <algorithm>

#include "jose/errc.h"
#include "jose/json.h"

namespace gatepass::jose {

namespace {

// Decoded payload and signature, reused from token to token on each thread: only the JSON
// trees outlive a call, and they live in the token's own arena.
struct scratch_buffers {
  std::string payload;
  std::string signature;
  // A rare huge token (the size cap is configurable) does not pin its buffers for good.
  void trim() noexcept {
    constexpr std::size_t keep = 64 * 1024;
    if (payload.capacity() > keep) std::string().swap(payload);
    if (signature.capacity() > keep) std::string().swap(signature);
  }
};

result<verified_token> verify_with(std::string_view token, const key_set& keys,
                                   const verify_options& opt, std::int64_t now,
                                   scratch_buffers& buf) {
  // One arena for the header and claims trees: one allocation per token, not one per member.
  const auto sp = make_token_storage();
  auto jws = parse_compact(token, opt.limits, sp, buf.payload, buf.signature);
  if (!jws) return jws.error();
  if (!opt.algorithms.empty() && std::find(opt.algorithms.begin(), opt.algorithms.end(),
                                           jws->algorithm) == opt.algorithms.end())
    return errc::alg_not_allowed;
  if (opt.claims.typ && !(jws->typ && typ_matches(*jws->typ, *opt.claims.typ)))
    return errc::typ_mismatch;
  auto claims = parse_json_object(jws->payload, opt.limits.json, sp);
  if (!claims) {
    const auto e = claims.error();
    return e == errc::json_syntax || e == errc::json_not_object ? errc::payload_bad_json : e;
  }
  auto key = verify_signature(*jws, keys);
  if (!key) return key.error();
  auto scopes = validate_claims_and_scopes(*claims, opt.claims, now);
  if (!scopes) return scopes.error();
  // Move-constructed, so both trees keep the arena they were built in.
  return verified_token{std::move(jws->header), std::move(*claims), jws->algorithm,
                        jws->kid ? std::string(*jws->kid) : std::string(), std::move(*scopes)};
}

}  // namespace

result<verified_token> verify_jwt(std::string_view token, const key_set& keys,
                                  const verify_options& opt, std::int64_t now) {
  thread_local scratch_buffers buf;
  auto out = verify_with(token, keys, opt, now, buf);
  buf.trim();
  return out;
}

result<verified_token> verifier::verify(std::string_view token, std::int64_t now) const {
  return verify_jwt(token, *keys_, options_, now);
}

}  // namespace gatepass::jose
