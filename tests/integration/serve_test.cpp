// `gatepass serve` as a real process on 127.0.0.1 (ephemeral port): discovery, JWKS caching
// headers, /oauth2/token with both client authentication methods, limits, SIGTERM, keys rotated
// by another process, and `publish` writing exactly what serve answers.
#include <gtest/gtest.h>

#include "integration/setup.h"
#include "issuer/signing_hold.h"

namespace gatepass::itest {
namespace {

class Serve : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = std::make_unique<gatepass_home>();
    secret_ = home_->add_client(client_id_, "USER ADMIN");
    auto [p, port] = home_->serve();
    server_ = std::move(p);
    port_ = port;
  }

  void TearDown() override {
    if (server_ && !server_->exited()) {
      server_->signal(SIGTERM);
      if (!server_->wait_for(10s)) server_->kill_now();
    }
    if (HasFailure() && server_) {
      std::cerr << "--- serve stdout\n" << server_->out() << "--- serve stderr\n" << server_->err();
    }
  }

  http_reply get(const std::string& target,
                 std::vector<std::pair<std::string, std::string>> headers = {}) {
    return http_get(port_, target, headers);
  }

  http_reply token_basic(const std::string& id, const std::string& secret,
                         const std::string& form) {
    return http_request(
        port_, "POST", "/oauth2/token",
        {{"Authorization", "Basic " + base64_std(form_encode(id) + ":" + form_encode(secret))},
         {"Content-Type", "application/x-www-form-urlencoded"}},
        form);
  }

  http_reply token_post(const std::string& id, const std::string& secret, const std::string& form) {
    return http_request(
        port_, "POST", "/oauth2/token", {{"Content-Type", "application/x-www-form-urlencoded"}},
        form + "&client_id=" + form_encode(id) + "&client_secret=" + form_encode(secret));
  }

  /// The access token of a 200 answer from /oauth2/token (test fails otherwise).
  std::string access_token(const http_reply& r) {
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.status, 200) << r.raw;
    if (r.status != 200) return {};
    auto o = json::parse(r.body).as_object();
    EXPECT_EQ(o.at("token_type").as_string(), "Bearer");
    EXPECT_TRUE(o.at("expires_in").is_int64());
    return std::string(o.at("access_token").as_string());
  }

  /// `gatepass token verify` against `jwks` (written to a file), as a relying party would.
  run_result verify(const std::string& token, const std::string& jwks) {
    const auto f = home_->dir.path() / ("jwks-" + std::to_string(++verify_n_) + ".json");
    write_file(f, jwks);
    return gp({"token", "verify", token, "--jwks", f.string(), "--issuer", home_->issuer,
               "--audience", home_->audience, "--typ", "at+jwt"});
  }

  std::unique_ptr<gatepass_home> home_;
  std::unique_ptr<process> server_;
  unsigned short port_ = 0;
  const std::string client_id_ = "billing-service";
  std::string secret_;
  int verify_n_ = 0;
};

TEST_F(Serve, DiscoveryIssuerIsByteIdenticalToTheConfiguredUrl) {
  auto r = get("/.well-known/openid-configuration");
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_NE(r.header("Content-Type").find("application/json"), std::string::npos);
  // the configured URL ends with '/', as Auth0's do: kept byte for byte, not normalised
  EXPECT_NE(r.body.find("\"issuer\":\"" + home_->issuer + "\""), std::string::npos) << r.body;
  auto d = json::parse(r.body).as_object();
  EXPECT_EQ(d.at("issuer").as_string(), home_->issuer);
  EXPECT_EQ(d.at("jwks_uri").as_string(),
            "https://auth.example.test/tenant-a/.well-known/jwks.json");
  EXPECT_EQ(d.at("token_endpoint").as_string(), "https://auth.example.test/tenant-a/oauth2/token");
  bool client_credentials = false;
  for (const auto& g : d.at("grant_types_supported").as_array())
    client_credentials = client_credentials || g.as_string() == "client_credentials";
  EXPECT_TRUE(client_credentials) << r.body;

  auto rfc8414 = get("/.well-known/oauth-authorization-server");
  ASSERT_EQ(rfc8414.status, 200);
  EXPECT_EQ(rfc8414.body, r.body);

  auto health = get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(get("/nope").status, 404);
}

TEST_F(Serve, JwksHasCacheControlEtagAnd304) {
  auto r = get("/.well-known/jwks.json");
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.status, 200) << r.raw;
  const auto cc = r.header("Cache-Control");
  ASSERT_EQ(cc.rfind("public, max-age=", 0), 0u) << cc;
  const auto max_age = std::stol(cc.substr(std::string("public, max-age=").size()));
  EXPECT_GE(max_age, 60);
  const auto etag = r.header("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(etag.front(), '"') << etag;  // a quoted entity-tag (RFC 9110 §8.8.3)
  const auto kids = kids_in_jwks(r.body);
  EXPECT_FALSE(kids.empty()) << r.body;
  const auto doc = json::parse(r.body);
  for (const auto& k : doc.as_object().at("keys").as_array()) {
    const auto& o = k.as_object();
    EXPECT_FALSE(o.contains("d")) << "private parameter published: " << r.body;
    EXPECT_TRUE(o.contains("x5c"));
  }

  auto again = get("/.well-known/jwks.json", {{"If-None-Match", etag}});
  ASSERT_EQ(again.error, "");
  EXPECT_EQ(again.status, 304) << again.raw;
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(again.header("ETag"), etag);
  EXPECT_EQ(again.header("Cache-Control").rfind("public, max-age=", 0), 0u);

  auto other = get("/.well-known/jwks.json", {{"If-None-Match", "\"something-else\""}});
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.body, r.body);
}

TEST_F(Serve, ClientSecretBasicTokenVerifiesWithTheServedJwks) {
  auto r = token_basic(client_id_, secret_, "grant_type=client_credentials&scope=USER");
  EXPECT_EQ(r.header("Cache-Control"), "no-store");
  const auto token = access_token(r);
  ASSERT_FALSE(token.empty());
  auto jwks = get("/.well-known/jwks.json");
  ASSERT_EQ(jwks.status, 200);
  EXPECT_TRUE(contains(kids_in_jwks(jwks.body), kid_of(token)));
  auto v = verify(token, jwks.body);
  EXPECT_EQ(v.exit_code, 0) << describe(v);

  auto claims = jwt_part(token, 1);
  EXPECT_EQ(claims.at("iss").as_string(), home_->issuer);
  EXPECT_EQ(claims.at("client_id").as_string(), client_id_);
  EXPECT_EQ(claims.at("scope").as_string(), "USER");
  EXPECT_EQ(jwt_part(token, 0).at("typ").as_string(), "at+jwt");
}

TEST_F(Serve, ClientSecretPostTokenVerifiesWithTheServedJwks) {
  const auto token = access_token(
      token_post(client_id_, secret_, "grant_type=client_credentials&scope=USER+ADMIN"));
  ASSERT_FALSE(token.empty());
  auto jwks = get("/.well-known/jwks.json");
  ASSERT_EQ(jwks.status, 200);
  auto v = verify(token, jwks.body);
  EXPECT_EQ(v.exit_code, 0) << describe(v);
  EXPECT_EQ(jwt_part(token, 1).at("scope").as_string(), "USER ADMIN");

  // a scope the client was not given
  auto bad_scope = token_post(client_id_, secret_, "grant_type=client_credentials&scope=ROOT");
  EXPECT_EQ(bad_scope.status, 400) << bad_scope.raw;
  EXPECT_EQ(json::parse(bad_scope.body).as_object().at("error").as_string(), "invalid_scope");
}

TEST_F(Serve, BadSecretIs401WithBasicChallenge) {
  auto r = token_basic(client_id_, secret_ + "x", "grant_type=client_credentials");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 401) << r.raw;
  EXPECT_EQ(r.header("WWW-Authenticate").rfind("Basic", 0), 0u) << r.raw;
  EXPECT_EQ(json::parse(r.body).as_object().at("error").as_string(), "invalid_client");

  auto unknown = token_basic("nobody", secret_, "grant_type=client_credentials");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(unknown.header("WWW-Authenticate").rfind("Basic", 0), 0u);

  auto post = token_post(client_id_, "wrong", "grant_type=client_credentials");
  EXPECT_EQ(post.status, 401) << post.raw;
  EXPECT_EQ(json::parse(post.body).as_object().at("error").as_string(), "invalid_client");
}

TEST_F(Serve, OversizedBodyIs413) {
  const std::string big(1024 * 1024, 'a');
  auto r = http_request(port_, "POST", "/oauth2/token",
                        {{"Authorization", "Basic " + base64_std(client_id_ + ":" + secret_)},
                         {"Content-Type", "application/x-www-form-urlencoded"}},
                        "grant_type=client_credentials&pad=" + big, 10s, 2s);
  ASSERT_EQ(r.error, "") << r.raw;
  EXPECT_EQ(r.status, 413) << r.raw;
  // and the server still answers
  EXPECT_EQ(get("/healthz").status, 200);
}

TEST_F(Serve, SigtermExitsZeroWithinSeconds) {
  ASSERT_EQ(get("/healthz").status, 200);
  const auto t0 = std::chrono::steady_clock::now();
  server_->signal(SIGTERM);
  ASSERT_TRUE(server_->wait_for(5s)) << "serve still running 5 s after SIGTERM";
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(server_->term_signal(), 0);
  EXPECT_EQ(server_->exit_code(), 0) << server_->err();
  EXPECT_LT(took, 3s);
  EXPECT_NE(get("/healthz").error, "");  // no longer listening
}

TEST_F(Serve, SigtermClosesIdleKeepAliveConnectionsAndExitsPromptly) {
  // a client that keeps its connection open after a response (HTTP/1.1 keep-alive, as every
  // pooled HTTP client does): the drain must not wait for it to go away
  const loopback_connection conn(port_);
  const int fd = conn.fd;
  ASSERT_GE(fd, 0) << std::strerror(errno);
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string got;
  char buf[4096];
  while (got.find("\r\n\r\n") == std::string::npos || got.find("\"ok\"") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    ASSERT_GT(::poll(&p, 1, 5000), 0) << "no response: " << got;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0) << got;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ASSERT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;

  const auto t0 = std::chrono::steady_clock::now();
  server_->signal(SIGTERM);
  ASSERT_TRUE(server_->wait_for(8s))
      << "serve still running 8 s after SIGTERM with an idle keep-alive connection";
  EXPECT_EQ(server_->exit_code(), 0) << server_->err();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s)
      << "the drain waited for an idle keep-alive connection";
}

TEST_F(Serve, PicksUpKeysRotatedByAnotherProcess) {
  const auto old_token =
      access_token(token_basic(client_id_, secret_, "grant_type=client_credentials"));
  ASSERT_FALSE(old_token.empty());
  const auto old_kid = kid_of(old_token);
  const auto old_jwks = get("/.well-known/jwks.json");

  // the issuer cannot publish the new key before the rotation began
  auto not_yet_published = std::chrono::steady_clock::now();
  auto rot = home_->cmd({"keys", "rotate", "--now"});
  ASSERT_EQ(rot.exit_code, 0) << describe(rot);
  // "key <kid> is now current (forced); ..."
  const auto new_kid = line_value(rot.out, "key ").substr(0, line_value(rot.out, "key ").find(' '));
  ASSERT_FALSE(new_kid.empty()) << rot.out;
  ASSERT_NE(new_kid, old_kid);

  const auto t0 = std::chrono::steady_clock::now();
  http_reply jwks;
  bool seen = false;
  while (std::chrono::steady_clock::now() - t0 < 3s) {
    const auto sent = std::chrono::steady_clock::now();
    jwks = get("/.well-known/jwks.json");
    if (jwks.status == 200 && contains(kids_in_jwks(jwks.body), new_kid)) {
      seen = true;
      break;
    }
    not_yet_published = sent;  // this request went out before the key was published
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(seen) << "JWKS still without " << new_kid << " 3 s after the rotation:\n"
                    << jwks.body;
  EXPECT_TRUE(contains(kids_in_jwks(jwks.body), old_kid)) << "the previous key must stay published";
  EXPECT_NE(jwks.header("ETag"), old_jwks.header("ETag"));
  // the old ETag no longer matches
  EXPECT_EQ(get("/.well-known/jwks.json", {{"If-None-Match", old_jwks.header("ETag")}}).status,
            200);

  // Published first, signing sign_after_publish later (other issuers on the store publish it
  // meanwhile): the tokens issued just after the JWKS shows the key are still the old key's.
  std::string new_token;
  std::vector<std::string> kids_before;
  while (std::chrono::steady_clock::now() - not_yet_published < 8s) {
    auto t = access_token(token_basic(client_id_, secret_, "grant_type=client_credentials"));
    ASSERT_FALSE(t.empty());
    if (kid_of(t) == new_kid) {
      new_token = t;
      break;
    }
    kids_before.push_back(kid_of(t));
    std::this_thread::sleep_for(50ms);
  }
  // published after not_yet_published, signing sign_after_publish after that at the earliest
  const auto switched_after = std::chrono::steady_clock::now() - not_yet_published;
  ASSERT_FALSE(new_token.empty()) << "still not signing with " << new_kid
                                  << " 8 s after the rotation";
  EXPECT_GE(switched_after, issuer::sign_after_publish)
      << "signed with the new key before the other issuers could publish it";
  ASSERT_FALSE(kids_before.empty());
  for (const auto& k : kids_before) EXPECT_EQ(k, old_kid);
  auto v_new = verify(new_token, jwks.body);
  EXPECT_EQ(v_new.exit_code, 0) << describe(v_new);
  auto v_old = verify(old_token, jwks.body);  // issued before the rotation, still valid
  EXPECT_EQ(v_old.exit_code, 0) << describe(v_old);
}

TEST_F(Serve, PublishWritesWhatServeAnswers) {
  // one rotation first, so the set holds more than one key
  auto rot = home_->cmd({"keys", "rotate", "--now"});
  ASSERT_EQ(rot.exit_code, 0) << describe(rot);
  const auto new_kid = line_value(rot.out, "key ").substr(0, line_value(rot.out, "key ").find(' '));
  http_reply jwks;
  for (auto t0 = std::chrono::steady_clock::now(); std::chrono::steady_clock::now() - t0 < 3s;
       std::this_thread::sleep_for(100ms)) {
    jwks = get("/.well-known/jwks.json");
    if (jwks.status == 200 && contains(kids_in_jwks(jwks.body), new_kid)) break;
  }
  ASSERT_TRUE(contains(kids_in_jwks(jwks.body), new_kid)) << jwks.body;
  auto disc = get("/.well-known/openid-configuration");
  auto as_meta = get("/.well-known/oauth-authorization-server");

  const auto out = home_->dir.path() / "public";
  auto pub = home_->cmd({"publish", "--out", out.string()});
  ASSERT_EQ(pub.exit_code, 0) << describe(pub);
  // the same moment: nothing changed on the server meanwhile
  ASSERT_EQ(get("/.well-known/jwks.json").body, jwks.body);

  EXPECT_EQ(read_file(out / ".well-known" / "openid-configuration"), disc.body);
  EXPECT_EQ(read_file(out / ".well-known" / "jwks.json"), jwks.body);
  EXPECT_EQ(read_file(out / ".well-known" / "oauth-authorization-server"), as_meta.body);
  // publish tells the operator the Cache-Control to configure: the max-age serve sends (it counts
  // down to the next change of the set, so allow the seconds between the two reads)
  const auto pub_cc = line_value(pub.out, "serve jwks.json with Cache-Control: public, max-age=");
  ASSERT_FALSE(pub_cc.empty()) << pub.out;
  const auto served =
      std::stol(jwks.header("Cache-Control").substr(std::string("public, max-age=").size()));
  EXPECT_LE(std::labs(std::stol(pub_cc) - served), 5)
      << pub.out << " vs " << jwks.header("Cache-Control");
}

}  // namespace
}  // namespace gatepass::itest
