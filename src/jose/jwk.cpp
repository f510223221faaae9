#include "jose/jwk.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <array>
#include <atomic>
#include <cstring>
#include <mutex>
#include <vector>

#include "common/base64url.h"
#include "common/ossl.h"
#include "jose/errc.h"

namespace gatepass::jose {

namespace json = boost::json;

std::string_view to_string(key_type k) noexcept {
  switch (k) {
    case key_type::rsa:
      return "RSA";
    case key_type::ec:
      return "EC";
    case key_type::okp:
      return "OKP";
    case key_type::oct:
      return "oct";
  }
  return "";
}

namespace {

// Digests are fetched once: an implicit fetch per call costs more than hashing a token.
const EVP_MD* md_for(alg a) {
  static const std::array<ossl::md_ptr, 3> mds{
      ossl::md_ptr(EVP_MD_fetch(nullptr, "SHA256", nullptr)),
      ossl::md_ptr(EVP_MD_fetch(nullptr, "SHA384", nullptr)),
      ossl::md_ptr(EVP_MD_fetch(nullptr, "SHA512", nullptr))};
  switch (hash_size(a)) {
    case 32:
      return mds[0].get();
    case 48:
      return mds[1].get();
    case 64:
      return mds[2].get();
    default:
      return nullptr;
  }
}

// A few prepared EVP_PKEY_CTX per key: a context set up once (padding, digest, salt) and
// reused is exactly what the raw OpenSSL floor measures; building one per call is not.
// EdDSA keeps EVP_MD_CTX the same way: re-initialising a used context skips the allocation
// and lets OpenSSL reuse its key context.
// One context waits in an atomic slot, so a key used by one thread at a time (or lightly
// shared) never takes the lock; the rest wait in a locked list.
template <class Ptr>
class basic_pool {
 public:
  basic_pool() = default;
  basic_pool(const basic_pool&) = delete;
  basic_pool& operator=(const basic_pool&) = delete;
  ~basic_pool() { Ptr last(hot_.load(std::memory_order_acquire)); }

  Ptr take() {
    if (auto* c = hot_.exchange(nullptr, std::memory_order_acquire)) return Ptr(c);
    std::lock_guard lock(m_);
    if (free_.empty()) return nullptr;
    auto c = std::move(free_.back());
    free_.pop_back();
    return c;
  }
  void give(Ptr c) {
    typename Ptr::pointer empty = nullptr;
    if (hot_.compare_exchange_strong(empty, c.get(), std::memory_order_release,
                                     std::memory_order_relaxed)) {
      (void)c.release();  // owned by the slot now
      return;
    }
    std::lock_guard lock(m_);
    if (free_.size() < 64) free_.push_back(std::move(c));
  }

 private:
  std::atomic<typename Ptr::pointer> hot_{nullptr};
  std::mutex m_;
  std::vector<Ptr> free_;
};
using ctx_pool = basic_pool<ossl::pkey_ctx_ptr>;
using md_ctx_pool = basic_pool<ossl::md_ctx_ptr>;

}  // namespace

namespace detail {
struct key_material {
  key_type kty;
  alg algorithm;
  std::string crv;
  int bits = 0;
  bool is_private = false;
  std::shared_ptr<EVP_PKEY> pkey;  // null for oct
  std::string secret;              // oct only
  mutable ctx_pool verify_pool;
  mutable ctx_pool sign_pool;
  mutable md_ctx_pool eddsa_verify_pool;  // EdDSA: one-shot EVP_DigestVerify contexts
  mutable md_ctx_pool eddsa_sign_pool;    // EdDSA: one-shot EVP_DigestSign contexts
  // EdDSA: contexts initialised once with the key, copied before each one-shot operation
  // (EVP_MD_CTX_copy_ex) instead of fetching the algorithm again; only read after set-up.
  ossl::md_ctx_ptr eddsa_verify_template;
  ossl::md_ctx_ptr eddsa_sign_template;
};
}  // namespace detail

namespace {

using detail::key_material;

// Curve table: JWK name, OpenSSL group name, coordinate size, the ES alg it pins.
struct curve_info {
  std::string_view jwk_name;
  const char* group;
  std::size_t size;
  alg es;
};
constexpr std::array<curve_info, 3> curves{{
    {"P-256", "prime256v1", 32, alg::es256},
    {"P-384", "secp384r1", 48, alg::es384},
    {"P-521", "secp521r1", 66, alg::es512},
}};

const curve_info* curve_by_jwk(std::string_view n) {
  for (const auto& c : curves)
    if (c.jwk_name == n) return &c;
  return nullptr;
}
const curve_info* curve_by_group(std::string_view n) {
  for (const auto& c : curves)
    if (n == c.group || (n == "P-256" && c.size == 32) || (n == "P-384" && c.size == 48) ||
        (n == "P-521" && c.size == 66))
      return &c;
  return nullptr;
}

ossl::bn_ptr bn_from(std::string_view bytes) {
  return ossl::bn_ptr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()), nullptr));
}

std::string bn_bytes(const BIGNUM* bn, int pad = 0) {
  const int n = pad > 0 ? pad : BN_num_bytes(bn);
  std::string out(static_cast<std::size_t>(n), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), n);
  return out;
}

ossl::bn_ptr get_bn(EVP_PKEY* k, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(k, name, &bn) != 1) return nullptr;
  return ossl::bn_ptr(bn);
}

// ROCA (CVE-2017-15361): Infineon moduli are congruent to a power of 65537 modulo each of
// these small primes; a random modulus almost never is (Nemec et al., CCS 2017).
bool has_roca_fingerprint(const BIGNUM* n) {
  static constexpr std::array<unsigned, 38> primes{
      3,  5,  7,  11, 13, 17,  19,  23,  29,  31,  37,  41,  43,  47,  53,  59,  61,  67,  71,
      73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167};
  for (unsigned p : primes) {
    const BN_ULONG r = BN_mod_word(n, p);
    if (r == static_cast<BN_ULONG>(-1)) return false;
    const unsigned g = 65537u % p;
    unsigned x = 1;
    bool in_group = false;
    for (unsigned i = 0; i < p; ++i) {
      if (x == r) {
        in_group = true;
        break;
      }
      x = (x * g) % p;
      if (x == 1) break;
    }
    if (!in_group) return false;
  }
  return true;
}

std::error_code check_rsa_numbers(const BIGNUM* n, const BIGNUM* e) {
  const int bits = BN_num_bits(n);
  if (bits < 2048) return errc::key_rsa_too_small;
  if (bits > 16384 || !BN_is_odd(n)) return errc::key_rsa_bad_modulus;
  if (BN_is_one(e) || !BN_is_odd(e) || BN_num_bits(e) > 64) return errc::key_rsa_bad_exponent;
  if (has_roca_fingerprint(n)) return errc::key_rsa_roca;
  return {};
}

bool alg_fits(alg a, key_type kty, std::string_view crv) {
  switch (family(a)) {
    case alg_family::rsa_pkcs1:
    case alg_family::rsa_pss:
      return kty == key_type::rsa;
    case alg_family::ecdsa:
      return kty == key_type::ec && ec_curve(a) == crv;
    case alg_family::eddsa:
      return kty == key_type::okp && crv == "Ed25519";
    case alg_family::hmac:
      return kty == key_type::oct;
  }
  return false;
}

alg default_alg(key_type kty, std::string_view crv) {
  switch (kty) {
    case key_type::rsa:
      return alg::rs256;
    case key_type::ec:
      return curve_by_jwk(crv)->es;
    case key_type::okp:
      return alg::eddsa;
    case key_type::oct:
      return alg::hs256;
  }
  return alg::rs256;
}

// Inspects a built EVP_PKEY: type, curve, size; pins the algorithm.
result<std::shared_ptr<key_material>> material_from_pkey(std::shared_ptr<EVP_PKEY> key,
                                                         std::optional<alg> pinned) {
  auto m = std::make_shared<key_material>();
  EVP_PKEY* k = key.get();
  if (EVP_PKEY_is_a(k, "RSA")) {
    m->kty = key_type::rsa;
    auto n = get_bn(k, OSSL_PKEY_PARAM_RSA_N);
    auto e = get_bn(k, OSSL_PKEY_PARAM_RSA_E);
    if (!n || !e) return errc::key_bad_pem;
    if (auto ec = check_rsa_numbers(n.get(), e.get())) return ec;
    m->bits = BN_num_bits(n.get());
    auto d = get_bn(k, OSSL_PKEY_PARAM_RSA_D);
    m->is_private = d != nullptr;
  } else if (EVP_PKEY_is_a(k, "EC")) {
    m->kty = key_type::ec;
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) !=
        1)
      return errc::key_ec_bad_curve;
    const auto* c = curve_by_group(group);
    if (c == nullptr) return errc::key_ec_bad_curve;
    m->crv = std::string(c->jwk_name);
    m->bits = static_cast<int>(c->size == 66 ? 521 : c->size * 8);
    m->is_private = get_bn(k, OSSL_PKEY_PARAM_PRIV_KEY) != nullptr;
  } else if (EVP_PKEY_is_a(k, "ED25519")) {
    m->kty = key_type::okp;
    m->crv = "Ed25519";
    m->bits = 256;
    std::size_t len = 0;
    m->is_private = EVP_PKEY_get_raw_private_key(k, nullptr, &len) == 1 && len == 32;
  } else {
    return errc::key_bad_pem;
  }
  ERR_clear_error();
  const alg a = pinned ? *pinned : default_alg(m->kty, m->crv);
  if (!alg_fits(a, m->kty, m->crv)) return errc::key_alg_kty_mismatch;
  m->algorithm = a;
  m->pkey = std::move(key);
  if (a == alg::eddsa) {
    // Best effort: without a template each operation initialises its context itself.
    ossl::md_ctx_ptr v(EVP_MD_CTX_new());
    if (v && EVP_DigestVerifyInit_ex(v.get(), nullptr, nullptr, nullptr, nullptr, k, nullptr) == 1)
      m->eddsa_verify_template = std::move(v);
    ossl::md_ctx_ptr s(EVP_MD_CTX_new());
    if (m->is_private && s &&
        EVP_DigestSignInit_ex(s.get(), nullptr, nullptr, nullptr, nullptr, k, nullptr) == 1)
      m->eddsa_sign_template = std::move(s);
    ERR_clear_error();
  }
  return m;
}

result<ossl::pkey_ptr> build_pkey(const char* type, OSSL_PARAM_BLD* bld, bool priv) {
  ossl::params_ptr params(OSSL_PARAM_BLD_to_param(bld));
  ossl::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) != 1) {
    ERR_clear_error();
    return errc::crypto_failure;
  }
  return ossl::pkey_ptr(raw);
}

// A private JWK carries its public members too: a key whose halves do not belong together
// would sign tokens that its own published JWK never verifies (RSA: n = p·q, d·e ≡ 1 and the
// CRT values; EC: the point is d·G).
std::error_code check_pair(EVP_PKEY* key) {
  ossl::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!ctx || EVP_PKEY_pairwise_check(ctx.get()) != 1) {
    ERR_clear_error();
    return errc::key_private_mismatch;
  }
  return {};
}

const json::string* str_member(const json::object& o, std::string_view name, bool& bad) {
  auto it = o.find(name);
  if (it == o.end()) return nullptr;
  if (!it->value().is_string()) {
    bad = true;
    return nullptr;
  }
  return &it->value().get_string();
}

result<std::string> b64_member(const json::object& o, std::string_view name, errc missing) {
  bool bad = false;
  const auto* s = str_member(o, name, bad);
  if (s == nullptr) return missing;
  auto v = base64url_decode(std::string_view(s->data(), s->size()));
  if (!v) return missing;
  return std::move(*v);
}

result<std::shared_ptr<key_material>> parse_rsa(const json::object& o, bool priv,
                                                std::optional<alg> a) {
  auto n = b64_member(o, "n", errc::key_rsa_missing_param);
  if (!n) return n.error();
  auto e = b64_member(o, "e", errc::key_rsa_missing_param);
  if (!e) return e.error();
  if (n->empty() || (*n)[0] == '\0') return errc::key_rsa_bad_modulus;  // RFC 7518 §6.3.1.1
  if (e->empty() || (*e)[0] == '\0') return errc::key_rsa_bad_exponent;
  auto bn_n = bn_from(*n), bn_e = bn_from(*e);
  if (auto ec = check_rsa_numbers(bn_n.get(), bn_e.get())) return ec;
  ossl::param_bld_ptr bld(OSSL_PARAM_BLD_new());
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get());
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get());
  std::vector<ossl::bn_ptr> keep;
  if (priv) {
    static constexpr std::array<std::pair<const char*, const char*>, 6> parts{{
        {"d", OSSL_PKEY_PARAM_RSA_D},
        {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
        {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},
        {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
        {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2},
        {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
    }};
    for (const auto& [jname, pname] : parts) {
      auto v = b64_member(o, jname, errc::key_rsa_missing_param);
      if (!v) return v.error();
      keep.push_back(bn_from(*v));
      OSSL_PARAM_BLD_push_BN(bld.get(), pname, keep.back().get());
    }
  }
  auto key = build_pkey("RSA", bld.get(), priv);
  if (!key) return key.error();
  if (priv)
    if (auto ec = check_pair(key->get())) return ec;
  return material_from_pkey(ossl::share(std::move(*key)), a);
}

result<std::shared_ptr<key_material>> parse_ec(const json::object& o, bool priv,
                                               std::optional<alg> a) {
  bool bad = false;
  const auto* crv = str_member(o, "crv", bad);
  const curve_info* c = crv ? curve_by_jwk(*crv) : nullptr;
  if (c == nullptr) return errc::key_ec_bad_curve;
  auto x = b64_member(o, "x", errc::key_ec_bad_coordinate);
  if (!x) return x.error();
  auto y = b64_member(o, "y", errc::key_ec_bad_coordinate);
  if (!y) return y.error();
  if (x->size() != c->size || y->size() != c->size) return errc::key_ec_bad_coordinate;
  if (a && !alg_fits(*a, key_type::ec, c->jwk_name)) return errc::key_alg_kty_mismatch;
  std::string point = "\x04" + *x + *y;
  ossl::param_bld_ptr bld(OSSL_PARAM_BLD_new());
  OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, c->group, 0);
  OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  ossl::bn_ptr d;
  if (priv) {
    auto dv = b64_member(o, "d", errc::key_ec_bad_coordinate);
    if (!dv) return dv.error();
    if (dv->size() != c->size) return errc::key_ec_bad_coordinate;
    d = bn_from(*dv);
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get());
  }
  auto key = build_pkey("EC", bld.get(), priv);
  if (!key) return errc::key_ec_point_invalid;
  ossl::pkey_ctx_ptr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key->get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return errc::key_ec_point_invalid;
  }
  if (priv)
    if (auto ec = check_pair(key->get())) return ec;
  return material_from_pkey(ossl::share(std::move(*key)), a);
}

result<std::shared_ptr<key_material>> parse_okp(const json::object& o, bool priv,
                                                std::optional<alg> a) {
  bool bad = false;
  const auto* crv = str_member(o, "crv", bad);
  if (crv == nullptr || *crv != "Ed25519") return errc::key_okp_bad_curve;
  auto x = b64_member(o, "x", errc::key_okp_bad_x);
  if (!x) return x.error();
  if (x->size() != 32) return errc::key_okp_bad_x;
  EVP_PKEY* raw = nullptr;
  if (priv) {
    auto d = b64_member(o, "d", errc::key_okp_bad_x);
    if (!d) return d.error();
    if (d->size() != 32) return errc::key_okp_bad_x;
    raw = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                       reinterpret_cast<const unsigned char*>(d->data()), 32);
    // the public half must be the one the private key derives
    std::array<unsigned char, 32> pub{};
    std::size_t len = pub.size();
    if (raw == nullptr || EVP_PKEY_get_raw_public_key(raw, pub.data(), &len) != 1 ||
        CRYPTO_memcmp(pub.data(), x->data(), 32) != 0) {
      EVP_PKEY_free(raw);
      ERR_clear_error();
      return errc::key_private_mismatch;
    }
  } else {
    raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                      reinterpret_cast<const unsigned char*>(x->data()), 32);
  }
  if (raw == nullptr) {
    ERR_clear_error();
    return errc::key_okp_bad_x;
  }
  return material_from_pkey(ossl::share(ossl::pkey_ptr(raw)), a);
}

result<std::shared_ptr<key_material>> material_from_secret(std::string secret, alg a) {
  if (family(a) != alg_family::hmac) return errc::key_alg_kty_mismatch;
  if (secret.size() < hash_size(a)) return errc::key_oct_too_short;
  auto m = std::make_shared<key_material>();
  m->kty = key_type::oct;
  m->algorithm = a;
  m->bits = static_cast<int>(secret.size() * 8);
  m->is_private = true;
  m->secret = std::move(secret);
  return m;
}

ossl::pkey_ctx_ptr make_ctx(const key_material& m, bool sign) {
  ossl::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, m.pkey.get(), nullptr));
  if (!ctx) return nullptr;
  const int init = sign ? EVP_PKEY_sign_init(ctx.get()) : EVP_PKEY_verify_init(ctx.get());
  if (init != 1 || EVP_PKEY_CTX_set_signature_md(ctx.get(), md_for(m.algorithm)) != 1)
    return nullptr;
  const auto f = family(m.algorithm);
  if (f == alg_family::rsa_pkcs1 && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1)
    return nullptr;
  if (f == alg_family::rsa_pss &&
      (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) != 1 ||
       EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md_for(m.algorithm)) != 1))
    return nullptr;
  return ctx;
}

// ECDSA signatures: JWS carries fixed-length R||S (RFC 7518 §3.4), OpenSSL speaks DER
// ECDSA-Sig-Value. Converted here by hand, both ways: BIGNUM and ECDSA_SIG objects cost
// several allocations per signature.

// R||S (two coordinates of `c` octets) → DER with minimal INTEGERs, as i2d_ECDSA_SIG writes
// it. `der` holds at least 3 + 2 * (c + 3) octets. Returns the DER length.
std::size_t raw_to_der(const unsigned char* raw, std::size_t c, unsigned char* der) {
  std::size_t skip[2];
  std::size_t content[2];
  for (int k = 0; k < 2; ++k) {
    const unsigned char* v = raw + static_cast<std::size_t>(k) * c;
    std::size_t z = 0;
    while (z < c && v[z] == 0) ++z;
    skip[k] = z;
    // zero is one 0x00 octet; a set top bit needs a 0x00 sign octet in front
    content[k] = z == c ? 1 : c - z + ((v[z] & 0x80) != 0 ? 1 : 0);
  }
  const std::size_t body = 4 + content[0] + content[1];  // c ≤ 66: each INTEGER length < 128
  std::size_t i = 0;
  der[i++] = 0x30;
  if (body >= 0x80) der[i++] = 0x81;
  der[i++] = static_cast<unsigned char>(body);
  for (int k = 0; k < 2; ++k) {
    const unsigned char* v = raw + static_cast<std::size_t>(k) * c;
    der[i++] = 0x02;
    der[i++] = static_cast<unsigned char>(content[k]);
    const std::size_t n = c - skip[k];
    if (content[k] > n) der[i++] = 0x00;
    std::memcpy(der + i, v + skip[k], n);
    i += n;
  }
  return i;
}

// DER ECDSA-Sig-Value (from EVP_PKEY_sign) → R||S of `c` octets each. False when the DER is
// not one SEQUENCE of two INTEGERs that fit.
bool der_to_raw(const unsigned char* der, std::size_t len, std::size_t c, unsigned char* raw) {
  std::size_t i = 0;
  const auto read_len = [&](std::size_t& n) {
    if (i >= len) return false;
    const unsigned char b = der[i++];
    if (b < 0x80) {
      n = b;
      return true;
    }
    if (b != 0x81 || i >= len) return false;
    n = der[i++];
    return true;
  };
  std::size_t n = 0;
  if (len == 0 || der[i++] != 0x30 || !read_len(n) || n != len - i) return false;
  for (std::size_t k = 0; k < 2; ++k) {
    if (i >= len || der[i++] != 0x02 || !read_len(n) || n == 0 || n > len - i) return false;
    const unsigned char* v = der + i;
    i += n;
    while (n > 0 && *v == 0) {  // sign octet
      ++v;
      --n;
    }
    if (n > c) return false;
    std::memset(raw + k * c, 0, c - n);
    std::memcpy(raw + k * c + (c - n), v, n);
  }
  return i == len;
}

// One digest context per thread, re-initialised per call: EVP_Digest allocates, sets up and
// frees a context every time, and with the same digest EVP_DigestInit_ex2 reuses its state.
bool digest(alg a, std::string_view data, unsigned char* out, unsigned int* len) {
  thread_local const ossl::md_ctx_ptr ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestInit_ex2(ctx.get(), md_for(a), nullptr) == 1 &&
         EVP_DigestUpdate(ctx.get(), data.data(), data.size()) == 1 &&
         EVP_DigestFinal_ex(ctx.get(), out, len) == 1;
}

bool hmac(const key_material& m, std::string_view data, unsigned char* out, std::size_t* len) {
  return EVP_Q_mac(nullptr, "HMAC", nullptr, hash_name(m.algorithm), nullptr, m.secret.data(),
                   m.secret.size(), reinterpret_cast<const unsigned char*>(data.data()),
                   data.size(), out, EVP_MAX_MD_SIZE, len) != nullptr;
}

}  // namespace

// ---- construction ----------------------------------------------------------------------

result<jwk> jwk::parse(const json::object& o, const jwk_parse_options& opt) {
  bool bad = false;
  const auto* kty = str_member(o, "kty", bad);
  if (bad) return errc::key_member_invalid;
  if (kty == nullptr) return errc::key_kty_missing;
  const auto* kid = str_member(o, "kid", bad);
  if (bad) return errc::key_member_invalid;
  const auto* use = str_member(o, "use", bad);
  if (bad) return errc::key_member_invalid;
  if (use != nullptr && *use != "sig") return errc::key_use_invalid;
  if (auto it = o.find("key_ops"); it != o.end()) {
    const auto* ops = it->value().if_array();
    if (ops == nullptr) return errc::key_ops_invalid;
    bool usable = false;
    for (const auto& op : *ops) {
      if (!op.is_string()) return errc::key_ops_invalid;
      if (op.get_string() == "verify" || op.get_string() == "sign") usable = true;
    }
    if (!usable) return errc::key_ops_invalid;
  }
  std::optional<alg> a;
  if (const auto* an = str_member(o, "alg", bad)) {
    // "ES521" is a common misspelling of ES512 (it appears in published RFC 7520 test keys);
    // it still binds the key to P-521 only.
    a = *an == "ES521" ? std::optional(alg::es512) : alg_from_string(*an);
    if (!a) return errc::key_alg_unsupported;
  } else if (bad) {
    return errc::key_member_invalid;
  }
  static constexpr std::array<std::string_view, 7> private_members{"d",  "p",  "q",  "dp",
                                                                   "dq", "qi", "oth"};
  bool has_private = false;
  for (auto pm : private_members) has_private |= o.contains(pm);
  if (has_private && !opt.allow_private) return errc::key_private_material;

  result<std::shared_ptr<key_material>> m = errc::key_kty_unsupported;
  if (*kty == "RSA") {
    if (a && !alg_fits(*a, key_type::rsa, {})) return errc::key_alg_kty_mismatch;
    m = parse_rsa(o, has_private, a);
  } else if (*kty == "EC") {
    if (a && family(*a) != alg_family::ecdsa) return errc::key_alg_kty_mismatch;
    m = parse_ec(o, has_private, a);
  } else if (*kty == "OKP") {
    if (a && family(*a) != alg_family::eddsa) return errc::key_alg_kty_mismatch;
    m = parse_okp(o, has_private, a);
  } else if (*kty == "oct") {
    if (!opt.allow_oct) return errc::key_oct_forbidden;
    if (a && family(*a) != alg_family::hmac) return errc::key_alg_kty_mismatch;
    auto k = b64_member(o, "k", errc::key_oct_too_short);
    if (!k) return k.error();
    m = material_from_secret(std::move(*k), a.value_or(alg::hs256));
  }
  if (!m) return m.error();
  return jwk(std::move(*m), kid ? std::string(*kid) : std::string());
}

result<jwk> jwk::from_pkey(std::shared_ptr<EVP_PKEY> key, std::optional<alg> pinned,
                           std::string kid) {
  if (!key) return errc::key_bad_pem;
  auto m = material_from_pkey(std::move(key), pinned);
  if (!m) return m.error();
  return jwk(std::move(*m), std::move(kid));
}

result<jwk> jwk::from_pem(std::string_view pem, std::optional<alg> pinned, std::string kid) {
  ossl::bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* raw = nullptr;
  if (pem.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
    ossl::x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert) raw = X509_get_pubkey(cert.get());
  } else {
    OSSL_DECODER_CTX* dctx =
        OSSL_DECODER_CTX_new_for_pkey(&raw, "PEM", nullptr, nullptr, 0, nullptr, nullptr);
    if (dctx != nullptr) {
      // no passphrase callback: an encrypted key is refused here (the key store decrypts)
      const auto* data = reinterpret_cast<const unsigned char*>(pem.data());
      std::size_t len = pem.size();
      if (OSSL_DECODER_from_data(dctx, &data, &len) != 1) raw = nullptr;
      OSSL_DECODER_CTX_free(dctx);
    }
  }
  ERR_clear_error();
  if (raw == nullptr) return errc::key_bad_pem;
  return from_pkey(ossl::share(ossl::pkey_ptr(raw)), pinned, std::move(kid));
}

result<jwk> jwk::from_der(std::string_view der, std::optional<alg> pinned, std::string kid) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EVP_PKEY* raw = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  ERR_clear_error();
  if (raw == nullptr) return errc::key_bad_pem;
  return from_pkey(ossl::share(ossl::pkey_ptr(raw)), pinned, std::move(kid));
}

result<jwk> jwk::from_secret(std::string secret, alg a, std::string kid) {
  auto m = material_from_secret(std::move(secret), a);
  if (!m) return m.error();
  return jwk(std::move(*m), std::move(kid));
}

// ---- accessors -------------------------------------------------------------------------

key_type jwk::kty() const noexcept {
  return m_->kty;
}
alg jwk::algorithm() const noexcept {
  return m_->algorithm;
}
std::string_view jwk::crv() const noexcept {
  return m_->crv;
}
bool jwk::is_private() const noexcept {
  return m_->is_private;
}
int jwk::bits() const noexcept {
  return m_->bits;
}
EVP_PKEY* jwk::pkey() const noexcept {
  return m_->pkey.get();
}
std::shared_ptr<EVP_PKEY> jwk::shared_pkey() const noexcept {
  return m_->pkey;
}
jwk jwk::with_kid(std::string kid) const {
  return jwk(m_, std::move(kid));
}

// ---- serialization ---------------------------------------------------------------------

namespace {

// Public members in RFC 7638 order (lexicographic), base64url values.
std::vector<std::pair<std::string_view, std::string>> public_members(const key_material& m) {
  std::vector<std::pair<std::string_view, std::string>> out;
  EVP_PKEY* k = m.pkey.get();
  switch (m.kty) {
    case key_type::rsa: {
      auto n = get_bn(k, OSSL_PKEY_PARAM_RSA_N), e = get_bn(k, OSSL_PKEY_PARAM_RSA_E);
      out.emplace_back("e", base64url_encode(bn_bytes(e.get())));
      out.emplace_back("kty", "RSA");
      out.emplace_back("n", base64url_encode(bn_bytes(n.get())));
      break;
    }
    case key_type::ec: {
      const auto* c = curve_by_jwk(m.crv);
      auto x = get_bn(k, OSSL_PKEY_PARAM_EC_PUB_X), y = get_bn(k, OSSL_PKEY_PARAM_EC_PUB_Y);
      out.emplace_back("crv", m.crv);
      out.emplace_back("kty", "EC");
      out.emplace_back("x", base64url_encode(bn_bytes(x.get(), static_cast<int>(c->size))));
      out.emplace_back("y", base64url_encode(bn_bytes(y.get(), static_cast<int>(c->size))));
      break;
    }
    case key_type::okp: {
      std::string x(32, '\0');
      std::size_t len = x.size();
      EVP_PKEY_get_raw_public_key(k, reinterpret_cast<unsigned char*>(x.data()), &len);
      out.emplace_back("crv", "Ed25519");
      out.emplace_back("kty", "OKP");
      out.emplace_back("x", base64url_encode(x));
      break;
    }
    case key_type::oct:
      out.emplace_back("k", base64url_encode(m.secret));
      out.emplace_back("kty", "oct");
      break;
  }
  return out;
}

}  // namespace

json::object jwk::to_public_json() const {
  json::object o;
  o["kty"] = to_string(m_->kty);
  o["use"] = "sig";
  o["alg"] = to_string(m_->algorithm);
  if (!kid_.empty()) o["kid"] = kid_;
  if (m_->kty == key_type::oct) return o;  // a secret is never published
  for (auto& [name, value] : public_members(*m_))
    if (name != "kty") o[name] = value;
  return o;
}

std::string jwk::thumbprint() const {
  std::string canon = "{";
  for (auto& [name, value] : public_members(*m_)) {
    if (canon.size() > 1) canon += ',';
    canon += '"';
    canon += name;
    canon += "\":\"";
    canon += value;
    canon += '"';
  }
  canon += '}';
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  digest(alg::rs256, canon, md, &len);
  return base64url_encode(std::string_view(reinterpret_cast<char*>(md), len));
}

std::string jwk::public_pem() const {
  if (!m_->pkey) return {};
  ossl::bio_ptr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), m_->pkey.get());
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

// ---- signatures ------------------------------------------------------------------------

namespace {

// Prepares `ctx` for one EdDSA operation: a copy of the key's initialised template when there
// is one (no algorithm fetch), else a fresh initialisation.
bool eddsa_ready(EVP_MD_CTX* ctx, const EVP_MD_CTX* tmpl, EVP_PKEY* key, bool sign) {
  if (tmpl != nullptr && EVP_MD_CTX_copy_ex(ctx, tmpl) == 1) return true;
  return (sign ? EVP_DigestSignInit_ex(ctx, nullptr, nullptr, nullptr, nullptr, key, nullptr)
               : EVP_DigestVerifyInit_ex(ctx, nullptr, nullptr, nullptr, nullptr, key, nullptr)) ==
         1;
}

}  // namespace

std::error_code jwk::verify(std::string_view input, std::string_view sig) const {
  const key_material& m = *m_;
  const auto f = family(m.algorithm);
  if (f == alg_family::hmac) {
    if (sig.size() != hash_size(m.algorithm)) return errc::signature_length_invalid;
    unsigned char mac[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    if (!hmac(m, input, mac, &len)) return errc::crypto_failure;
    return CRYPTO_memcmp(mac, sig.data(), len) == 0 ? std::error_code() : errc::signature_invalid;
  }
  if (f == alg_family::eddsa) {
    if (sig.size() != 64) return errc::signature_length_invalid;
    auto mctx = m.eddsa_verify_pool.take();
    if (!mctx) mctx.reset(EVP_MD_CTX_new());
    if (!mctx || !eddsa_ready(mctx.get(), m.eddsa_verify_template.get(), m.pkey.get(), false)) {
      ERR_clear_error();
      return errc::crypto_failure;
    }
    const int r =
        EVP_DigestVerify(mctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                         reinterpret_cast<const unsigned char*>(input.data()), input.size());
    m.eddsa_verify_pool.give(std::move(mctx));
    if (r != 1) ERR_clear_error();
    return r == 1 ? std::error_code() : errc::signature_invalid;
  }
  // RSA and ECDSA: hash here, then verify the digest on a prepared context.
  unsigned char der[2 * 66 + 16];
  const unsigned char* sig_bytes = reinterpret_cast<const unsigned char*>(sig.data());
  std::size_t sig_len = sig.size();
  if (f == alg_family::ecdsa) {
    const std::size_t c = ec_coordinate_size(m.algorithm);
    if (sig.size() != 2 * c) return errc::signature_length_invalid;
    sig_len = raw_to_der(sig_bytes, c, der);
    sig_bytes = der;
  } else if (sig.size() != static_cast<std::size_t>((m.bits + 7) / 8)) {
    return errc::signature_length_invalid;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (!digest(m.algorithm, input, md, &md_len)) return errc::crypto_failure;
  auto ctx = m.verify_pool.take();
  if (!ctx) ctx = make_ctx(m, false);
  if (!ctx) return errc::crypto_failure;
  const int r = EVP_PKEY_verify(ctx.get(), sig_bytes, sig_len, md, md_len);
  m.verify_pool.give(std::move(ctx));
  if (r != 1) {
    ERR_clear_error();
    return errc::signature_invalid;
  }
  return {};
}

std::size_t jwk::signature_size() const noexcept {
  const key_material& m = *m_;
  switch (family(m.algorithm)) {
    case alg_family::rsa_pkcs1:
    case alg_family::rsa_pss:
      return static_cast<std::size_t>((m.bits + 7) / 8);
    case alg_family::ecdsa:
      return 2 * ec_coordinate_size(m.algorithm);
    case alg_family::eddsa:
      return 64;
    case alg_family::hmac:
      return hash_size(m.algorithm);
  }
  return 0;
}

result<std::string> jwk::sign(std::string_view input) const {
  std::string out(signature_size(), '\0');
  auto len = sign(input, reinterpret_cast<unsigned char*>(out.data()));
  if (!len) return len.error();
  out.resize(*len);
  return out;
}

result<std::size_t> jwk::sign(std::string_view input, unsigned char* out) const {
  const key_material& m = *m_;
  if (!m.is_private) return errc::key_not_private;
  const auto f = family(m.algorithm);
  if (f == alg_family::hmac) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    if (!hmac(m, input, mac, &len)) return errc::crypto_failure;
    std::memcpy(out, mac, len);
    return len;
  }
  if (f == alg_family::eddsa) {
    auto mctx = m.eddsa_sign_pool.take();
    if (!mctx) mctx.reset(EVP_MD_CTX_new());
    std::size_t len = 64;
    const bool ok =
        mctx && eddsa_ready(mctx.get(), m.eddsa_sign_template.get(), m.pkey.get(), true) &&
        EVP_DigestSign(mctx.get(), out, &len, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1;
    if (mctx) m.eddsa_sign_pool.give(std::move(mctx));
    if (!ok) {
      ERR_clear_error();
      return errc::crypto_failure;
    }
    return len;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (!digest(m.algorithm, input, md, &md_len)) return errc::crypto_failure;
  auto ctx = m.sign_pool.take();
  if (!ctx) ctx = make_ctx(m, true);
  if (!ctx) return errc::crypto_failure;
  // RSA writes the signature in place; ECDSA gives DER, converted below.
  unsigned char der[2 * 66 + 16];
  const bool ecdsa = f == alg_family::ecdsa;
  std::size_t len = ecdsa ? sizeof der : signature_size();
  const int r = EVP_PKEY_sign(ctx.get(), ecdsa ? der : out, &len, md, md_len);
  m.sign_pool.give(std::move(ctx));
  if (r != 1) {
    ERR_clear_error();
    return errc::crypto_failure;
  }
  if (!ecdsa) return len;
  // ECDSA: DER → fixed-length R||S (RFC 7518 §3.4)
  const std::size_t c = ec_coordinate_size(m.algorithm);
  if (!der_to_raw(der, len, c, out)) return errc::crypto_failure;
  return 2 * c;
}

}  // namespace gatepass::jose
