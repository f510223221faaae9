#include "jose/verifier.h"

#include <algorithm>

#include "jose/errc.h"

namespace gatepass::jose {

result<verified_token> verify_jwt(std::string_view token, const key_set& keys,
                                  const verify_options& opt, std::int64_t now) {
  auto jws = parse_compact(token, opt.limits);
  if (!jws) return jws.error();
  if (!opt.algorithms.empty() &&
      std::find(opt.algorithms.begin(), opt.algorithms.end(), jws->algorithm) ==
          opt.algorithms.end())
    return errc::alg_not_allowed;
  if (opt.claims.typ && !(jws->typ && typ_matches(*jws->typ, *opt.claims.typ)))
    return errc::typ_mismatch;
  auto claims = parse_json_object(jws->payload, opt.limits.json);
  if (!claims) {
    const auto e = claims.error();
    return e == errc::json_syntax || e == errc::json_not_object ? errc::payload_bad_json : e;
  }
  auto key = verify_signature(*jws, keys);
  if (!key) return key.error();
  if (auto ec = validate_claims(*claims, opt.claims, now)) return ec;
  auto scopes = scopes_of(*claims);
  if (!scopes) return scopes.error();
  verified_token out;
  out.algorithm = jws->algorithm;
  out.kid = jws->kid ? std::string(*jws->kid) : std::string();
  out.header = std::move(jws->header);
  out.claims = std::move(*claims);
  out.scopes = std::move(*scopes);
  return out;
}

result<verified_token> verifier::verify(std::string_view token, std::int64_t now) const {
  return verify_jwt(token, *keys_, options_, now);
}

}  // namespace gatepass::jose
