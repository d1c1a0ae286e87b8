// plan_rebalance and plan_move_completions: replicas move from the most to
// the least loaded live nodes with as few copies as possible, and a move
// finishes only once every target replica is in the isr.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "cluster/controller.h"
#include "cluster/tests/views.h"

namespace strata::cluster {
namespace {

cluster_view nodes(const std::vector<node_id>& alive) { return testing::view_with_nodes(alive); }

partition_state part(int32_t index, std::vector<node_id> replicas, std::vector<node_id> target = {}) {
  partition_state p;
  p.topic = "t";
  p.partition = index;
  p.replicas = replicas;
  p.leader = replicas.front();
  p.leader_epoch = 5;
  p.isr = replicas;
  p.target_replicas = std::move(target);
  p.revision = 100 + index;
  return p;
}

// Replicas and preferred leaders per node once every planned move is done.
struct load {
  std::map<node_id, int> replicas, preferred;
};

load load_after(const cluster_view& view, const rebalance_plan& plan) {
  load out;
  for (const auto& n : view.nodes) out.replicas[n.id] = out.preferred[n.id] = 0;
  for (const auto& p : view.partitions) {
    const partition_state* now = &p;
    for (const auto& c : plan.changes) {
      if (c.topic == p.topic && c.partition == p.partition) now = &c;
    }
    const auto& final_replicas = now->moving() ? now->target_replicas : now->replicas;
    for (node_id id : final_replicas) ++out.replicas[id];
    ++out.preferred[final_replicas.front()];
  }
  return out;
}

int spread(const std::map<node_id, int>& count) {
  int lo = 1 << 30, hi = 0;
  for (auto& [id, n] : count) {
    lo = std::min(lo, n);
    hi = std::max(hi, n);
  }
  return hi - lo;
}

TEST(PlanRebalance, BalancedClusterPlansNothing) {
  auto view = nodes({1, 2, 3});
  view.partitions = {part(0, {1, 2, 3}), part(1, {2, 3, 1}), part(2, {3, 1, 2})};
  auto plan = plan_rebalance(view);
  EXPECT_TRUE(plan.changes.empty());
  EXPECT_EQ(plan.replicas_moved, 0);
}

TEST(PlanRebalance, NewNodeGetsItsShareWithFewestCopies) {
  auto view = nodes({1, 2, 3, 4});
  for (int32_t i = 0; i < 8; ++i) view.partitions.push_back(part(i, {1 + i % 3, 1 + (i + 1) % 3}));
  auto plan = plan_rebalance(view);
  load after = load_after(view, plan);
  EXPECT_LE(spread(after.replicas), 1);
  EXPECT_EQ(after.replicas[4], 4) << "16 replicas over 4 nodes";
  EXPECT_EQ(plan.replicas_moved, 4) << "only the copies node 4 needs";
  ASSERT_EQ(plan.replicas_before.size(), plan.changes.size());
  for (size_t i = 0; i < plan.changes.size(); ++i) {
    EXPECT_EQ(plan.replicas_before[i], view.partitions[plan.changes[i].partition].replicas);
  }
  EXPECT_LE(spread(after.preferred), 1);
  for (const auto& c : plan.changes) {
    const auto& target = c.moving() ? c.target_replicas : c.replicas;
    EXPECT_EQ(std::set<node_id>(target.begin(), target.end()).size(), target.size()) << "no node twice";
    EXPECT_EQ(target.size(), 2u);
    if (!c.moving()) continue;
    EXPECT_EQ(c.revision, 100 + c.partition) << "compares the current revision";
    EXPECT_EQ(c.leader_epoch, 5) << "starting a move elects nobody";
    EXPECT_EQ(c.isr, view.partitions[c.partition].isr) << "new replicas join the isr by catching up";
    EXPECT_EQ(c.replicas.size(), 3u) << "during the move: target, then the replica leaving";
    EXPECT_EQ(std::vector<node_id>(c.replicas.begin(), c.replicas.begin() + 2), c.target_replicas);
  }
}

TEST(PlanRebalance, FollowersMoveBeforeLeaders) {
  auto view = nodes({1, 2, 3});
  view.partitions = {part(0, {1, 2}), part(1, {2, 1})};
  auto plan = plan_rebalance(view);
  ASSERT_EQ(plan.replicas_moved, 1);
  for (const auto& c : plan.changes) {
    if (!c.moving()) continue;
    EXPECT_EQ(c.target_replicas.front(), c.leader) << "the leader stays";
  }
}

TEST(PlanRebalance, OnlyOrderChangesApplyAtOnce) {
  auto view = nodes({1, 2});
  view.partitions = {part(0, {1, 2}), part(1, {1, 2})};
  auto plan = plan_rebalance(view);
  ASSERT_EQ(plan.changes.size(), 1u);
  EXPECT_FALSE(plan.changes[0].moving()) << "no copy is needed";
  EXPECT_EQ(plan.changes[0].replicas, (std::vector<node_id>{2, 1}));
  EXPECT_EQ(plan.preferred_changed, 1);
  EXPECT_EQ(plan.replicas_moved, 0);
}

TEST(PlanRebalance, LeavesAloneWhatCannotMoveSafely) {
  auto view = nodes({1, 2, 4});  // 3 is down
  auto offline = part(2, {1, 2});
  offline.leader = no_leader;
  view.partitions = {part(0, {1, 2, 3}), part(1, {1, 2}, {2, 4}), offline, part(3, {1, 2})};
  auto plan = plan_rebalance(view);
  EXPECT_EQ(plan.skipped, 3);
  for (const auto& c : plan.changes) EXPECT_EQ(c.partition, 3);
}

TEST(PlanRebalance, IsDeterministic) {
  auto view = nodes({1, 2, 3, 4, 5});
  for (int32_t i = 0; i < 20; ++i) view.partitions.push_back(part(i, {1 + i % 2, 3}));
  auto a = plan_rebalance(view);
  auto b = plan_rebalance(view);
  ASSERT_EQ(a.changes.size(), b.changes.size());
  for (size_t i = 0; i < a.changes.size(); ++i) EXPECT_EQ(a.changes[i].replicas, b.changes[i].replicas);
  EXPECT_LE(spread(load_after(view, a).replicas), 1);
}

TEST(PlanMoveCompletions, WaitsForEveryTargetReplicaInTheIsr) {
  auto view = nodes({1, 2, 3, 4});
  auto p = part(0, {1, 4, 2}, {1, 4});
  p.isr = {1, 2};
  view.partitions = {p};
  EXPECT_TRUE(plan_move_completions(view).empty());
  view.partitions[0].isr = {1, 2, 4};
  auto done = plan_move_completions(view);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].replicas, (std::vector<node_id>{1, 4}));
  EXPECT_EQ(done[0].isr, (std::vector<node_id>{1, 4}));
  EXPECT_FALSE(done[0].moving());
  EXPECT_EQ(done[0].leader, 1);
  EXPECT_EQ(done[0].leader_epoch, 5) << "the leader stays: no new epoch";
}

TEST(PlanMoveCompletions, LeaderLeavingHandsOverToTheTarget) {
  auto view = nodes({1, 2, 3, 4});
  auto p = part(0, {2, 4, 1}, {2, 4});
  p.leader = 1;
  p.isr = {1, 2, 4};
  view.partitions = {p};
  auto done = plan_move_completions(view);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].leader, 2);
  EXPECT_EQ(done[0].leader_epoch, 6);
  EXPECT_EQ(done[0].isr, (std::vector<node_id>{2, 4}));
}

TEST(PlanMoveCompletions, NeverLeavesAPartitionWithoutALeader) {
  auto view = nodes({1});  // 2 and 4 died after joining the isr
  auto p = part(0, {2, 4, 1}, {2, 4});
  p.leader = 1;
  p.isr = {1, 2, 4};
  view.partitions = {p};
  EXPECT_TRUE(plan_move_completions(view).empty());
}

TEST(StateCodec, TargetReplicasOnlyWhileMoving) {
  auto p = part(0, {1, 4, 2}, {1, 4});
  auto text = encode_partition(p);
  EXPECT_NE(text.find("target_replicas"), std::string::npos);
  auto back = decode_partition("t", 0, text);
  ASSERT_TRUE(back.ok()) << back.err().message;
  EXPECT_EQ(back->target_replicas, (std::vector<node_id>{1, 4}));
  auto still = part(1, {1, 2});
  EXPECT_EQ(encode_partition(still).find("target_replicas"), std::string::npos) << "records of version 1 as before";
  EXPECT_FALSE(decode_partition("t", 1, encode_partition(still))->moving());
  auto bad = decode_partition("t", 0, R"({"version":1,"replicas":[1],"leader":1,"leader_epoch":0,"isr":[1],)"
                                      R"("target_replicas":[-3]})");
  EXPECT_EQ(bad.code(), errc::corrupt);
}

TEST(StateCodec, Throttle) {
  auto back = decode_throttle(encode_throttle({52428800, 0}));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->bytes_per_second, 52428800);
  EXPECT_EQ(decode_throttle(R"({"version":1,"bytes_per_second":-1})").code(), errc::corrupt);
  EXPECT_EQ(decode_throttle(R"({"version":2,"bytes_per_second":1})").code(), errc::corrupt);
}

}  // namespace
}  // namespace strata::cluster
