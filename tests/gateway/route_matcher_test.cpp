// Routing as AWS HTTP APIs and the path normalization in front of it: priority tables, template
// validation, a normalize_path table, and a property test that path tricks never change the route.
#include "gateway/route_matcher.h"

#include <gtest/gtest.h>

#include <iterator>
#include <optional>
#include <random>
#include <stdexcept>

#include "gateway/errc.h"

namespace gatepass::gateway {
namespace {

using params_t = std::vector<std::pair<std::string, std::string>>;
constexpr std::size_t none = static_cast<std::size_t>(-1);

std::size_t index_of(const std::optional<route_match>& m) {
  return m ? m->index : none;
}

// ---------------------------------------------------------------------------------------------
// match()

struct match_case {
  const char* name;
  const char* method;
  const char* path;  // already normalized, as the server passes it
  std::size_t expected;
  params_t params;
};

void run_table(const route_matcher& m, const std::vector<match_case>& cases) {
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.name) + ": " + c.method + " " + c.path);
    const auto got = m.match(c.method, c.path);
    EXPECT_EQ(index_of(got), c.expected);
    if (got && c.expected != none) {
      EXPECT_EQ(got->params, c.params);
    }
  }
}

TEST(RouteMatcher, AwsDocumentationExample) {
  // The example table of AWS's "Routing API requests" for HTTP APIs.
  const route_matcher m({
      {"GET", "/pets/dog/1"},     // 0
      {"GET", "/pets/dog/{id}"},  // 1
      {"GET", "/pets/{proxy+}"},  // 2
      {"ANY", "/{proxy+}"},       // 3
      {"ANY", "$default"},        // 4
  });
  run_table(m, {
                   {"exact", "GET", "/pets/dog/1", 0, {}},
                   {"param", "GET", "/pets/dog/2", 1, {{"id", "2"}}},
                   {"greedy", "GET", "/pets/cat/1", 2, {{"proxy", "cat/1"}}},
                   {"method falls to ANY", "POST", "/pets/dog/1", 3, {{"proxy", "pets/dog/1"}}},
                   {"root: {proxy+} needs a segment", "GET", "/", 4, {}},
               });
}

TEST(RouteMatcher, Priority) {
  const route_matcher m({
      {"GET", "/a/b/c"},                // 0
      {"GET", "/a/{x}/c"},              // 1
      {"GET", "/a/{x}/{y}"},            // 2
      {"GET", "/{x}/b/{y}"},            // 3
      {"GET", "/a/{proxy+}"},           // 4
      {"GET", "/a/b/{rest+}"},          // 5
      {"GET", "/{all+}"},               // 6
      {"ANY", "/a/b/c"},                // 7
      {"ANY", "/m/{id}"},               // 8
      {"DELETE", "/m/{id}"},            // 9
      {"ANY", "/n/lit"},                // 10
      {"GET", "/n/{id}"},               // 11
      {"GET", "/{p}/{q}/{r}/{s}/{t}"},  // 12
      {"GET", "/z/{proxy+}"},           // 13
  });
  run_table(
      m, {
             {"literal beats everything", "GET", "/a/b/c", 0, {}},
             {"ANY for the same template", "PUT", "/a/b/c", 7, {}},
             {"literal in 3rd beats param", "GET", "/a/x/c", 1, {{"x", "x"}}},
             {"params", "GET", "/a/x/y", 2, {{"x", "x"}, {"y", "y"}}},
             {"leftmost literal wins", "GET", "/a/b/y", 2, {{"x", "b"}, {"y", "y"}}},
             {"param first segment", "GET", "/q/b/y", 3, {{"x", "q"}, {"y", "y"}}},
             {"longer literal greedy", "GET", "/a/b/c/d", 5, {{"rest", "c/d"}}},
             {"shorter greedy", "GET", "/a/x/c/d", 4, {{"proxy", "x/c/d"}}},
             {"root greedy", "GET", "/q/r", 6, {{"all", "q/r"}}},
             {"method beats ANY", "DELETE", "/m/7", 9, {{"id", "7"}}},
             {"ANY otherwise", "PATCH", "/m/7", 8, {{"id", "7"}}},
             {"path beats method", "GET", "/n/lit", 10, {}},
             {"method route with param", "GET", "/n/other", 11, {{"id", "other"}}},
             {"full match beats greedy (AWS tiers)",
              "GET",
              "/z/b/c/d/e",
              12,
              {{"p", "z"}, {"q", "b"}, {"r", "c"}, {"s", "d"}, {"t", "e"}}},
             {"greedy when no full match", "GET", "/z/q/c", 13, {{"proxy", "q/c"}}},
             {"full match beats greedy, 3 segments", "GET", "/z/b/c", 3, {{"x", "z"}, {"y", "c"}}},
             {"no match for other method", "POST", "/q/r", none, {}},
             {"method is case-sensitive", "get", "/a/x/y", none, {}},
             {"ANY takes any spelling", "get", "/a/b/c", 7, {}},
         });
}

TEST(RouteMatcher, GreedyNeedsOneSegment) {
  const route_matcher m({
      {"GET", "/user/{proxy+}"},  // 0
      {"GET", "/{proxy+}"},       // 1
  });
  run_table(m, {
                   {"one segment", "GET", "/user/a", 0, {{"proxy", "a"}}},
                   {"many segments", "GET", "/user/a/b/c", 0, {{"proxy", "a/b/c"}}},
                   {"not the bare prefix", "GET", "/user", 1, {{"proxy", "user"}}},
                   {"not the prefix with slash", "GET", "/user/", 1, {{"proxy", "user/"}}},
                   {"root is not matched", "GET", "/", none, {}},
                   {"prefix must be a whole segment", "GET", "/users/a", 1, {{"proxy", "users/a"}}},
                   {"decoded value", "GET", "/user/a%20b/%3A", 0, {{"proxy", "a b/:"}}},
               });
}

TEST(RouteMatcher, TrailingSlash) {
  const route_matcher m({
      {"GET", "/admin"},       // 0
      {"GET", "/{proxy+}"},    // 1
      {"GET", "/items/{id}"},  // 2
      {"GET", "/files/{p+}"},  // 3
      {"GET", "/"},            // 4
      {"GET", "/dir/"},        // 5: template slash ignored too
  });
  run_table(m, {
                   {"exact", "GET", "/admin", 0, {}},
                   {"trailing slash ignored: no escape to a wider route", "GET", "/admin/", 0, {}},
                   {"param with trailing slash", "GET", "/items/7/", 2, {{"id", "7"}}},
                   {"greedy keeps the slash", "GET", "/files/a/b/", 3, {{"p", "a/b/"}}},
                   {"root", "GET", "/", 4, {}},
                   {"template /dir/ matches /dir", "GET", "/dir", 5, {}},
                   {"and /dir/", "GET", "/dir/", 5, {}},
               });
}

TEST(RouteMatcher, DefaultAndNoMatch) {
  const route_matcher with_default({{"GET", "/a"}, {"ANY", "$default"}, {"POST", "/b/{id}"}});
  run_table(with_default, {
                              {"route", "GET", "/a", 0, {}},
                              {"default for other method", "DELETE", "/a", 1, {}},
                              {"default for other path", "GET", "/zzz", 1, {}},
                              {"route after default in config", "POST", "/b/1", 2, {{"id", "1"}}},
                              {"default for root", "GET", "/", 1, {}},
                          });
  const route_matcher without({{"GET", "/a"}, {"POST", "/b/{id}"}});
  run_table(without, {
                         {"no match", "GET", "/zzz", none, {}},
                         {"no match method", "PUT", "/a", none, {}},
                         {"param needs its segment", "POST", "/b", none, {}},
                         {"param takes one segment", "POST", "/b/1/2", none, {}},
                         {"relative path", "GET", "a", none, {}},
                         {"empty path", "GET", "", none, {}},
                     });
  const route_matcher empty({});
  EXPECT_FALSE(empty.match("GET", "/"));
}

// Path parameters: Tomcat and Spring drop them before routing ("/admin;x" is "/admin"),
// Express, Go and nginx keep them ("/admin/;x" is under "/admin/"). A path that names one route
// with them and another without could reach either reading: parameters_agree says no (→ 400).
TEST(RouteMatcher, PathParametersMustNotChangeTheRoute) {
  const route_matcher m({
      {"GET", "/admin"},           // 0: public login page, say
      {"GET", "/admin/{proxy+}"},  // 1: ADMIN
      {"GET", "/items/public"},    // 2
      {"GET", "/items/{id}"},      // 3
      {"ANY", "$default"},         // 4
  });
  struct row {
    const char* path;
    bool agree;
  };
  for (const auto& r : std::vector<row>{
           {"/admin", true},                  // no parameters
           {"/admin/users;v=2", true},        // /admin/{proxy+} both ways
           {"/items/7;v=2", true},            // /items/{id} both ways
           {"/admin;x", false},               // $default with, /admin without
           {"/admin;jsessionid=ABC", false},  // the same
           {"/admin/;x", false},              // /admin/{proxy+} with, /admin without
           {"/items/public;x", false},        // {id} with, the literal without
           {"/other;x", true},                // $default both ways
       })
    EXPECT_EQ(m.parameters_agree("GET", r.path), r.agree) << r.path;
  // without a $default, "no route" both ways agrees (a 404)
  const route_matcher no_default(std::vector<route_spec>{{"GET", "/a"}});
  EXPECT_TRUE(no_default.parameters_agree("GET", "/b;x"));
  EXPECT_FALSE(no_default.parameters_agree("GET", "/a;x"));  // 404 with, /a without
}

TEST(RouteMatcher, LiteralsCompareInNormalizedForm) {
  // A template written with escapes matches the normalized request: "%7e" → "~", "%3a" → "%3A".
  const route_matcher m({{"GET", "/%7euser/a%3ab"}, {"get", "/lower"}});
  EXPECT_EQ(index_of(m.match("GET", "/~user/a%3Ab")), 0U);
  EXPECT_EQ(index_of(m.match("GET", "/lower")), 1U);  // spec methods are uppercased
}

TEST(RouteMatcher, RejectsBadTemplates) {
  const std::vector<std::vector<route_spec>> bad = {
      {{"GET", "/a/{proxy+}/b"}},                    // greedy not last
      {{"GET", "/a/{}"}},                            // empty name
      {{"GET", "/a/{+}"}},                           // empty greedy name
      {{"GET", "/a/{x"}},                            // unterminated
      {{"GET", "/a/x{y}"}},                          // partial variable
      {{"GET", "/a/{x}/{x}"}},                       // duplicate name
      {{"GET", "/a/{x y}"}},                         // bad name
      {{"GET", "a/b"}},                              // relative
      {{"GET", ""}},                                 // empty
      {{"GET", "/a//b"}},                            // empty segment
      {{"GET", "/a/../b"}},                          // dot segment
      {{"GET", "/a/%2F"}},                           // encoded slash
      {{"GET", "/a/%zz"}},                           // bad escape
      {{"", "/a"}},                                  // empty method
      {{"G T", "/a"}},                               // bad method
      {{"GET", "/a"}, {"GET", "/a"}},                // duplicate
      {{"GET", "/a"}, {"get", "/a/"}},               // duplicate after canonicalization
      {{"ANY", "/a/{id}"}, {"ANY", "/a/{name}"}},    // ambiguous
      {{"GET", "/a/{p+}"}, {"GET", "/a/{proxy+}"}},  // ambiguous
      {{"ANY", "$default"}, {"GET", "$default"}},    // two defaults
      {{"GET", "/a;v=1/b"}},                         // a path parameter (never matched)
  };
  for (const auto& specs : bad) {
    SCOPED_TRACE(specs.back().method + " " + specs.back().path);
    EXPECT_THROW(route_matcher{specs}, std::invalid_argument);
  }
  try {
    route_matcher({{"GET", "/ok"}, {"GET", "/a/{proxy+}/b"}});
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("route #1"), std::string::npos) << what;
    EXPECT_NE(what.find("last segment"), std::string::npos) << what;
  }
  // The same template with different methods is fine.
  EXPECT_NO_THROW(route_matcher({{"GET", "/a/{id}"}, {"POST", "/a/{id}"}, {"ANY", "/a/{id}"}}));
}

// ---------------------------------------------------------------------------------------------
// normalize_path()

struct normalize_case {
  const char* in;
  const char* out;  // nullptr → error
  errc error = errc::path_invalid;
};

TEST(NormalizePath, Table) {
  const std::vector<normalize_case> cases = {
      {"/", "/"},
      {"/a/b", "/a/b"},
      {"/a/b/", "/a/b/"},
      {"/public/../admin", "/admin"},
      {"/a/b/../c", "/a/c"},
      {"/a/b/..", "/a/"},
      {"/a/b/../", "/a/"},
      {"/..", "/"},
      {"/../../x", "/x"},
      {"/a/./b", "/a/b"},
      {"/a/.", "/a/"},
      {"/./", "/"},
      {"//a///b", "/a/b"},
      {"//", "/"},
      {"/a//", "/a/"},
      {"/public/%2e%2e/admin", "/admin"},
      {"/public/%2E%2e/", "/"},
      {"/public/.%2e/admin", "/admin"},
      {"/a/%2e/b", "/a/b"},
      {"/a/...", "/a/..."},
      {"/a/..b/.c", "/a/..b/.c"},
      {"/%41", "/A"},
      {"/%7e", "/~"},
      {"/%7E%2D%5f%2e%30", "/~-_.0"},
      {"/%3a", "/%3A"},
      {"/%3A", "/%3A"},
      {"/a%20b", "/a%20b"},
      {"/%25", "/%25"},
      // escaped twice or as overlong UTF-8: a server decoding once more (or leniently) reads
      // '.', '/' or '\\' there
      {"/public/%252e%252e/admin", nullptr, errc::path_encoded_twice},
      {"/public/%252E%252E/admin", nullptr, errc::path_encoded_twice},
      {"/a/%25%32%65%25%32%65/b", nullptr, errc::path_encoded_twice},  // the same, more escaped
      {"/a%252fadmin", nullptr, errc::path_encoded_twice},
      {"/a%255Cb", nullptr, errc::path_encoded_twice},
      {"/public/%C0%AE%C0%AE/admin", nullptr, errc::path_encoded_twice},
      {"/public/%c0%ae./admin", nullptr, errc::path_encoded_twice},
      {"/a%C0%AFb", nullptr, errc::path_encoded_twice},
      {"/a%c1%9cb", nullptr, errc::path_encoded_twice},
      {"/public/\xC0\xAE\xC0\xAE/admin", nullptr, errc::path_encoded_twice},  // raw bytes
      {"/%E0%80%AE%E0%80%AE/x", nullptr, errc::path_encoded_twice},
      {"/%F0%80%80%AE/x", nullptr, errc::path_encoded_twice},
      {"/%25C0%25AE/x", nullptr, errc::path_encoded_twice},
      // any byte of an overlong form escaped twice, escapes three deep, five- and six-byte forms
      {"/public/%25E0%2580%25AE%25E0%2580%25AE/admin/x", nullptr, errc::path_encoded_twice},
      {"/public/%E0%2580%AE%E0%2580%AE/admin/x", nullptr, errc::path_encoded_twice},
      {"/%25E0%80%AE/x", nullptr, errc::path_encoded_twice},
      {"/%25F0%2580%2580%25AE/x", nullptr, errc::path_encoded_twice},
      {"/public/%25252e%25252e/admin/x", nullptr, errc::path_encoded_twice},
      {"/a/%2525252F/b", nullptr, errc::path_encoded_twice},
      {"/%F8%80%80%80%AE/x", nullptr, errc::path_encoded_twice},
      {"/%FC%80%80%80%80%AE/x", nullptr, errc::path_encoded_twice},
      {"/a/%252e%252e%253bx/b", nullptr, errc::path_encoded_twice},  // "..;x": ".." to Tomcat
      {"/a/%2500/b", nullptr, errc::path_encoded_twice},             // NUL decoded twice
      // what is not one of those passes as it is, and decoded once is what was matched
      {"/%252", "/%252"},
      {"/%2541", "/%2541"},      // "%A" decoded twice: a letter, no other path
      {"/a%252eb", "/a%252eb"},  // "a.b" decoded twice: the same segment
      {"/%25252", "/%25252"},
      {"/100%25", "/100%25"},
      {"/%25/x", "/%25/x"},
      {"/%E0%A4%85", "/%E0%A4%85"},        // U+0905, a valid three-byte form after E0
      {"/%F0%9F%98%80", "/%F0%9F%98%80"},  // U+1F600 after F0
      {"/%C2%AE", "/%C2%AE"},              // U+00AE
      {"/a%E0", "/a%E0"},                  // a lone lead byte: no overlong dot
      {"/%c3%a9", "/%C3%A9"},
      {"/a:b@c!$&'()*+,;=", "/a:b@c!$&'()*+,;="},
      {"/a/%2F/b", nullptr, errc::path_encoded_slash},
      {"/a%2fb", nullptr, errc::path_encoded_slash},
      {"/a/%5c", nullptr, errc::path_encoded_slash},
      {"/a/%5C..", nullptr, errc::path_encoded_slash},
      {"/a\\..\\b", nullptr, errc::path_encoded_slash},
      {"/a/%00", nullptr, errc::path_nul},
      {"/admin#", nullptr, errc::path_invalid},  // an upstream would serve "/admin"
      {"/admin#/x", nullptr, errc::path_invalid},
      {"/a#b", nullptr, errc::path_invalid},
      {"/a%23", "/a%23"},            // an escaped '#' is a character
      {"/a{b}|c", "/a%7Bb%7D%7Cc"},  // not allowed raw: escaped
      {"/\"<>[]^`", "/%22%3C%3E%5B%5D%5E%60"},
      {"/caf\xc3\xa9", "/caf%C3%A9"},
      {"/a;b/c;d=1", "/a;b/c;d=1"},                        // path parameters pass
      {"/user/..;/admin/x", nullptr, errc::path_invalid},  // Tomcat, Spring: "/admin/x"
      {"/user/..;x/admin", nullptr, errc::path_invalid},
      {"/user/.;/x", nullptr, errc::path_invalid},
      {"/user/%2e%2e;/admin", nullptr, errc::path_invalid},
      {"/a/%zz", nullptr, errc::path_invalid},
      {"/a/%4", nullptr, errc::path_invalid},
      {"/a/%", nullptr, errc::path_invalid},
      {"/a/%g1", nullptr, errc::path_invalid},
      {"/a\x01", nullptr, errc::path_invalid},
      {"a/b", nullptr, errc::path_invalid},
      {"", nullptr, errc::path_invalid},
      {"*", nullptr, errc::path_invalid},
      {"%2Fa", nullptr, errc::path_invalid},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    const auto r = normalize_path(c.in);
    if (c.out) {
      ASSERT_TRUE(r) << r.error().message();
      EXPECT_EQ(*r, c.out);
      const auto again = normalize_path(*r);  // idempotent
      ASSERT_TRUE(again);
      EXPECT_EQ(*again, *r);
    } else {
      ASSERT_FALSE(r) << *r;
      EXPECT_EQ(r.error(), std::error_code(c.error)) << r.error().message();
    }
  }
}

TEST(NormalizePath, RawNul) {
  const std::string with_nul("/a\0b", 4);
  const auto r = normalize_path(with_nul);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), std::error_code(errc::path_nul));
}

// ---------------------------------------------------------------------------------------------
// Property: whatever tricks a raw path plays, the route is the one of its reference normalization,
// and nothing below /myfunction/protected/user ever reaches another route's path (or vice versa).

struct piece {
  const char* raw;
  const char* decoded;  // nullptr: rejected
};

// Reference normalization: dot-segment removal over already-decoded pieces, duplicate slashes
// merged.
std::optional<std::string> reference_normalize(const std::vector<const piece*>& pieces) {
  std::vector<std::string> stack;
  bool trailing = false;
  for (const piece* p : pieces) {
    if (!p->decoded) return std::nullopt;
    const std::string d = p->decoded;
    if (d.empty() || d == ".") {
      trailing = true;
    } else if (d == "..") {
      if (!stack.empty()) stack.pop_back();
      trailing = true;
    } else {
      stack.push_back(d);
      trailing = false;
    }
  }
  std::string out;
  for (const auto& s : stack) out += "/" + s;
  if (out.empty() || trailing) out += "/";
  return out;
}

// The expected route for the reference path, written by hand for the routes below.
std::size_t reference_route(std::string_view method, const std::string& path) {
  std::vector<std::string> segs;
  std::string_view rest = path;
  if (rest.size() > 1 && rest.back() == '/') rest.remove_suffix(1);
  while (rest.size() > 1) {
    rest.remove_prefix(1);
    const auto slash = rest.find('/');
    segs.emplace_back(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  const bool get = method == "GET";
  if (get && segs.size() == 2 && segs[0] == "items") return 3;
  if (get && segs.size() > 3 && segs[0] == "myfunction" && segs[1] == "protected" &&
      segs[2] == "user")
    return 0;
  if (get && segs.size() > 3 && segs[0] == "myfunction" && segs[1] == "protected" &&
      segs[2] == "admin")
    return 1;
  if (segs.size() > 1 && segs[0] == "public") return 2;
  return none;
}

TEST(RouteMatcherProperty, PathTricksNeverChangeTheRoute) {
  const route_matcher m({
      {"GET", "/myfunction/protected/user/{proxy+}"},   // 0
      {"GET", "/myfunction/protected/admin/{proxy+}"},  // 1
      {"ANY", "/public/{proxy+}"},                      // 2
      {"GET", "/items/{id}"},                           // 3
  });
  static const piece pieces[] = {
      {"myfunction", "myfunction"},
      {"protected", "protected"},
      {"user", "user"},
      {"admin", "admin"},
      {"public", "public"},
      {"items", "items"},
      {"x", "x"},
      {"..", ".."},
      {".", "."},
      {"%2e%2e", ".."},
      {"%2E%2e", ".."},
      {".%2E", ".."},
      {"%2e", "."},
      {"", ""},
      {"%61dmin", "admin"},
      {"us%65r", "user"},
      {"%7e", "~"},
      {"%3a", "%3A"},
      {"...", "..."},
      {"%2F", nullptr},
      {"%5c", nullptr},
      {"%00", nullptr},
      {"a\\b", nullptr},
  };
  constexpr std::size_t n_pieces = std::size(pieces);
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<std::size_t> len(1, 8);
  std::uniform_int_distribution<std::size_t> pick(0, n_pieces - 1);
  std::uniform_int_distribution<int> coin(0, 9);
  std::size_t normalized = 0;
  std::size_t user_hits = 0;
  std::size_t admin_hits = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<const piece*> chosen;
    // Start most paths on a protected prefix so the dot tricks have something to escape from.
    if (coin(rng) < 7) {
      chosen = {&pieces[0], &pieces[1], coin(rng) < 5 ? &pieces[2] : &pieces[3]};
    } else if (coin(rng) < 5) {
      chosen = {&pieces[4]};
    }
    const std::size_t n = len(rng);
    for (std::size_t i = 0; i < n; ++i) {
      auto k = pick(rng);
      if (pieces[k].decoded == nullptr && coin(rng) != 0) k = 6;  // keep rejects rare
      chosen.push_back(&pieces[k]);
    }
    std::string raw;
    for (const piece* p : chosen) raw += std::string("/") + p->raw;
    if (coin(rng) == 0) raw += "/";
    if (raw.back() == '/') chosen.push_back(&pieces[13]);

    SCOPED_TRACE(raw);
    const auto expected = reference_normalize(chosen);
    const auto got = normalize_path(raw);
    ASSERT_EQ(got.has_value(), expected.has_value());
    if (!got) continue;
    ++normalized;
    ASSERT_EQ(*got, *expected);
    for (const char* method : {"GET", "POST"}) {
      const auto r = m.match(method, *got);
      const std::size_t want = reference_route(method, *got);
      ASSERT_EQ(index_of(r), want) << *got;
      if (want == 0) {
        ++user_hits;
        EXPECT_TRUE(got->starts_with("/myfunction/protected/user/"));
      }
      if (want == 1) {
        ++admin_hits;
        EXPECT_TRUE(got->starts_with("/myfunction/protected/admin/"));
      }
    }
  }
  // The generator really exercised both routes and the accept path.
  EXPECT_GT(normalized, 10000U);
  EXPECT_GT(user_hits, 500U);
  EXPECT_GT(admin_hits, 500U);
}

TEST(RouteMatcherProperty, DotDotNeverReachesTheUserRoute) {
  const route_matcher m({
      {"GET", "/myfunction/protected/user/{proxy+}"},   // 0
      {"GET", "/myfunction/protected/admin/{proxy+}"},  // 1
  });
  for (const char* raw :
       {"/myfunction/protected/user/../admin/x", "/myfunction/protected/user/%2e%2e/admin/x",
        "/myfunction/protected/user/%2E%2E/admin/x", "/myfunction/protected/user/./../admin/x",
        "//myfunction//protected//user//..//admin//x"}) {
    SCOPED_TRACE(raw);
    const auto p = normalize_path(raw);
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, "/myfunction/protected/admin/x");
    const auto r = m.match("GET", *p);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->index, 1U);
    EXPECT_EQ(r->params, (params_t{{"proxy", "x"}}));
  }
  for (const char* raw :
       {"/myfunction/protected/user/%2Fadmin/x", "/myfunction/protected/user/%5c..%5cadmin/x",
        "/myfunction/protected/user\\..\\admin/x"}) {
    const auto p = normalize_path(raw);
    ASSERT_FALSE(p) << raw;
    EXPECT_EQ(p.error(), std::error_code(errc::path_encoded_slash));
  }
}

}  // namespace
}  // namespace gatepass::gateway
