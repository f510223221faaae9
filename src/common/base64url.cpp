#include "common/base64url.h"

#include <array>
#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GATEPASS_BASE64URL_AVX2 1
#include <immintrin.h>
#endif

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

#ifdef GATEPASS_BASE64URL_AVX2
// AVX2 kernels after Muła and Lemire, "Faster Base64 Encoding and Decoding Using AVX2
// Instructions" (ACM TWEB 12(3), 2018), with tables for the URL-safe alphabet. They take whole
// blocks only; the scalar loops finish the rest, including the trailing-bits check. Chosen at
// run time: the build targets plain x86-64.

bool has_avx2() noexcept {
  static const bool yes = __builtin_cpu_supports("avx2") != 0;
  return yes;
}

// 32 characters → 24 octets per step, over the first n - n % 32 characters of `in`. Returns
// the characters consumed; `bad` is set when any of them is outside the alphabet.
__attribute__((target("avx2"))) std::size_t decode_avx2(const unsigned char* in, std::size_t n,
                                                        unsigned char* out, bool& bad) noexcept {
  // A character is outside the alphabet exactly when lut_hi[high nibble] and lut_lo[low
  // nibble] share a bit. Bit 0: high nibble 0, 1 or 8-F, never valid. Bit 1: 2x, valid only
  // 0x2D '-'. Bit 2: 3x, valid 0-9. Bit 3: 4x and 6x, valid 1-F. Bit 4: 5x, valid 0-A and F
  // ('_'). Bit 5: 7x, valid 0-A.
  const __m256i lut_hi = _mm256_setr_epi8(1, 1, 2, 4, 8, 16, 8, 32, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                          1, 1, 2, 4, 8, 16, 8, 32, 1, 1, 1, 1, 1, 1, 1, 1);
  const __m256i lut_lo = _mm256_setr_epi8(11, 3, 3, 3, 3, 3, 3, 3, 3, 3, 7, 55, 55, 53, 55, 39,  //
                                          11, 3, 3, 3, 3, 3, 3, 3, 3, 3, 7, 55, 55, 53, 55, 39);
  // Value = character + offset by high nibble: '-' +17, digits +4, A-Z -65, a-z -71; '_'
  // shares 5x with P-Z and is fixed up to -32 below.
  const __m256i lut_off =
      _mm256_setr_epi8(0, 0, 17, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0,  //
                       0, 0, 17, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m256i nibble = _mm256_set1_epi8(0x0f);
  const __m256i underscore = _mm256_set1_epi8('_');
  const __m256i underscore_fix = _mm256_set1_epi8(33);
  // Four 6-bit values → one 24-bit group per 32-bit lane, then its three octets in order.
  const __m256i merge_pairs = _mm256_set1_epi32(0x01400140);
  const __m256i merge_quads = _mm256_set1_epi32(0x00011000);
  const __m256i order = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,  //
                                         2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7);
  __m256i invalid = _mm256_setzero_si256();
  std::size_t i = 0;
  for (; n - i >= 32; i += 32, out += 24) {
    const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i));
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi32(c, 4), nibble);
    const __m256i lo = _mm256_and_si256(c, nibble);
    invalid = _mm256_or_si256(invalid, _mm256_and_si256(_mm256_shuffle_epi8(lut_hi, hi),
                                                        _mm256_shuffle_epi8(lut_lo, lo)));
    const __m256i off =
        _mm256_add_epi8(_mm256_shuffle_epi8(lut_off, hi),
                        _mm256_and_si256(_mm256_cmpeq_epi8(c, underscore), underscore_fix));
    const __m256i v = _mm256_add_epi8(c, off);
    const __m256i groups = _mm256_madd_epi16(_mm256_maddubs_epi16(v, merge_pairs), merge_quads);
    const __m256i packed = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(groups, order), lanes);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(packed));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + 16), _mm256_extracti128_si256(packed, 1));
  }
  bad = _mm256_testz_si256(invalid, invalid) == 0;
  return i;
}

// 24 octets → 32 characters per step, while at least 28 octets remain (each step reads 28).
// Returns the octets consumed.
__attribute__((target("avx2"))) std::size_t encode_avx2(const unsigned char* in, std::size_t n,
                                                        char* out) noexcept {
  const __m256i spread = _mm256_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,  //
                                          1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
  // Index → character: 0-25 +65 (A-Z), 26-51 +71 (a-z), 52-61 -4 (0-9), 62 -17 ('-'),
  // 63 +32 ('_'), looked up by a small class number computed from the index.
  const __m256i lut =
      _mm256_setr_epi8(71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -17, 32, 65, 0, 0,  //
                       71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -17, 32, 65, 0, 0);
  std::size_t i = 0;
  for (; n - i >= 28; i += 24, out += 32) {
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i + 12));
    const __m256i x =
        _mm256_shuffle_epi8(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1), spread);
    const __m256i t0 = _mm256_mulhi_epu16(_mm256_and_si256(x, _mm256_set1_epi32(0x0fc0fc00)),
                                          _mm256_set1_epi32(0x04000040));
    const __m256i t1 = _mm256_mullo_epi16(_mm256_and_si256(x, _mm256_set1_epi32(0x003f03f0)),
                                          _mm256_set1_epi32(0x01000010));
    const __m256i idx = _mm256_or_si256(t0, t1);
    __m256i cls = _mm256_subs_epu8(idx, _mm256_set1_epi8(51));
    cls = _mm256_or_si256(
        cls, _mm256_and_si256(_mm256_cmpgt_epi8(_mm256_set1_epi8(26), idx), _mm256_set1_epi8(13)));
    const __m256i chars = _mm256_add_epi8(_mm256_shuffle_epi8(lut, cls), idx);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), chars);
  }
  return i;
}
#endif

}  // namespace

bool base64url_decode(std::string_view in, char* out) noexcept {
  const std::size_t rem = in.size() % 4;
  if (rem == 1) return false;  // no 6-bit remainder is a whole octet
  auto* o = reinterpret_cast<unsigned char*>(out);
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const auto* const full_end = p + (in.size() - rem);
#ifdef GATEPASS_BASE64URL_AVX2
  if (full_end - p >= 32 && has_avx2()) {
    bool simd_bad = false;
    const std::size_t n = decode_avx2(p, static_cast<std::size_t>(full_end - p), o, simd_bad);
    if (simd_bad) return false;
    p += n;
    o += n / 4 * 3;
  }
#endif
  std::uint32_t bad = 0;  // checked once after the loop: no branch per group
  for (; p != full_end; p += 4, o += 3) {
    const std::uint32_t v =
        shifted[0][p[0]] | shifted[1][p[1]] | shifted[2][p[2]] | shifted[3][p[3]];
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

bool base64url_decode(std::string_view in, std::string& out) {
  if (in.size() % 4 == 1) return false;
  // Sized once and written through a pointer: a push_back per octet costs more than the table.
  out.resize(base64url_decoded_size(in.size()));
  return base64url_decode(in, out.data());
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
#ifdef GATEPASS_BASE64URL_AVX2
  if (bytes.size() >= 28 && has_avx2()) {
    i = encode_avx2(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), o);
    o += i / 3 * 4;
  }
#endif
  auto u = [&](std::size_t k) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k]));
  };
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
