// The issuer's pure request handler: discovery, JWKS caching headers, the token endpoint's
// RFC 6749 behaviour, and the tokens it issues verifying against the JWKS it serves.
#include "issuer/issuer_service.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "issuer/clients.h"
#include "issuer/documents.h"
#include "jose/verifier.h"
#include "keys/certificate.h"
#include "keys/key_generator.h"

namespace gatepass::issuer {
namespace {

namespace json = boost::json;
using net::http_request;

constexpr std::int64_t now = 1'800'000'000;

struct fixture {
  std::shared_ptr<issuer_service> svc;
  std::string secret = "s3cret-value";
  fixture() {
    config::issuer_section cfg;
    cfg.url = "https://auth.example.test";
    cfg.audience = {"my-audience"};
    cfg.scopes_supported = {"USER", "ADMIN"};
    keys::key_settings ks;
    ks.algorithm = jose::alg::rs256;
    svc = std::make_shared<issuer_service>(cfg, ks);
    auto key = keys::generate_key(jose::alg::rs256, 2048);
    auto ring = std::make_shared<keys::key_ring>();
    keys::key_record r{key->kid(), "RS256", keys::key_state::current, now - 10, now - 10, 0, 0};
    ring->records.push_back(r);
    ring->current = *key;
    ring->published = jose::key_set::from_keys({*key});
    ring->certs.emplace_back(key->kid(), *keys::self_signed_certificate(*key, "t", now));
    svc->set_ring(ring);
    std::vector<keys::client_record> clients{
        {"svc-a", hash_client_secret(secret), {"USER", "ADMIN"}, {}, 0},
        {"svc-b", hash_client_secret(secret), {"USER"}, {"other-aud"}, 0}};
    svc->set_clients(std::make_shared<client_registry>(clients));
  }
};

fixture& fx() {
  static fixture f;
  return f;
}

http_request get(std::string target) {
  http_request r;
  r.method = "GET";
  r.target = std::move(target);
  return r;
}

http_request token_post(std::string body, std::string auth = {}) {
  http_request r;
  r.method = "POST";
  r.target = "/oauth2/token";
  r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  if (!auth.empty()) r.headers.emplace_back("Authorization", auth);
  r.body = std::move(body);
  return r;
}

std::string basic(const std::string& id, const std::string& secret) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = id + ":" + secret;
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v =
        (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    for (int s : {18, 12, 6, 0}) out += tbl[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = (unsigned char)in[i] << 16;
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    for (int s : {18, 12, 6}) out += tbl[(v >> s) & 63];
    out += "=";
  }
  return "Basic " + out;
}

TEST(IssuerService, DiscoveryNamesEverythingAVerifierNeeds) {
  for (const char* path :
       {"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"}) {
    auto r = fx().svc->handle(get(path), now);
    ASSERT_EQ(r.status, 200u);
    auto d = json::parse(r.body).as_object();
    EXPECT_EQ(d.at("issuer").as_string(), "https://auth.example.test");
    EXPECT_EQ(d.at("jwks_uri").as_string(), "https://auth.example.test/.well-known/jwks.json");
    EXPECT_EQ(d.at("token_endpoint").as_string(), "https://auth.example.test/oauth2/token");
    EXPECT_EQ(d.at("grant_types_supported").as_array().at(0).as_string(), "client_credentials");
    EXPECT_EQ(d.at("token_endpoint_auth_methods_supported").as_array().size(), 2u);
    for (const char* k : {"id_token_signing_alg_values_supported", "response_types_supported",
                          "subject_types_supported", "scopes_supported"})
      EXPECT_TRUE(d.contains(k)) << k;
  }
}

// The algorithms a verifier will meet: the configured one, and those of the published keys (an
// imported Ed25519 key signs EdDSA whatever keys.algorithm says).
TEST(IssuerService, DiscoveryListsThePublishedKeysAlgorithms) {
  config::issuer_section cfg;
  cfg.url = "https://auth.example.test";
  cfg.audience = {"my-audience"};
  keys::key_settings ks;
  ks.algorithm = jose::alg::rs256;
  issuer_service svc(cfg, ks);
  auto algs = [&] {
    auto d = json::parse(svc.handle(get("/.well-known/openid-configuration"), now).body);
    std::vector<std::string> out;
    for (const auto& a : d.as_object().at("id_token_signing_alg_values_supported").as_array())
      out.emplace_back(a.as_string());
    return out;
  };
  EXPECT_EQ(algs(), std::vector<std::string>{"RS256"});  // no keys loaded yet
  auto ed = keys::generate_key(jose::alg::eddsa, 0);
  ASSERT_TRUE(ed);
  auto ring = std::make_shared<keys::key_ring>();
  ring->records.push_back({ed->kid(), "EdDSA", keys::key_state::current, now - 10, now - 10, 0, 0});
  ring->current = *ed;
  ring->published = jose::key_set::from_keys({*ed});
  svc.set_ring(ring);
  EXPECT_EQ(algs(), (std::vector<std::string>{"RS256", "EdDSA"}));
  EXPECT_EQ(svc.discovery(), svc.handle(get("/.well-known/openid-configuration"), now).body);
}

TEST(IssuerService, JwksHasCacheControlEtagAnd304) {
  auto r = fx().svc->handle(get("/.well-known/jwks.json"), now);
  ASSERT_EQ(r.status, 200u);
  const auto cc = std::string(r.header("Cache-Control"));
  EXPECT_EQ(cc.rfind("public, max-age=", 0), 0u) << cc;
  const auto max_age = std::stoll(cc.substr(16));
  EXPECT_GE(max_age, 60);
  EXPECT_LE(max_age, 7200);
  const auto etag = std::string(r.header("ETag"));
  ASSERT_FALSE(etag.empty());
  auto keys = json::parse(r.body).as_object().at("keys").as_array();
  ASSERT_EQ(keys.size(), 1u);
  const auto& k = keys.at(0).as_object();
  for (const char* m : {"kty", "use", "alg", "kid", "n", "e", "x5c", "x5t#S256"})
    EXPECT_TRUE(k.contains(m)) << m;
  for (const char* m : {"d", "p", "q", "dp", "dq", "qi"}) EXPECT_FALSE(k.contains(m)) << m;
  auto cond = get("/.well-known/jwks.json");
  cond.headers.emplace_back("If-None-Match", etag);
  auto r304 = fx().svc->handle(cond, now);
  EXPECT_EQ(r304.status, 304u);
  EXPECT_TRUE(r304.body.empty());
  EXPECT_EQ(r304.header("ETag"), etag);
  // If-None-Match lists (RFC 9110 §13.1.2): any tag matching, weak or strong, is a 304
  for (const std::string& inm : {"\"other\", " + etag, "W/\"other\",W/" + etag, "  " + etag + "  ",
                                 std::string("*"), std::string(" * ")}) {
    auto listed = get("/.well-known/jwks.json");
    listed.headers.emplace_back("If-None-Match", inm);
    EXPECT_EQ(fx().svc->handle(listed, now).status, 304u) << inm;
  }
  // "*" only alone: "W/*" or "*" in a list is no tag at all
  for (const std::string& inm :
       std::vector<std::string>{"\"other\"", "\"x\", W/\"y\"", "x" + etag, "W/*", "\"x\", *"}) {
    auto other = get("/.well-known/jwks.json");
    other.headers.emplace_back("If-None-Match", inm);
    EXPECT_EQ(fx().svc->handle(other, now).status, 200u) << inm;
  }
}

// every If-None-Match field of the request counts (RFC 9110 §5.3: one list)
TEST(IssuerService, JwksConditionalGetReadsEveryIfNoneMatchField) {
  const auto etag =
      std::string(fx().svc->handle(get("/.well-known/jwks.json"), now).header("ETag"));
  auto two = get("/.well-known/jwks.json");
  two.headers.emplace_back("If-None-Match", "\"other\"");
  two.headers.emplace_back("If-None-Match", etag);
  EXPECT_EQ(fx().svc->handle(two, now).status, 304u);
}

TEST(IssuerService, ClientCredentialsTokenVerifiesAgainstTheServedJwks) {
  for (bool use_basic : {true, false}) {
    auto req =
        use_basic
            ? token_post("grant_type=client_credentials&scope=USER", basic("svc-a", fx().secret))
            : token_post(
                  "grant_type=client_credentials&scope=USER+ADMIN&client_id=svc-a&client_secret=" +
                  fx().secret);
    auto r = fx().svc->handle(req, now);
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("Cache-Control"), "no-store");
    auto body = json::parse(r.body).as_object();
    EXPECT_EQ(body.at("token_type").as_string(), "Bearer");
    EXPECT_EQ(body.at("expires_in").as_int64(), 3600);
    auto jwks = jose::key_set::parse(fx().svc->jwks());
    ASSERT_TRUE(jwks.has_value());
    jose::verify_options opt;
    opt.claims.issuer = "https://auth.example.test";
    opt.claims.audiences = {"my-audience"};
    opt.claims.typ = "at+jwt";
    auto v =
        jose::verify_jwt(std::string(body.at("access_token").as_string()), *jwks, opt, now + 5);
    ASSERT_TRUE(v.has_value()) << v.error().message();
    EXPECT_EQ(v->claims().at("client_id").as_string(), "svc-a");
    EXPECT_EQ(v->claims().at("sub").as_string(), "svc-a");
    EXPECT_TRUE(v->claims().contains("jti"));
    const std::vector<std::string> expected =
        use_basic ? std::vector<std::string>{"USER"} : std::vector<std::string>{"ADMIN", "USER"};
    EXPECT_EQ(v->scopes, expected);
  }
}

TEST(IssuerService, TokenEndpointErrorsFollowRfc6749) {
  struct row {
    const char* name;
    http_request req;
    unsigned status;
    const char* error;
  };
  const auto& s = fx().secret;
  std::vector<row> rows{
      {"wrong secret", token_post("grant_type=client_credentials", basic("svc-a", "nope")), 401,
       "invalid_client"},
      {"unknown client", token_post("grant_type=client_credentials", basic("who", s)), 401,
       "invalid_client"},
      {"no credentials", token_post("grant_type=client_credentials"), 401, "invalid_client"},
      {"both methods",
       token_post("grant_type=client_credentials&client_secret=" + s, basic("svc-a", s)), 400,
       "invalid_request"},
      {"no grant", token_post("scope=USER", basic("svc-a", s)), 400, "invalid_request"},
      {"other grant", token_post("grant_type=password", basic("svc-a", s)), 400,
       "unsupported_grant_type"},
      {"scope not granted",
       token_post("grant_type=client_credentials&scope=ADMIN", basic("svc-b", s)), 400,
       "invalid_scope"},
      {"scope of spaces only",
       token_post("grant_type=client_credentials&scope=+", basic("svc-a", s)), 400,
       "invalid_scope"},
      {"duplicate param",
       token_post("grant_type=client_credentials&grant_type=client_credentials", basic("svc-a", s)),
       400, "invalid_request"},
      {"malformed basic", token_post("grant_type=client_credentials", "Basic !!!"), 401,
       "invalid_client"},
      {"body client_id not the Basic one",
       token_post("grant_type=client_credentials&client_id=svc-b", basic("svc-a", s)), 400,
       "invalid_request"},
      // a malformed percent-encoding makes the request malformed (RFC 6749 §5.2), in any field
      {"scope %ZZ", token_post("grant_type=client_credentials&scope=%ZZ", basic("svc-a", s)), 400,
       "invalid_request"},
      {"scope trailing %",
       token_post("grant_type=client_credentials&scope=USER%", basic("svc-a", s)), 400,
       "invalid_request"},
      {"scope truncated %4",
       token_post("grant_type=client_credentials&scope=%4", basic("svc-a", s)), 400,
       "invalid_request"},
      {"grant_type %G1", token_post("grant_type=client%G1credentials", basic("svc-a", s)), 400,
       "invalid_request"},
      {"name %ZZ", token_post("grant_type=client_credentials&sc%ZZope=USER", basic("svc-a", s)),
       400, "invalid_request"},
      {"client_id %ZZ (post)",
       token_post("grant_type=client_credentials&client_id=svc-%ZZ&client_secret=" + s), 400,
       "invalid_request"},
      {"client_secret %ZZ (post)",
       token_post("grant_type=client_credentials&client_id=svc-a&client_secret=%ZZ"), 400,
       "invalid_request"},
      {"basic id %ZZ", token_post("grant_type=client_credentials", basic("svc-%ZZ", s)), 401,
       "invalid_client"},
  };
  for (auto& r : rows) {
    auto res = fx().svc->handle(r.req, now);
    EXPECT_EQ(res.status, r.status) << r.name;
    auto body = json::parse(res.body).as_object();
    EXPECT_EQ(body.at("error").as_string(), r.error) << r.name;
    if (r.status == 401) {
      EXPECT_EQ(res.header("WWW-Authenticate").substr(0, 5), "Basic") << r.name;
    }
  }
  // a malformed escape in the Basic id is refused as malformed, not looked up as an unknown id
  const auto bad_basic =
      fx().svc->handle(token_post("grant_type=client_credentials", basic("svc-%ZZ", s)), now);
  EXPECT_EQ(json::parse(bad_basic.body).as_object().at("error_description").as_string(),
            "malformed Basic credentials");
  auto wrong_type = token_post("grant_type=client_credentials", basic("svc-a", s));
  wrong_type.headers[0].second = "application/json";
  EXPECT_EQ(fx().svc->handle(wrong_type, now).status, 400u);
  // media types compare without regard to case, parameters allowed (RFC 9110 §8.3.1)
  for (const char* ct :
       {"APPLICATION/X-WWW-FORM-URLENCODED", "application/x-www-form-urlencoded; charset=UTF-8"}) {
    auto typed = token_post("grant_type=client_credentials", basic("svc-a", s));
    typed.headers[0].second = ct;
    EXPECT_EQ(fx().svc->handle(typed, now).status, 200u) << ct;
  }
  auto prefixed = token_post("grant_type=client_credentials", basic("svc-a", s));
  prefixed.headers[0].second = "application/x-www-form-urlencodedX";
  EXPECT_EQ(fx().svc->handle(prefixed, now).status, 400u);
  // two Authorization fields: which one authenticates would be a guess (RFC 6749 §2.3)
  auto twice = token_post("grant_type=client_credentials", basic("svc-a", s));
  twice.headers.emplace_back("authorization", basic("svc-b", s));
  EXPECT_EQ(fx().svc->handle(twice, now).status, 400u);
  // two Content-Type fields: a proxy in front may read the other one
  auto two_types = token_post("grant_type=client_credentials", basic("svc-a", s));
  two_types.headers.emplace_back("content-type", "application/json");
  const auto two_types_res = fx().svc->handle(two_types, now);
  EXPECT_EQ(two_types_res.status, 400u);
  EXPECT_NE(two_types_res.body.find("more than one Content-Type"), std::string::npos);
  // well-formed escapes still decode: "%55SER" is USER, '+' a space between two scopes
  EXPECT_EQ(fx().svc
                ->handle(token_post("grant_type=client_credentials&scope=%55SER+ADMIN",
                                    basic("svc-a", s)),
                         now)
                .status,
            200u);
  // the same client named in the body as well is fine
  EXPECT_EQ(
      fx().svc
          ->handle(token_post("grant_type=client_credentials&client_id=svc-a", basic("svc-a", s)),
                   now)
          .status,
      200u);
  // the scheme in any case (RFC 9110 §11.1)
  for (const char* scheme : {"BASIC ", "basic ", "bAsIc "})
    EXPECT_EQ(fx().svc
                  ->handle(token_post("grant_type=client_credentials",
                                      scheme + basic("svc-a", s).substr(6)),
                           now)
                  .status,
              200u)
        << scheme;
  // an error_description holds RFC 6749 §5.2 characters only, whatever scope was asked for
  const auto odd = fx().svc->handle(
      token_post("grant_type=client_credentials&scope=%22A%5C%09%00%E2%80%83B", basic("svc-a", s)),
      now);
  EXPECT_EQ(odd.status, 400u);
  const auto desc =
      std::string(json::parse(odd.body).as_object().at("error_description").as_string());
  for (const char c : desc) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(u >= 0x20 && u <= 0x7e && u != '"' && u != '\\') << desc;
  }
  auto get_token = get("/oauth2/token");
  EXPECT_EQ(fx().svc->handle(get_token, now).status, 405u);
  EXPECT_EQ(fx().svc->handle(get("/nope"), now).status, 404u);
  EXPECT_EQ(fx().svc->handle(get("/healthz"), now).status, 200u);
}

// What `serve` runs on worker threads: token requests that need an argon2id check. A client's
// secret verified once, a request refused before any check, and other endpoints stay on the
// loop.
TEST(IssuerService, OnlyTokenRequestsNeedingAnArgon2CheckAreHashingWork) {
  fixture f;  // its own registry: nothing verified yet
  const auto good = token_post("grant_type=client_credentials", basic("svc-a", f.secret));
  const auto good_post =
      token_post("grant_type=client_credentials&client_id=svc-b&client_secret=" + f.secret);
  EXPECT_TRUE(f.svc->needs_secret_hashing(good));
  EXPECT_TRUE(f.svc->needs_secret_hashing(good_post));
  EXPECT_TRUE(f.svc->needs_secret_hashing(  // an unknown id pays one check too
      token_post("grant_type=client_credentials", basic("nobody", "x"))));
  EXPECT_FALSE(f.svc->needs_secret_hashing(get("/.well-known/jwks.json")));
  EXPECT_FALSE(f.svc->needs_secret_hashing(token_post("x", "Basic !!!")));
  EXPECT_FALSE(f.svc->needs_secret_hashing(token_post("scope=%ZZ&client_id=svc-b")));
  ASSERT_EQ(f.svc->handle(good, now).status, 200u);
  // svc-a verified: its secret compares digests only; a wrong one pays an argon2 check as an
  // unknown id does (else its quick 401 would tell which ids exist and are in use)
  EXPECT_FALSE(f.svc->needs_secret_hashing(good));
  EXPECT_TRUE(f.svc->needs_secret_hashing(
      token_post("grant_type=client_credentials", basic("svc-a", "wrong"))));
  EXPECT_EQ(f.svc->handle(token_post("grant_type=client_credentials", basic("svc-a", "wrong")), now)
                .status,
            401u);
  EXPECT_TRUE(f.svc->needs_secret_hashing(good_post));  // svc-b still unverified
}

TEST(IssuerService, ClientAudienceOverridesTheDefault) {
  auto r = fx().svc->handle(
      token_post("grant_type=client_credentials", basic("svc-b", fx().secret)), now);
  ASSERT_EQ(r.status, 200u);
  auto jwks = jose::key_set::parse(fx().svc->jwks());
  jose::verify_options opt;
  opt.claims.audiences = {"other-aud"};
  auto token = std::string(json::parse(r.body).as_object().at("access_token").as_string());
  EXPECT_TRUE(jose::verify_jwt(token, *jwks, opt, now).has_value());
  opt.claims.audiences = {"my-audience"};
  EXPECT_FALSE(jose::verify_jwt(token, *jwks, opt, now).has_value());
}

TEST(TokenService, RefusesCustomClaimsThatOverrideRegisteredOnes) {
  token_service ts("https://i", {"a"}, 3600);
  auto ring = fx().svc->ring();
  for (const char* name : {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope"}) {
    token_request req;
    req.extra[name] = "x";
    EXPECT_FALSE(ts.issue(*ring, req, now).has_value()) << name;
  }
  token_request ok;
  ok.extra["tenant"] = "acme";
  EXPECT_TRUE(ts.issue(*ring, ok, now).has_value());
}

TEST(Documents, JoinUrlNeverDoublesASlash) {
  EXPECT_EQ(join_url("https://a.test", "/x"), "https://a.test/x");
  EXPECT_EQ(join_url("https://a.test/", "/x"), "https://a.test/x");
  EXPECT_EQ(join_url("https://a.test/tenant", "/x"), "https://a.test/tenant/x");
}

TEST(Clients, Argon2idHashesVerifyOnlyTheirSecret) {
  const auto h = hash_client_secret("abc");
  EXPECT_EQ(h.rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(verify_client_secret(h, "abc"));
  EXPECT_FALSE(verify_client_secret(h, "abd"));
  EXPECT_NE(generate_client_secret(), generate_client_secret());
}

// The store is read again every few seconds: a client verified before stays verified (no argon2
// check, so no wait behind a flood of wrong secrets in the hashing queue) while its stored hash
// is the same; a changed secret or a removed client is checked again, or refused.
TEST(Clients, AReloadKeepsVerifiedSecretsOnlyWhereTheHashIsUnchanged) {
  const std::string ha = hash_client_secret("sa"), hb = hash_client_secret("sb"),
                    hc = hash_client_secret("sc"), hb2 = hash_client_secret("sb2");
  const auto rec = [](std::string id, std::string hash) {
    return keys::client_record{std::move(id), std::move(hash), {"USER"}, {}, 0};
  };
  client_registry first({rec("a", ha), rec("b", hb), rec("c", hc)});
  ASSERT_NE(first.authenticate("a", "sa"), nullptr);
  ASSERT_NE(first.authenticate("b", "sb"), nullptr);
  ASSERT_NE(first.authenticate("c", "sc"), nullptr);
  ASSERT_TRUE(first.verified("a", "sa"));

  // b's secret rotated, c removed, d added
  client_registry second({rec("a", ha), rec("b", hb2), rec("d", hc)}, &first);
  EXPECT_TRUE(second.verified("a", "sa"));
  EXPECT_FALSE(second.verified("a", "sb"));
  EXPECT_FALSE(second.verified("b", "sb"));  // the old secret: checked again, and refused
  EXPECT_EQ(second.authenticate("b", "sb"), nullptr);
  EXPECT_NE(second.authenticate("b", "sb2"), nullptr);
  EXPECT_FALSE(second.verified("c", "sc"));
  EXPECT_EQ(second.authenticate("c", "sc"), nullptr);
  EXPECT_FALSE(second.verified("d", "sc"));  // a new id is verified by argon2 first

  client_registry fresh({rec("a", ha)});  // without the running registry: all checked again
  EXPECT_FALSE(fresh.verified("a", "sa"));
}

}  // namespace
}  // namespace gatepass::issuer
