// OAuth clients of the token endpoint (RFC 6749 §2.3.1). Secrets exist only as argon2id
// hashes; a verified secret is remembered as its SHA-256 so repeated requests do not pay
// argon2's memory-hard cost, and every compare is constant-time.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "keys/key_store.h"

namespace gatepass::issuer {

/// A new random client secret (256 bits, base64url).
std::string generate_client_secret();
/// argon2id (m = 19 MiB, t = 2, p = 1: OWASP's recommendation) encoded hash.
std::string hash_client_secret(const std::string& secret);
bool verify_client_secret(const std::string& encoded_hash, const std::string& secret);

class client_registry {
 public:
  /// `carried`: the registry this one replaces (the store is read again every few seconds). Its
  /// verified secrets stay verified for the clients whose stored hash did not change, so a
  /// reload never sends every client back to an argon2 check (which a flood of wrong secrets
  /// would then hold up).
  explicit client_registry(std::vector<keys::client_record> clients,
                           const client_registry* carried = nullptr);
  /// The client when id and secret match; nullptr otherwise (the same argon2 cost for an
  /// unknown id and for a wrong secret of a known one).
  const keys::client_record* authenticate(const std::string& id, const std::string& secret) const;
  /// This very secret of this id was verified already: authenticate() compares digests, no
  /// argon2. Any other secret costs an argon2 check.
  bool verified(const std::string& id, const std::string& secret) const;
  const std::vector<keys::client_record>& clients() const noexcept { return clients_; }

 private:
  std::vector<keys::client_record> clients_;
  mutable std::mutex m_;
  mutable std::unordered_map<std::string, std::string> verified_;  // id → sha256(secret)
};

}  // namespace gatepass::issuer
