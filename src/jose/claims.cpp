#include "jose/claims.h"

#include <algorithm>
#include <cmath>

#include "jose/errc.h"

namespace gatepass::jose {

namespace json = boost::json;

namespace {

constexpr double max_numeric_date = 253402300799.0;  // 9999-12-31T23:59:59Z

enum class date_state { absent, ok, not_numeric, out_of_range };

date_state numeric_date(const json::value* v, double& out) {
  if (v == nullptr) return date_state::absent;
  if (v->is_int64())
    out = static_cast<double>(v->get_int64());
  else if (v->is_uint64())
    out = static_cast<double>(v->get_uint64());
  else if (v->is_double())
    out = v->get_double();
  else
    return date_state::not_numeric;
  if (!std::isfinite(out) || out < 0 || out > max_numeric_date) return date_state::out_of_range;
  return date_state::ok;
}

// The registered claims this file reads, found in one pass over the members instead of one
// lookup per name (each a scan of the object when it is small, as a token's claims are).
struct registered_claims {
  const json::value* iss = nullptr;
  const json::value* sub = nullptr;
  const json::value* jti = nullptr;
  const json::value* exp = nullptr;
  const json::value* nbf = nullptr;
  const json::value* iat = nullptr;
  const json::value* aud = nullptr;
  const json::value* scope = nullptr;
  const json::value* scp = nullptr;
};

registered_claims registered_of(const json::object& c) noexcept {
  registered_claims r;
  for (const auto& m : c) {
    const std::string_view k = m.key();
    const json::value* v = &m.value();
    if (k.size() == 3) {
      if (k == "iss")
        r.iss = v;
      else if (k == "sub")
        r.sub = v;
      else if (k == "jti")
        r.jti = v;
      else if (k == "exp")
        r.exp = v;
      else if (k == "nbf")
        r.nbf = v;
      else if (k == "iat")
        r.iat = v;
      else if (k == "aud")
        r.aud = v;
      else if (k == "scp")
        r.scp = v;
    } else if (k == "scope") {
      r.scope = v;
    }
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

std::error_code validate(const registered_claims& r, const claims_policy& p, std::int64_t now) {
  // iss
  if (r.iss != nullptr && !r.iss->is_string()) return errc::iss_not_string;
  if (p.issuer) {
    if (r.iss == nullptr) return errc::iss_missing;
    if (r.iss->get_string() != *p.issuer) return errc::iss_mismatch;
  }
  if (r.sub != nullptr && !r.sub->is_string()) return errc::sub_not_string;
  if (r.sub != nullptr && r.sub->get_string().find('\0') != json::string::npos)
    return errc::sub_invalid;
  if (r.jti != nullptr && !r.jti->is_string()) return errc::jti_not_string;

  // time
  const double t = static_cast<double>(now);
  const double leeway = static_cast<double>(p.leeway);
  double exp = 0, nbf = 0, iat = 0;
  switch (numeric_date(r.exp, exp)) {
    case date_state::absent:
      if (p.require_exp) return errc::exp_missing;
      break;
    case date_state::not_numeric:
      return errc::exp_not_numeric;
    case date_state::out_of_range:
      return errc::exp_out_of_range;
    case date_state::ok:
      if (t >= exp + leeway) return errc::expired;
      break;
  }
  switch (numeric_date(r.nbf, nbf)) {
    case date_state::absent:
      break;
    case date_state::not_numeric:
      return errc::nbf_not_numeric;
    case date_state::out_of_range:
      return errc::nbf_out_of_range;
    case date_state::ok:
      if (t + leeway < nbf) return errc::not_yet_valid;
      break;
  }
  switch (numeric_date(r.iat, iat)) {
    case date_state::absent:
      break;
    case date_state::not_numeric:
      return errc::iat_not_numeric;
    case date_state::out_of_range:
      return errc::iat_out_of_range;
    case date_state::ok:
      if (iat > t + leeway) return errc::iat_in_future;
      break;
  }

  // aud
  if (r.aud != nullptr) {
    if (const auto* arr = r.aud->if_array()) {
      for (const auto& e : *arr)
        if (!e.is_string()) return errc::aud_invalid;
    } else if (!r.aud->is_string()) {
      return errc::aud_invalid;
    }
  }
  if (!p.audiences.empty()) {
    if (r.aud == nullptr) return errc::aud_missing;
    auto allowed = [&](const json::string& s) {
      return std::any_of(p.audiences.begin(), p.audiences.end(),
                         [&](const std::string& a) { return s == a; });
    };
    bool match = false;
    if (const auto* s = r.aud->if_string()) {
      match = allowed(*s);
    } else {
      for (const auto& e : r.aud->get_array()) match = match || allowed(e.get_string());
    }
    if (!match) return errc::aud_mismatch;
  }
  return {};
}

result<std::vector<std::string>> scopes(const registered_claims& r) {
  std::vector<std::string> out;
  if (r.scope != nullptr || r.scp != nullptr) out.reserve(8);  // one allocation for most tokens
  for (const json::value* v : {r.scope, r.scp}) {
    if (v == nullptr) continue;
    if (const auto* s = v->if_string()) {
      split_into(*s, out);
    } else if (const auto* arr = v->if_array()) {
      for (const auto& e : *arr) {
        const auto* es = e.if_string();
        if (es == nullptr) return errc::scope_invalid;
        split_into(*es, out);
      }
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
  if (auto ec = validate(r, p, now)) return ec;
  return scopes(r);
}

}  // namespace gatepass::jose
