// The group handlers end to end: request bytes in, coordinator, response
// bytes out, at the versions librdkafka 2.0 (flexible) and kafka-python 2.0
// (old, non-flexible) speak.
#include <gtest/gtest.h>

#include "kafka/groups/coordinator.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/tests/handler_harness.h"
#include "meta/kv.h"

namespace strata::kafka {
namespace {

bool flex(api_key key, int16_t version) { return testing::handler_harness::is_flexible(key, version); }

class GroupHandlers : public ::testing::Test {
 protected:
  GroupHandlers() : coord_(sched_, *kv_, config()), svc_{streams_, coord_, sched_, broker_} {
    broker_.node_id = 3;
    broker_.advertised_host = "broker.local";
    broker_.advertised_port = 19092;
    streams_.add_topic("t", 2);
  }

  static groups::coordinator_config config() {
    groups::coordinator_config cfg;
    cfg.initial_rebalance_delay_ms = 0;
    return cfg;
  }

  // Runs a handler; returns the response if it answered (nullopt if parked).
  std::optional<std::vector<uint8_t>> call(handler_fn fn, api_key key, int16_t version, std::vector<uint8_t> body,
                                           std::shared_ptr<std::optional<std::vector<uint8_t>>> later = nullptr) {
    request req;
    req.header.api_key = static_cast<int16_t>(key);
    req.header.api_version = version;
    req.header.client_id = "rdkafka";
    req.header.flexible = flex(key, version);
    req.body = body;
    auto out = later ? later : std::make_shared<std::optional<std::vector<uint8_t>>>();
    status st = fn(svc_, req, [out](std::optional<std::vector<uint8_t>> r) {
      EXPECT_FALSE(out->has_value()) << "responded twice";
      *out = std::move(r);
    });
    EXPECT_TRUE(st.ok()) << st.err().message;
    return *out;
  }

  std::vector<uint8_t> join_body(int16_t v, const std::string& member_id) {
    bool f = flex(api_key::join_group, v);
    writer w;
    w.string("g", f);
    w.i32(10000);
    if (v >= 1) w.i32(30000);
    w.string(member_id, f);
    if (v >= 5) w.nullable_string(std::nullopt, f);
    w.string("consumer", f);
    w.array_length(1, f);
    w.string("range", f);
    w.bytes(std::vector<uint8_t>{0, 1, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 0}, f);
    if (f) w.empty_tagged_fields();
    if (f) w.empty_tagged_fields();
    return std::move(w.buffer());
  }

  std::vector<uint8_t> sync_body(int16_t v, const std::string& member_id, int32_t generation) {
    bool f = flex(api_key::sync_group, v);
    writer w;
    w.string("g", f);
    w.i32(generation);
    w.string(member_id, f);
    if (v >= 3) w.nullable_string(std::nullopt, f);
    if (v >= 5) {
      w.nullable_string(std::string("consumer"), f);
      w.nullable_string(std::string("range"), f);
    }
    w.array_length(1, f);
    w.string(member_id, f);
    w.bytes(std::vector<uint8_t>{0xAA}, f);
    if (f) w.empty_tagged_fields();
    if (f) w.empty_tagged_fields();
    return std::move(w.buffer());
  }

  std::vector<uint8_t> heartbeat_body(int16_t v, const std::string& member_id, int32_t generation) {
    bool f = flex(api_key::heartbeat, v);
    writer w;
    w.string("g", f);
    w.i32(generation);
    w.string(member_id, f);
    if (v >= 3) w.nullable_string(std::nullopt, f);
    if (f) w.empty_tagged_fields();
    return std::move(w.buffer());
  }

  std::vector<uint8_t> commit_body(int16_t v, const std::string& member_id, int32_t generation, int32_t partition,
                                   int64_t offset) {
    bool f = flex(api_key::offset_commit, v);
    writer w;
    w.string("g", f);
    if (v >= 1) {
      w.i32(generation);
      w.string(member_id, f);
    }
    if (v >= 7) w.nullable_string(std::nullopt, f);
    if (v >= 2 && v <= 4) w.i64(-1);
    w.array_length(1, f);
    w.string("t", f);
    w.array_length(1, f);
    w.i32(partition);
    w.i64(offset);
    if (v >= 6) w.i32(-1);
    if (v == 1) w.i64(-1);
    w.nullable_string(std::string(""), f);
    if (f) w.empty_tagged_fields();
    if (f) w.empty_tagged_fields();
    if (f) w.empty_tagged_fields();
    return std::move(w.buffer());
  }

  manual_scheduler sched_;
  std::unique_ptr<meta::kv> kv_ = meta::make_memory_kv();
  testing::fake_streams streams_;
  broker_config broker_;
  groups::coordinator coord_;
  services svc_;
};

TEST_F(GroupHandlers, FindCoordinatorAnswersWithThisBroker) {
  for (int16_t v : {0, 3}) {
    bool f = flex(api_key::find_coordinator, v);
    writer w;
    w.string("g", f);
    if (v >= 1) w.i8(0);
    if (f) w.empty_tagged_fields();
    auto out = call(handlers::find_coordinator, api_key::find_coordinator, v, w.buffer());
    ASSERT_TRUE(out);
    reader r(*out);
    if (v >= 1) {
      EXPECT_EQ(r.i32(), 0);
      EXPECT_EQ(r.i16(), 0);
      EXPECT_EQ(r.nullable_string(f), std::nullopt);
    } else {
      EXPECT_EQ(r.i16(), 0);
    }
    EXPECT_EQ(r.i32(), 3);
    EXPECT_EQ(r.string(f), "broker.local");
    EXPECT_EQ(r.i32(), 19092);
    if (f) r.skip_tagged_fields();
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
  }
}

TEST_F(GroupHandlers, FlexibleConsumerFlowLikeLibrdkafka) {
  // JoinGroup v7 without an id: MEMBER_ID_REQUIRED with the id to use.
  auto first = call(handlers::join_group, api_key::join_group, 7, join_body(7, ""));
  ASSERT_TRUE(first);
  reader r1(*first);
  r1.i32();
  EXPECT_EQ(r1.i16(), 79);
  r1.i32();
  r1.nullable_string(true);
  r1.nullable_string(true);
  r1.string(true);
  std::string id = r1.string(true);
  EXPECT_TRUE(id.starts_with("rdkafka-")) << id;

  auto second = call(handlers::join_group, api_key::join_group, 7, join_body(7, id));
  ASSERT_TRUE(second);
  reader r2(*second);
  r2.i32();
  EXPECT_EQ(r2.i16(), 0);
  int32_t generation = r2.i32();
  EXPECT_EQ(generation, 1);
  EXPECT_EQ(r2.nullable_string(true), "consumer");
  EXPECT_EQ(r2.nullable_string(true), "range");
  EXPECT_EQ(r2.string(true), id);  // leader
  EXPECT_EQ(r2.string(true), id);
  EXPECT_EQ(r2.array_length(true), 1);

  auto synced = call(handlers::sync_group, api_key::sync_group, 5, sync_body(5, id, generation));
  ASSERT_TRUE(synced);
  reader rs(*synced);
  rs.i32();
  EXPECT_EQ(rs.i16(), 0);
  EXPECT_EQ(rs.nullable_string(true), "consumer");
  EXPECT_EQ(rs.nullable_string(true), "range");
  auto assignment = rs.bytes(true);
  EXPECT_EQ(std::vector<uint8_t>(assignment.begin(), assignment.end()), std::vector<uint8_t>{0xAA});

  auto hb = call(handlers::heartbeat, api_key::heartbeat, 4, heartbeat_body(4, id, generation));
  ASSERT_TRUE(hb);
  EXPECT_EQ(*hb, (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0}));

  auto committed = call(handlers::offset_commit, api_key::offset_commit, 8, commit_body(8, id, generation, 1, 55));
  ASSERT_TRUE(committed);
  reader rc(*committed);
  rc.i32();
  EXPECT_EQ(rc.array_length(true), 1);
  EXPECT_EQ(rc.string(true), "t");
  EXPECT_EQ(rc.array_length(true), 1);
  EXPECT_EQ(rc.i32(), 1);
  EXPECT_EQ(rc.i16(), 0);

  auto unknown = call(handlers::offset_commit, api_key::offset_commit, 8, commit_body(8, id, generation, 9, 1));
  reader ru(*unknown);
  ru.i32();
  ru.array_length(true);
  ru.string(true);
  ru.array_length(true);
  ru.i32();
  EXPECT_EQ(ru.i16(), 3);  // UNKNOWN_TOPIC_OR_PARTITION: t has 2 partitions

  writer fetch;
  fetch.string("g", true);
  fetch.array_length(-1, true);
  fetch.boolean(false);
  fetch.empty_tagged_fields();
  auto fetched = call(handlers::offset_fetch, api_key::offset_fetch, 7, fetch.buffer());
  ASSERT_TRUE(fetched);
  reader rf(*fetched);
  rf.i32();
  EXPECT_EQ(rf.array_length(true), 1);
  EXPECT_EQ(rf.string(true), "t");
  EXPECT_EQ(rf.array_length(true), 1);
  EXPECT_EQ(rf.i32(), 1);
  EXPECT_EQ(rf.i64(), 55);

  writer leave;
  leave.string("g", true);
  leave.array_length(1, true);
  leave.string(id, true);
  leave.nullable_string(std::nullopt, true);
  leave.empty_tagged_fields();
  leave.empty_tagged_fields();
  auto left = call(handlers::leave_group, api_key::leave_group, 4, leave.buffer());
  ASSERT_TRUE(left);
  reader rl(*left);
  rl.i32();
  EXPECT_EQ(rl.i16(), 0);
  EXPECT_EQ(rl.array_length(true), 1);
  EXPECT_EQ(rl.string(true), id);
  rl.nullable_string(true);
  EXPECT_EQ(rl.i16(), 0);
}

TEST_F(GroupHandlers, OldConsumerFlowLikeKafkaPython) {
  auto joined = call(handlers::join_group, api_key::join_group, 2, join_body(2, ""));
  ASSERT_TRUE(joined);
  reader rj(*joined);
  EXPECT_EQ(rj.i32(), 0);  // throttle from v2
  EXPECT_EQ(rj.i16(), 0);  // no KIP-394 handshake before v4
  int32_t generation = rj.i32();
  EXPECT_EQ(rj.string(false), "range");
  std::string leader = rj.string(false);
  std::string id = rj.string(false);
  EXPECT_EQ(leader, id);

  auto synced = call(handlers::sync_group, api_key::sync_group, 1, sync_body(1, id, generation));
  ASSERT_TRUE(synced);
  reader rs(*synced);
  rs.i32();
  EXPECT_EQ(rs.i16(), 0);

  auto committed = call(handlers::offset_commit, api_key::offset_commit, 2, commit_body(2, id, generation, 0, 8));
  reader rc(*committed);
  rc.array_length(false);
  rc.string(false);
  rc.array_length(false);
  rc.i32();
  EXPECT_EQ(rc.i16(), 0);
  auto stale = call(handlers::offset_commit, api_key::offset_commit, 2, commit_body(2, id, generation - 1, 0, 9));
  reader rst(*stale);
  rst.array_length(false);
  rst.string(false);
  rst.array_length(false);
  rst.i32();
  EXPECT_EQ(rst.i16(), 22);  // ILLEGAL_GENERATION

  writer fetch;
  fetch.string("g", false);
  fetch.array_length(1, false);
  fetch.string("t", false);
  fetch.array_length(2, false);
  fetch.i32(0);
  fetch.i32(1);
  auto fetched = call(handlers::offset_fetch, api_key::offset_fetch, 1, fetch.buffer());
  reader rf(*fetched);
  EXPECT_EQ(rf.array_length(false), 1);
  rf.string(false);
  EXPECT_EQ(rf.array_length(false), 2);
  EXPECT_EQ(rf.i32(), 0);
  EXPECT_EQ(rf.i64(), 8);
  rf.nullable_string(false);
  EXPECT_EQ(rf.i16(), 0);
  EXPECT_EQ(rf.i32(), 1);
  EXPECT_EQ(rf.i64(), -1);

  writer leave;
  leave.string("g", false);
  leave.string(id, false);
  auto left = call(handlers::leave_group, api_key::leave_group, 1, leave.buffer());
  reader rl(*left);
  rl.i32();
  EXPECT_EQ(rl.i16(), 0);
  EXPECT_EQ(rl.remaining(), 0u);
}

TEST_F(GroupHandlers, ParkedJoinIsAnsweredWhenTheRebalanceCompletes) {
  auto a = call(handlers::join_group, api_key::join_group, 2, join_body(2, ""));
  reader ra(*a);
  ra.i32();
  ra.i16();
  int32_t generation = ra.i32();
  ra.string(false);
  ra.string(false);
  std::string a_id = ra.string(false);
  call(handlers::sync_group, api_key::sync_group, 1, sync_body(1, a_id, generation));

  auto parked = std::make_shared<std::optional<std::vector<uint8_t>>>();
  EXPECT_FALSE(call(handlers::join_group, api_key::join_group, 2, join_body(2, ""), parked));
  auto hb = call(handlers::heartbeat, api_key::heartbeat, 1, heartbeat_body(1, a_id, generation));
  EXPECT_EQ(*hb, (std::vector<uint8_t>{0, 0, 0, 0, 0, 27}));
  EXPECT_TRUE(call(handlers::join_group, api_key::join_group, 2, join_body(2, a_id)));
  ASSERT_TRUE(parked->has_value());
  reader rb(**parked);
  rb.i32();
  EXPECT_EQ(rb.i16(), 0);
  EXPECT_EQ(rb.i32(), generation + 1);
}

TEST_F(GroupHandlers, ListAndDescribe) {
  call(handlers::join_group, api_key::join_group, 2, join_body(2, ""));
  writer list;
  list.array_length(0, true);
  list.empty_tagged_fields();
  auto listed = call(handlers::list_groups, api_key::list_groups, 4, list.buffer());
  reader rl(*listed);
  rl.i32();
  EXPECT_EQ(rl.i16(), 0);
  EXPECT_EQ(rl.array_length(true), 1);
  EXPECT_EQ(rl.string(true), "g");
  EXPECT_EQ(rl.string(true), "consumer");
  EXPECT_EQ(rl.string(true), "CompletingRebalance");

  writer describe;
  describe.array_length(1, false);
  describe.string("g", false);
  auto described = call(handlers::describe_groups, api_key::describe_groups, 0, describe.buffer());
  reader rd(*described);
  EXPECT_EQ(rd.array_length(false), 1);
  EXPECT_EQ(rd.i16(), 0);
  EXPECT_EQ(rd.string(false), "g");
  EXPECT_EQ(rd.string(false), "CompletingRebalance");
  EXPECT_EQ(rd.string(false), "consumer");
  EXPECT_EQ(rd.string(false), "");
  EXPECT_EQ(rd.array_length(false), 1);
  rd.string(false);
  EXPECT_EQ(rd.string(false), "rdkafka");
}

TEST_F(GroupHandlers, MalformedBodiesAreErrorsWithoutAResponse) {
  std::vector<uint8_t> junk{0x00, 0x09, 'x'};
  handler_fn fns[] = {handlers::find_coordinator, handlers::join_group,     handlers::sync_group,
                      handlers::heartbeat,        handlers::leave_group,    handlers::offset_commit,
                      handlers::offset_fetch,     handlers::describe_groups};
  api_key keys[] = {api_key::find_coordinator, api_key::join_group,   api_key::sync_group,
                    api_key::heartbeat,        api_key::leave_group,  api_key::offset_commit,
                    api_key::offset_fetch,     api_key::describe_groups};
  for (size_t i = 0; i < std::size(fns); ++i) {
    request req;
    req.header.api_key = static_cast<int16_t>(keys[i]);
    req.header.api_version = 1;
    req.body = junk;
    int responded = 0;
    status st = fns[i](svc_, req, [&](std::optional<std::vector<uint8_t>>) { ++responded; });
    EXPECT_FALSE(st.ok()) << api_name(req.header.api_key);
    EXPECT_EQ(responded, 0);
  }
}

}  // namespace
}  // namespace strata::kafka
