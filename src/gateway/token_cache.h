// Tokens already verified, so a repeated token costs a hash lookup, not an RSA verify.
// Keyed by SHA-256 of the whole token (collision-resistant: an attacker cannot craft a token
// that hits another's entry); bounded; an entry is valid until the earlier of its exp (plus
// leeway) and its key leaving the issuer's key set (checked on every hit). Route scopes are
// checked per request, never cached.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gatepass::gateway {

struct verified_entry {
  std::string kid;
  double valid_until = 0;                                    // exp + leeway
  std::vector<std::string> scopes;                           // sorted, unique
  std::vector<std::pair<std::string, std::string>> headers;  // claim headers for the upstream
};

using token_digest = std::array<unsigned char, 32>;

/// SHA-256 of the token; nullopt only if OpenSSL fails, and then the cache is not used.
std::optional<token_digest> digest_token(std::string_view token);

class token_cache {
 public:
  explicit token_cache(std::size_t capacity);
  std::shared_ptr<const verified_entry> find(const token_digest& d, std::int64_t now) const;
  void insert(const token_digest& d, std::shared_ptr<const verified_entry> e, std::int64_t now);
  std::size_t size() const;

 private:
  struct digest_hash {
    std::size_t operator()(const token_digest& d) const noexcept {
      std::size_t h;
      static_assert(sizeof h <= sizeof d);
      std::memcpy(&h, d.data(), sizeof h);
      return h;
    }
  };
  struct shard {
    mutable std::mutex m;
    std::unordered_map<token_digest, std::shared_ptr<const verified_entry>, digest_hash> map;
  };
  static constexpr std::size_t shards = 16;
  std::size_t per_shard_;
  std::array<shard, shards> shards_;
};

}  // namespace gatepass::gateway
