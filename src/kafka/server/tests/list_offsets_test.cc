#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kafka/server/handlers/handlers.h"
#include "kafka/server/tests/handler_harness.h"

namespace strata::kafka {
namespace {

struct query {
  std::string topic;
  int32_t partition = 0;
  int64_t timestamp = -1;
  int32_t leader_epoch = -1;
};

// One topic entry per query, in order, so a topic may repeat.
std::vector<uint8_t> offsets_request(int16_t version, const std::vector<query>& queries) {
  bool flex = testing::handler_harness::is_flexible(api_key::list_offsets, version);
  writer w;
  w.i32(-1);                     // replica_id
  if (version >= 2) w.i8(1);     // isolation_level: read_committed
  w.array_length(static_cast<int32_t>(queries.size()), flex);
  for (const auto& q : queries) {
    w.string(q.topic, flex);
    w.array_length(1, flex);
    w.i32(q.partition);
    if (version >= 4) w.i32(q.leader_epoch);
    w.i64(q.timestamp);
    if (flex) w.empty_tagged_fields();
    if (flex) w.empty_tagged_fields();
  }
  if (flex) w.empty_tagged_fields();
  return w.buffer();
}

struct answer {
  std::string topic;
  int32_t partition = 0;
  int16_t error = 0;
  int64_t timestamp = 0;
  int64_t offset = 0;
  int32_t leader_epoch = -99;
};

std::vector<answer> decode_response(int16_t version, const std::vector<uint8_t>& body) {
  bool flex = testing::handler_harness::is_flexible(api_key::list_offsets, version);
  reader r(body);
  if (version >= 2) {
    EXPECT_EQ(r.i32(), 0);  // throttle_time_ms
  }
  std::vector<answer> out;
  int32_t topics = r.array_length(flex);
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    std::string name = r.string(flex);
    int32_t parts = r.array_length(flex);
    for (int32_t j = 0; j < parts && r.ok(); ++j) {
      answer a;
      a.topic = name;
      a.partition = r.i32();
      a.error = r.i16();
      a.timestamp = r.i64();
      a.offset = r.i64();
      if (version >= 4) a.leader_epoch = r.i32();
      if (flex) r.skip_tagged_fields();
      out.push_back(a);
    }
    if (flex) r.skip_tagged_fields();
  }
  if (flex) r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

class ListOffsets : public ::testing::Test {
 protected:
  void SetUp() override {
    h.streams.add_topic("t", 2);
    auto& p = h.streams.partition("t", 0);
    p.log_start_offset = 10;
    p.timestamps = {100, 200, 300, 400};  // offsets 10..13
  }

  std::vector<answer> run(int16_t version, const std::vector<query>& queries) {
    auto body = h.call(handlers::list_offsets, api_key::list_offsets, version, offsets_request(version, queries));
    return decode_response(version, body);
  }
  answer one(int16_t version, const query& q) {
    auto out = run(version, {q});
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? answer{} : out[0];
  }
  testing::handler_harness h;
};

TEST_F(ListOffsets, V1LatestEarliestAndByTimestamp) {
  answer latest = one(1, {.topic = "t", .timestamp = -1});
  EXPECT_EQ(latest.error, 0);
  EXPECT_EQ(latest.offset, 14);
  EXPECT_EQ(latest.timestamp, -1);
  answer earliest = one(1, {.topic = "t", .timestamp = -2});
  EXPECT_EQ(earliest.offset, 10);
  EXPECT_EQ(earliest.timestamp, -1);
  answer first = one(1, {.topic = "t", .timestamp = 1});
  EXPECT_EQ(first.offset, 10);
  EXPECT_EQ(first.timestamp, 100);
  EXPECT_EQ(one(1, {.topic = "nope", .timestamp = -1}).error,
            static_cast<int16_t>(error_code::unknown_topic_or_partition));
}

TEST_F(ListOffsets, V1AnswersEveryPartitionOfOneRequest) {
  auto out = run(1, {{.topic = "t", .partition = 0, .timestamp = -1},
                     {.topic = "t", .partition = 1, .timestamp = -1},
                     {.topic = "t", .partition = 2, .timestamp = -1}});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].partition, 0);
  EXPECT_EQ(out[0].offset, 14);
  EXPECT_EQ(out[1].partition, 1);
  EXPECT_EQ(out[1].error, 0);
  EXPECT_EQ(out[1].offset, 0);  // empty partition
  EXPECT_EQ(out[2].partition, 2);
  EXPECT_EQ(out[2].error, static_cast<int16_t>(error_code::unknown_topic_or_partition));
  EXPECT_EQ(out[2].offset, -1);
}

TEST_F(ListOffsets, V2FindsFirstRecordAtOrAfterTimestamp) {
  answer mid = one(2, {.topic = "t", .timestamp = 250});
  EXPECT_EQ(mid.offset, 12);
  EXPECT_EQ(mid.timestamp, 300);
  answer after_last = one(2, {.topic = "t", .timestamp = 401});
  EXPECT_EQ(after_last.error, 0);
  EXPECT_EQ(after_last.offset, -1);
  EXPECT_EQ(after_last.timestamp, -1);
  EXPECT_EQ(one(2, {.topic = "t", .partition = 1, .timestamp = 250}).offset, -1);  // empty partition
}

TEST_F(ListOffsets, V4LeaderEpochIsZeroAndNewerEpochIsRefused) {
  auto out = run(4, {{.topic = "t", .timestamp = -1, .leader_epoch = 0},
                     {.topic = "t", .partition = 1, .timestamp = -1, .leader_epoch = 3}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].error, 0);
  EXPECT_EQ(out[0].leader_epoch, 0);
  EXPECT_EQ(out[0].offset, 14);
  EXPECT_EQ(out[1].error, static_cast<int16_t>(error_code::unknown_leader_epoch));
}

TEST_F(ListOffsets, V6FlexibleMatchesV1Answers) {
  EXPECT_EQ(one(6, {.topic = "t", .timestamp = -2}).offset, 10);
  answer by_time = one(6, {.topic = "t", .timestamp = 300});
  EXPECT_EQ(by_time.offset, 12);
  EXPECT_EQ(by_time.timestamp, 300);
  EXPECT_EQ(by_time.leader_epoch, 0);
}

TEST_F(ListOffsets, V7MaxTimestampIsTheLastRecord) {
  auto out = run(7, {{.topic = "t", .timestamp = -3}, {.topic = "t", .partition = 1, .timestamp = -3}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].error, 0);
  EXPECT_EQ(out[0].offset, 13);
  EXPECT_EQ(out[1].error, 0);
  EXPECT_EQ(out[1].offset, -1);  // empty partition: no record
}

TEST_F(ListOffsets, DuplicatePartitionIsInvalid) {
  auto out = run(5, {{.topic = "t", .timestamp = -1}, {.topic = "t", .timestamp = -2}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].error, 0);
  EXPECT_EQ(out[1].error, static_cast<int16_t>(error_code::invalid_request));
}

TEST_F(ListOffsets, TruncatedBodyIsAnError) {
  auto body = offsets_request(7, {{.topic = "t", .timestamp = -1}});
  body.resize(body.size() - 6);
  int responded = 0;
  EXPECT_FALSE(h.call_raw(handlers::list_offsets, api_key::list_offsets, 7, body, responded).ok());
  EXPECT_EQ(responded, 0);
}

}  // namespace
}  // namespace strata::kafka
