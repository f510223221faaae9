// New signing keys through EVP_PKEY_generate: RSA 2048/3072/4096, EC P-256/P-384/P-521,
// Ed25519. The kid defaults to the RFC 7638 thumbprint.
#pragma once

#include <string>

#include "common/result.h"
#include "jose/jwk.h"

namespace gatepass::keys {

/// A fresh private key for `a`. RSA sizes other than 2048, 3072 and 4096 are refused.
result<jose::jwk> generate_key(jose::alg a, int rsa_bits = 2048, std::string kid = {});

/// True when `pem` holds an encrypted private key: PKCS#8 EncryptedPrivateKeyInfo, or a
/// traditional PEM with "Proc-Type: 4,ENCRYPTED".
bool is_encrypted_pem(std::string_view pem) noexcept;

/// PKCS#8 PEM of a private key; encrypted (AES-256-CBC, PBKDF2) when `passphrase` is set.
result<std::string> private_pem(const jose::jwk& key, const std::string& passphrase = {});

/// Reads a PEM private key (PKCS#1, SEC1 or PKCS#8, encrypted with `passphrase` or not). An
/// encrypted PEM fails with keys::errc::passphrase_needed without a passphrase, and with
/// keys::errc::wrong_passphrase when the passphrase does not open it.
result<jose::jwk> read_private_pem(std::string_view pem, const std::string& passphrase,
                                   std::optional<jose::alg> pinned, std::string kid);

}  // namespace gatepass::keys
