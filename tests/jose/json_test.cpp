// Strict JSON for JOSE (RFC 8259, RFC 7515 §5.2, RFC 8725 §3.7): one object, valid UTF-8, no
// duplicate members, bounded depth. Negative cases as {name, input, expected errc}.
#include "jose/json.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "jose/errc.h"
#include "support/test_keys.h"

namespace gatepass::jose {
namespace {

using test::describe;

std::string nested(std::size_t depth) {
  // `depth` nested objects: {"a":{"a":...{}...}}
  std::string s;
  for (std::size_t i = 1; i < depth; ++i) s += "{\"a\":";
  s += "{}";
  s.append(depth - 1, '}');
  return s;
}

std::string nested_arrays(std::size_t depth) {
  // one object holding depth-1 nested arrays
  std::string s = "{\"a\":";
  s.append(depth - 1, '[');
  s.append(depth - 1, ']');
  s += '}';
  return s;
}

TEST(Json, ParsesAnObject) {
  auto r =
      parse_json_object(R"({"alg":"RS256","n":1,"a":[1,{"b":null}],"u":"\u00e9\ud83d\ude00"})");
  ASSERT_TRUE(r) << describe(r.error());
  EXPECT_EQ(r->at("alg").as_string(), "RS256");
  EXPECT_EQ(r->at("u").as_string(), "\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(Json, AcceptsValidMultibyteUtf8AndSurroundingWhitespace) {
  // 2-, 3- and 4-octet sequences at the edges of their ranges, U+FFFF and U+10FFFF
  auto r = parse_json_object(
      " \t\r\n{\"k\":\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"
      "\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"} \n");
  ASSERT_TRUE(r) << describe(r.error());
}

TEST(Json, EmptyObjectIsAnObject) {
  auto r = parse_json_object("{}");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
}

TEST(Json, EscapedSurrogatePairsAndBackslashesAreFine) {
  EXPECT_TRUE(parse_json_object(R"({"a":"\ud800\udc00","b":"\\ud800","\ud83d\ude00":1})"));
}

TEST(Json, SameNameInDifferentObjectsIsNotADuplicate) {
  auto r = parse_json_object(R"({"a":{"a":1},"b":[{"a":1},{"a":2}]})");
  ASSERT_TRUE(r) << describe(r.error());
}

TEST(Json, DepthLimitIsInclusive) {
  EXPECT_TRUE(parse_json_object(nested(16)));
  EXPECT_TRUE(parse_json_object(nested_arrays(16)));
  json_limits tight;
  tight.max_depth = 2;
  EXPECT_TRUE(parse_json_object(R"({"a":{}})", tight));
  auto r = parse_json_object(R"({"a":{"b":{}}})", tight);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::json_too_deep);
}

struct json_case {
  const char* name;
  std::string input;
  errc expected;
};

TEST(Json, RejectsTable) {
  const json_case cases[] = {
      // duplicates
      {"duplicate_top_level", R"({"alg":"RS256","alg":"none"})", errc::json_duplicate_member},
      {"duplicate_top_level_same_value", R"({"a":1,"a":1})", errc::json_duplicate_member},
      {"duplicate_nested", R"({"a":{"b":1,"b":2}})", errc::json_duplicate_member},
      {"duplicate_in_array_element", R"({"a":[{"x":1,"x":1}]})", errc::json_duplicate_member},
      {"duplicate_deep", R"({"a":{"b":{"c":{"d":1,"e":2,"d":3}}}})", errc::json_duplicate_member},
      {"duplicate_by_escape", R"({"alg":1,"\u0061lg":2})", errc::json_duplicate_member},
      // depth
      {"too_deep_objects", nested(17), errc::json_too_deep},
      {"too_deep_arrays", nested_arrays(17), errc::json_too_deep},
      {"far_too_deep", nested(5000), errc::json_too_deep},
      // invalid UTF-8
      {"overlong_slash", "{\"a\":\"\xc0\xaf\"}", errc::json_invalid_utf8},
      {"overlong_nul", "{\"a\":\"\xc0\x80\"}", errc::json_invalid_utf8},
      {"overlong_3byte", "{\"a\":\"\xe0\x80\xaf\"}", errc::json_invalid_utf8},
      {"overlong_4byte", "{\"a\":\"\xf0\x80\x80\xaf\"}", errc::json_invalid_utf8},
      {"surrogate_bytes_ed_a0_80", "{\"a\":\"\xed\xa0\x80\"}", errc::json_invalid_utf8},
      {"surrogate_bytes_ed_bf_bf", "{\"a\":\"\xed\xbf\xbf\"}", errc::json_invalid_utf8},
      {"above_u10ffff", "{\"a\":\"\xf4\x90\x80\x80\"}", errc::json_invalid_utf8},
      {"f5_lead", "{\"a\":\"\xf5\x80\x80\x80\"}", errc::json_invalid_utf8},
      {"lone_continuation", "{\"a\":\"\x80\"}", errc::json_invalid_utf8},
      {"ff_byte", "{\"a\":\"\xff\"}", errc::json_invalid_utf8},
      {"truncated_2byte", "{\"a\":\"\xc3\"}", errc::json_invalid_utf8},
      {"truncated_3byte", "{\"a\":\"\xe2\x82\"}", errc::json_invalid_utf8},
      {"truncated_at_end", "{\"a\":1}\xe2\x82", errc::json_invalid_utf8},
      {"invalid_in_member_name", "{\"\xc0\xaf\":1}", errc::json_invalid_utf8},
      // escaped surrogates that do not form a pair
      {"escaped_lone_high_surrogate", R"({"a":"\ud800"})", errc::json_invalid_utf8},
      {"escaped_lone_high_surrogate_then_text", R"({"a":"\ud800xyz"})", errc::json_invalid_utf8},
      {"escaped_lone_high_surrogate_long_string", R"({"a":"\ud800 and more text to follow"})",
       errc::json_invalid_utf8},
      {"escaped_lone_low_surrogate", R"({"a":"\udc00"})", errc::json_invalid_utf8},
      {"escaped_high_then_non_low", R"({"a":"\ud800\u0041"})", errc::json_invalid_utf8},
      {"escaped_high_high", R"({"a":"\ud800\ud800"})", errc::json_invalid_utf8},
      {"escaped_lone_surrogate_in_name", R"({"\ud800":1})", errc::json_invalid_utf8},
      // syntax
      {"escaped_backslash_then_ud800_with_syntax_error", R"({"a":"\\ud800",})", errc::json_syntax},
      {"bom", "\xef\xbb\xbf{}", errc::json_syntax},
      {"trailing_garbage", "{} x", errc::json_syntax},
      {"trailing_comma_garbage", "{},", errc::json_syntax},
      {"two_objects", "{}{}", errc::json_syntax},
      {"two_objects_spaced", "{\"a\":1} {\"b\":2}", errc::json_syntax},
      {"empty_text", "", errc::json_syntax},
      {"whitespace_only", "  ", errc::json_syntax},
      {"unterminated", "{\"a\":1", errc::json_syntax},
      {"trailing_comma_member", "{\"a\":1,}", errc::json_syntax},
      {"single_quotes", "{'a':1}", errc::json_syntax},
      {"comment", "{/*c*/\"a\":1}", errc::json_syntax},
      {"unquoted_name", "{a:1}", errc::json_syntax},
      {"nan", "{\"a\":NaN}", errc::json_syntax},
      {"raw_control_char", "{\"a\":\"\x01\"}", errc::json_syntax},
      {"embedded_nul_after_object", std::string("{}\0", 3), errc::json_syntax},
      {"bad_escape", R"({"a":"\x"})", errc::json_syntax},
      // top level not an object
      {"top_array", "[]", errc::json_not_object},
      {"top_array_of_object", "[{\"alg\":\"RS256\"}]", errc::json_not_object},
      {"top_string", "\"alg\"", errc::json_not_object},
      {"top_null", "null", errc::json_not_object},
      {"top_number", "1", errc::json_not_object},
      {"top_true", "true", errc::json_not_object},
  };
  json_scanner scanner;
  for (const auto& c : cases) {
    auto r = parse_json_object(c.input);
    ASSERT_FALSE(r) << c.name << " was accepted";
    EXPECT_EQ(r.error(), make_error_code(c.expected))
        << c.name << ": got " << describe(r.error()) << ", want " << errc_name(c.expected);
    // the verifier's scan rejects the same text with the same error
    const auto ec = scanner.scan(c.input, {}, {}, {});
    EXPECT_EQ(ec, make_error_code(c.expected))
        << c.name << " (scan): got " << describe(ec) << ", want " << errc_name(c.expected);
  }
}

// ---- json_scanner: the tree parser's checks without the tree ----------------------------------

TEST(JsonScanner, AcceptsWhatTheTreeParserAccepts) {
  json_scanner scanner;
  const std::string accepted[] = {
      R"({"alg":"RS256","n":1,"a":[1,{"b":null}],"u":"\u00e9\ud83d\ude00"})",
      R"({"a":{"a":1},"b":[{"a":1},{"a":2}]})",
      R"({"a":"\ud800\udc00","b":"\\ud800","\ud83d\ude00":1})",
      "{}",
      nested(16),
      nested_arrays(16),
  };
  for (const auto& text : accepted) {
    ASSERT_TRUE(parse_json_object(text)) << text;
    EXPECT_FALSE(scanner.scan(text, {}, {}, {})) << text;
  }
  json_limits tight;
  tight.max_depth = 2;
  EXPECT_FALSE(scanner.scan(R"({"a":{}})", tight, {}, {}));
  EXPECT_EQ(scanner.scan(R"({"a":{"b":{}}})", tight, {}, {}), errc::json_too_deep);
}

TEST(JsonScanner, DuplicatesInBigObjectsAndThroughEscapes) {
  json_scanner scanner;
  std::string big = "{";
  for (int i = 0; i < 40; ++i) big += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  EXPECT_FALSE(scanner.scan(big + "\"last\":0}", {}, {}, {})) << "40 distinct names";
  EXPECT_EQ(scanner.scan(big + "\"k17\":0}", {}, {}, {}), errc::json_duplicate_member);
  EXPECT_EQ(scanner.scan(big + "\"\\u006b17\":0}", {}, {}, {}), errc::json_duplicate_member);
  EXPECT_EQ(scanner.scan(R"({"x":{"ab":1,"a\u0062":2}})", {}, {}, {}), errc::json_duplicate_member);
  // a syntax error later in the text still wins over a duplicate, as in the tree parser
  EXPECT_EQ(scanner.scan(R"({"a":1,"a":2,})", {}, {}, {}), errc::json_syntax);
  EXPECT_EQ(parse_json_object(R"({"a":1,"a":2,})").error(), errc::json_syntax);
}

TEST(JsonScanner, ReportsTheRequestedTopLevelMembers) {
  using kind = scanned_member::kind;
  json_scanner scanner;
  constexpr std::string_view names[] = {"s", "n", "d", "u", "arr", "mixed", "obj", "t", "absent"};
  scanned_member out[std::size(names)];
  // escaped values and names, a big unsigned, members with the same names nested deeper
  const std::string text =
      R"({"\u0073":"a\/b\u00e9","n":-5,"d":1.5e3,"u":18446744073709551615,)"
      R"("arr":["x","y\n"],"mixed":["x",1,["y"],{"z":"w"}],"obj":{"s":"inner","n":1},)"
      R"("t":true,"deep":{"arr":[1],"s":2}})";
  ASSERT_FALSE(scanner.scan(text, {}, names, out));
  EXPECT_EQ(out[0].type, kind::string);
  EXPECT_EQ(out[0].text, "a/b\xc3\xa9");
  EXPECT_EQ(out[1].type, kind::number);
  EXPECT_EQ(out[1].number, -5);
  EXPECT_EQ(out[2].number, 1500);
  EXPECT_EQ(out[3].number, 18446744073709551615.0);
  EXPECT_EQ(out[4].type, kind::array);
  EXPECT_TRUE(out[4].strings_only);
  EXPECT_EQ(out[4].items, (std::vector<std::string_view>{"x", "y\n"}));
  EXPECT_EQ(out[5].type, kind::array);
  EXPECT_FALSE(out[5].strings_only);
  EXPECT_EQ(out[5].items, (std::vector<std::string_view>{"x"}));
  EXPECT_EQ(out[6].type, kind::other);
  EXPECT_EQ(out[7].type, kind::other);
  EXPECT_EQ(out[8].type, kind::absent);
  // the next scan starts from nothing
  ASSERT_FALSE(scanner.scan(R"({"n":"now a string"})", {}, names, out));
  EXPECT_EQ(out[1].type, kind::string);
  EXPECT_EQ(out[4].type, kind::absent);
  EXPECT_TRUE(out[4].items.empty());
}

TEST(JsonScanner, LongEscapedStringsArriveWhole) {
  // Boost.JSON hands a long escaped string over in pieces; the scanner joins them.
  std::string value;
  std::string escaped;
  for (int i = 0; i < 3000; ++i) {
    value += "ab/";
    escaped += "ab\\/";
  }
  constexpr std::string_view names[] = {"v"};
  scanned_member out[1];
  json_scanner scanner;
  ASSERT_FALSE(scanner.scan("{\"v\":\"" + escaped + "\"}", {}, names, out));
  EXPECT_EQ(out[0].text, value);
}

}  // namespace
}  // namespace gatepass::jose
