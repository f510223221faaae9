#include "keys/certificate.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "common/ossl.h"
#include "jose/errc.h"

namespace gatepass::keys {

result<std::string> self_signed_certificate(const jose::jwk& key, const std::string& subject,
                                            std::int64_t not_before, int days) {
  if (!key.is_private() || key.pkey() == nullptr) return jose::errc::key_not_private;
  ossl::x509_ptr cert(X509_new());
  if (!cert) return jose::errc::crypto_failure;
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // positive
  time_t start = static_cast<time_t>(not_before);
  ossl::bn_ptr bn(BN_bin2bn(serial, sizeof serial, nullptr));
  bool ok = X509_set_version(cert.get(), 2) == 1 &&
            BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) != nullptr &&
            X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, 0, &start) != nullptr &&
            X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, &start) != nullptr &&
            X509_set_pubkey(cert.get(), key.pkey()) == 1;
  X509_NAME* name = X509_get_subject_name(cert.get());
  ok = ok &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(subject.data()),
                                  static_cast<int>(subject.size()), -1, 0) == 1 &&
       X509_set_issuer_name(cert.get(), name) == 1;
  const EVP_MD* md = key.kty() == jose::key_type::okp ? nullptr : EVP_sha256();
  ok = ok && X509_sign(cert.get(), key.pkey(), md) > 0;
  if (!ok) {
    ERR_clear_error();
    return jose::errc::crypto_failure;
  }
  const int len = i2d_X509(cert.get(), nullptr);
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509(cert.get(), &p);
  return der;
}

std::string der_to_pem_cert(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::x509_ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ossl::bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!cert || PEM_write_bio_X509(bio.get(), cert.get()) != 1) return {};
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string pem_cert_to_der(const std::string& pem) {
  ossl::bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ossl::x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return {};
  const int len = i2d_X509(cert.get(), nullptr);
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509(cert.get(), &p);
  return der;
}

}  // namespace gatepass::keys
