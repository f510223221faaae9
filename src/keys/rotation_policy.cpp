#include "keys/rotation_policy.h"

#include <algorithm>
#include <limits>

namespace gatepass::keys {

std::string_view to_string(key_state s) noexcept {
  switch (s) {
    case key_state::next:
      return "next";
    case key_state::current:
      return "current";
    case key_state::previous:
      return "previous";
    case key_state::retired:
      return "retired";
  }
  return "";
}

std::optional<key_state> key_state_from_string(std::string_view s) noexcept {
  for (auto st : {key_state::next, key_state::current, key_state::previous, key_state::retired})
    if (to_string(st) == s) return st;
  return std::nullopt;
}

std::int64_t tokens_valid_until(const key_record& k, const rotation_settings& s) noexcept {
  switch (k.state) {
    case key_state::current:
      return std::numeric_limits<std::int64_t>::max();
    case key_state::previous:
      return k.deactivated + s.token_ttl + s.leeway;
    case key_state::next:
    case key_state::retired:
      break;
  }
  return 0;
}

bool is_published(key_state s) noexcept {
  return s != key_state::retired;
}

namespace {

key_record* find_state(std::vector<key_record>& keys, key_state st) {
  key_record* best = nullptr;
  for (auto& k : keys)
    if (k.state == st && (best == nullptr || k.created > best->created)) best = &k;
  return best;
}

void demote(key_record& k, std::int64_t now, const rotation_settings& s) {
  k.state = key_state::previous;
  k.deactivated = now;
  k.retire_at = now + s.effective_retire_after();
}

void promote(key_record& k, std::int64_t now) {
  k.state = key_state::current;
  k.activated = now;
}

// Repairs states a crash or a hand edit could leave: at most one current (the newest
// activated wins, others become previous), at most one next.
void normalize(std::vector<key_record>& keys, std::int64_t now, const rotation_settings& s) {
  key_record* cur = nullptr;
  for (auto& k : keys)
    if (k.state == key_state::current && (cur == nullptr || k.activated > cur->activated)) cur = &k;
  for (auto& k : keys)
    if (k.state == key_state::current && &k != cur) demote(k, now, s);
  key_record* nxt = find_state(keys, key_state::next);
  for (auto& k : keys)
    if (k.state == key_state::next && &k != nxt) {
      k.state = key_state::retired;
      k.retire_at = now;
    }
}

}  // namespace

rotation_plan rotation_policy(std::vector<key_record> keys, std::int64_t now,
                              const rotation_settings& s) {
  rotation_plan plan;
  const auto before = keys;
  normalize(keys, now, s);
  key_record* cur = find_state(keys, key_state::current);
  key_record* nxt = find_state(keys, key_state::next);
  if (cur == nullptr) {
    if (nxt != nullptr) {
      promote(*nxt, now);
      cur = nxt;
      nxt = nullptr;
    } else {
      plan.generate_next = true;  // caller adds it with add_key(…, as_current = true)
    }
  }
  if (cur != nullptr) {
    const std::int64_t due = cur->activated + s.rotate_every;
    if (nxt == nullptr && now >= due - s.publish_ahead) {
      plan.generate_next = true;
    } else if (nxt != nullptr && now >= due && now >= nxt->created + s.publish_ahead) {
      demote(*cur, now, s);
      promote(*nxt, now);
    }
  }
  for (auto& k : keys)
    if (k.state == key_state::previous && now >= k.retire_at) k.state = key_state::retired;
  plan.changed = keys != before;
  plan.keys = std::move(keys);
  return plan;
}

manual_plan rotate_now(std::vector<key_record> keys, std::int64_t now, const rotation_settings& s,
                       bool force) {
  manual_plan plan;
  normalize(keys, now, s);
  key_record* nxt = find_state(keys, key_state::next);
  if (force) {
    // A compromised current key: sign with a fresh key at once; the old key stays published
    // as previous so tokens already issued keep verifying until they expire.
    plan.action = manual_rotation::forced;
    plan.generate = true;
    if (nxt != nullptr) {
      nxt->state = key_state::retired;
      nxt->retire_at = now;
    }
  } else if (nxt == nullptr) {
    plan.action = manual_rotation::created_next;
    plan.generate = true;
    plan.ready_at = now + s.publish_ahead;
  } else if (now >= nxt->created + s.publish_ahead) {
    plan.action = manual_rotation::promoted;
    if (key_record* cur = find_state(keys, key_state::current)) demote(*cur, now, s);
    promote(*nxt, now);
  } else {
    plan.action = manual_rotation::waiting;
    plan.ready_at = nxt->created + s.publish_ahead;
  }
  plan.keys = std::move(keys);
  return plan;
}

std::vector<key_record> add_key(std::vector<key_record> keys, key_record fresh, std::int64_t now,
                                const rotation_settings& s, bool as_current) {
  fresh.created = now;
  if (as_current) {
    if (key_record* cur = find_state(keys, key_state::current)) demote(*cur, now, s);
    fresh.state = key_state::current;
    fresh.activated = now;
  } else {
    if (key_record* nxt = find_state(keys, key_state::next)) {
      nxt->state = key_state::retired;
      nxt->retire_at = now;
    }
    fresh.state = key_state::next;
  }
  keys.push_back(std::move(fresh));
  return keys;
}

std::int64_t jwks_max_age(const std::vector<key_record>& keys, std::int64_t now,
                          const rotation_settings& s) {
  std::int64_t next_change = now + 86400;
  bool has_next = false;
  for (const auto& k : keys) {
    if (k.state == key_state::previous) next_change = std::min(next_change, k.retire_at);
    if (k.state == key_state::next) has_next = true;
  }
  for (const auto& k : keys)
    if (k.state == key_state::current && !has_next)
      next_change = std::min(next_change, k.activated + s.rotate_every - s.publish_ahead);
  // Never longer than publish_ahead either: a manual rotation can add a key at any moment,
  // and every honouring cache must hold it before it signs.
  const std::int64_t cap =
      std::max<std::int64_t>(60, std::min<std::int64_t>(86400, s.publish_ahead));
  return std::clamp<std::int64_t>(next_change - now, 60, cap);
}

}  // namespace gatepass::keys
