// replica_set: the leader's view of its followers — the high watermark over
// the ISR, the followers that lag (ISR shrink) and those that caught up (ISR
// expand), and the progress report for /metrics.
#include "replication/replica_set.h"

#include <gtest/gtest.h>

#include <vector>

namespace strata::replication {
namespace {

using ids = std::vector<node_id>;

constexpr node_id self = 1;
constexpr int64_t t0 = 1'000'000;
constexpr int64_t lag_max_ms = 10'000;

replica_set rf3(const ids& isr = {1, 2, 3}) {
  replica_set rs;
  rs.reset(self, {1, 2, 3}, isr, t0);
  return rs;
}

TEST(ReplicaSet, HighWatermarkIsTheLowestDurableEndInTheIsrWithTheLeaders) {
  auto rs = rf3();
  ASSERT_TRUE(rs.on_fetch(2, 7, 10, t0 + 1));
  ASSERT_TRUE(rs.on_fetch(3, 5, 10, t0 + 1));
  EXPECT_EQ(rs.high_watermark(10), 5);
  EXPECT_EQ(rs.high_watermark(3), 3) << "the leader's own durable end bounds it too";
  ASSERT_TRUE(rs.on_fetch(3, 10, 10, t0 + 2));
  EXPECT_EQ(rs.high_watermark(10), 7);
  ASSERT_TRUE(rs.on_fetch(2, 10, 10, t0 + 2));
  EXPECT_EQ(rs.high_watermark(10), 10);
}

TEST(ReplicaSet, AnIsrMemberNeverHeardFromHoldsTheHighWatermark) {
  auto rs = rf3();
  EXPECT_EQ(rs.high_watermark(10), -1) << "both followers unknown";
  ASSERT_TRUE(rs.on_fetch(2, 10, 10, t0 + 1));
  EXPECT_EQ(rs.high_watermark(10), -1) << "follower 3 is still unknown";
  ASSERT_TRUE(rs.on_fetch(3, 4, 10, t0 + 1));
  EXPECT_EQ(rs.high_watermark(10), 4);

  // An ISR member that is not even a replica (a stale ISR) is unknown forever.
  replica_set odd;
  odd.reset(self, {1, 2}, {1, 2, 4}, t0);
  ASSERT_TRUE(odd.on_fetch(2, 10, 10, t0));
  EXPECT_EQ(odd.high_watermark(10), -1);
}

TEST(ReplicaSet, FollowersOutsideTheIsrDoNotHoldTheHighWatermark) {
  auto rs = rf3({1, 2});
  ASSERT_TRUE(rs.on_fetch(2, 8, 10, t0));
  EXPECT_EQ(rs.high_watermark(10), 8) << "3 is not in the ISR and was never heard from";
  auto alone = rf3({1});
  EXPECT_EQ(alone.high_watermark(10), 10) << "an ISR of the leader alone: its durable end";
}

TEST(ReplicaSet, LaggingAfterLagMaxWithoutCatchingUp) {
  auto rs = rf3();
  // Right after reset every follower counts as caught up.
  EXPECT_TRUE(rs.lagging(t0, lag_max_ms).empty());
  EXPECT_TRUE(rs.lagging(t0 + lag_max_ms, lag_max_ms).empty()) << "exactly lag_max is not past it";
  EXPECT_EQ(rs.lagging(t0 + lag_max_ms + 1, lag_max_ms), (ids{2, 3}));

  // 2 reaches the leader's end at t0+5000: caught up then. 3 fetches often but
  // never reaches the end: fetching alone does not count.
  ASSERT_TRUE(rs.on_fetch(2, 10, 10, t0 + 5000));
  for (int64_t t = t0 + 1000; t <= t0 + 9000; t += 1000) ASSERT_TRUE(rs.on_fetch(3, 9, 10, t));
  EXPECT_EQ(rs.lagging(t0 + lag_max_ms + 1, lag_max_ms), (ids{3}));
  EXPECT_EQ(rs.lagging(t0 + 5000 + lag_max_ms, lag_max_ms), (ids{3}));
  EXPECT_EQ(rs.lagging(t0 + 5000 + lag_max_ms + 1, lag_max_ms), (ids{2, 3}));

  // A fetch past the end (the leader truncated under it) counts as caught up.
  ASSERT_TRUE(rs.on_fetch(3, 12, 10, t0 + 20'000));
  EXPECT_EQ(rs.lagging(t0 + 20'000 + lag_max_ms, lag_max_ms), (ids{2}));
}

TEST(ReplicaSet, OnlyIsrMembersLag) {
  auto rs = rf3({1, 2});
  EXPECT_EQ(rs.lagging(t0 + lag_max_ms + 1, lag_max_ms), (ids{2})) << "3 is outside the ISR: nothing to shrink";
  // The leader itself never lags, even when it is listed in the ISR.
  auto alone = rf3({1});
  EXPECT_TRUE(alone.lagging(t0 + 100 * lag_max_ms, lag_max_ms).empty());
  // An ISR member that is no replica lags at once (it never fetches).
  replica_set odd;
  odd.reset(self, {1, 2}, {1, 2, 4}, t0);
  EXPECT_EQ(odd.lagging(t0, lag_max_ms), (ids{4}));
}

TEST(ReplicaSet, CaughtUpNeedsBothTheHighWatermarkAndTheEpochStart) {
  auto rs = rf3({1});
  EXPECT_TRUE(rs.caught_up(0, 0).empty()) << "no follower heard from: their ends are -1";
  ASSERT_TRUE(rs.on_fetch(2, 10, 20, t0));
  ASSERT_TRUE(rs.on_fetch(3, 15, 20, t0));
  EXPECT_EQ(rs.caught_up(10, 10), (ids{2, 3}));
  EXPECT_EQ(rs.caught_up(12, 0), (ids{3})) << "2 is below the high watermark";
  EXPECT_EQ(rs.caught_up(0, 12), (ids{3})) << "2 is below the start of the leader's epoch";
  EXPECT_EQ(rs.caught_up(12, 16), ids{}) << "3 reaches the high watermark but not the epoch start";
  EXPECT_EQ(rs.caught_up(16, 12), ids{}) << "3 reaches the epoch start but not the high watermark";

  // ISR members are never proposed again.
  rs.set_isr({1, 3});
  EXPECT_EQ(rs.caught_up(10, 10), (ids{2}));
  rs.set_isr({1, 2, 3});
  EXPECT_TRUE(rs.caught_up(0, 0).empty());
}

TEST(ReplicaSet, OnFetchFromANonReplicaReturnsFalseAndChangesNothing) {
  auto rs = rf3();
  ASSERT_TRUE(rs.on_fetch(2, 5, 10, t0));
  ASSERT_TRUE(rs.on_fetch(3, 5, 10, t0));
  EXPECT_FALSE(rs.on_fetch(4, 10, 10, t0 + 1)) << "not a replica";
  EXPECT_FALSE(rs.on_fetch(self, 10, 10, t0 + 1)) << "the leader does not fetch from itself";
  EXPECT_FALSE(rs.on_fetch(-1, 10, 10, t0 + 1)) << "a consumer's replica id";
  EXPECT_EQ(rs.high_watermark(10), 5);
  EXPECT_EQ(rs.followers(t0 + 1).size(), 2u);

  replica_set empty;  // never reset: no replicas at all
  EXPECT_FALSE(empty.on_fetch(2, 0, 0, t0));
}

TEST(ReplicaSet, SetIsrKeepsProgressOfMembersThatStayAndForgetsTheEndOfThoseDropped) {
  auto rs = rf3();
  ASSERT_TRUE(rs.on_fetch(2, 10, 10, t0 + 100));  // caught up
  ASSERT_TRUE(rs.on_fetch(3, 4, 10, t0 + 100));   // behind
  EXPECT_EQ(rs.high_watermark(10), 4);

  rs.set_isr({1, 2, 3});  // the same ISR again: nothing forgotten
  EXPECT_EQ(rs.high_watermark(10), 4);

  rs.set_isr({1, 2});  // 3 shrunk out
  EXPECT_EQ(rs.isr(), (ids{1, 2}));
  EXPECT_FALSE(rs.in_isr(3));
  EXPECT_TRUE(rs.in_isr(2));
  EXPECT_EQ(rs.high_watermark(12), 10);
  auto f = rs.followers(t0 + 100);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].id, 2);
  EXPECT_EQ(f[0].log_end_offset, 10) << "a member that stays keeps its progress";
  EXPECT_EQ(f[1].id, 3);
  EXPECT_EQ(f[1].log_end_offset, -1) << "a dropped member is unknown until it fetches again";
  EXPECT_FALSE(f[1].in_isr);

  // Re-added by the controller before it fetched: it holds the watermark.
  rs.set_isr({1, 2, 3});
  EXPECT_EQ(rs.high_watermark(10), -1);
  EXPECT_EQ(rs.lagging(t0 + lag_max_ms + 1, lag_max_ms), (ids{3})) << "caught-up times are kept";
  ASSERT_TRUE(rs.on_fetch(3, 10, 10, t0 + 200));
  EXPECT_EQ(rs.high_watermark(10), 10);

  // A new term starts from scratch: ends unknown, caught up as of now.
  rs.reset(self, {1, 2, 3}, {1, 2, 3}, t0 + 50'000);
  EXPECT_EQ(rs.high_watermark(10), -1);
  EXPECT_TRUE(rs.lagging(t0 + 50'000 + lag_max_ms, lag_max_ms).empty());
  EXPECT_EQ(rs.replicas(), (ids{1, 2, 3}));
}

TEST(ReplicaSet, ADroppedFollowerOfAnIdlePartitionIsNotProposedBackUntilItFetches) {
  // The partition is idle: the leader's end and the high watermark stay at 10.
  auto rs = rf3();
  ASSERT_TRUE(rs.on_fetch(2, 10, 10, t0));
  ASSERT_TRUE(rs.on_fetch(3, 10, 10, t0));
  rs.set_isr({1, 2});  // 3 died; the controller dropped it
  EXPECT_TRUE(rs.caught_up(10, 0).empty()) << "its old end must not count as caught up";
  ASSERT_TRUE(rs.on_fetch(3, 10, 10, t0 + 5000));  // it is back
  EXPECT_EQ(rs.caught_up(10, 0), (ids{3}));
}

TEST(ReplicaSet, ResetWithNewReplicasDropsOldFollowers) {
  auto rs = rf3();
  ASSERT_TRUE(rs.on_fetch(3, 5, 10, t0));
  rs.reset(self, {1, 2, 4}, {1, 2, 4}, t0 + 1);
  EXPECT_FALSE(rs.on_fetch(3, 5, 10, t0 + 2)) << "3 is no longer a replica";
  EXPECT_TRUE(rs.on_fetch(4, 5, 10, t0 + 2));
  auto f = rs.followers(t0 + 2);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].id, 2);
  EXPECT_EQ(f[1].id, 4);
}

TEST(ReplicaSet, FollowersReportEndLagAndIsrMembership) {
  auto rs = rf3({1, 2});
  auto before = rs.followers(t0 + 30);
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(before[0].id, 2);
  EXPECT_EQ(before[0].log_end_offset, -1) << "unknown until the first fetch";
  EXPECT_EQ(before[0].lag_ms, 30);
  EXPECT_TRUE(before[0].in_isr);
  EXPECT_EQ(before[1].id, 3);
  EXPECT_FALSE(before[1].in_isr);

  ASSERT_TRUE(rs.on_fetch(2, 10, 10, t0 + 1000));  // caught up
  ASSERT_TRUE(rs.on_fetch(3, 6, 10, t0 + 1500));   // behind
  auto after = rs.followers(t0 + 2000);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].log_end_offset, 10);
  EXPECT_EQ(after[0].lag_ms, 1000);
  EXPECT_EQ(after[1].log_end_offset, 6);
  EXPECT_EQ(after[1].lag_ms, 2000) << "behind since the reset: fetching without catching up does not count";
  for (auto& f : after) EXPECT_NE(f.id, self) << "the leader is not its own follower";
}

}  // namespace
}  // namespace strata::replication

namespace strata::replication {
namespace {

TEST(ReplicaSet, SetReplicasKeepsProgressAndTracksNewReplicas) {
  replica_set rs;
  rs.reset(1, {1, 2, 3}, {1, 2, 3}, 1000);
  ASSERT_TRUE(rs.on_fetch(2, 8, 10, 1001));
  ASSERT_TRUE(rs.on_fetch(3, 9, 10, 1001));
  EXPECT_FALSE(rs.on_fetch(4, 0, 10, 1001)) << "not a replica yet";
  rs.set_replicas({1, 2, 4, 3}, 1002);
  ASSERT_TRUE(rs.on_fetch(4, 0, 10, 1003));
  EXPECT_EQ(rs.high_watermark(10), 8) << "2 kept its progress; 4 is outside the isr";
  EXPECT_EQ(rs.caught_up(8, 0), (std::vector<node_id>{})) << "4 is far behind";
  ASSERT_TRUE(rs.on_fetch(4, 10, 10, 1004));
  EXPECT_EQ(rs.caught_up(8, 0), (std::vector<node_id>{4}));
  rs.set_replicas({1, 2, 4}, 1005);
  EXPECT_FALSE(rs.on_fetch(3, 10, 10, 1006)) << "3 left the replica set";
}

}  // namespace
}  // namespace strata::replication
