// jwks_cache with a fake fetcher (no network) on a real io_context: discovery checks, the
// snapshot swap, unknown-kid refetch limits, failures keeping the last good set, and
// Cache-Control bounds. Durations are whole seconds, kept small.
#include "gateway/jwks_cache.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>
#include <ctime>
#include <map>
#include <thread>

#include "gateway/authenticator.h"
#include "gateway/errc.h"
#include "jose/errc.h"
#include "keys/key_generator.h"
#include "net/errc.h"

namespace gatepass::gateway {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using net::fetch_response;

constexpr const char* issuer = "https://issuer.test";
constexpr const char* discovery = "https://issuer.test/.well-known/openid-configuration";
constexpr const char* jwks_url = "https://keys.issuer.test/jwks.json";

std::string jwks_of(std::initializer_list<const char*> kids) {
  json::array keys;
  for (const char* kid : kids)
    keys.push_back(keys::generate_key(jose::alg::es256, 0, kid)->to_public_json());
  json::object doc;
  doc["keys"] = std::move(keys);
  return json::serialize(doc);
}

std::string discovery_doc(std::string_view iss, std::string_view jwks_uri = jwks_url) {
  json::object doc;
  doc["issuer"] = iss;
  doc["jwks_uri"] = jwks_uri;
  return json::serialize(doc);
}

fetch_response ok(std::string body, std::string cache_control = {}) {
  fetch_response r;
  r.status = 200;
  r.body = std::move(body);
  r.cache_control = std::move(cache_control);
  return r;
}

// The network seam: URL → canned answer, answered after `delay` on the io_context.
class fake_web {
 public:
  explicit fake_web(asio::io_context& ioc) : ioc_(ioc) {}

  void set(const std::string& url, result<fetch_response> r) {
    std::lock_guard lock(m_);
    routes_.insert_or_assign(url, std::move(r));
  }
  void set_delay(std::chrono::milliseconds d) { delay_ = d; }
  int count(const std::string& url) {
    std::lock_guard lock(m_);
    return counts_[url];
  }

  fetch_function fn() {
    return [this](const std::string& url, std::function<void(result<fetch_response>)> cb) {
      result<fetch_response> r = net::errc::fetch_failed;
      {
        std::lock_guard lock(m_);
        ++counts_[url];
        if (auto it = routes_.find(url); it != routes_.end()) r = it->second;
      }
      auto timer = std::make_shared<asio::steady_timer>(ioc_, delay_.load());
      timer->async_wait(
          [timer, r = std::move(r), cb = std::move(cb)](auto) mutable { cb(std::move(r)); });
    };
  }

 private:
  asio::io_context& ioc_;
  std::mutex m_;
  std::map<std::string, result<fetch_response>> routes_;
  std::map<std::string, int> counts_;
  std::atomic<std::chrono::milliseconds> delay_{0ms};
};

// An io_context running on two threads, as the gateway runs one per core.
struct loop {
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(ioc);
  std::thread a{[this] { ioc.run(); }};
  std::thread b{[this] { ioc.run(); }};
  ~loop() {
    guard.reset();
    ioc.stop();
    a.join();
    b.join();
  }
};

template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit = 2000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

jwks_cache_options options() {
  jwks_cache_options o;
  o.issuer_url = issuer;
  o.min_ttl = 60s;
  o.max_ttl = 3600s;
  o.refetch_cooldown = 30s;
  return o;
}

TEST(JwksCache, DiscoveryIssuerMismatchIsNeverReady) {
  loop l;
  fake_web web(l.ioc);
  web.set(discovery, ok(discovery_doc("https://issuer.test/")));  // a trailing slash differs
  web.set(jwks_url, ok(jwks_of({"a"})));
  auto cache = jwks_cache::create(l.ioc, options(), web.fn());
  cache->start();
  ASSERT_TRUE(wait_for([&] { return cache->stats().fetch_failed.load() >= 1; }));
  EXPECT_FALSE(cache->ready());
  EXPECT_EQ(cache->keys(), nullptr);
  EXPECT_EQ(web.count(jwks_url), 0);  // keys are never fetched from an unverified issuer
  EXPECT_EQ(cache->last_error(), make_error_code(errc::discovery_issuer_mismatch).message());
  EXPECT_EQ(cache->next_refresh_delay(), 1s);  // not ready: the backoff starts at 1 s
  cache->stop();
}

TEST(JwksCache, DiscoveryWithoutUsableJwksUriIsInvalid) {
  struct row {
    std::string doc;
    std::error_code expected;
  };
  const row rows[] = {
      {"{\"issuer\":\"https://issuer.test\"}", errc::discovery_invalid},
      {discovery_doc(issuer, "ftp://keys.issuer.test/jwks"), errc::discovery_invalid},
      {discovery_doc(issuer, "http://keys.issuer.test/jwks"), net::errc::fetch_insecure},
      {"{\"issuer\":\"https://issuer.test\",\"jwks_uri\":7}", errc::discovery_invalid},
      {"{\"issuer\":\"https://issuer.test\",\"issuer\":\"https://issuer.test\"}",
       errc::discovery_invalid},
      {"not json", errc::discovery_invalid},
  };
  for (const auto& r : rows) {
    loop l;
    fake_web web(l.ioc);
    web.set(discovery, ok(r.doc));
    auto cache = jwks_cache::create(l.ioc, options(), web.fn());
    cache->start();
    ASSERT_TRUE(wait_for([&] { return cache->stats().fetch_failed.load() >= 1; })) << r.doc;
    EXPECT_FALSE(cache->ready()) << r.doc;
    EXPECT_EQ(cache->last_error(), r.expected.message()) << r.doc;
    cache->stop();
  }
}

TEST(JwksCache, LoadsTheKeysAndJoinsTheDiscoveryUrl) {
  loop l;
  fake_web web(l.ioc);
  auto opt = options();
  opt.issuer_url = "https://issuer.test/tenant/";  // joined without a double slash
  web.set("https://issuer.test/tenant/.well-known/openid-configuration",
          ok(discovery_doc("https://issuer.test/tenant/")));
  web.set(jwks_url, ok(jwks_of({"a", "b"}), "max-age=300"));
  auto cache = jwks_cache::create(l.ioc, opt, web.fn());
  EXPECT_FALSE(cache->ready());
  cache->start();
  // the count goes up last (whoever sees it sees the state it describes): ready() can be true
  // a moment before it
  ASSERT_TRUE(wait_for([&] { return cache->stats().fetch_ok.load() == 1; }));
  ASSERT_TRUE(cache->ready());
  auto keys = cache->keys();
  EXPECT_EQ(keys->keys().size(), 2u);
  EXPECT_TRUE(keys->select(std::string_view("a")));
  EXPECT_TRUE(keys->select(std::string_view("b")));
  EXPECT_EQ(cache->stats().fetch_failed.load(), 0u);
  EXPECT_EQ(cache->last_error(), "");
  EXPECT_EQ(cache->next_refresh_delay(), 300s);
  cache->stop();
}

TEST(JwksCache, UnknownKidFloodCausesOneRefetchPerCooldown) {
  loop l;
  fake_web web(l.ioc);
  web.set(discovery, ok(discovery_doc(issuer)));
  web.set(jwks_url, ok(jwks_of({"a"})));
  auto opt = options();
  opt.refetch_cooldown = 1s;
  auto cache = jwks_cache::create(l.ioc, opt, web.fn());
  cache->start();
  ASSERT_TRUE(wait_for([&] { return cache->ready(); }));

  auto flood = [&] {
    std::thread t1([&] {
      for (int i = 0; i < 500; ++i) cache->on_unknown_kid();
    });
    std::thread t2([&] {
      for (int i = 0; i < 500; ++i) cache->on_unknown_kid();
    });
    t1.join();
    t2.join();
  };
  flood();  // the start fetch is within the cooldown: nothing
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(cache->stats().unknown_kid_refetches.load(), 0u);
  EXPECT_EQ(web.count(jwks_url), 1);

  std::this_thread::sleep_for(1100ms);
  web.set(jwks_url, ok(jwks_of({"a", "rotated"})));
  web.set_delay(100ms);  // the refetch stays in flight while the flood goes on
  flood();
  ASSERT_TRUE(wait_for([&] { return cache->stats().fetch_ok.load() == 2; }));
  flood();  // the cooldown runs from the refetch's start
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(cache->stats().unknown_kid_refetches.load(), 1u);
  EXPECT_EQ(web.count(discovery), 2);
  EXPECT_EQ(web.count(jwks_url), 2);
  EXPECT_TRUE(cache->keys()->select(std::string_view("rotated")));
  cache->stop();
}

TEST(JwksCache, FailedRefreshKeepsTheLastGoodKeys) {
  loop l;
  fake_web web(l.ioc);
  web.set(discovery, ok(discovery_doc(issuer)));
  web.set(jwks_url, ok(jwks_of({"a"})));
  auto opt = options();
  opt.refetch_cooldown = 0s;  // every unknown kid refetches, so each failure is one call away
  auto cache = jwks_cache::create(l.ioc, opt, web.fn());
  cache->start();
  ASSERT_TRUE(wait_for([&] { return cache->ready(); }));
  const auto good = cache->keys();

  const std::string oct_only =
      R"({"keys":[{"kty":"oct","kid":"h","alg":"HS256","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}]})";
  const std::pair<result<fetch_response>, std::error_code> failures[] = {
      {make_error_code(net::errc::fetch_failed), net::errc::fetch_failed},
      {make_error_code(net::errc::fetch_too_large), net::errc::fetch_too_large},
      {ok("{\"keys\":[]}"), jose::errc::jwks_no_valid_keys},
      {ok(oct_only), jose::errc::jwks_no_valid_keys},  // never a symmetric key from a remote set
      {ok("{\"keys\":[{\"kty\":\"RSA\"}]}"), jose::errc::jwks_no_valid_keys},
      {ok("{\"nokeys\":1}"), jose::errc::jwks_no_keys},
      {ok("<html>"), jose::errc::jwks_bad_json},
  };
  std::uint64_t expected_failed = 0;
  for (const auto& [answer, expected] : failures) {
    web.set(jwks_url, answer);
    cache->on_unknown_kid();
    ++expected_failed;
    ASSERT_TRUE(wait_for([&] { return cache->stats().fetch_failed.load() == expected_failed; }))
        << expected.message();
    EXPECT_EQ(cache->last_error(), expected.message());
    EXPECT_EQ(cache->keys(), good) << expected.message();  // the same snapshot, untouched
    EXPECT_EQ(cache->next_refresh_delay(), opt.retry_after);
  }
  // The issuer changing its name is a failure too, never a reason to drop the keys.
  web.set(discovery, ok(discovery_doc("https://evil.test")));
  cache->on_unknown_kid();
  ASSERT_TRUE(wait_for([&] { return cache->stats().fetch_failed.load() == expected_failed + 1; }));
  EXPECT_EQ(cache->keys(), good);
  EXPECT_EQ(cache->stats().fetch_ok.load(), 1u);
  cache->stop();
}

// The verified-token cache under a changing key set: a cached token is a hit while its key is
// in the set (the same snapshot or a refetched one), and is refused once the key left it, even
// though its entry has not expired.
TEST(JwksCache, CachedTokenEndsWithItsKey) {
  loop l;
  fake_web web(l.ioc);
  const auto key_a = *keys::generate_key(jose::alg::es256, 0, "a");
  const auto key_b = *keys::generate_key(jose::alg::es256, 0, "b");
  auto set_of = [](std::initializer_list<const jose::jwk*> ks) {
    json::array arr;
    for (const auto* k : ks) arr.push_back(k->to_public_json());
    json::object doc;
    doc["keys"] = std::move(arr);
    return json::serialize(doc);
  };
  web.set(discovery, ok(discovery_doc(issuer)));
  web.set(jwks_url, ok(set_of({&key_a, &key_b})));
  auto opt = options();
  opt.refetch_cooldown = 0s;
  auto cache = jwks_cache::create(l.ioc, opt, web.fn());
  cache->start();
  ASSERT_TRUE(wait_for([&] { return cache->ready(); }));

  authorizer_config cfg;
  cfg.name = "jwt";
  cfg.issuer_url = issuer;
  cfg.audience = {"api"};
  authenticator auth(cfg, cache, 100, 16384);
  const std::int64_t now = std::time(nullptr);
  json::object claims;
  claims["iss"] = issuer;
  claims["aud"] = "api";
  claims["sub"] = "alice";
  claims["exp"] = now + 600;
  claims["scope"] = "USER";
  const std::string token = *jose::sign_compact(key_a, json::serialize(claims), {});
  route_config route;
  route.scopes = {"USER"};

  auto first = auth.authorize(token, route, now);
  ASSERT_EQ(first.status, 200u) << first.reason.message();
  EXPECT_FALSE(first.cache_hit);
  auto again = auth.authorize(token, route, now);
  EXPECT_EQ(again.status, 200u);
  EXPECT_TRUE(again.cache_hit);  // same snapshot
  EXPECT_EQ(auth.cache_hits(), 1u);

  // the issuer publishes `set`; returns once the cache swapped to it
  auto publish = [&](std::string set) {
    web.set(jwks_url, ok(std::move(set)));
    const auto before = cache->keys();
    cache->on_unknown_kid();
    return wait_for([&] { return cache->keys() != before; });
  };

  // a refetched set that still holds "a": still a hit
  ASSERT_TRUE(publish(set_of({&key_a, &key_b})));
  auto refetched = auth.authorize(token, route, now);
  EXPECT_EQ(refetched.status, 200u);
  EXPECT_TRUE(refetched.cache_hit);

  // kid "a" now names another key: the cached entry no longer counts, the signature fails
  const auto key_a2 = *keys::generate_key(jose::alg::es256, 0, "a");
  ASSERT_TRUE(publish(set_of({&key_a2, &key_b})));
  auto swapped = auth.authorize(token, route, now);
  EXPECT_EQ(swapped.status, 401u);
  EXPECT_FALSE(swapped.cache_hit);
  EXPECT_EQ(swapped.reason, jose::errc::signature_invalid);

  // "a" retired: the cached entry no longer counts, the token is refused
  ASSERT_TRUE(publish(set_of({&key_a, &key_b})));
  ASSERT_EQ(auth.authorize(token, route, now).status, 200u);  // verified (and cached) again
  ASSERT_TRUE(publish(set_of({&key_b})));
  auto retired = auth.authorize(token, route, now);
  EXPECT_EQ(retired.status, 401u);
  EXPECT_FALSE(retired.cache_hit);
  EXPECT_EQ(retired.reason, jose::errc::kid_unknown);
  cache->stop();
}

TEST(JwksCache, CacheControlSetsTheRefreshWithinBounds) {
  struct row {
    const char* cache_control;
    std::chrono::seconds expected;
  };
  const row rows[] = {
      {"max-age=600", 600s},
      {"max-age=5", 60s},
      {"max-age=86400", 3600s},
      {"", 60s},
      {"no-store", 60s},
      {"no-cache", 60s},
      {"s-maxage=120, max-age=3000", 120s},
  };
  for (const auto& r : rows) {
    loop l;
    fake_web web(l.ioc);
    web.set(discovery, ok(discovery_doc(issuer)));
    web.set(jwks_url, ok(jwks_of({"a"}), r.cache_control));
    auto cache = jwks_cache::create(l.ioc, options(), web.fn());
    cache->start();
    ASSERT_TRUE(wait_for([&] { return cache->ready(); })) << r.cache_control;
    EXPECT_EQ(cache->next_refresh_delay(), r.expected) << r.cache_control;
    cache->stop();
  }
}

TEST(JwksCache, RefreshesWhenTheLifetimeEnds) {
  loop l;
  fake_web web(l.ioc);
  web.set(discovery, ok(discovery_doc(issuer)));
  web.set(jwks_url, ok(jwks_of({"a"}), "max-age=3600"));
  auto opt = options();
  opt.min_ttl = 1s;
  opt.max_ttl = 1s;  // max-age=3600 clamped to 1 s
  auto cache = jwks_cache::create(l.ioc, opt, web.fn());
  const auto t0 = std::chrono::steady_clock::now();
  cache->start();
  ASSERT_TRUE(wait_for([&] { return cache->ready(); }));
  const auto first = cache->keys();
  web.set(jwks_url, ok(jwks_of({"b"}), "max-age=3600"));
  ASSERT_TRUE(wait_for([&] { return cache->stats().fetch_ok.load() == 2; }, 2500ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 950ms);
  EXPECT_NE(cache->keys(), first);  // swapped whole
  EXPECT_TRUE(cache->keys()->select(std::string_view("b")));
  EXPECT_FALSE(cache->keys()->select(std::string_view("a")));
  EXPECT_TRUE(
      first->select(std::string_view("a")));  // an old snapshot stays intact for its holders

  cache->stop();  // no refresh after stop
  const auto fetched = web.count(jwks_url);
  std::this_thread::sleep_for(1200ms);
  EXPECT_EQ(web.count(jwks_url), fetched);
}

TEST(JwksRefreshDelay, ClampsToTheBounds) {
  jwks_cache_options o;
  o.min_ttl = 60s;
  o.max_ttl = 3600s;
  EXPECT_EQ(jwks_refresh_delay(std::nullopt, o), 60s);
  EXPECT_EQ(jwks_refresh_delay(0s, o), 60s);
  EXPECT_EQ(jwks_refresh_delay(59s, o), 60s);
  EXPECT_EQ(jwks_refresh_delay(61s, o), 61s);
  EXPECT_EQ(jwks_refresh_delay(3600s, o), 3600s);
  EXPECT_EQ(jwks_refresh_delay(3601s, o), 3600s);
  o.max_ttl = 10s;  // misconfigured: max below min → min
  EXPECT_EQ(jwks_refresh_delay(30s, o), 60s);
}

}  // namespace
}  // namespace gatepass::gateway
