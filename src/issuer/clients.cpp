#include "issuer/clients.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/base64url.h"

namespace gatepass::issuer {

namespace {

constexpr uint32_t t_cost = 2, m_cost = 19 * 1024, parallelism = 1, hash_len = 32, salt_len = 16;

std::string sha256(const std::string& s) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

}  // namespace

std::string generate_client_secret() {
  unsigned char rnd[32];
  RAND_bytes(rnd, sizeof rnd);
  return base64url_encode(std::string_view(reinterpret_cast<char*>(rnd), sizeof rnd));
}

std::string hash_client_secret(const std::string& secret) {
  unsigned char salt[salt_len];
  RAND_bytes(salt, sizeof salt);
  const std::size_t len =
      argon2_encodedlen(t_cost, m_cost, parallelism, salt_len, hash_len, Argon2_id);
  std::string encoded(len, '\0');
  if (argon2id_hash_encoded(t_cost, m_cost, parallelism, secret.data(), secret.size(), salt,
                            salt_len, hash_len, encoded.data(), encoded.size()) != ARGON2_OK)
    return {};
  encoded.resize(encoded.find('\0'));
  return encoded;
}

bool verify_client_secret(const std::string& encoded_hash, const std::string& secret) {
  return argon2id_verify(encoded_hash.c_str(), secret.data(), secret.size()) == ARGON2_OK;
}

client_registry::client_registry(std::vector<keys::client_record> clients,
                                 const client_registry* carried)
    : clients_(std::move(clients)) {
  if (carried == nullptr) return;
  // the hash each id resolves to, as authenticate() finds it (the last record with the id)
  std::unordered_map<std::string, const std::string*> now, before;
  for (const auto& c : clients_) now[c.id] = &c.secret_hash;
  for (const auto& c : carried->clients_) before[c.id] = &c.secret_hash;
  std::lock_guard lock(carried->m_);
  for (const auto& [id, digest] : carried->verified_) {
    const auto n = now.find(id);
    const auto b = before.find(id);
    if (n != now.end() && b != before.end() && *n->second == *b->second) verified_[id] = digest;
  }
}

bool client_registry::verified(const std::string& id, const std::string& secret) const {
  const std::string digest = sha256(secret);
  std::lock_guard lock(m_);
  const auto it = verified_.find(id);
  return it != verified_.end() &&
         CRYPTO_memcmp(it->second.data(), digest.data(), digest.size()) == 0;
}

const keys::client_record* client_registry::authenticate(const std::string& id,
                                                         const std::string& secret) const {
  const keys::client_record* found = nullptr;
  for (const auto& c : clients_)
    if (c.id == id) found = &c;
  const std::string digest = sha256(secret);
  if (found != nullptr) {
    std::lock_guard lock(m_);
    auto it = verified_.find(id);
    if (it != verified_.end() &&
        CRYPTO_memcmp(it->second.data(), digest.data(), digest.size()) == 0)
      return found;
  }
  // Anything else pays one argon2 verification: an unknown id (against a dummy hash) and a
  // wrong secret for a client verified before alike, so timing tells neither which ids exist
  // nor which are in use
  static const std::string dummy = hash_client_secret("gatepass-dummy-secret");
  const bool ok = verify_client_secret(found != nullptr ? found->secret_hash : dummy, secret);
  if (!ok || found == nullptr) return nullptr;
  std::lock_guard lock(m_);
  verified_[id] = digest;
  return found;
}

}  // namespace gatepass::issuer
