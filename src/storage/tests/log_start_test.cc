// log::advance_start (DeleteRecords): what reads and reopens see, which
// segments go, and how it meets retention and truncation.
#include <gtest/gtest.h>

#include "io/fault_fs.h"
#include "storage/log.h"
#include "storage/segment.h"
#include "storage/tests/test_util.h"

namespace strata::storage {
namespace {

using testing::payload_for;

constexpr const char* dir = "/data/log";
constexpr size_t entry_bytes = 100;  // 140-byte frames: 3 to a 500-byte segment

class LogStartTest : public ::testing::Test {
 protected:
  LogStartTest() { cfg_.segment_bytes_max = 500; }

  std::unique_ptr<log> open() {
    auto l = log::open(fs_, dir, cfg_);
    EXPECT_TRUE(l.ok()) << l.err().message;
    return l.ok() ? std::move(l).value() : nullptr;
  }
  void add(log& l, int count) {
    for (int i = 0; i < count; ++i) {
      auto r = l.append(payload_for(l.end_offset().value, entry_bytes), 2, 1000);
      ASSERT_TRUE(r.ok()) << r.err().message;
    }
  }
  bool has_segment(int64_t base) { return *fs_.exists(io::join_path(dir, segment_file_name(log_offset(base), ".log"))); }
  std::string start_file() { return io::join_path(dir, "start"); }

  io::fault_fs fs_;
  log_config cfg_;
};

TEST_F(LogStartTest, HidesOffsetsBelowAndDropsWholeSegments) {
  auto l = open();
  add(*l, 9);  // entries of 2 offsets: segments at 0, 6, 12; end 18
  ASSERT_EQ(l->segment_count(), 3u);
  ASSERT_TRUE(l->advance_start(log_offset(7)).ok());
  EXPECT_EQ(l->start_offset(), log_offset(7));
  EXPECT_EQ(l->segment_count(), 2u);
  EXPECT_FALSE(has_segment(0));
  EXPECT_TRUE(has_segment(6));
  EXPECT_EQ(l->read(log_offset(6), 1 << 20, l->end_offset(), true).code(), errc::not_found);
  auto r = l->read(log_offset(7), 1 << 20, l->end_offset(), true);
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(r->entries.empty());
  EXPECT_EQ(r->entries.front().base_offset, log_offset(6));  // the entry holding 7, whole
}

TEST_F(LogStartTest, SurvivesReopenAndNeverMovesBack) {
  {
    auto l = open();
    add(*l, 9);
    ASSERT_TRUE(l->advance_start(log_offset(14)).ok());
    ASSERT_TRUE(l->advance_start(log_offset(3)).ok());  // below: nothing changes
    EXPECT_EQ(l->start_offset(), log_offset(14));
  }
  auto l = open();
  EXPECT_EQ(l->start_offset(), log_offset(14));
  EXPECT_EQ(l->end_offset(), log_offset(18));
  EXPECT_EQ(l->segment_count(), 1u);
  add(*l, 1);
  EXPECT_EQ(l->end_offset(), log_offset(20));
}

TEST_F(LogStartTest, UpToTheEndEmptiesTheLogButKeepsOffsets) {
  auto l = open();
  add(*l, 4);
  ASSERT_TRUE(l->advance_start(log_offset(8)).ok());
  EXPECT_EQ(l->start_offset(), log_offset(8));
  EXPECT_EQ(l->end_offset(), log_offset(8));
  auto r = l->read(log_offset(8), 1 << 20, l->end_offset(), true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->entries.empty());
  EXPECT_EQ(l->advance_start(log_offset(9)).code(), errc::invalid_argument);
}

TEST_F(LogStartTest, RetentionPastTheRecordedStartWins) {
  cfg_.retention_bytes = 0;
  auto l = open();
  add(*l, 9);
  ASSERT_TRUE(l->advance_start(log_offset(2)).ok());
  ASSERT_TRUE(l->enforce_retention(0).ok());
  EXPECT_EQ(l->start_offset(), log_offset(12));
  l.reset();
  EXPECT_EQ(open()->start_offset(), log_offset(12));
}

TEST_F(LogStartTest, TruncateFullyForgetsTheStartAndTruncateStopsAtIt) {
  auto l = open();
  add(*l, 9);
  ASSERT_TRUE(l->advance_start(log_offset(8)).ok());
  EXPECT_EQ(l->truncate(log_offset(6)).code(), errc::invalid_argument);
  ASSERT_TRUE(l->truncate(log_offset(10)).ok());
  EXPECT_EQ(l->start_offset(), log_offset(8));
  ASSERT_TRUE(l->truncate_fully(log_offset(4)).ok());
  EXPECT_EQ(l->start_offset(), log_offset(4));
  EXPECT_FALSE(*fs_.exists(start_file()));
  l.reset();
  EXPECT_EQ(open()->start_offset(), log_offset(4));
}

TEST_F(LogStartTest, DamagedStartFileFailsTheOpen) {
  {
    auto l = open();
    add(*l, 3);
    ASSERT_TRUE(l->advance_start(log_offset(2)).ok());
  }
  auto bytes = fs_.contents(start_file());
  ASSERT_TRUE(bytes.ok());
  ASSERT_EQ(bytes->size(), 24u);
  (*bytes)[20] ^= 1;
  auto f = fs_.open(start_file(), io::open_mode::create);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->write_at(0, *bytes).ok());
  EXPECT_EQ(log::open(fs_, dir, cfg_).code(), errc::corrupt);
}

}  // namespace
}  // namespace strata::storage
