#include "jose/claims.h"

#include <algorithm>
#include <cmath>

#include "jose/errc.h"

namespace gatepass::jose {

namespace json = boost::json;

namespace {

constexpr double max_numeric_date = 253402300799.0;  // 9999-12-31T23:59:59Z

enum class date_state { absent, ok, not_numeric, out_of_range };

date_state numeric_date(const json::object& c, std::string_view name, double& out) {
  auto it = c.find(name);
  if (it == c.end()) return date_state::absent;
  const json::value& v = it->value();
  if (v.is_int64()) out = static_cast<double>(v.get_int64());
  else if (v.is_uint64()) out = static_cast<double>(v.get_uint64());
  else if (v.is_double()) out = v.get_double();
  else return date_state::not_numeric;
  if (!std::isfinite(out) || out < 0 || out > max_numeric_date) return date_state::out_of_range;
  return date_state::ok;
}

std::error_code check_string(const json::object& c, std::string_view name, errc not_string) {
  auto it = c.find(name);
  if (it != c.end() && !it->value().is_string()) return not_string;
  return {};
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

std::error_code validate_claims(const json::object& c, const claims_policy& p, std::int64_t now) {
  // iss
  if (auto ec = check_string(c, "iss", errc::iss_not_string)) return ec;
  if (p.issuer) {
    auto it = c.find("iss");
    if (it == c.end()) return errc::iss_missing;
    if (it->value().get_string() != *p.issuer) return errc::iss_mismatch;
  }
  if (auto ec = check_string(c, "sub", errc::sub_not_string)) return ec;
  if (auto it = c.find("sub"); it != c.end() &&
                               it->value().get_string().find('\0') != json::string::npos)
    return errc::sub_invalid;
  if (auto ec = check_string(c, "jti", errc::jti_not_string)) return ec;

  // time
  const double t = static_cast<double>(now);
  const double leeway = static_cast<double>(p.leeway);
  double exp = 0, nbf = 0, iat = 0;
  switch (numeric_date(c, "exp", exp)) {
    case date_state::absent:
      if (p.require_exp) return errc::exp_missing;
      break;
    case date_state::not_numeric: return errc::exp_not_numeric;
    case date_state::out_of_range: return errc::exp_out_of_range;
    case date_state::ok:
      if (t >= exp + leeway) return errc::expired;
      break;
  }
  switch (numeric_date(c, "nbf", nbf)) {
    case date_state::absent: break;
    case date_state::not_numeric: return errc::nbf_not_numeric;
    case date_state::out_of_range: return errc::nbf_out_of_range;
    case date_state::ok:
      if (t + leeway < nbf) return errc::not_yet_valid;
      break;
  }
  switch (numeric_date(c, "iat", iat)) {
    case date_state::absent: break;
    case date_state::not_numeric: return errc::iat_not_numeric;
    case date_state::out_of_range: return errc::iat_out_of_range;
    case date_state::ok:
      if (iat > t + leeway) return errc::iat_in_future;
      break;
  }

  // aud
  auto it = c.find("aud");
  if (it != c.end()) {
    const json::value& v = it->value();
    if (const auto* arr = v.if_array()) {
      for (const auto& e : *arr)
        if (!e.is_string()) return errc::aud_invalid;
    } else if (!v.is_string()) {
      return errc::aud_invalid;
    }
  }
  if (!p.audiences.empty()) {
    if (it == c.end()) return errc::aud_missing;
    auto allowed = [&](const json::string& s) {
      return std::any_of(p.audiences.begin(), p.audiences.end(),
                         [&](const std::string& a) { return s == a; });
    };
    bool match = false;
    if (const auto* s = it->value().if_string()) {
      match = allowed(*s);
    } else {
      for (const auto& e : it->value().get_array()) match = match || allowed(e.get_string());
    }
    if (!match) return errc::aud_mismatch;
  }
  return {};
}

result<std::vector<std::string>> scopes_of(const json::object& c) {
  std::vector<std::string> out;
  for (std::string_view name : {"scope", "scp"}) {
    auto it = c.find(name);
    if (it == c.end()) continue;
    if (const auto* s = it->value().if_string()) {
      split_into(*s, out);
    } else if (const auto* arr = it->value().if_array()) {
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

}  // namespace gatepass::jose
