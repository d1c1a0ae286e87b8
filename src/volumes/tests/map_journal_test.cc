#include "volumes/map_journal.h"

#include <gtest/gtest.h>

#include "io/fault_fs.h"

namespace strata::volumes {
namespace {

class MapJournal : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.create_dirs("/l").ok()); }
  std::unique_ptr<map_journal> create() {
    auto j = map_journal::create(fs_, "/l/1.map", 1);
    EXPECT_TRUE(j.ok());
    EXPECT_TRUE(fs_.sync_dir("/l").ok());
    return std::move(*j);
  }
  io::fault_fs fs_;
};

TEST_F(MapJournal, ReplayAppliesRecordsInOrder) {
  auto j = create();
  std::vector<map_record> first{{block_state::data, 0, 10}, {block_state::zero, 4, 2}};
  ASSERT_EQ(*j->append(first), 2 * map_record_bytes);
  std::vector<map_record> second{{block_state::data, 5, 1}};
  ASSERT_TRUE(j->append(second).ok());
  j.reset();
  fs_.crash();
  block_map m(100);
  replay_report report;
  auto back = map_journal::open(fs_, "/l/1.map", 1, m, &report);
  ASSERT_TRUE(back.ok()) << back.err().message;
  EXPECT_EQ(report.records, 3u);
  EXPECT_EQ(m.get(3), block_state::data);
  EXPECT_EQ(m.get(4), block_state::zero);
  EXPECT_EQ(m.get(5), block_state::data);
  EXPECT_EQ(m.get(10), block_state::absent);
}

TEST_F(MapJournal, TornTailIsCutAndAppendsContinue) {
  auto j = create();
  ASSERT_TRUE(j->append(std::vector<map_record>{{block_state::data, 0, 1}}).ok());
  auto file = fs_.open("/l/1.map", io::open_mode::read_write);
  ASSERT_TRUE(file.ok());
  std::vector<uint8_t> half(map_record_bytes / 2, 0x5a);  // a torn append
  ASSERT_TRUE((*file)->write_at(map_header_bytes + map_record_bytes, half).ok());
  ASSERT_TRUE((*file)->sync().ok());
  block_map m(10);
  replay_report report;
  auto back = map_journal::open(fs_, "/l/1.map", 1, m, &report);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(report.records, 1u);
  EXPECT_EQ(report.torn_bytes, half.size());
  ASSERT_TRUE((*back)->append(std::vector<map_record>{{block_state::data, 7, 1}}).ok());
  back->reset();
  block_map again(10);
  ASSERT_TRUE(map_journal::open(fs_, "/l/1.map", 1, again, &report).ok());
  EXPECT_EQ(report.records, 2u);
  EXPECT_EQ(again.get(7), block_state::data);
}

TEST_F(MapJournal, CorruptRecordStopsReplay) {
  auto j = create();
  ASSERT_TRUE(j->append(std::vector<map_record>{{block_state::data, 0, 1}, {block_state::data, 1, 1}}).ok());
  ASSERT_TRUE(fs_.corrupt_byte("/l/1.map", map_header_bytes + 10).ok());
  block_map m(10);
  replay_report report;
  ASSERT_TRUE(map_journal::open(fs_, "/l/1.map", 1, m, &report).ok());
  EXPECT_EQ(report.records, 0u);
  EXPECT_EQ(m.get(0), block_state::absent);
}

TEST_F(MapJournal, HeaderChecks) {
  create();
  block_map m(10);
  EXPECT_EQ(map_journal::open(fs_, "/l/1.map", 2, m, nullptr).code(), errc::corrupt);  // another layer's
  ASSERT_TRUE(fs_.corrupt_byte("/l/1.map", 0).ok());
  EXPECT_EQ(map_journal::open(fs_, "/l/1.map", 1, m, nullptr).code(), errc::corrupt);
}

TEST_F(MapJournal, CheckpointReplacesHistoryWithRuns) {
  auto j = create();
  for (uint64_t b = 0; b < 50; ++b) ASSERT_TRUE(j->append(std::vector<map_record>{{block_state::data, b, 1}}).ok());
  block_map m(100);
  m.set(0, 50, block_state::data);
  m.set(10, 5, block_state::zero);
  auto runs = runs_of(m);
  ASSERT_EQ(runs.size(), 3u);
  ASSERT_EQ(*j->checkpoint(runs), map_header_bytes + 3 * map_record_bytes);
  ASSERT_TRUE(j->append(std::vector<map_record>{{block_state::data, 60, 1}}).ok());
  j.reset();
  fs_.crash();
  block_map back(100);
  replay_report report;
  ASSERT_TRUE(map_journal::open(fs_, "/l/1.map", 1, back, &report).ok());
  EXPECT_EQ(report.records, 4u);
  EXPECT_EQ(back.get(12), block_state::zero);
  EXPECT_EQ(back.get(49), block_state::data);
  EXPECT_EQ(back.get(60), block_state::data);
  EXPECT_EQ(back.data_blocks(), 46u);
}

}  // namespace
}  // namespace strata::volumes
