#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "kafka/server/handlers/handlers.h"
#include "kafka/server/tests/handler_harness.h"

namespace strata::kafka {
namespace {

struct target {
  std::optional<std::string> name;
  uuid id{};
};

std::vector<uint8_t> delete_request(int16_t version, const std::vector<target>& targets) {
  bool flex = testing::handler_harness::is_flexible(api_key::delete_topics, version);
  writer w;
  w.array_length(static_cast<int32_t>(targets.size()), flex);
  for (const auto& t : targets) {
    if (version >= 6) {
      w.nullable_string(t.name, flex);
      w.write_uuid(t.id);
      if (flex) w.empty_tagged_fields();
    } else {
      w.string(*t.name, flex);
    }
  }
  w.i32(30'000);
  if (flex) w.empty_tagged_fields();
  return w.buffer();
}

struct result_out {
  std::optional<std::string> name;
  uuid id{};
  int16_t error = 0;
  std::optional<std::string> message;
};

std::vector<result_out> decode_response(int16_t version, const std::vector<uint8_t>& body) {
  bool flex = testing::handler_harness::is_flexible(api_key::delete_topics, version);
  reader r(body);
  if (version >= 1) {
    EXPECT_EQ(r.i32(), 0);  // throttle_time_ms
  }
  std::vector<result_out> out;
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    result_out t;
    t.name = version >= 6 ? r.nullable_string(flex) : r.string(flex);
    if (version >= 6) t.id = r.read_uuid();
    t.error = r.i16();
    if (version >= 5) t.message = r.nullable_string(flex);
    if (flex) r.skip_tagged_fields();
    out.push_back(t);
  }
  if (flex) r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

class DeleteTopics : public ::testing::Test {
 protected:
  std::vector<result_out> run(int16_t version, const std::vector<target>& targets) {
    auto body = h.call(handlers::delete_topics, api_key::delete_topics, version, delete_request(version, targets));
    return decode_response(version, body);
  }
  testing::handler_harness h;
};

TEST_F(DeleteTopics, V1DeletesByNameAndReportsUnknown) {
  h.streams.add_topic("a", 1);
  auto out = run(1, {{.name = "a"}, {.name = "missing"}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name, "a");
  EXPECT_EQ(out[0].error, 0);
  EXPECT_EQ(out[1].name, "missing");
  EXPECT_EQ(out[1].error, static_cast<int16_t>(error_code::unknown_topic_or_partition));
  EXPECT_FALSE(h.streams.has_topic("a"));
}

TEST_F(DeleteTopics, V4FlexibleDeletesByName) {
  h.streams.add_topic("b", 2);
  h.streams.add_topic("keep", 1);
  auto out = run(4, {{.name = "b"}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].error, 0);
  EXPECT_FALSE(h.streams.has_topic("b"));
  EXPECT_TRUE(h.streams.has_topic("keep"));
}

TEST_F(DeleteTopics, V5ReportsDuplicateOnceWithMessage) {
  h.streams.add_topic("dup", 1);
  auto out = run(5, {{.name = "dup"}, {.name = "dup"}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].error, static_cast<int16_t>(error_code::invalid_request));
  EXPECT_TRUE(out[0].message.has_value());
  EXPECT_TRUE(h.streams.has_topic("dup"));
}

TEST_F(DeleteTopics, V6ResolvesTopicIds) {
  uuid id = h.streams.add_topic("by-id", 1).id;
  uuid other = h.streams.add_topic("by-name", 1).id;
  uuid unknown{};
  unknown[3] = 9;
  auto out = run(6, {{.name = std::nullopt, .id = id}, {.name = "by-name"}, {.name = std::nullopt, .id = unknown}});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].name, "by-id");
  EXPECT_EQ(out[0].id, id);
  EXPECT_EQ(out[0].error, 0);
  EXPECT_EQ(out[1].id, other);
  EXPECT_EQ(out[1].error, 0);
  EXPECT_EQ(out[2].name, std::nullopt);
  EXPECT_EQ(out[2].id, unknown);
  EXPECT_EQ(out[2].error, static_cast<int16_t>(error_code::unknown_topic_id));
  EXPECT_TRUE(out[2].message.has_value());
  EXPECT_FALSE(h.streams.has_topic("by-id"));
  EXPECT_FALSE(h.streams.has_topic("by-name"));
}

TEST_F(DeleteTopics, V6RefusesNameTogetherWithId) {
  uuid id = h.streams.add_topic("both", 1).id;
  auto out = run(6, {{.name = "both", .id = id}, {.name = std::nullopt}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].error, static_cast<int16_t>(error_code::invalid_request));
  EXPECT_EQ(out[1].error, static_cast<int16_t>(error_code::invalid_request));
  EXPECT_TRUE(h.streams.has_topic("both"));
}

TEST_F(DeleteTopics, TruncatedBodyIsAnError) {
  auto body = delete_request(6, {{.name = "x"}});
  body.resize(body.size() - 5);
  int responded = 0;
  EXPECT_FALSE(h.call_raw(handlers::delete_topics, api_key::delete_topics, 6, body, responded).ok());
  EXPECT_EQ(responded, 0);
}

}  // namespace
}  // namespace strata::kafka
