#include "streams/record_batch.h"

#include <gtest/gtest.h>

#include "streams/tests/batch_builder.h"

namespace strata::streams {

using testing::build_batch;

TEST(RecordBatch, AcceptsAWellFormedBatch) {
  auto batch = build_batch({{"k1", "v1"}, {"k2", "v2"}, {"k3", "v3"}});
  auto check = check_single_batch(batch);
  ASSERT_EQ(check.problem, batch_problem::none) << check.message;
  EXPECT_EQ(check.header.record_count, 3);
  EXPECT_EQ(check.header.offset_count(), 3u);
  EXPECT_FALSE(check.header.idempotent());
}

TEST(RecordBatch, DetectsEveryFlippedPayloadByte) {
  auto batch = build_batch({{"key", "value"}});
  for (size_t i = batch_crc_covered_from; i < batch.size(); ++i) {
    auto copy = batch;
    copy[i] ^= 0x01;
    EXPECT_NE(check_single_batch(copy).problem, batch_problem::none) << "byte " << i;
  }
}

TEST(RecordBatch, RefusesTruncatedAndPaddedBatches) {
  auto batch = build_batch({{"key", "value"}});
  for (size_t n : {size_t{0}, size_t{10}, batch_header_bytes, batch.size() - 1}) {
    EXPECT_EQ(check_single_batch(std::span<const uint8_t>(batch).first(n)).problem, batch_problem::corrupt) << n;
  }
  auto padded = batch;
  padded.push_back(0);
  EXPECT_EQ(check_single_batch(padded).problem, batch_problem::corrupt);
}

TEST(RecordBatch, RefusesOldMagic) {
  auto batch = build_batch({{"key", "value"}});
  batch[16] = 1;
  EXPECT_EQ(check_single_batch(batch).problem, batch_problem::unsupported_magic);
}

TEST(RecordBatch, AssignOffsetKeepsTheCrcValid) {
  auto batch = build_batch({{"a", "b"}});
  assign_batch_offset(batch, 123456, 7);
  auto check = check_single_batch(batch);
  ASSERT_EQ(check.problem, batch_problem::none);
  EXPECT_EQ(check.header.base_offset, 123456);
}

TEST(RecordBatch, FindsTheFirstRecordAtOrAfterATimestamp) {
  testing::batch_options o;
  o.base_timestamp_ms = 1000;
  auto batch = build_batch({{"a", "1", 0}, {"b", "2", 10}, {"c", "3", 20}}, o);
  assign_batch_offset(batch, 50, 0);
  EXPECT_EQ(first_record_at_or_after(batch, 1005).offset, 51);
  EXPECT_EQ(first_record_at_or_after(batch, 1005).timestamp_ms, 1010);
  EXPECT_EQ(first_record_at_or_after(batch, 1000).offset, 50);
  EXPECT_EQ(first_record_at_or_after(batch, 1020).offset, 52);
}

TEST(RecordBatch, FindsRecordsInsideCompressedBatches) {
  for (codec c : {codec::gzip, codec::snappy, codec::lz4, codec::zstd}) {
    testing::batch_options o;
    o.base_timestamp_ms = 1000;
    o.compression = c;
    auto batch = build_batch({{"a", "1", 0}, {"b", "2", 10}, {"c", "3", 20}}, o);
    ASSERT_EQ(check_single_batch(batch).problem, batch_problem::none);
    assign_batch_offset(batch, 50, 0);
    EXPECT_EQ(first_record_at_or_after(batch, 1015).offset, 52) << static_cast<int>(c);
    EXPECT_EQ(first_record_at_or_after(batch, 1015).timestamp_ms, 1020) << static_cast<int>(c);
  }
}

TEST(RecordBatch, SequenceWrapsAtInt32Max) {
  batch_header h;
  h.base_sequence = std::numeric_limits<int32_t>::max() - 1;
  h.last_offset_delta = 3;
  EXPECT_EQ(h.last_sequence(), 1);
}

}  // namespace strata::streams
