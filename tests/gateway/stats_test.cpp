// Metrics across a SIGHUP reload: the counters carry on (a Prometheus counter never falls back
// to zero), a route's requests by its label, and an authorizer left as it was keeps its
// verified-token cache.
#include "gateway/stats.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "gateway/authenticator.h"
#include "gateway/errc.h"
#include "gateway/gateway_server.h"
#include "gateway/jwks_cache.h"

namespace gatepass::gateway {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(Stats, ARebuiltSetCarriesEveryCountOn) {
  stats before({"GET /a", "GET /b"});
  before.count_request(0, 200);
  before.count_request(0, 200);
  before.count_request(1, 403);
  before.count_request(2, 404);  // unmatched
  before.count_denied(errc::scope_insufficient);
  before.observe_upstream(0.002);
  before.connection_opened();
  before.connection_opened();
  before.connection_refused();

  // routes reordered, one gone, one new
  stats after({"GET /c", "GET /a"}, &before);
  const auto text = after.render({});
  EXPECT_TRUE(has_line(text, R"(gatepass_requests_total{route="GET /a",status="200"} 2)")) << text;
  EXPECT_TRUE(has_line(text, R"(gatepass_requests_total{route="unmatched",status="404"} 1)"));
  EXPECT_EQ(text.find("GET /b"), std::string::npos) << "a route no longer configured";
  EXPECT_TRUE(has_line(text, R"(gatepass_denied_total{reason="scope_insufficient"} 1)"));
  EXPECT_TRUE(has_line(text, "gatepass_upstream_latency_seconds_count 1"));
  EXPECT_TRUE(has_line(text, "gatepass_connections 2"));
  EXPECT_TRUE(has_line(text, "gatepass_connections_refused_total 1"));

  // a request still finishing on the old set counts in the new one, and the other way round
  before.count_request(0, 200);
  after.count_request(1, 200);
  after.count_request(0, 201);
  before.connection_closed();  // a connection opened before the reload closes after it
  const auto both = after.render({});
  EXPECT_TRUE(has_line(both, R"(gatepass_requests_total{route="GET /a",status="200"} 4)")) << both;
  EXPECT_TRUE(has_line(both, R"(gatepass_requests_total{route="GET /c",status="201"} 1)"));
  EXPECT_TRUE(has_line(both, "gatepass_connections 1"));
  const auto old_view = before.render({});  // the old set sees the same counts
  EXPECT_TRUE(has_line(old_view, R"(gatepass_requests_total{route="GET /a",status="200"} 4)"))
      << old_view;
  EXPECT_TRUE(has_line(before.render({}), "gatepass_connections 1"));
}

TEST(Stats, LabelValuesAreEscapedAsPrometheusReadsThem) {
  stats s({"GET /a\"b\\c"});
  s.count_request(0, 200);
  const auto text = s.render({});
  EXPECT_TRUE(has_line(text, R"(gatepass_requests_total{route="GET /a\"b\\c",status="200"} 1)"))
      << text;
}

TEST(Stats, AReloadKeepsAnUnchangedAuthorizerAndDropsCachesNoneUses) {
  boost::asio::io_context ioc;  // never run: nothing is fetched
  jwks_caches caches;
  gateway_config cfg;
  authorizer_config a;
  a.name = "jwt";
  a.issuer_url = "http://127.0.0.1:1";
  a.audience = {"aud"};
  cfg.authorizers["jwt"] = a;
  auto b = a;
  b.name = "other";
  b.audience = {"other"};
  cfg.authorizers["other"] = b;
  cfg.routes.push_back({"GET", "/a/{proxy+}", "jwt", {}, false, "http://127.0.0.1:9", 1});
  cfg.routes.push_back({"GET", "/b/{proxy+}", "other", {}, false, "http://127.0.0.1:9", 2});
  const auto first = build_state(cfg, ioc, caches);
  first->counters->count_request(0, 200);

  auto changed = cfg;
  changed.authorizers["other"].audience = {"another"};
  const auto second = build_state(changed, ioc, caches, first.get());
  ASSERT_EQ(second->authenticators.size(), 2u);
  EXPECT_EQ(second->route_auth[0], first->route_auth[0]) << "unchanged: kept, its cache too";
  EXPECT_NE(second->route_auth[1], first->route_auth[1]) << "another audience: built anew";
  EXPECT_TRUE(has_line(second->counters->render({}),
                       R"(gatepass_requests_total{route="GET /a/{proxy+}",status="200"} 1)"));

  auto smaller = changed;
  smaller.limits.token_cache_entries = 10;  // the cache's bound changed: a new cache
  const auto third = build_state(smaller, ioc, caches, second.get());
  EXPECT_NE(third->route_auth[0], second->route_auth[0]);

  // an issuer no authorizer names any more: its cache stops and goes
  auto moved = smaller;
  moved.authorizers["other"].issuer_url = "http://127.0.0.1:2";
  const auto fourth = build_state(moved, ioc, caches, third.get());
  EXPECT_EQ(caches.size(), 2u);
  prune_jwks_caches(caches, *fourth);
  ASSERT_EQ(caches.size(), 2u) << "both issuers still used";
  moved.authorizers.erase("other");
  moved.routes.pop_back();
  const auto fifth = build_state(moved, ioc, caches, fourth.get());
  prune_jwks_caches(caches, *fifth);
  ASSERT_EQ(caches.size(), 1u);
  EXPECT_EQ(caches.begin()->second, fifth->authenticators.front()->jwks());
  for (auto& [url, cache] : caches) cache->stop();
}

}  // namespace
}  // namespace gatepass::gateway
