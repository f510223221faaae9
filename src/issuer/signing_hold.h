// Publish before signing, across issuer instances. A current key this issuer has never
// published (a forced rotation, `keys import` as current) is published at once but signs only
// `hold` later; until then the key that signed before keeps signing (it stays published as
// previous). Other instances on the same store learn of the change a little later (at once
// through PostgreSQL NOTIFY, within a poll interval otherwise), and a gateway that meets the
// new kid refetches the JWKS from any of them, once per cooldown: without the hold it could
// fetch a set that lacks the key and refuse that key's tokens for a whole cooldown.
// A scheduled promotion needs no hold: the next key was published publish_ahead before.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "keys/key_manager.h"

namespace gatepass::issuer {

/// How long a key made current at once is published before this issuer signs with it: every
/// instance on the store learns of a change within 2 s (NOTIFY at once; a poll every second
/// otherwise, issue 5's bound), so by then each one publishes it.
inline constexpr std::chrono::seconds sign_after_publish{2};

/// Seconds until the current key of `ring` may sign (0: now), `wall_now` in Unix seconds: a key
/// that replaced another less than `hold` ago may not be published by every instance yet.
std::int64_t seconds_until_signing(const keys::key_ring& ring, std::int64_t wall_now,
                                   std::chrono::milliseconds hold);

class signing_hold {
 public:
  using clock = std::chrono::steady_clock;
  explicit signing_hold(std::chrono::milliseconds hold) : hold_(hold) {}

  /// The ring to serve at `now` for `fresh` (just read from the store), given the ring served
  /// until now (null at start: nothing was published, nothing is held).
  std::shared_ptr<const keys::key_ring> on_ring(std::shared_ptr<const keys::key_ring> fresh,
                                                const keys::key_ring* served,
                                                clock::time_point now);
  /// The ring to serve at start (`wall_now`: Unix seconds). A current key activated less than
  /// the hold ago may not be published by every instance yet: the previous key that signed
  /// before it signs until the hold would have ended, when that key is still published.
  std::shared_ptr<const keys::key_ring> on_start(std::shared_ptr<const keys::key_ring> fresh,
                                                 std::int64_t wall_now, clock::time_point now);
  /// The ring to serve once the hold has ended; null while holding or when nothing is held.
  std::shared_ptr<const keys::key_ring> on_tick(clock::time_point now);
  /// The key being held back from signing (empty: none).
  const std::string& held_kid() const noexcept { return held_kid_; }

 private:
  std::chrono::milliseconds hold_;
  std::string held_kid_;
  clock::time_point sign_from_{};
  std::shared_ptr<const keys::key_ring> latest_;  // the store's ring, served once the hold ends
};

}  // namespace gatepass::issuer
