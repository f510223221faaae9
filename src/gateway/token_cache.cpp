#include "gateway/token_cache.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <tuple>

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

token_cache::key::~key() {
  if (!token.empty()) OPENSSL_cleanse(token.data(), token.size());
}

std::size_t token_cache::bytes_of(std::string_view token, const verified_entry& e) noexcept {
  std::size_t n = 256 + token.size() + e.kid.size() + e.header_lines.size();
  for (const auto& s : e.scopes) n += 32 + s.size();
  return n;
}

token_cache::token_cache(std::size_t capacity, std::size_t max_bytes)
    : per_shard_(std::max<std::size_t>(1, capacity / shards)),
      per_shard_bytes_(std::max<std::size_t>(1, max_bytes / shards)) {}

std::shared_ptr<const verified_entry> token_cache::find(std::string_view token,
                                                        std::int64_t now) const {
  const auto k = view(token);
  const auto& s = shard_of(k);
  std::lock_guard lock(s.m);
  auto it = s.map.find(k);
  if (it == s.map.end() || it->second.entry->valid_until <= static_cast<double>(now))
    return nullptr;
  return it->second.entry;
}

void token_cache::insert(std::string_view token, std::shared_ptr<const verified_entry> e,
                         std::int64_t now) {
  const auto k = view(token);
  const std::size_t bytes = bytes_of(token, *e);
  if (bytes > per_shard_bytes_) return;  // larger than a shard may hold: never cached
  auto& s = shard_of(k);
  std::lock_guard lock(s.m);
  if (auto it = s.map.find(k); it != s.map.end()) {
    s.bytes -= it->second.bytes;
    s.map.erase(it);
  }
  if (s.map.size() >= per_shard_ || s.bytes + bytes > per_shard_bytes_) {
    std::erase_if(s.map, [&](const auto& kv) {
      const bool expired = kv.second.entry->valid_until <= static_cast<double>(now);
      if (expired) s.bytes -= kv.second.bytes;
      return expired;
    });
    // still full: drop an arbitrary tenth, so a flood of distinct tokens costs O(1) amortized
    const std::size_t count_goal = per_shard_ - per_shard_ / 10;
    const std::size_t bytes_goal = per_shard_bytes_ - per_shard_bytes_ / 10;
    for (auto it = s.map.begin();
         it != s.map.end() && (s.map.size() >= count_goal || s.bytes + bytes > bytes_goal);) {
      s.bytes -= it->second.bytes;
      it = s.map.erase(it);
    }
  }
  s.map.emplace(std::piecewise_construct, std::forward_as_tuple(k.hash, token),
                std::forward_as_tuple(slot{std::move(e), bytes}));
  s.bytes += bytes;
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
