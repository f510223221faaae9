#include "jose/json.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parser.hpp>

#include "jose/errc.h"

namespace gatepass::jose {
namespace {

namespace json = boost::json;

// Counts member names as the text spells them. Boost.JSON keeps the last of duplicate
// names, so the parsed tree then holds fewer members than the text: that difference is
// exactly the duplicate check, without a second copy of any key.
struct key_counter {
  constexpr static std::size_t max_object_size = std::size_t(-1);
  constexpr static std::size_t max_array_size = std::size_t(-1);
  constexpr static std::size_t max_key_size = std::size_t(-1);
  constexpr static std::size_t max_string_size = std::size_t(-1);
  std::size_t keys = 0;
  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t, json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t, json::error_code&) { return true; }
  bool on_key_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_key(json::string_view, std::size_t, json::error_code&) {
    ++keys;
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return true; }
  bool on_double(double, json::string_view, json::error_code&) { return true; }
  bool on_bool(bool, json::error_code&) { return true; }
  bool on_null(json::error_code&) { return true; }
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

std::error_code map_error(const json::error_code& ec) {
  if (ec == json::error::too_deep) return errc::json_too_deep;
  if (ec == json::error::illegal_leading_surrogate || ec == json::error::illegal_trailing_surrogate)
    return errc::json_invalid_utf8;
  return errc::json_syntax;
}

}  // namespace

result<json::object> parse_json_object(std::string_view text, const json_limits& limits) {
  json::parse_options opt;
  opt.max_depth = limits.max_depth;
  // UTF-8 first: Boost.JSON reports invalid UTF-8 as a plain syntax error, so check it here
  // to give the precise reason.
  {
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
      if ((c & 0xe0) == 0xc0) { len = 2; min = 0x80; c &= 0x1f; }
      else if ((c & 0xf0) == 0xe0) { len = 3; min = 0x800; c &= 0x0f; }
      else if ((c & 0xf8) == 0xf0) { len = 4; min = 0x10000; c &= 0x07; }
      else return errc::json_invalid_utf8;
      if (static_cast<std::size_t>(end - p) < len) return errc::json_invalid_utf8;
      for (std::size_t i = 1; i < len; ++i) {
        if ((p[i] & 0xc0) != 0x80) return errc::json_invalid_utf8;
        c = (c << 6) | (p[i] & 0x3f);
      }
      if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return errc::json_invalid_utf8;
      p += len;
    }
  }
  json::basic_parser<key_counter> counter(opt);
  json::error_code ec;
  counter.write_some(false, text.data(), text.size(), ec);
  if (ec) return map_error(ec);
  json::parser parser(json::storage_ptr(), opt);
  parser.write(text.data(), text.size(), ec);
  if (ec) return map_error(ec);
  json::value v = parser.release();
  auto* obj = v.if_object();
  if (obj == nullptr) return errc::json_not_object;
  if (count_members(v) != counter.handler().keys) return errc::json_duplicate_member;
  return std::move(*obj);
}

}  // namespace gatepass::jose
