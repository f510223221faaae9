// Strict base64url (RFC 4648 §5 as RFC 7515 §2 uses it): round trips, and a table of inputs a
// lenient decoder would accept but gatepass must not.
#include "common/base64url.h"

#include <gtest/gtest.h>

#include <optional>
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

// Long inputs run through the vectorised blocks (32 characters / 24 octets at a time where the
// CPU has AVX2) as well as the scalar tail; both must agree with this one-character-at-a-time
// reference in every octet and in every rejection.
constexpr std::string_view reference_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string reference_encode(std::string_view bytes) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (const char ch : bytes) {
    acc = (acc << 8) | static_cast<unsigned char>(ch);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += reference_alphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += reference_alphabet[(acc << (6 - bits)) & 63];
  return out;
}

// Whole groups of four characters only (no trailing-bits question).
std::optional<std::string> reference_decode_groups(std::string_view text) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (const char ch : text) {
    const auto v = reference_alphabet.find(ch);
    if (v == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

TEST(Base64url, LongInputsMatchTheReference) {
  std::mt19937 rng(4648);
  std::uniform_int_distribution<int> byte(0, 255);
  for (std::size_t len = 0; len <= 400; ++len) {
    std::string bytes(len, '\0');
    for (auto& c : bytes) c = static_cast<char>(byte(rng));
    const std::string enc = base64url_encode(bytes);
    ASSERT_EQ(enc, reference_encode(bytes)) << "len " << len;
    std::string prefixed = "x.";
    base64url_encode_append(bytes, prefixed);
    ASSERT_EQ(prefixed, "x." + enc) << "len " << len;
    auto dec = base64url_decode(enc);
    ASSERT_TRUE(dec.has_value()) << "len " << len;
    ASSERT_EQ(*dec, bytes) << "len " << len;
    std::string raw(base64url_decoded_size(enc.size()), '\0');
    ASSERT_TRUE(base64url_decode(enc, raw.data())) << "len " << len;
    ASSERT_EQ(raw, bytes) << "len " << len;
  }
}

TEST(Base64url, EveryByteInEveryPositionOfALongInput) {
  // 104 characters: three 32-character blocks and two scalar groups.
  std::string valid;
  for (std::size_t i = 0; i < 104; ++i) valid += reference_alphabet[(i * 37 + 11) % 64];
  ASSERT_EQ(base64url_decode(valid), reference_decode_groups(valid));
  for (std::size_t pos = 0; pos < valid.size(); ++pos) {
    for (int b = 0; b < 256; ++b) {
      std::string in = valid;
      in[pos] = static_cast<char>(b);
      const auto expected = reference_decode_groups(in);
      const auto got = base64url_decode(in);
      ASSERT_EQ(got.has_value(), expected.has_value()) << "byte " << b << " at " << pos;
      if (expected) {
        ASSERT_EQ(*got, *expected) << "byte " << b << " at " << pos;
      }
    }
  }
}

}  // namespace
}  // namespace gatepass
