#include "keys/errc.h"

#include <string>

namespace gatepass::keys {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "keys"; }
  std::string message(int v) const override {
    switch (static_cast<errc>(v)) {
      case errc::store_uri_invalid:
        return "key store must be file:DIR or postgresql://…";
      case errc::store_io:
        return "key store I/O error";
      case errc::store_corrupt:
        return "key store metadata is unreadable or inconsistent";
      case errc::store_busy:
        return "another process holds the key store lock";
      case errc::store_not_initialized:
        return "key store is empty: run `gatepass init` or `gatepass keys generate`";
      case errc::wrong_passphrase:
        return "a private key could not be decrypted: wrong passphrase or damaged key";
      case errc::passphrase_needed:
        return "the private key is encrypted: a passphrase is needed";
      case errc::key_not_found:
        return "no key with this kid";
      case errc::key_exists:
        return "a key with this kid already exists";
      case errc::key_state_invalid:
        return "the operation does not apply to the key's state";
      case errc::key_still_verifies:
        return "tokens this key signed may still be valid";
      case errc::rsa_exponent_small:
        return "RSA public exponent below 65537 refused (NIST SP 800-56B: 65537 <= e < 2^256)";
      case errc::client_not_found:
        return "no client with this id";
      case errc::client_exists:
        return "a client with this id already exists";
      case errc::database:
        return "PostgreSQL error";
    }
    return "unknown keys error";
  }
};

}  // namespace

const std::error_category& keys_category() noexcept {
  static const category c;
  return c;
}

}  // namespace gatepass::keys
