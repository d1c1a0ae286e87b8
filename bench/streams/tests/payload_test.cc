#include "payload.h"

#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "consume_meter.h"

namespace strata::bench {
namespace {

TEST(Payload, RoundTripsTheIndex) {
  std::vector<uint8_t> buf(1024);
  for (uint64_t index : {0ULL, 1ULL, 255ULL, 256ULL, 199'999ULL, 1ULL << 40}) {
    fill_payload(buf, index);
    auto got = check_payload(buf);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, index);
  }
}

TEST(Payload, RejectsDamagedTailAndShortRecords) {
  std::vector<uint8_t> buf(64);
  fill_payload(buf, 7);
  buf.back() ^= 1;
  EXPECT_FALSE(check_payload(buf).has_value());
  std::vector<uint8_t> short_buf(8);
  fill_payload(short_buf, 7);
  EXPECT_FALSE(check_payload(short_buf).has_value());
}

TEST(Payload, RejectsARecordWhoseIndexWasChanged) {
  std::vector<uint8_t> buf(64);
  fill_payload(buf, 7);
  buf[0] = 8;  // claims to be record 8, filler says 7
  EXPECT_FALSE(check_payload(buf).has_value());
}

TEST(ConsumeMeter, AcceptsRecordsInOrderAndCountsThem) {
  consume_meter meter(3, 32);
  meter.start();
  std::vector<uint8_t> buf(32);
  for (uint64_t i = 0; i < 3; ++i) {
    fill_payload(buf, i);
    ASSERT_TRUE(meter.observe(buf).ok());
  }
  EXPECT_TRUE(meter.done());
  auto stats = meter.finish();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->records, 3u);
  EXPECT_EQ(stats->payload_bytes, 96u);
}

TEST(ConsumeMeter, SplitsTimeToTheFirstRecordFromStreaming) {
  consume_meter meter(3, 1000);
  meter.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the client's start-up
  std::vector<uint8_t> buf(1000);
  fill_payload(buf, 0);
  ASSERT_TRUE(meter.observe(buf).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  for (uint64_t i = 1; i < 3; ++i) {
    fill_payload(buf, i);
    ASSERT_TRUE(meter.observe(buf).ok());
  }
  auto stats = meter.finish();
  ASSERT_TRUE(stats.ok());
  EXPECT_GE(stats->first_record_seconds, 0.02);
  EXPECT_GE(stats->streaming_seconds, 0.01);
  EXPECT_NEAR(stats->seconds, stats->first_record_seconds + stats->streaming_seconds, 1e-9);
  // Two records after the first, over the streaming time.
  EXPECT_NEAR(stats->streaming_mb_per_s, 2000 / 1e6 / stats->streaming_seconds, 1e-9);
}

TEST(ConsumeMeter, RejectsGapsWrongSizesAndMissingRecords) {
  std::vector<uint8_t> buf(32);
  consume_meter gap(3, 32);
  gap.start();
  fill_payload(buf, 1);  // record 0 skipped
  EXPECT_EQ(gap.observe(buf).code(), errc::corrupt);

  consume_meter size(3, 64);
  size.start();
  fill_payload(buf, 0);
  EXPECT_EQ(size.observe(buf).code(), errc::corrupt);

  consume_meter missing(3, 32);
  missing.start();
  ASSERT_TRUE(missing.observe(buf).ok());
  EXPECT_FALSE(missing.done());
  EXPECT_EQ(missing.finish().code(), errc::corrupt);
}

}  // namespace
}  // namespace strata::bench
