// DeleteGroups and OffsetDelete end to end over a real coordinator: what is
// deleted, what stays, what survives a restart, and the ACL checks.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "auth/acl.h"
#include "kafka/groups/coordinator.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/tests/handler_harness.h"
#include "meta/kv.h"

namespace strata::kafka {
namespace {

int16_t code(error_code e) { return static_cast<int16_t>(e); }

class AdminGroupHandlers : public ::testing::Test {
 protected:
  AdminGroupHandlers() {
    streams_.add_topic("t", 2);
    streams_.add_topic("u", 1);
  }

  static groups::coordinator_config config() {
    groups::coordinator_config cfg;
    cfg.initial_rebalance_delay_ms = 0;
    return cfg;
  }

  std::vector<uint8_t> call(handler_fn fn, api_key key, int16_t version, const std::vector<uint8_t>& body) {
    request req;
    req.header.api_key = static_cast<int16_t>(key);
    req.header.api_version = version;
    req.header.flexible = testing::handler_harness::is_flexible(key, version);
    req.body = body;
    req.principal = principal_;
    std::optional<std::vector<uint8_t>> out;
    status st = fn(svc_, req, [&](std::optional<std::vector<uint8_t>> r) { out = std::move(r); });
    EXPECT_TRUE(st.ok());
    EXPECT_TRUE(out.has_value());
    return out.value_or(std::vector<uint8_t>{});
  }

  void commit(const std::string& group, const std::string& topic, int32_t partition, int64_t offset) {
    groups::offset_commit_request req;
    req.group_id = group;
    req.topics.push_back({topic, {{partition, offset, -1, -1, std::string("")}}});
    auto resp = coord_->commit_offsets(req);
    ASSERT_EQ(resp.topics.at(0).partitions.at(0).error, error_code::none);
  }

  bool has_offset(const std::string& group, const std::string& topic, int32_t partition) {
    groups::offset_fetch_request req;
    req.group_id = group;
    req.topics = std::vector<groups::offset_fetch_topic>{{topic, {partition}}};
    return coord_->fetch_offsets(req).topics.at(0).partitions.at(0).offset >= 0;
  }

  // A live member of "live" subscribed to topic t (ConsumerProtocolSubscription v1).
  void join_live_member() {
    groups::join_group_request req;
    req.group_id = "live";
    req.session_timeout_ms = 10'000;
    req.rebalance_timeout_ms = 10'000;
    req.protocol_type = "consumer";
    req.protocols.push_back({"range", {0, 1, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 0}});
    bool answered = false;
    coord_->join(req, {"client", "/127.0.0.1", false}, [&](groups::join_group_response r) {
      answered = true;
      EXPECT_EQ(r.error, error_code::none);
    });
    ASSERT_TRUE(answered);
  }

  std::vector<std::pair<std::string, int16_t>> delete_groups(int16_t version, const std::vector<std::string>& ids) {
    const bool flex = testing::handler_harness::is_flexible(api_key::delete_groups, version);
    writer w;
    w.array_length(static_cast<int32_t>(ids.size()), flex);
    for (const auto& id : ids) w.string(id, flex);
    if (flex) w.empty_tagged_fields();
    auto body = call(handlers::delete_groups, api_key::delete_groups, version, w.buffer());
    reader r(body);
    EXPECT_EQ(r.i32(), 0);
    std::vector<std::pair<std::string, int16_t>> out;
    for (int32_t n = r.array_length(flex); n > 0 && r.ok(); --n) {
      std::string id = r.string(flex);
      out.emplace_back(id, r.i16());
      if (flex) r.skip_tagged_fields();
    }
    if (flex) r.skip_tagged_fields();
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
    return out;
  }

  struct offset_delete_out {
    int16_t error = 0;
    std::vector<std::tuple<std::string, int32_t, int16_t>> partitions;
  };
  offset_delete_out offset_delete(const std::string& group, const std::vector<std::pair<std::string, int32_t>>& tps) {
    writer w;
    w.string(group, false);
    w.array_length(static_cast<int32_t>(tps.size()), false);
    for (const auto& [topic, partition] : tps) {
      w.string(topic, false);
      w.array_length(1, false);
      w.i32(partition);
    }
    auto body = call(handlers::offset_delete, api_key::offset_delete, 0, w.buffer());
    reader r(body);
    offset_delete_out out;
    out.error = r.i16();
    EXPECT_EQ(r.i32(), 0);
    for (int32_t n = r.array_length(false); n > 0 && r.ok(); --n) {
      std::string topic = r.string(false);
      for (int32_t m = r.array_length(false); m > 0 && r.ok(); --m) {
        int32_t p = r.i32();
        out.partitions.emplace_back(topic, p, r.i16());
      }
    }
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
    return out;
  }

  void authorize_as_alice() {
    auto store = auth::acl_store::open(*acl_kv_);
    ASSERT_TRUE(store.ok());
    acls_ = std::move(*store);
    authorizer_ = std::make_unique<auth::authorizer>(*acls_, std::vector<std::string>{"User:admin"});
    svc_.acls = acls_.get();
    svc_.authorizer = authorizer_.get();
    principal_ = "User:alice";
  }
  void allow(auth::resource_type type, const std::string& name, auth::operation op) {
    ASSERT_TRUE(acls_->add({type, name, auth::pattern_type::literal, "User:alice", "*", op, auth::permission::allow}).ok());
  }

  manual_scheduler sched_;
  std::unique_ptr<meta::kv> kv_ = meta::make_memory_kv();
  std::unique_ptr<meta::kv> acl_kv_ = meta::make_memory_kv();
  testing::fake_streams streams_;
  broker_config broker_;
  std::unique_ptr<groups::coordinator> coord_ = std::make_unique<groups::coordinator>(sched_, *kv_, config());
  services svc_{streams_, *coord_, sched_, broker_};
  std::string principal_ = "User:ANONYMOUS";
  std::unique_ptr<auth::acl_store> acls_;
  std::unique_ptr<auth::authorizer> authorizer_;
};

TEST_F(AdminGroupHandlers, DeleteGroupsRemovesEmptyGroupsAndTheirOffsetsAtEveryVersion) {
  for (int16_t v : {0, 1, 2}) {
    const std::string group = "idle-" + std::to_string(v);
    commit(group, "t", 0, 5);
    commit(group, "u", 0, 7);
    auto out = delete_groups(v, {group, "never-seen"});
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0], std::make_pair(group, int16_t{0}));
    EXPECT_EQ(out[1], std::make_pair(std::string("never-seen"), code(error_code::group_id_not_found)));
    EXPECT_FALSE(has_offset(group, "t", 0));
    EXPECT_EQ(delete_groups(v, {group})[0].second, code(error_code::group_id_not_found));
  }
}

TEST_F(AdminGroupHandlers, DeletedOffsetsStayDeletedAfterARestart) {
  commit("idle", "t", 0, 5);
  commit("keep", "t", 0, 6);
  EXPECT_EQ(delete_groups(2, {"idle"})[0].second, 0);
  coord_ = std::make_unique<groups::coordinator>(sched_, *kv_, config());
  ASSERT_TRUE(coord_->load().ok());
  EXPECT_FALSE(has_offset("idle", "t", 0));
  EXPECT_TRUE(has_offset("keep", "t", 0));
}

TEST_F(AdminGroupHandlers, DeleteGroupsRefusesGroupsWithMembers) {
  commit("live", "u", 0, 1);
  join_live_member();
  auto out = delete_groups(1, {"live", ""});
  EXPECT_EQ(out[0].second, code(error_code::non_empty_group));
  EXPECT_EQ(out[1].second, code(error_code::invalid_group_id));
  EXPECT_TRUE(has_offset("live", "u", 0));
}

TEST_F(AdminGroupHandlers, DeleteGroupsNeedsGroupDelete) {
  commit("idle", "t", 0, 5);
  authorize_as_alice();
  allow(auth::resource_type::group, "idle", auth::operation::read);
  EXPECT_EQ(delete_groups(2, {"idle"})[0].second, code(error_code::group_authorization_failed));
  EXPECT_TRUE(has_offset("idle", "t", 0));
  allow(auth::resource_type::group, "idle", auth::operation::remove);
  EXPECT_EQ(delete_groups(2, {"idle"})[0].second, 0);
}

TEST_F(AdminGroupHandlers, InClusterModeDeletionIsRefusedAndNothingChanges) {
  commit("idle", "t", 0, 5);
  groups::cluster_hooks hooks;
  hooks.owns_group = [](std::string_view) { return true; };
  hooks.replicate = [](const std::string&, const groups::offset_entries&, std::function<void(error_code)> done) {
    done(error_code::none);
  };
  coord_->set_cluster_hooks(std::move(hooks));
  EXPECT_EQ(delete_groups(2, {"idle"})[0].second, code(error_code::invalid_request));
  EXPECT_EQ(offset_delete("idle", {{"t", 0}}).error, code(error_code::invalid_request));
  EXPECT_TRUE(has_offset("idle", "t", 0));
}

TEST_F(AdminGroupHandlers, OffsetDeleteKeepsSubscribedTopics) {
  commit("live", "u", 0, 3);
  join_live_member();
  auto out = offset_delete("live", {{"t", 0}, {"u", 0}, {"gone", 0}});
  EXPECT_EQ(out.error, 0);
  ASSERT_EQ(out.partitions.size(), 3u);
  EXPECT_EQ(out.partitions[0], std::make_tuple(std::string("t"), 0, code(error_code::group_subscribed_to_topic)));
  EXPECT_EQ(out.partitions[1], std::make_tuple(std::string("u"), 0, int16_t{0}));
  EXPECT_EQ(out.partitions[2], std::make_tuple(std::string("gone"), 0, code(error_code::unknown_topic_or_partition)));
  EXPECT_FALSE(has_offset("live", "u", 0));
}

TEST_F(AdminGroupHandlers, OffsetDeleteOfAnEmptyGroupDeletesAnyTopic) {
  commit("idle", "t", 0, 5);
  commit("idle", "t", 1, 6);
  auto out = offset_delete("idle", {{"t", 1}});
  EXPECT_EQ(out.error, 0);
  EXPECT_TRUE(has_offset("idle", "t", 0));
  EXPECT_FALSE(has_offset("idle", "t", 1));
  EXPECT_EQ(offset_delete("nobody", {{"t", 0}}).error, code(error_code::group_id_not_found));
}

TEST_F(AdminGroupHandlers, OffsetDeleteNeedsGroupDeleteAndTopicRead) {
  commit("idle", "t", 0, 5);
  commit("idle", "u", 0, 5);
  authorize_as_alice();
  auto denied = offset_delete("idle", {{"t", 0}});
  EXPECT_EQ(denied.error, code(error_code::group_authorization_failed));
  EXPECT_TRUE(denied.partitions.empty());
  allow(auth::resource_type::group, "idle", auth::operation::remove);
  allow(auth::resource_type::topic, "u", auth::operation::read);
  auto out = offset_delete("idle", {{"t", 0}, {"u", 0}});
  EXPECT_EQ(out.error, 0);
  EXPECT_EQ(std::get<2>(out.partitions[0]), code(error_code::topic_authorization_failed));
  EXPECT_EQ(std::get<2>(out.partitions[1]), 0);
  EXPECT_TRUE(has_offset("idle", "t", 0));
  EXPECT_FALSE(has_offset("idle", "u", 0));
}

}  // namespace
}  // namespace strata::kafka
