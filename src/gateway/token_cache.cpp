#include "gateway/token_cache.h"

#include <algorithm>
#include <cstring>
#include <functional>

namespace gatepass::gateway {

// A verified token is a secret bearer credential: the comparison takes the same time wherever
// the first difference is (the length is not secret). Eight bytes per step, differences
// OR-ed together and tested once at the end; CRYPTO_memcmp goes byte by byte, a fifth of a
// cache hit's cost for a 600-byte token.
bool token_cache::key_equal::same(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  std::uint64_t diff = 0;
  std::size_t i = 0;
  for (; i + 8 <= a.size(); i += 8) {
    std::uint64_t x = 0, y = 0;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    diff |= x ^ y;
  }
  for (; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
  return diff == 0;
}

token_cache::key_view token_cache::view(std::string_view token) noexcept {
  return {std::hash<std::string_view>{}(token), token};
}

token_cache::token_cache(std::size_t capacity)
    : per_shard_(std::max<std::size_t>(1, capacity / shards)) {}

std::shared_ptr<const verified_entry> token_cache::find(std::string_view token,
                                                        std::int64_t now) const {
  const auto k = view(token);
  const auto& s = shard_of(k);
  std::lock_guard lock(s.m);
  auto it = s.map.find(k);
  if (it == s.map.end() || it->second->valid_until <= static_cast<double>(now)) return nullptr;
  return it->second;
}

void token_cache::insert(std::string_view token, std::shared_ptr<const verified_entry> e,
                         std::int64_t now) {
  const auto k = view(token);
  auto& s = shard_of(k);
  std::lock_guard lock(s.m);
  if (s.map.size() >= per_shard_) {
    std::erase_if(s.map, [now](const auto& kv) {
      return kv.second->valid_until <= static_cast<double>(now);
    });
    // still full: drop an arbitrary tenth, so a flood of distinct tokens costs O(1) amortized
    for (auto it = s.map.begin();
         s.map.size() >= per_shard_ - per_shard_ / 10 && it != s.map.end();)
      it = s.map.erase(it);
  }
  if (auto it = s.map.find(k); it != s.map.end())
    it->second = std::move(e);
  else
    s.map.emplace(key{k.hash, std::string(token)}, std::move(e));
}

std::size_t token_cache::size() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.m);
    n += s.map.size();
  }
  return n;
}

}  // namespace gatepass::gateway
