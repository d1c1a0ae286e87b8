#include <thread>

#include "volumes/map_journal.h"

#include "volumes/tests/service_fixture.h"

namespace strata::volumes {
namespace {

constexpr uint64_t MiB_ = 1024 * 1024;

TEST_F(ServiceTest, ThinVolumeReadsZerosAndRoundTripsAnyAlignment) {
  ASSERT_TRUE(svc_->create_volume("v", 64 * MiB_).ok());
  auto h = exp("v");
  EXPECT_EQ(h->size_bytes(), 64 * MiB_);
  EXPECT_TRUE(all_zero(read(*h, 0, 1 << 20)));
  EXPECT_EQ(svc_->describe_volume("v")->allocated_bytes, 0u);

  auto a = pattern(3 * block_bytes, 1);
  write(*h, 8 * block_bytes, a);
  auto b = pattern(1000, 2);
  write(*h, 100 * block_bytes + 300, b);  // inside one block
  auto c = pattern(2 * block_bytes + 10, 3);
  write(*h, 200 * block_bytes - 5, c);  // partial, whole, whole, partial
  write(*h, 8 * block_bytes + 1, {0x42});  // one byte inside held data
  a[1] = 0x42;
  EXPECT_EQ(read(*h, 8 * block_bytes, a.size()), a);
  EXPECT_EQ(read(*h, 100 * block_bytes + 300, b.size()), b);
  EXPECT_EQ(read(*h, 200 * block_bytes - 5, c.size()), c);
  auto around = read(*h, 100 * block_bytes, block_bytes);
  EXPECT_TRUE(all_zero(std::vector<uint8_t>(around.begin(), around.begin() + 300)));
  // 3 + 1 + 4 blocks hold data.
  EXPECT_EQ(svc_->describe_volume("v")->allocated_bytes, 8 * block_bytes);
}

TEST_F(ServiceTest, ReadRunsMarkZeros) {
  ASSERT_TRUE(svc_->create_volume("v", 16 * MiB_).ok());
  auto h = exp("v");
  write(*h, block_bytes, pattern(block_bytes, 9));
  std::vector<uint8_t> out(4 * block_bytes);
  auto runs = h->read(0, out);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 3u);
  EXPECT_TRUE((*runs)[0].zero);
  EXPECT_EQ((*runs)[0].length_bytes, block_bytes);
  EXPECT_FALSE((*runs)[1].zero);
  EXPECT_TRUE((*runs)[2].zero);
  EXPECT_EQ((*runs)[2].length_bytes, 2 * block_bytes);
}

TEST_F(ServiceTest, SnapshotFreezesAndCloneFallsThrough) {
  ASSERT_TRUE(svc_->create_volume("v", 16 * MiB_).ok());
  auto v = exp("v");
  auto a = pattern(8 * block_bytes, 10);
  write(*v, 0, a);
  ASSERT_TRUE(svc_->create_snapshot("v", "s1").ok());
  auto b = pattern(2 * block_bytes, 20);
  write(*v, 2 * block_bytes, b);
  write(*v, 5 * block_bytes + 7, {1, 2, 3});  // partial write copies in the rest of the block

  auto snap = exp("v@s1");
  EXPECT_TRUE(snap->read_only());
  EXPECT_EQ(read(*snap, 0, a.size()), a);
  auto now = read(*v, 0, a.size());
  std::vector<uint8_t> want = a;
  std::copy(b.begin(), b.end(), want.begin() + 2 * block_bytes);
  want[5 * block_bytes + 7] = 1;
  want[5 * block_bytes + 8] = 2;
  want[5 * block_bytes + 9] = 3;
  EXPECT_EQ(now, want);

  ASSERT_TRUE(svc_->create_clone("v", "s1", "c").ok());
  auto c = exp("c");
  EXPECT_EQ(read(*c, 0, a.size()), a);
  write(*c, 0, pattern(block_bytes, 99));
  EXPECT_EQ(read(*snap, 0, a.size()), a);
  EXPECT_EQ(read(*v, 0, a.size()), want);
  EXPECT_NE(read(*c, 0, block_bytes), std::vector<uint8_t>(a.begin(), a.begin() + block_bytes));

  // Copy-on-write stays at block granularity: 3 new blocks in v, 1 in c.
  EXPECT_EQ(svc_->describe_volume("v")->allocated_bytes, 3 * block_bytes);
  EXPECT_EQ(svc_->describe_volume("c")->allocated_bytes, 1 * block_bytes);
  EXPECT_EQ(svc_->describe_volume("c")->origin, "v@s1");
  auto snaps = svc_->list_snapshots("v");
  ASSERT_TRUE(snaps.ok());
  ASSERT_EQ(snaps->size(), 1u);
  EXPECT_EQ((*snaps)[0].clones, 1u);
  EXPECT_EQ((*snaps)[0].allocated_bytes, 8 * block_bytes);

  EXPECT_EQ(snap->write(0, a, false).code(), errc::invalid_argument);
}

TEST_F(ServiceTest, ZeroesTrimAndBlockStatus) {
  ASSERT_TRUE(svc_->create_volume("v", 16 * MiB_).ok());
  auto v = exp("v");
  write(*v, 0, pattern(16 * block_bytes, 5));
  ASSERT_TRUE(svc_->create_snapshot("v", "s").ok());
  // Zeroing over a parent's data must shadow it, not fall through.
  ASSERT_TRUE(v->write_zeroes(4 * block_bytes, 4 * block_bytes, zero_options{}, false).ok());
  EXPECT_TRUE(all_zero(read(*v, 4 * block_bytes, 4 * block_bytes)));
  ASSERT_TRUE(v->trim(8 * block_bytes + 100, 2 * block_bytes, false).ok());  // one whole block inside
  EXPECT_TRUE(all_zero(read(*v, 9 * block_bytes, block_bytes)));
  EXPECT_FALSE(all_zero(read(*v, 8 * block_bytes, block_bytes)));  // partial edges untouched by trim
  EXPECT_FALSE(all_zero(read(*v, 10 * block_bytes, block_bytes)));
  ASSERT_TRUE(v->write_zeroes(12 * block_bytes + 10, 20, zero_options{}, false).ok());  // partial: bytes zeroed
  auto part = read(*v, 12 * block_bytes, block_bytes);
  EXPECT_TRUE(all_zero(std::vector<uint8_t>(part.begin() + 10, part.begin() + 30)));
  EXPECT_NE(part[9], 0);

  auto extents = v->block_status(0, 32 * block_bytes, 100);
  ASSERT_TRUE(extents.ok());
  std::vector<std::pair<uint64_t, bool>> got;
  for (const auto& e : *extents) {
    EXPECT_EQ(e.hole, e.zero);
    got.emplace_back(e.length_bytes / block_bytes, e.hole);
  }
  std::vector<std::pair<uint64_t, bool>> want{{4, false}, {4, true}, {1, false}, {1, true}, {6, false}, {16, true}};
  EXPECT_EQ(got, want);
  auto one = v->block_status(0, 32 * block_bytes, 1);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].length_bytes, 4 * block_bytes);
  auto snap = exp("v@s");
  EXPECT_FALSE(all_zero(read(*snap, 4 * block_bytes, block_bytes)));

  // NO_HOLE keeps the blocks allocated.
  uint64_t before = svc_->describe_volume("v")->allocated_bytes;
  ASSERT_TRUE(v->write_zeroes(20 * block_bytes, 2 * block_bytes, zero_options{false, false}, false).ok());
  EXPECT_EQ(svc_->describe_volume("v")->allocated_bytes, before + 2 * block_bytes);
  EXPECT_TRUE(all_zero(read(*v, 20 * block_bytes, 2 * block_bytes)));
}

TEST_F(ServiceTest, RangeAndSizeChecks) {
  EXPECT_EQ(svc_->create_volume("bad name", MiB_).code(), errc::invalid_argument);
  EXPECT_EQ(svc_->create_volume("v", 1000).code(), errc::invalid_argument);
  EXPECT_EQ(svc_->create_volume("v", 0).code(), errc::invalid_argument);
  ASSERT_TRUE(svc_->create_volume("v", MiB_).ok());
  EXPECT_EQ(svc_->create_volume("v", MiB_).code(), errc::already_exists);
  auto v = exp("v");
  std::vector<uint8_t> out(block_bytes);
  EXPECT_EQ(v->read(MiB_ - 100, out).code(), errc::invalid_argument);
  EXPECT_EQ(v->write(MiB_, std::vector<uint8_t>(1), false).code(), errc::invalid_argument);
  EXPECT_EQ(v->trim(UINT64_MAX - 10, 100, false).code(), errc::invalid_argument);
  std::vector<uint8_t> huge(33 * MiB_);
  EXPECT_EQ(v->read(0, huge).code(), errc::invalid_argument);
  EXPECT_EQ(svc_->open_export("nope").code(), errc::not_found);
  EXPECT_EQ(svc_->open_export("v@nope").code(), errc::not_found);
  EXPECT_EQ(svc_->create_snapshot("nope", "s").code(), errc::not_found);
  EXPECT_EQ(svc_->create_clone("v", "nope", "c").code(), errc::not_found);
}

TEST_F(ServiceTest, ResizeGrowsOnly) {
  ASSERT_TRUE(svc_->create_volume("v", MiB_).ok());
  auto old = exp("v");
  write(*old, MiB_ - block_bytes, pattern(block_bytes, 3));
  EXPECT_EQ(svc_->resize_volume("v", MiB_ / 2).code(), errc::invalid_argument);
  auto grown = svc_->resize_volume("v", 4 * MiB_);
  ASSERT_TRUE(grown.ok());
  EXPECT_EQ(grown->size_bytes, 4 * MiB_);
  EXPECT_EQ(old->size_bytes(), MiB_);  // an open export keeps its size
  auto v = exp("v");
  EXPECT_EQ(v->size_bytes(), 4 * MiB_);
  EXPECT_TRUE(all_zero(read(*v, MiB_, 3 * MiB_)));
  write(*v, 3 * MiB_, pattern(100, 4));
  EXPECT_EQ(read(*v, 3 * MiB_, 100), pattern(100, 4));
  EXPECT_EQ(read(*v, MiB_ - block_bytes, block_bytes), pattern(block_bytes, 3));
}

TEST_F(ServiceTest, DeletesAreRefusedWhileExported) {
  ASSERT_TRUE(svc_->create_volume("v", MiB_).ok());
  ASSERT_TRUE(svc_->create_snapshot("v", "s").ok());
  {
    auto h = exp("v@s");
    EXPECT_EQ(svc_->delete_snapshot("v", "s").code(), errc::unavailable);
    EXPECT_EQ(svc_->delete_volume("v").code(), errc::unavailable);
  }
  {
    auto h = exp("v");
    EXPECT_EQ(svc_->delete_volume("v").code(), errc::unavailable);
    EXPECT_EQ(svc_->describe_volume("v")->open_exports, 1u);
  }
  EXPECT_TRUE(svc_->delete_volume("v").ok());
  EXPECT_EQ(svc_->open_export("v@s").code(), errc::not_found);
  svc_->wait_for_reclaim();
  EXPECT_EQ(svc_->usage().layers, 0u);
  EXPECT_TRUE(fs_.list("/d/volumes/layers")->empty());
}

TEST_F(ServiceTest, DeletingASnapshotMergesAndReclaims) {
  ASSERT_TRUE(svc_->create_volume("v", 16 * MiB_).ok());
  auto v = exp("v");
  auto a = pattern(10 * block_bytes, 1);
  write(*v, 0, a);
  ASSERT_TRUE(v->write_zeroes(20 * block_bytes, block_bytes, zero_options{}, false).ok());
  ASSERT_TRUE(svc_->create_snapshot("v", "s1").ok());
  write(*v, 0, pattern(2 * block_bytes, 2));  // shadows 2 of the 10
  ASSERT_TRUE(svc_->create_snapshot("v", "s2").ok());
  auto want = read(*v, 0, 32 * block_bytes);
  EXPECT_EQ(svc_->usage().allocated_bytes, 12 * block_bytes);

  ASSERT_TRUE(svc_->delete_snapshot("v", "s1").ok());  // merged into s2's layer
  svc_->wait_for_reclaim();
  auto u = svc_->usage();
  EXPECT_EQ(u.layers, 2u);
  EXPECT_EQ(u.hidden_layers, 0u);
  EXPECT_EQ(u.allocated_bytes, 10 * block_bytes);
  EXPECT_EQ(read(*v, 0, 32 * block_bytes), want);
  EXPECT_EQ(read(*exp("v@s2"), 0, 32 * block_bytes), want);

  ASSERT_TRUE(svc_->delete_snapshot("v", "s2").ok());  // merged into the top, which takes writes meanwhile
  svc_->wait_for_reclaim();
  EXPECT_EQ(svc_->usage().layers, 1u);
  EXPECT_EQ(read(*v, 0, 32 * block_bytes), want);
  EXPECT_EQ(svc_->describe_volume("v")->allocated_bytes, 10 * block_bytes);
}

TEST_F(ServiceTest, HiddenLayerStaysWhileACloneReadsThroughIt) {
  ASSERT_TRUE(svc_->create_volume("v", 4 * MiB_).ok());
  write(*exp("v"), 0, pattern(block_bytes, 1));
  ASSERT_TRUE(svc_->create_snapshot("v", "s").ok());
  ASSERT_TRUE(svc_->create_clone("v", "s", "c").ok());
  ASSERT_TRUE(svc_->delete_volume("v").ok());
  svc_->wait_for_reclaim();
  // v's top went; s's layer is merged into c's (its only reader now).
  auto u = svc_->usage();
  EXPECT_EQ(u.layers, 1u);
  EXPECT_EQ(read(*exp("c"), 0, block_bytes), pattern(block_bytes, 1));
  ASSERT_TRUE(svc_->delete_volume("c").ok());
  svc_->wait_for_reclaim();
  EXPECT_EQ(svc_->usage().layers, 0u);
  EXPECT_EQ(svc_->usage().allocated_bytes, 0u);
}

TEST_F(ServiceTest, ConcurrentPartialWritesToOneBlockAllLand) {
  ASSERT_TRUE(svc_->create_volume("v", MiB_).ok());
  write(*exp("v"), 0, pattern(block_bytes, 1));
  ASSERT_TRUE(svc_->create_snapshot("v", "s").ok());  // so every first write copies from below
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto h = exp("v");
      for (uint64_t block = 0; block < 32; ++block) {
        std::vector<uint8_t> sector(512, static_cast<uint8_t>(t + 1));
        ASSERT_TRUE(h->write(block * block_bytes + t * 512, sector, false).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  auto h = exp("v");
  for (uint64_t block = 0; block < 32; ++block) {
    auto got = read(*h, block * block_bytes, block_bytes);
    for (size_t i = 0; i < block_bytes; ++i) ASSERT_EQ(got[i], i / 512 + 1) << "block " << block << " byte " << i;
  }
}

TEST_F(ServiceTest, DiskFullIsNoSpaceAndReadsGoOn) {
  ASSERT_TRUE(svc_->create_volume("v", 64 * MiB_).ok());
  auto v = exp("v");
  write(*v, 0, pattern(block_bytes, 1));
  fs_.set_disk_bytes_max(fs_.used_bytes() + 8 * block_bytes);
  std::vector<uint8_t> big(1 * MiB_, 7);
  EXPECT_EQ(v->write(MiB_, big, false).code(), errc::no_space);
  EXPECT_EQ(read(*v, 0, block_bytes), pattern(block_bytes, 1));
  EXPECT_TRUE(all_zero(read(*v, MiB_, big.size())));  // the failed write is not in the map
  fs_.set_disk_bytes_max(UINT64_MAX);
  write(*v, MiB_, big);
  EXPECT_EQ(read(*v, MiB_, big.size()), big);
}

TEST_F(ServiceTest, ExportsAndAccounting) {
  ASSERT_TRUE(svc_->create_volume("v", MiB_).ok());
  ASSERT_TRUE(svc_->create_snapshot("v", "s").ok());
  ASSERT_TRUE(svc_->create_clone("v", "s", "c").ok());
  auto exports = svc_->list_exports();
  ASSERT_EQ(exports.size(), 3u);
  EXPECT_EQ(exports[0].name, "c");
  EXPECT_EQ(exports[2].name, "v@s");
  EXPECT_TRUE(exports[2].read_only);
  EXPECT_EQ(exports[1].size_bytes, MiB_);
  auto v = exp("v");
  write(*v, 0, pattern(block_bytes + 1, 1));
  auto u = svc_->usage();
  EXPECT_EQ(u.client_write_bytes, block_bytes + 1);
  EXPECT_EQ(u.disk_write_bytes, 2 * block_bytes);  // the partial block is written whole
  EXPECT_EQ(svc_->describe_volume("v")->snapshots, std::vector<std::string>{"s"});
}

}  // namespace
}  // namespace strata::volumes

namespace strata::volumes {
namespace {

TEST_F(ServiceTest, OverwritesInPlaceAddNoMapRecords) {
  ASSERT_TRUE(svc_->create_volume("v", 1024 * 1024).ok());
  auto v = exp("v");
  write(*v, 0, pattern(4 * block_bytes, 1), /*fua=*/true);
  uint64_t map_bytes = svc_->usage().map_write_bytes;
  write(*v, 0, pattern(4 * block_bytes, 2), /*fua=*/true);
  write(*v, block_bytes + 3, pattern(10, 3), /*fua=*/true);
  EXPECT_EQ(svc_->usage().map_write_bytes, map_bytes);
  write(*v, 4 * block_bytes, pattern(block_bytes, 4), /*fua=*/true);  // a new block: one record
  EXPECT_EQ(svc_->usage().map_write_bytes, map_bytes + map_record_bytes);
}

}  // namespace
}  // namespace strata::volumes

namespace strata::volumes {

// A snapshot deleted (its layer merges into the volume's top) right before an
// unrelated volume is deleted (its layer is dropped): one reclaim pass may see
// both, and must never merge the dropped layer into the first one's child.
TEST_F(ServiceTest, ReclaimNeverMergesAnUnrelatedLayer) {
  for (int round = 0; round < 20; ++round) {
    std::string v = "v" + std::to_string(round), w = "w" + std::to_string(round);
    ASSERT_TRUE(svc_->create_volume(v, MiB_).ok());
    write(*exp(v), 0, pattern(block_bytes, 1));
    ASSERT_TRUE(svc_->create_snapshot(v, "s").ok());
    ASSERT_TRUE(svc_->create_volume(w, MiB_).ok());
    write(*exp(w), 5 * block_bytes, pattern(block_bytes, 9));
    ASSERT_TRUE(svc_->delete_snapshot(v, "s").ok());
    ASSERT_TRUE(svc_->delete_volume(w).ok());
    svc_->wait_for_reclaim();
    auto h = exp(v);
    EXPECT_EQ(read(*h, 0, block_bytes), pattern(block_bytes, 1)) << "round " << round;
    EXPECT_TRUE(all_zero(read(*h, 5 * block_bytes, block_bytes))) << "round " << round;
  }
}

}  // namespace strata::volumes
