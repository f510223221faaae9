// Tokens already verified, so a repeated token costs a hash lookup, not an RSA verify.
// Bounded by entries and by bytes (a token may be 16 KiB); an evicted token is wiped before
// its memory is freed.
// Keyed by the whole token: a hash of all of it picks the bucket, and a hit needs the stored
// token to equal the presented one byte for byte (compared in constant time), so no other
// token can ever reach an entry. Only verified tokens are stored, whose bytes nobody but the
// issuer chooses, so buckets cannot be flooded by crafted collisions. Bounded; an entry is
// valid until the earlier of its exp (plus leeway) and its key leaving the issuer's key set
// (checked on every hit). Route scopes are checked per request, never cached.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gatepass::jose {
class key_set;
}

namespace gatepass::gateway {

struct verified_entry {
  std::string kid;
  double valid_until = 0;           // exp + leeway
  std::vector<std::string> scopes;  // sorted, unique
  // The claim headers for the upstream as "Name: value\r\n" lines, appended to a request
  // whole (header_pairs splits them for forward-auth answers).
  std::string header_lines;
  // The key set it was verified against, held (so no other set can ever have its address): a
  // hit under the same set needs no kid lookup.
  std::shared_ptr<const jose::key_set> verified_with;
};

class token_cache {
 public:
  static constexpr std::size_t default_bytes = 64 * 1024 * 1024;
  explicit token_cache(std::size_t capacity, std::size_t max_bytes = default_bytes);
  std::shared_ptr<const verified_entry> find(std::string_view token, std::int64_t now) const;
  void insert(std::string_view token, std::shared_ptr<const verified_entry> e, std::int64_t now);
  std::size_t size() const;

 private:
  // The token with its hash, computed once per lookup (it picks the shard and the bucket).
  // A bearer credential: wiped when the entry goes.
  struct key {
    key(std::size_t h, std::string_view t) : hash(h), token(t) {}
    key(const key&) = delete;
    key& operator=(const key&) = delete;
    ~key();
    std::size_t hash;
    std::string token;
  };
  struct slot {
    std::shared_ptr<const verified_entry> entry;
    std::size_t bytes;  // what the entry holds, as counted against the budget
  };
  struct key_view {
    std::size_t hash;
    std::string_view token;
  };
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(const key& k) const noexcept { return k.hash; }
    std::size_t operator()(const key_view& k) const noexcept { return k.hash; }
  };
  struct key_equal {
    using is_transparent = void;
    static bool same(std::string_view a, std::string_view b) noexcept;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      return a.hash == b.hash && same(a.token, b.token);
    }
  };
  struct shard {
    mutable std::mutex m;
    std::unordered_map<key, slot, key_hash, key_equal> map;
    std::size_t bytes = 0;
  };
  static std::size_t bytes_of(std::string_view token, const verified_entry& e) noexcept;
  static constexpr std::size_t shards = 16;
  static key_view view(std::string_view token) noexcept;
  // the hash's top bits pick the shard, its low bits the bucket
  static_assert(shards == 16 && sizeof(std::size_t) == 8);
  const shard& shard_of(const key_view& k) const noexcept { return shards_[k.hash >> 60]; }
  shard& shard_of(const key_view& k) noexcept { return shards_[k.hash >> 60]; }
  std::size_t per_shard_;
  std::size_t per_shard_bytes_;
  std::array<shard, shards> shards_;
};

}  // namespace gatepass::gateway
