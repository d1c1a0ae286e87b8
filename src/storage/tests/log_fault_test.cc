// The log under faults and crashes, through io::fault_fs.
#include <gtest/gtest.h>

#include "io/fault_fs.h"
#include "storage/log.h"
#include "storage/index.h"
#include "storage/segment.h"
#include "storage/tests/test_util.h"

namespace strata::storage {
namespace {

using testing::payload_for;
using testing::read_all_checked;

constexpr const char* dir = "/data/log";

class LogFaultTest : public ::testing::Test {
 protected:
  std::unique_ptr<log> open() {
    auto l = log::open(fs_, dir, cfg_);
    EXPECT_TRUE(l.ok()) << l.err().message;
    return l.ok() ? std::move(l).value() : nullptr;
  }
  status add(log& l, size_t size, uint32_t records = 1) {
    auto r = l.append(payload_for(l.end_offset().value, size), records, 1000);
    if (!r.ok()) return r.err();
    return {};
  }
  void add_ok(log& l, int count, size_t size) {
    for (int i = 0; i < count; ++i) ASSERT_TRUE(add(l, size).ok());
  }
  std::string path(log_offset base, const char* suffix) { return io::join_path(dir, segment_file_name(base, suffix)); }
  uint64_t file_size(const std::string& p) { return fs_.contents(p)->size(); }

  io::fault_fs fs_;
  log_config cfg_;
};

TEST_F(LogFaultTest, CrashAfterFlushLosesNothingFlushed) {
  cfg_.segment_bytes_max = 2000;
  auto l = open();
  add_ok(*l, 50, 100);
  ASSERT_EQ(*l->flush(), log_offset(50));
  add_ok(*l, 5, 100);  // not flushed
  l.reset();
  fs_.crash();
  l = open();
  EXPECT_EQ(l->end_offset(), log_offset(50));
  EXPECT_EQ(read_all_checked(*l).size(), 50u);
}

TEST_F(LogFaultTest, CrashBeforeFlushNeverLeavesATornEntry) {
  // Every way the unsynced writes may have landed: none, some, the next one torn.
  for (size_t kept = 0; kept <= 6; ++kept) {
    for (uint64_t torn : {0, 1, 39, 40, 41, 99, 139}) {
      io::fault_fs fs;
      {
        auto l = std::move(log::open(fs, dir, cfg_)).value();
        for (int i = 0; i < 3; ++i) ASSERT_TRUE(l->append(payload_for(i, 100), 1, 0).ok());
        ASSERT_TRUE(l->flush().ok());
        for (int i = 3; i < 8; ++i) ASSERT_TRUE(l->append(payload_for(i, 100), 1, 0).ok());
      }
      fs.crash({.unsynced_ops_kept = kept, .torn_bytes = torn});
      auto l = std::move(log::open(fs, dir, cfg_)).value();
      SCOPED_TRACE("kept " + std::to_string(kept) + " torn " + std::to_string(torn));
      int64_t expect = 3 + static_cast<int64_t>(std::min<size_t>(kept, 5));
      EXPECT_EQ(l->end_offset(), log_offset(expect));
      EXPECT_EQ(l->flushed_offset(), l->end_offset()) << "open makes what it recovered durable";
      read_all_checked(*l);
      ASSERT_TRUE(l->append(payload_for(expect, 10), 1, 0).ok()) << "appends continue after recovery";
      EXPECT_EQ(read_all_checked(*l).size(), static_cast<size_t>(expect + 1));
    }
  }
}

TEST_F(LogFaultTest, TornWriteAtEveryBytePositionOfTheLastFrame) {
  constexpr size_t payload = 300;
  constexpr uint64_t frame = frame_header_bytes + payload;
  for (uint64_t torn = 0; torn <= frame; ++torn) {
    io::fault_fs fs;
    {
      auto l = std::move(log::open(fs, dir, cfg_)).value();
      for (int i = 0; i < 4; ++i) ASSERT_TRUE(l->append(payload_for(i, payload), 1, 0).ok());
      ASSERT_TRUE(l->flush().ok());
      ASSERT_TRUE(l->append(payload_for(4, payload), 1, 0).ok());
    }
    fs.crash({.unsynced_ops_kept = 0, .torn_bytes = torn});
    auto l = std::move(log::open(fs, dir, cfg_)).value();
    int64_t expect = torn == frame ? 5 : 4;
    ASSERT_EQ(l->end_offset(), log_offset(expect)) << "torn at byte " << torn;
    ASSERT_EQ(fs.contents(io::join_path(dir, segment_file_name(log_offset(0), ".log")))->size(),
              static_cast<uint64_t>(expect) * frame)
        << "the torn bytes are cut off";
    ASSERT_EQ(read_all_checked(*l).size(), static_cast<size_t>(expect));
  }
}

TEST_F(LogFaultTest, CorruptByteInTheLastSegmentTruncatesThere) {
  auto l = open();
  add_ok(*l, 10, 200);
  ASSERT_TRUE(l->flush().ok());
  l.reset();
  uint64_t frame = frame_header_bytes + 200;
  ASSERT_TRUE(fs_.corrupt_byte(path(log_offset(0), ".log"), 6 * frame + 100).ok());  // inside entry 6's payload
  l = open();
  EXPECT_EQ(l->end_offset(), log_offset(6));
  EXPECT_EQ(file_size(path(log_offset(0), ".log")), 6 * frame);
  EXPECT_EQ(read_all_checked(*l).size(), 6u);
  ASSERT_TRUE(add(*l, 5).ok());
  EXPECT_EQ(l->end_offset(), log_offset(7));
}

TEST_F(LogFaultTest, DiskFullFailsTheAppendAndTheLogRecovers) {
  auto l = open();
  add_ok(*l, 5, 100);
  ASSERT_TRUE(l->flush().ok());
  uint64_t used = fs_.used_bytes();
  fs_.set_disk_bytes_max(used + 200);  // one more 140-byte frame fits, the next only in part
  ASSERT_TRUE(add(*l, 100).ok());
  auto s = add(*l, 100);
  EXPECT_EQ(s.code(), errc::no_space);
  EXPECT_EQ(l->end_offset(), log_offset(6)) << "the failed entry takes no offset";
  EXPECT_EQ(fs_.used_bytes(), used + 140) << "the partial frame was cut back off";
  EXPECT_EQ(read_all_checked(*l).size(), 6u);
  EXPECT_EQ(add(*l, 100).code(), errc::no_space) << "still full";

  fs_.set_disk_bytes_max(UINT64_MAX);
  add_ok(*l, 3, 100);
  ASSERT_EQ(*l->flush(), log_offset(9));
  l.reset();
  fs_.crash();
  l = open();
  EXPECT_EQ(l->end_offset(), log_offset(9));
  EXPECT_EQ(read_all_checked(*l).size(), 9u);
}

TEST_F(LogFaultTest, DiskFullDuringRollFailsTheAppendOnly) {
  cfg_.segment_bytes_max = 500;
  auto l = open();
  add_ok(*l, 3, 100);
  fs_.set_disk_bytes_max(fs_.used_bytes() + 10);  // index files of the roll do not fit
  EXPECT_EQ(add(*l, 100).code(), errc::no_space);
  EXPECT_EQ(l->end_offset(), log_offset(3));
  fs_.set_disk_bytes_max(UINT64_MAX);
  add_ok(*l, 3, 100);
  EXPECT_EQ(l->segment_count(), 2u);
  ASSERT_TRUE(l->flush().ok());
  l.reset();
  fs_.crash();
  l = open();
  EXPECT_EQ(read_all_checked(*l).size(), 6u);
}

TEST_F(LogFaultTest, FailedWriteMidEntryIsCutBack) {
  auto l = open();
  add_ok(*l, 3, 100);
  fs_.fail_write(1, 77);  // the next write puts 77 bytes down, then fails
  EXPECT_EQ(add(*l, 100).code(), errc::io_error);
  EXPECT_EQ(l->end_offset(), log_offset(3));
  EXPECT_EQ(file_size(path(log_offset(0), ".log")), 3 * 140u);
  add_ok(*l, 2, 50);
  ASSERT_TRUE(l->flush().ok());
  l.reset();
  fs_.crash();
  l = open();
  EXPECT_EQ(read_all_checked(*l), (std::vector<size_t>{100, 100, 100, 50, 50}));
}

TEST_F(LogFaultTest, FailedWriteThatLandedWhollyIsNotVisibleAfterRestart) {
  auto l = open();
  add_ok(*l, 2, 100);
  fs_.fail_write(1, 140);  // all bytes reached the file, yet the write reported an error
  EXPECT_EQ(add(*l, 100).code(), errc::io_error);
  ASSERT_TRUE(l->flush().ok());
  l.reset();
  fs_.crash({.unsynced_ops_kept = 100});
  l = open();
  EXPECT_EQ(l->end_offset(), log_offset(2)) << "an append that returned an error never shows up";
}

TEST_F(LogFaultTest, FailedSyncIsStickyUntilReopen) {
  auto l = open();
  add_ok(*l, 3, 100);
  ASSERT_TRUE(l->flush().ok());
  add_ok(*l, 2, 100);
  fs_.fail_syncs(true);
  EXPECT_EQ(l->flush().code(), errc::io_error);
  EXPECT_EQ(l->flushed_offset(), log_offset(3));
  fs_.fail_syncs(false);
  EXPECT_EQ(l->flush().code(), errc::io_error) << "a later sync cannot vouch for pages the failed one dropped";
  EXPECT_EQ(add(*l, 10).code(), errc::io_error);
  l.reset();
  l = open();
  EXPECT_EQ(l->end_offset(), log_offset(5));
  ASSERT_TRUE(add(*l, 10).ok());
}

TEST_F(LogFaultTest, MissingOrDamagedIndexesOfOlderSegmentsAreRebuilt) {
  cfg_.segment_bytes_max = 1000;
  cfg_.index_interval_bytes = 100;
  auto l = open();
  add_ok(*l, 30, 100);
  ASSERT_TRUE(l->flush().ok());
  ASSERT_GE(l->segment_count(), 3u);
  l.reset();
  auto good_index = *fs_.contents(path(log_offset(0), ".index"));
  ASSERT_TRUE(fs_.remove(path(log_offset(0), ".index")).ok());
  ASSERT_TRUE(fs_.corrupt_byte(path(log_offset(7), ".timeindex"), 20).ok());
  l = open();
  EXPECT_EQ(*fs_.contents(path(log_offset(0), ".index")), good_index);
  EXPECT_EQ(read_all_checked(*l).size(), 30u);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(l->read(log_offset(i), 0, l->end_offset(), true).ok());
}

TEST_F(LogFaultTest, IndexThatDisagreesWithTheDataIsRebuilt) {
  cfg_.segment_bytes_max = 1000;
  cfg_.index_interval_bytes = 100;
  auto l = open();
  add_ok(*l, 30, 100);
  ASSERT_TRUE(l->flush().ok());
  l.reset();
  // A well-formed index (good header and CRC) whose last entry points into
  // the middle of a frame.
  segment_index wrong(log_offset(0), 100);
  wrong.on_append(log_offset(0), 0, 140, 1000);
  wrong.on_append(log_offset(1), 70, 140, 1000);
  auto wrong_bytes = wrong.encode_offsets();
  auto f = std::move(fs_.open(path(log_offset(0), ".index"), io::open_mode::read_write)).value();
  ASSERT_TRUE(f->truncate(0).ok());
  ASSERT_TRUE(f->write_at(0, wrong_bytes).ok());
  f.reset();
  l = open();
  EXPECT_NE(*fs_.contents(path(log_offset(0), ".index")), wrong_bytes) << "rewritten from the data";
  EXPECT_EQ(read_all_checked(*l).size(), 30u);
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(l->read(log_offset(i), 0, l->end_offset(), true).ok());
}

TEST_F(LogFaultTest, DamageInAnOlderSegmentIsReportedNotHidden) {
  cfg_.segment_bytes_max = 1000;
  auto l = open();
  add_ok(*l, 30, 100);
  ASSERT_TRUE(l->flush().ok());
  l.reset();
  ASSERT_TRUE(fs_.corrupt_byte(path(log_offset(0), ".log"), 140 + 50).ok());
  l = open();  // the index is intact, so open succeeds...
  auto r = l->read(log_offset(1), 1000, l->end_offset(), true);
  EXPECT_EQ(r.code(), errc::corrupt) << "...and the read of the damaged entry reports it";
  EXPECT_NE(r.err().message.find("00000000000000000000.log at byte 140:"), std::string::npos) << r.err().message;
  EXPECT_TRUE(l->read(log_offset(7), 1000, l->end_offset(), true).ok());
  l.reset();
  ASSERT_TRUE(fs_.remove(path(log_offset(0), ".index")).ok());
  auto reopened = log::open(fs_, dir, cfg_);
  EXPECT_EQ(reopened.code(), errc::corrupt) << "a rebuild that meets damage refuses to drop data silently";
}

TEST_F(LogFaultTest, CrashDuringRollKeepsEverythingFlushed) {
  cfg_.segment_bytes_max = 500;
  auto l = open();
  add_ok(*l, 3, 100);
  ASSERT_TRUE(l->flush().ok());
  // The roll's last step, the directory sync, fails: the new segment may vanish.
  fs_.fail_syncs(true);
  EXPECT_FALSE(add(*l, 100).ok());
  l.reset();
  fs_.fail_syncs(false);
  fs_.crash();
  l = open();
  EXPECT_EQ(l->end_offset(), log_offset(3));
  read_all_checked(*l);
  add_ok(*l, 5, 100);
  EXPECT_EQ(l->segment_count(), 3u);
  ASSERT_TRUE(l->flush().ok());
  l.reset();
  fs_.crash();
  l = open();
  EXPECT_EQ(read_all_checked(*l).size(), 8u);
}

TEST_F(LogFaultTest, OpenMakesWhatItFindsDurable) {
  auto l = open();
  add_ok(*l, 5, 100);  // never flushed; the process exits without a power loss
  l.reset();
  l = open();
  EXPECT_EQ(l->flushed_offset(), log_offset(5));
  l.reset();
  fs_.crash();
  l = open();
  EXPECT_EQ(l->end_offset(), log_offset(5)) << "flushed_offset() promised these";
}

TEST_F(LogFaultTest, NewSegmentSurvivesACrashOnceFlushed) {
  cfg_.segment_bytes_max = 500;
  auto l = open();
  add_ok(*l, 7, 100);  // rolls twice
  ASSERT_EQ(l->segment_count(), 3u);
  ASSERT_EQ(*l->flush(), log_offset(7));
  l.reset();
  fs_.crash();
  l = open();
  EXPECT_EQ(l->segment_count(), 3u);
  EXPECT_EQ(read_all_checked(*l).size(), 7u);
}

}  // namespace
}  // namespace strata::storage
