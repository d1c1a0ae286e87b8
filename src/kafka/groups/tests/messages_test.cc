// Codec tests: request bytes are built field by field from the Kafka schemas
// with the wire writer, and responses are read back field by field with the
// wire reader, so a field out of place or a missing tag section fails.
#include <gtest/gtest.h>

#include "kafka/groups/messages/describe_groups.h"
#include "kafka/groups/messages/find_coordinator.h"
#include "kafka/groups/messages/heartbeat.h"
#include "kafka/groups/messages/join_group.h"
#include "kafka/groups/messages/leave_group.h"
#include "kafka/groups/messages/list_groups.h"
#include "kafka/groups/messages/offset_commit.h"
#include "kafka/groups/messages/offset_fetch.h"
#include "kafka/groups/messages/sync_group.h"
#include "kafka/protocol/wire.h"

namespace strata::kafka::groups {
namespace {

std::vector<uint8_t> bytes_of(std::initializer_list<uint8_t> b) { return b; }

// A tagged-field section with one unknown tag, which decoders must skip.
void unknown_tags(writer& w) {
  w.uvarint(1);
  w.uvarint(7);
  w.uvarint(2);
  w.i16(0x1234);
}

std::vector<uint8_t> metadata_bytes(reader& r, bool flex) {
  auto b = r.bytes(flex);
  return {b.begin(), b.end()};
}

// ---- JoinGroup ------------------------------------------------------------

TEST(JoinGroupCodec, DecodesV0WithoutRebalanceTimeout) {
  writer w;
  w.string("g", false);
  w.i32(10000);
  w.string("", false);
  w.string("consumer", false);
  w.array_length(1, false);
  w.string("range", false);
  w.bytes(bytes_of({1, 2, 3}), false);
  auto req = decode_join_group_request(w.buffer(), 0);
  ASSERT_TRUE(req.ok()) << req.err().message;
  EXPECT_EQ(req->group_id, "g");
  EXPECT_EQ(req->session_timeout_ms, 10000);
  EXPECT_EQ(req->rebalance_timeout_ms, 10000);
  EXPECT_EQ(req->member_id, "");
  EXPECT_EQ(req->protocol_type, "consumer");
  ASSERT_EQ(req->protocols.size(), 1u);
  EXPECT_EQ(req->protocols[0].name, "range");
  EXPECT_EQ(req->protocols[0].metadata, bytes_of({1, 2, 3}));
}

TEST(JoinGroupCodec, DecodesV5WithInstanceId) {
  writer w;
  w.string("g", false);
  w.i32(10000);
  w.i32(300000);
  w.string("m-1", false);
  w.nullable_string(std::string("instance-a"), false);
  w.string("consumer", false);
  w.array_length(2, false);
  w.string("range", false);
  w.bytes(bytes_of({9}), false);
  w.string("roundrobin", false);
  w.bytes(bytes_of({}), false);
  auto req = decode_join_group_request(w.buffer(), 5);
  ASSERT_TRUE(req.ok()) << req.err().message;
  EXPECT_EQ(req->rebalance_timeout_ms, 300000);
  EXPECT_EQ(req->member_id, "m-1");
  EXPECT_EQ(req->group_instance_id, "instance-a");
  ASSERT_EQ(req->protocols.size(), 2u);
  EXPECT_EQ(req->protocols[1].name, "roundrobin");
  EXPECT_TRUE(req->protocols[1].metadata.empty());
}

TEST(JoinGroupCodec, DecodesFlexibleV7AndSkipsTags) {
  writer w;
  w.string("group-7", true);
  w.i32(45000);
  w.i32(300000);
  w.string("", true);
  w.nullable_string(std::nullopt, true);
  w.string("consumer", true);
  w.array_length(1, true);
  w.string("cooperative-sticky", true);
  w.bytes(bytes_of({0, 1}), true);
  unknown_tags(w);  // per-protocol tags
  unknown_tags(w);  // top-level tags
  auto req = decode_join_group_request(w.buffer(), 7);
  ASSERT_TRUE(req.ok()) << req.err().message;
  EXPECT_EQ(req->group_id, "group-7");
  EXPECT_EQ(req->session_timeout_ms, 45000);
  EXPECT_EQ(req->group_instance_id, std::nullopt);
  ASSERT_EQ(req->protocols.size(), 1u);
  EXPECT_EQ(req->protocols[0].name, "cooperative-sticky");
  EXPECT_EQ(req->protocols[0].metadata, bytes_of({0, 1}));
}

TEST(JoinGroupCodec, RejectsTruncatedAndNonFlexibleMisreads) {
  writer w;
  w.string("g", true);  // compact string where v1 expects INT16 length
  w.i32(10000);
  auto bad = decode_join_group_request(w.buffer(), 1);
  EXPECT_FALSE(bad.ok());
  std::vector<uint8_t> truncated{0x00, 0x01, 'g', 0x00};
  EXPECT_FALSE(decode_join_group_request(truncated, 2).ok());
}

join_group_response sample_join_response() {
  join_group_response r;
  r.throttle_time_ms = 5;
  r.generation_id = 3;
  r.protocol_type = "consumer";
  r.protocol_name = "range";
  r.leader = "m-1";
  r.member_id = "m-1";
  r.members.push_back({"m-1", std::string("inst"), {7, 7}});
  return r;
}

TEST(JoinGroupCodec, EncodesV0Response) {
  auto out = encode_join_group_response(sample_join_response(), 0);
  reader r(out);
  EXPECT_EQ(r.i16(), 0);  // error, no throttle before v2
  EXPECT_EQ(r.i32(), 3);
  EXPECT_EQ(r.string(false), "range");
  EXPECT_EQ(r.string(false), "m-1");
  EXPECT_EQ(r.string(false), "m-1");
  EXPECT_EQ(r.array_length(false), 1);
  EXPECT_EQ(r.string(false), "m-1");
  EXPECT_EQ(metadata_bytes(r, false), bytes_of({7, 7}));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(JoinGroupCodec, EncodesV7ResponseWithProtocolTypeAndTags) {
  auto out = encode_join_group_response(sample_join_response(), 7);
  reader r(out);
  EXPECT_EQ(r.i32(), 5);
  EXPECT_EQ(r.i16(), 0);
  EXPECT_EQ(r.i32(), 3);
  EXPECT_EQ(r.nullable_string(true), "consumer");
  EXPECT_EQ(r.nullable_string(true), "range");
  EXPECT_EQ(r.string(true), "m-1");
  EXPECT_EQ(r.string(true), "m-1");
  EXPECT_EQ(r.array_length(true), 1);
  EXPECT_EQ(r.string(true), "m-1");
  EXPECT_EQ(r.nullable_string(true), "inst");
  EXPECT_EQ(metadata_bytes(r, true), bytes_of({7, 7}));
  EXPECT_EQ(r.uvarint(), 0u);  // member tags
  EXPECT_EQ(r.uvarint(), 0u);  // top-level tags
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(JoinGroupCodec, ErrorResponseV7HasNullProtocolAndV6EmptyName) {
  join_group_response e;
  e.error = error_code::member_id_required;
  e.member_id = "new-id";
  auto v7 = encode_join_group_response(e, 7);
  reader r7(v7);
  r7.i32();
  EXPECT_EQ(r7.i16(), 79);
  EXPECT_EQ(r7.i32(), -1);
  EXPECT_EQ(r7.nullable_string(true), std::nullopt);
  EXPECT_EQ(r7.nullable_string(true), std::nullopt);
  EXPECT_EQ(r7.string(true), "");
  EXPECT_EQ(r7.string(true), "new-id");
  auto v6 = encode_join_group_response(e, 6);
  reader r6(v6);
  r6.i32();
  r6.i16();
  r6.i32();
  EXPECT_EQ(r6.string(true), "");  // protocol name is not nullable before v7
  EXPECT_EQ(r6.string(true), "");
  EXPECT_EQ(r6.string(true), "new-id");
  EXPECT_TRUE(r6.ok());
}

// ---- SyncGroup ------------------------------------------------------------

TEST(SyncGroupCodec, DecodesV3) {
  writer w;
  w.string("g", false);
  w.i32(4);
  w.string("m-1", false);
  w.nullable_string(std::nullopt, false);
  w.array_length(2, false);
  w.string("m-1", false);
  w.bytes(bytes_of({1}), false);
  w.string("m-2", false);
  w.bytes(bytes_of({2, 2}), false);
  auto req = decode_sync_group_request(w.buffer(), 3);
  ASSERT_TRUE(req.ok()) << req.err().message;
  EXPECT_EQ(req->generation_id, 4);
  EXPECT_EQ(req->member_id, "m-1");
  ASSERT_EQ(req->assignments.size(), 2u);
  EXPECT_EQ(req->assignments[1].member_id, "m-2");
  EXPECT_EQ(req->assignments[1].assignment, bytes_of({2, 2}));
  EXPECT_EQ(req->protocol_type, std::nullopt);
}

TEST(SyncGroupCodec, DecodesFlexibleV5WithProtocol) {
  writer w;
  w.string("g", true);
  w.i32(1);
  w.string("m-1", true);
  w.nullable_string(std::string("i-1"), true);
  w.nullable_string(std::string("consumer"), true);
  w.nullable_string(std::string("range"), true);
  w.array_length(1, true);
  w.string("m-1", true);
  w.bytes(bytes_of({5}), true);
  w.empty_tagged_fields();
  unknown_tags(w);
  auto req = decode_sync_group_request(w.buffer(), 5);
  ASSERT_TRUE(req.ok()) << req.err().message;
  EXPECT_EQ(req->group_instance_id, "i-1");
  EXPECT_EQ(req->protocol_type, "consumer");
  EXPECT_EQ(req->protocol_name, "range");
  ASSERT_EQ(req->assignments.size(), 1u);
  EXPECT_EQ(req->assignments[0].assignment, bytes_of({5}));
}

TEST(SyncGroupCodec, EncodesV0AndV5Responses) {
  sync_group_response resp;
  resp.throttle_time_ms = 1;
  resp.protocol_type = "consumer";
  resp.protocol_name = "range";
  resp.assignment = {4, 5};
  auto v0 = encode_sync_group_response(resp, 0);
  reader r0(v0);
  EXPECT_EQ(r0.i16(), 0);
  EXPECT_EQ(metadata_bytes(r0, false), bytes_of({4, 5}));
  EXPECT_EQ(r0.remaining(), 0u);

  auto v5 = encode_sync_group_response(resp, 5);
  reader r5(v5);
  EXPECT_EQ(r5.i32(), 1);
  EXPECT_EQ(r5.i16(), 0);
  EXPECT_EQ(r5.nullable_string(true), "consumer");
  EXPECT_EQ(r5.nullable_string(true), "range");
  EXPECT_EQ(metadata_bytes(r5, true), bytes_of({4, 5}));
  EXPECT_EQ(r5.uvarint(), 0u);
  EXPECT_TRUE(r5.ok());
  EXPECT_EQ(r5.remaining(), 0u);
}

// ---- OffsetCommit ---------------------------------------------------------

TEST(OffsetCommitCodec, DecodesV1WithCommitTimestamp) {
  writer w;
  w.string("g", false);
  w.i32(2);
  w.string("m-1", false);
  w.array_length(1, false);
  w.string("orders", false);
  w.array_length(1, false);
  w.i32(3);
  w.i64(42);
  w.i64(1'700'000'000'000);
  w.nullable_string(std::nullopt, false);
  auto req = decode_offset_commit_request(w.buffer(), 1);
  ASSERT_TRUE(req.ok()) << req.err().message;
  EXPECT_EQ(req->generation_id, 2);
  EXPECT_EQ(req->member_id, "m-1");
  ASSERT_EQ(req->topics.size(), 1u);
  ASSERT_EQ(req->topics[0].partitions.size(), 1u);
  const auto& p = req->topics[0].partitions[0];
  EXPECT_EQ(p.partition, 3);
  EXPECT_EQ(p.offset, 42);
  EXPECT_EQ(p.commit_timestamp, 1'700'000'000'000);
  EXPECT_EQ(p.metadata, std::nullopt);
}

TEST(OffsetCommitCodec, DecodesV0WithoutGeneration) {
  writer w;
  w.string("g", false);
  w.array_length(1, false);
  w.string("t", false);
  w.array_length(1, false);
  w.i32(0);
  w.i64(7);
  w.nullable_string(std::string("meta"), false);
  auto req = decode_offset_commit_request(w.buffer(), 0);
  ASSERT_TRUE(req.ok()) << req.err().message;
  EXPECT_EQ(req->generation_id, -1);
  EXPECT_EQ(req->member_id, "");
  EXPECT_EQ(req->topics[0].partitions[0].metadata, "meta");
}

TEST(OffsetCommitCodec, DecodesV2RetentionAndV7InstanceId) {
  writer w2;
  w2.string("g", false);
  w2.i32(1);
  w2.string("m", false);
  w2.i64(86'400'000);
  w2.array_length(0, false);
  auto v2 = decode_offset_commit_request(w2.buffer(), 2);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->retention_time_ms, 86'400'000);

  writer w7;
  w7.string("g", false);
  w7.i32(1);
  w7.string("m", false);
  w7.nullable_string(std::string("inst"), false);
  w7.array_length(1, false);
  w7.string("t", false);
  w7.array_length(1, false);
  w7.i32(1);
  w7.i64(100);
  w7.i32(5);  // leader epoch, v6+
  w7.nullable_string(std::string(""), false);
  auto v7 = decode_offset_commit_request(w7.buffer(), 7);
  ASSERT_TRUE(v7.ok()) << v7.err().message;
  EXPECT_EQ(v7->group_instance_id, "inst");
  EXPECT_EQ(v7->topics[0].partitions[0].leader_epoch, 5);
  EXPECT_EQ(v7->topics[0].partitions[0].offset, 100);
}

TEST(OffsetCommitCodec, DecodesFlexibleV8) {
  writer w;
  w.string("g", true);
  w.i32(9);
  w.string("m", true);
  w.nullable_string(std::nullopt, true);
  w.array_length(1, true);
  w.string("t", true);
  w.array_length(2, true);
  for (int32_t p = 0; p < 2; ++p) {
    w.i32(p);
    w.i64(10 + p);
    w.i32(-1);
    w.nullable_string(std::nullopt, true);
    unknown_tags(w);
  }
  w.empty_tagged_fields();
  w.empty_tagged_fields();
  auto req = decode_offset_commit_request(w.buffer(), 8);
  ASSERT_TRUE(req.ok()) << req.err().message;
  ASSERT_EQ(req->topics[0].partitions.size(), 2u);
  EXPECT_EQ(req->topics[0].partitions[1].offset, 11);
  EXPECT_EQ(req->generation_id, 9);
}

offset_commit_response sample_commit_response() {
  offset_commit_response resp;
  resp.throttle_time_ms = 2;
  resp.topics.push_back({"t", {{0, error_code::none}, {1, error_code::illegal_generation}}});
  return resp;
}

TEST(OffsetCommitCodec, EncodesV2AndV8Responses) {
  auto v2 = encode_offset_commit_response(sample_commit_response(), 2);
  reader r2(v2);
  EXPECT_EQ(r2.array_length(false), 1);  // no throttle before v3
  EXPECT_EQ(r2.string(false), "t");
  EXPECT_EQ(r2.array_length(false), 2);
  EXPECT_EQ(r2.i32(), 0);
  EXPECT_EQ(r2.i16(), 0);
  EXPECT_EQ(r2.i32(), 1);
  EXPECT_EQ(r2.i16(), 22);
  EXPECT_EQ(r2.remaining(), 0u);

  auto v8 = encode_offset_commit_response(sample_commit_response(), 8);
  reader r8(v8);
  EXPECT_EQ(r8.i32(), 2);
  EXPECT_EQ(r8.array_length(true), 1);
  EXPECT_EQ(r8.string(true), "t");
  EXPECT_EQ(r8.array_length(true), 2);
  EXPECT_EQ(r8.i32(), 0);
  EXPECT_EQ(r8.i16(), 0);
  EXPECT_EQ(r8.uvarint(), 0u);
  EXPECT_EQ(r8.i32(), 1);
  EXPECT_EQ(r8.i16(), 22);
  EXPECT_EQ(r8.uvarint(), 0u);
  EXPECT_EQ(r8.uvarint(), 0u);  // topic tags
  EXPECT_EQ(r8.uvarint(), 0u);  // top-level tags
  EXPECT_TRUE(r8.ok());
  EXPECT_EQ(r8.remaining(), 0u);
}

// ---- OffsetFetch ----------------------------------------------------------

TEST(OffsetFetchCodec, DecodesV1TopicsAndRejectsNullBeforeV2) {
  writer w;
  w.string("g", false);
  w.array_length(1, false);
  w.string("t", false);
  w.array_length(2, false);
  w.i32(0);
  w.i32(5);
  auto req = decode_offset_fetch_request(w.buffer(), 1);
  ASSERT_TRUE(req.ok());
  ASSERT_TRUE(req->topics.has_value());
  ASSERT_EQ(req->topics->size(), 1u);
  EXPECT_EQ((*req->topics)[0].partitions, (std::vector<int32_t>{0, 5}));

  writer null_topics;
  null_topics.string("g", false);
  null_topics.array_length(-1, false);
  EXPECT_FALSE(decode_offset_fetch_request(null_topics.buffer(), 1).ok());
  auto v2 = decode_offset_fetch_request(null_topics.buffer(), 2);
  ASSERT_TRUE(v2.ok());
  EXPECT_FALSE(v2->topics.has_value());
}

TEST(OffsetFetchCodec, DecodesFlexibleV7NullTopicsAndRequireStable) {
  writer w;
  w.string("g", true);
  w.array_length(-1, true);
  w.boolean(true);
  unknown_tags(w);
  auto req = decode_offset_fetch_request(w.buffer(), 7);
  ASSERT_TRUE(req.ok()) << req.err().message;
  EXPECT_FALSE(req->topics.has_value());
  EXPECT_TRUE(req->require_stable);
}

offset_fetch_response sample_fetch_response() {
  offset_fetch_response resp;
  resp.throttle_time_ms = 3;
  offset_fetch_partition_result p;
  p.partition = 2;
  p.offset = 99;
  p.leader_epoch = 4;
  p.metadata = "m";
  resp.topics.push_back({"t", {p}});
  return resp;
}

TEST(OffsetFetchCodec, EncodesV1V5AndV6Responses) {
  auto v1 = encode_offset_fetch_response(sample_fetch_response(), 1);
  reader r1(v1);
  EXPECT_EQ(r1.array_length(false), 1);
  EXPECT_EQ(r1.string(false), "t");
  EXPECT_EQ(r1.array_length(false), 1);
  EXPECT_EQ(r1.i32(), 2);
  EXPECT_EQ(r1.i64(), 99);
  EXPECT_EQ(r1.nullable_string(false), "m");
  EXPECT_EQ(r1.i16(), 0);
  EXPECT_EQ(r1.remaining(), 0u);  // no top-level error before v2

  auto v5 = encode_offset_fetch_response(sample_fetch_response(), 5);
  reader r5(v5);
  EXPECT_EQ(r5.i32(), 3);
  EXPECT_EQ(r5.array_length(false), 1);
  EXPECT_EQ(r5.string(false), "t");
  EXPECT_EQ(r5.array_length(false), 1);
  EXPECT_EQ(r5.i32(), 2);
  EXPECT_EQ(r5.i64(), 99);
  EXPECT_EQ(r5.i32(), 4);
  EXPECT_EQ(r5.nullable_string(false), "m");
  EXPECT_EQ(r5.i16(), 0);
  EXPECT_EQ(r5.i16(), 0);
  EXPECT_EQ(r5.remaining(), 0u);

  auto v6 = encode_offset_fetch_response(sample_fetch_response(), 6);
  reader r6(v6);
  EXPECT_EQ(r6.i32(), 3);
  EXPECT_EQ(r6.array_length(true), 1);
  EXPECT_EQ(r6.string(true), "t");
  EXPECT_EQ(r6.array_length(true), 1);
  EXPECT_EQ(r6.i32(), 2);
  EXPECT_EQ(r6.i64(), 99);
  EXPECT_EQ(r6.i32(), 4);
  EXPECT_EQ(r6.nullable_string(true), "m");
  EXPECT_EQ(r6.i16(), 0);
  EXPECT_EQ(r6.uvarint(), 0u);
  EXPECT_EQ(r6.uvarint(), 0u);
  EXPECT_EQ(r6.i16(), 0);
  EXPECT_EQ(r6.uvarint(), 0u);
  EXPECT_TRUE(r6.ok());
  EXPECT_EQ(r6.remaining(), 0u);
}

// ---- The smaller APIs -----------------------------------------------------

TEST(HeartbeatCodec, DecodesV0AndV4) {
  writer w0;
  w0.string("g", false);
  w0.i32(3);
  w0.string("m", false);
  auto v0 = decode_heartbeat_request(w0.buffer(), 0);
  ASSERT_TRUE(v0.ok());
  EXPECT_EQ(v0->generation_id, 3);

  writer w4;
  w4.string("g", true);
  w4.i32(3);
  w4.string("m", true);
  w4.nullable_string(std::string("i"), true);
  unknown_tags(w4);
  auto v4 = decode_heartbeat_request(w4.buffer(), 4);
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->group_instance_id, "i");

  heartbeat_response resp{0, error_code::rebalance_in_progress};
  auto out0 = encode_heartbeat_response(resp, 0);
  EXPECT_EQ(out0, bytes_of({0, 27}));
  auto out4 = encode_heartbeat_response(resp, 4);
  EXPECT_EQ(out4, bytes_of({0, 0, 0, 0, 0, 27, 0}));
}

TEST(LeaveGroupCodec, V2HasOneMemberAndV4ABatch) {
  writer w2;
  w2.string("g", false);
  w2.string("m-1", false);
  auto v2 = decode_leave_group_request(w2.buffer(), 2);
  ASSERT_TRUE(v2.ok());
  ASSERT_EQ(v2->members.size(), 1u);
  EXPECT_EQ(v2->members[0].member_id, "m-1");

  writer w4;
  w4.string("g", true);
  w4.array_length(2, true);
  w4.string("m-1", true);
  w4.nullable_string(std::nullopt, true);
  w4.empty_tagged_fields();
  w4.string("", true);
  w4.nullable_string(std::string("i-2"), true);
  w4.empty_tagged_fields();
  w4.empty_tagged_fields();
  auto v4 = decode_leave_group_request(w4.buffer(), 4);
  ASSERT_TRUE(v4.ok()) << v4.err().message;
  ASSERT_EQ(v4->members.size(), 2u);
  EXPECT_EQ(v4->members[1].group_instance_id, "i-2");

  leave_group_response resp;
  resp.members.push_back({"m-1", std::nullopt, error_code::unknown_member_id});
  auto out1 = encode_leave_group_response(resp, 1);
  reader r1(out1);
  EXPECT_EQ(r1.i32(), 0);
  EXPECT_EQ(r1.i16(), 25);  // the single member's error is the answer before v3
  EXPECT_EQ(r1.remaining(), 0u);
  auto out4 = encode_leave_group_response(resp, 4);
  reader r4(out4);
  EXPECT_EQ(r4.i32(), 0);
  EXPECT_EQ(r4.i16(), 0);
  EXPECT_EQ(r4.array_length(true), 1);
  EXPECT_EQ(r4.string(true), "m-1");
  EXPECT_EQ(r4.nullable_string(true), std::nullopt);
  EXPECT_EQ(r4.i16(), 25);
  EXPECT_EQ(r4.uvarint(), 0u);
  EXPECT_EQ(r4.uvarint(), 0u);
  EXPECT_EQ(r4.remaining(), 0u);
}

TEST(FindCoordinatorCodec, V0AndV3) {
  writer w0;
  w0.string("g", false);
  auto v0 = decode_find_coordinator_request(w0.buffer(), 0);
  ASSERT_TRUE(v0.ok());
  EXPECT_EQ(v0->key, "g");
  EXPECT_EQ(v0->key_type, 0);

  writer w3;
  w3.string("txn", true);
  w3.i8(1);
  w3.empty_tagged_fields();
  auto v3 = decode_find_coordinator_request(w3.buffer(), 3);
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(v3->key_type, 1);

  find_coordinator_response resp;
  resp.node_id = 4;
  resp.host = "h";
  resp.port = 9092;
  auto out0 = encode_find_coordinator_response(resp, 0);
  reader r0(out0);
  EXPECT_EQ(r0.i16(), 0);
  EXPECT_EQ(r0.i32(), 4);
  EXPECT_EQ(r0.string(false), "h");
  EXPECT_EQ(r0.i32(), 9092);
  EXPECT_EQ(r0.remaining(), 0u);
  auto out3 = encode_find_coordinator_response(resp, 3);
  reader r3(out3);
  EXPECT_EQ(r3.i32(), 0);
  EXPECT_EQ(r3.i16(), 0);
  EXPECT_EQ(r3.nullable_string(true), std::nullopt);
  EXPECT_EQ(r3.i32(), 4);
  EXPECT_EQ(r3.string(true), "h");
  EXPECT_EQ(r3.i32(), 9092);
  EXPECT_EQ(r3.uvarint(), 0u);
  EXPECT_EQ(r3.remaining(), 0u);
}

TEST(ListGroupsCodec, V0AndV4WithStates) {
  EXPECT_TRUE(decode_list_groups_request({}, 0).ok());
  writer w4;
  w4.array_length(1, true);
  w4.string("Stable", true);
  w4.empty_tagged_fields();
  auto v4 = decode_list_groups_request(w4.buffer(), 4);
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->states_filter, std::vector<std::string>{"Stable"});

  list_groups_response resp;
  resp.groups.push_back({"g", "consumer", "Stable"});
  auto out0 = encode_list_groups_response(resp, 0);
  reader r0(out0);
  EXPECT_EQ(r0.i16(), 0);
  EXPECT_EQ(r0.array_length(false), 1);
  EXPECT_EQ(r0.string(false), "g");
  EXPECT_EQ(r0.string(false), "consumer");
  EXPECT_EQ(r0.remaining(), 0u);
  auto out4 = encode_list_groups_response(resp, 4);
  reader r4(out4);
  EXPECT_EQ(r4.i32(), 0);
  EXPECT_EQ(r4.i16(), 0);
  EXPECT_EQ(r4.array_length(true), 1);
  EXPECT_EQ(r4.string(true), "g");
  EXPECT_EQ(r4.string(true), "consumer");
  EXPECT_EQ(r4.string(true), "Stable");
  EXPECT_EQ(r4.uvarint(), 0u);
  EXPECT_EQ(r4.uvarint(), 0u);
  EXPECT_EQ(r4.remaining(), 0u);
}

TEST(DescribeGroupsCodec, V0AndV5) {
  writer w5;
  w5.array_length(2, true);
  w5.string("a", true);
  w5.string("b", true);
  w5.boolean(true);
  w5.empty_tagged_fields();
  auto v5 = decode_describe_groups_request(w5.buffer(), 5);
  ASSERT_TRUE(v5.ok());
  EXPECT_EQ(v5->groups, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(v5->include_authorized_operations);

  describe_groups_response resp;
  described_group g;
  g.group_id = "a";
  g.group_state = "Stable";
  g.protocol_type = "consumer";
  g.protocol_data = "range";
  g.members.push_back({"m", std::string("i"), "cid", "/1.2.3.4", {1}, {2}});
  resp.groups.push_back(g);
  auto out0 = encode_describe_groups_response(resp, 0);
  reader r0(out0);
  EXPECT_EQ(r0.array_length(false), 1);
  EXPECT_EQ(r0.i16(), 0);
  EXPECT_EQ(r0.string(false), "a");
  EXPECT_EQ(r0.string(false), "Stable");
  EXPECT_EQ(r0.string(false), "consumer");
  EXPECT_EQ(r0.string(false), "range");
  EXPECT_EQ(r0.array_length(false), 1);
  EXPECT_EQ(r0.string(false), "m");
  EXPECT_EQ(r0.string(false), "cid");
  EXPECT_EQ(r0.string(false), "/1.2.3.4");
  EXPECT_EQ(metadata_bytes(r0, false), bytes_of({1}));
  EXPECT_EQ(metadata_bytes(r0, false), bytes_of({2}));
  EXPECT_EQ(r0.remaining(), 0u);

  auto out5 = encode_describe_groups_response(resp, 5);
  reader r5(out5);
  EXPECT_EQ(r5.i32(), 0);
  EXPECT_EQ(r5.array_length(true), 1);
  EXPECT_EQ(r5.i16(), 0);
  EXPECT_EQ(r5.string(true), "a");
  EXPECT_EQ(r5.string(true), "Stable");
  EXPECT_EQ(r5.string(true), "consumer");
  EXPECT_EQ(r5.string(true), "range");
  EXPECT_EQ(r5.array_length(true), 1);
  EXPECT_EQ(r5.string(true), "m");
  EXPECT_EQ(r5.nullable_string(true), "i");
  EXPECT_EQ(r5.string(true), "cid");
  EXPECT_EQ(r5.string(true), "/1.2.3.4");
  EXPECT_EQ(metadata_bytes(r5, true), bytes_of({1}));
  EXPECT_EQ(metadata_bytes(r5, true), bytes_of({2}));
  EXPECT_EQ(r5.uvarint(), 0u);
  EXPECT_EQ(r5.i32(), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(r5.uvarint(), 0u);
  EXPECT_EQ(r5.uvarint(), 0u);
  EXPECT_EQ(r5.remaining(), 0u);
}

TEST(GroupCodecs, EveryDecoderRejectsGarbage) {
  std::vector<uint8_t> garbage{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F};
  for (int16_t v : {0, 7}) EXPECT_FALSE(decode_join_group_request(garbage, v).ok());
  for (int16_t v : {0, 5}) EXPECT_FALSE(decode_sync_group_request(garbage, v).ok());
  for (int16_t v : {0, 4}) EXPECT_FALSE(decode_heartbeat_request(garbage, v).ok());
  for (int16_t v : {0, 4}) EXPECT_FALSE(decode_leave_group_request(garbage, v).ok());
  for (int16_t v : {0, 8}) EXPECT_FALSE(decode_offset_commit_request(garbage, v).ok());
  for (int16_t v : {0, 7}) EXPECT_FALSE(decode_offset_fetch_request(garbage, v).ok());
  for (int16_t v : {0, 3}) EXPECT_FALSE(decode_find_coordinator_request(garbage, v).ok());
  EXPECT_FALSE(decode_list_groups_request(garbage, 4).ok());
  for (int16_t v : {0, 5}) EXPECT_FALSE(decode_describe_groups_request(garbage, v).ok());
}

}  // namespace
}  // namespace strata::kafka::groups
