// The key store seam: where signing keys, their lifecycle metadata and OAuth clients live.
// file:DIR is the embedded default; postgresql://… the shared store of several issuers.
// Every mutation runs under the store's exclusive lock on the freshest state and is atomic.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "jose/jwk.h"
#include "keys/rotation_policy.h"

namespace gatepass::keys {

struct stored_key {
  key_record meta;
  std::optional<jose::jwk> key;  // private; absent for retired keys
  std::string cert_der;          // self-signed X.509 for x5c
  bool encrypted = false;        // as loaded: the private key is encrypted at rest
};

/// A client of the token endpoint; the secret exists only as an argon2id hash.
struct client_record {
  std::string id;
  std::string secret_hash;
  std::vector<std::string> scopes;
  std::vector<std::string> audience;  // empty: the issuer's default audience
  std::int64_t created = 0;
};

/// What a transaction writes.
struct store_change {
  std::vector<key_record> records;   // the complete new metadata
  std::vector<stored_key> added;     // new keys (their records are also in `records`)
  std::vector<std::string> deleted;  // kids whose key material is removed (prune)
};

class key_store {
 public:
  virtual ~key_store() = default;
  /// Every record with its decrypted key, in creation order.
  virtual result<std::vector<stored_key>> load() = 0;
  /// Cheap fingerprint of the metadata; changes whenever another process commits.
  virtual result<std::string> version() = 0;
  /// Runs `fn` on the current records under the exclusive lock, then writes its change
  /// atomically. `fn` returning an error writes nothing.
  using mutation = std::function<result<store_change>(const std::vector<key_record>&)>;
  virtual std::error_code transact(const mutation& fn) = 0;

  virtual result<std::vector<client_record>> load_clients() = 0;
  using client_mutation = std::function<std::error_code(std::vector<client_record>&)>;
  virtual std::error_code transact_clients(const client_mutation& fn) = 0;

  /// Where the store lives, without secrets (a URI's password is masked).
  virtual std::string describe() const = 0;

  /// A descriptor that turns readable when another process may have committed a change
  /// (PostgreSQL LISTEN/NOTIFY); -1 when the store offers none and version() must be polled.
  virtual int change_fd() { return -1; }
  /// Consumes pending change notifications; true when there were any (or the channel was
  /// lost and re-established, so a change may have been missed).
  virtual bool consume_changes() { return false; }
};

struct store_options {
  std::string passphrase;  // empty: keys stored unencrypted (warned about)
};

/// Opens "file:DIR" (or a bare path; DIR is created 0700 if missing) or
/// "postgresql://…" / "postgres://…" (schema created and migrated on first use).
result<std::unique_ptr<key_store>> open_store(const std::string& uri, const store_options& opt);

/// What `keys migrate` copied.
struct migration_report {
  std::size_t keys_copied = 0;   // keys the destination did not hold
  std::size_t keys_updated = 0;  // keys it held with other metadata (state, times)
  std::size_t keys_unchanged = 0;
  std::size_t clients_copied = 0;  // clients added or replaced in the destination
};

/// Copies every key (private material, certificate, lifecycle metadata, order) and every client
/// from one store to another in one destination transaction; idempotent. Refuses (and changes
/// nothing) when the destination holds a key the source lacks, or a kid whose key differs: two
/// key rings are never merged into one with two current keys.
result<migration_report> migrate_store(key_store& from, key_store& to);

result<std::unique_ptr<key_store>> open_file_store(const std::string& dir,
                                                   const store_options& opt);
/// Connects lazily: a database that is down fails the first operation, not the open.
result<std::unique_ptr<key_store>> open_postgres_store(const std::string& uri,
                                                       const store_options& opt);

}  // namespace gatepass::keys
