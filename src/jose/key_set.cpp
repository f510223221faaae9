#include "jose/key_set.h"

#include <boost/json/array.hpp>
#include <unordered_map>

#include "jose/errc.h"
#include "jose/json.h"

namespace gatepass::jose {

namespace json = boost::json;

result<key_set> key_set::parse(std::string_view text, const jwk_parse_options& opt) {
  json_limits limits;
  limits.max_depth = 8;
  auto doc = parse_json_object(text, limits);
  if (!doc) return errc::jwks_bad_json;
  auto it = doc->find("keys");
  if (it == doc->end() || !it->value().is_array()) return errc::jwks_no_keys;
  return parse(*doc, opt);
}

key_set key_set::parse(const json::object& doc, const jwk_parse_options& opt) {
  key_set set;
  auto it = doc.find("keys");
  if (it == doc.end() || !it->value().is_array()) return set;
  std::vector<std::pair<std::size_t, jwk>> good;
  const auto& arr = it->value().get_array();
  for (std::size_t i = 0; i < arr.size(); ++i) {
    std::string kid;
    const auto* o = arr[i].if_object();
    if (o != nullptr)
      if (auto k = o->find("kid"); k != o->end() && k->value().is_string())
        kid = std::string(k->value().get_string());
    if (o == nullptr) {
      set.dropped_.push_back({i, kid, errc::key_member_invalid});
      continue;
    }
    auto key = jwk::parse(*o, opt);
    if (!key) {
      set.dropped_.push_back({i, kid, key.error()});
      continue;
    }
    good.emplace_back(i, std::move(*key));
  }
  // A kid shared with a dropped key is still ambiguous: the publisher meant two keys under
  // one kid, so that kid resolves to neither (Wycheproof rejectsDuplicateKid, tc 4).
  std::vector<std::pair<std::size_t, jwk>> unambiguous;
  for (auto& [i, k] : good) {
    bool shared = false;
    for (const auto& d : set.dropped_) shared |= !k.kid().empty() && d.kid == k.kid();
    if (shared)
      set.dropped_.push_back({i, k.kid(), errc::key_duplicate_kid});
    else
      unambiguous.emplace_back(i, std::move(k));
  }
  set.add_all(std::move(unambiguous));
  return set;
}

key_set key_set::from_keys(std::vector<jwk> keys) {
  key_set set;
  std::vector<std::pair<std::size_t, jwk>> good;
  for (std::size_t i = 0; i < keys.size(); ++i) good.emplace_back(i, std::move(keys[i]));
  set.add_all(std::move(good));
  return set;
}

void key_set::add_all(std::vector<std::pair<std::size_t, jwk>> candidates) {
  // A kid that names two keys is ambiguous: neither is trusted (Wycheproof rejectsDuplicateKid).
  std::unordered_map<std::string, int> kid_count;
  bool has_asym = false;
  for (const auto& [i, k] : candidates) {
    if (!k.kid().empty()) ++kid_count[k.kid()];
    has_asym |= k.kty() != key_type::oct;
  }
  for (auto& [i, k] : candidates) {
    if (!k.kid().empty() && kid_count[k.kid()] > 1) {
      dropped_.push_back({i, k.kid(), errc::key_duplicate_kid});
    } else if (k.kty() == key_type::oct && has_asym) {
      // secrets never share a set with public keys (Wycheproof jws_mixedSymmetryKeyset)
      dropped_.push_back({i, k.kid(), errc::key_mixed_symmetry});
    } else {
      keys_.push_back(std::move(k));
    }
  }
}

result<const jwk*> key_set::select(std::optional<std::string_view> kid) const {
  if (keys_.empty()) return errc::jwks_no_valid_keys;
  if (!kid) {
    if (keys_.size() == 1) return &keys_.front();
    return errc::kid_required;
  }
  for (const auto& k : keys_)
    if (k.kid() == *kid) return &k;
  // a lone key published without a kid matches any kid (jwt_verify_lib, Envoy)
  if (keys_.size() == 1 && keys_.front().kid().empty()) return &keys_.front();
  return errc::kid_unknown;
}

json::object key_set::to_json() const {
  json::array arr;
  for (const auto& k : keys_) arr.push_back(k.to_public_json());
  json::object o;
  o["keys"] = std::move(arr);
  return o;
}

}  // namespace gatepass::jose
