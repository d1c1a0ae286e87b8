#include "streams/service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "io/fault_fs.h"
#include "meta/kv.h"
#include "streams/record_batch.h"
#include "streams/tests/batch_builder.h"
#include "streams/tests/service_fixture.h"

namespace strata::streams {

namespace {

using testing::build_batch;

class ServiceTest : public testing::service_fixture {
 protected:
  void configure(service_config& c) override { c.retention_check_interval_ms = 1000; }

  // Produces and waits (by pumping the scheduler) until the callback runs.
  produce_result produce(const std::string& topic, int32_t partition, const std::vector<uint8_t>& batch,
                         bool wait_durable = true) {
    return produce_batch(topic, partition, batch, wait_durable);
  }
};

testing::batch_options idempotent(int64_t pid, int32_t seq) {
  testing::batch_options o;
  o.producer_id = pid;
  o.producer_epoch = 0;
  o.base_sequence = seq;
  return o;
}

}  // namespace

TEST_F(ServiceTest, CreateListDescribeDelete) {
  ASSERT_TRUE(svc_->create_topic("orders", 3, {{"retention.ms", "1000"}}).ok());
  EXPECT_EQ(svc_->create_topic("orders", 1, {}).code(), errc::already_exists);
  EXPECT_EQ(svc_->create_topic("bad/name", 1, {}).code(), errc::invalid_argument);
  EXPECT_EQ(svc_->create_topic("zero", 0, {}).code(), errc::invalid_argument);
  EXPECT_EQ(svc_->create_topic("cfg", 1, {{"no.such.config", "1"}}).code(), errc::invalid_argument);
  auto d = svc_->describe_topic("orders");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->partitions.size(), 3u);
  EXPECT_EQ(d->config.retention_ms, 1000);
  ASSERT_TRUE(svc_->create_partitions("orders", 5).ok());
  EXPECT_EQ(svc_->create_partitions("orders", 5).code(), errc::invalid_argument);
  EXPECT_EQ(svc_->list_topics().size(), 1u);
  ASSERT_TRUE(svc_->delete_topic("orders").ok());
  EXPECT_EQ(svc_->describe_topic("orders").code(), errc::not_found);
}

TEST_F(ServiceTest, AcknowledgedRecordsAreReadableAndSurviveACrash) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  auto r1 = produce("t", 0, build_batch({{"a", "1"}, {"b", "2"}}));
  ASSERT_EQ(r1.error, stream_error::none) << r1.message;
  EXPECT_EQ(r1.base_offset, 0);
  auto r2 = produce("t", 0, build_batch({{"c", "3"}}));
  EXPECT_EQ(r2.base_offset, 2);

  auto f = svc_->fetch("t", 0, 0, 1 << 20, true);
  EXPECT_EQ(f.error, stream_error::none);
  EXPECT_EQ(f.high_watermark, 3);
  auto first = read_batch_header(f.records);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->base_offset, 0);

  restart_after_crash();
  auto after = svc_->fetch("t", 0, 0, 1 << 20, true);
  EXPECT_EQ(after.high_watermark, 3);
  EXPECT_EQ(after.records, f.records);
}

TEST_F(ServiceTest, FetchBoundsAndErrors) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  produce("t", 0, build_batch({{"a", std::string(1000, 'x')}}));
  produce("t", 0, build_batch({{"b", std::string(1000, 'y')}}));
  EXPECT_EQ(svc_->fetch("t", 0, 5, 1 << 20, true).error, stream_error::offset_out_of_range);
  EXPECT_EQ(svc_->fetch("t", 7, 0, 1 << 20, true).error, stream_error::unknown_topic_or_partition);
  EXPECT_TRUE(svc_->fetch("t", 0, 2, 1 << 20, true).records.empty());
  // min_one returns a whole first batch even past max_bytes; without it, nothing.
  auto one = svc_->fetch("t", 0, 0, 10, true);
  ASSERT_TRUE(read_batch_header(one.records).has_value());
  EXPECT_EQ(one.records.size(), read_batch_header(one.records)->total_bytes());
  EXPECT_TRUE(svc_->fetch("t", 0, 0, 10, false).records.empty());
}

TEST_F(ServiceTest, RejectsCorruptBatchesWithoutWriting) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  auto batch = build_batch({{"a", "1"}});
  batch.back() ^= 0xFF;
  EXPECT_EQ(produce("t", 0, batch).error, stream_error::corrupt_message);
  EXPECT_EQ(svc_->describe_topic("t")->partitions[0].log_end_offset, 0);
  auto big = build_batch({{"a", std::string(2 << 20, 'x')}});
  EXPECT_EQ(produce("t", 0, big).error, stream_error::message_too_large);
}

TEST_F(ServiceTest, IdempotentRetryIsAnsweredWithTheOriginalOffsetEvenAfterACrash) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  auto first = build_batch({{"a", "1"}, {"b", "2"}}, idempotent(7, 0));
  ASSERT_EQ(produce("t", 0, first).base_offset, 0);
  ASSERT_EQ(produce("t", 0, build_batch({{"c", "3"}}, idempotent(7, 2))).base_offset, 2);
  auto retry = produce("t", 0, first);
  EXPECT_EQ(retry.error, stream_error::none);
  EXPECT_EQ(retry.base_offset, 0);
  EXPECT_EQ(svc_->describe_topic("t")->partitions[0].log_end_offset, 3);
  EXPECT_EQ(produce("t", 0, build_batch({{"d", "4"}}, idempotent(7, 9))).error, stream_error::out_of_order_sequence);

  restart_after_crash();
  auto retry_after_restart = produce("t", 0, build_batch({{"c", "3"}}, idempotent(7, 2)));
  EXPECT_EQ(retry_after_restart.base_offset, 2);
  EXPECT_EQ(produce("t", 0, build_batch({{"d", "4"}}, idempotent(7, 3))).base_offset, 3);
}

TEST_F(ServiceTest, DiskFullIsAnErrorAndNothingIsVisible) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  ASSERT_EQ(produce("t", 0, build_batch({{"a", "1"}})).error, stream_error::none);
  fs_.set_disk_bytes_max(1);
  EXPECT_EQ(produce("t", 0, build_batch({{"b", std::string(4096, 'x')}})).error, stream_error::storage_error);
  fs_.set_disk_bytes_max(UINT64_MAX);
  auto ok = produce("t", 0, build_batch({{"c", "3"}}));
  EXPECT_EQ(ok.error, stream_error::none);
  EXPECT_EQ(ok.base_offset, 1);
}

TEST_F(ServiceTest, WatchersWakeWhenDataBecomesDurable) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  int woken = 0;
  svc_->watch("t", 0, [&] { ++woken; });
  uint64_t cancelled = svc_->watch("t", 0, [&] { woken += 100; });
  svc_->unwatch(cancelled);
  produce("t", 0, build_batch({{"a", "1"}}));
  sched_.run_pending();
  EXPECT_EQ(woken, 1);
}

TEST_F(ServiceTest, ListOffsetsByTimestamp) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  testing::batch_options o;
  o.base_timestamp_ms = 1000;
  produce("t", 0, build_batch({{"a", "1", 0}, {"b", "2", 100}}, o));
  o.base_timestamp_ms = 2000;
  produce("t", 0, build_batch({{"c", "3", 0}}, o));
  EXPECT_EQ(svc_->list_offset("t", 0, -2).offset, 0);
  EXPECT_EQ(svc_->list_offset("t", 0, -1).offset, 3);
  EXPECT_EQ(svc_->list_offset("t", 0, 1050).offset, 1);
  EXPECT_EQ(svc_->list_offset("t", 0, 1500).offset, 2);
  EXPECT_EQ(svc_->list_offset("t", 0, 5000).offset, -1);
}

TEST_F(ServiceTest, DeleteRecordsMovesTheStartDurably) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  produce("t", 0, build_batch({{"a", "1"}, {"b", "2"}}));
  produce("t", 0, build_batch({{"c", "3"}}));
  produce("t", 0, build_batch({{"d", "4"}}));
  EXPECT_EQ(svc_->delete_records("t", 0, 5).error, stream_error::offset_out_of_range);
  EXPECT_EQ(svc_->delete_records("t", 0, -2).error, stream_error::offset_out_of_range);
  EXPECT_EQ(svc_->delete_records("t", 3, 0).error, stream_error::unknown_topic_or_partition);
  auto moved = svc_->delete_records("t", 0, 2);
  EXPECT_EQ(moved.error, stream_error::none);
  EXPECT_EQ(moved.low_watermark, 2);
  EXPECT_EQ(svc_->delete_records("t", 0, 1).low_watermark, 2) << "never backwards";
  EXPECT_EQ(svc_->fetch("t", 0, 1, 1 << 20, true).error, stream_error::offset_out_of_range);
  auto f = svc_->fetch("t", 0, 2, 1 << 20, true);
  EXPECT_EQ(f.error, stream_error::none);
  EXPECT_EQ(f.log_start_offset, 2);
  EXPECT_EQ(svc_->list_offset("t", 0, -2).offset, 2);
  EXPECT_EQ(svc_->describe_topic("t")->partitions[0].log_start_offset, 2);

  restart_after_crash();
  EXPECT_EQ(svc_->list_offset("t", 0, -2).offset, 2);
  EXPECT_EQ(svc_->fetch("t", 0, 0, 1 << 20, true).error, stream_error::offset_out_of_range);
  auto to_hw = svc_->delete_records("t", 0, -1);
  EXPECT_EQ(to_hw.low_watermark, 4);
  EXPECT_EQ(svc_->list_offset("t", 0, -2).offset, 4);
  EXPECT_EQ(svc_->list_offset("t", 0, -1).offset, 4);
  EXPECT_EQ(produce("t", 0, build_batch({{"e", "5"}})).base_offset, 4);
}

TEST_F(ServiceTest, DescribeProducersListsIdempotentProducers) {
  ASSERT_TRUE(svc_->create_topic("t", 1, {}).ok());
  auto o = idempotent(7, 0);
  o.base_timestamp_ms = 1234;
  produce("t", 0, build_batch({{"a", "1"}, {"b", "2"}}, o));
  produce("t", 0, build_batch({{"plain", "x"}}));
  auto r = svc_->describe_producers("t", 0);
  EXPECT_EQ(r.error, stream_error::none);
  ASSERT_EQ(r.producers.size(), 1u);
  EXPECT_EQ(r.producers[0].producer_id, 7);
  EXPECT_EQ(r.producers[0].producer_epoch, 0);
  EXPECT_EQ(r.producers[0].last_sequence, 1);
  EXPECT_EQ(r.producers[0].last_timestamp_ms, 1234);
  EXPECT_EQ(svc_->describe_producers("t", 1).error, stream_error::unknown_topic_or_partition);
}

TEST_F(ServiceTest, TopicsAndProducerIdsSurviveRestart) {
  ASSERT_TRUE(svc_->create_topic("keep", 2, {{"segment.bytes", "1048576"}}).ok());
  auto a = svc_->init_producer_id(-1, -1);
  restart_after_crash();
  auto d = svc_->describe_topic("keep");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->partitions.size(), 2u);
  EXPECT_EQ(d->config.segment_bytes, 1048576u);
  auto b = svc_->init_producer_id(-1, -1);
  EXPECT_GT(b.producer_id, a.producer_id);
}

}  // namespace strata::streams

namespace strata::streams {

TEST(ServiceIntervalPolicy, OnlyAcksAllWaitsAndConsumersSeeOnlyFlushedData) {
  io::fault_fs fs;
  auto kv = meta::make_memory_kv();
  manual_scheduler sched;
  service_config c;
  c.data_dir = "/data";
  c.fsync = fsync_policy::interval;
  c.fsync_interval_ms = 60'000;  // no tick during the test: only acks=all flushes
  auto svc = service::open(c, fs, *kv, sched);
  ASSERT_TRUE(svc.ok());
  ASSERT_TRUE((*svc)->create_topic("t", 1, {}).ok());

  std::optional<produce_result> quick;
  (*svc)->produce("t", 0, testing::build_batch({{"a", "1"}}), /*wait_durable=*/false, [&](produce_result r) { quick = r; });
  ASSERT_TRUE(quick.has_value()) << "acks=1 under the interval policy is answered once written";
  EXPECT_EQ(quick->base_offset, 0);
  EXPECT_EQ((*svc)->fetch("t", 0, 0, 1 << 20, true).high_watermark, 0) << "not durable yet, so not visible";

  std::optional<produce_result> durable;
  (*svc)->produce("t", 0, testing::build_batch({{"b", "2"}}), /*wait_durable=*/true, [&](produce_result r) { durable = r; });
  EXPECT_FALSE(durable.has_value());
  for (int i = 0; i < 2000 && !durable; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    sched.run_pending();
  }
  ASSERT_TRUE(durable.has_value());
  EXPECT_EQ(durable->base_offset, 1);
  EXPECT_EQ((*svc)->fetch("t", 0, 0, 1 << 20, true).high_watermark, 2);
  (*svc)->shutdown();
}

}  // namespace strata::streams

namespace strata::streams {

TEST(ServiceProducerReplay, RemembersRecentProducersAndForgetsThoseBeyondTheReplayBound) {
  io::fault_fs fs;
  auto kv = meta::make_memory_kv();
  manual_scheduler sched;
  service_config c;
  c.data_dir = "/data";
  c.producer_state_replay_bytes_max = 64 * 1024;
  auto open = [&] {
    auto s = service::open(c, fs, *kv, sched);
    EXPECT_TRUE(s.ok());
    return std::move(*s);
  };
  auto produce = [&](service& svc, const std::vector<uint8_t>& batch) {
    std::optional<produce_result> out;
    svc.produce("t", 0, batch, true, [&](produce_result r) { out = r; });
    for (int i = 0; i < 2000 && !out; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      sched.run_pending();
    }
    return out.value_or(produce_result{stream_error::storage_error, "timeout"});
  };
  auto batch = [](int64_t pid, int32_t seq) {
    testing::batch_options o;
    o.producer_id = pid;
    o.producer_epoch = 0;
    o.base_sequence = seq;
    return testing::build_batch({{"k", std::string(4096, 'v')}}, o);
  };

  auto svc = open();
  ASSERT_TRUE(svc->create_topic("t", 1, {}).ok());
  ASSERT_EQ(produce(*svc, batch(1, 0)).base_offset, 0);  // producer 1 writes once, long ago
  for (int32_t seq = 0; seq < 60; ++seq) ASSERT_EQ(produce(*svc, batch(2, seq)).error, stream_error::none);
  svc->shutdown();
  svc.reset();
  sched.run_pending();

  svc = open();
  // Producer 2 wrote within the last 64 KiB: its retry is still a duplicate.
  auto retry = produce(*svc, batch(2, 59));
  EXPECT_EQ(retry.error, stream_error::none);
  EXPECT_EQ(retry.base_offset, 60);
  EXPECT_EQ(svc->describe_topic("t")->partitions[0].log_end_offset, 61);
  // Producer 1 is beyond the bound: it is forgotten, and told so.
  EXPECT_EQ(produce(*svc, batch(1, 1)).error, stream_error::unknown_producer_id);
  svc->shutdown();
}

}  // namespace strata::streams
