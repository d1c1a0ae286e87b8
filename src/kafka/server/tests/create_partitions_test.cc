#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "kafka/server/handlers/handlers.h"
#include "kafka/server/tests/handler_harness.h"

namespace strata::kafka {
namespace {

struct grow_spec {
  std::string name;
  int32_t count = 0;
  int32_t assignments = -1;  // -1 sends a null array
};

std::vector<uint8_t> grow_request(int16_t version, const std::vector<grow_spec>& topics, bool validate_only) {
  bool flex = testing::handler_harness::is_flexible(api_key::create_partitions, version);
  writer w;
  w.array_length(static_cast<int32_t>(topics.size()), flex);
  for (const auto& t : topics) {
    w.string(t.name, flex);
    w.i32(t.count);
    w.array_length(t.assignments, flex);
    for (int32_t i = 0; i < t.assignments; ++i) {
      w.array_length(1, flex);
      w.i32(0);
      if (flex) w.empty_tagged_fields();
    }
    if (flex) w.empty_tagged_fields();
  }
  w.i32(30'000);
  w.boolean(validate_only);
  if (flex) w.empty_tagged_fields();
  return w.buffer();
}

struct result_out {
  std::string name;
  int16_t error = 0;
  std::optional<std::string> message;
};

std::vector<result_out> decode_response(int16_t version, const std::vector<uint8_t>& body) {
  bool flex = testing::handler_harness::is_flexible(api_key::create_partitions, version);
  reader r(body);
  EXPECT_EQ(r.i32(), 0);  // throttle_time_ms
  std::vector<result_out> out;
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    result_out t;
    t.name = r.string(flex);
    t.error = r.i16();
    t.message = r.nullable_string(flex);
    if (flex) r.skip_tagged_fields();
    out.push_back(t);
  }
  if (flex) r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

class CreatePartitions : public ::testing::Test {
 protected:
  std::vector<result_out> run(int16_t version, const std::vector<grow_spec>& topics, bool validate_only = false) {
    auto body = h.call(handlers::create_partitions, api_key::create_partitions, version,
                       grow_request(version, topics, validate_only));
    return decode_response(version, body);
  }
  testing::handler_harness h;
};

TEST_F(CreatePartitions, V1GrowsAndRefusesShrinkOrNoop) {
  h.streams.add_topic("grow", 1);
  h.streams.add_topic("shrink", 3);
  h.streams.add_topic("same", 2);
  auto out = run(1, {{.name = "grow", .count = 3},
                     {.name = "shrink", .count = 2},
                     {.name = "same", .count = 2},
                     {.name = "missing", .count = 2}});
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].error, 0);
  EXPECT_EQ(out[0].message, std::nullopt);
  EXPECT_EQ(h.streams.topic("grow").partitions.size(), 3u);
  EXPECT_EQ(out[1].error, static_cast<int16_t>(error_code::invalid_partitions));
  EXPECT_EQ(h.streams.topic("shrink").partitions.size(), 3u);
  EXPECT_EQ(out[2].error, static_cast<int16_t>(error_code::invalid_partitions));
  ASSERT_TRUE(out[2].message.has_value());
  EXPECT_EQ(out[3].error, static_cast<int16_t>(error_code::unknown_topic_or_partition));
  EXPECT_EQ(h.streams.create_partitions_calls, 1);
}

TEST_F(CreatePartitions, ValidateOnlyChangesNothing) {
  h.streams.add_topic("t", 1);
  auto out = run(0, {{.name = "t", .count = 4}}, /*validate_only=*/true);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].error, 0);
  EXPECT_EQ(h.streams.topic("t").partitions.size(), 1u);
  EXPECT_EQ(h.streams.create_partitions_calls, 0);
}

TEST_F(CreatePartitions, V2FlexibleRefusesAssignmentsAndLimit) {
  h.streams.add_topic("placed", 1);
  h.streams.add_topic("limit", 1);
  h.streams.add_topic("ok", 1);
  auto out = run(2, {{.name = "placed", .count = 2, .assignments = 1},
                     {.name = "limit", .count = 101},
                     {.name = "ok", .count = 2, .assignments = 0}});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].error, static_cast<int16_t>(error_code::invalid_request));
  EXPECT_EQ(out[1].error, static_cast<int16_t>(error_code::invalid_partitions));
  EXPECT_EQ(out[2].error, 0);
  EXPECT_EQ(h.streams.topic("placed").partitions.size(), 1u);
  EXPECT_EQ(h.streams.topic("limit").partitions.size(), 1u);
  EXPECT_EQ(h.streams.topic("ok").partitions.size(), 2u);
}

TEST_F(CreatePartitions, V3DuplicateAnsweredOnce) {
  h.streams.add_topic("d", 1);
  auto out = run(3, {{.name = "d", .count = 2}, {.name = "d", .count = 3}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].error, static_cast<int16_t>(error_code::invalid_request));
  EXPECT_EQ(h.streams.topic("d").partitions.size(), 1u);
}

TEST_F(CreatePartitions, TruncatedBodyIsAnError) {
  auto body = grow_request(3, {{.name = "t", .count = 2}}, false);
  body.pop_back();
  body.pop_back();
  int responded = 0;
  EXPECT_FALSE(h.call_raw(handlers::create_partitions, api_key::create_partitions, 3, body, responded).ok());
  EXPECT_EQ(responded, 0);
}

}  // namespace
}  // namespace strata::kafka
