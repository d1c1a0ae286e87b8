// Rebalance and offset flows through the coordinator, on a manual clock.
#include "kafka/groups/coordinator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "meta/kv.h"

namespace strata::kafka::groups {
namespace {

constexpr int32_t session_ms = 10'000;
constexpr int32_t rebalance_ms = 30'000;

template <class T>
struct slot {
  std::shared_ptr<std::optional<T>> value = std::make_shared<std::optional<T>>();
  int calls = 0;
  bool done() const { return value->has_value(); }
  const T& get() const {
    STRATA_ASSERT(done(), "no response yet");
    return **value;
  }
};

using join_slot = slot<join_group_response>;
using sync_slot = slot<sync_group_response>;

std::vector<join_protocol> protocols(std::initializer_list<std::string> names) {
  std::vector<join_protocol> out;
  uint8_t tag = 1;
  for (const auto& n : names) out.push_back({n, {tag++, static_cast<uint8_t>(n.size())}});
  return out;
}

class Coordinator : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.initial_rebalance_delay_ms = 0;
    restart();
  }

  void restart() {
    coord_.reset();
    coord_ = std::make_unique<coordinator>(sched_, *kv_, cfg_);
    ASSERT_TRUE(coord_->load().ok());
  }

  join_slot join(const std::string& member_id, std::vector<join_protocol> protos = protocols({"range"}),
                 bool require_known = true, std::optional<std::string> instance = std::nullopt,
                 std::string group = "g", std::string protocol_type = "consumer") {
    join_group_request req;
    req.group_id = std::move(group);
    req.session_timeout_ms = session_ms;
    req.rebalance_timeout_ms = rebalance_ms;
    req.member_id = member_id;
    req.group_instance_id = std::move(instance);
    req.protocol_type = std::move(protocol_type);
    req.protocols = std::move(protos);
    join_slot s;
    auto value = s.value;
    auto calls = std::make_shared<int>(0);
    coord_->join(std::move(req), join_context{"client", "/127.0.0.1", require_known},
                 [value, calls](join_group_response r) {
                   ++*calls;
                   EXPECT_EQ(*calls, 1) << "a JoinGroup was answered twice";
                   *value = std::move(r);
                 });
    return s;
  }

  // The KIP-394 handshake: returns the id the coordinator assigns.
  std::string new_member_id(const std::string& group = "g") {
    auto first = join("", protocols({"range"}), true, std::nullopt, group);
    EXPECT_TRUE(first.done());
    EXPECT_EQ(first.get().error, error_code::member_id_required);
    EXPECT_FALSE(first.get().member_id.empty());
    return first.get().member_id;
  }

  sync_slot sync(const std::string& member_id, int32_t generation, std::vector<sync_assignment> assignments = {}) {
    sync_group_request req;
    req.group_id = "g";
    req.generation_id = generation;
    req.member_id = member_id;
    req.assignments = std::move(assignments);
    sync_slot s;
    auto value = s.value;
    coord_->sync(std::move(req), [value](sync_group_response r) { *value = std::move(r); });
    return s;
  }

  error_code heartbeat(const std::string& member_id, int32_t generation,
                       std::optional<std::string> instance = std::nullopt) {
    return coord_->heartbeat(heartbeat_request{"g", generation, member_id, std::move(instance)});
  }

  error_code leave(const std::string& member_id) {
    auto resp = coord_->leave(leave_group_request{"g", {{member_id, std::nullopt}}});
    EXPECT_EQ(resp.members.size(), 1u);
    return resp.members.empty() ? error_code::unknown_server_error : resp.members[0].error;
  }

  error_code commit(const std::string& member_id, int32_t generation, int64_t offset, int32_t partition = 0,
                    std::string group = "g") {
    offset_commit_request req;
    req.group_id = std::move(group);
    req.generation_id = generation;
    req.member_id = member_id;
    req.topics.push_back({"t", {{partition, offset, 3, -1, std::string("md")}}});
    auto resp = coord_->commit_offsets(req);
    EXPECT_EQ(resp.topics.size(), 1u);
    return resp.topics.at(0).partitions.at(0).error;
  }

  int64_t fetched(int32_t partition = 0, std::string group = "g") {
    offset_fetch_request req;
    req.group_id = std::move(group);
    req.topics = std::vector<offset_fetch_topic>{{"t", {partition}}};
    auto resp = coord_->fetch_offsets(req);
    return resp.topics.at(0).partitions.at(0).offset;
  }

  std::string state(const std::string& group = "g") {
    return coord_->describe_groups(describe_groups_request{{group}, false}).groups.at(0).group_state;
  }

  // Joins `n` members one by one and drives the group to Stable; returns ids
  // in join order and the final generation.
  std::pair<std::vector<std::string>, int32_t> stable_group(size_t n) {
    std::vector<std::string> ids;
    int32_t generation = 0;
    for (size_t i = 0; i < n; ++i) {
      std::vector<join_slot> rejoins;
      std::string id = new_member_id();
      auto mine = join(id);
      for (const auto& old : ids) EXPECT_EQ(heartbeat(old, generation), error_code::rebalance_in_progress);
      for (const auto& old : ids) rejoins.push_back(join(old));
      ids.push_back(id);
      EXPECT_TRUE(mine.done());
      generation = mine.get().generation_id;
      for (auto& r : rejoins) EXPECT_TRUE(r.done());
      std::vector<sync_assignment> assignments;
      for (const auto& each : ids) assignments.push_back({each, {static_cast<uint8_t>(assignments.size())}});
      std::vector<sync_slot> syncs;
      for (size_t k = 1; k < ids.size(); ++k) syncs.push_back(sync(ids[k], generation));
      auto leader_sync = sync(ids[0], generation, assignments);
      EXPECT_TRUE(leader_sync.done());
      for (auto& s : syncs) EXPECT_TRUE(s.done());
    }
    EXPECT_EQ(state(), "Stable");
    return {ids, generation};
  }

  coordinator_config cfg_;
  manual_scheduler sched_;
  std::unique_ptr<meta::kv> kv_ = meta::make_memory_kv();
  std::unique_ptr<coordinator> coord_;
};

TEST_F(Coordinator, SingleMemberJoinsSyncsAndHeartbeats) {
  std::string id = new_member_id();
  EXPECT_EQ(state(), "Empty");  // an outstanding KIP-394 id is not a member yet
  auto joined = join(id, protocols({"range", "roundrobin"}));
  ASSERT_TRUE(joined.done());
  const auto& r = joined.get();
  EXPECT_EQ(r.error, error_code::none);
  EXPECT_EQ(r.generation_id, 1);
  EXPECT_EQ(r.member_id, id);
  EXPECT_EQ(r.leader, id);
  EXPECT_EQ(r.protocol_type, "consumer");
  EXPECT_EQ(r.protocol_name, "range");
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].member_id, id);
  EXPECT_EQ(r.members[0].metadata, protocols({"range"})[0].metadata);
  EXPECT_EQ(state(), "CompletingRebalance");

  auto synced = sync(id, 1, {{id, {42}}});
  ASSERT_TRUE(synced.done());
  EXPECT_EQ(synced.get().error, error_code::none);
  EXPECT_EQ(synced.get().assignment, std::vector<uint8_t>{42});
  EXPECT_EQ(synced.get().protocol_name, "range");
  EXPECT_EQ(state(), "Stable");

  EXPECT_EQ(heartbeat(id, 1), error_code::none);
  EXPECT_EQ(heartbeat(id, 0), error_code::illegal_generation);
  EXPECT_EQ(heartbeat("stranger", 1), error_code::unknown_member_id);
  auto described = coord_->describe_groups({{"g"}, false}).groups.at(0);
  EXPECT_EQ(described.protocol_data, "range");
  ASSERT_EQ(described.members.size(), 1u);
  EXPECT_EQ(described.members[0].assignment, std::vector<uint8_t>{42});
  EXPECT_EQ(described.members[0].client_id, "client");
}

TEST_F(Coordinator, SecondMemberTriggersRebalanceAndFollowerWaitsForLeader) {
  auto [ids, gen] = stable_group(1);
  std::string a = ids[0];
  std::string b = new_member_id();
  auto b_join = join(b);
  EXPECT_FALSE(b_join.done());  // waits for the existing member to rejoin
  EXPECT_EQ(state(), "PreparingRebalance");
  EXPECT_EQ(heartbeat(a, gen), error_code::rebalance_in_progress);
  auto a_join = join(a);
  ASSERT_TRUE(a_join.done());
  ASSERT_TRUE(b_join.done());
  EXPECT_EQ(a_join.get().generation_id, gen + 1);
  EXPECT_EQ(b_join.get().generation_id, gen + 1);
  EXPECT_EQ(a_join.get().leader, a);
  EXPECT_EQ(b_join.get().leader, a);
  EXPECT_EQ(a_join.get().members.size(), 2u);
  EXPECT_TRUE(b_join.get().members.empty());  // only the leader sees the member list

  auto b_sync = sync(b, gen + 1);
  EXPECT_FALSE(b_sync.done());
  EXPECT_EQ(heartbeat(b, gen + 1), error_code::none);
  auto a_sync = sync(a, gen + 1, {{a, {1}}, {b, {2}}});
  ASSERT_TRUE(a_sync.done());
  ASSERT_TRUE(b_sync.done());
  EXPECT_EQ(a_sync.get().assignment, std::vector<uint8_t>{1});
  EXPECT_EQ(b_sync.get().assignment, std::vector<uint8_t>{2});
  EXPECT_EQ(state(), "Stable");
}

TEST_F(Coordinator, LeaveTriggersRebalanceAmongTheRest) {
  auto [ids, gen] = stable_group(3);
  EXPECT_EQ(gen, 3);
  EXPECT_EQ(leave(ids[2]), error_code::none);
  EXPECT_EQ(state(), "PreparingRebalance");
  EXPECT_EQ(heartbeat(ids[0], gen), error_code::rebalance_in_progress);
  auto a = join(ids[0]);
  EXPECT_FALSE(a.done());
  auto b = join(ids[1]);
  ASSERT_TRUE(a.done());
  ASSERT_TRUE(b.done());
  EXPECT_EQ(a.get().generation_id, gen + 1);
  EXPECT_EQ(a.get().members.size(), 2u);
  EXPECT_EQ(leave(ids[2]), error_code::unknown_member_id);
  EXPECT_EQ(heartbeat(ids[2], gen + 1), error_code::unknown_member_id);
}

TEST_F(Coordinator, LeaderLeavingHandsLeadershipOn) {
  auto [ids, gen] = stable_group(2);
  EXPECT_EQ(leave(ids[0]), error_code::none);
  auto b = join(ids[1]);
  ASSERT_TRUE(b.done());
  EXPECT_EQ(b.get().leader, ids[1]);
  EXPECT_EQ(b.get().members.size(), 1u);
}

TEST_F(Coordinator, LastMemberLeavingEmptiesTheGroup) {
  auto [ids, gen] = stable_group(1);
  EXPECT_EQ(leave(ids[0]), error_code::none);
  EXPECT_EQ(state(), "Dead");  // nothing left: no members, no offsets
  EXPECT_TRUE(coord_->list_groups({}).groups.empty());
}

TEST_F(Coordinator, SilentMemberExpiresAndTheGroupRebalances) {
  auto [ids, gen] = stable_group(2);
  // a keeps heartbeating, b goes silent.
  for (int i = 0; i < 3; ++i) {
    sched_.advance(session_ms / 3);
    EXPECT_EQ(heartbeat(ids[0], gen), error_code::none);
  }
  sched_.advance(1);
  EXPECT_EQ(state(), "PreparingRebalance");
  EXPECT_EQ(heartbeat(ids[1], gen), error_code::unknown_member_id);
  EXPECT_EQ(heartbeat(ids[0], gen), error_code::rebalance_in_progress);
  auto a = join(ids[0]);
  ASSERT_TRUE(a.done());
  EXPECT_EQ(a.get().generation_id, gen + 1);
  ASSERT_EQ(a.get().members.size(), 1u);
  EXPECT_EQ(a.get().members[0].member_id, ids[0]);
}

TEST_F(Coordinator, HeartbeatsKeepAMemberAlivePastItsSessionTimeout) {
  auto [ids, gen] = stable_group(1);
  for (int i = 0; i < 10; ++i) {
    sched_.advance(session_ms - 1);
    ASSERT_EQ(heartbeat(ids[0], gen), error_code::none) << "round " << i;
  }
  EXPECT_EQ(state(), "Stable");
}

TEST_F(Coordinator, MembersThatDoNotRejoinAreDroppedAtTheRebalanceTimeout) {
  auto [ids, gen] = stable_group(2);
  std::string c = new_member_id();
  auto c_join = join(c);
  auto a_join = join(ids[0]);
  EXPECT_FALSE(c_join.done());
  // b heartbeats (so its session never expires) but never rejoins.
  for (int i = 0; i < 5; ++i) {
    sched_.advance(5000);
    EXPECT_EQ(heartbeat(ids[1], gen), error_code::rebalance_in_progress);
  }
  sched_.advance(rebalance_ms - 25'000 - 1);
  EXPECT_FALSE(a_join.done());
  sched_.advance(1);
  ASSERT_TRUE(a_join.done());
  ASSERT_TRUE(c_join.done());
  EXPECT_EQ(a_join.get().generation_id, gen + 1);
  EXPECT_EQ(a_join.get().members.size(), 2u);
  EXPECT_EQ(heartbeat(ids[1], gen), error_code::unknown_member_id);
}

TEST_F(Coordinator, FollowersWaitingOnAVanishedLeaderAreToldToRejoin) {
  auto [ids, gen] = stable_group(2);
  auto c_id = new_member_id();
  auto c = join(c_id);
  auto a = join(ids[0]);
  auto b = join(ids[1]);
  ASSERT_TRUE(c.done());
  int32_t next = c.get().generation_id;
  auto b_sync = sync(ids[1], next);
  auto c_sync = sync(c_id, next);
  EXPECT_FALSE(b_sync.done());
  sched_.advance(session_ms);  // the leader never syncs and never heartbeats
  ASSERT_TRUE(b_sync.done());
  ASSERT_TRUE(c_sync.done());
  EXPECT_EQ(b_sync.get().error, error_code::rebalance_in_progress);
  EXPECT_EQ(heartbeat(ids[0], next), error_code::unknown_member_id);
  auto b2 = join(ids[1]);
  auto c2 = join(c_id);
  ASSERT_TRUE(b2.done());
  EXPECT_EQ(b2.get().leader, ids[1]);
  EXPECT_EQ(b2.get().generation_id, next + 1);
}

TEST_F(Coordinator, LeaderThatNeverSyncsIsDroppedAfterTheRebalanceTimeout) {
  auto [ids, gen] = stable_group(1);
  std::string b = new_member_id();
  auto b_join = join(b);
  auto a_join = join(ids[0]);
  ASSERT_TRUE(b_join.done());
  int32_t next = b_join.get().generation_id;
  auto b_sync = sync(b, next);
  // The leader keeps heartbeating but never sends the assignment.
  for (int i = 0; i < 5; ++i) {
    sched_.advance(5000);
    EXPECT_EQ(heartbeat(ids[0], next), error_code::none);
  }
  sched_.advance(rebalance_ms - 25'000 - 1);
  EXPECT_FALSE(b_sync.done());
  sched_.advance(1);
  ASSERT_TRUE(b_sync.done());
  EXPECT_EQ(b_sync.get().error, error_code::rebalance_in_progress);
  EXPECT_EQ(heartbeat(ids[0], next), error_code::unknown_member_id);
  auto b_again = join(b);
  ASSERT_TRUE(b_again.done());
  EXPECT_EQ(b_again.get().leader, b);
  EXPECT_EQ(b_again.get().generation_id, next + 1);
}

TEST_F(Coordinator, SyncChecksGenerationMemberAndState) {
  auto [ids, gen] = stable_group(1);
  auto stale = sync(ids[0], gen - 1);
  ASSERT_TRUE(stale.done());
  EXPECT_EQ(stale.get().error, error_code::illegal_generation);
  auto stranger = sync("nobody", gen);
  EXPECT_EQ(stranger.get().error, error_code::unknown_member_id);
  auto again = sync(ids[0], gen);  // Stable: the stored assignment again
  EXPECT_EQ(again.get().error, error_code::none);
  EXPECT_EQ(again.get().assignment, std::vector<uint8_t>{0});
  auto b = new_member_id();
  auto b_join = join(b);
  auto during = sync(ids[0], gen);
  EXPECT_EQ(during.get().error, error_code::rebalance_in_progress);
}

TEST_F(Coordinator, JoinWithoutMemberIdNeedsASecondJoinFromV4) {
  auto first = join("");
  ASSERT_TRUE(first.done());
  EXPECT_EQ(first.get().error, error_code::member_id_required);
  std::string id = first.get().member_id;
  EXPECT_TRUE(id.starts_with("client-")) << id;
  auto made_up = join("client-not-issued");
  EXPECT_EQ(made_up.get().error, error_code::unknown_member_id);
  auto second = join(id);
  ASSERT_TRUE(second.done());
  EXPECT_EQ(second.get().error, error_code::none);
  EXPECT_EQ(second.get().member_id, id);
}

TEST_F(Coordinator, IssuedMemberIdExpiresIfNeverUsed) {
  std::string id = new_member_id();
  sched_.advance(session_ms);
  auto late = join(id);
  ASSERT_TRUE(late.done());
  EXPECT_EQ(late.get().error, error_code::unknown_member_id);
}

TEST_F(Coordinator, PendingMemberIdHoldsTheRebalanceUntilItJoins) {
  auto [ids, gen] = stable_group(1);
  std::string b = new_member_id();  // handed out, not yet joined
  auto a = join(ids[0]);            // the leader rejoins: a rebalance starts
  EXPECT_FALSE(a.done());
  auto b_join = join(b);
  ASSERT_TRUE(a.done());
  ASSERT_TRUE(b_join.done());
  EXPECT_EQ(a.get().members.size(), 2u);
}

TEST_F(Coordinator, OldClientsJoinInOneStep) {
  auto joined = join("", protocols({"range"}), /*require_known=*/false);
  ASSERT_TRUE(joined.done());
  EXPECT_EQ(joined.get().error, error_code::none);
  EXPECT_FALSE(joined.get().member_id.empty());
  EXPECT_EQ(joined.get().generation_id, 1);
}

TEST_F(Coordinator, SelectsTheProtocolMostMembersPrefer) {
  std::string a = new_member_id();
  auto a1 = join(a, protocols({"range", "roundrobin"}));
  ASSERT_TRUE(a1.done());
  EXPECT_EQ(a1.get().protocol_name, "range");
  std::string b = new_member_id();
  std::string c = new_member_id();
  auto b1 = join(b, protocols({"roundrobin", "range"}));
  auto c1 = join(c, protocols({"roundrobin", "range", "sticky"}));
  auto a2 = join(a, protocols({"range", "roundrobin"}));
  ASSERT_TRUE(a2.done());
  EXPECT_EQ(a2.get().protocol_name, "roundrobin");  // two votes to one
  EXPECT_EQ(c1.get().protocol_name, "roundrobin");
  ASSERT_EQ(a2.get().members.size(), 3u);
  for (const auto& m : a2.get().members) {
    // The leader receives each member's metadata for the chosen protocol.
    std::vector<uint8_t> expected = m.member_id == a ? protocols({"range", "roundrobin"})[1].metadata
                                                     : protocols({"roundrobin"})[0].metadata;
    EXPECT_EQ(m.metadata, expected) << m.member_id;
  }
}

TEST_F(Coordinator, TiedVotesGoToTheOldestMembersPreference) {
  group g;
  auto add = [&](const std::string& id, std::vector<join_protocol> protos, uint64_t order) {
    member& m = g.members[id];
    m.id = id;
    m.protocols = std::move(protos);
    m.join_order = order;
  };
  add("x", protocols({"range", "roundrobin"}), 1);
  add("a", protocols({"roundrobin", "range"}), 2);
  EXPECT_EQ(select_protocol(g), "range");
  g.members["x"].join_order = 3;
  EXPECT_EQ(select_protocol(g), "roundrobin");
}

TEST_F(Coordinator, IncompatibleProtocolsAreRefused) {
  auto [ids, gen] = stable_group(1);
  std::string b = new_member_id();
  auto other = join(b, protocols({"roundrobin"}));
  ASSERT_TRUE(other.done());
  EXPECT_EQ(other.get().error, error_code::inconsistent_group_protocol);
  auto other_type = join("", protocols({"range"}), true, std::nullopt, "g", "connect");
  EXPECT_EQ(other_type.get().error, error_code::inconsistent_group_protocol);
  auto none = join("", {}, true);
  EXPECT_EQ(none.get().error, error_code::inconsistent_group_protocol);
  EXPECT_EQ(state(), "Stable");
}

TEST_F(Coordinator, SessionTimeoutOutsideBoundsIsInvalid) {
  for (int32_t timeout : {cfg_.session_timeout_min_ms - 1, cfg_.session_timeout_max_ms + 1}) {
    join_group_request req;
    req.group_id = "g";
    req.session_timeout_ms = timeout;
    req.protocol_type = "consumer";
    req.protocols = protocols({"range"});
    std::optional<join_group_response> got;
    coord_->join(req, {}, [&](join_group_response r) { got = r; });
    ASSERT_TRUE(got);
    EXPECT_EQ(got->error, error_code::invalid_session_timeout) << timeout;
  }
  auto empty_group = join("", protocols({"range"}), true, std::nullopt, "");
  EXPECT_EQ(empty_group.get().error, error_code::invalid_group_id);
}

TEST_F(Coordinator, GroupMaxSizeCountsMembersAndIssuedIds) {
  cfg_.group_max_size = 2;
  restart();
  auto [ids, gen] = stable_group(1);
  std::string b = new_member_id();
  auto c = join("");
  ASSERT_TRUE(c.done());
  EXPECT_EQ(c.get().error, error_code::group_max_size_reached);
  EXPECT_FALSE(join(b).done());  // b itself is welcome
}

TEST_F(Coordinator, InitialDelayWaitsForMoreMembersAndExtends) {
  cfg_.initial_rebalance_delay_ms = 3000;
  restart();
  std::string a = new_member_id();
  auto a_join = join(a);
  sched_.advance(1000);
  std::string b = new_member_id();
  auto b_join = join(b);
  sched_.advance(1999);
  EXPECT_FALSE(a_join.done());
  sched_.advance(1);  // t=3000: b arrived during the delay, so it extends once more
  EXPECT_FALSE(a_join.done());
  sched_.advance(2999);
  EXPECT_FALSE(a_join.done());
  sched_.advance(1);  // t=6000
  ASSERT_TRUE(a_join.done());
  ASSERT_TRUE(b_join.done());
  EXPECT_EQ(a_join.get().generation_id, 1);
  EXPECT_EQ(a_join.get().members.size(), 2u);
}

TEST_F(Coordinator, StaticMemberSkipsIdHandshakeAndFencesItsOldSelf) {
  auto first = join("", protocols({"range"}), true, std::string("instance-1"));
  ASSERT_TRUE(first.done());
  EXPECT_EQ(first.get().error, error_code::none);
  std::string old_id = first.get().member_id;
  EXPECT_TRUE(old_id.starts_with("instance-1-"));
  auto s = sync(old_id, 1, {{old_id, {9}}});
  EXPECT_EQ(s.get().error, error_code::none);
  EXPECT_EQ(heartbeat("someone-else", 1, std::string("instance-1")), error_code::fenced_instance_id);

  auto restarted = join("", protocols({"range"}), true, std::string("instance-1"));
  ASSERT_TRUE(restarted.done());
  std::string new_id = restarted.get().member_id;
  EXPECT_NE(new_id, old_id);
  EXPECT_EQ(heartbeat(old_id, 1, std::string("instance-1")), error_code::fenced_instance_id);
  auto resp = coord_->leave({"g", {{"", std::string("instance-1")}}});
  ASSERT_EQ(resp.members.size(), 1u);
  EXPECT_EQ(resp.members[0].error, error_code::none);
  EXPECT_EQ(state(), "Dead");
}

TEST_F(Coordinator, CommitsAreFencedByGeneration) {
  auto [ids, gen] = stable_group(2);
  EXPECT_EQ(commit(ids[0], gen - 1, 10), error_code::illegal_generation);
  EXPECT_EQ(commit("stranger", gen, 10), error_code::unknown_member_id);
  EXPECT_EQ(commit("", -1, 10), error_code::unknown_member_id);  // the group is managed
  EXPECT_EQ(fetched(), -1);
  EXPECT_EQ(commit(ids[1], gen, 10), error_code::none);
  EXPECT_EQ(fetched(), 10);
}

TEST_F(Coordinator, CommitsDuringRebalance) {
  auto [ids, gen] = stable_group(1);
  std::string b = new_member_id();
  auto b_join = join(b);
  // PreparingRebalance: the current generation may still commit what it consumed.
  EXPECT_EQ(commit(ids[0], gen, 5), error_code::none);
  auto a_join = join(ids[0]);
  ASSERT_TRUE(a_join.done());
  EXPECT_EQ(commit(ids[0], gen + 1, 6), error_code::rebalance_in_progress);  // CompletingRebalance
  EXPECT_EQ(fetched(), 5);
}

TEST_F(Coordinator, CommitCountsAsHeartbeat) {
  auto [ids, gen] = stable_group(1);
  for (int i = 0; i < 4; ++i) {
    sched_.advance(session_ms - 1);
    ASSERT_EQ(commit(ids[0], gen, i), error_code::none);
  }
  EXPECT_EQ(state(), "Stable");
}

TEST_F(Coordinator, SimpleConsumersCommitWithoutAGroup) {
  EXPECT_EQ(commit("", -1, 77, 0, "manual"), error_code::none);
  EXPECT_EQ(commit("", -1, 78, 1, "manual"), error_code::none);
  EXPECT_EQ(commit("m", 3, 1, 0, "manual"), error_code::illegal_generation);
  EXPECT_EQ(fetched(0, "manual"), 77);

  offset_fetch_request all{"manual", std::nullopt, false};
  auto resp = coord_->fetch_offsets(all);
  ASSERT_EQ(resp.topics.size(), 1u);
  ASSERT_EQ(resp.topics[0].partitions.size(), 2u);
  EXPECT_EQ(resp.topics[0].partitions[1].partition, 1);
  EXPECT_EQ(resp.topics[0].partitions[1].offset, 78);
  EXPECT_EQ(resp.topics[0].partitions[1].leader_epoch, 3);
  EXPECT_EQ(resp.topics[0].partitions[1].metadata, "md");
  EXPECT_EQ(state("manual"), "Empty");
  auto listed = coord_->list_groups({});
  ASSERT_EQ(listed.groups.size(), 1u);
  EXPECT_EQ(listed.groups[0].group_id, "manual");
  EXPECT_EQ(listed.groups[0].group_state, "Empty");
}

TEST_F(Coordinator, FetchOfUnknownPartitionsAnswersMinusOne) {
  offset_fetch_request req{"nobody", std::vector<offset_fetch_topic>{{"t", {0, 1}}}, false};
  auto resp = coord_->fetch_offsets(req);
  ASSERT_EQ(resp.topics.at(0).partitions.size(), 2u);
  for (const auto& p : resp.topics[0].partitions) {
    EXPECT_EQ(p.offset, -1);
    EXPECT_EQ(p.leader_epoch, -1);
    EXPECT_EQ(p.error, error_code::none);
  }
  EXPECT_TRUE(coord_->fetch_offsets({"nobody", std::nullopt, false}).topics.empty());
}

TEST_F(Coordinator, OffsetsSurviveARestart) {
  EXPECT_EQ(commit("", -1, 1234, 2), error_code::none);
  auto [ids, gen] = stable_group(1);
  EXPECT_EQ(commit(ids[0], gen, 1235, 3), error_code::none);
  restart();
  EXPECT_EQ(fetched(2), 1234);
  EXPECT_EQ(fetched(3), 1235);
  EXPECT_EQ(state(), "Empty");  // membership is gone, offsets remain
  EXPECT_EQ(heartbeat(ids[0], gen), error_code::unknown_member_id);
}

TEST_F(Coordinator, OffsetsSurviveARestartOnRocksDb) {
  std::string dir = (std::filesystem::temp_directory_path() / "strata-groups-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  {
    auto store = meta::kv::open_rocksdb(dir);
    ASSERT_TRUE(store.ok()) << store.err().message;
    coordinator c(sched_, **store, cfg_);
    ASSERT_TRUE(c.load().ok());
    offset_commit_request req{"g", -1, "", std::nullopt, -1, {{"orders", {{7, 900, 2, -1, std::nullopt}}}}};
    EXPECT_EQ(c.commit_offsets(req).topics.at(0).partitions.at(0).error, error_code::none);
  }
  {
    auto store = meta::kv::open_rocksdb(dir);
    ASSERT_TRUE(store.ok()) << store.err().message;
    coordinator c(sched_, **store, cfg_);
    ASSERT_TRUE(c.load().ok());
    auto resp = c.fetch_offsets({"g", std::vector<offset_fetch_topic>{{"orders", {7}}}, false});
    EXPECT_EQ(resp.topics.at(0).partitions.at(0).offset, 900);
    EXPECT_EQ(resp.topics.at(0).partitions.at(0).leader_epoch, 2);
    EXPECT_EQ(resp.topics.at(0).partitions.at(0).metadata, "");
  }
  std::filesystem::remove_all(dir);
}

TEST_F(Coordinator, OversizedMetadataAndUnknownPartitionsFailAlone) {
  cfg_.offset_metadata_bytes_max = 4;
  restart();
  offset_commit_request req;
  req.group_id = "g";
  req.topics.push_back({"t", {{0, 1, -1, -1, std::string("12345")}, {1, 2, -1, -1, std::string("1234")}}});
  req.topics.push_back({"gone", {{0, 3, -1, -1, std::nullopt}}});
  auto resp = coord_->commit_offsets(req, [](const std::string& topic, int32_t) { return topic == "t"; });
  EXPECT_EQ(static_cast<int>(resp.topics[0].partitions[0].error), 12);  // OFFSET_METADATA_TOO_LARGE
  EXPECT_EQ(resp.topics[0].partitions[1].error, error_code::none);
  EXPECT_EQ(resp.topics[1].partitions[0].error, error_code::unknown_topic_or_partition);
  EXPECT_EQ(fetched(0), -1);
  EXPECT_EQ(fetched(1), 2);
}

TEST_F(Coordinator, CommittedOffsetsAreBounded) {
  cfg_.committed_offsets_max = 2;
  restart();
  EXPECT_EQ(commit("", -1, 1, 0), error_code::none);
  EXPECT_EQ(commit("", -1, 1, 1), error_code::none);
  EXPECT_EQ(commit("", -1, 2, 1), error_code::none);  // overwriting is not growth
  EXPECT_EQ(commit("", -1, 1, 2), error_code::invalid_commit_offset_size);
  EXPECT_EQ(fetched(2), -1);
}

// A kv whose writes fail, as on a full disk.
class full_disk_kv final : public meta::kv {
 public:
  status put(std::string_view, std::string_view) override { return full(); }
  status remove(std::string_view) override { return full(); }
  status write_batch(const std::vector<std::pair<std::string, std::optional<std::string>>>&) override { return full(); }
  result<std::optional<std::string>> get(std::string_view) override { return std::optional<std::string>(); }
  status scan_prefix(std::string_view, const std::function<void(std::string_view, std::string_view)>&) override {
    return {};
  }

 private:
  static error full() { return make_error(errc::no_space, "disk full"); }
};

TEST_F(Coordinator, AFailedWriteIsReportedAndNotServed) {
  full_disk_kv full;
  coordinator c(sched_, full, cfg_);
  ASSERT_TRUE(c.load().ok());
  offset_commit_request req{"g", -1, "", std::nullopt, -1, {{"t", {{0, 5, -1, -1, std::nullopt}}}}};
  EXPECT_EQ(c.commit_offsets(req).topics[0].partitions[0].error, error_code::coordinator_not_available);
  auto resp = c.fetch_offsets({"g", std::vector<offset_fetch_topic>{{"t", {0}}}, false});
  EXPECT_EQ(resp.topics[0].partitions[0].offset, -1);
}

TEST_F(Coordinator, LoadRefusesAnUnreadableEntry) {
  EXPECT_EQ(commit("", -1, 1), error_code::none);
  ASSERT_TRUE(kv_->put(offset_store::encode_key("g", {"t", 9}), "\x02junk").ok());
  coordinator c(sched_, *kv_, cfg_);
  auto loaded = c.load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.code(), errc::corrupt);
}

TEST_F(Coordinator, ListAndDescribeReportKafkaStateNames) {
  auto [ids, gen] = stable_group(1);
  EXPECT_EQ(commit("", -1, 1, 0, "offsets-only"), error_code::none);
  auto all = coord_->list_groups({});
  ASSERT_EQ(all.groups.size(), 2u);
  EXPECT_EQ(all.groups[0].group_id, "g");
  EXPECT_EQ(all.groups[0].group_state, "Stable");
  EXPECT_EQ(all.groups[0].protocol_type, "consumer");
  EXPECT_EQ(all.groups[1].group_state, "Empty");
  auto stable_only = coord_->list_groups({{"stable"}});
  ASSERT_EQ(stable_only.groups.size(), 1u);
  EXPECT_EQ(stable_only.groups[0].group_id, "g");
  EXPECT_TRUE(coord_->list_groups({{"PreparingRebalance"}}).groups.empty());

  auto d = coord_->describe_groups({{"g", "unknown", ""}, false});
  ASSERT_EQ(d.groups.size(), 3u);
  EXPECT_EQ(d.groups[0].group_state, "Stable");
  EXPECT_EQ(d.groups[1].group_state, "Dead");
  EXPECT_EQ(d.groups[1].error, error_code::none);
  EXPECT_EQ(d.groups[2].error, error_code::invalid_group_id);

  std::string b = new_member_id();
  auto b_join = join(b);
  auto preparing = coord_->describe_groups({{"g"}, false}).groups.at(0);
  EXPECT_EQ(preparing.group_state, "PreparingRebalance");
  EXPECT_EQ(preparing.protocol_data, "");
  ASSERT_EQ(preparing.members.size(), 2u);
  EXPECT_TRUE(preparing.members[0].metadata.empty());  // only shown while Stable
}

TEST_F(Coordinator, EveryParkedRequestIsAnsweredWhenItsMemberGoes) {
  auto [ids, gen] = stable_group(2);
  std::string c = new_member_id();
  auto c_join = join(c);
  EXPECT_EQ(leave(c), error_code::none);
  ASSERT_TRUE(c_join.done());
  EXPECT_EQ(c_join.get().error, error_code::unknown_member_id);
  // A duplicate JoinGroup from the same member answers the first one.
  auto first = join(ids[0]);
  auto second = join(ids[0]);
  ASSERT_TRUE(first.done());
  EXPECT_EQ(first.get().error, error_code::rebalance_in_progress);
  EXPECT_FALSE(second.done());
}

TEST_F(Coordinator, DestroyingTheCoordinatorCancelsItsTimers) {
  auto [ids, gen] = stable_group(2);
  auto c = new_member_id();
  auto pending = join(c);
  coord_.reset();
  sched_.advance(10 * rebalance_ms);  // no timer may touch the destroyed coordinator
  SUCCEED();
}

}  // namespace
}  // namespace strata::kafka::groups
