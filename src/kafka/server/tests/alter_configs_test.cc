#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "auth/acl.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/tests/handler_harness.h"
#include "meta/kv.h"

namespace strata::kafka {
namespace {

constexpr int8_t topic_type = 2;
constexpr int8_t broker_type = 4;
constexpr int8_t op_set = 0;
constexpr int8_t op_delete = 1;
constexpr int8_t op_append = 2;
constexpr int8_t op_subtract = 3;

struct change {
  std::string name;
  std::optional<std::string> value;
  int8_t op = op_set;  // IncrementalAlterConfigs only
};

struct resource {
  int8_t type = topic_type;
  std::string name;
  std::vector<change> configs;
};

struct result_out {
  int16_t error = -100;
  std::optional<std::string> message;
  int8_t type = 0;
  std::string name;
};

std::vector<uint8_t> encode_request(api_key key, int16_t version, const std::vector<resource>& resources,
                                    bool validate_only) {
  const bool flex = testing::handler_harness::is_flexible(key, version);
  const bool incremental = key == api_key::incremental_alter_configs;
  writer w;
  w.array_length(static_cast<int32_t>(resources.size()), flex);
  for (const auto& r : resources) {
    w.i8(r.type);
    w.string(r.name, flex);
    w.array_length(static_cast<int32_t>(r.configs.size()), flex);
    for (const auto& c : r.configs) {
      w.string(c.name, flex);
      if (incremental) w.i8(c.op);
      w.nullable_string(c.value, flex);
      if (flex) w.empty_tagged_fields();
    }
    if (flex) w.empty_tagged_fields();
  }
  w.boolean(validate_only);
  if (flex) w.empty_tagged_fields();
  return w.buffer();
}

std::vector<result_out> decode_response(api_key key, int16_t version, const std::vector<uint8_t>& body) {
  const bool flex = testing::handler_harness::is_flexible(key, version);
  reader r(body);
  EXPECT_EQ(r.i32(), 0);
  std::vector<result_out> out;
  for (int32_t n = r.array_length(flex); n > 0 && r.ok(); --n) {
    result_out res;
    res.error = r.i16();
    res.message = r.nullable_string(flex);
    res.type = r.i8();
    res.name = r.string(flex);
    if (flex) r.skip_tagged_fields();
    out.push_back(res);
  }
  if (flex) r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

int16_t code(error_code e) { return static_cast<int16_t>(e); }

class AlterConfigs : public ::testing::Test {
 protected:
  void SetUp() override {
    h.streams.add_topic("logs", 1, {{"retention.ms", "1000"}, {"segment.ms", "60000"}});
  }

  std::vector<result_out> alter(int16_t version, const std::vector<resource>& resources, bool validate_only = false) {
    auto body = h.call(handlers::alter_configs, api_key::alter_configs, version,
                       encode_request(api_key::alter_configs, version, resources, validate_only));
    return decode_response(api_key::alter_configs, version, body);
  }
  std::vector<result_out> incremental(int16_t version, const std::vector<resource>& resources, bool validate_only = false) {
    auto body = h.call(handlers::incremental_alter_configs, api_key::incremental_alter_configs, version,
                       encode_request(api_key::incremental_alter_configs, version, resources, validate_only));
    return decode_response(api_key::incremental_alter_configs, version, body);
  }
  const std::map<std::string, std::string>& configs() { return h.streams.topic("logs").explicit_configs; }

  testing::handler_harness h;
};

TEST_F(AlterConfigs, EveryVersionReplacesTheWholeSet) {
  for (int16_t v = 0; v <= 2; ++v) {
    auto out = alter(v, {{topic_type, "logs", {{"retention.ms", std::to_string(2000 + v)}, {"compression.type", "zstd"}}}});
    ASSERT_EQ(out.size(), 1u) << "v" << v;
    EXPECT_EQ(out[0].error, 0) << out[0].message.value_or("");
    EXPECT_EQ(out[0].message, std::nullopt);
    EXPECT_EQ(out[0].type, topic_type);
    EXPECT_EQ(out[0].name, "logs");
    EXPECT_EQ(configs(), (std::map<std::string, std::string>{{"retention.ms", std::to_string(2000 + v)},
                                                              {"compression.type", "zstd"}}))
        << "segment.ms, left out, returned to its default";
    EXPECT_EQ(h.streams.topic("logs").config.segment_ms, streams::topic_config{}.segment_ms);
  }
}

TEST_F(AlterConfigs, ValidateOnlyChangesNothing) {
  auto out = alter(1, {{topic_type, "logs", {{"retention.ms", "5"}}}}, /*validate_only=*/true);
  EXPECT_EQ(out[0].error, 0);
  EXPECT_EQ(configs().at("retention.ms"), "1000");
  auto inc = incremental(1, {{topic_type, "logs", {{"retention.ms", "5"}}}}, /*validate_only=*/true);
  EXPECT_EQ(inc[0].error, 0);
  EXPECT_EQ(configs().at("retention.ms"), "1000");
  auto bad = alter(2, {{topic_type, "logs", {{"retention.ms", "soon"}}}}, /*validate_only=*/true);
  EXPECT_EQ(bad[0].error, code(error_code::invalid_config));
}

TEST_F(AlterConfigs, UnknownKeysBadValuesAndNullsAreInvalidConfig) {
  auto out = alter(0, {{topic_type, "logs", {{"no.such.config", "1"}}},
                       {topic_type, "missing", {{"retention.ms", "1"}}}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].error, code(error_code::invalid_config));
  ASSERT_TRUE(out[0].message);
  EXPECT_NE(out[0].message->find("no.such.config"), std::string::npos);
  EXPECT_EQ(out[1].error, code(error_code::unknown_topic_or_partition));

  out = alter(2, {{topic_type, "logs", {{"compression.type", "brotli"}}}});
  EXPECT_EQ(out[0].error, code(error_code::invalid_config));
  EXPECT_NE(out[0].message->find("compression.type"), std::string::npos);
  out = alter(2, {{topic_type, "logs", {{"retention.ms", std::nullopt}}}});
  EXPECT_EQ(out[0].error, code(error_code::invalid_config));
  out = alter(2, {{topic_type, "logs", {{"remote.storage.enable", "true"}}}});
  EXPECT_EQ(out[0].error, code(error_code::invalid_config));
  EXPECT_NE(out[0].message->find("tiered storage"), std::string::npos);
  EXPECT_EQ(configs().at("retention.ms"), "1000") << "a refused resource changes nothing";
}

TEST_F(AlterConfigs, DuplicatesAreInvalidRequest) {
  auto out = alter(1, {{topic_type, "logs", {{"retention.ms", "1"}, {"retention.ms", "2"}}}});
  EXPECT_EQ(out[0].error, code(error_code::invalid_request));
  out = alter(1, {{topic_type, "logs", {{"retention.ms", "1"}}}, {topic_type, "logs", {{"retention.ms", "2"}}}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].error, code(error_code::invalid_request));
  EXPECT_EQ(out[1].error, code(error_code::invalid_request));
  EXPECT_EQ(configs().at("retention.ms"), "1000");
}

TEST_F(AlterConfigs, BrokerConfigsAreServerFlags) {
  h.broker.node_id = 3;
  auto out = alter(1, {{broker_type, "3", {{"log.retention.ms", "1000"}}},
                       {broker_type, "", {{"background.threads", "4"}}},
                       {broker_type, "9", {{"log.retention.ms", "1000"}}},
                       {8, "root", {{"kafka", "DEBUG"}}}});
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].error, code(error_code::invalid_request));
  EXPECT_NE(out[0].message->find("--retention-ms"), std::string::npos) << *out[0].message;
  EXPECT_EQ(out[1].error, code(error_code::invalid_request));
  EXPECT_NE(out[1].message->find("server flags"), std::string::npos);
  EXPECT_EQ(out[2].error, code(error_code::invalid_request));
  EXPECT_EQ(out[3].error, code(error_code::invalid_request));
  EXPECT_EQ(out[3].type, 8);
  EXPECT_EQ(incremental(1, {{broker_type, "3", {}}})[0].error, 0) << "nothing to change";
}

TEST_F(AlterConfigs, IncrementalSetAndDeleteKeepTheRest) {
  for (int16_t v = 0; v <= 1; ++v) {
    auto out = incremental(v, {{topic_type, "logs",
                                {{"compression.type", "lz4", op_set}, {"segment.ms", std::nullopt, op_delete}}}});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].error, 0) << out[0].message.value_or("");
    EXPECT_EQ(configs(), (std::map<std::string, std::string>{{"retention.ms", "1000"}, {"compression.type", "lz4"}}));
  }
  auto out = incremental(1, {{topic_type, "logs", {{"no.such.config", std::nullopt, op_delete}}}});
  EXPECT_EQ(out[0].error, code(error_code::invalid_config));
  out = incremental(1, {{topic_type, "logs", {{"retention.ms", std::nullopt, op_set}}}});
  EXPECT_EQ(out[0].error, code(error_code::invalid_config));
  out = incremental(1, {{topic_type, "logs", {{"retention.ms", "1", 9}}}});
  EXPECT_EQ(out[0].error, code(error_code::invalid_request));
}

TEST_F(AlterConfigs, AppendAndSubtractOnlyForLists) {
  auto out = incremental(1, {{topic_type, "logs", {{"retention.ms", "5", op_append}}}});
  EXPECT_EQ(out[0].error, code(error_code::invalid_config));
  EXPECT_NE(out[0].message->find("not a list"), std::string::npos);
  out = incremental(1, {{topic_type, "logs", {{"segment.bytes", "5", op_subtract}}}});
  EXPECT_EQ(out[0].error, code(error_code::invalid_config));
  // cleanup.policy is a list: subtracting nothing it holds leaves "delete".
  out = incremental(1, {{topic_type, "logs", {{"cleanup.policy", "other", op_subtract}}}});
  EXPECT_EQ(out[0].error, 0) << out[0].message.value_or("");
  EXPECT_EQ(configs().at("cleanup.policy"), "delete");
  out = incremental(1, {{topic_type, "logs", {{"cleanup.policy", "delete", op_append}}}});
  EXPECT_EQ(out[0].error, 0) << out[0].message.value_or("");
  EXPECT_EQ(configs().at("cleanup.policy"), "delete");
}

class AlterConfigsAuthorization : public AlterConfigs {
 protected:
  void SetUp() override {
    AlterConfigs::SetUp();
    h.authorize_as("User:alice");
  }
  void allow(auth::resource_type type, const std::string& name, auth::operation op) { h.allow(type, name, op); }
};

TEST_F(AlterConfigsAuthorization, TopicsNeedAlterConfigsOnTheTopic) {
  auto out = alter(2, {{topic_type, "logs", {{"retention.ms", "5"}}}, {topic_type, "missing", {{"retention.ms", "5"}}}});
  EXPECT_EQ(out[0].error, code(error_code::topic_authorization_failed));
  EXPECT_EQ(out[1].error, code(error_code::topic_authorization_failed)) << "no hint whether the topic exists";
  auto inc = incremental(1, {{topic_type, "logs", {{"retention.ms", "5"}}}});
  EXPECT_EQ(inc[0].error, code(error_code::topic_authorization_failed));
  EXPECT_EQ(configs().at("retention.ms"), "1000");
  EXPECT_EQ(h.streams.alter_configs_calls, 0);

  allow(auth::resource_type::topic, "logs", auth::operation::describe_configs);
  out = alter(2, {{topic_type, "logs", {{"retention.ms", "5"}}}});
  EXPECT_EQ(out[0].error, code(error_code::topic_authorization_failed)) << "DESCRIBE_CONFIGS is not enough";

  allow(auth::resource_type::topic, "logs", auth::operation::alter_configs);
  out = alter(2, {{topic_type, "logs", {{"retention.ms", "5"}}}});
  EXPECT_EQ(out[0].error, 0);
  EXPECT_EQ(configs().at("retention.ms"), "5");
}

TEST_F(AlterConfigsAuthorization, BrokersNeedAlterConfigsOnTheCluster) {
  auto out = incremental(1, {{broker_type, "", {{"log.retention.ms", "5"}}}});
  EXPECT_EQ(out[0].error, code(error_code::cluster_authorization_failed));
  allow(auth::resource_type::cluster, std::string(auth::cluster_resource_name), auth::operation::alter_configs);
  out = incremental(1, {{broker_type, "", {{"log.retention.ms", "5"}}}});
  EXPECT_EQ(out[0].error, code(error_code::invalid_request)) << "allowed, but broker configs are flags";
}

TEST_F(AlterConfigs, TruncatedBodiesAreErrors) {
  for (auto key : {api_key::alter_configs, api_key::incremental_alter_configs}) {
    auto body = encode_request(key, 1, {{topic_type, "logs", {{"retention.ms", "5"}}}}, false);
    body.resize(body.size() - 1);
    int responded = 0;
    auto fn = key == api_key::alter_configs ? handlers::alter_configs : handlers::incremental_alter_configs;
    EXPECT_FALSE(h.call_raw(fn, key, 1, body, responded).ok());
    EXPECT_EQ(responded, 0);
  }
}

}  // namespace
}  // namespace strata::kafka
