// The keys of one issuer, as the gateway knows them: found through the issuer's discovery
// document (its issuer must equal issuer_url exactly), fetched at start, refreshed as
// Cache-Control says within bounds, refetched on an unknown kid at most once per cooldown
// (one shared fetch however many requests carry it), kept when a fetch fails. Readers get an
// immutable snapshot and never lock.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/result.h"
#include "jose/key_set.h"
#include "net/http_client.h"

namespace boost::asio {
class io_context;
}

namespace gatepass::gateway {

struct jwks_cache_options {
  std::string issuer_url;
  net::fetch_options fetch;
  std::chrono::seconds min_ttl{60};           // refresh no more often than this
  std::chrono::seconds max_ttl{3600};         // and at least this often
  std::chrono::seconds retry_after{5};        // after a failed fetch
  std::chrono::seconds refetch_cooldown{30};  // unknown-kid refetches
  // An unknown-kid refetch starts this long after the first such token (its requests wait):
  // an issuer running as several instances signs with a forced key on one of them a few tens
  // of ms before the instance the gateway fetches from publishes it, and a refetch in between
  // would hold the key off for a whole cooldown.
  std::chrono::milliseconds unknown_kid_delay{250};
};

/// The network seam a test fakes: GET url → response.
using fetch_function =
    std::function<void(const std::string& url, std::function<void(result<net::fetch_response>)>)>;

struct jwks_cache_stats {
  std::atomic<std::uint64_t> fetch_ok{0};
  std::atomic<std::uint64_t> fetch_failed{0};
  std::atomic<std::uint64_t> unknown_kid_refetches{0};
};

/// When to refresh a set fetched with this Cache-Control lifetime: clamped to
/// [min_ttl, max_ttl]; min_ttl when the response gave none.
std::chrono::seconds jwks_refresh_delay(std::optional<std::chrono::seconds> max_age,
                                        const jwks_cache_options& opt);

class jwks_cache : public std::enable_shared_from_this<jwks_cache> {
 public:
  /// `fetch` defaults to net::async_fetch on `ioc`.
  static std::shared_ptr<jwks_cache> create(boost::asio::io_context& ioc, jwks_cache_options opt,
                                            fetch_function fetch = {});
  /// Fetches discovery then JWKS now, and keeps them fresh. Every fetch re-reads discovery
  /// (jwks_uri is never cached). After a failure: retry_after once ready, else a backoff of
  /// 1 s doubling to 30 s.
  void start();
  void stop();
  /// The current key set, or nullptr before the first successful fetch.
  std::shared_ptr<const jose::key_set> keys() const;
  bool ready() const { return keys() != nullptr; }
  /// A token named a kid the set lacks: refetch unless one ran within the cooldown.
  /// Returns true when a refetch is running (started now or shared), so a caller may wait for it.
  bool on_unknown_kid();
  const jwks_cache_stats& stats() const { return stats_; }
  /// Last fetch error, for logs and /readyz.
  std::string last_error() const;
  /// The delay chosen after the last completed fetch (refresh or retry), 0s before any.
  std::chrono::seconds next_refresh_delay() const;

  jwks_cache(boost::asio::io_context& ioc, jwks_cache_options opt, fetch_function fetch);
  ~jwks_cache();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  jwks_cache_stats stats_;
};

}  // namespace gatepass::gateway
