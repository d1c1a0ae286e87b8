// DescribeCluster, DeleteRecords, DescribeLogDirs and DescribeProducers:
// every served version's bytes, their errors, and their ACL checks.
#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/acl.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/tests/handler_harness.h"
#include "meta/kv.h"

namespace strata::kafka {
namespace {

bool flexible(api_key key, int16_t version) { return testing::handler_harness::is_flexible(key, version); }
int16_t code(error_code e) { return static_cast<int16_t>(e); }

class AdminApis : public ::testing::Test {
 protected:
  AdminApis() {
    h.broker.node_id = 4;
    h.broker.advertised_host = "kafka.local";
    h.broker.advertised_port = 19092;
    h.broker.cluster_id = "cid";
    h.streams.add_topic("t", 2);
    h.streams.mutable_config().data_dir = "/var/lib/strata";
  }

  // Turns authorization on; alice has only what allow() gives her.
  void authorize_as_alice() { h.authorize_as("User:alice"); }
  void allow(auth::resource_type type, const std::string& name, auth::operation op) { h.allow(type, name, op); }

  testing::handler_harness h;
};

// ---- DescribeCluster ----

struct cluster_out {
  int16_t error = 0;
  std::optional<std::string> message;
  std::string cluster_id;
  int32_t controller = 0;
  std::vector<std::tuple<int32_t, std::string, int32_t>> brokers;
  int32_t operations = 0;
};

cluster_out describe_cluster(testing::handler_harness& h, int16_t version, bool include_operations,
                             int8_t endpoint_type = 1) {
  writer w;
  w.boolean(include_operations);
  if (version >= 1) w.i8(endpoint_type);
  w.empty_tagged_fields();
  auto body = h.call(handlers::describe_cluster, api_key::describe_cluster, version, w.buffer());
  reader r(body);
  cluster_out out;
  EXPECT_EQ(r.i32(), 0);
  out.error = r.i16();
  out.message = r.nullable_string(true);
  if (version >= 1) {
    EXPECT_EQ(r.i8(), 1);
  }
  out.cluster_id = r.string(true);
  out.controller = r.i32();
  for (int32_t n = r.array_length(true); n > 0 && r.ok(); --n) {
    int32_t id = r.i32();
    std::string host = r.string(true);
    int32_t port = r.i32();
    EXPECT_EQ(r.nullable_string(true), std::nullopt);
    r.skip_tagged_fields();
    out.brokers.emplace_back(id, host, port);
  }
  out.operations = r.i32();
  r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

TEST_F(AdminApis, DescribeClusterNamesThisBrokerAtEveryVersion) {
  for (int16_t v : {0, 1}) {
    auto out = describe_cluster(h, v, false);
    EXPECT_EQ(out.error, 0);
    EXPECT_EQ(out.cluster_id, "cid");
    EXPECT_EQ(out.controller, 4);
    ASSERT_EQ(out.brokers.size(), 1u);
    EXPECT_EQ(out.brokers[0], std::make_tuple(4, std::string("kafka.local"), 19092));
    EXPECT_EQ(out.operations, std::numeric_limits<int32_t>::min());
  }
}

TEST_F(AdminApis, DescribeClusterRefusesAControllerEndpointType) {
  auto out = describe_cluster(h, 1, false, 2);
  EXPECT_EQ(out.error, code(error_code::mismatched_endpoint_type));
  EXPECT_TRUE(out.message.has_value());
  EXPECT_TRUE(out.brokers.empty());
}

TEST_F(AdminApis, DescribeClusterNeedsClusterDescribeAndReportsOperations) {
  authorize_as_alice();
  auto denied = describe_cluster(h, 0, true);
  EXPECT_EQ(denied.error, code(error_code::cluster_authorization_failed));
  EXPECT_TRUE(denied.brokers.empty());
  allow(auth::resource_type::cluster, "kafka-cluster", auth::operation::describe);
  auto out = describe_cluster(h, 1, true);
  EXPECT_EQ(out.error, 0);
  EXPECT_EQ(out.brokers.size(), 1u);
  EXPECT_EQ(out.operations, 1 << static_cast<int>(auth::operation::describe));
}

// ---- DeleteRecords ----

struct deleted {
  std::string topic;
  int32_t partition = 0;
  int64_t low_watermark = 0;
  int16_t error = 0;
};

std::vector<deleted> delete_records(testing::handler_harness& h, int16_t version,
                                    const std::vector<std::tuple<std::string, int32_t, int64_t>>& targets) {
  const bool flex = flexible(api_key::delete_records, version);
  writer w;
  w.array_length(static_cast<int32_t>(targets.size()), flex);
  for (const auto& [topic, partition, offset] : targets) {
    w.string(topic, flex);
    w.array_length(1, flex);
    w.i32(partition);
    w.i64(offset);
    if (flex) w.empty_tagged_fields();
    if (flex) w.empty_tagged_fields();
  }
  w.i32(30'000);
  if (flex) w.empty_tagged_fields();
  auto body = h.call(handlers::delete_records, api_key::delete_records, version, w.buffer());
  reader r(body);
  EXPECT_EQ(r.i32(), 0);
  std::vector<deleted> out;
  for (int32_t n = r.array_length(flex); n > 0 && r.ok(); --n) {
    std::string topic = r.string(flex);
    for (int32_t m = r.array_length(flex); m > 0 && r.ok(); --m) {
      deleted d{topic, r.i32(), r.i64(), r.i16()};
      if (flex) r.skip_tagged_fields();
      out.push_back(d);
    }
    if (flex) r.skip_tagged_fields();
  }
  if (flex) r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

TEST_F(AdminApis, DeleteRecordsMovesTheStartAtEveryVersion) {
  h.streams.partition("t", 0).timestamps.assign(10, 1000);
  int64_t offset = 2;
  for (int16_t v : {0, 1, 2}) {
    auto out = delete_records(h, v, {{"t", 0, offset}});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].error, 0);
    EXPECT_EQ(out[0].low_watermark, offset);
    EXPECT_EQ(h.streams.partition("t", 0).log_start_offset, offset);
    offset += 3;
  }
  auto to_hw = delete_records(h, 2, {{"t", 0, -1}});
  EXPECT_EQ(to_hw[0].low_watermark, 10);
}

TEST_F(AdminApis, DeleteRecordsErrors) {
  h.streams.partition("t", 0).timestamps.assign(3, 1000);
  auto out = delete_records(h, 1, {{"t", 0, 4}, {"t", 9, 0}, {"nope", 0, 0}});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].error, code(error_code::offset_out_of_range));
  EXPECT_EQ(out[0].low_watermark, 0);
  EXPECT_EQ(out[1].error, code(error_code::unknown_topic_or_partition));
  EXPECT_EQ(out[2].error, code(error_code::unknown_topic_or_partition));
  h.streams.partition_error = streams::stream_error::not_leader_or_follower;
  EXPECT_EQ(delete_records(h, 2, {{"t", 0, 1}})[0].error, code(error_code::not_leader_or_follower));
}

TEST_F(AdminApis, DeleteRecordsNeedsTopicDelete) {
  h.streams.partition("t", 0).timestamps.assign(3, 1000);
  authorize_as_alice();
  allow(auth::resource_type::topic, "t", auth::operation::read);
  auto out = delete_records(h, 2, {{"t", 0, 1}});
  EXPECT_EQ(out[0].error, code(error_code::topic_authorization_failed));
  EXPECT_EQ(h.streams.partition("t", 0).log_start_offset, 0);
  allow(auth::resource_type::topic, "t", auth::operation::remove);
  EXPECT_EQ(delete_records(h, 2, {{"t", 0, 1}})[0].error, 0);
  EXPECT_EQ(h.streams.partition("t", 0).log_start_offset, 1);
}

TEST_F(AdminApis, DeleteRecordsTruncatedBodyIsAnError) {
  writer w;
  w.array_length(1, false);
  w.string("t", false);
  w.array_length(1, false);
  w.i32(0);
  int responded = 0;
  EXPECT_FALSE(h.call_raw(handlers::delete_records, api_key::delete_records, 0, w.buffer(), responded).ok());
  EXPECT_EQ(responded, 0);
}

// ---- DescribeLogDirs ----

struct log_dir_out {
  int16_t top_error = 0;
  int32_t dirs = 0;
  std::string path;
  std::vector<std::tuple<std::string, int32_t, int64_t>> partitions;  // topic, id, size
  int64_t total = -2;
  int64_t usable = -2;
};

log_dir_out describe_log_dirs(testing::handler_harness& h, int16_t version,
                              const std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>& topics) {
  const bool flex = flexible(api_key::describe_log_dirs, version);
  writer w;
  if (!topics) w.array_length(-1, flex);
  if (topics) {
    w.array_length(static_cast<int32_t>(topics->size()), flex);
    for (const auto& [name, ids] : *topics) {
      w.string(name, flex);
      w.array_length(static_cast<int32_t>(ids.size()), flex);
      for (int32_t id : ids) w.i32(id);
      if (flex) w.empty_tagged_fields();
    }
  }
  if (flex) w.empty_tagged_fields();
  auto body = h.call(handlers::describe_log_dirs, api_key::describe_log_dirs, version, w.buffer());
  reader r(body);
  log_dir_out out;
  EXPECT_EQ(r.i32(), 0);
  if (version >= 3) out.top_error = r.i16();
  out.dirs = r.array_length(flex);
  for (int32_t d = 0; d < out.dirs && r.ok(); ++d) {
    EXPECT_EQ(r.i16(), 0);
    out.path = r.string(flex);
    for (int32_t n = r.array_length(flex); n > 0 && r.ok(); --n) {
      std::string topic = r.string(flex);
      for (int32_t m = r.array_length(flex); m > 0 && r.ok(); --m) {
        int32_t id = r.i32();
        int64_t size = r.i64();
        EXPECT_EQ(r.i64(), 0);
        EXPECT_FALSE(r.boolean());
        if (flex) r.skip_tagged_fields();
        out.partitions.emplace_back(topic, id, size);
      }
      if (flex) r.skip_tagged_fields();
    }
    if (version >= 4) {
      out.total = r.i64();
      out.usable = r.i64();
    }
    if (flex) r.skip_tagged_fields();
  }
  if (flex) r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

TEST_F(AdminApis, DescribeLogDirsReportsTheDataDirAtEveryVersion) {
  streams::partition_info p1;
  p1.id = 1;
  p1.size_bytes = 4096;
  h.streams.set_partition_info("t", 1, p1);
  for (int16_t v = 0; v <= 4; ++v) {
    auto out = describe_log_dirs(h, v, std::nullopt);
    EXPECT_EQ(out.top_error, 0);
    ASSERT_EQ(out.dirs, 1);
    EXPECT_EQ(out.path, "/var/lib/strata");
    ASSERT_EQ(out.partitions.size(), 2u);
    EXPECT_EQ(out.partitions[1], std::make_tuple(std::string("t"), 1, int64_t{4096}));
    EXPECT_EQ(out.total, v >= 4 ? 1'000'000 : -2);
    EXPECT_EQ(out.usable, v >= 4 ? 400'000 : -2);
  }
  auto only = describe_log_dirs(h, 2, std::vector<std::pair<std::string, std::vector<int32_t>>>{{"t", {1}}, {"nope", {0}}});
  ASSERT_EQ(only.partitions.size(), 1u);
  EXPECT_EQ(std::get<1>(only.partitions[0]), 1);
}

TEST_F(AdminApis, DescribeLogDirsNeedsClusterDescribe) {
  authorize_as_alice();
  auto v1 = describe_log_dirs(h, 1, std::nullopt);
  EXPECT_EQ(v1.dirs, 0);
  auto v3 = describe_log_dirs(h, 3, std::nullopt);
  EXPECT_EQ(v3.top_error, code(error_code::cluster_authorization_failed));
  EXPECT_EQ(v3.dirs, 0);
  allow(auth::resource_type::cluster, "kafka-cluster", auth::operation::describe);
  EXPECT_EQ(describe_log_dirs(h, 4, std::nullopt).dirs, 1);
}

// ---- DescribeProducers ----

struct producers_out {
  int32_t partition = 0;
  int16_t error = 0;
  std::optional<std::string> message;
  std::vector<streams::active_producer> producers;
};

std::vector<producers_out> describe_producers(testing::handler_harness& h, const std::string& topic,
                                              const std::vector<int32_t>& ids) {
  writer w;
  w.array_length(1, true);
  w.string(topic, true);
  w.array_length(static_cast<int32_t>(ids.size()), true);
  for (int32_t id : ids) w.i32(id);
  w.empty_tagged_fields();
  w.empty_tagged_fields();
  auto body = h.call(handlers::describe_producers, api_key::describe_producers, 0, w.buffer());
  reader r(body);
  EXPECT_EQ(r.i32(), 0);
  std::vector<producers_out> out;
  for (int32_t n = r.array_length(true); n > 0 && r.ok(); --n) {
    EXPECT_EQ(r.string(true), topic);
    for (int32_t m = r.array_length(true); m > 0 && r.ok(); --m) {
      producers_out p;
      p.partition = r.i32();
      p.error = r.i16();
      p.message = r.nullable_string(true);
      for (int32_t k = r.array_length(true); k > 0 && r.ok(); --k) {
        streams::active_producer a;
        a.producer_id = r.i64();
        a.producer_epoch = static_cast<int16_t>(r.i32());
        a.last_sequence = r.i32();
        a.last_timestamp_ms = r.i64();
        EXPECT_EQ(r.i32(), -1);
        EXPECT_EQ(r.i64(), -1);
        r.skip_tagged_fields();
        p.producers.push_back(a);
      }
      r.skip_tagged_fields();
      out.push_back(p);
    }
    r.skip_tagged_fields();
  }
  r.skip_tagged_fields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

TEST_F(AdminApis, DescribeProducersListsEachPartitionsProducers) {
  h.streams.producers[{"t", 1}] = {{.producer_id = 9, .producer_epoch = 2, .last_sequence = 41, .last_timestamp_ms = 1234}};
  auto out = describe_producers(h, "t", {0, 1, 7});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].error, 0);
  EXPECT_TRUE(out[0].producers.empty());
  ASSERT_EQ(out[1].producers.size(), 1u);
  EXPECT_EQ(out[1].producers[0].producer_id, 9);
  EXPECT_EQ(out[1].producers[0].producer_epoch, 2);
  EXPECT_EQ(out[1].producers[0].last_sequence, 41);
  EXPECT_EQ(out[1].producers[0].last_timestamp_ms, 1234);
  EXPECT_EQ(out[2].error, code(error_code::unknown_topic_or_partition));
  h.streams.partition_error = streams::stream_error::not_leader_or_follower;
  auto moved = describe_producers(h, "t", {1});
  EXPECT_EQ(moved[0].error, code(error_code::not_leader_or_follower));
  EXPECT_TRUE(moved[0].message.has_value());
}

TEST_F(AdminApis, DescribeProducersNeedsTopicRead) {
  authorize_as_alice();
  auto denied = describe_producers(h, "t", {0});
  EXPECT_EQ(denied[0].error, code(error_code::topic_authorization_failed));
  allow(auth::resource_type::topic, "t", auth::operation::read);
  EXPECT_EQ(describe_producers(h, "t", {0})[0].error, 0);
}

}  // namespace
}  // namespace strata::kafka
