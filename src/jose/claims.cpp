#include "jose/claims.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "jose/errc.h"

namespace gatepass::jose {

namespace json = boost::json;

namespace {

constexpr double max_numeric_date = 253402300799.0;  // 9999-12-31T23:59:59Z

enum class date_state { absent, ok, not_numeric, out_of_range };

date_state numeric_date(const scanned_member& v, double& out) {
  if (v.type == scanned_member::kind::absent) return date_state::absent;
  if (v.type != scanned_member::kind::number) return date_state::not_numeric;
  out = v.number;
  if (!std::isfinite(out) || out < 0 || out > max_numeric_date) return date_state::out_of_range;
  return date_state::ok;
}

// Indexes into registered_claim_names.
enum claim_index : std::size_t { iss, sub, jti, exp, nbf, iat, aud, scope, scp, client_id };

using registered_claims = std::array<scanned_member, registered_claim_names.size()>;

// A tree's member as json_scanner would have reported it; views point into the tree.
scanned_member member_of(const json::value& v) {
  scanned_member m;
  using kind = scanned_member::kind;
  if (const auto* s = v.if_string()) {
    m.type = kind::string;
    m.text = std::string_view(s->data(), s->size());
  } else if (v.is_int64()) {
    m.type = kind::number;
    m.number = static_cast<double>(v.get_int64());
  } else if (v.is_uint64()) {
    m.type = kind::number;
    m.number = static_cast<double>(v.get_uint64());
  } else if (v.is_double()) {
    m.type = kind::number;
    m.number = v.get_double();
  } else if (const auto* a = v.if_array()) {
    m.type = kind::array;
    for (const auto& e : *a) {
      if (const auto* es = e.if_string())
        m.items.emplace_back(es->data(), es->size());
      else
        m.strings_only = false;
    }
  } else {
    m.type = kind::other;
  }
  return m;
}

registered_claims registered_of(const json::object& c) {
  registered_claims r;
  for (const auto& m : c) {
    const std::string_view k = m.key();
    for (std::size_t i = 0; i < registered_claim_names.size(); ++i)
      if (k == registered_claim_names[i]) r[i] = member_of(m.value());
  }
  return r;
}

void split_into(std::string_view s, std::vector<std::string>& out) {
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
}

}  // namespace

bool typ_matches(std::string_view actual, std::string_view expected) noexcept {
  auto strip = [](std::string_view t) {
    constexpr std::string_view prefix = "application/";
    if (t.size() > prefix.size()) {
      bool same = true;
      for (std::size_t i = 0; i < prefix.size(); ++i)
        same &= (t[i] >= 'A' && t[i] <= 'Z' ? static_cast<char>(t[i] + 32) : t[i]) == prefix[i];
      if (same) t.remove_prefix(prefix.size());
    }
    return t;
  };
  actual = strip(actual);
  expected = strip(expected);
  if (actual.size() != expected.size()) return false;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    char a = actual[i], b = expected[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a + 32);
    if (b >= 'A' && b <= 'Z') b = static_cast<char>(b + 32);
    if (a != b) return false;
  }
  return true;
}

namespace {

std::error_code validate(std::span<const scanned_member, registered_claim_names.size()> r,
                         const claims_policy& p, std::int64_t now) {
  using kind = scanned_member::kind;
  // iss
  if (r[iss].type != kind::absent && r[iss].type != kind::string) return errc::iss_not_string;
  if (p.issuer) {
    if (r[iss].type == kind::absent) return errc::iss_missing;
    if (r[iss].text != *p.issuer) return errc::iss_mismatch;
  }
  if (r[sub].type != kind::absent && r[sub].type != kind::string) return errc::sub_not_string;
  if (r[sub].text.find('\0') != std::string_view::npos) return errc::sub_invalid;
  if (r[jti].type != kind::absent && r[jti].type != kind::string) return errc::jti_not_string;

  // time
  const double t = static_cast<double>(now);
  const double leeway = static_cast<double>(p.leeway);
  double exp_at = 0, nbf_at = 0, iat_at = 0;
  switch (numeric_date(r[exp], exp_at)) {
    case date_state::absent:
      if (p.require_exp) return errc::exp_missing;
      break;
    case date_state::not_numeric:
      return errc::exp_not_numeric;
    case date_state::out_of_range:
      return errc::exp_out_of_range;
    case date_state::ok:
      if (t >= exp_at + leeway) return errc::expired;
      break;
  }
  switch (numeric_date(r[nbf], nbf_at)) {
    case date_state::absent:
      break;
    case date_state::not_numeric:
      return errc::nbf_not_numeric;
    case date_state::out_of_range:
      return errc::nbf_out_of_range;
    case date_state::ok:
      if (t + leeway < nbf_at) return errc::not_yet_valid;
      break;
  }
  switch (numeric_date(r[iat], iat_at)) {
    case date_state::absent:
      break;
    case date_state::not_numeric:
      return errc::iat_not_numeric;
    case date_state::out_of_range:
      return errc::iat_out_of_range;
    case date_state::ok:
      if (iat_at > t + leeway) return errc::iat_in_future;
      break;
  }

  // aud
  const scanned_member& a = r[aud];
  if (a.type == kind::array ? !a.strings_only : a.type != kind::absent && a.type != kind::string)
    return errc::aud_invalid;
  if (!p.audiences.empty()) {
    auto allowed = [&](std::string_view s) {
      return std::find(p.audiences.begin(), p.audiences.end(), s) != p.audiences.end();
    };
    if (a.type == kind::absent) {
      const scanned_member& cid = r[client_id];
      if (!p.client_id_for_missing_aud || cid.type == kind::absent) return errc::aud_missing;
      if (cid.type != kind::string) return errc::aud_invalid;
      return allowed(cid.text) ? std::error_code() : std::error_code(errc::aud_mismatch);
    }
    const bool match = a.type == kind::string
                           ? allowed(a.text)
                           : std::any_of(a.items.begin(), a.items.end(), allowed);
    if (!match) return errc::aud_mismatch;
  }
  return {};
}

result<std::vector<std::string>> scopes(
    std::span<const scanned_member, registered_claim_names.size()> r) {
  using kind = scanned_member::kind;
  std::vector<std::string> out;
  if (r[scope].type != kind::absent || r[scp].type != kind::absent)
    out.reserve(8);  // one allocation for most tokens
  for (const scanned_member* v : {&r[scope], &r[scp]}) {
    if (v->type == kind::absent) continue;
    if (v->type == kind::string) {
      split_into(v->text, out);
    } else if (v->type == kind::array && v->strings_only) {
      for (const auto s : v->items) split_into(s, out);
    } else {
      return errc::scope_invalid;
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

std::error_code validate_claims(const json::object& c, const claims_policy& p, std::int64_t now) {
  return validate(registered_of(c), p, now);
}

result<std::vector<std::string>> scopes_of(const json::object& c) {
  return scopes(registered_of(c));
}

result<std::vector<std::string>> validate_claims_and_scopes(const json::object& c,
                                                            const claims_policy& p,
                                                            std::int64_t now) {
  const registered_claims r = registered_of(c);
  return validate_claims_and_scopes(r, p, now);
}

result<std::vector<std::string>> validate_claims_and_scopes(
    std::span<const scanned_member, registered_claim_names.size()> claims, const claims_policy& p,
    std::int64_t now) {
  if (auto ec = validate(claims, p, now)) return ec;
  return scopes(claims);
}

}  // namespace gatepass::jose
