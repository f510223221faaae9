#include "jose/json.h"

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <functional>
#include <memory>

#include "jose/errc.h"

namespace gatepass::jose {
namespace {

namespace json = boost::json;

// Builds the tree exactly as json::parser does (the same value_stack calls) and counts member
// names as the text spells them, in one pass. Boost.JSON keeps the last of duplicate names, so
// the tree then holds fewer members than the text: that difference is exactly the duplicate
// check, without a second parse and without a second copy of any key.
struct tree_builder {
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();
  json::value_stack st;
  std::size_t keys = 0;
  tree_builder(unsigned char* temp, std::size_t size) : st(json::storage_ptr(), temp, size) {}
  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    st.push_key(s);
    ++keys;
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view, json::error_code&) {
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

std::size_t count_members(const json::value& v) {
  std::size_t n = 0;
  if (const auto* o = v.if_object()) {
    n += o->size();
    for (const auto& kv : *o) n += count_members(kv.value());
  } else if (const auto* a = v.if_array()) {
    for (const auto& e : *a) n += count_members(e);
  }
  return n;
}

bool valid_utf8(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t len;
    unsigned min;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      min = 0x80;
      c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      min = 0x800;
      c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      min = 0x10000;
      c &= 0x07;
    } else
      return false;
    if (static_cast<std::size_t>(end - p) < len) return false;
    for (std::size_t i = 1; i < len; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      c = (c << 6) | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return false;
    p += len;
  }
  return true;
}

// True when a \uD800-\uDBFF escape is not followed by "\u": Boost.JSON reports that unpaired
// surrogate as a plain syntax error (other unpaired forms get their own codes).
bool has_unpaired_high_surrogate_escape(std::string_view t) noexcept {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i + 1 < t.size(); ++i) {
    if (t[i] != '\\') continue;
    if (t[i + 1] != 'u' || i + 6 > t.size()) {
      ++i;  // a two-character escape such as \\ or \"
      continue;
    }
    int v = 0;
    for (std::size_t k = i + 2; k < i + 6 && v >= 0; ++k)
      v = hex(t[k]) < 0 ? -1 : v * 16 + hex(t[k]);
    if (v >= 0xd800 && v <= 0xdbff && (i + 8 > t.size() || t[i + 6] != '\\' || t[i + 7] != 'u'))
      return true;
    i += 5;
  }
  return false;
}

std::error_code map_error(const json::error_code& ec, std::string_view text) {
  if (ec == json::error::too_deep) return errc::json_too_deep;
  if (ec == json::error::illegal_leading_surrogate || ec == json::error::illegal_trailing_surrogate)
    return errc::json_invalid_utf8;
  if (ec == json::error::syntax && has_unpaired_high_surrogate_escape(text))
    return errc::json_invalid_utf8;
  return errc::json_syntax;
}

}  // namespace

result<json::object> parse_json_object(std::string_view text, const json_limits& limits,
                                       json::storage_ptr sp) {
  json::parse_options opt;
  opt.max_depth = limits.max_depth;
  // Boost.JSON rejects invalid UTF-8 (overlong forms, surrogates, above U+10FFFF) but reports
  // it as a plain syntax error, so a failed parse is re-checked here for the precise reason.
  // A text that parses is valid UTF-8: outside strings the grammar allows ASCII only.
  unsigned char temp[2048];  // the value stack's scratch: no heap for small documents
  json::basic_parser<tree_builder> parser(opt, temp, sizeof temp);
  parser.handler().st.reset(std::move(sp));
  json::error_code ec;
  const std::size_t n = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && n < text.size()) ec = json::error::extra_data;
  if (ec) return valid_utf8(text) ? map_error(ec, text) : errc::json_invalid_utf8;
  json::value v = parser.handler().st.release();
  auto* obj = v.if_object();
  if (obj == nullptr) return errc::json_not_object;
  if (count_members(v) != parser.handler().keys) return errc::json_duplicate_member;
  return std::move(*obj);
}

// Equality for the short member names of a token, inline: a library memcmp per comparison
// costs more than the comparison.
namespace {
bool same_name(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}
}  // namespace

// The SAX side of json_scanner: the same events tree_builder gets, but instead of a tree it
// keeps the member names of the open objects (checked for duplicates when each object closes)
// and the values of the requested top-level members.
struct json_scanner::handler {
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json_scanner& s;
  std::string_view text;
  std::span<const std::string_view> names;
  std::span<scanned_member> out;
  std::size_t depth = 0;
  bool top_is_object = false;
  bool duplicate = false;
  scanned_member* member = nullptr;  // the requested top-level member whose value comes next
  scanned_member* array = nullptr;   // the requested member whose array is open at depth 2

  handler(json_scanner& sc, std::string_view t, std::span<const std::string_view> n,
          std::span<scanned_member> o)
      : s(sc), text(t), names(n), out(o) {}

  // A view that stays valid: into the text when the parser handed out the text's own bytes
  // (an unescaped string), otherwise a copy owned by the scanner.
  std::string_view keep(json::string_view v) {
    const std::string_view sv(v.data(), v.size());
    if (s.part_.empty()) {
      const std::less_equal<const char*> le;
      if (le(text.data(), sv.data()) && le(sv.data() + sv.size(), text.data() + text.size()))
        return sv;
      return s.owned_.emplace_back(sv);
    }
    s.part_.append(sv);
    std::string_view kept = s.owned_.emplace_back(std::move(s.part_));
    s.part_.clear();
    return kept;
  }

  // A scalar value: where it lands, if anywhere.
  scanned_member* scalar_target() {
    if (depth == 1) {
      auto* m = member;
      member = nullptr;
      return m;
    }
    return nullptr;
  }
  void container_begin(bool is_object) {
    if (depth == 0) {
      top_is_object = is_object;
    } else if (depth == 1) {
      if (member != nullptr) {
        member->type = is_object ? scanned_member::kind::other : scanned_member::kind::array;
        if (!is_object) array = member;
      }
      member = nullptr;
    } else if (depth == 2 && array != nullptr) {
      array->strings_only = false;
    }
    ++depth;
  }
  void container_end() {
    if (--depth == 1) array = nullptr;
  }
  void non_string_scalar(scanned_member::kind k, double number = 0) {
    if (auto* m = scalar_target()) {
      m->type = k;
      m->number = number;
    } else if (depth == 2 && array != nullptr) {
      array->strings_only = false;
    }
  }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    container_begin(true);
    return true;
  }
  bool on_object_end(std::size_t n, json::error_code&) {
    // This object's member names are the last n: pairwise for a small object, sorted for a big
    // one, so a text packed with names costs n log n, not n squared.
    auto& k = s.keys_;
    const auto first = k.end() - static_cast<std::ptrdiff_t>(n);
    if (n <= 16) {
      for (auto i = first; i != k.end() && !duplicate; ++i)
        for (auto j = i + 1; j != k.end() && !duplicate; ++j) duplicate = same_name(*i, *j);
    } else if (!duplicate) {
      std::sort(first, k.end());
      duplicate = std::adjacent_find(first, k.end()) != k.end();
    }
    k.erase(first, k.end());
    container_end();
    return true;
  }
  bool on_array_begin(json::error_code&) {
    container_begin(false);
    return true;
  }
  bool on_array_end(std::size_t, json::error_code&) {
    container_end();
    return true;
  }
  bool on_key_part(json::string_view p, std::size_t, json::error_code&) {
    s.part_.append(p.data(), p.size());
    return true;
  }
  bool on_key(json::string_view p, std::size_t, json::error_code&) {
    const std::string_view key = keep(p);
    s.keys_.push_back(key);
    if (depth == 1) {
      member = nullptr;
      for (std::size_t i = 0; i < names.size(); ++i)
        if (same_name(names[i], key)) member = &out[i];
    }
    return true;
  }
  bool on_string_part(json::string_view p, std::size_t, json::error_code&) {
    s.part_.append(p.data(), p.size());
    return true;
  }
  bool on_string(json::string_view p, std::size_t, json::error_code&) {
    if (auto* m = scalar_target()) {
      m->type = scanned_member::kind::string;
      m->text = keep(p);
    } else if (depth == 2 && array != nullptr) {
      array->items.push_back(keep(p));
    } else {
      s.part_.clear();
    }
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    non_string_scalar(scanned_member::kind::number, static_cast<double>(i));
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    non_string_scalar(scanned_member::kind::number, static_cast<double>(u));
    return true;
  }
  bool on_double(double d, json::string_view, json::error_code&) {
    non_string_scalar(scanned_member::kind::number, d);
    return true;
  }
  bool on_bool(bool, json::error_code&) {
    non_string_scalar(scanned_member::kind::other);
    return true;
  }
  bool on_null(json::error_code&) {
    non_string_scalar(scanned_member::kind::other);
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

result<json::object> reparse_json_object(std::string_view text) {
  return parse_json_object(text, json_limits{text.size() + 1});
}

std::error_code json_scanner::scan(std::string_view text, const json_limits& limits,
                                   std::span<const std::string_view> names,
                                   std::span<scanned_member> out) {
  keys_.clear();
  owned_.clear();
  part_.clear();
  for (auto& m : out) {  // reset, keeping the items' capacity for the next token
    m.type = scanned_member::kind::absent;
    m.text = {};
    m.number = 0;
    m.strings_only = true;
    m.items.clear();
  }
  json::parse_options opt;
  opt.max_depth = limits.max_depth;
  json::basic_parser<handler> parser(opt, *this, text, names, out);
  json::error_code ec;
  const std::size_t n = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && n < text.size()) ec = json::error::extra_data;
  if (ec) return valid_utf8(text) ? map_error(ec, text) : errc::json_invalid_utf8;
  if (!parser.handler().top_is_object) return errc::json_not_object;
  if (parser.handler().duplicate) return errc::json_duplicate_member;
  return {};
}

}  // namespace gatepass::jose
