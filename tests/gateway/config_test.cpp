// The gateway: section parsed from YAML text: switches read as YAML booleans or refused (never a
// silent default), keys that are lists or mappings refused with their line, never thrown.
#include "gateway/config.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

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
  for (const char* text : {"flase", "0", "1", "nope", "[false]", "{a: b}", "\"\""}) {
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

}  // namespace
}  // namespace gatepass::gateway
