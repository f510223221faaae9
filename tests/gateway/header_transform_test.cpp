// The heads the gateway passes on, without sockets: what reaches the upstream (spoofable and
// hop-by-hop fields dropped, X-Forwarded-* and claim lines set, framing kept as one length) and
// what reaches the client.
#include "gateway/header_transform.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gatepass::gateway {
namespace {

namespace http = boost::beast::http;

// The head must outlive the parser's views: both live in the fixture object.
template <bool isRequest>
struct parsed {
  explicit parsed(std::string t) : text(std::move(t)) {
    boost::beast::error_code ec;
    p.put_head(text.data(), text.size(), ec);
    ok = !ec && p.is_header_done();
  }
  std::string text;
  head_parser<isRequest> p;
  bool ok = false;
};

upstream_request facts() {
  upstream_request u;
  u.base_path = "/base";
  u.path = "/a";
  u.query = "x=1";
  u.host_header = "up.test:9000";
  u.original_host = "client.test";
  u.remote = "10.0.0.1";
  return u;
}

std::string upstream_head(const std::string& client_head, const upstream_request& u) {
  parsed<true> req(client_head);
  EXPECT_TRUE(req.ok) << client_head;
  std::string out;
  append_upstream_request_head(out, req.p, u);
  return out;
}

TEST(HeaderTransform, UpstreamHeadWhole) {
  auto u = facts();
  u.claim_lines = "X-Gatepass-Sub: alice\r\n";
  EXPECT_EQ(
      upstream_head("GET /ignored HTTP/1.1\r\nHost: client.test\r\nAuthorization: Bearer t\r\n"
                    "Accept: */*\r\n\r\n",
                    u),
      "GET /base/a?x=1 HTTP/1.1\r\nHost: up.test:9000\r\nAuthorization: Bearer t\r\n"
      "Accept: */*\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: http\r\n"
      "X-Forwarded-Host: client.test\r\nX-Gatepass-Sub: alice\r\n\r\n");
}

// Every field a client may not pass to the upstream, in the spellings servers read alike.
TEST(HeaderTransform, SpoofableAndHopByHopFieldsNeverReachTheUpstream) {
  const std::vector<std::string> dropped = {"X-Gatepass-Sub",
                                            "x-gatepass-claims",
                                            "X_Gatepass_Scopes",
                                            "X-GATEPASS-ANYTHING",
                                            "X-Forwarded-Proto",
                                            "X_Forwarded_Host",
                                            "X_Forwarded_For",
                                            "Forwarded",
                                            "X-Forwarded-Port",
                                            "X-Forwarded-Prefix",
                                            "X-Forwarded-Server",
                                            "X-Real-IP",
                                            "x_real_ip",
                                            "Keep-Alive",
                                            "Proxy-Connection",
                                            "TE",
                                            "Trailer",
                                            "Upgrade",
                                            "Proxy-Authorization",
                                            "Proxy-Authenticate",
                                            "Expect",
                                            "X-Tenant",
                                            "x_tenant",
                                            "X-Hop",
                                            "x-hop-two",
                                            "X-Original-URL",
                                            "X-Rewrite-URL",
                                            "X-Original-URI",
                                            "X-Original-Method",
                                            "X-Forwarded-Uri",
                                            "X-Forwarded-Method",
                                            "X-HTTP-Method-Override",
                                            "X-HTTP-Method",
                                            "x_method_override",
                                            "X-Forwarded-Ssl",
                                            "X-Forwarded-Scheme",
                                            "X-Url-Scheme",
                                            "Front-End-Https",
                                            "True-Client-IP",
                                            "X-Client-IP",
                                            "X-Cluster-Client-IP"};
  const std::vector<std::string> claim_names = {"x-tenant"};
  auto u = facts();
  u.claim_header_names = claim_names;
  for (const auto& name : dropped) {
    const auto out = upstream_head(
        "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Hop\r\n"
        "Connection: x-hop-two\r\n" +
            name + ": spoofed\r\n\r\n",
        u);
    EXPECT_EQ(out.find("spoofed"), std::string::npos) << name << " reached the upstream:\n" << out;
    EXPECT_EQ(out.find("Connection"), std::string::npos) << out;
  }
}

TEST(HeaderTransform, LookAlikeNamesAreKept) {
  for (const std::string name : {"X-Gatepass", "X-Forwarded-Fort", "X-Real-IPs", "Forwarded-For",
                                 "X-Tenants", "Authorization-Extra"}) {
    const auto out = upstream_head("GET / HTTP/1.1\r\nHost: h\r\n" + name + ": v\r\n\r\n", facts());
    EXPECT_NE(out.find("\r\n" + name + ": v\r\n"), std::string::npos) << name << ":\n" << out;
  }
}

TEST(HeaderTransform, AuthorizationForwardedUnlessConfiguredOff) {
  const std::string req = "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer secret\r\n\r\n";
  auto u = facts();
  EXPECT_NE(upstream_head(req, u).find("Authorization: Bearer secret\r\n"), std::string::npos);
  u.forward_authorization = false;
  EXPECT_EQ(upstream_head(req, u).find("secret"), std::string::npos);
}

TEST(HeaderTransform, TheTokensOwnFieldStaysWhenNotForwarded) {
  const std::string req = "GET / HTTP/1.1\r\nHost: h\r\nX-Api-Token: secret\r\nX-Other: v\r\n\r\n";
  auto u = facts();
  u.token_field = "x-api-token";
  EXPECT_NE(upstream_head(req, u).find("X-Api-Token: secret\r\n"), std::string::npos);
  u.forward_authorization = false;
  const auto out = upstream_head(req, u);
  EXPECT_EQ(out.find("secret"), std::string::npos) << out;
  EXPECT_NE(out.find("X-Other: v\r\n"), std::string::npos) << out;
  EXPECT_EQ(field_canonical("X_Api-TOKEN"), "x-api-token");
}

TEST(HeaderTransform, ForwardedForAppendsToTheClientsFirstList) {
  // the '_' spelling is dropped and never starts the list
  const auto out = upstream_head(
      "GET / HTTP/1.1\r\nHost: h\r\nX_Forwarded_For: 6.6.6.6\r\n"
      "X-Forwarded-For: 1.2.3.4, 5.6.7.8\r\nX-Forwarded-For: 9.9.9.9\r\n\r\n",
      facts());
  EXPECT_NE(out.find("\r\nX-Forwarded-For: 1.2.3.4, 5.6.7.8, 10.0.0.1\r\n"), std::string::npos)
      << out;
  EXPECT_EQ(out.find("6.6.6.6"), std::string::npos) << out;
  EXPECT_EQ(out.find("9.9.9.9"), std::string::npos) << out;
}

TEST(HeaderTransform, ProtoHostAndQuery) {
  auto u = facts();
  u.tls = true;
  u.original_host = "";
  u.query = "";
  u.base_path = "";
  const auto out = upstream_head("GET / HTTP/1.0\r\n\r\n", u);
  EXPECT_EQ(out.rfind("GET /a HTTP/1.1\r\nHost: up.test:9000\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("X-Forwarded-Proto: https\r\n"), std::string::npos);
  EXPECT_EQ(out.find("X-Forwarded-Host"), std::string::npos);
}

TEST(HeaderTransform, FramingGoesOnInOneSpellingWithOneLength) {
  struct row {
    const char* name;
    std::string head;
    std::string want;  // the framing lines of the upstream head
  };
  const std::vector<row> rows = {
      {"one length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n",
       "Content-Length: 3\r\n"},
      {"a list of equal lengths", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\n",
       "Content-Length: 3\r\n"},
      {"two equal fields",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
       "Content-Length: 3\r\n"},
      {"chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
       "Transfer-Encoding: chunked\r\n"},
      // the framing is the gateway's to keep, whatever Connection names
      {"chunked, named in Connection",
       "POST / HTTP/1.1\r\nHost: h\r\nConnection: Transfer-Encoding, Content-Length\r\n"
       "Transfer-Encoding: chunked\r\n\r\n",
       "Transfer-Encoding: chunked\r\n"},
      {"a length, named in Connection",
       "POST / HTTP/1.1\r\nHost: h\r\nConnection: content-length\r\nContent-Length: 3\r\n\r\n",
       "Content-Length: 3\r\n"},
      // framing names spelled with '_': never passed on (CGI-style servers read them as '-')
      {"Transfer_Encoding and Content_Length",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer_Encoding: chunked\r\n"
       "Content_Length: 99\r\n\r\n",
       "Content-Length: 3\r\n"},
      // spellings Beast reads as chunked, which an upstream may not: sent on in one spelling
      {"Chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n",
       "Transfer-Encoding: chunked\r\n"},
      {"chunked with a parameter",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
       "Transfer-Encoding: chunked\r\n"},
      {"chunked and an empty list element",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked ,\r\n\r\n",
       "Transfer-Encoding: chunked\r\n"},
  };
  for (const auto& r : rows) {
    const auto out = upstream_head(r.head, facts());
    std::string framing;
    for (std::size_t at = 0; (at = out.find("\r\n", at)) != std::string::npos;) {
      const auto next = out.find("\r\n", at + 2);
      if (next == std::string::npos) break;
      const auto line = out.substr(at + 2, next + 2 - (at + 2));
      for (const char* name :
           {"Content-Length", "Transfer-Encoding", "Content_Length", "Transfer_Encoding"})
        if (line.rfind(name, 0) == 0) framing += line;
      at = next;
    }
    EXPECT_EQ(framing, r.want) << r.name << ":\n" << out;
  }
}

// The gateway writes "Transfer-Encoding: chunked" alone: a message naming any other coding
// ("gzip, chunked", in one field or two) is refused (501 from a client, 502 from an upstream)
TEST(HeaderTransform, OnlyChunkedAlone) {
  struct row {
    const char* te;  // the Transfer-Encoding lines
    bool only;
  };
  for (const auto& r : std::vector<row>{
           {"Transfer-Encoding: chunked\r\n", true},
           {"Transfer-Encoding: Chunked\r\n", true},
           {"Transfer-Encoding: chunked;q=1\r\n", true},
           {"Transfer-Encoding: chunked ,\r\n", true},
           {"Transfer-Encoding: , chunked\r\n", true},
           {"Transfer-Encoding: gzip, chunked\r\n", false},
           {"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", false},
           {"", false},
       }) {
    parsed<false> rp(std::string("HTTP/1.1 200 OK\r\n") + r.te + "\r\n");
    ASSERT_TRUE(rp.ok) << r.te;
    EXPECT_EQ(only_chunked(rp.p), r.only) << r.te;
    parsed<true> rq(std::string("POST / HTTP/1.1\r\nHost: h\r\n") + r.te + "\r\n");
    if (rq.ok) {
      EXPECT_EQ(only_chunked(rq.p), r.only) << r.te;
    }
  }
}

TEST(HeaderTransform, ResponseHeadDropsHopByHopAndNamedFields) {
  parsed<false> rp(
      "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Internal\r\nX-Internal: s\r\n"
      "Keep-Alive: timeout=5\r\nContent-Length: 3, 3\r\nServer: up\r\n\r\n");
  ASSERT_TRUE(rp.ok);
  std::string out;
  append_response_head(out, rp.p, false, false);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nServer: up\r\nContent-Length: 3\r\n");

  parsed<false> chunked("HTTP/1.1 201 Made\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n");
  ASSERT_TRUE(chunked.ok);
  out.clear();
  append_response_head(out, chunked.p, false, false);
  EXPECT_EQ(out, "HTTP/1.1 201 Made\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n");
  // a Connection field naming the framing fields takes nothing from the body's framing, and
  // the framing goes on in one spelling
  parsed<false> named(
      "HTTP/1.1 200 OK\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: Chunked\r\n\r\n");
  ASSERT_TRUE(named.ok);
  std::string named_out;
  append_response_head(named_out, named.p, false, false);
  EXPECT_EQ(named_out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n");
  out.clear();
  append_response_head(out, chunked.p, true, false);  // dechunked on the way
  EXPECT_EQ(out, "HTTP/1.1 201 Made\r\nX-A: 1\r\n");
  out.clear();
  append_response_head(out, rp.p, false, true);  // an answer without a body (204, 304)
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nServer: up\r\n");
}

TEST(HeaderTransform, FieldNameIsComparesAsCgiDoes) {
  struct row {
    const char* name;
    const char* canonical;
    bool same;
  };
  for (const auto& r : std::vector<row>{{"X-Gatepass-Sub", "x-gatepass-sub", true},
                                        {"X_GATEPASS_SUB", "x-gatepass-sub", true},
                                        {"x-gatepass_sub", "x-gatepass-sub", true},
                                        {"X-Gatepass-Su", "x-gatepass-sub", false},
                                        {"X-Gatepass-Subs", "x-gatepass-sub", false},
                                        {"X.Gatepass.Sub", "x-gatepass-sub", false},
                                        {"", "", true}})
    EXPECT_EQ(field_name_is(r.name, r.canonical), r.same) << r.name;
}

TEST(HeaderTransform, HostValues) {
  for (const char* ok : {"", "example.test", "example.test:8080", "[::1]:443", "10.0.0.1",
                         "xn--bcher-kva.test", "a%41.test"})
    EXPECT_TRUE(host_value_ok(ok)) << ok;
  for (const char* bad :
       {"a b", "user@host", "host/path", "host\\x", "host?q", "host#f", "\x01host", "h\"x"})
    EXPECT_FALSE(host_value_ok(bad)) << bad;
}

TEST(HeaderTransform, ConnectionTokensFromEveryConnectionField) {
  parsed<true> req("GET / HTTP/1.1\r\nHost: h\r\nConnection: a, , b\t,c\r\nConnection: d\r\n\r\n");
  ASSERT_TRUE(req.ok);
  const auto toks = connection_tokens(req.p);
  EXPECT_EQ(std::vector<std::string_view>(toks.begin(), toks.end()),
            (std::vector<std::string_view>{"a", "b", "c", "d"}));
}

}  // namespace
}  // namespace gatepass::gateway
