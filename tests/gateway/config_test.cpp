// The gateway: section parsed from YAML text: switches read as YAML booleans or refused (never a
// silent default), keys that are lists or mappings refused with their line, never thrown.
#include "gateway/config.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/yaml_reader.h"

namespace gatepass::gateway {
namespace {

struct parsed {
  gateway_config cfg;
  std::vector<std::string> problems;
};

parsed parse(const std::string& text) {
  config::reader r("g.yaml");
  const auto root = YAML::Load(text);
  parsed out;
  out.cfg = parse_gateway(root["gateway"], r);
  out.problems = r.problems();
  return out;
}

std::string with_switches(const std::string& forward, const std::string& access_log) {
  return "gateway:\n"
         "  access_log: " +
         access_log +
         "\n"
         "  authorizers:\n"
         "    a:\n"
         "      issuer_url: https://issuer.test\n"
         "      audience: [x]\n"
         "      forward_authorization: " +
         forward + "\n";
}

TEST(GatewayConfig, SwitchesReadAsYamlBooleans) {
  struct row {
    const char* text;
    bool value;
  };
  for (const auto& r : std::vector<row>{{"true", true},
                                        {"false", false},
                                        {"False", false},
                                        {"FALSE", false},
                                        {"no", false},
                                        {"off", false},
                                        {"yes", true},
                                        {"on", true}}) {
    const auto p = parse(with_switches(r.text, r.text));
    EXPECT_TRUE(p.problems.empty()) << r.text << ": " << p.problems.front();
    ASSERT_EQ(p.cfg.authorizers.count("a"), 1u);
    EXPECT_EQ(p.cfg.authorizers.at("a").forward_authorization, r.value) << r.text;
    EXPECT_EQ(p.cfg.access_log, r.value) << r.text;
  }
}

TEST(GatewayConfig, SwitchesThatAreNotBooleansAreProblems) {
  for (const char* text : {"flase", "0", "1", "nope", "[false]", "{a: b}", "\"\"", "~"}) {
    const auto p = parse(with_switches(text, "true"));
    ASSERT_EQ(p.problems.size(), 1u) << text;
    EXPECT_EQ(p.problems[0].rfind("g.yaml:7: gateway.authorizers.a.forward_authorization:", 0), 0u)
        << p.problems[0];
    const auto q = parse(with_switches("false", text));
    ASSERT_EQ(q.problems.size(), 1u) << text;
    EXPECT_EQ(q.problems[0].rfind("g.yaml:2: gateway.access_log:", 0), 0u) << q.problems[0];
  }
}

TEST(GatewayConfig, KeysThatAreListsOrMappingsAreProblemsWithTheirLine) {
  struct row {
    const char* name;
    std::string text;
    std::string prefix;
  };
  const std::vector<row> rows = {
      {"in the section", "gateway:\n  ? [a, b]\n  : 1\n", "g.yaml:2: gateway."},
      {"an authorizer's name", "gateway:\n  authorizers:\n    ? {x: 1}\n    : {}\n",
       "g.yaml:3: gateway.authorizers:"},
      {"a claim header", "gateway:\n  authorizers:\n    a:\n      claims_to_headers: {[h]: sub}\n",
       "g.yaml:4: gateway.authorizers.a.claims_to_headers:"},
      {"in a route",
       "gateway:\n  routes:\n    - { ? [x] : 1, method: GET, path: /a, upstream: "
       "\"http://127.0.0.1:9\" }\n",
       "g.yaml:3: gateway.routes[]."},
  };
  for (const auto& r : rows) {
    parsed p;
    ASSERT_NO_THROW(p = parse(r.text)) << r.name;
    bool found = false;
    for (const auto& msg : p.problems) found = found || msg.rfind(r.prefix, 0) == 0;
    EXPECT_TRUE(found) << r.name << ": no problem starting " << r.prefix << " among "
                       << p.problems.size();
  }
}

// Sections and entries that must be mappings, given as scalars or lists: problems, not throws.
TEST(GatewayConfig, ScalarsWhereMappingsBelongAreProblems) {
  struct row {
    std::string text;
    std::string prefix;
  };
  for (const auto& r : std::vector<row>{
           {"gateway:\n  limits: 5\n", "g.yaml:2: gateway.limits: expected a mapping"},
           {"gateway:\n  tls: on\n", "g.yaml:2: gateway.tls: expected a mapping"},
           {"gateway:\n  authorizers: {a: x}\n", "g.yaml:2: gateway.authorizers.a: expected"},
           {"gateway:\n  routes: [\"/a\"]\n", "g.yaml:2: gateway.routes[]: expected a mapping"}}) {
    parsed p;
    ASSERT_NO_THROW(p = parse(r.text)) << r.text;
    ASSERT_FALSE(p.problems.empty()) << r.text;
    EXPECT_EQ(p.problems[0].rfind(r.prefix, 0), 0u) << p.problems[0];
  }
}

TEST(GatewayConfig, SizesAreDigitsOnly) {
  struct row {
    const char* value;
    bool ok;
  };
  for (const auto& r : std::vector<row>{{"1048576", true},
                                        {"0", true},
                                        {"10MB", false},
                                        {"-1", false},
                                        {"+5", false},
                                        {"1e6", false},
                                        {"\"\"", false},
                                        {"18446744073709551616", false}}) {
    const auto p = parse(std::string("gateway:\n  limits: { max_body_bytes: ") + r.value + " }\n");
    EXPECT_EQ(p.problems.empty(), r.ok) << r.value;
    if (r.ok) {
      EXPECT_EQ(std::to_string(p.cfg.limits.max_body_bytes), r.value);
    } else if (!p.problems.empty()) {
      EXPECT_EQ(p.problems[0].rfind("g.yaml:2: gateway.limits.max_body_bytes:", 0), 0u)
          << p.problems[0];
    }
  }
  for (const char* threads : {"4x", "-1", "257"})
    EXPECT_FALSE(parse(std::string("gateway:\n  threads: ") + threads + "\n").problems.empty())
        << threads;
  EXPECT_EQ(parse("gateway:\n  threads: 4\n").cfg.threads, 4u);
}

// A listen address is an IP and a port of digits up to 65535: "127.0.0.1:70000" listened on 4464
// (the port was cast to 16 bits), "127.0.0.1:80x" on 80, and a host name failed only at start.
TEST(GatewayConfig, ListenPortsAreDigitsUpTo65535) {
  struct row {
    const char* value;
    bool ok;
  };
  for (const auto& r : std::vector<row>{{"127.0.0.1:8080", true},
                                        {"0.0.0.0:0", true},
                                        {"\"[::1]:65535\"", true},
                                        {"\":9000\"", true},
                                        {"127.0.0.1:65536", false},
                                        {"127.0.0.1:70000", false},
                                        {"127.0.0.1:80x", false},
                                        {"127.0.0.1:-1", false},
                                        {"\"127.0.0.1:\"", false},
                                        {"127.0.0.1", false},
                                        {"localhost:8080", false},
                                        {"256.1.1.1:80", false},
                                        {"\"fe80::1:80\"", false},
                                        {"\"[::1:80\"", false}}) {
    for (const char* field : {"listen", "admin_listen"}) {
      const auto p = parse(std::string("gateway:\n  ") + field + ": " + r.value + "\n");
      EXPECT_EQ(p.problems.empty(), r.ok) << field << " " << r.value;
      if (!r.ok && !p.problems.empty()) {
        EXPECT_EQ(p.problems[0].rfind(std::string("g.yaml:2: gateway.") + field + ":", 0), 0u)
            << p.problems[0];
      }
    }
  }
  EXPECT_EQ(parse("gateway:\n  listen: 127.0.0.1:9000\n").cfg.listen, "127.0.0.1:9000");
  EXPECT_FALSE(parse("gateway:\n  listen: \"\"\n").problems.empty());
  EXPECT_TRUE(parse("gateway:\n  admin_listen: \"\"\n").problems.empty());  // none: the main one
}

// A claim header name goes into every upstream request head as written: a token, and not one
// the gateway sets, frames the message with or drops.
TEST(GatewayConfig, ClaimHeaderNamesAreTokensTheGatewayDoesNotOwn) {
  struct row {
    const char* name;
    bool ok;
  };
  for (const auto& r : std::vector<row>{{"X-Tenant", true},
                                        {"x_org_id", true},
                                        {"\"X Tenant\"", false},
                                        {"\"X-Tenant:\"", false},
                                        {"\"\"", false},
                                        {"Transfer-Encoding", false},
                                        {"content_length", false},
                                        {"Host", false},
                                        {"Authorization", false},
                                        {"Cookie", false},
                                        {"Connection", false},
                                        {"X-Gatepass-Sub", false},
                                        {"X_Forwarded_For", false},
                                        {"X-Original-URL", false}}) {
    const auto p = parse(std::string("gateway:\n  authorizers:\n    a:\n      issuer_url: "
                                     "https://i.test\n      audience: [x]\n"
                                     "      claims_to_headers: { ") +
                         r.name + ": sub }\n");
    EXPECT_EQ(p.problems.empty(), r.ok) << r.name << (p.problems.empty() ? "" : p.problems[0]);
    if (!r.ok && !p.problems.empty()) {
      EXPECT_EQ(p.problems[0].rfind("g.yaml:6: gateway.authorizers.a.claims_to_headers:", 0), 0u)
          << p.problems[0];
    }
  }
}

// yaml-cpp keeps the first of two equal keys and drops the second silently: a problem instead.
TEST(GatewayConfig, FieldsAndNamesGivenTwiceAreProblems) {
  struct row {
    const char* name;
    std::string text;
    std::string prefix;
  };
  const std::vector<row> rows = {
      {"a route's scopes",
       "gateway:\n  routes:\n    - { method: GET, path: /a, scopes: [ADMIN], scopes: [] }\n",
       "g.yaml:3: gateway.routes[].scopes: given twice"},
      {"a section field", "gateway:\n  listen: 127.0.0.1:1\n  listen: 0.0.0.0:2\n",
       "g.yaml:3: gateway.listen: given twice"},
      {"an authorizer", "gateway:\n  authorizers:\n    a: {}\n    a: {}\n",
       "g.yaml:4: gateway.authorizers: a given twice"},
      {"a claim header",
       "gateway:\n  authorizers:\n    a:\n      claims_to_headers: { X-T: sub, X-T: aud }\n",
       "g.yaml:4: gateway.authorizers.a.claims_to_headers: X-T given twice"},
  };
  for (const auto& r : rows) {
    const auto p = parse(r.text);
    bool found = false;
    for (const auto& msg : p.problems) found = found || msg.rfind(r.prefix, 0) == 0;
    EXPECT_TRUE(found) << r.name << ": no problem starting " << r.prefix;
  }
}

// Found by config_fuzz: two clients without an id made the duplicate check ask yaml-cpp for the
// line of a key the file lacks, which throws. Problems about missing keys name the file only.
TEST(GatewayConfig, ProblemsAboutMissingKeysNeverThrow) {
  config::reader r("g.yaml");
  const auto root = YAML::Load("a: 1\n");
  ASSERT_NO_THROW(r.problem(root["missing"], "missing", "required"));
  ASSERT_EQ(r.problems().size(), 1u);
  EXPECT_EQ(r.problems()[0], "g.yaml: missing: required");
}

}  // namespace
}  // namespace gatepass::gateway

namespace gatepass::gateway {
namespace {

// What `serve` would refuse, or run without ever working, is a problem of `config check` with
// its file:line: route templates as the matcher compiles them, an issuer whose keys would come
// over plain http from another host, a type of authorizer that does not exist here, zero
// durations that loop or cut everything.
TEST(GatewayConfig, WhatServeWouldRefuseIsAProblemWithItsLine) {
  struct row {
    const char* name;
    std::string authorizer;  // lines under "    a:" (lines 4-7)
    std::string route;       // one route, on line 9
    std::string limits;      // under "  limits:" (line 11 onward)
    const char* problem;     // the start of the expected problem; nullptr: none
  };
  const std::string good_route =
      "    - { method: GET, path: \"/a/{proxy+}\", authorizer: a, upstream: \"http://127.0.0.1:9\" "
      "}\n";
  const std::string good_auth =
      "      issuer_url: https://issuer.test\n      audience: [x]\n      type: jwt\n";
  const std::vector<row> rows = {
      {"all good", good_auth, good_route, "    read_timeout: 5s\n", nullptr},
      {"{proxy+} not last", good_auth,
       "    - { method: GET, path: \"/a/{proxy+}/b\", upstream: \"http://127.0.0.1:9\" }\n", "",
       "g.yaml:9: gateway.routes[].path: greedy {proxy+} must be the last segment"},
      {"invalid method", good_auth,
       "    - { method: \"G T\", path: \"/a\", upstream: \"http://127.0.0.1:9\" }\n", "",
       "g.yaml:9: gateway.routes[].method: invalid method"},
      {"an ambiguous pair: the path is at fault, whatever it says", good_auth,
       "    - { method: GET, path: \"/method/{a}\", upstream: \"http://127.0.0.1:9\" }\n"
       "    - { method: GET, path: \"/method/{b}\", upstream: \"http://127.0.0.1:9\" }\n",
       "", "g.yaml:10: gateway.routes[].path: duplicate of (or ambiguous with) route #0"},
      {"a duplicate, said once", good_auth, good_route + good_route, "",
       "g.yaml:10: gateway.routes[]: duplicate route GET /a/{proxy+}"},
      {"a head limit lowers the default URL limit", good_auth, good_route,
       "    max_header_bytes: 4096\n", nullptr},
      {"type JWT, as serverless.yml spells it",
       "      issuer_url: https://issuer.test\n      audience: [x]\n      type: JWT\n", good_route,
       "", nullptr},
      {"idle timeout 0: no keep-alive", good_auth, good_route, "    idle_timeout: 0\n", nullptr},
      {"plain http issuer, not loopback",
       "      issuer_url: http://auth.example.com\n      audience: [x]\n", good_route, "",
       "g.yaml:4: gateway.authorizers.a.issuer_url: plain http is for loopback"},
      {"plain http issuer on loopback",
       "      issuer_url: http://127.0.0.1:9001\n      audience: [x]\n", good_route, "", nullptr},
      {"a Lambda authorizer",
       "      issuer_url: https://issuer.test\n      audience: [x]\n      type: request\n",
       good_route, "", "g.yaml:6: gateway.authorizers.a.type: only jwt authorizers"},
      {"an empty header name",
       "      issuer_url: https://issuer.test\n      audience: [x]\n"
       "      identity_source: $request.header.\n",
       good_route, "", "g.yaml:6: gateway.authorizers.a.identity_source: NAME must be"},
      {"an empty query name",
       "      issuer_url: https://issuer.test\n      audience: [x]\n"
       "      identity_source: $request.querystring.\n",
       good_route, "", "g.yaml:6: gateway.authorizers.a.identity_source: NAME must be"},
      {"refetch cooldown 0",
       "      issuer_url: https://issuer.test\n      audience: [x]\n      refetch_cooldown: 0\n",
       good_route, "", "g.yaml:6: gateway.authorizers.a.refetch_cooldown: at least 1 s"},
      {"JWKS TTLs 0",
       "      issuer_url: https://issuer.test\n      audience: [x]\n      jwks_min_ttl: 0\n",
       good_route, "", "g.yaml:6: gateway.authorizers.a.jwks_min_ttl: at least 1 s"},
      {"read timeout 0", good_auth, good_route, "    read_timeout: 0\n",
       "g.yaml:11: gateway.limits.read_timeout: at least 1 s"},
      {"upstream timeout 0", good_auth, good_route, "    upstream_timeout: 0\n",
       "g.yaml:11: gateway.limits.upstream_timeout: at least 1 s"},
      {"URL limit over the header limit", good_auth, good_route,
       "    max_header_bytes: 4096\n    max_url_bytes: 8192\n",
       "g.yaml:12: gateway.limits.max_url_bytes: larger than max_header_bytes"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    // pad the authorizer to 4 lines so the route is on line 9 whatever it holds
    std::string auth = r.authorizer;
    while (std::count(auth.begin(), auth.end(), '\n') < 4) auth += "      # (a line)\n";
    const auto p = parse("gateway:\n  authorizers:\n    a:\n" + auth + "  routes:\n" + r.route +
                         (r.limits.empty() ? "" : "  limits:\n" + r.limits));
    if (r.problem == nullptr) {
      EXPECT_TRUE(p.problems.empty()) << p.problems.front();
    } else {
      ASSERT_EQ(p.problems.size(), 1u)
          << (p.problems.empty() ? "none" : p.problems.front() + " / " + p.problems.back());
      EXPECT_EQ(p.problems[0].rfind(r.problem, 0), 0u) << p.problems[0];
    }
  }
}

}  // namespace
}  // namespace gatepass::gateway
