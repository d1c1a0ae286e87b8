#include "cluster/controller.h"
#include "cluster/tests/views.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace strata::cluster {
namespace {

using testing::view_with_nodes;

partition_state partition(std::vector<node_id> replicas, node_id leader, std::vector<node_id> isr, int32_t epoch = 3) {
  partition_state p;
  p.topic = "t";
  p.partition = 0;
  p.replicas = std::move(replicas);
  p.leader = leader;
  p.leader_epoch = epoch;
  p.isr = std::move(isr);
  p.revision = 42;
  return p;
}

std::vector<partition_state> plan(std::vector<node_id> alive, partition_state p, bool move_to_preferred = false) {
  cluster_view view = view_with_nodes(std::move(alive));
  view.partitions.push_back(std::move(p));
  return plan_leadership(view, move_to_preferred);
}

TEST(PlanLeadership, NothingChangesWhenEveryoneLives) {
  EXPECT_TRUE(plan({1, 2, 3}, partition({1, 2, 3}, 1, {1, 2, 3})).empty());
  EXPECT_TRUE(plan({1, 2, 3}, partition({1, 2, 3}, 2, {1, 2, 3})).empty()) << "no preferred move unless asked";
}

TEST(PlanLeadership, DeadLeaderIsReplacedByTheFirstAliveIsrReplica) {
  auto changes = plan({2, 3}, partition({1, 3, 2}, 1, {1, 2, 3}));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].leader, 3) << "replicas order, not isr order";
  EXPECT_EQ(changes[0].leader_epoch, 4);
  EXPECT_EQ(changes[0].isr, (std::vector<node_id>{2, 3}));
  EXPECT_EQ(changes[0].revision, 42) << "the revision to compare is the current one";
  EXPECT_EQ(changes[0].replicas, (std::vector<node_id>{1, 3, 2}));
}

TEST(PlanLeadership, NoLeaderGetsOneWhenAnIsrMemberLives) {
  auto changes = plan({2}, partition({1, 2}, no_leader, {2}));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].leader, 2);
  EXPECT_EQ(changes[0].leader_epoch, 4);
  EXPECT_EQ(changes[0].isr, (std::vector<node_id>{2}));
}

TEST(PlanLeadership, ReplicaOutsideTheIsrIsNeverElected) {
  auto changes = plan({2, 3}, partition({1, 2, 3}, 1, {1}));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].leader, no_leader);
  EXPECT_EQ(changes[0].leader_epoch, 4);
  EXPECT_EQ(changes[0].isr, (std::vector<node_id>{1})) << "the isr keeps its last member";
}

TEST(PlanLeadership, OfflinePartitionStaysUnchanged) {
  EXPECT_TRUE(plan({3}, partition({1, 2, 3}, no_leader, {1, 2})).empty());
}

TEST(PlanLeadership, OfflinePartitionRecoversWhenIsrMemberReturns) {
  auto changes = plan({1, 3}, partition({1, 2, 3}, no_leader, {1}));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].leader, 1);
  EXPECT_EQ(changes[0].isr, (std::vector<node_id>{1}));
}

TEST(PlanLeadership, DeadFollowersLeaveTheIsr) {
  auto changes = plan({1, 2}, partition({1, 2, 3}, 1, {1, 2, 3}));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].leader, 1);
  EXPECT_EQ(changes[0].leader_epoch, 3);
  EXPECT_EQ(changes[0].isr, (std::vector<node_id>{1, 2}));
}

TEST(PlanLeadership, MovesToPreferredOnlyWhenAskedAndEligible) {
  auto changes = plan({1, 2, 3}, partition({1, 2, 3}, 2, {2, 1, 3}), true);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].leader, 1);
  EXPECT_EQ(changes[0].leader_epoch, 4);
  EXPECT_EQ(changes[0].isr, (std::vector<node_id>{2, 1, 3}));

  EXPECT_TRUE(plan({1, 2, 3}, partition({1, 2, 3}, 2, {2, 3}), true).empty()) << "preferred not in the isr";
  EXPECT_TRUE(plan({2, 3}, partition({1, 2, 3}, 2, {2, 3}), true).empty()) << "preferred dead (isr already shrunk)";
}

TEST(PlanLeadership, PreferredMoveAndIsrShrinkTogether) {
  auto changes = plan({1, 2}, partition({1, 2, 3}, 2, {1, 2, 3}), true);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].leader, 1);
  EXPECT_EQ(changes[0].leader_epoch, 4);
  EXPECT_EQ(changes[0].isr, (std::vector<node_id>{1, 2}));
}

TEST(PlanLeadership, OnlyChangedPartitionsAreReturned) {
  cluster_view view = view_with_nodes({1, 2});
  for (int32_t i = 0; i < 4; ++i) {
    partition_state p = partition({1, 2}, i % 2 == 0 ? 1 : 3, {1, 2});
    p.partition = i;
    if (i % 2 == 1) p.replicas = {3, 2};
    if (i % 2 == 1) p.isr = {3, 2};
    view.partitions.push_back(p);
  }
  auto changes = plan_leadership(view, false);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].partition, 1);
  EXPECT_EQ(changes[1].partition, 3);
  for (const auto& c : changes) EXPECT_EQ(c.leader, 2);
}

TEST(LeaderHandoff, MovesToTheNextAliveIsrReplica) {
  cluster_view view = view_with_nodes({1, 2, 3});
  auto next = plan_leader_handoff(partition({1, 2, 3}, 1, {1, 3}), 1, view);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->leader, 3);
  EXPECT_EQ(next->leader_epoch, 4);
  EXPECT_EQ(next->isr, (std::vector<node_id>{3}));
  EXPECT_EQ(next->revision, 42);
}

TEST(LeaderHandoff, NothingWhenNotLeaderOrNoSuccessor) {
  cluster_view view = view_with_nodes({1, 2, 3});
  EXPECT_FALSE(plan_leader_handoff(partition({1, 2, 3}, 2, {1, 2, 3}), 1, view).has_value());
  EXPECT_FALSE(plan_leader_handoff(partition({1, 2, 3}, 1, {1}), 1, view).has_value());
  EXPECT_FALSE(plan_leader_handoff(partition({1, 2, 3}, 1, {1, 2}), 1, view_with_nodes({1, 3})).has_value())
      << "the only other isr member is dead";
}

TEST(AssignReplicas, EveryPartitionGetsDistinctReplicasAndLeadersSpread) {
  std::vector<node_id> nodes{5, 1, 3, 2, 4};
  auto a = assign_replicas(nodes, 0, 10, 3, 7);
  ASSERT_TRUE(a.ok()) << a.err().message;
  ASSERT_EQ(a->size(), 10u);
  std::map<node_id, int> leaders;
  std::map<node_id, int> replicas;
  for (const auto& r : *a) {
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(std::set<node_id>(r.begin(), r.end()).size(), 3u) << "a node holds a partition at most once";
    ++leaders[r[0]];
    for (node_id id : r) ++replicas[id];
  }
  EXPECT_EQ(leaders.size(), 5u);
  for (const auto& [id, count] : leaders) EXPECT_EQ(count, 2) << "node " << id;
  for (const auto& [id, count] : replicas) EXPECT_EQ(count, 6) << "node " << id;
}

TEST(AssignReplicas, FollowersShiftEveryRound) {
  auto a = assign_replicas({1, 2, 3, 4}, 0, 8, 2, 0);
  ASSERT_TRUE(a.ok());
  // The first round puts each leader's follower at one offset, the next round at another.
  std::set<std::pair<node_id, node_id>> pairs;
  for (const auto& r : *a) pairs.insert({r[0], r[1]});
  EXPECT_EQ(pairs.size(), 8u);
}

TEST(AssignReplicas, SameInputsSameAnswerAndSeedMoves) {
  auto a = assign_replicas({1, 2, 3}, 0, 6, 2, 11);
  auto b = assign_replicas({3, 2, 1, 2}, 0, 6, 2, 11);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b) << "order and duplicates of the node list do not matter";
  auto c = assign_replicas({1, 2, 3}, 0, 6, 2, 12);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(*a, *c);
}

TEST(AssignReplicas, NewPartitionsContinueTheRoundRobin) {
  auto all = assign_replicas({1, 2, 3}, 0, 6, 2, 4);
  auto tail = assign_replicas({1, 2, 3}, 4, 2, 2, 4);
  ASSERT_TRUE(all.ok());
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ((*all)[4], (*tail)[0]);
  EXPECT_EQ((*all)[5], (*tail)[1]);
}

TEST(AssignReplicas, SingleNode) {
  auto a = assign_replicas({7}, 0, 3, 1, 99);
  ASSERT_TRUE(a.ok());
  for (const auto& r : *a) EXPECT_EQ(r, (std::vector<node_id>{7}));
}

TEST(AssignReplicas, RefusesImpossibleFactors) {
  auto too_many = assign_replicas({1, 2}, 0, 1, 3, 0);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.code(), errc::invalid_argument);
  EXPECT_EQ(too_many.err().message, "replication factor 3 needs at least 3 live nodes; 2 are alive");
  EXPECT_EQ(assign_replicas({1, 2}, 0, 1, 0, 0).code(), errc::invalid_argument);
  EXPECT_EQ(assign_replicas({}, 0, 1, 1, 0).code(), errc::invalid_argument);
  EXPECT_EQ(assign_replicas({1}, -1, 1, 1, 0).code(), errc::invalid_argument);
  auto none = assign_replicas({1}, 0, 0, 1, 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(ControllerRecord, RoundTripsAndChecksVersion) {
  auto id = decode_controller(encode_controller(4));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 4);
  EXPECT_EQ(decode_controller(R"({"id": 4})").code(), errc::corrupt);
  EXPECT_EQ(decode_controller(R"({"version": 2, "id": 4})").code(), errc::corrupt);
  EXPECT_EQ(decode_controller(R"({"version": 1, "id": "4"})").code(), errc::corrupt);
}

// The state codecs live in state.cc; their tests sit here with the controller's.
TEST(StateCodec, NodeReplicationPortIsOptional) {
  node_info n{3, "10.0.0.3", 9092, 8080, 9093, {}};
  auto n2 = decode_node(encode_node(n));
  ASSERT_TRUE(n2.ok()) << n2.err().message;
  EXPECT_EQ(n2->replication_port, 9093);
  auto old = decode_node(R"({"version":1,"id":4,"host":"h","kafka_port":1,"admin_port":2})");
  ASSERT_TRUE(old.ok()) << old.err().message;
  EXPECT_EQ(old->replication_port, 0);
  EXPECT_EQ(decode_node(R"({"version":1,"id":4,"host":"h","kafka_port":1,"admin_port":2,"replication_port":70000})").code(),
            errc::corrupt);
  EXPECT_EQ(decode_node(R"({"version":1,"id":4,"host":"h","kafka_port":1,"admin_port":2,"replication_port":"x"})").code(),
            errc::corrupt);
}

TEST(StateCodec, NodeListenerPortsAreOptional) {
  node_info n{3, "10.0.0.3", 9092, 8080, 0, {{"PLAINTEXT", 9092}, {"SASL_SSL", 9094}}};
  auto n2 = decode_node(encode_node(n));
  ASSERT_TRUE(n2.ok()) << n2.err().message;
  EXPECT_EQ(n2->listener_ports, n.listener_ports);
  auto old = decode_node(R"({"version":1,"id":4,"host":"h","kafka_port":1,"admin_port":2})");
  ASSERT_TRUE(old.ok()) << old.err().message;
  EXPECT_TRUE(old->listener_ports.empty());
  EXPECT_EQ(decode_node(R"({"version":1,"id":4,"host":"h","kafka_port":1,"admin_port":2,"listeners":[1]})").code(),
            errc::corrupt);
  EXPECT_EQ(decode_node(R"({"version":1,"id":4,"host":"h","kafka_port":1,"admin_port":2,"listeners":{"SSL":0}})").code(),
            errc::corrupt);
}

TEST(StateCodec, RoundTrips) {
  node_info n{3, "10.0.0.3", 9092, 8080, 0, {}};
  auto n2 = decode_node(encode_node(n));
  ASSERT_TRUE(n2.ok()) << n2.err().message;
  EXPECT_EQ(n2->id, 3);
  EXPECT_EQ(n2->host, "10.0.0.3");
  EXPECT_EQ(n2->kafka_port, 9092);
  EXPECT_EQ(n2->admin_port, 8080);

  topic_state t{"orders", std::string(32, 'a'), 6, 3, {{"retention.ms", "1000"}}, 17};
  auto t2 = decode_topic("orders", encode_topic(t));
  ASSERT_TRUE(t2.ok()) << t2.err().message;
  EXPECT_EQ(t2->name, "orders");
  EXPECT_EQ(t2->id_hex, t.id_hex);
  EXPECT_EQ(t2->partitions, 6);
  EXPECT_EQ(t2->replication_factor, 3);
  EXPECT_EQ(t2->configs, t.configs);
  EXPECT_EQ(t2->revision, 0) << "the revision comes from the key, not the value";

  partition_state p = partition({1, 2, 3}, 2, {2, 3}, 9);
  auto p2 = decode_partition("t", 5, encode_partition(p));
  ASSERT_TRUE(p2.ok()) << p2.err().message;
  EXPECT_EQ(p2->topic, "t");
  EXPECT_EQ(p2->partition, 5);
  EXPECT_EQ(p2->replicas, p.replicas);
  EXPECT_EQ(p2->leader, 2);
  EXPECT_EQ(p2->leader_epoch, 9);
  EXPECT_EQ(p2->isr, p.isr);

  p.leader = no_leader;
  auto p3 = decode_partition("t", 5, encode_partition(p));
  ASSERT_TRUE(p3.ok());
  EXPECT_EQ(p3->leader, no_leader);
}

TEST(StateCodec, RefusesBadRecordsNamingTheKey) {
  auto not_json = decode_partition("t", 1, "{nope");
  ASSERT_EQ(not_json.code(), errc::corrupt);
  EXPECT_NE(not_json.err().message.find("/strata/partitions/t/1"), std::string::npos) << not_json.err().message;

  auto no_version = decode_topic("x", R"({"id":"ab","partitions":1,"replication_factor":1,"configs":{}})");
  ASSERT_EQ(no_version.code(), errc::corrupt);
  EXPECT_NE(no_version.err().message.find("/strata/topics/x"), std::string::npos);

  EXPECT_EQ(decode_topic("x", R"({"version":2,"id":"ab","partitions":1,"replication_factor":1,"configs":{}})").code(),
            errc::corrupt);
  EXPECT_EQ(decode_topic("x", R"({"version":1,"id":"ab","partitions":"1","replication_factor":1,"configs":{}})").code(),
            errc::corrupt);
  EXPECT_EQ(
      decode_topic("x", R"({"version":1,"id":"ab","partitions":1,"replication_factor":1,"configs":{"a":1}})").code(),
      errc::corrupt);
  EXPECT_EQ(
      decode_partition("t", 0, R"({"version":1,"replicas":[1,"2"],"leader":1,"leader_epoch":0,"isr":[1]})").code(),
      errc::corrupt);
  EXPECT_EQ(decode_partition("t", 0, R"({"version":1,"replicas":[1],"leader":1,"leader_epoch":0})").code(),
            errc::corrupt);
  EXPECT_EQ(
      decode_partition("t", 0, R"({"version":1,"replicas":[1],"leader":1,"leader_epoch":4294967296,"isr":[1]})").code(),
      errc::corrupt);
  EXPECT_EQ(decode_partition("t", 0, "[1,2]").code(), errc::corrupt);

  auto bad_node = decode_node(R"({"version":1,"id":4,"host":"h","kafka_port":99999,"admin_port":1})");
  ASSERT_EQ(bad_node.code(), errc::corrupt);
  EXPECT_NE(bad_node.err().message.find("/strata/nodes/4"), std::string::npos) << bad_node.err().message;
  auto unversioned_node = decode_node(R"({"id":4,"host":"h","kafka_port":1,"admin_port":1})");
  ASSERT_EQ(unversioned_node.code(), errc::corrupt);
  EXPECT_NE(unversioned_node.err().message.find("/strata/nodes/4"), std::string::npos)
      << unversioned_node.err().message;
  EXPECT_EQ(decode_node(R"({"version":1,"id":-3,"host":"h","kafka_port":1,"admin_port":1})").code(), errc::corrupt);
}

TEST(StateCodec, KeysAndFindNode) {
  EXPECT_EQ(node_key(7), "/strata/nodes/7");
  EXPECT_EQ(topic_key("a.b"), "/strata/topics/a.b");
  EXPECT_EQ(partition_key("a.b", 12), "/strata/partitions/a.b/12");
  cluster_view view = view_with_nodes({1, 4});
  ASSERT_NE(view.find_node(4), nullptr);
  EXPECT_EQ(view.find_node(4)->kafka_port, 9096);
  EXPECT_EQ(view.find_node(2), nullptr);
  EXPECT_FALSE(view.alive(no_leader));
}

}  // namespace
}  // namespace strata::cluster
