// Strict base64url (RFC 4648 §5 as RFC 7515 §2 uses it): round trips, and a table of inputs a
// lenient decoder would accept but gatepass must not.
#include "common/base64url.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>

namespace gatepass {
namespace {

TEST(Base64url, RoundTripsEveryLengthUpTo64) {
  std::mt19937 rng(7515);
  std::uniform_int_distribution<int> byte(0, 255);
  for (std::size_t len = 0; len <= 64; ++len) {
    for (int trial = 0; trial < 8; ++trial) {
      std::string bytes(len, '\0');
      for (auto& c : bytes) c = static_cast<char>(byte(rng));
      const std::string enc = base64url_encode(bytes);
      EXPECT_EQ(enc.size(), (len * 4 + 2) / 3) << "len " << len;
      EXPECT_EQ(enc.find_first_of("=+/ \n"), std::string::npos) << enc;
      auto dec = base64url_decode(enc);
      ASSERT_TRUE(dec.has_value()) << "len " << len << " " << enc;
      EXPECT_EQ(*dec, bytes) << "len " << len;
    }
  }
}

TEST(Base64url, KnownVectors) {
  // RFC 4648 §10, in the URL-safe alphabet without padding
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},
      {"f", "Zg"},
      {"fo", "Zm8"},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg"},
      {"fooba", "Zm9vYmE"},
      {"foobar", "Zm9vYmFy"},
      {"\xfb\xff", "-_8"},  // the two characters that differ from standard base64
  };
  for (const auto& [plain, enc] : vectors) {
    EXPECT_EQ(base64url_encode(plain), enc);
    EXPECT_EQ(base64url_decode(enc), std::string(plain)) << enc;
  }
}

TEST(Base64url, EncodeAppendKeepsPrefix) {
  std::string out = "head.";
  base64url_encode_append("foobar", out);
  EXPECT_EQ(out, "head.Zm9vYmFy");
}

TEST(Base64url, AcceptsCanonicalTrailingBits) {
  EXPECT_EQ(base64url_decode("QQ"), std::string("A"));
  EXPECT_EQ(base64url_decode("QUE"), std::string("AA"));
}

struct reject_case {
  const char* name;
  std::string_view input;
};

TEST(Base64url, RejectsNonCanonicalInput) {
  const reject_case cases[] = {
      {"padding_one", "QQ=="},
      {"padding_two", "QUE="},
      {"padding_full_block", "Zm9v===="},
      {"padding_alone", "===="},
      {"space_inside", "Zm9v YmFy"},
      {"leading_space", " Zm9v"},
      {"trailing_newline", "Zm9v\n"},
      {"crlf_inside", "Zm9v\r\nYmFy"},
      {"tab", "Zm\t9v"},
      {"plus", "+_8A"},
      {"slash", "-/8A"},
      {"length_mod4_is_1", "Zm9vY"},
      {"single_char", "Q"},
      {"length_mod4_is_1_long", "Zm9vYmFyZ"},
      {"trailing_bits_set_2chars", "QR"},
      {"trailing_bits_set_2chars_high", "QX"},
      {"trailing_bits_set_3chars", "QUF"},
      {"trailing_bits_set_3chars_low", "QUG"},
      {"nul_byte", std::string_view("Zm\0v", 4)},
      {"high_byte", "Zm9\xc3"},
      {"dot", "Zm.v"},
      {"percent_escape", "Zm%3"},
  };
  for (const auto& c : cases) {
    std::string out;
    EXPECT_FALSE(base64url_decode(c.input, out)) << c.name;
    EXPECT_FALSE(base64url_decode(c.input).has_value()) << c.name;
  }
}

TEST(Base64url, EveryNonAlphabetByteRejectedInEveryPosition) {
  const std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    if (alphabet.find(c) != std::string_view::npos) continue;
    for (std::size_t pos = 0; pos < 4; ++pos) {
      std::string in = "AAAA";
      in[pos] = c;
      EXPECT_FALSE(base64url_decode(in).has_value()) << "byte " << b << " at " << pos;
    }
  }
}

}  // namespace
}  // namespace gatepass
