// The key lifecycle (DESIGN.md): next (published, not signing) → current (the one signing
// key) → previous (published, verifying only) → retired (unpublished, deleted by prune).
// rotation_policy is a pure function of (keys, now, settings): the store applies its result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatepass::keys {

enum class key_state { next, current, previous, retired };

std::string_view to_string(key_state s) noexcept;
std::optional<key_state> key_state_from_string(std::string_view s) noexcept;

/// Metadata of one stored key; times are Unix seconds, 0 = not yet.
struct key_record {
  std::string kid;
  std::string alg;
  key_state state = key_state::next;
  std::int64_t created = 0;      // published from this moment (as next or current)
  std::int64_t activated = 0;    // became current
  std::int64_t deactivated = 0;  // became previous
  std::int64_t retire_at = 0;    // earliest moment it may leave the JWKS
  bool operator==(const key_record&) const = default;
};

struct rotation_settings {
  std::int64_t rotate_every = 30 * 86400;
  std::int64_t publish_ahead = 2 * 3600;  // longer than the longest verifier cache (AWS: 2 h)
  std::int64_t token_ttl = 3600;
  std::int64_t leeway = 60;
  /// How long a key stays published after it stops signing; 0 = token_ttl + publish_ahead + leeway.
  std::int64_t retire_after = 0;
  std::int64_t effective_retire_after() const noexcept {
    return retire_after > 0 ? retire_after : token_ttl + publish_ahead + leeway;
  }
};

/// What the store must do to bring the key ring up to date at `now`.
struct rotation_plan {
  bool generate_next = false;    // create a new key (created = now): as current when the plan's
                                 // keys hold no current key, else as next
  std::vector<key_record> keys;  // the updated records (promotions, retirements applied)
  bool changed = false;          // keys differ from the input
};

/// Scheduled rotation: create next at activation + rotate_every - publish_ahead; promote it
/// once it has been published publish_ahead and the current key is due; retire previous keys
/// after retire_after. With no current key at all, the newest next (or a fresh key) is
/// promoted at once: nothing can have been issued yet.
rotation_plan rotation_policy(std::vector<key_record> keys, std::int64_t now,
                              const rotation_settings& s);

/// A manual rotation (`keys rotate`): the same windows, or immediately with force (a
/// compromised key): a fresh key becomes current and the old one previous at once.
enum class manual_rotation { created_next, promoted, waiting, forced };
struct manual_plan {
  manual_rotation action;
  bool generate = false;  // generate a key first (its record is appended by the caller)
  std::vector<key_record> keys;
  std::int64_t ready_at = 0;  // for waiting: when the next key may become current
};
manual_plan rotate_now(std::vector<key_record> keys, std::int64_t now, const rotation_settings& s,
                       bool force);

/// Applies a generated key: appends `fresh` to keys as next (or as current when `as_current`,
/// demoting the old current to previous).
std::vector<key_record> add_key(std::vector<key_record> keys, key_record fresh, std::int64_t now,
                                const rotation_settings& s, bool as_current);

/// Seconds until the published set (next + current + previous) can next change, bounded to
/// [60, min(publish_ahead, 86400)]: the JWKS max-age (never past the next change, at least 60 s).
std::int64_t jwks_max_age(const std::vector<key_record>& keys, std::int64_t now,
                          const rotation_settings& s);

/// Until when tokens signed by `k` may still be accepted: a previous key's last tokens expire
/// token_ttl + leeway after it stopped signing; the current key's never (INT64_MAX); a next
/// or retired key has no live tokens (0). `keys retire` refuses a key before this moment.
std::int64_t tokens_valid_until(const key_record& k, const rotation_settings& s) noexcept;

/// Published keys: next, current, previous.
bool is_published(key_state s) noexcept;

}  // namespace gatepass::keys
