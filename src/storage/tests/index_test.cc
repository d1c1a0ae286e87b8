#include "storage/index.h"

#include <gtest/gtest.h>

namespace strata::storage {
namespace {

// 100-byte frames at positions 0, 100, 200, ... with offsets base + 2i.
segment_index build(int entries, uint32_t interval, const std::vector<int64_t>& timestamps = {}) {
  segment_index idx(log_offset(1000), interval);
  for (int i = 0; i < entries; ++i) {
    int64_t ts = timestamps.empty() ? 10 * i : timestamps[static_cast<size_t>(i)];
    idx.on_append(log_offset(1000 + 2 * i), static_cast<uint32_t>(100 * i), 100, ts);
  }
  return idx;
}

TEST(SegmentIndex, SparseByInterval) {
  auto idx = build(10, 250);
  // An entry when at least 250 bytes passed since the last one: frames 3, 6, 9.
  ASSERT_EQ(idx.offsets().size(), 3u);
  EXPECT_EQ(idx.offsets()[0].relative_offset, 6u);
  EXPECT_EQ(idx.offsets()[0].position, 300u);
  EXPECT_EQ(idx.offsets()[2].position, 900u);
}

TEST(SegmentIndex, FloorLookup) {
  auto idx = build(10, 250);
  EXPECT_EQ(idx.floor(log_offset(1000)).position, 0u);
  EXPECT_EQ(idx.floor(log_offset(1005)).position, 0u);
  EXPECT_EQ(idx.floor(log_offset(1006)).position, 300u);
  EXPECT_EQ(idx.floor(log_offset(1007)).position, 300u);
  EXPECT_EQ(idx.floor(log_offset(1013)).position, 600u);
  EXPECT_EQ(idx.floor(log_offset(5000)).position, 900u);
  EXPECT_EQ(idx.floor(log_offset(10)).position, 0u);
}

TEST(SegmentIndex, TimeIndexRecordsGrowthOnly) {
  // Timestamps: 50 at frame 2 is the max until 90 at frame 7.
  auto idx = build(10, 100, {10, 20, 50, 30, 40, 45, 41, 90, 60, 70});
  idx.seal();
  std::vector<std::pair<int64_t, uint32_t>> got;
  for (auto e : idx.times()) got.emplace_back(e.max_timestamp_ms, e.relative_offset);
  // Entries when the running max grew at an offset-index point: frames 1, 2, 7; seal adds nothing more.
  EXPECT_EQ(got, (std::vector<std::pair<int64_t, uint32_t>>{{20, 2}, {50, 4}, {90, 14}}));
  EXPECT_EQ(idx.max_timestamp_ms(), 90);
  // Every entry up to the returned offset is older than the target.
  EXPECT_EQ(idx.scan_start_for_timestamp(5), log_offset(1000));
  EXPECT_EQ(idx.scan_start_for_timestamp(20), log_offset(1000));
  EXPECT_EQ(idx.scan_start_for_timestamp(21), log_offset(1002));
  EXPECT_EQ(idx.scan_start_for_timestamp(60), log_offset(1004));
  EXPECT_EQ(idx.scan_start_for_timestamp(1000), log_offset(1014));
}

TEST(SegmentIndex, SealAddsTheFinalMax) {
  auto idx = build(3, 1 << 20, {5, 9, 7});
  EXPECT_TRUE(idx.times().empty());
  idx.seal();
  ASSERT_EQ(idx.times().size(), 1u);
  EXPECT_EQ(idx.times()[0].max_timestamp_ms, 9);
  EXPECT_EQ(idx.times()[0].relative_offset, 2u);
}

TEST(SegmentIndex, FilesRoundTrip) {
  auto idx = build(50, 300);
  idx.seal();
  auto offsets = idx.encode_offsets();
  auto times = idx.encode_times();
  auto back = segment_index::decode(log_offset(1000), 300, offsets, times, 5000);
  ASSERT_TRUE(back.ok()) << back.err().message;
  ASSERT_EQ(back->offsets().size(), idx.offsets().size());
  for (size_t i = 0; i < idx.offsets().size(); ++i) {
    EXPECT_EQ(back->offsets()[i].relative_offset, idx.offsets()[i].relative_offset);
    EXPECT_EQ(back->offsets()[i].position, idx.offsets()[i].position);
  }
  EXPECT_EQ(back->times().size(), idx.times().size());
  EXPECT_EQ(back->max_timestamp_ms(), idx.max_timestamp_ms());
}

TEST(SegmentIndex, DecodeRejectsDamage) {
  auto idx = build(50, 300);
  idx.seal();
  auto offsets = idx.encode_offsets();
  auto times = idx.encode_times();
  auto decode = [&](const std::vector<uint8_t>& o, const std::vector<uint8_t>& t, uint64_t data_bytes = 5000) {
    return segment_index::decode(log_offset(1000), 300, o, t, data_bytes).code();
  };
  EXPECT_EQ(decode(offsets, times), errc::ok);
  auto o = offsets;
  o[20] ^= 1;  // an entry byte: CRC
  EXPECT_EQ(decode(o, times), errc::corrupt);
  o = offsets;
  o.pop_back();  // length
  EXPECT_EQ(decode(o, times), errc::corrupt);
  EXPECT_EQ(decode(times, offsets), errc::corrupt) << "files swapped";
  EXPECT_EQ(decode(offsets, times, 1000), errc::corrupt) << "positions past the data";
  EXPECT_EQ(decode({}, times), errc::corrupt);
}

}  // namespace
}  // namespace strata::storage
