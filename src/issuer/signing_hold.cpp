#include "issuer/signing_hold.h"

#include <algorithm>

namespace gatepass::issuer {

namespace {

bool publishes(const keys::key_ring& r, const std::string& kid) {
  return r.published.select(kid).has_value();
}

}  // namespace

std::shared_ptr<const keys::key_ring> signing_hold::on_ring(
    std::shared_ptr<const keys::key_ring> fresh, const keys::key_ring* served,
    clock::time_point now) {
  latest_ = fresh;
  const bool signer_changes = served && served->current && fresh->current &&
                              served->current->kid() != fresh->current->kid();
  if (signer_changes && !publishes(*served, fresh->current->kid())) {
    // a key this instance never published: hold it back from signing from now on
    held_kid_ = fresh->current->kid();
    sign_from_ = now + hold_;
  } else if (!fresh->current || fresh->current->kid() != held_kid_) {
    held_kid_.clear();  // the held key no longer signs at all (another rotation replaced it)
  }
  if (held_kid_.empty() || now >= sign_from_) {
    held_kid_.clear();
    return fresh;
  }
  // The key that signed until now keeps signing while it is still published: what was served
  // signs with it (it is either the old ring or an earlier held one).
  if (!served || !served->current || !publishes(*fresh, served->current->kid())) {
    held_kid_.clear();  // it was retired with the rotation: nothing else may sign
    return fresh;
  }
  auto held = std::make_shared<keys::key_ring>(*fresh);
  held->current = served->current;
  return held;
}

namespace {

// The current key's record and the previous key that stopped signing last (null: none).
std::pair<const keys::key_record*, const keys::key_record*> current_and_last(
    const keys::key_ring& ring) {
  const keys::key_record* cur = nullptr;
  const keys::key_record* prev = nullptr;
  if (!ring.current) return {cur, prev};
  for (const auto& r : ring.records) {
    if (r.kid == ring.current->kid() && r.state == keys::key_state::current)
      cur = &r;
    else if (r.state == keys::key_state::previous && (!prev || r.deactivated > prev->deactivated))
      prev = &r;
  }
  return {cur, prev};
}

}  // namespace

std::int64_t seconds_until_signing(const keys::key_ring& ring, std::int64_t wall_now,
                                   std::chrono::milliseconds hold) {
  const auto [cur, prev] = current_and_last(ring);
  if (!cur || !prev) return 0;
  // Both times are whole seconds: the key became current up to a second after `activated`,
  // so a second more keeps the whole hold. Never longer than that, whatever another machine's
  // clock wrote as the activation time.
  const auto hold_s = std::chrono::ceil<std::chrono::seconds>(hold).count() + 1;
  return std::clamp<std::int64_t>(cur->activated + hold_s - wall_now, 0, hold_s);
}

std::shared_ptr<const keys::key_ring> signing_hold::on_start(
    std::shared_ptr<const keys::key_ring> fresh, std::int64_t wall_now, clock::time_point now) {
  latest_ = fresh;
  held_kid_.clear();
  const auto wait = seconds_until_signing(*fresh, wall_now, hold_);
  if (wait == 0) return fresh;
  // its private key: the previous key signed here
  const auto signer = fresh->published.select(current_and_last(*fresh).second->kid);
  if (!signer) return fresh;
  held_kid_ = fresh->current->kid();
  sign_from_ = now + std::chrono::seconds(wait);
  auto held = std::make_shared<keys::key_ring>(*fresh);
  held->current = **signer;
  return held;
}

std::shared_ptr<const keys::key_ring> signing_hold::on_tick(clock::time_point now) {
  if (held_kid_.empty() || now < sign_from_) return nullptr;
  held_kid_.clear();
  return latest_;
}

}  // namespace gatepass::issuer
