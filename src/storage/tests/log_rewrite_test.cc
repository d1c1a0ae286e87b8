// Rewriting closed segments (compaction's storage half): staging, the swap,
// refusal when the segments changed, and that a crash at any point of the
// swap leaves the log either as before or as after (docs/formats/log.md,
// "Replacing segments").
#include <gtest/gtest.h>

#include "io/fault_fs.h"
#include "storage/log.h"
#include "storage/rewrite.h"
#include "storage/segment.h"
#include "storage/tests/test_util.h"

namespace strata::storage {
namespace {

using testing::payload_for;
using testing::to_vector;

constexpr const char* dir = "/data/log";

struct entry {
  int64_t base;
  uint32_t count;
  std::vector<uint8_t> payload;
  bool operator==(const entry&) const = default;
};

std::vector<entry> entries_of(log& l) {
  std::vector<entry> out;
  log_offset at = l.start_offset();
  while (at < l.end_offset()) {
    auto r = l.read(at, 1 << 20, l.end_offset(), true);
    EXPECT_TRUE(r.ok()) << r.err().message;
    if (!r.ok() || r->entries.empty()) break;
    for (auto& e : r->entries) {
      EXPECT_EQ(e.base_offset, at) << "frames stay dense";
      out.push_back({e.base_offset.value, e.record_count, to_vector(e.payload)});
      at = e.base_offset + e.record_count;
    }
  }
  return out;
}

class LogRewriteTest : public ::testing::Test {
 protected:
  LogRewriteTest() { cfg_.segment_bytes_max = 500; }  // 140-byte frames: 3 to a segment

  std::unique_ptr<log> open() {
    auto l = log::open(fs(), dir, cfg_);
    EXPECT_TRUE(l.ok()) << l.err().message;
    return l.ok() ? std::move(l).value() : nullptr;
  }
  void add(log& l, int count) {
    for (int i = 0; i < count; ++i) ASSERT_TRUE(l.append(payload_for(l.end_offset().value, 100), 2, 1000 + i).ok());
  }
  // Stages a rewrite of every closed segment keeping the entries whose
  // base offset `keep` accepts (and always the last one).
  staged_rewrite stage(log& l, const std::function<bool(int64_t)>& keep, uint64_t segment_bytes = 500) {
    auto closed = l.closed_segments();
    EXPECT_FALSE(closed.empty());
    segment_rewriter w(fs(), dir, closed, segment_bytes, cfg_.index_interval_bytes);
    for (const auto& seg : closed) {
      auto s = read_closed_segment(fs(), dir, seg, [&](const entry_view& e) -> status {
        bool last = e.base_offset + e.record_count == closed.back().next;
        if (!keep(e.base_offset.value) && !last) return {};
        return w.add(e.payload, e.base_offset + e.record_count, e.max_timestamp_ms);
      });
      EXPECT_TRUE(s.ok()) << s.err().message;
    }
    auto staged = w.finish();
    EXPECT_TRUE(staged.ok()) << staged.err().message;
    return std::move(staged).value();
  }
  // What the rewrite should read as: kept entries take over the offsets of
  // the dropped ones before them.
  static std::vector<entry> expected_after(const std::vector<entry>& before, int64_t range_end,
                                           const std::function<bool(int64_t)>& keep) {
    std::vector<entry> out;
    int64_t covered = before.front().base;
    for (const auto& e : before) {
      int64_t next = e.base + e.count;
      if (next <= range_end && !keep(e.base) && next != range_end) continue;
      out.push_back({covered, static_cast<uint32_t>(next - covered), e.payload});
      covered = next;
    }
    return out;
  }
  size_t staged_files() {
    size_t n = 0;
    auto names = fs().list(dir);
    EXPECT_TRUE(names.ok());
    if (!names.ok()) return n;
    for (const auto& name : *names) n += name.ends_with(".cleaned") || name == "swap" || name == "swap.tmp";
    return n;
  }

  io::fault_fs& fs() { return *fs_; }

  std::unique_ptr<io::fault_fs> fs_ = std::make_unique<io::fault_fs>();
  log_config cfg_;
};

bool even(int64_t base) { return base % 4 == 0; }

TEST_F(LogRewriteTest, KeptEntriesKeepTheirOffsetsAndCoverTheDroppedOnes) {
  auto l = open();
  add(*l, 10);  // offsets 0..19, segments of 3 entries; the active one holds the 10th
  auto before = entries_of(*l);
  auto closed = l->closed_segments();
  ASSERT_EQ(closed.size(), 3u);
  auto staged = stage(*l, even);
  ASSERT_TRUE(l->replace_segments(staged).ok());
  auto want = expected_after(before, closed.back().next.value, even);
  EXPECT_EQ(entries_of(*l), want);
  EXPECT_EQ(l->start_offset().value, 0);
  EXPECT_EQ(l->end_offset().value, 20);
  EXPECT_LT(l->segment_count(), 4u + 1);
  EXPECT_EQ(staged_files(), 0u);
  // Appends go on; a reopen sees the same.
  add(*l, 1);
  auto now = entries_of(*l);
  l.reset();
  l = open();
  EXPECT_EQ(entries_of(*l), now);
}

TEST_F(LogRewriteTest, MergesSmallSegmentsAndSplitsLargeOnes) {
  auto l = open();
  add(*l, 13);
  auto before = entries_of(*l);
  auto closed = l->closed_segments();
  ASSERT_EQ(closed.size(), 4u);
  auto keep_all = [](int64_t) { return true; };
  ASSERT_TRUE(l->replace_segments(stage(*l, [](int64_t b) { return b % 8 == 0; }, 10'000)).ok());
  EXPECT_EQ(l->segment_count(), 2u) << "merged into one closed segment";
  auto merged = entries_of(*l);
  EXPECT_EQ(merged, expected_after(before, closed.back().next.value, [](int64_t b) { return b % 8 == 0; }));
  ASSERT_TRUE(l->replace_segments(stage(*l, keep_all, 150)).ok());
  EXPECT_EQ(entries_of(*l), merged);
  EXPECT_EQ(l->segment_count(), merged.size() - 1 + 1);
  l.reset();
  l = open();
  EXPECT_EQ(entries_of(*l), merged);
}

TEST_F(LogRewriteTest, RefusesWhenTheSegmentsChangedMeanwhile) {
  cfg_.retention_ms = 10;
  auto l = open();
  add(*l, 10);
  auto staged = stage(*l, even);
  ASSERT_GT(staged_files(), 0u);
  auto removed = l->enforce_retention(1'000'000);
  ASSERT_TRUE(removed.ok());
  ASSERT_GT(*removed, 0);
  auto s = l->replace_segments(staged);
  EXPECT_EQ(s.code(), errc::unavailable);
  EXPECT_EQ(staged_files(), 0u) << "staged files are removed";
  EXPECT_TRUE(l->append(payload_for(l->end_offset().value, 100), 1, 1).ok()) << "the log stays usable";
}

TEST_F(LogRewriteTest, RewriterRefusesEntriesOutOfRange) {
  auto l = open();
  add(*l, 4);
  segment_rewriter w(fs(), dir, l->closed_segments(), 500, cfg_.index_interval_bytes);
  EXPECT_EQ(w.add(payload_for(0, 10), log_offset(0), 1).code(), errc::invalid_argument);
  EXPECT_EQ(w.add(payload_for(0, 10), log_offset(7), 1).code(), errc::invalid_argument);
  ASSERT_TRUE(w.add(payload_for(0, 10), log_offset(4), 1).ok());
  EXPECT_EQ(w.finish().code(), errc::invalid_argument) << "the range ends at 6";
}

TEST_F(LogRewriteTest, AbandonedRewriteLeavesNoFiles) {
  auto l = open();
  add(*l, 7);
  {
    segment_rewriter w(fs(), dir, l->closed_segments(), 500, cfg_.index_interval_bytes);
    ASSERT_TRUE(w.add(payload_for(0, 10), log_offset(4), 1).ok());
  }
  EXPECT_EQ(staged_files(), 0u);
  // Staged files a crash left behind go on open.
  auto staged = stage(*l, even);
  l.reset();
  EXPECT_GT(staged_files(), 0u);
  l = open();
  EXPECT_EQ(staged_files(), 0u);
}

// A failed sync at each point of the swap, then power loss: the reopened log
// is the old one or the new one, whole, and holds no leftovers.
TEST_F(LogRewriteTest, CrashAtEveryStepOfTheSwapLeavesOldOrNew) {
  bool saw_old = false;
  bool saw_new = false;
  for (uint64_t nth = 1; nth < 40; ++nth) {
    fs_ = std::make_unique<io::fault_fs>();
    auto l = open();
    add(*l, 10);
    ASSERT_TRUE(l->flush().ok());
    auto before = entries_of(*l);
    auto staged = stage(*l, even, 300);
    auto after = expected_after(before, staged.range_end().value, even);
    fs().fail_sync(nth);
    auto s = l->replace_segments(staged);
    fs().fail_sync(0);
    if (!s.ok() && s.code() != errc::io_error) ADD_FAILURE() << s.err().message;
    l.reset();
    fs().crash();
    l = open();
    ASSERT_NE(l, nullptr) << "sync " << nth;
    auto got = entries_of(*l);
    EXPECT_TRUE(got == before || got == after) << "sync " << nth;
    saw_old = saw_old || got == before;
    saw_new = saw_new || got == after;
    EXPECT_EQ(staged_files(), 0u) << "sync " << nth;
    EXPECT_EQ(l->end_offset().value, 20);
  }
  EXPECT_TRUE(saw_old);
  EXPECT_TRUE(saw_new);
}

TEST_F(LogRewriteTest, SwapMarkerRoundTripsAndRefusesDamage) {
  swap_marker m{log_offset(10), log_offset(50), {log_offset(10), log_offset(30)}};
  auto bytes = encode_swap_marker(m);
  auto back = decode_swap_marker(bytes, "swap");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->new_bases, m.new_bases);
  EXPECT_EQ(back->range_end, log_offset(50));
  bytes[20] ^= 1;
  EXPECT_EQ(decode_swap_marker(bytes, "swap").code(), errc::corrupt);
  m.new_bases = {log_offset(12)};
  EXPECT_EQ(decode_swap_marker(encode_swap_marker(m), "swap").code(), errc::corrupt);
}

}  // namespace
}  // namespace strata::storage
