// Key lifecycle operations on a store: first key, scheduled rotation, manual rotation,
// import, retire, prune; and immutable key_ring snapshots for signing and publishing.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "jose/key_set.h"
#include "keys/key_store.h"
#include "keys/rotation_policy.h"

namespace gatepass::keys {

struct key_settings {
  jose::alg algorithm = jose::alg::rs256;
  int rsa_bits = 2048;
  rotation_settings rotation;
};

/// What signs and what is published at one moment. Immutable; shared and swapped whole.
struct key_ring {
  std::vector<key_record> records;
  std::optional<jose::jwk> current;                        // the signing key
  jose::key_set published;                                 // next + current + previous
  std::vector<std::pair<std::string, std::string>> certs;  // kid → DER
  std::string version;                                     // store version it was read at
  std::vector<std::string> unencrypted;  // kids of private keys stored unencrypted
};

class key_manager {
 public:
  key_manager(std::shared_ptr<key_store> store, key_settings settings)
      : store_(std::move(store)), settings_(std::move(settings)) {}

  /// Creates the first key (current at once) when the store is empty. Returns its kid, or
  /// empty when keys already existed.
  result<std::string> ensure_initialized(std::int64_t now);
  /// Applies the rotation schedule; true when the store changed.
  result<bool> tick(std::int64_t now);
  /// `keys rotate [--now]`: a human-readable outcome line.
  result<std::string> rotate(std::int64_t now, bool force);
  /// `keys generate`: a fresh key as next (or current with as_current).
  result<std::string> generate(std::int64_t now, bool as_current, std::string kid = {});
  /// `keys import FILE.pem`: current at once (it already signed elsewhere), or next.
  result<std::string> import_pem(std::string_view pem, const std::string& passphrase,
                                 std::string kid, bool as_next, std::int64_t now);
  /// `keys retire KID`: next or previous → retired. The current key cannot be retired; a
  /// previous key whose tokens may still be valid (tokens_valid_until) only with `force`.
  std::error_code retire(const std::string& kid, std::int64_t now, bool force = false);
  /// `keys prune --keep N`: deletes all but the newest N retired keys. Returns how many.
  result<std::size_t> prune(std::size_t keep);

  result<std::shared_ptr<const key_ring>> snapshot();
  result<std::string> store_version() { return store_->version(); }

  const key_settings& settings() const noexcept { return settings_; }
  key_store& store() noexcept { return *store_; }

 private:
  result<stored_key> make_key(std::int64_t now, std::string kid = {});
  std::shared_ptr<key_store> store_;
  key_settings settings_;
};

}  // namespace gatepass::keys
