#include "keys/key_generator.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "common/ossl.h"
#include "jose/errc.h"
#include "keys/errc.h"

namespace gatepass::keys {

using jose::alg;

result<jose::jwk> generate_key(alg a, int rsa_bits, std::string kid) {
  EVP_PKEY* raw = nullptr;
  switch (jose::family(a)) {
    case jose::alg_family::rsa_pkcs1:
    case jose::alg_family::rsa_pss:
      if (rsa_bits != 2048 && rsa_bits != 3072 && rsa_bits != 4096)
        return jose::errc::key_rsa_too_small;
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(rsa_bits));
      break;
    case jose::alg_family::ecdsa: {
      const char* group = a == alg::es256 ? "P-256" : a == alg::es384 ? "P-384" : "P-521";
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group);
      break;
    }
    case jose::alg_family::eddsa:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case jose::alg_family::hmac:
      return jose::errc::key_alg_unsupported;
  }
  if (raw == nullptr) {
    ERR_clear_error();
    return jose::errc::crypto_failure;
  }
  auto key = jose::jwk::from_pkey(ossl::share(ossl::pkey_ptr(raw)), a, {});
  if (!key) return key.error();
  return key->with_kid(kid.empty() ? key->thumbprint() : std::move(kid));
}

bool is_encrypted_pem(std::string_view pem) noexcept {
  return pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos ||
         pem.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos;
}

result<std::string> private_pem(const jose::jwk& key, const std::string& passphrase) {
  if (!key.is_private() || key.pkey() == nullptr) return jose::errc::key_not_private;
  ossl::bio_ptr bio(BIO_new(BIO_s_mem()));
  const EVP_CIPHER* cipher = passphrase.empty() ? nullptr : EVP_aes_256_cbc();
  const int ok = PEM_write_bio_PKCS8PrivateKey(
      bio.get(), key.pkey(), cipher,
      passphrase.empty() ? nullptr : const_cast<char*>(passphrase.data()),
      static_cast<int>(passphrase.size()), nullptr, nullptr);
  if (ok != 1) {
    ERR_clear_error();
    return jose::errc::crypto_failure;
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

result<jose::jwk> read_private_pem(std::string_view pem, const std::string& passphrase,
                                   std::optional<alg> pinned, std::string kid) {
  ossl::bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  // An empty passphrase must not be offered to an encrypted key: pass an explicit callback
  // that fails, so OpenSSL never prompts on a terminal.
  auto no_prompt = [](char*, int, int, void*) -> int { return -1; };
  EVP_PKEY* raw =
      PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase.empty() ? +no_prompt : nullptr,
                              passphrase.empty() ? nullptr : const_cast<char*>(passphrase.c_str()));
  ERR_clear_error();
  if (raw == nullptr) {
    if (!is_encrypted_pem(pem)) return jose::errc::key_bad_pem;
    return passphrase.empty() ? keys::errc::passphrase_needed : keys::errc::wrong_passphrase;
  }
  auto key = jose::jwk::from_pkey(ossl::share(ossl::pkey_ptr(raw)), pinned, {});
  if (!key) return key.error();
  return key->with_kid(kid.empty() ? key->thumbprint() : std::move(kid));
}

}  // namespace gatepass::keys
