// Error domain of the keys module (stores, rotation, import).
#pragma once

#include <system_error>

namespace gatepass::keys {

enum class errc {
  store_uri_invalid = 1,  // store URI is neither file:DIR nor postgresql://…
  store_io,               // reading or writing the store failed (see the log line for the path)
  store_corrupt,          // keyring metadata unreadable or inconsistent
  store_busy,             // another process holds the store lock
  store_not_initialized,  // no keyring yet: run `gatepass init` or `keys generate`
  wrong_passphrase,       // a private key could not be decrypted with the passphrase
  key_not_found,          // no key with this kid
  key_exists,             // a key with this kid is already stored
  key_state_invalid,      // the operation does not apply to the key's state
  client_not_found,       // no client with this id
  client_exists,          // a client with this id is already stored
  database,               // PostgreSQL error
  key_still_verifies,     // a previous key whose tokens may still be valid (retire needs force)
  rsa_exponent_small,     // an imported RSA key's public exponent is below 65537
  passphrase_needed,      // a private key is encrypted and no passphrase was given
};

const std::error_category& keys_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), keys_category()};
}

}  // namespace gatepass::keys

template <>
struct std::is_error_code_enum<gatepass::keys::errc> : std::true_type {};
