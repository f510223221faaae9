// The authorizer's pure core: token extraction, every reason → status, scopes any/all, claim
// headers, and the verified-token cache's bounds.
#include "gateway/authenticator.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/base64url.h"
#include "gateway/errc.h"
#include "gateway/token_cache.h"
#include "jose/errc.h"
#include "keys/key_generator.h"

namespace gatepass::gateway {
namespace {

namespace json = boost::json;
constexpr std::int64_t now = 1'800'000'000;

struct keys_fixture {
  jose::jwk key = *keys::generate_key(jose::alg::es256, 2048, "k1");
  jose::jwk other = *keys::generate_key(jose::alg::es256, 2048, "k1");
  jose::key_set set = jose::key_set::from_keys({key});
  authorizer_config cfg;
  jose::verify_options opt;
  keys_fixture() {
    cfg.name = "jwt";
    cfg.issuer_url = "https://issuer.test";
    cfg.audience = {"api"};
    cfg.claims_to_headers = {
        {"X-Tenant", "org.id"}, {"X-Roles", "roles"}, {"X-Url-Claim", "https://x.test/email"}};
    opt.claims.issuer = cfg.issuer_url;
    opt.claims.audiences = cfg.audience;
  }
  std::string token(json::object claims, const jose::jwk* k = nullptr) const {
    json::object h;
    h["typ"] = "at+jwt";
    return *jose::sign_compact(k ? *k : key, json::serialize(claims), h);
  }
  json::object claims(std::string scope = "USER", std::int64_t exp = now + 600) const {
    json::object c;
    c["iss"] = "https://issuer.test";
    c["aud"] = "api";
    c["sub"] = "alice";
    c["exp"] = exp;
    c["scope"] = scope;
    return c;
  }
};

const keys_fixture& fx() {
  static keys_fixture f;
  return f;
}

route_config route(std::vector<std::string> scopes, bool all = false) {
  route_config r;
  r.method = "GET";
  r.path = "/x";
  r.authorizer = "jwt";
  r.scopes = std::move(scopes);
  r.scopes_all = all;
  return r;
}

TEST(Authenticator, DecisionTable) {
  auto c = fx().claims();
  auto wrong_iss = c;
  wrong_iss["iss"] = "https://evil.test";
  auto wrong_aud = c;
  wrong_aud["aud"] = "other";
  struct row {
    const char* name;
    std::string token;
    route_config route;
    unsigned status;
    std::error_code reason;
  };
  const std::vector<row> rows{
      {"valid, scope any", fx().token(c), route({"USER"}), 200, {}},
      {"valid, no scopes needed", fx().token(c), route({}), 200, {}},
      {"scope missing", fx().token(c), route({"ADMIN"}), 403, errc::scope_insufficient},
      {"one of two (any)", fx().token(fx().claims("USER")), route({"ADMIN", "USER"}), 200, {}},
      {"one of two (all)", fx().token(fx().claims("USER")), route({"ADMIN", "USER"}, true), 403,
       errc::scope_insufficient},
      {"both (all)",
       fx().token(fx().claims("ADMIN USER")),
       route({"ADMIN", "USER"}, true),
       200,
       {}},
      {"expired without the scope is 401", fx().token(fx().claims("USER", now - 3600)),
       route({"ADMIN"}), 401, jose::errc::expired},
      {"wrong issuer", fx().token(wrong_iss), route({}), 401, jose::errc::iss_mismatch},
      {"wrong audience", fx().token(wrong_aud), route({}), 401, jose::errc::aud_mismatch},
      {"other key, same kid", fx().token(c, &fx().other), route({}), 401,
       jose::errc::signature_invalid},
      {"garbage", "not-a-token", route({}), 401, jose::errc::token_malformed},
  };
  for (const auto& r : rows) {
    std::shared_ptr<verified_entry> built;
    auto d = authenticator::decide(r.token, fx().set, fx().opt, fx().cfg, r.route, now, &built);
    EXPECT_EQ(d.status, r.status) << r.name;
    EXPECT_EQ(d.reason, r.reason) << r.name << ": " << d.reason.message();
    if (d.status == 401) continue;
    // the claim headers as the lines a proxied request carries, and back as pairs
    ASSERT_TRUE(built) << r.name;
    const auto pairs = header_pairs(*built);
    std::string lines;
    for (const auto& [k, v] : pairs) lines += k + ": " + v + "\r\n";
    EXPECT_EQ(built->header_lines, lines) << r.name;
    ASSERT_GE(pairs.size(), 3u) << r.name;
    EXPECT_EQ(pairs[0], (std::pair<std::string, std::string>("X-Gatepass-Sub", "alice"))) << r.name;
    EXPECT_EQ(pairs[1].first, "X-Gatepass-Scopes") << r.name;
    EXPECT_EQ(pairs[2].first, "X-Gatepass-Claims") << r.name;
  }
}

TEST(Authenticator, ExtractionRules) {
  authorizer_config hdr;
  hdr.issuer_url = "https://i";
  authenticator a(hdr, nullptr, 16, 16384);
  auto ex = [&](std::vector<std::string_view> h, std::vector<std::string_view> q = {},
                bool other = false) {
    return a.extract(token_sources{std::move(h), std::move(q), other});
  };
  EXPECT_EQ(*ex({"Bearer abc.def.ghi"}), "abc.def.ghi");
  EXPECT_EQ(*ex({"bearer abc.def.ghi"}), "abc.def.ghi");
  EXPECT_EQ(*ex({"abc.def.ghi"}), "abc.def.ghi");  // the prefix is optional, as AWS
  EXPECT_EQ(ex({}).error(), errc::token_missing);
  EXPECT_EQ(ex({"Bearer "}).error(), errc::token_missing);
  EXPECT_EQ(ex({"Basic dXNlcjpwYXNz"}).error(), errc::token_bad_scheme);
  EXPECT_EQ(ex({"Bearer a", "Bearer b"}).error(), errc::token_multiple);
  EXPECT_EQ(ex({"Bearer a"}, {}, true).error(), errc::token_multiple);

  authorizer_config q = hdr;
  q.identity_source = "$request.querystring.token";
  authenticator aq(q, nullptr, 16, 16384);
  EXPECT_FALSE(aq.from_header());
  EXPECT_EQ(aq.source_name(), "token");
  EXPECT_EQ(*aq.extract(token_sources{{}, {"abc"}, false}), "abc");
  EXPECT_EQ(aq.extract(token_sources{{}, {"abc"}, true}).error(), errc::token_multiple);
}

TEST(Authenticator, ClaimHeadersMapNestedPathsAndArrays) {
  auto c = fx().claims("USER ADMIN");
  json::object org;
  org["id"] = "acme";
  c["org"] = org;
  c["roles"] = json::array{"a", "b"};
  c["https://x.test/email"] = "a@x.test";
  c["sub"] = "alice";
  auto h = claim_headers(c, {"ADMIN", "USER"}, fx().cfg);
  ASSERT_TRUE(h);
  std::map<std::string, std::string> m(h->begin(), h->end());
  EXPECT_EQ(m["X-Gatepass-Sub"], "alice");
  EXPECT_EQ(m["X-Gatepass-Scopes"], "ADMIN USER");
  EXPECT_EQ(m["X-Tenant"], "acme");
  EXPECT_EQ(m["X-Roles"], "a,b");
  EXPECT_EQ(m["X-Url-Claim"], "a@x.test");
  auto decoded = base64url_decode(m["X-Gatepass-Claims"]);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(json::parse(*decoded).as_object().at("org").as_object().at("id").as_string(), "acme");
}

// A claim value a header cannot carry unchanged refuses the token: stripped or trimmed,
// "ad\r\nmin" and " admin" would reach the upstream as the subject "admin".
TEST(Authenticator, ClaimHeadersRefuseValuesAHeaderWouldAlter) {
  struct case_ {
    const char* name;
    const char* claim;  // "sub" or a claims_to_headers claim
    std::string value;
    bool ok;
  };
  const std::vector<case_> cases = {
      {"crlf", "sub", "ad\r\nmin", false},
      {"lf", "sub", "ad\nmin", false},
      {"cr", "sub", "ad\rmin", false},
      {"nul", "sub", std::string("ad\0min", 6), false},
      {"del", "sub", "ad\x7fmin", false},
      {"escape", "sub", "ad\x1bmin", false},
      {"leading_space", "sub", " admin", false},
      {"trailing_tab", "sub", "admin\t", false},
      {"mapped_claim_crlf", "roles", "a\r\nX-Injected: 1", false},
      {"inner_space_and_tab", "sub", "ad m\tin", true},
      {"utf8", "sub", "J\xc3\xbcrgen", true},
      {"empty", "sub", "", true},
  };
  for (const auto& c : cases) {
    auto claims = fx().claims("USER");
    claims[c.claim] = c.value;
    auto h = claim_headers(claims, {"USER"}, fx().cfg);
    EXPECT_EQ(static_cast<bool>(h), c.ok) << c.name;
    if (!h) {
      EXPECT_EQ(h.error(), errc::claim_not_header_safe) << c.name;
    }
  }
  // a scope cannot smuggle one either
  EXPECT_FALSE(claim_headers(fx().claims("USER"), {"USER\r\nX: 1"}, fx().cfg)) << "scope";
}

std::shared_ptr<verified_entry> entry_valid_for(std::int64_t seconds) {
  auto e = std::make_shared<verified_entry>();
  e->kid = "k";
  e->valid_until = static_cast<double>(now + seconds);
  return e;
}

TEST(TokenCache, HitsUntilValidUntilAndStaysBounded) {
  token_cache cache(160);
  const auto e = entry_valid_for(10);
  const std::string t1 = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
  cache.insert(t1, e, now);
  EXPECT_EQ(cache.find(t1, now), e);
  EXPECT_NE(cache.find(std::string(t1), now + 9), nullptr);  // another buffer, same bytes
  EXPECT_EQ(cache.find(t1, now + 10), nullptr);
  for (int i = 0; i < 10000; ++i) cache.insert("tok" + std::to_string(i), e, now);
  EXPECT_LE(cache.size(), 160u);
}

// The byte budget bounds the cache whatever the entry count allows: 16 shards of 8 KiB hold
// at most 128 KiB of 1 KiB tokens, and a token larger than a shard's budget is never kept.
TEST(TokenCache, BoundedByBytes) {
  token_cache cache(100000, 128 * 1024);
  const auto e = entry_valid_for(100);
  for (int i = 0; i < 5000; ++i) cache.insert(std::to_string(i) + std::string(1024, 't'), e, now);
  EXPECT_LE(cache.size(), 128u * 1024 / 1024);
  EXPECT_GT(cache.size(), 16u);
  const std::string huge(16 * 1024, 'h');
  cache.insert(huge, e, now);
  EXPECT_EQ(cache.find(huge, now), nullptr);
  // the newest entry is kept
  const std::string last = "last" + std::string(1024, 't');
  cache.insert(last, e, now);
  EXPECT_EQ(cache.find(last, now), e);
}

// Only the very same token hits: a prefix, an extension, one changed byte anywhere (the
// signature's last character included) or the same length with other bytes all miss.
TEST(TokenCache, OnlyTheSameBytesHit) {
  token_cache cache(1000);
  const auto e = entry_valid_for(100);
  const std::string t = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl";
  cache.insert(t, e, now);
  ASSERT_EQ(cache.find(t, now), e);
  std::vector<std::string> others = {t.substr(0, t.size() - 1), t + "A", std::string(t.size(), 'A'),
                                     ""};
  for (std::size_t i = 0; i < t.size(); ++i) {
    auto o = t;
    o[i] = static_cast<char>(o[i] == 'A' ? 'B' : 'A');
    others.push_back(o);
  }
  for (const auto& o : others) EXPECT_EQ(cache.find(o, now), nullptr) << o;
  // a replaced entry is the new one
  auto e2 = std::make_shared<verified_entry>(*e);
  cache.insert(t, e2, now);
  EXPECT_EQ(cache.find(t, now), e2);
  EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace gatepass::gateway
