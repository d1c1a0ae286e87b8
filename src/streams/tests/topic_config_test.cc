#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "io/fault_fs.h"
#include "meta/kv.h"
#include "streams/compression.h"
#include "streams/record_batch.h"
#include "streams/service.h"
#include "streams/tests/batch_builder.h"
#include "streams/tests/service_fixture.h"

namespace strata::streams {

namespace {

using testing::build_batch;

std::string value_of(const topic_config& cfg, const std::string& name) {
  for (auto& [k, v] : describe_topic_config(cfg)) {
    if (k == name) return v;
  }
  return "<absent>";
}

std::string error_of(const std::string& name, const std::string& value) {
  topic_config cfg;
  auto s = apply_topic_config(cfg, name, value);
  return s.ok() ? std::string() : s.err().message;
}

}  // namespace

TEST(TopicConfig, EveryDescribedDefaultParsesBackToItself) {
  topic_config defaults;
  topic_config parsed;
  for (auto& [k, v] : describe_topic_config(defaults)) {
    auto s = apply_topic_config(parsed, k, v);
    EXPECT_TRUE(s.ok()) << k << "=" << v << ": " << s.err().message;
  }
  EXPECT_EQ(describe_topic_config(parsed), describe_topic_config(defaults));
}

TEST(TopicConfig, HonouredConfigsRoundTrip) {
  const std::vector<std::pair<std::string, std::string>> set{
      {"compression.type", "zstd"},
      {"message.timestamp.type", "LogAppendTime"},
      {"message.timestamp.difference.max.ms", "60000"},
      {"max.message.bytes", "2048"},
      {"retention.ms", "1000"},
      {"retention.bytes", "4096"},
      {"segment.bytes", "1048576"},
      {"segment.ms", "3600000"},
      {"preallocate", "true"},
      {"flush.messages", "1"},
      {"flush.ms", "1000"},
      {"message.format.version", "2.8-IV1"},
      {"message.downconversion.enable", "false"},
      {"segment.index.bytes", "4096"},
      {"index.interval.bytes", "8192"},
      {"file.delete.delay.ms", "0"},
      {"segment.jitter.ms", "10"},
  };
  topic_config cfg;
  for (auto& [k, v] : set) ASSERT_TRUE(apply_topic_config(cfg, k, v).ok()) << k;
  for (auto& [k, v] : set) EXPECT_EQ(value_of(cfg, k), v) << k;
  EXPECT_EQ(cfg.compression, compression_type::zstd);
  EXPECT_TRUE(cfg.log_append_time);
  EXPECT_EQ(cfg.timestamp_difference_max_ms, 60000);
}

TEST(TopicConfig, EveryCodecNameParses) {
  const std::vector<std::pair<std::string, compression_type>> names{
      {"producer", compression_type::producer}, {"uncompressed", compression_type::uncompressed},
      {"gzip", compression_type::gzip},         {"snappy", compression_type::snappy},
      {"lz4", compression_type::lz4},           {"zstd", compression_type::zstd}};
  for (auto& [name, type] : names) {
    topic_config cfg;
    ASSERT_TRUE(apply_topic_config(cfg, "compression.type", name).ok()) << name;
    EXPECT_EQ(cfg.compression, type);
    EXPECT_EQ(value_of(cfg, "compression.type"), name);
  }
}

TEST(TopicConfig, BadValuesNameTheKeyAndWhatIsExpected) {
  EXPECT_NE(error_of("compression.type", "brotli").find("zstd"), std::string::npos);
  EXPECT_NE(error_of("message.timestamp.type", "logappendtime").find("LogAppendTime"), std::string::npos);
  EXPECT_NE(error_of("message.timestamp.difference.max.ms", "-1").find("message.timestamp.difference.max.ms"),
            std::string::npos);
  EXPECT_NE(error_of("preallocate", "yes").find("true or false"), std::string::npos);
  EXPECT_NE(error_of("flush.messages", "0").find("flush.messages"), std::string::npos);
  EXPECT_NE(error_of("message.format.version", "latest").find("version"), std::string::npos);
  EXPECT_NE(error_of("segment.index.bytes", "2").find("segment.index.bytes"), std::string::npos);
  EXPECT_NE(error_of("max.message.bytes", "big").find("max.message.bytes"), std::string::npos);
}

TEST(TopicConfig, UnsupportedConfigsAreRefusedByNameUnlessOff) {
  EXPECT_EQ(error_of("unclean.leader.election.enable", "false"), "");
  EXPECT_NE(error_of("unclean.leader.election.enable", "true").find("in-sync"), std::string::npos);
  EXPECT_EQ(error_of("remote.storage.enable", "false"), "");
  EXPECT_NE(error_of("remote.storage.enable", "true").find("tiered storage"), std::string::npos);
  EXPECT_NE(error_of("local.retention.ms", "1000").find("retention.ms"), std::string::npos);
  EXPECT_NE(error_of("local.retention.bytes", "1000").find("retention.bytes"), std::string::npos);
  EXPECT_NE(error_of("leader.replication.throttled.replicas", "0:1").find("--throttle"), std::string::npos);
  EXPECT_NE(error_of("follower.replication.throttled.replicas", "*").find("--throttle"), std::string::npos);
  EXPECT_NE(error_of("no.such.config", "1").find("unknown topic config no.such.config"), std::string::npos);
}

TEST(TopicConfig, EveryKafkaTopicConfigIsDescribed) {
  const char* kafka_configs[] = {
      "cleanup.policy", "compression.type", "file.delete.delay.ms", "flush.messages", "flush.ms",
      "follower.replication.throttled.replicas", "index.interval.bytes", "leader.replication.throttled.replicas",
      "local.retention.bytes", "local.retention.ms", "max.message.bytes", "message.downconversion.enable",
      "message.format.version", "message.timestamp.difference.max.ms", "message.timestamp.type", "min.insync.replicas",
      "preallocate", "remote.storage.enable", "retention.bytes", "retention.ms", "segment.bytes", "segment.index.bytes",
      "segment.jitter.ms", "segment.ms", "unclean.leader.election.enable"};
  for (const char* name : kafka_configs) EXPECT_NE(value_of(topic_config{}, name), "<absent>") << name;
}

namespace {

class TopicConfigService : public testing::service_fixture {
 protected:
  void restart() {
    svc_->shutdown();
    svc_.reset();
    sched_.run_pending();
    open_service();
  }

  produce_result produce(const std::string& topic, const std::vector<uint8_t>& batch) { return produce_batch(topic, 0, batch); }

  // The one batch stored at `offset`.
  std::vector<uint8_t> stored(const std::string& topic, int64_t offset) {
    auto f = svc_->fetch(topic, 0, offset, 1 << 20, true);
    EXPECT_EQ(f.error, stream_error::none);
    auto h = read_batch_header(f.records);
    if (!h) return {};
    return {f.records.begin(), f.records.begin() + static_cast<std::ptrdiff_t>(h->total_bytes())};
  }

};

}  // namespace

TEST_F(TopicConfigService, AlteredConfigsReplaceTheSetAndSurviveARestart) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {{"retention.ms", "1000"}, {"segment.ms", "60000"}}).ok());
  auto altered = svc_->alter_topic_configs("t", {{"retention.ms", "2000"}, {"compression.type", "lz4"}}, false);
  ASSERT_TRUE(altered.ok()) << altered.err().message;
  EXPECT_EQ(altered->config.retention_ms, 2000);
  EXPECT_EQ(altered->config.segment_ms, topic_config{}.segment_ms) << "left out: back to its default";
  EXPECT_EQ(altered->explicit_configs.size(), 2u);
  restart();
  auto d = svc_->describe_topic("t");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->config.retention_ms, 2000);
  EXPECT_EQ(d->config.compression, compression_type::lz4);
  EXPECT_EQ(d->explicit_configs, (std::map<std::string, std::string>{{"retention.ms", "2000"}, {"compression.type", "lz4"}}));
}

TEST_F(TopicConfigService, ValidateOnlyAndBadValuesChangeNothing) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {{"retention.ms", "1000"}}).ok());
  auto checked = svc_->alter_topic_configs("t", {{"retention.ms", "5000"}}, /*validate_only=*/true);
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(checked->config.retention_ms, 5000);
  auto bad = svc_->alter_topic_configs("t", {{"retention.ms", "5000"}, {"compression.type", "brotli"}}, false);
  EXPECT_EQ(bad.code(), errc::invalid_argument);
  EXPECT_EQ(svc_->alter_topic_configs("nope", {}, false).code(), errc::not_found);
  restart();
  EXPECT_EQ(svc_->describe_topic("t")->config.retention_ms, 1000);
}

TEST_F(TopicConfigService, CompressionTypeRecompressesAndKeepsTheProducersSequence) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {{"compression.type", "zstd"}}).ok());
  testing::batch_options o;
  o.producer_id = 7;
  o.producer_epoch = 0;
  o.base_sequence = 0;
  o.compression = codec::gzip;
  auto sent = build_batch({{"k1", std::string(500, 'a')}, {"k2", "v2"}}, o);
  ASSERT_EQ(produce("t", sent).error, stream_error::none);
  auto batch = stored("t", 0);
  auto check = check_single_batch(batch);
  ASSERT_EQ(check.problem, batch_problem::none) << check.message;
  EXPECT_EQ(check.header.compression(), static_cast<int>(codec::zstd));
  EXPECT_EQ(check.header.producer_id, 7);
  EXPECT_EQ(check.header.base_sequence, 0);
  EXPECT_EQ(check.header.record_count, 2);
  // A retry of the same batch is still known as a duplicate.
  auto retry = produce("t", sent);
  EXPECT_EQ(retry.error, stream_error::none);
  EXPECT_EQ(retry.base_offset, 0);
  EXPECT_EQ(svc_->describe_topic("t")->partitions[0].log_end_offset, 2);
}

TEST_F(TopicConfigService, LogAppendTimeStampsTheBrokersTime) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  ASSERT_TRUE(svc_->alter_topic_configs("t", {{"message.timestamp.type", "LogAppendTime"}}, false).ok());
  const int64_t before = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
  auto r = produce("t", build_batch({{"k", "v"}}));  // CreateTime of 2023
  ASSERT_EQ(r.error, stream_error::none);
  EXPECT_GE(r.log_append_time_ms, before);
  auto check = check_single_batch(stored("t", 0));
  ASSERT_EQ(check.problem, batch_problem::none) << check.message;
  EXPECT_TRUE(check.header.log_append_time());
  EXPECT_EQ(check.header.max_timestamp_ms, r.log_append_time_ms);
}

TEST_F(TopicConfigService, TimestampsFarFromNowAreRefused) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {{"message.timestamp.difference.max.ms", "3600000"}}).ok());
  auto old = produce("t", build_batch({{"k", "v"}}));  // 2023
  EXPECT_EQ(old.error, stream_error::invalid_timestamp);
  EXPECT_NE(old.message.find("message.timestamp.difference.max.ms"), std::string::npos);
  testing::batch_options now;
  now.base_timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_EQ(produce("t", build_batch({{"k", "v"}}, now)).error, stream_error::none);
}

TEST_F(TopicConfigService, MaxMessageBytesAndRetentionApplyAtOnce) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {{"segment.bytes", "1024"}}).ok());
  for (int i = 0; i < 10; ++i) ASSERT_EQ(produce("t", build_batch({{"k", std::string(300, 'x')}})).error, stream_error::none);
  EXPECT_EQ(svc_->describe_topic("t")->partitions[0].log_start_offset, 0);
  ASSERT_TRUE(svc_->alter_topic_configs("t", {{"segment.bytes", "1024"}, {"retention.bytes", "1"}, {"max.message.bytes", "200"}},
                                        false)
                  .ok());
  EXPECT_GT(svc_->describe_topic("t")->partitions[0].log_start_offset, 0) << "retention ran with the new limit";
  EXPECT_EQ(produce("t", build_batch({{"k", std::string(300, 'x')}})).error, stream_error::message_too_large);
}

}  // namespace strata::streams
