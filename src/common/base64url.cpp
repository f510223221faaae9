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

}  // namespace

bool base64url_decode(std::string_view in, std::string& out) {
  const std::size_t rem = in.size() % 4;
  if (rem == 1) return false;  // no 6-bit remainder is a whole octet
  out.clear();
  out.reserve(in.size() / 4 * 3 + 2);
  std::size_t i = 0;
  const std::size_t full = in.size() - rem;
  for (; i < full; i += 4) {
    const int a = table[static_cast<unsigned char>(in[i])];
    const int b = table[static_cast<unsigned char>(in[i + 1])];
    const int c = table[static_cast<unsigned char>(in[i + 2])];
    const int d = table[static_cast<unsigned char>(in[i + 3])];
    if ((a | b | c | d) < 0) return false;
    const uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6) | uint32_t(d);
    out.push_back(static_cast<char>(v >> 16));
    out.push_back(static_cast<char>((v >> 8) & 0xff));
    out.push_back(static_cast<char>(v & 0xff));
  }
  if (rem == 2) {
    const int a = table[static_cast<unsigned char>(in[i])];
    const int b = table[static_cast<unsigned char>(in[i + 1])];
    if ((a | b) < 0 || (b & 0x0f) != 0) return false;  // unused bits must be zero
    out.push_back(static_cast<char>((a << 2) | (b >> 4)));
  } else if (rem == 3) {
    const int a = table[static_cast<unsigned char>(in[i])];
    const int b = table[static_cast<unsigned char>(in[i + 1])];
    const int c = table[static_cast<unsigned char>(in[i + 2])];
    if ((a | b | c) < 0 || (c & 0x03) != 0) return false;
    out.push_back(static_cast<char>((a << 2) | (b >> 4)));
    out.push_back(static_cast<char>(((b & 0x0f) << 4) | (c >> 2)));
  }
  return true;
}

std::optional<std::string> base64url_decode(std::string_view in) {
  std::string out;
  if (!base64url_decode(in, out)) return std::nullopt;
  return out;
}

void base64url_encode_append(std::string_view bytes, std::string& out) {
  out.reserve(out.size() + (bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  auto u = [&](std::size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (u(i) << 16) | (u(i + 1) << 8) | u(i + 2);
    out.push_back(alphabet[v >> 18]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  const std::size_t rem = bytes.size() - i;
  if (rem == 1) {
    const uint32_t v = u(i) << 16;
    out.push_back(alphabet[v >> 18]);
    out.push_back(alphabet[(v >> 12) & 63]);
  } else if (rem == 2) {
    const uint32_t v = (u(i) << 16) | (u(i + 1) << 8);
    out.push_back(alphabet[v >> 18]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
  }
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  base64url_encode_append(bytes, out);
  return out;
}

}  // namespace gatepass
