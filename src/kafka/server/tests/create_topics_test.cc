#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "kafka/server/handlers/handlers.h"
#include "kafka/server/tests/handler_harness.h"

namespace strata::kafka {
namespace {

struct topic_spec {
  std::string name;
  int32_t partitions = -1;
  int16_t replication = -1;
  std::vector<std::pair<int32_t, std::vector<int32_t>>> assignment{};  // partition index, replicas
  std::vector<std::pair<std::string, std::optional<std::string>>> configs{};
};

std::vector<uint8_t> create_request(int16_t version, const std::vector<topic_spec>& topics, bool validate_only) {
  bool flex = testing::handler_harness::is_flexible(api_key::create_topics, version);
  writer w;
  w.array_length(static_cast<int32_t>(topics.size()), flex);
  for (const auto& t : topics) {
    w.string(t.name, flex);
    w.i32(t.partitions);
    w.i16(t.replication);
    w.array_length(static_cast<int32_t>(t.assignment.size()), flex);
    for (const auto& [index, replicas] : t.assignment) {
      w.i32(index);
      w.array_length(static_cast<int32_t>(replicas.size()), flex);
      for (int32_t id : replicas) w.i32(id);
      if (flex) w.empty_tagged_fields();
    }
    w.array_length(static_cast<int32_t>(t.configs.size()), flex);
    for (const auto& [k, v] : t.configs) {
      w.string(k, flex);
      w.nullable_string(v, flex);
      if (flex) w.empty_tagged_fields();
    }
    if (flex) w.empty_tagged_fields();
  }
  w.i32(30'000);
  if (version >= 1) w.boolean(validate_only);
  if (flex) w.empty_tagged_fields();
  return w.buffer();
}

struct config_out {
  std::string name;
  std::optional<std::string> value;
  bool read_only = false;
  int8_t source = 0;
  bool sensitive = false;
};

struct topic_out {
  std::string name;
  uuid id{};
  int16_t error = 0;
  std::optional<std::string> message;
  int32_t partitions = 0;
  int16_t replication = 0;
  std::vector<config_out> configs;

  const config_out* config(const std::string& n) const {
    for (const auto& c : configs) {
      if (c.name == n) return &c;
    }
    return nullptr;
  }
};

std::vector<config_out> decode_configs(reader& r, bool flex) {
  std::vector<config_out> out;
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    config_out c;
    c.name = r.string(flex);
    c.value = r.nullable_string(flex);
    c.read_only = r.boolean();
    c.source = r.i8();
    c.sensitive = r.boolean();
    if (flex) r.skip_tagged_fields();
    out.push_back(c);
  }
  return out;
}

std::vector<topic_out> decode_response(int16_t version, const std::vector<uint8_t>& body) {
  bool flex = testing::handler_harness::is_flexible(api_key::create_topics, version);
  reader r(body);
  if (version >= 2) {
    EXPECT_EQ(r.i32(), 0);  // throttle_time_ms
  }
  std::vector<topic_out> out;
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    topic_out t;
    t.name = r.string(flex);
    if (version >= 7) t.id = r.read_uuid();
    t.error = r.i16();
    if (version >= 1) t.message = r.nullable_string(flex);
    if (version >= 5) {
      t.partitions = r.i32();
      t.replication = r.i16();
      t.configs = decode_configs(r, flex);
    }
    if (flex) r.skip_tagged_fields();
    out.push_back(t);
  }
  if (flex) r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

class CreateTopics : public ::testing::Test {
 protected:
  std::vector<topic_out> run(int16_t version, const std::vector<topic_spec>& topics, bool validate_only = false) {
    auto body = h.call(handlers::create_topics, api_key::create_topics, version,
                       create_request(version, topics, validate_only));
    return decode_response(version, body);
  }
  testing::handler_harness h;
};

TEST_F(CreateTopics, V0CreatesTopicWithRequestedPartitions) {
  auto out = run(0, {{.name = "orders", .partitions = 3, .replication = 1}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "orders");
  EXPECT_EQ(out[0].error, 0);
  ASSERT_TRUE(h.streams.has_topic("orders"));
  EXPECT_EQ(h.streams.topic("orders").partitions.size(), 3u);
}

TEST_F(CreateTopics, ValidateOnlyCreatesNothing) {
  auto out = run(1, {{.name = "dry", .partitions = 2}}, /*validate_only=*/true);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].error, 0);
  EXPECT_EQ(out[0].message, std::nullopt);
  EXPECT_FALSE(h.streams.has_topic("dry"));
  EXPECT_EQ(h.streams.create_topic_calls, 0);
}

TEST_F(CreateTopics, ValidateOnlyReportsExistingTopic) {
  h.streams.add_topic("taken", 1);
  auto out = run(1, {{.name = "taken", .partitions = 2}}, /*validate_only=*/true);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].error, static_cast<int16_t>(error_code::topic_already_exists));
}

TEST_F(CreateTopics, RejectsEachBadTopicWithItsOwnError) {
  h.streams.add_topic("exists", 1);
  auto out = run(4, {
                        {.name = "replicated", .partitions = 1, .replication = 3},
                        {.name = "placed", .partitions = 1, .assignment = {{0, {0}}}},
                        {.name = "bad name!", .partitions = 1},
                        {.name = "zero", .partitions = 0},
                        {.name = "huge", .partitions = 101},
                        {.name = "nullcfg", .partitions = 1, .configs = {{"retention.ms", std::nullopt}}},
                        {.name = "badcfg", .partitions = 1, .configs = {{"retention.ms", "soon"}}},
                        {.name = "exists", .partitions = 1},
                        {.name = "good", .partitions = 2},
                    });
  ASSERT_EQ(out.size(), 9u);
  auto code = [](error_code e) { return static_cast<int16_t>(e); };
  EXPECT_EQ(out[0].error, code(error_code::invalid_replication_factor));
  ASSERT_TRUE(out[0].message.has_value());
  EXPECT_NE(out[0].message->find("single node"), std::string::npos);
  EXPECT_EQ(out[1].error, code(error_code::invalid_request));
  EXPECT_EQ(out[2].error, code(error_code::invalid_topic_exception));
  EXPECT_EQ(out[3].error, code(error_code::invalid_partitions));
  EXPECT_EQ(out[4].error, code(error_code::invalid_partitions));
  EXPECT_EQ(out[5].error, code(error_code::invalid_config));
  EXPECT_EQ(out[6].error, code(error_code::invalid_config));
  EXPECT_EQ(out[7].error, code(error_code::topic_already_exists));
  EXPECT_EQ(out[8].error, 0);
  EXPECT_EQ(out[8].message, std::nullopt);
  for (const char* name : {"replicated", "placed", "zero", "huge", "nullcfg", "badcfg"}) {
    EXPECT_FALSE(h.streams.has_topic(name)) << name;
  }
  EXPECT_TRUE(h.streams.has_topic("good"));
}

TEST_F(CreateTopics, DuplicateNamesAreAnsweredOnceAndNotCreated) {
  auto out = run(2, {{.name = "twice", .partitions = 1}, {.name = "once", .partitions = 1}, {.name = "twice", .partitions = 2}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name, "twice");
  EXPECT_EQ(out[0].error, static_cast<int16_t>(error_code::invalid_request));
  EXPECT_EQ(out[1].name, "once");
  EXPECT_EQ(out[1].error, 0);
  EXPECT_FALSE(h.streams.has_topic("twice"));
}

TEST_F(CreateTopics, V5ReturnsDefaultPartitionsAndConfigs) {
  auto out = run(5, {{.name = "events", .partitions = -1, .replication = -1, .configs = {{"retention.ms", "1000"}}}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].error, 0);
  EXPECT_EQ(out[0].partitions, 4);  // fake_streams default_partitions
  EXPECT_EQ(out[0].replication, 1);
  EXPECT_EQ(h.streams.topic("events").partitions.size(), 4u);
  const config_out* retention = out[0].config("retention.ms");
  ASSERT_NE(retention, nullptr);
  EXPECT_EQ(retention->value, "1000");
  EXPECT_EQ(retention->source, 1);  // TOPIC_CONFIG
  const config_out* segment = out[0].config("segment.bytes");
  ASSERT_NE(segment, nullptr);
  EXPECT_EQ(segment->value, std::to_string(streams::topic_config{}.segment_bytes));
  EXPECT_EQ(segment->source, 4);  // STATIC_BROKER_CONFIG
  EXPECT_FALSE(segment->read_only);
}

TEST_F(CreateTopics, V5ErrorHasNoPartitionsOrConfigs) {
  auto out = run(6, {{.name = "r3", .partitions = 1, .replication = 3}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].error, static_cast<int16_t>(error_code::invalid_replication_factor));
  EXPECT_EQ(out[0].partitions, -1);
  EXPECT_EQ(out[0].replication, -1);
  EXPECT_TRUE(out[0].configs.empty());
}

TEST_F(CreateTopics, V7ReturnsTopicId) {
  auto out = run(7, {{.name = "with-id", .partitions = 1}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].error, 0);
  EXPECT_EQ(out[0].id, h.streams.topic("with-id").id);
  EXPECT_EQ(out[0].id[15], 0xAB);
}

TEST_F(CreateTopics, TruncatedBodyIsAnErrorWithoutResponse) {
  auto body = create_request(5, {{.name = "cut", .partitions = 1}}, false);
  body.resize(body.size() - 3);
  int responded = 0;
  status st = h.call_raw(handlers::create_topics, api_key::create_topics, 5, body, responded);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(responded, 0);
  EXPECT_FALSE(h.streams.has_topic("cut"));
}

}  // namespace
}  // namespace strata::kafka

namespace strata::kafka {
namespace {

TEST_F(CreateTopics, ASingleNodeTakesAnAssignmentThatNamesOnlyItself) {
  h.broker.node_id = 7;
  auto code = [](error_code e) { return static_cast<int16_t>(e); };
  auto out = run(5, {
                        {.name = "mine", .assignment = {{1, {7}}, {0, {7}}}},
                        {.name = "other", .assignment = {{0, {8}}}},
                        {.name = "two", .assignment = {{0, {7, 8}}}},
                        {.name = "gap", .assignment = {{0, {7}}, {2, {7}}}},
                        {.name = "again", .assignment = {{0, {7}}, {0, {7}}}},
                        {.name = "dup", .assignment = {{0, {7, 7}}}},
                        {.name = "empty", .assignment = {{0, {}}}},
                        {.name = "both", .partitions = 1, .assignment = {{0, {7}}}},
                    });
  ASSERT_EQ(out.size(), 8u);
  EXPECT_EQ(out[0].error, 0) << out[0].message.value_or("");
  EXPECT_EQ(out[0].partitions, 2);
  EXPECT_EQ(out[0].replication, 1);
  EXPECT_TRUE(h.streams.has_topic("mine"));
  for (size_t i = 1; i <= 6; ++i) {
    EXPECT_EQ(out[i].error, code(error_code::invalid_replica_assignment)) << out[i].name;
    EXPECT_FALSE(h.streams.has_topic(out[i].name)) << out[i].name;
  }
  EXPECT_NE(out[1].message.value_or("").find("node 7"), std::string::npos) << "says which node this is";
  EXPECT_EQ(out[7].error, code(error_code::invalid_request)) << "num_partitions and an assignment";
}

}  // namespace
}  // namespace strata::kafka
