#include "gateway/token_cache.h"

#include <openssl/evp.h>

namespace gatepass::gateway {

token_digest digest_token(std::string_view token) {
  token_digest d{};
  unsigned int len = 0;
  static EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_Digest(token.data(), token.size(), d.data(), &len, sha256, nullptr);
  return d;
}

token_cache::token_cache(std::size_t capacity)
    : per_shard_(std::max<std::size_t>(1, capacity / shards)) {}

std::shared_ptr<const verified_entry> token_cache::find(const token_digest& d,
                                                        std::int64_t now) const {
  const auto& s = shards_[d[31] % shards];
  std::lock_guard lock(s.m);
  auto it = s.map.find(d);
  if (it == s.map.end() || it->second->valid_until <= static_cast<double>(now)) return nullptr;
  return it->second;
}

void token_cache::insert(const token_digest& d, std::shared_ptr<const verified_entry> e,
                         std::int64_t now) {
  auto& s = shards_[d[31] % shards];
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
  s.map.insert_or_assign(d, std::move(e));
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
