// The discovery/JWKS fetcher against net::http_server on 127.0.0.1: status handling, limits,
// the total deadline, and the plain-http policy; plus the Cache-Control parser.
#include "net/http_client.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "net/errc.h"
#include "net/http_server.h"

namespace gatepass::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

http_response route(const http_request& req) {
  const auto path = req.path();
  if (path == "/ok") {
    http_response r;
    r.set("Content-Type", "application/json").set("Cache-Control", "public, max-age=300");
    r.body = req.header("Accept") == "application/json" && req.header("User-Agent") == "gatepass"
                 ? "{\"keys\":[]}"
                 : "{\"wrong\":\"request headers\"}";
    return r;
  }
  if (path == "/redirect") return http_response{302, {{"Location", "http://127.0.0.1:1/evil"}}, ""};
  if (path == "/moved") return http_response{301, {{"Location", "/ok"}}, ""};
  if (path == "/big") return http_response{200, {}, std::string(200 * 1024, 'x')};
  if (path == "/query") return http_response{200, {}, std::string(req.target)};
  return json_response(404, "{\"message\":\"Not Found\"}");
}

// One server on its own thread for the whole suite.
struct server_fixture {
  asio::io_context ioc;
  http_server server{ioc, "127.0.0.1:0", route};
  std::thread thread{[this] { ioc.run(); }};
  ~server_fixture() {
    server.stop();
    ioc.stop();
    thread.join();
  }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(server.port()) + std::string(path);
  }
};

server_fixture& srv() {
  static server_fixture f;
  return f;
}

struct outcome {
  result<fetch_response> r = net::errc::fetch_failed;
  int calls = 0;
  std::chrono::steady_clock::duration elapsed{};
};

outcome fetch(const std::string& url, fetch_options opt = {}) {
  asio::io_context ioc;
  outcome o;
  const auto t0 = std::chrono::steady_clock::now();
  async_fetch(ioc, url, opt, [&](result<fetch_response> r) {
    o.r = std::move(r);
    ++o.calls;
  });
  ioc.run();  // returns when the fetch has nothing left pending
  o.elapsed = std::chrono::steady_clock::now() - t0;
  return o;
}

TEST(HttpClient, Returns200BodyAndCacheHeaders) {
  auto o = fetch(srv().url("/ok"));
  ASSERT_EQ(o.calls, 1);
  ASSERT_TRUE(o.r) << o.r.error().message();
  EXPECT_EQ(o.r->status, 200u);
  EXPECT_EQ(o.r->body, "{\"keys\":[]}");
  EXPECT_EQ(o.r->cache_control, "public, max-age=300");
  EXPECT_EQ(o.r->content_type, "application/json");
}

TEST(HttpClient, SendsPathAndQuery) {
  auto o = fetch(srv().url("/query?a=1&b=%20#fragment"));
  ASSERT_TRUE(o.r) << o.r.error().message();
  EXPECT_EQ(o.r->body, "/query?a=1&b=%20");
}

TEST(HttpClient, LocalhostIsLoopback) {
  auto o = fetch("http://localhost:" + std::to_string(srv().server.port()) + "/ok");
  ASSERT_TRUE(o.r) << o.r.error().message();
  EXPECT_EQ(o.r->status, 200u);
}

TEST(HttpClient, NotFoundIsNotOk) {
  auto o = fetch(srv().url("/missing"));
  ASSERT_EQ(o.calls, 1);
  ASSERT_FALSE(o.r);
  EXPECT_EQ(o.r.error(), net::errc::fetch_not_ok);
}

TEST(HttpClient, RedirectsAreNeverFollowed) {
  for (const char* path : {"/redirect", "/moved"}) {
    auto o = fetch(srv().url(path));
    ASSERT_EQ(o.calls, 1);
    ASSERT_FALSE(o.r) << path;
    EXPECT_EQ(o.r.error(), net::errc::fetch_redirect) << path;
  }
}

TEST(HttpClient, OversizedBodyIsTooLarge) {
  auto o = fetch(srv().url("/big"));  // 200 KiB > the 150 KiB default
  ASSERT_EQ(o.calls, 1);
  ASSERT_FALSE(o.r);
  EXPECT_EQ(o.r.error(), net::errc::fetch_too_large);

  fetch_options roomy;
  roomy.max_body = 256 * 1024;
  auto ok = fetch(srv().url("/big"), roomy);
  ASSERT_TRUE(ok.r) << ok.r.error().message();
  EXPECT_EQ(ok.r->body.size(), 200u * 1024);
}

TEST(HttpClient, SlowServerTimesOutWithinTheDeadline) {
  // Listens but never accepts: the kernel completes the handshake, no answer ever comes.
  asio::io_context ioc;
  asio::ip::tcp::acceptor silent(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  fetch_options opt;
  opt.timeout = 300ms;
  auto o = fetch("http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/", opt);
  ASSERT_EQ(o.calls, 1);
  ASSERT_FALSE(o.r);
  EXPECT_EQ(o.r.error(), std::error_code(boost::beast::error_code(boost::beast::error::timeout)));
  EXPECT_GE(o.elapsed, 250ms);
  EXPECT_LT(o.elapsed, 1s);
}

TEST(HttpClient, PlainHttpToNonLoopbackIsRefusedWithoutConnecting) {
  for (const char* url :
       {"http://10.255.255.1/", "http://example.com/jwks", "http://[2001:db8::1]/",
        "http://localhost.example.com/", "http://128.0.0.1/"}) {
    auto o = fetch(url);
    ASSERT_EQ(o.calls, 1) << url;
    ASSERT_FALSE(o.r) << url;
    EXPECT_EQ(o.r.error(), net::errc::fetch_insecure) << url;
    EXPECT_LT(o.elapsed, 100ms) << url;  // no resolve, no connect
    EXPECT_EQ(check_fetch_url(url), net::errc::fetch_insecure) << url;
  }
}

TEST(HttpClient, CheckFetchUrlTable) {
  struct row {
    const char* url;
    std::error_code expected;
  };
  const row rows[] = {
      {"https://issuer.example.com/.well-known/jwks.json", {}},
      {"https://[2001:db8::1]:8443/jwks", {}},
      {"http://127.0.0.1:8080/jwks", {}},
      {"http://127.9.9.9/jwks", {}},
      {"http://[::1]/jwks", {}},
      {"http://LOCALHOST/jwks", {}},
      {"http://10.0.0.1/jwks", net::errc::fetch_insecure},
      {"ftp://127.0.0.1/jwks", net::errc::fetch_failed},
      {"file:///etc/passwd", net::errc::fetch_failed},
      {"/relative/jwks", net::errc::fetch_failed},
      {"https://user:pass@issuer.example.com/jwks", net::errc::fetch_failed},
      {"https://issuer.example.com:0/jwks", net::errc::fetch_failed},
      {"https://iss%75er.example.com/jwks", net::errc::fetch_failed},
      {"not a url", net::errc::fetch_failed},
  };
  for (const auto& r : rows) EXPECT_EQ(check_fetch_url(r.url), r.expected) << r.url;
}

TEST(HttpClient, HttpsVerifiesTheServer) {
  // A plain HTTP server cannot complete a TLS handshake: an error, exactly once, in time.
  auto o = fetch("https://127.0.0.1:" + std::to_string(srv().server.port()) + "/ok");
  ASSERT_EQ(o.calls, 1);
  EXPECT_FALSE(o.r);
  // A CA file that does not exist fails before any connection.
  fetch_options opt;
  opt.ca_file = "/nonexistent/ca.pem";
  auto missing = fetch("https://127.0.0.1:" + std::to_string(srv().server.port()) + "/ok", opt);
  ASSERT_EQ(missing.calls, 1);
  EXPECT_FALSE(missing.r);
}

// A self-signed P-256 certificate with the given subjectAltName, as PEM (certificate, key).
std::pair<std::string, std::string> make_cert(const char* san) {
  auto pem_of = [](auto write) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    write(bio.get());
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
  };
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("gatepass test"), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509_set_pubkey(x.get(), key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san);
  X509_add_ext(x.get(), ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(x.get(), key.get(), EVP_sha256());
  return {pem_of([&](BIO* b) { PEM_write_bio_X509(b, x.get()); }), pem_of([&](BIO* b) {
            PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
          })};
}

// Serves one HTTPS request (synchronously, on its own thread) with a 200 JSON body.
struct tls_server {
  asio::io_context ioc;
  asio::ssl::context ctx{asio::ssl::context::tls_server};
  asio::ip::tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
  std::thread thread;

  explicit tls_server(const std::pair<std::string, std::string>& cert) {
    ctx.use_certificate(asio::buffer(cert.first), asio::ssl::context::pem);
    ctx.use_private_key(asio::buffer(cert.second), asio::ssl::context::pem);
    thread = std::thread([this] {
      namespace http = boost::beast::http;
      boost::system::error_code ec;
      asio::ip::tcp::socket socket(ioc);
      acceptor.accept(socket, ec);
      if (ec) return;
      asio::ssl::stream<asio::ip::tcp::socket> stream(std::move(socket), ctx);
      stream.handshake(asio::ssl::stream_base::server, ec);
      if (ec) return;
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(stream, buffer, req, ec);
      if (ec) return;
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::cache_control, "max-age=60");
      res.body() = "{\"keys\":[]}";
      res.prepare_payload();
      http::write(stream, res, ec);
      stream.shutdown(ec);
    });
  }
  ~tls_server() {
    boost::system::error_code ec;
    acceptor.close(ec);  // a client that never connected: accept() fails, the thread ends
    thread.join();
  }
  std::string url(std::string_view host) const {
    return "https://" + std::string(host) + ":" + std::to_string(acceptor.local_endpoint().port()) +
           "/jwks";
  }
};

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path =
      std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()) + ".pem");
  std::ofstream(path) << text;
  return path.string();
}

TEST(HttpClient, HttpsWithAPrivateCaVerifiesCertificateAndHostName) {
  const auto cert = make_cert("DNS:localhost,IP:127.0.0.1");
  fetch_options opt;
  opt.ca_file = write_temp("gatepass-ca", cert.first);
  for (const char* host : {"127.0.0.1", "localhost"}) {
    tls_server server(cert);
    auto o = fetch(server.url(host), opt);
    ASSERT_EQ(o.calls, 1);
    ASSERT_TRUE(o.r) << host << ": " << o.r.error().message();
    EXPECT_EQ(o.r->body, "{\"keys\":[]}");
    EXPECT_EQ(o.r->cache_control, "max-age=60");
  }
  {
    tls_server server(cert);  // not in the system trust store
    auto o = fetch(server.url("127.0.0.1"));
    ASSERT_EQ(o.calls, 1);
    ASSERT_FALSE(o.r);
    EXPECT_NE(o.r.error().message().find("certificate verify failed"), std::string::npos)
        << o.r.error().message();
  }
  const auto other = make_cert("DNS:other.example");
  fetch_options other_opt;
  other_opt.ca_file = write_temp("gatepass-other-ca", other.first);
  {
    tls_server server(other);  // trusted, but issued for another name
    auto o = fetch(server.url("127.0.0.1"), other_opt);
    ASSERT_EQ(o.calls, 1);
    ASSERT_FALSE(o.r);
    EXPECT_NE(o.r.error().message().find("certificate verify failed"), std::string::npos)
        << o.r.error().message();
  }
  std::filesystem::remove(opt.ca_file);
  std::filesystem::remove(other_opt.ca_file);
}

TEST(HttpClient, ConnectionRefusedIsAnError) {
  asio::io_context ioc;
  unsigned short port = 0;
  {
    asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  auto o = fetch("http://127.0.0.1:" + std::to_string(port) + "/");
  ASSERT_EQ(o.calls, 1);
  EXPECT_FALSE(o.r);
}

TEST(CacheMaxAge, Table) {
  using s = std::chrono::seconds;
  struct row {
    const char* header;
    std::optional<s> expected;
  };
  const row rows[] = {
      {"", std::nullopt},
      {"public", std::nullopt},
      {"max-age=60", s(60)},
      {"public, max-age=300", s(300)},
      {"MAX-AGE=10", s(10)},
      {"max-age=\"20\"", s(20)},
      {"  max-age=15  ,  must-revalidate", s(15)},
      {"max-age=0", s(0)},
      {"s-maxage=30, max-age=60", s(30)},
      {"max-age=60, s-maxage=30", s(30)},
      {"no-store", s(0)},
      {"max-age=60, no-cache", s(0)},
      {"No-Cache=\"Set-Cookie\", max-age=60", s(0)},
      {"max-age=abc", std::nullopt},
      {"max-age=", std::nullopt},
      {"max-age", std::nullopt},
      {"max-age=-5", std::nullopt},
      {"max-age=1.5", std::nullopt},
      {"max-age=99999999999999999999999", s(2147483647)},
      {"max-age=10, max-age=20", s(10)},
      {"max-agent=10", std::nullopt},
  };
  for (const auto& r : rows)
    EXPECT_EQ(cache_max_age(r.header), r.expected) << '"' << r.header << '"';
}

// Offloaded requests (the issuer's token endpoint) run on worker threads: while one is held
// inside its handler, the loop's other requests are answered; over max_waiting, a 503 at once.
struct gated_server {
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released{release.get_future().share()};
  std::atomic<int> slow_calls{0};
  std::promise<void> light_started;
  std::atomic<int> light_calls{0};
  asio::io_context ioc;
  std::unique_ptr<http_server> server;
  std::thread thread;

  // light_lane: /light requests run on the light workers (else on the loop)
  explicit gated_server(std::size_t max_waiting, bool light_lane = false) {
    offload_options o;
    o.when = [](const http_request& r) { return r.path() == "/slow"; };
    o.threads = 1;
    o.max_waiting = max_waiting;
    if (light_lane) o.light = [](const http_request& r) { return r.path() == "/light"; };
    server = std::make_unique<http_server>(
        ioc, "127.0.0.1:0",
        [this](const http_request& r) {
          if (r.path() == "/slow" && slow_calls++ == 0) {
            started.set_value();
            released.wait();
          }
          if (r.path() == "/light" && light_calls++ == 0) {
            light_started.set_value();
            released.wait();
          }
          return route(r);
        },
        server_limits{}, std::move(o));
    thread = std::thread([this] { ioc.run(); });
  }
  ~gated_server() {
    try {
      release.set_value();
    } catch (const std::future_error&) {
    }
    server->stop();
    ioc.stop();
    thread.join();
    server.reset();
  }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(server->port()) + std::string(path);
  }
};

TEST(HttpServer, AnOffloadedRequestNeverHoldsTheLoop) {
  gated_server g(4);
  outcome slow;
  std::thread waiter([&] { slow = fetch(g.url("/slow?x"), {}); });
  ASSERT_EQ(g.started.get_future().wait_for(5s), std::future_status::ready);
  // the slow request sits in its handler; the loop still answers
  auto quick = fetch(g.url("/ok"));
  ASSERT_TRUE(quick.r) << quick.r.error().message();
  EXPECT_EQ(quick.r->body, "{\"keys\":[]}");
  g.release.set_value();
  waiter.join();
  ASSERT_EQ(slow.calls, 1);
  EXPECT_FALSE(slow.r);  // route() answers /slow with 404: what the handler said, relayed
  EXPECT_EQ(slow.r.error(), std::error_code(net::errc::fetch_not_ok));
}

// The light lane (a verified client's token request: an RSA signature): on workers of its own,
// so one held in its handler neither holds the loop nor needs room in the argon2 lane, whose
// one place /slow holds meanwhile.
TEST(HttpServer, LightRequestsRunOnWorkersOfTheirOwn) {
  gated_server g(1, true);
  outcome slow, light;
  std::thread slow_waiter([&] { slow = fetch(g.url("/slow")); });
  std::thread light_waiter([&] { light = fetch(g.url("/light")); });
  // (no ASSERT while the threads run: a failure returns before they are joined)
  const bool held = g.started.get_future().wait_for(5s) == std::future_status::ready &&
                    g.light_started.get_future().wait_for(5s) == std::future_status::ready;
  EXPECT_TRUE(held) << "the /slow and /light handlers did not both start";
  if (held) {
    auto quick = fetch(g.url("/ok"));  // both workers are held; the loop answers
    EXPECT_TRUE(quick.r) << quick.r.error().message();
    if (quick.r) {
      EXPECT_EQ(quick.r->body, "{\"keys\":[]}");
    }
  }
  g.release.set_value();
  slow_waiter.join();
  light_waiter.join();
  EXPECT_EQ(slow.calls, 1);
  EXPECT_EQ(light.calls, 1);
}

// What a proxy in front could read otherwise: Host missing or twice, a body framed by anything
// but Content-Length or chunked alone → 400, and the handler never runs
TEST(HttpServer, HostAndFramingAProxyCouldReadOtherwiseAre400) {
  gated_server g(4);
  auto status_of = [&](const std::string& req) {
    asio::io_context ioc;
    asio::ip::tcp::socket s(ioc);
    s.connect({asio::ip::make_address("127.0.0.1"), g.server->port()});
    asio::write(s, asio::buffer(req));
    std::string got;
    boost::system::error_code ec;
    asio::read(s, asio::dynamic_buffer(got), ec);  // until the server closes
    return got.substr(0, 12);
  };
  const struct {
    const char* name;
    std::string req;
    const char* status;
  } rows[] = {
      {"well formed", "GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 200"},
      {"HTTP/1.0 without Host", "GET /ok HTTP/1.0\r\n\r\n", "HTTP/1.0 200"},
      {"no Host", "GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 400"},
      {"two Hosts", "GET /ok HTTP/1.1\r\nHost: x\r\nHost: y\r\nConnection: close\r\n\r\n",
       "HTTP/1.1 400"},
      {"identity and a length",
       "POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n"
       "Connection: close\r\n\r\nabcde",
       "HTTP/1.1 400"},
      {"gzip",
       "POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n",
       "HTTP/1.1 400"},
      {"chunked",
       "POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: "
       "close\r\n\r\n0\r\n\r\n",
       "HTTP/1.1 200"},
  };
  for (const auto& r : rows) EXPECT_EQ(status_of(r.req), r.status) << r.name;
}

TEST(HttpServer, OffloadedRequestsOverTheBoundAreTurnedAwayAtOnce) {
  gated_server g(1);
  outcome first;
  std::thread waiter([&] { first = fetch(g.url("/slow")); });
  ASSERT_EQ(g.started.get_future().wait_for(5s), std::future_status::ready);
  // a second one would wait: over max_waiting, answered 503 + Retry-After without waiting
  asio::io_context ioc;
  asio::ip::tcp::socket s(ioc);
  s.connect({asio::ip::make_address("127.0.0.1"), g.server->port()});
  const std::string req = "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  asio::write(s, asio::buffer(req));
  std::string got;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(got), ec);  // until the server closes
  EXPECT_EQ(got.rfind("HTTP/1.1 503", 0), 0u) << got;
  EXPECT_NE(got.find("Retry-After: 1\r\n"), std::string::npos) << got;
  g.release.set_value();
  waiter.join();
  EXPECT_EQ(first.calls, 1);
  EXPECT_EQ(g.slow_calls.load(), 1);  // the turned-away request never reached the handler
}

}  // namespace
}  // namespace gatepass::net
