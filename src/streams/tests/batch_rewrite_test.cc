#include <gtest/gtest.h>

#include "streams/compression.h"
#include "streams/record_batch.h"
#include "streams/tests/batch_builder.h"

namespace strata::streams {

namespace {

using testing::build_batch;

const std::vector<testing::test_record> records{
    {"k1", std::string(2000, 'a'), 0}, {"", "v2", 5}, {"k3", std::string(70'000, 'z'), 9}};

std::vector<uint8_t> records_of(std::span<const uint8_t> batch) {
  auto h = read_batch_header(batch);
  EXPECT_TRUE(h.has_value());
  auto plain = decompress(static_cast<codec>(h->compression()), batch.subspan(batch_header_bytes), 1 << 30);
  EXPECT_TRUE(plain.ok());
  return plain.ok() ? *plain : std::vector<uint8_t>{};
}

testing::batch_options idempotent(codec c) {
  testing::batch_options o;
  o.producer_id = 42;
  o.producer_epoch = 3;
  o.base_sequence = 17;
  o.compression = c;
  return o;
}

}  // namespace

TEST(BatchRewrite, EveryCodecToEveryCodecKeepsRecordsAndProducerFields) {
  const codec codecs[] = {codec::none, codec::gzip, codec::snappy, codec::lz4, codec::zstd};
  const auto expected = records_of(build_batch(records));
  for (codec from : codecs) {
    auto sent = build_batch(records, idempotent(from));
    for (codec to : codecs) {
      batch_rewrite how{static_cast<int>(to), std::nullopt};
      EXPECT_EQ(rewrite_needed(*read_batch_header(sent), how), from != to);
      auto out = rewrite_batch(sent, how);
      ASSERT_TRUE(out.ok()) << out.err().message;
      auto check = check_single_batch(*out);
      ASSERT_EQ(check.problem, batch_problem::none) << static_cast<int>(from) << "->" << static_cast<int>(to) << ": " << check.message;
      const batch_header& h = check.header;
      EXPECT_EQ(h.compression(), static_cast<int>(to));
      EXPECT_EQ(h.producer_id, 42);
      EXPECT_EQ(h.producer_epoch, 3);
      EXPECT_EQ(h.base_sequence, 17);
      EXPECT_EQ(h.record_count, 3);
      EXPECT_EQ(h.max_timestamp_ms, read_batch_header(sent)->max_timestamp_ms);
      EXPECT_FALSE(h.log_append_time());
      EXPECT_EQ(records_of(*out), expected);
    }
  }
}

TEST(BatchRewrite, SnappyIsWrittenInTheJavaFraming) {
  auto out = rewrite_batch(build_batch(records), {static_cast<int>(codec::snappy), std::nullopt});
  ASSERT_TRUE(out.ok());
  const uint8_t magic[] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
  ASSERT_GT(out->size(), batch_header_bytes + sizeof(magic));
  EXPECT_TRUE(std::equal(std::begin(magic), std::end(magic), out->begin() + batch_header_bytes));
}

TEST(BatchRewrite, LogAppendTimeSetsTheTypeAndMaxTimestampOnly) {
  auto sent = build_batch(records, idempotent(codec::lz4));
  auto out = rewrite_batch(sent, {std::nullopt, 1'800'000'000'000});
  ASSERT_TRUE(out.ok());
  auto check = check_single_batch(*out);
  ASSERT_EQ(check.problem, batch_problem::none) << check.message;
  EXPECT_TRUE(check.header.log_append_time());
  EXPECT_EQ(check.header.compression(), static_cast<int>(codec::lz4));
  EXPECT_EQ(check.header.max_timestamp_ms, 1'800'000'000'000);
  EXPECT_EQ(check.header.base_timestamp_ms, read_batch_header(sent)->base_timestamp_ms);
  EXPECT_EQ(check.header.base_sequence, 17);
  EXPECT_TRUE(std::equal(out->begin() + batch_header_bytes, out->end(), sent.begin() + batch_header_bytes))
      << "records stay byte for byte";

  auto both = rewrite_batch(sent, {static_cast<int>(codec::gzip), 1'800'000'000'000});
  ASSERT_TRUE(both.ok());
  auto h = check_single_batch(*both);
  ASSERT_EQ(h.problem, batch_problem::none);
  EXPECT_TRUE(h.header.log_append_time());
  EXPECT_EQ(h.header.compression(), static_cast<int>(codec::gzip));
}

TEST(BatchRewrite, CorruptCompressedRecordsAreAnError) {
  auto sent = build_batch(records, idempotent(codec::zstd));
  for (size_t i = batch_header_bytes; i < batch_header_bytes + 8; ++i) sent[i] ^= 0xFF;
  auto out = rewrite_batch(sent, {static_cast<int>(codec::none), std::nullopt});
  EXPECT_EQ(out.code(), errc::corrupt);
}

TEST(BatchTimestamps, EveryRecordIsCheckedAgainstTheLimit) {
  testing::batch_options o;
  o.base_timestamp_ms = 1'000'000;
  auto batch = build_batch({{"a", "1", 0}, {"b", "2", -500}, {"c", "3", 200}}, o);
  EXPECT_EQ(*timestamp_out_of_range(batch, 1'000'000, 500), std::nullopt);
  EXPECT_EQ(*timestamp_out_of_range(batch, 1'000'000, 499), std::optional<int64_t>(999'500));
  EXPECT_EQ(*timestamp_out_of_range(batch, 999'000, 1'000), std::optional<int64_t>(1'000'200));
  o.compression = codec::snappy;
  auto packed = build_batch({{"a", "1", 0}, {"b", "2", -500}}, o);
  EXPECT_EQ(*timestamp_out_of_range(packed, 1'000'000, 499), std::optional<int64_t>(999'500));
  o.compression = codec::none;
  o.attributes = 0x8;  // LogAppendTime: the broker's time, never checked
  EXPECT_EQ(*timestamp_out_of_range(build_batch({{"a", "1", -5000}}, o), 1'000'000, 1), std::nullopt);
}

}  // namespace strata::streams
