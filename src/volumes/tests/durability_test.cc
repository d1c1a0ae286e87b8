// What survives a power loss (fault_fs::crash): flushed and FUA writes,
// snapshots, and consistent reads of whatever was not flushed.
#include "volumes/tests/service_fixture.h"

namespace strata::volumes {
namespace {

constexpr uint64_t MiB_ = 1024 * 1024;

TEST_F(ServiceTest, FlushedWritesSurviveACrash) {
  ASSERT_TRUE(svc_->create_volume("v", 16 * MiB_).ok());
  auto a = pattern(64 * block_bytes, 1);
  {
    auto v = exp("v");
    write(*v, 0, a);
    write(*v, 100 * block_bytes + 10, pattern(30, 2));  // partial block
    ASSERT_TRUE(v->flush().ok());
    write(*v, 200 * block_bytes, pattern(block_bytes, 3), /*fua=*/true);
    write(*v, 300 * block_bytes, pattern(block_bytes, 4));  // never flushed
  }
  crash_and_reopen();
  auto v = exp("v");
  EXPECT_EQ(read(*v, 0, a.size()), a);
  EXPECT_EQ(read(*v, 100 * block_bytes + 10, 30), pattern(30, 2));
  EXPECT_EQ(read(*v, 200 * block_bytes, block_bytes), pattern(block_bytes, 3));
  auto lost = read(*v, 300 * block_bytes, block_bytes);
  EXPECT_TRUE(all_zero(lost) || lost == pattern(block_bytes, 4));
}

TEST_F(ServiceTest, UnflushedOverwriteReadsOldOrNewPerBlock) {
  ASSERT_TRUE(svc_->create_volume("v", 16 * MiB_).ok());
  ASSERT_TRUE(svc_->create_snapshot("v", "base").ok());
  {
    auto v = exp("v");
    write(*v, 0, pattern(8 * block_bytes, 1));
    ASSERT_TRUE(v->flush().ok());
    ASSERT_TRUE(v->write_zeroes(0, 4 * block_bytes, zero_options{}, false).ok());
    write(*v, 4 * block_bytes, pattern(4 * block_bytes, 2));
  }
  crash_and_reopen();
  auto v = exp("v");
  auto old_bytes = pattern(8 * block_bytes, 1);
  auto new_tail = pattern(4 * block_bytes, 2);
  for (uint64_t b = 0; b < 8; ++b) {
    auto got = read(*v, b * block_bytes, block_bytes);
    std::vector<uint8_t> old_block(old_bytes.begin() + b * block_bytes, old_bytes.begin() + (b + 1) * block_bytes);
    if (b < 4) {
      EXPECT_TRUE(got == old_block || all_zero(got)) << b;
    } else {
      std::vector<uint8_t> new_block(new_tail.begin() + (b - 4) * block_bytes,
                                     new_tail.begin() + (b - 3) * block_bytes);
      EXPECT_TRUE(got == old_block || got == new_block) << b;
    }
  }
}

TEST_F(ServiceTest, SnapshotsAndClonesSurviveACrash) {
  ASSERT_TRUE(svc_->create_volume("v", 16 * MiB_).ok());
  write(*exp("v"), 0, pattern(4 * block_bytes, 1));
  ASSERT_TRUE(svc_->create_snapshot("v", "s").ok());  // flushes what came before
  ASSERT_TRUE(svc_->create_clone("v", "s", "c").ok());
  {
    auto v = exp("v");
    write(*v, 0, pattern(block_bytes, 2), /*fua=*/true);
    auto c = exp("c");
    write(*c, block_bytes, pattern(block_bytes, 3));
    ASSERT_TRUE(c->flush().ok());
  }
  crash_and_reopen();
  EXPECT_EQ(read(*exp("v@s"), 0, 4 * block_bytes), pattern(4 * block_bytes, 1));
  auto v = read(*exp("v"), 0, 4 * block_bytes);
  EXPECT_EQ(std::vector<uint8_t>(v.begin(), v.begin() + block_bytes), pattern(block_bytes, 2));
  auto c = read(*exp("c"), 0, 2 * block_bytes);
  EXPECT_EQ(std::vector<uint8_t>(c.begin() + block_bytes, c.end()), pattern(block_bytes, 3));
  auto base = pattern(4 * block_bytes, 1);
  EXPECT_EQ(std::vector<uint8_t>(c.begin(), c.begin() + block_bytes),
            std::vector<uint8_t>(base.begin(), base.begin() + block_bytes));
  EXPECT_EQ(svc_->list_volumes().size(), 2u);
}

TEST_F(ServiceTest, TornJournalAppendLosesOnlyTheUnflushedTail) {
  ASSERT_TRUE(svc_->create_volume("v", 16 * MiB_).ok());
  {
    auto v = exp("v");
    write(*v, 0, pattern(block_bytes, 1));
    ASSERT_TRUE(v->flush().ok());
    write(*v, 10 * block_bytes, pattern(block_bytes, 2));
  }
  // Keep the data write but tear the journal append of a flush that then "crashes".
  fs_.fail_syncs(true);
  {
    auto v = exp("v");
    EXPECT_FALSE(v->flush().ok());
  }
  svc_.reset();
  fs_.fail_syncs(false);
  fs_.crash(io::crash_plan{1, 7});
  open();
  auto v = exp("v");
  EXPECT_EQ(read(*v, 0, block_bytes), pattern(block_bytes, 1));
  auto maybe = read(*v, 10 * block_bytes, block_bytes);
  EXPECT_TRUE(all_zero(maybe) || maybe == pattern(block_bytes, 2));
  write(*v, 20 * block_bytes, pattern(block_bytes, 3), /*fua=*/true);
  crash_and_reopen();
  EXPECT_EQ(read(*exp("v"), 20 * block_bytes, block_bytes), pattern(block_bytes, 3));
}

TEST_F(ServiceTest, CheckpointsKeepTheMapAcrossCrashes) {
  checkpoint_bytes_min_ = 1024;  // a checkpoint every few dozen flushes
  pending_max_ = 4;              // and forced flushes along the way
  open();
  ASSERT_TRUE(svc_->create_volume("v", 16 * MiB_).ok());
  {
    auto v = exp("v");
    for (uint64_t i = 0; i < 300; ++i) {
      uint64_t block = (i * 37) % 1000;
      write(*v, block * block_bytes, pattern(block_bytes, static_cast<uint8_t>(i)), /*fua=*/i % 3 == 0);
    }
    ASSERT_TRUE(v->flush().ok());
  }
  auto before = read(*exp("v"), 0, 1000 * block_bytes);
  uint64_t map_bytes = svc_->usage().map_write_bytes;
  crash_and_reopen();
  EXPECT_EQ(read(*exp("v"), 0, 1000 * block_bytes), before);
  auto journal = fs_.contents("/d/volumes/layers/0000000000000001.map");
  ASSERT_TRUE(journal.ok());
  EXPECT_LT(journal->size(), map_bytes);  // checkpoints replaced history
}

TEST_F(ServiceTest, OrphanLayerFilesAreRemovedAtOpen) {
  ASSERT_TRUE(fs_.create_dirs("/d/volumes/layers").ok());
  ASSERT_TRUE(fs_.open("/d/volumes/layers/00000000000000ff.data", io::open_mode::create).ok());
  ASSERT_TRUE(fs_.open("/d/volumes/layers/00000000000000ff.map.tmp", io::open_mode::create).ok());
  svc_.reset();
  open();
  EXPECT_TRUE(fs_.list("/d/volumes/layers")->empty());
}

}  // namespace
}  // namespace strata::volumes
