// RAII owners for every OpenSSL object gatepass touches; no raw owning pointers elsewhere.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace gatepass::ossl {

template <auto Free>
struct deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};

using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY_free>>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, deleter<EVP_PKEY_CTX_free>>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, deleter<EVP_MD_CTX_free>>;
using md_ptr = std::unique_ptr<EVP_MD, deleter<EVP_MD_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO_free_all>>;
using bn_ptr = std::unique_ptr<BIGNUM, deleter<BN_free>>;
using bn_ctx_ptr = std::unique_ptr<BN_CTX, deleter<BN_CTX_free>>;
using param_bld_ptr = std::unique_ptr<OSSL_PARAM_BLD, deleter<OSSL_PARAM_BLD_free>>;
using params_ptr = std::unique_ptr<OSSL_PARAM, deleter<OSSL_PARAM_free>>;
using ecdsa_sig_ptr = std::unique_ptr<ECDSA_SIG, deleter<ECDSA_SIG_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509_free>>;
using x509_name_ptr = std::unique_ptr<X509_NAME, deleter<X509_NAME_free>>;

/// Shares one immutable EVP_PKEY between key records (EVP_PKEY is refcounted and thread-safe
/// for concurrent signature operations once built).
inline std::shared_ptr<EVP_PKEY> share(pkey_ptr p) {
  return std::shared_ptr<EVP_PKEY>(p.release(), EVP_PKEY_free);
}

/// Text of the most recent OpenSSL error on this thread (and clears the queue).
std::string last_error();

}  // namespace gatepass::ossl
