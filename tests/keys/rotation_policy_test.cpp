// rotation_policy over years of simulated time with a fake clock: never zero or two current
// keys after the first, and every token verifies against every JWKS a verifier may hold while
// the token is alive, counting the JWKS cache lifetime.
#include "keys/rotation_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <set>

namespace gatepass::keys {
namespace {

struct snapshot {
  std::int64_t t;
  std::string current;
  std::set<std::string> published;
  std::int64_t max_age;
};

class simulator {
 public:
  explicit simulator(rotation_settings s) : s_(s) {}

  void tick(std::int64_t now) {
    auto plan = rotation_policy(keys_, now, s_);
    keys_ = std::move(plan.keys);
    if (plan.generate_next) add(now, !has_current());
    record(now);
  }

  void manual(std::int64_t now, bool force) {
    auto plan = rotate_now(keys_, now, s_, force);
    keys_ = std::move(plan.keys);
    if (plan.generate) add(now, plan.action == manual_rotation::forced);
    record(now);
  }

  const std::vector<snapshot>& history() const { return history_; }
  const std::vector<key_record>& keys() const { return keys_; }

 private:
  bool has_current() const {
    return std::any_of(keys_.begin(), keys_.end(),
                       [](auto& k) { return k.state == key_state::current; });
  }
  void add(std::int64_t now, bool as_current) {
    key_record r;
    r.kid = "k" + std::to_string(++counter_);
    r.alg = "RS256";
    keys_ = add_key(std::move(keys_), r, now, s_, as_current);
  }
  void record(std::int64_t now) {
    snapshot snap{now, {}, {}, jwks_max_age(keys_, now, s_)};
    int currents = 0;
    for (const auto& k : keys_) {
      if (k.state == key_state::current) {
        ++currents;
        snap.current = k.kid;
      }
      if (is_published(k.state)) snap.published.insert(k.kid);
    }
    ASSERT_EQ(currents, 1) << "at t=" << now;
    history_.push_back(std::move(snap));
  }

  rotation_settings s_;
  std::vector<key_record> keys_;
  std::vector<snapshot> history_;
  int counter_ = 0;
};

// A token issued at t (signed by current(t)) is verified at any v in [t, t + ttl + leeway]
// with a JWKS fetched at f <= v that the verifier may still use at v: f + cache > v, where the
// cache is our max-age, or a verifier's fixed cache as long as publish_ahead (AWS: 2 h).
void check_tokens_always_verify(const std::vector<snapshot>& h, const rotation_settings& s) {
  std::size_t checks = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    const auto& issued = h[i];
    const std::int64_t alive_until = issued.t + s.token_ttl + s.leeway;
    // no cache outlives publish_ahead (max-age is capped by it), so older fetches are moot
    const auto first = std::lower_bound(h.begin(), h.end(), issued.t - s.publish_ahead,
                                        [](const snapshot& x, std::int64_t v) { return x.t < v; });
    for (auto j = static_cast<std::size_t>(first - h.begin()); j < h.size(); ++j) {
      const auto& fetched = h[j];
      if (fetched.t > alive_until) break;
      const std::int64_t cache = std::max(fetched.max_age, s.publish_ahead);
      // the fetch is still in use at some v >= issued.t
      if (fetched.t + cache <= issued.t) continue;
      ++checks;
      ASSERT_TRUE(fetched.published.count(issued.current))
          << "token signed by " << issued.current << " at t=" << issued.t
          << " fails against the JWKS fetched at t=" << fetched.t;
    }
  }
  EXPECT_GT(checks, h.size());
}

TEST(RotationPolicy, ScheduledRotationOverThreeYearsKeepsEveryTokenVerifiable) {
  rotation_settings s;  // 30 d, 2 h ahead, 1 h tokens
  simulator sim(s);
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::int64_t> step(30, 1800);
  std::int64_t t = 1'700'000'000;
  const std::int64_t end = t + 3 * 365 * 86400;
  while (t < end) {
    sim.tick(t);
    t += step(rng);
  }
  ASSERT_FALSE(HasFatalFailure());
  check_tokens_always_verify(sim.history(), s);
  int rotations = 0;
  for (const auto& k : sim.keys()) rotations += k.activated > 0;
  EXPECT_GE(rotations, 36);  // about one every 30 days
  EXPECT_LE(rotations, 38);
}

TEST(RotationPolicy, ManualRotationsInterleavedKeepEveryTokenVerifiable) {
  rotation_settings s;
  s.rotate_every = 7 * 86400;
  s.publish_ahead = 3600;
  s.token_ttl = 900;
  simulator sim(s);
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::int64_t> step(10, 900);
  std::uniform_int_distribution<int> dice(0, 99);
  std::int64_t t = 1'700'000'000;
  const std::int64_t end = t + 365 * 86400;
  while (t < end) {
    if (dice(rng) < 2)
      sim.manual(t, false);
    else
      sim.tick(t);
    t += step(rng);
  }
  ASSERT_FALSE(HasFatalFailure());
  check_tokens_always_verify(sim.history(), s);
}

TEST(RotationPolicy, ForcedRotationSwitchesAtOnceAndKeepsTheOldKeyPublished) {
  rotation_settings s;
  simulator sim(s);
  sim.tick(1000);
  const auto first = sim.history().back().current;
  sim.manual(2000, true);
  const auto& after = sim.history().back();
  EXPECT_NE(after.current, first);
  EXPECT_TRUE(after.published.count(first));
  // the old key leaves the JWKS only after retire_after
  sim.tick(2000 + s.effective_retire_after() - 1);
  EXPECT_TRUE(sim.history().back().published.count(first));
  sim.tick(2000 + s.effective_retire_after());
  EXPECT_FALSE(sim.history().back().published.count(first));
}

TEST(RotationPolicy, ManualRotationRespectsPublishAhead) {
  rotation_settings s;
  std::vector<key_record> keys;
  keys = add_key(keys, key_record{"a", "RS256"}, 100, s, true);
  auto p1 = rotate_now(keys, 200, s, false);
  EXPECT_EQ(p1.action, manual_rotation::created_next);
  ASSERT_TRUE(p1.generate);
  keys = add_key(p1.keys, key_record{"b", "RS256"}, 200, s, false);
  auto p2 = rotate_now(keys, 200 + s.publish_ahead - 1, s, false);
  EXPECT_EQ(p2.action, manual_rotation::waiting);
  EXPECT_EQ(p2.ready_at, 200 + s.publish_ahead);
  auto p3 = rotate_now(keys, 200 + s.publish_ahead, s, false);
  EXPECT_EQ(p3.action, manual_rotation::promoted);
  int currents = 0;
  for (const auto& k : p3.keys) currents += k.state == key_state::current;
  EXPECT_EQ(currents, 1);
}

TEST(RotationPolicy, RepairsTwoCurrentKeysLeftByAHandEdit) {
  rotation_settings s;
  std::vector<key_record> keys{{"a", "RS256", key_state::current, 10, 10, 0, 0},
                               {"b", "RS256", key_state::current, 20, 20, 0, 0}};
  auto plan = rotation_policy(keys, 30, s);
  EXPECT_TRUE(plan.changed);
  EXPECT_EQ(plan.keys[0].state, key_state::previous);
  EXPECT_EQ(plan.keys[1].state, key_state::current);
}

TEST(RotationPolicy, MaxAgeNeverPastTheNextChangeAndAtLeastSixtySeconds) {
  rotation_settings s;
  std::vector<key_record> keys;
  keys = add_key(keys, key_record{"a", "RS256"}, 0, s, true);
  // next key due at rotate_every - publish_ahead
  const auto due = s.rotate_every - s.publish_ahead;
  EXPECT_EQ(jwks_max_age(keys, due - 100, s), 100);
  EXPECT_EQ(jwks_max_age(keys, due - 5, s), 60);
  EXPECT_EQ(jwks_max_age(keys, 0, s), s.publish_ahead);  // capped: a manual rotation may come
}

TEST(RotationPolicy, TokensValidUntilFollowsTheKeyState) {
  rotation_settings s;
  key_record k{"a", "RS256", key_state::previous, 10, 20, 1000, 0};
  EXPECT_EQ(tokens_valid_until(k, s), 1000 + s.token_ttl + s.leeway);
  k.state = key_state::current;
  EXPECT_EQ(tokens_valid_until(k, s), std::numeric_limits<std::int64_t>::max());
  k.state = key_state::next;
  EXPECT_EQ(tokens_valid_until(k, s), 0);
  k.state = key_state::retired;
  EXPECT_EQ(tokens_valid_until(k, s), 0);
}

TEST(RotationPolicy, StateNamesRoundTrip) {
  for (auto st : {key_state::next, key_state::current, key_state::previous, key_state::retired})
    EXPECT_EQ(key_state_from_string(to_string(st)), st);
  EXPECT_FALSE(key_state_from_string("active"));
}

}  // namespace
}  // namespace gatepass::keys
