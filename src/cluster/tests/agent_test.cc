#include "cluster/agent.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <thread>

#include "cluster/controller.h"
#include "cluster/memory_coordinator.h"

namespace strata::cluster {
namespace {

constexpr int64_t ttl_ms = 1000;
// Less than half the TTL: a lease renewed once per step never expires.
constexpr int64_t clock_step_ms = 300;

agent_config config_for(node_id id) {
  agent_config c;
  c.self = node_info{id, "127.0.0.1", 9000 + id, 8000 + id, 0, {}};
  c.session_ttl_ms = ttl_ms;
  c.poll_interval_ms = 10;
  c.preferred_leader_check_ms = 3'600'000;
  return c;
}

template <class Pred>
bool eventually(Pred pred, int64_t timeout_ms = 10'000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

// Runs one queued job and waits for its answer.
template <class Submit>
status wait_for(Submit submit) {
  auto answer = std::make_shared<std::promise<status>>();
  auto got = answer->get_future();
  submit([answer](status s) { answer->set_value(std::move(s)); });
  return got.get();
}

const partition_state* find(const cluster_view& v, const std::string& topic, int32_t index) {
  for (const auto& p : v.partitions) {
    if (p.topic == topic && p.partition == index) return &p;
  }
  return nullptr;
}
const partition_state* find(cluster_view&& v, const std::string& topic, int32_t index) = delete;  // would dangle

// A copy of a partition's state in the agent's current view.
std::optional<partition_state> state_of(const agent& a, const std::string& topic, int32_t index) {
  cluster_view v = a.view();
  const partition_state* p = find(v, topic, index);
  return p ? std::optional<partition_state>(*p) : std::nullopt;
}

topic_state topic_named(const std::string& name, int32_t partitions, int32_t replication_factor) {
  topic_state t;
  t.name = name;
  t.id_hex = std::string(32, '0');
  t.partitions = partitions;
  t.replication_factor = replication_factor;
  return t;
}

class AgentTest : public ::testing::Test {
 protected:
  agent& add(agent_config config) {
    agents_.push_back(std::make_unique<agent>(*coord_, std::move(config), nullptr));
    return *agents_.back();
  }
  agent& start(node_id id) {
    agent& a = add(config_for(id));
    status s = a.start();
    EXPECT_TRUE(s.ok()) << s.err().message;
    return a;
  }

  // Moves the coordinator clock a step at a time, each step after every live
  // agent renewed its lease, until `done` holds: only stopped agents' leases
  // expire.
  template <class Pred>
  bool advance_until(const std::vector<agent*>& live, Pred done, int max_steps = 20) {
    for (int step = 0; step < max_steps; ++step) {
      if (done()) return true;
      std::vector<uint64_t> renewals;
      for (agent* a : live) renewals.push_back(a->stats().lease_renewals);
      coord_->advance_ms(clock_step_ms);
      for (size_t i = 0; i < live.size(); ++i) {
        if (!eventually([&] { return live[i]->stats().lease_renewals > renewals[i]; })) return false;
      }
    }
    return eventually(done, 1000);
  }

  status create(agent& a, const std::string& name, std::vector<std::vector<node_id>> assignment) {
    topic_state t =
        topic_named(name, static_cast<int32_t>(assignment.size()), static_cast<int32_t>(assignment[0].size()));
    return wait_for([&](auto done) { a.create_topic(t, assignment, done); });
  }

  std::unique_ptr<memory_coordinator> coord_ = make_memory_coordinator();
  std::vector<std::unique_ptr<agent>> agents_;  // destroyed before coord_
};

TEST_F(AgentTest, StartRegistersAndDeliversTheFirstView) {
  int views = 0;
  agents_.push_back(std::make_unique<agent>(*coord_, config_for(1), [&](const cluster_view&) { ++views; }));
  ASSERT_TRUE(agents_[0]->start().ok());
  EXPECT_EQ(views, 1) << "the first view arrives before start returns";
  cluster_view v = agents_[0]->view();
  ASSERT_EQ(v.nodes.size(), 1u);
  EXPECT_EQ(v.nodes[0].id, 1);
  EXPECT_EQ(v.nodes[0].kafka_port, 9001);
  EXPECT_EQ(v.controller, 1);
  EXPECT_TRUE(agents_[0]->is_controller());
  EXPECT_EQ(agents_[0]->stats().controller_changes, 1u);
  agents_[0]->stop();
  EXPECT_EQ(views, 1) << "nothing changed, so nothing more was delivered";
}

TEST_F(AgentTest, OneControllerAmongThree) {
  agent& a1 = start(1);
  agent& a2 = start(2);
  agent& a3 = start(3);
  for (agent* a : {&a1, &a2, &a3}) {
    ASSERT_TRUE(eventually([&] { return a->view().nodes.size() == 3; }));
    EXPECT_EQ(a->view().controller, 1);
  }
  EXPECT_TRUE(a1.is_controller());
  EXPECT_FALSE(a2.is_controller());
  EXPECT_FALSE(a3.is_controller());
}

TEST_F(AgentTest, NodeIdInUseIsRefused) {
  start(1);
  agent& twin = add(config_for(1));
  status s = twin.start();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), errc::already_exists);
  EXPECT_NE(s.err().message.find("node id 1 is in use by another live node"), std::string::npos) << s.err().message;
}

TEST_F(AgentTest, CreatedTopicIsSeenEverywhere) {
  agent& a1 = start(1);
  agent& a2 = start(2);
  auto assignment = assign_replicas({1, 2}, 0, 2, 2, 0);
  ASSERT_TRUE(assignment.ok());
  status created = create(a2, "orders", *assignment);
  ASSERT_TRUE(created.ok()) << created.err().message;
  for (agent* a : {&a1, &a2}) {
    ASSERT_TRUE(eventually([&] { return a->view().partitions.size() == 2; }));
    cluster_view v = a->view();
    ASSERT_EQ(v.topics.size(), 1u);
    EXPECT_EQ(v.topics[0].name, "orders");
    EXPECT_EQ(v.topics[0].partitions, 2);
    EXPECT_GT(v.topics[0].revision, 0);
    for (int32_t i = 0; i < 2; ++i) {
      const partition_state* p = find(v, "orders", i);
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(p->replicas, (*assignment)[i]);
      EXPECT_EQ(p->leader, (*assignment)[i][0]);
      EXPECT_EQ(p->leader_epoch, 0);
      EXPECT_EQ(p->isr, (*assignment)[i]);
    }
  }
  status again = create(a1, "orders", {{1}});
  EXPECT_EQ(again.code(), errc::already_exists);
  EXPECT_EQ(create(a1, "empty", {{}}).code(), errc::invalid_argument);
}

TEST_F(AgentTest, DeadLeaderIsReplacedFromTheIsr) {
  agent& a1 = start(1);
  agent& a2 = start(2);
  agent& a3 = start(3);
  ASSERT_TRUE(create(a1, "t", {{2, 3, 1}}).ok());
  ASSERT_TRUE(eventually([&] { return state_of(a1, "t", 0).has_value(); }));

  a2.stop_without_revoke();
  ASSERT_TRUE(advance_until({&a1, &a3}, [&] {
    auto p = state_of(a3, "t", 0);
    return p && p->leader != 2;
  }));
  cluster_view v = a3.view();
  EXPECT_FALSE(v.alive(2));
  const partition_state* p = find(v, "t", 0);
  EXPECT_EQ(p->leader, 3);
  EXPECT_EQ(p->leader_epoch, 1);
  EXPECT_EQ(p->isr, (std::vector<node_id>{3, 1}));
  EXPECT_EQ(a1.stats().leader_elections, 1u);
  EXPECT_EQ(a3.stats().leader_elections, 0u);
}

TEST_F(AgentTest, ControllerDeathMovesTheControllerAndItsPartitions) {
  agent& a1 = start(1);
  agent& a2 = start(2);
  agent& a3 = start(3);
  ASSERT_TRUE(create(a2, "t", {{1, 2}, {1, 3}, {2, 3}}).ok());
  ASSERT_TRUE(eventually([&] { return a3.view().partitions.size() == 3; }));

  a1.stop_without_revoke();
  ASSERT_TRUE(advance_until({&a2, &a3}, [&] {
    cluster_view v = a3.view();
    const partition_state* p0 = find(v, "t", 0);
    const partition_state* p1 = find(v, "t", 1);
    return v.controller != no_leader && v.controller != 1 && p0 && p0->leader != 1 && p1 && p1->leader != 1;
  }));
  cluster_view v = a3.view();
  EXPECT_EQ(a2.is_controller() + a3.is_controller(), 1);
  EXPECT_EQ(find(v, "t", 0)->leader, 2);
  EXPECT_EQ(find(v, "t", 0)->isr, (std::vector<node_id>{2}));
  EXPECT_EQ(find(v, "t", 1)->leader, 3);
  EXPECT_EQ(find(v, "t", 1)->leader_epoch, 1);
  EXPECT_EQ(find(v, "t", 2)->leader, 2) << "untouched";
  EXPECT_EQ(find(v, "t", 2)->leader_epoch, 0);
  agent& controller = a2.is_controller() ? a2 : a3;
  EXPECT_EQ(controller.stats().controller_changes, 1u);
  EXPECT_EQ(controller.stats().leader_elections, 2u);
}

TEST_F(AgentTest, OnlyIsrMemberDeadLeavesThePartitionOffline) {
  agent& a1 = start(1);
  agent& a2 = start(2);
  ASSERT_TRUE(create(a1, "t", {{2, 1}}).ok());
  ASSERT_TRUE(eventually([&] { return state_of(a1, "t", 0).has_value(); }));
  partition_state shrunk = *state_of(a1, "t", 0);
  shrunk.isr = {2};
  ASSERT_TRUE(wait_for([&](auto done) { a2.change_partition(shrunk, done); }).ok());

  a2.stop_without_revoke();
  ASSERT_TRUE(advance_until({&a1}, [&] {
    auto p = state_of(a1, "t", 0);
    return p && p->leader == no_leader;
  }));
  auto p = state_of(a1, "t", 0);
  EXPECT_EQ(p->isr, (std::vector<node_id>{2})) << "node 1 is not in the isr, so it never leads";
  EXPECT_EQ(p->leader_epoch, 1);
  EXPECT_EQ(a1.stats().leader_elections, 0u);
}

TEST_F(AgentTest, HandOffMovesLeadershipAndStopRemovesTheNodeAtOnce) {
  agent& a1 = start(1);
  agent& a2 = start(2);
  agent& a3 = start(3);
  ASSERT_TRUE(create(a1, "t", {{1, 2, 3}, {1, 3, 2}, {2, 1, 3}, {3, 2}}).ok());
  ASSERT_TRUE(eventually([&] { return a1.view().partitions.size() == 4; }));

  auto moved = a1.hand_off_leadership(5000);
  ASSERT_TRUE(moved.ok()) << moved.err().message;
  EXPECT_EQ(*moved, 2);
  ASSERT_TRUE(eventually([&] {
    auto p = state_of(a2, "t", 1);
    return p && p->leader != 1;
  }));
  cluster_view v = a2.view();
  EXPECT_EQ(find(v, "t", 0)->leader, 2);
  EXPECT_EQ(find(v, "t", 0)->leader_epoch, 1);
  EXPECT_EQ(find(v, "t", 0)->isr, (std::vector<node_id>{2, 3}));
  EXPECT_EQ(find(v, "t", 1)->leader, 3);
  EXPECT_EQ(find(v, "t", 1)->isr, (std::vector<node_id>{3, 2}));
  EXPECT_EQ(find(v, "t", 2)->leader, 2);
  EXPECT_EQ(find(v, "t", 2)->leader_epoch, 0);

  a1.stop();  // revokes: no clock needs to move
  ASSERT_TRUE(eventually(
      [&] { return !a2.view().alive(1) && a2.view().controller != 1 && a2.view().controller != no_leader; }));
  EXPECT_TRUE(a2.is_controller() || a3.is_controller());
  ASSERT_TRUE(eventually([&] {
    return state_of(a3, "t", 2)->isr == std::vector<node_id>{2, 3};
  })) << "the new controller drops the stopped node from the isr";
}

TEST_F(AgentTest, HandOffWithNoSuccessorMovesNothing) {
  agent& a1 = start(1);
  ASSERT_TRUE(create(a1, "t", {{1}}).ok());
  auto moved = a1.hand_off_leadership(100);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 0);
}

TEST_F(AgentTest, ChangePartitionComparesTheRevision) {
  agent& a1 = start(1);
  agent& a2 = start(2);
  ASSERT_TRUE(create(a1, "t", {{1, 2}}).ok());
  ASSERT_TRUE(eventually([&] { return state_of(a1, "t", 0).has_value(); }));
  partition_state seen = *state_of(a1, "t", 0);

  partition_state shrink = seen;
  shrink.isr = {1};
  ASSERT_TRUE(wait_for([&](auto done) { a1.change_partition(shrink, done); }).ok());

  partition_state stale = seen;
  stale.isr = {2};
  status s = wait_for([&](auto done) { a2.change_partition(stale, done); });
  EXPECT_EQ(s.code(), errc::unavailable);
  EXPECT_NE(s.err().message.find("partition state changed; retry"), std::string::npos);

  partition_state unread = seen;
  unread.revision = 0;
  EXPECT_EQ(wait_for([&](auto done) { a2.change_partition(unread, done); }).code(), errc::invalid_argument);

  ASSERT_TRUE(eventually([&] {
    auto now = state_of(a2, "t", 0);
    return now && now->revision > seen.revision;
  }));
  auto final_state = state_of(a2, "t", 0);
  ASSERT_TRUE(final_state.has_value());
  EXPECT_EQ(final_state->isr, (std::vector<node_id>{1}));
}

TEST_F(AgentTest, AddPartitionsAndDeleteTopic) {
  agent& a1 = start(1);
  ASSERT_TRUE(create(a1, "t", {{1}}).ok());
  ASSERT_TRUE(create(a1, "t2", {{1}}).ok());
  EXPECT_EQ(wait_for([&](auto done) { a1.add_partitions("t", 1, {}, done); }).code(), errc::invalid_argument);
  EXPECT_EQ(wait_for([&](auto done) { a1.add_partitions("t", 3, {{1}}, done); }).code(), errc::invalid_argument);
  EXPECT_EQ(wait_for([&](auto done) { a1.add_partitions("nope", 3, {{1}, {1}}, done); }).code(), errc::not_found);
  ASSERT_TRUE(wait_for([&](auto done) { a1.add_partitions("t", 3, {{1}, {1}}, done); }).ok());
  ASSERT_TRUE(eventually([&] { return a1.view().partitions.size() == 4; }));
  EXPECT_EQ(a1.view().topics[0].partitions, 3);
  EXPECT_EQ(state_of(a1, "t", 2)->leader, 1);

  ASSERT_TRUE(wait_for([&](auto done) { a1.delete_topic("t", done); }).ok());
  ASSERT_TRUE(eventually([&] { return a1.view().partitions.size() == 1; }));
  ASSERT_EQ(a1.view().topics.size(), 1u);
  EXPECT_EQ(a1.view().topics[0].name, "t2") << "a topic whose name extends another's is kept";
  EXPECT_EQ(wait_for([&](auto done) { a1.delete_topic("t", done); }).code(), errc::not_found);
}

TEST_F(AgentTest, AlterTopicConfigsReplacesThemEverywhere) {
  agent& a1 = start(1);
  agent& a2 = start(2);
  ASSERT_TRUE(create(a1, "t", {{1, 2}}).ok());
  using configs = std::map<std::string, std::string>;
  EXPECT_EQ(wait_for([&](auto done) { a1.alter_topic_configs("nope", configs{{"retention.ms", "5"}}, done); }).code(),
            errc::not_found);
  ASSERT_TRUE(wait_for([&](auto done) { a1.alter_topic_configs("t", configs{{"retention.ms", "5"}}, done); }).ok());
  ASSERT_TRUE(eventually([&] {
    auto v = a2.view();
    return v.topics.size() == 1 && v.topics[0].configs == configs{{"retention.ms", "5"}};
  }));
  EXPECT_EQ(a2.view().topics[0].partitions, 1);
  EXPECT_EQ(state_of(a2, "t", 0)->replicas, (std::vector<node_id>{1, 2})) << "partitions untouched";
}

TEST_F(AgentTest, ControllerMovesLeadersBackToTheirPreferredReplica) {
  agent_config c1 = config_for(1);
  c1.preferred_leader_check_ms = 20;
  agent& a1 = add(c1);
  ASSERT_TRUE(a1.start().ok());
  agent& a2 = start(2);
  ASSERT_TRUE(create(a1, "t", {{1, 2}}).ok());
  ASSERT_TRUE(eventually([&] { return state_of(a2, "t", 0).has_value(); }));
  partition_state moved = *state_of(a2, "t", 0);
  moved.leader = 2;
  moved.leader_epoch = 1;
  ASSERT_TRUE(wait_for([&](auto done) { a2.change_partition(moved, done); }).ok());
  ASSERT_TRUE(eventually([&] {
    auto p = state_of(a2, "t", 0);
    return p->leader == 1 && p->leader_epoch == 2;
  }));
}

TEST_F(AgentTest, UndecodableRecordsAreSkipped) {
  ASSERT_TRUE(
      coord_
          ->commit({}, {txn_op::put("/strata/topics/bad", "{not json"), txn_op::put("/strata/partitions/bad/x", "{}"),
                        txn_op::put("/strata/nodes/9", R"({"version":7})"), txn_op::put("/strata/something-new", "?")})
          .ok());
  agent& a1 = start(1);
  ASSERT_TRUE(create(a1, "good", {{1}}).ok());
  ASSERT_TRUE(eventually([&] { return a1.view().partitions.size() == 1; }));
  cluster_view v = a1.view();
  ASSERT_EQ(v.topics.size(), 1u);
  EXPECT_EQ(v.topics[0].name, "good");
  ASSERT_EQ(v.nodes.size(), 1u);
}

TEST_F(AgentTest, LostLeaseIsReplacedAndTheNodeRegistersAgain) {
  agent& a1 = start(1);
  coord_->advance_ms(10 * ttl_ms);  // as if the node had stalled: its lease and keys are gone
  ASSERT_TRUE(eventually([&] {
    cluster_view v = a1.view();
    return v.alive(1) && v.controller == 1 && a1.stats().controller_changes == 2;
  }));
}

TEST_F(AgentTest, JobsWhenNotRunningFailAtOnce) {
  agent& a1 = add(config_for(1));
  status s = wait_for([&](auto done) { a1.delete_topic("t", done); });
  EXPECT_EQ(s.code(), errc::unavailable);
  ASSERT_TRUE(a1.start().ok());
  a1.stop();
  EXPECT_EQ(wait_for([&](auto done) { a1.delete_topic("t", done); }).code(), errc::unavailable);
  auto left = coord_->range("/strata/nodes/");
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->entries.empty()) << "stop revoked the lease";
}

}  // namespace
}  // namespace strata::cluster

namespace strata::cluster {
namespace {

TEST_F(AgentTest, RebalanceStartsMovesAndTheControllerFinishesThem) {
  agent& a1 = start(1);
  agent& a2 = start(2);
  ASSERT_TRUE(create(a1, "t", {{1, 2}, {2, 1}}).ok());
  agent& a3 = start(3);
  ASSERT_TRUE(eventually([&] { return a2.view().nodes.size() == 3; }));

  auto dry = std::make_shared<std::promise<result<rebalance_plan>>>();
  a2.rebalance({0, /*dry_run=*/true}, [dry](result<rebalance_plan> r) { dry->set_value(std::move(r)); });
  auto dry_plan = dry->get_future().get();
  ASSERT_TRUE(dry_plan.ok()) << dry_plan.err().message;
  EXPECT_EQ(dry_plan->replicas_moved, 1);
  EXPECT_FALSE(state_of(a1, "t", 0)->moving()) << "a dry run writes nothing";

  auto started = std::make_shared<std::promise<result<rebalance_plan>>>();
  a2.rebalance({1 << 20, false}, [started](result<rebalance_plan> r) { started->set_value(std::move(r)); });
  auto plan = started->get_future().get();
  ASSERT_TRUE(plan.ok()) << plan.err().message;
  ASSERT_EQ(plan->changes.size(), 1u);
  const partition_state& move = plan->changes[0];
  ASSERT_TRUE(move.moving());
  EXPECT_TRUE(eventually([&] { return a3.view().throttle.bytes_per_second == (1 << 20); }));

  // The new replica catches up: its leader proposes it into the isr.
  ASSERT_TRUE(eventually([&] {
    auto now = state_of(a1, move.topic, move.partition);
    return now && now->moving();
  }));
  partition_state caught_up = *state_of(a1, move.topic, move.partition);
  caught_up.isr.push_back(3);
  ASSERT_TRUE(wait_for([&](auto done) { a1.change_partition(caught_up, done); }).ok());

  ASSERT_TRUE(eventually([&] {
    auto now = state_of(a3, move.topic, move.partition);
    return now && !now->moving() && now->replicas == move.target_replicas;
  }));
  auto done_state = *state_of(a3, move.topic, move.partition);
  for (node_id id : done_state.isr) EXPECT_NE(std::find(move.target_replicas.begin(), move.target_replicas.end(), id),
                                              move.target_replicas.end());
  EXPECT_TRUE(eventually([&] { return a3.view().throttle.revision == 0; })) << "the throttle goes with the last move";
}

TEST_F(AgentTest, RebalanceRefusesANegativeThrottle) {
  agent& a1 = start(1);
  auto answer = std::make_shared<std::promise<result<rebalance_plan>>>();
  a1.rebalance({-1, false}, [answer](result<rebalance_plan> r) { answer->set_value(std::move(r)); });
  EXPECT_EQ(answer->get_future().get().code(), errc::invalid_argument);
}

}  // namespace
}  // namespace strata::cluster
