#include "gateway/token_cache.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include "common/ossl.h"

namespace gatepass::gateway {

std::optional<token_digest> digest_token(std::string_view token) {
  // One digest context per thread, reused: no allocation and no algorithm fetch per request.
  static const ossl::md_ptr sha256(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  thread_local const ossl::md_ctx_ptr ctx(EVP_MD_CTX_new());
  token_digest d{};
  unsigned int len = 0;
  if (!sha256 || !ctx || EVP_DigestInit_ex2(ctx.get(), sha256.get(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), token.data(), token.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), d.data(), &len) != 1 || len != d.size()) {
    ERR_clear_error();
    return std::nullopt;  // never a made-up key: the caller skips the cache
  }
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
