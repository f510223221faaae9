// Query parameters as upstream parsers read them: names that any common parser reads as the
// token's are the token's; values decoded; one parameter taken out with the rest kept as sent.
#include "gateway/query_params.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gatepass::gateway {
namespace {

TEST(QueryParams, NamesAsServerSideParsersReadThem) {
  struct row {
    const char* raw;
    bool same;
  };
  for (const auto& r : std::vector<row>{{"access_token", true},
                                        {"ACCESS_TOKEN", true},
                                        {"%61ccess_token", true},
                                        {"access%5ftoken", true},
                                        {"access.token", true},
                                        {"access token", true},
                                        {"access+token", true},
                                        {"access[token", true},
                                        {"  access_token", true},
                                        {"access_tokens", false},
                                        {"access-token", false},
                                        {"access_toke", false},
                                        {"", false}})
    EXPECT_EQ(query_name_is(r.raw, "access_token"), r.same) << r.raw;
}

TEST(QueryParams, ValuesOfEveryParameterSplitOnAmpersandAndSemicolon) {
  EXPECT_EQ(query_values("a=1&token=x%2By;TOKEN=z&b", "token"),
            (std::vector<std::string>{"x+y", "z"}));
  EXPECT_EQ(query_values("token", "token"), (std::vector<std::string>{""}));
  EXPECT_TRUE(query_values("", "token").empty());
  EXPECT_TRUE(query_values("tokens=1&xtoken=2", "token").empty());
}

TEST(QueryParams, WithoutTakesOutEveryParameterOfTheName) {
  struct row {
    const char* query;
    const char* kept;
  };
  for (const auto& r : std::vector<row>{{"token=t", ""},
                                        {"token=t&a=1", "a=1"},
                                        {"a=1&token=t", "a=1"},
                                        {"a=1&token=t;b=2", "a=1;b=2"},
                                        {"a=1;%74oken=t&b=2&TOKEN=u", "a=1&b=2"},
                                        {"a=1&&b=2", "a=1&&b=2"},
                                        {"a=1&tokens=2", "a=1&tokens=2"},
                                        {"", ""}})
    EXPECT_EQ(query_without(r.query, "token"), r.kept) << r.query;
}

}  // namespace
}  // namespace gatepass::gateway
