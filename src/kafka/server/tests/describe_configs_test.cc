#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "kafka/server/handlers/handlers.h"
#include "kafka/server/tests/handler_harness.h"

namespace strata::kafka {
namespace {

constexpr int8_t topic_type = 2;
constexpr int8_t broker_type = 4;

struct resource_spec {
  int8_t type = topic_type;
  std::string name;
  std::optional<std::vector<std::string>> keys{};
};

std::vector<uint8_t> describe_request(int16_t version, const std::vector<resource_spec>& resources, bool synonyms,
                                      bool docs) {
  bool flex = testing::handler_harness::is_flexible(api_key::describe_configs, version);
  writer w;
  w.array_length(static_cast<int32_t>(resources.size()), flex);
  for (const auto& res : resources) {
    w.i8(res.type);
    w.string(res.name, flex);
    w.array_length(res.keys ? static_cast<int32_t>(res.keys->size()) : -1, flex);
    if (res.keys) {
      for (const auto& k : *res.keys) w.string(k, flex);
    }
    if (flex) w.empty_tagged_fields();
  }
  if (version >= 1) w.boolean(synonyms);
  if (version >= 3) w.boolean(docs);
  if (flex) w.empty_tagged_fields();
  return w.buffer();
}

struct synonym_out {
  std::string name;
  std::optional<std::string> value;
  int8_t source = 0;
};

struct entry_out {
  std::string name;
  std::optional<std::string> value;
  bool read_only = false;
  bool is_default = false;
  int8_t source = -1;
  bool sensitive = false;
  std::vector<synonym_out> synonyms;
  int8_t type = -1;
  std::optional<std::string> documentation;
};

struct resource_out {
  int16_t error = 0;
  std::optional<std::string> message;
  int8_t type = 0;
  std::string name;
  std::vector<entry_out> entries;

  const entry_out* entry(const std::string& n) const {
    for (const auto& e : entries) {
      if (e.name == n) return &e;
    }
    return nullptr;
  }
};

entry_out decode_entry(reader& r, int16_t version, bool flex) {
  entry_out e;
  e.name = r.string(flex);
  e.value = r.nullable_string(flex);
  e.read_only = r.boolean();
  if (version == 0) e.is_default = r.boolean();
  if (version >= 1) e.source = r.i8();
  e.sensitive = r.boolean();
  if (version >= 1) {
    int32_t n = r.array_length(flex);
    for (int32_t i = 0; i < n && r.ok(); ++i) {
      synonym_out s;
      s.name = r.string(flex);
      s.value = r.nullable_string(flex);
      s.source = r.i8();
      if (flex) r.skip_tagged_fields();
      e.synonyms.push_back(s);
    }
  }
  if (version >= 3) {
    e.type = r.i8();
    e.documentation = r.nullable_string(flex);
  }
  if (flex) r.skip_tagged_fields();
  return e;
}

std::vector<resource_out> decode_response(int16_t version, const std::vector<uint8_t>& body) {
  bool flex = testing::handler_harness::is_flexible(api_key::describe_configs, version);
  reader r(body);
  EXPECT_EQ(r.i32(), 0);  // throttle_time_ms
  std::vector<resource_out> out;
  int32_t n = r.array_length(flex);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    resource_out res;
    res.error = r.i16();
    res.message = r.nullable_string(flex);
    res.type = r.i8();
    res.name = r.string(flex);
    int32_t entries = r.array_length(flex);
    for (int32_t j = 0; j < entries && r.ok(); ++j) res.entries.push_back(decode_entry(r, version, flex));
    if (flex) r.skip_tagged_fields();
    out.push_back(res);
  }
  if (flex) r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

class DescribeConfigs : public ::testing::Test {
 protected:
  void SetUp() override { h.streams.add_topic("logs", 1, {{"retention.ms", "1000"}}); }

  std::vector<resource_out> run(int16_t version, const std::vector<resource_spec>& resources, bool synonyms = false,
                                bool docs = false) {
    auto body = h.call(handlers::describe_configs, api_key::describe_configs, version,
                       describe_request(version, resources, synonyms, docs));
    return decode_response(version, body);
  }
  testing::handler_harness h;
};

TEST_F(DescribeConfigs, V0TopicMarksOverridesAndDefaults) {
  auto out = run(0, {{.type = topic_type, .name = "logs"}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].error, 0);
  EXPECT_EQ(out[0].type, topic_type);
  EXPECT_EQ(out[0].name, "logs");
  const entry_out* retention = out[0].entry("retention.ms");
  ASSERT_NE(retention, nullptr);
  EXPECT_EQ(retention->value, "1000");
  EXPECT_FALSE(retention->is_default);
  EXPECT_FALSE(retention->read_only);
  const entry_out* segment = out[0].entry("segment.bytes");
  ASSERT_NE(segment, nullptr);
  EXPECT_EQ(segment->value, std::to_string(streams::topic_config{}.segment_bytes));
  EXPECT_TRUE(segment->is_default);
}

TEST_F(DescribeConfigs, KeysFilterTheEntries) {
  auto out = run(2, {{.type = topic_type, .name = "logs", .keys = std::vector<std::string>{"segment.ms", "nope"}}});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].entries.size(), 1u);
  EXPECT_EQ(out[0].entries[0].name, "segment.ms");
}

TEST_F(DescribeConfigs, V1SynonymsOnlyWhenAsked) {
  auto without = run(1, {{.type = topic_type, .name = "logs"}}, /*synonyms=*/false);
  ASSERT_EQ(without.size(), 1u);
  const entry_out* plain = without[0].entry("retention.ms");
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->source, 1);  // TOPIC_CONFIG
  EXPECT_TRUE(plain->synonyms.empty());

  auto with = run(1, {{.type = topic_type, .name = "logs"}}, /*synonyms=*/true);
  const entry_out* retention = with[0].entry("retention.ms");
  ASSERT_NE(retention, nullptr);
  ASSERT_EQ(retention->synonyms.size(), 2u);
  EXPECT_EQ(retention->synonyms[0].name, "retention.ms");
  EXPECT_EQ(retention->synonyms[0].value, "1000");
  EXPECT_EQ(retention->synonyms[0].source, 1);
  EXPECT_EQ(retention->synonyms[1].name, "log.retention.ms");
  EXPECT_EQ(retention->synonyms[1].value, std::to_string(streams::topic_config{}.retention_ms));
  EXPECT_EQ(retention->synonyms[1].source, 4);  // STATIC_BROKER_CONFIG
  const entry_out* segment = with[0].entry("segment.bytes");
  ASSERT_NE(segment, nullptr);
  EXPECT_EQ(segment->source, 4);
  ASSERT_EQ(segment->synonyms.size(), 1u);
  EXPECT_EQ(segment->synonyms[0].name, "log.segment.bytes");
}

TEST_F(DescribeConfigs, V3TypesAndDocumentation) {
  auto without = run(3, {{.type = topic_type, .name = "logs"}}, false, /*docs=*/false);
  const entry_out* plain = without[0].entry("retention.ms");
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->type, 5);  // LONG
  EXPECT_EQ(plain->documentation, std::nullopt);

  auto with = run(3, {{.type = topic_type, .name = "logs"}}, false, /*docs=*/true);
  const entry_out* retention = with[0].entry("retention.ms");
  ASSERT_NE(retention, nullptr);
  ASSERT_TRUE(retention->documentation.has_value());
  EXPECT_FALSE(retention->documentation->empty());
  const entry_out* max_bytes = with[0].entry("max.message.bytes");
  ASSERT_NE(max_bytes, nullptr);
  EXPECT_EQ(max_bytes->type, 3);  // INT
}

TEST_F(DescribeConfigs, V4BrokerSettingsAreRealAndReadOnly) {
  h.broker.node_id = 0;
  h.streams.mutable_config().default_partitions = 6;
  h.streams.mutable_config().auto_create_topics = true;
  auto out = run(4, {{.type = broker_type, .name = "0"}, {.type = broker_type, .name = ""}}, true, true);
  ASSERT_EQ(out.size(), 2u);
  for (const auto& res : out) {
    EXPECT_EQ(res.error, 0);
    const entry_out* partitions = res.entry("num.partitions");
    ASSERT_NE(partitions, nullptr);
    EXPECT_EQ(partitions->value, "6");
    EXPECT_TRUE(partitions->read_only);
    EXPECT_EQ(partitions->source, 4);
    EXPECT_EQ(partitions->type, 3);
    const entry_out* auto_create = res.entry("auto.create.topics.enable");
    ASSERT_NE(auto_create, nullptr);
    EXPECT_EQ(auto_create->value, "true");
    EXPECT_EQ(auto_create->type, 1);  // BOOLEAN
    const entry_out* segment = res.entry("log.segment.bytes");
    ASSERT_NE(segment, nullptr);
    EXPECT_EQ(segment->value, std::to_string(streams::topic_config{}.segment_bytes));
    EXPECT_NE(res.entry("log.retention.ms"), nullptr);
  }
}

TEST_F(DescribeConfigs, ErrorsArePerResource) {
  auto out = run(4, {{.type = topic_type, .name = "missing"},
                     {.type = broker_type, .name = "7"},
                     {.type = 99, .name = "x"},
                     {.type = topic_type, .name = "logs"}});
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].error, static_cast<int16_t>(error_code::unknown_topic_or_partition));
  EXPECT_TRUE(out[0].entries.empty());
  EXPECT_EQ(out[1].error, static_cast<int16_t>(error_code::invalid_request));
  ASSERT_TRUE(out[1].message.has_value());
  EXPECT_NE(out[1].message->find("7"), std::string::npos);
  EXPECT_EQ(out[2].error, static_cast<int16_t>(error_code::invalid_request));
  EXPECT_EQ(out[2].type, 99);
  EXPECT_EQ(out[3].error, 0);
  EXPECT_FALSE(out[3].entries.empty());
}

TEST_F(DescribeConfigs, SourceSaysWhetherTheTopicSetsTheConfig) {
  const std::string default_segment_ms = std::to_string(streams::topic_config{}.segment_ms);
  h.streams.add_topic("set", 1, {{"segment.ms", default_segment_ms}, {"compression.type", "zstd"}});
  auto out = run(2, {{.type = topic_type, .name = "set"}});
  ASSERT_EQ(out.size(), 1u);
  const entry_out* segment = out[0].entry("segment.ms");
  ASSERT_NE(segment, nullptr);
  EXPECT_EQ(segment->value, default_segment_ms);
  EXPECT_EQ(segment->source, 1) << "set on the topic, though equal to the default";
  const entry_out* compression = out[0].entry("compression.type");
  ASSERT_NE(compression, nullptr);
  EXPECT_EQ(compression->value, "zstd");
  EXPECT_EQ(compression->source, 1);
  const entry_out* timestamps = out[0].entry("message.timestamp.type");
  ASSERT_NE(timestamps, nullptr);
  EXPECT_EQ(timestamps->value, "CreateTime");
  EXPECT_EQ(timestamps->source, 4);  // the broker's default
  for (const char* name : {"preallocate", "flush.messages", "message.format.version", "unclean.leader.election.enable",
                           "remote.storage.enable", "segment.jitter.ms"}) {
    EXPECT_NE(out[0].entry(name), nullptr) << name;
  }
}

TEST_F(DescribeConfigs, TruncatedBodyIsAnError) {
  auto body = describe_request(4, {{.type = topic_type, .name = "logs"}}, true, true);
  body.resize(4);
  int responded = 0;
  EXPECT_FALSE(h.call_raw(handlers::describe_configs, api_key::describe_configs, 4, body, responded).ok());
  EXPECT_EQ(responded, 0);
}

}  // namespace
}  // namespace strata::kafka
