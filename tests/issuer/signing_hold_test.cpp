// Publish before signing across issuer instances: a current key this issuer never published is
// published at once and signs only after the hold; a scheduled promotion signs at once.
#include "issuer/signing_hold.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "keys/key_generator.h"

namespace gatepass::issuer {
namespace {

using clock = signing_hold::clock;
using std::chrono::milliseconds;

class SigningHold : public ::testing::Test {
 protected:
  // A ring signing with `current` and publishing `published` (keys made once per kid).
  std::shared_ptr<const keys::key_ring> ring(const std::string& current,
                                             std::initializer_list<const char*> published) {
    auto r = std::make_shared<keys::key_ring>();
    std::vector<jose::jwk> pub;
    for (const char* kid : published) pub.push_back(key(kid));
    r->published = jose::key_set::from_keys(std::move(pub));
    if (!current.empty()) r->current = key(current);
    return r;
  }
  static std::string signer(const std::shared_ptr<const keys::key_ring>& r) {
    return r && r->current ? r->current->kid() : std::string("(none)");
  }

  signing_hold hold{milliseconds(1000)};
  clock::time_point t0 = clock::now();

 private:
  const jose::jwk& key(const std::string& kid) {
    for (const auto& k : made_)
      if (k.kid() == kid) return k;
    made_.push_back(*keys::generate_key(jose::alg::es256, 0, kid));
    return made_.back();
  }
  std::deque<jose::jwk> made_{};
};

TEST_F(SigningHold, AForcedKeyIsPublishedAtOnceAndSignsAfterTheHold) {
  const auto before = ring("old", {"old"});
  const auto forced = ring("new", {"old", "new"});
  const auto served = hold.on_ring(forced, before.get(), t0);
  EXPECT_EQ(signer(served), "old");
  EXPECT_EQ(served->published.keys().size(), 2u);  // the new key is in the JWKS already
  EXPECT_EQ(hold.held_kid(), "new");
  EXPECT_EQ(hold.on_tick(t0 + milliseconds(999)), nullptr);
  const auto after = hold.on_tick(t0 + milliseconds(1000));
  EXPECT_EQ(signer(after), "new");
  EXPECT_EQ(after, forced);
  EXPECT_TRUE(hold.held_kid().empty());
  EXPECT_EQ(hold.on_tick(t0 + milliseconds(2000)), nullptr);  // once
}

TEST_F(SigningHold, ScheduledPromotionsAndTheFirstRingSignAtOnce) {
  const auto first = ring("a", {"a"});
  EXPECT_EQ(hold.on_ring(first, nullptr, t0), first);
  const auto with_next = ring("a", {"a", "b"});
  EXPECT_EQ(hold.on_ring(with_next, first.get(), t0), with_next);
  const auto promoted = ring("b", {"a", "b"});  // b was published as next: no hold
  EXPECT_EQ(hold.on_ring(promoted, with_next.get(), t0), promoted);
  EXPECT_TRUE(hold.held_kid().empty());
  EXPECT_EQ(hold.on_tick(t0 + milliseconds(5000)), nullptr);
}

TEST_F(SigningHold, ReloadsDuringTheHoldKeepItsEnd) {
  const auto before = ring("old", {"old"});
  const auto forced = ring("new", {"old", "new"});
  const auto served = hold.on_ring(forced, before.get(), t0);
  // another change (a next key added) arrives while the new key is held: still held, same end
  const auto more = ring("new", {"old", "new", "next"});
  const auto again = hold.on_ring(more, served.get(), t0 + milliseconds(500));
  EXPECT_EQ(signer(again), "old");
  EXPECT_EQ(again->published.keys().size(), 3u);
  EXPECT_EQ(hold.on_tick(t0 + milliseconds(999)), nullptr);
  EXPECT_EQ(hold.on_tick(t0 + milliseconds(1000)), more);  // the latest ring, not the first
}

TEST_F(SigningHold, ASecondForcedRotationRestartsTheHoldForTheNewestKey) {
  const auto before = ring("k1", {"k1"});
  const auto served = hold.on_ring(ring("k2", {"k1", "k2"}), before.get(), t0);
  const auto k3 = ring("k3", {"k1", "k2", "k3"});
  const auto again = hold.on_ring(k3, served.get(), t0 + milliseconds(800));
  EXPECT_EQ(signer(again), "k1");  // k2 never signed here
  EXPECT_EQ(hold.held_kid(), "k3");
  EXPECT_EQ(hold.on_tick(t0 + milliseconds(1000)), nullptr);
  EXPECT_EQ(hold.on_tick(t0 + milliseconds(1800)), k3);
}

TEST_F(SigningHold, AHoldEndsWhenAnotherKeyTakesOverOrTheOldOneIsBack) {
  const auto before = ring("old", {"old", "next"});
  const auto served = hold.on_ring(ring("new", {"old", "next", "new"}), before.get(), t0);
  ASSERT_EQ(hold.held_kid(), "new");
  // a scheduled promotion of the published next key during the hold: it signs at once
  const auto promoted = ring("next", {"old", "next", "new"});
  EXPECT_EQ(hold.on_ring(promoted, served.get(), t0 + milliseconds(100)), promoted);
  EXPECT_TRUE(hold.held_kid().empty());
  EXPECT_EQ(hold.on_tick(t0 + milliseconds(2000)), nullptr);
  // a ring back on the key that signed before (the rotation undone): no hold left behind
  const auto again = hold.on_ring(ring("new2", {"old", "new2"}), before.get(), t0);
  ASSERT_EQ(hold.held_kid(), "new2");
  const auto back = ring("old", {"old"});
  EXPECT_EQ(hold.on_ring(back, again.get(), t0 + milliseconds(100)), back);
  EXPECT_TRUE(hold.held_kid().empty());
  EXPECT_EQ(hold.on_tick(t0 + milliseconds(2000)), nullptr);
}

// An issuer that starts moments after a forced rotation: the key that signed before keeps
// signing until the hold would have ended; later starts, or nothing to fall back on, sign at once.
TEST_F(SigningHold, AStartMomentsAfterAForcedRotationHoldsTheRest) {
  constexpr std::int64_t wall = 1'800'000'000;
  auto with_records = [&](std::int64_t activated, bool old_published) {
    auto r = std::make_shared<keys::key_ring>(
        *ring("new", old_published ? std::initializer_list<const char*>{"old", "older", "new"}
                                   : std::initializer_list<const char*>{"new"}));
    r->records = {
        {"older", "ES256", keys::key_state::previous, wall - 900, wall - 800, wall - 500, 0},
        {"old", "ES256", keys::key_state::previous, wall - 500, wall - 500, activated, 0},
        {"new", "ES256", keys::key_state::current, activated, activated, 0, 0}};
    return std::shared_ptr<const keys::key_ring>(r);
  };
  signing_hold two_s{milliseconds(2000)};
  const auto just = with_records(wall - 1, true);  // activated a second ago, 2 s hold
  const auto served = two_s.on_start(just, wall, t0);
  EXPECT_EQ(signer(served), "old");  // the last key to stop signing, not an older one
  EXPECT_EQ(served->published.keys().size(), 3u);
  EXPECT_EQ(two_s.held_kid(), "new");
  // activated in [wall - 1, wall): two more seconds make sure two have passed
  EXPECT_EQ(two_s.on_tick(t0 + milliseconds(1999)), nullptr);  // the hold's last second
  EXPECT_EQ(two_s.on_tick(t0 + milliseconds(2000)), just);

  // 1 s hold: activated this second → held; two seconds or more ago → signs at once
  const auto now_one = with_records(wall, true);
  EXPECT_EQ(signer(hold.on_start(now_one, wall, t0)), "old");
  signing_hold later{milliseconds(1000)};
  const auto settled = with_records(wall - 2, true);
  EXPECT_EQ(later.on_start(settled, wall, t0), settled);
  const auto alone = with_records(wall, false);  // the old key retired with it
  EXPECT_EQ(later.on_start(alone, wall, t0), alone);
  EXPECT_TRUE(later.held_kid().empty());
  const auto first = ring("first", {"first"});  // no records: a first key
  EXPECT_EQ(later.on_start(first, wall, t0), first);
}

// `token issue` waits this long before signing: the same window as a start inside the hold
TEST_F(SigningHold, SecondsUntilANewKeySigns) {
  constexpr std::int64_t wall = 1'800'000'000;
  auto rotated = [&](std::int64_t activated) {
    auto r = std::make_shared<keys::key_ring>(*ring("new", {"old", "new"}));
    r->records = {{"old", "ES256", keys::key_state::previous, wall - 500, wall - 500, activated, 0},
                  {"new", "ES256", keys::key_state::current, activated, activated, 0, 0}};
    return r;
  };
  const struct {
    std::int64_t activated;
    std::int64_t wait;
  } rows[] = {
      // whole seconds: activated at `activated` or up to a second later, so a second more
      {wall, 3},        // this second: the whole hold
      {wall - 1, 2},    // a second ago
      {wall - 2, 1},    // two: maybe only just over one
      {wall - 3, 0},    // the hold is over
      {wall - 900, 0},  // long ago
      {wall + 100, 3},  // a clock ahead of this one: never more than the hold
  };
  for (const auto& row : rows)
    EXPECT_EQ(seconds_until_signing(*rotated(row.activated), wall, milliseconds(2000)), row.wait)
        << "activated " << row.activated - wall << " s from now";
  EXPECT_EQ(seconds_until_signing(*rotated(wall), wall, milliseconds(1500)), 3);  // whole seconds
  auto first = std::make_shared<keys::key_ring>(*ring("first", {"first"}));  // no key before it
  first->records = {{"first", "ES256", keys::key_state::current, wall, wall, 0, 0}};
  EXPECT_EQ(seconds_until_signing(*first, wall, milliseconds(2000)), 0);
}

TEST_F(SigningHold, AnOldKeyNoLongerPublishedNeverSigns) {
  // forced rotation and the old key retired with it (compromised): the new key signs at once
  const auto before = ring("old", {"old"});
  const auto alone = ring("new", {"new"});
  EXPECT_EQ(hold.on_ring(alone, before.get(), t0), alone);
  EXPECT_TRUE(hold.held_kid().empty());
  // ... and when the old key is retired during a hold, the held key signs from that reload on
  const auto served = hold.on_ring(ring("n2", {"new", "n2"}), alone.get(), t0);
  EXPECT_EQ(signer(served), "new");
  const auto retired = ring("n2", {"n2"});
  EXPECT_EQ(hold.on_ring(retired, served.get(), t0 + milliseconds(100)), retired);
  EXPECT_EQ(hold.on_tick(t0 + milliseconds(2000)), nullptr);
}

}  // namespace
}  // namespace gatepass::issuer
