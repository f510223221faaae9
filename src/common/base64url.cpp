#include "common/base64url.h"

#include <array>
#include <cstdint>

namespace gatepass {
namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> make_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto table = make_table();

// One table per position of a 4-character group, each value already shifted into place: a
// group decodes with four loads and three ORs. Bit 31 marks a character outside the alphabet.
constexpr std::uint32_t invalid_bit = 0x80000000u;
constexpr std::array<std::uint32_t, 256> make_shifted_table(int shift) {
  std::array<std::uint32_t, 256> t{};
  for (std::size_t c = 0; c < 256; ++c)
    t[c] = table[c] < 0 ? invalid_bit : static_cast<std::uint32_t>(table[c]) << shift;
  return t;
}
constexpr std::array<std::array<std::uint32_t, 256>, 4> shifted{
    make_shifted_table(18), make_shifted_table(12), make_shifted_table(6), make_shifted_table(0)};

// Two output characters per 12 input bits: a 3-octet group encodes with two loads.
constexpr std::array<char, 2 * 4096> make_pair_table() {
  std::array<char, 2 * 4096> t{};
  for (std::size_t v = 0; v < 4096; ++v) {
    t[2 * v] = alphabet[v >> 6];
    t[2 * v + 1] = alphabet[v & 63];
  }
  return t;
}
constexpr auto pairs = make_pair_table();

}  // namespace

bool base64url_decode(std::string_view in, std::string& out) {
  const std::size_t rem = in.size() % 4;
  if (rem == 1) return false;  // no 6-bit remainder is a whole octet
  // Sized once and written through a pointer: a push_back per octet costs more than the table.
  out.resize(in.size() / 4 * 3 + (rem == 0 ? 0 : rem - 1));
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const auto* const full_end = p + (in.size() - rem);
  std::uint32_t bad = 0;  // checked once after the loop: no branch per group
  for (; p != full_end; p += 4, o += 3) {
    const std::uint32_t v = shifted[0][p[0]] | shifted[1][p[1]] | shifted[2][p[2]] | shifted[3][p[3]];
    bad |= v;
    o[0] = static_cast<unsigned char>(v >> 16);
    o[1] = static_cast<unsigned char>((v >> 8) & 0xff);
    o[2] = static_cast<unsigned char>(v & 0xff);
  }
  if ((bad & invalid_bit) != 0) return false;
  if (rem == 2) {
    const int a = table[p[0]];
    const int b = table[p[1]];
    if ((a | b) < 0 || (b & 0x0f) != 0) return false;  // unused bits must be zero
    o[0] = static_cast<unsigned char>((a << 2) | (b >> 4));
  } else if (rem == 3) {
    const int a = table[p[0]];
    const int b = table[p[1]];
    const int c = table[p[2]];
    if ((a | b | c) < 0 || (c & 0x03) != 0) return false;
    o[0] = static_cast<unsigned char>((a << 2) | (b >> 4));
    o[1] = static_cast<unsigned char>(((b & 0x0f) << 4) | (c >> 2));
  }
  return true;
}

std::optional<std::string> base64url_decode(std::string_view in) {
  std::string out;
  if (!base64url_decode(in, out)) return std::nullopt;
  return out;
}

void base64url_encode_append(std::string_view bytes, std::string& out) {
  const std::size_t start = out.size();
  out.resize(start + (bytes.size() * 4 + 2) / 3);
  char* o = out.data() + start;
  std::size_t i = 0;
  auto u = [&](std::size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3, o += 4) {
    const uint32_t v = (u(i) << 16) | (u(i + 1) << 8) | u(i + 2);
    const char* hi = &pairs[2 * (v >> 12)];
    const char* lo = &pairs[2 * (v & 0xfff)];
    o[0] = hi[0];
    o[1] = hi[1];
    o[2] = lo[0];
    o[3] = lo[1];
  }
  const std::size_t rem = bytes.size() - i;
  if (rem == 1) {
    const uint32_t v = u(i) << 16;
    o[0] = alphabet[v >> 18];
    o[1] = alphabet[(v >> 12) & 63];
  } else if (rem == 2) {
    const uint32_t v = (u(i) << 16) | (u(i + 1) << 8);
    o[0] = alphabet[v >> 18];
    o[1] = alphabet[(v >> 12) & 63];
    o[2] = alphabet[(v >> 6) & 63];
  }
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  base64url_encode_append(bytes, out);
  return out;
}

}  // namespace gatepass
