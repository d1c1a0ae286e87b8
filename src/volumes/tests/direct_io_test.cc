// Volumes with --volume-io direct on a real file system: O_DIRECT needs
// aligned offsets, lengths and buffers, and NBD clients send none of those
// promises, so unaligned writes and reads (also copy-on-write of partial
// blocks from a snapshot) must still land byte for byte, and survive a restart.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <random>
#include <string>
#include <vector>

#include "base/aligned_buffer.h"
#include "io/fs.h"
#include "io/tests/temp_dir.h"
#include "meta/kv.h"
#include "volumes/service.h"

namespace strata::volumes {
namespace {

class DirectIo : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = io::make_temp_dir("strata-voldirect");
    fs_ = io::make_posix_fs();
    kv_ = meta::make_memory_kv();
    auto probe = fs_->open_direct(io::join_path(dir_, "probe"), io::open_mode::create);
    if (!probe.ok()) GTEST_SKIP() << probe.err().message;
    probe->reset();
    open();
  }
  void TearDown() override {
    svc_.reset();
    ASSERT_TRUE(fs_->remove_all(dir_).ok());
  }
  void open() {
    service_config config;
    config.data_dir = dir_;
    config.io = data_io::direct;
    auto s = service::open(config, *fs_, *kv_);
    ASSERT_TRUE(s.ok()) << s.err().message;
    svc_ = std::move(*s);
  }
  std::shared_ptr<export_handle> exp(const std::string& name) {
    auto h = svc_->open_export(name);
    EXPECT_TRUE(h.ok()) << (h.ok() ? "" : h.err().message);
    return h.ok() ? *h : nullptr;
  }
  // Writes from an odd address, so no part of the buffer is aligned.
  static void write(export_handle& h, uint64_t offset, const std::vector<uint8_t>& data) {
    std::vector<uint8_t> shifted(data.size() + 1);
    std::copy(data.begin(), data.end(), shifted.begin() + 1);
    auto s = h.write(offset, std::span<const uint8_t>(shifted).subspan(1), false);
    ASSERT_TRUE(s.ok()) << s.err().message;
  }
  static std::vector<uint8_t> read(export_handle& h, uint64_t offset, size_t bytes) {
    std::vector<uint8_t> out(bytes + 3, 0xee);
    auto r = h.read(offset, std::span<uint8_t>(out).subspan(3));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().message);
    return {out.begin() + 3, out.end()};
  }
  static std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t n) {
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
  }

  std::string dir_;
  std::unique_ptr<io::fs> fs_;
  std::unique_ptr<meta::kv> kv_;
  std::unique_ptr<service> svc_;
};

TEST_F(DirectIo, UnalignedWritesAndReadsMatchAModelAcrossASnapshotAndARestart) {
  constexpr uint64_t size_bytes = 8 * MiB;
  ASSERT_TRUE(svc_->create_volume("v", size_bytes).ok());
  std::vector<uint8_t> model(size_bytes, 0);
  std::mt19937_64 rng(7);
  auto scribble = [&](int writes) {
    auto h = exp("v");
    for (int i = 0; i < writes; ++i) {
      const size_t n = 1 + rng() % (i % 8 == 0 ? 300 * KiB : 6000);
      const uint64_t offset = rng() % (size_bytes - n);
      auto data = random_bytes(rng, n);
      std::copy(data.begin(), data.end(), model.begin() + static_cast<long>(offset));
      write(*h, offset, data);
      const size_t m = 1 + rng() % 9000;
      const uint64_t at = rng() % (size_bytes - m);
      ASSERT_EQ(read(*h, at, m), std::vector<uint8_t>(model.begin() + static_cast<long>(at),
                                                      model.begin() + static_cast<long>(at + m)));
    }
    ASSERT_TRUE(h->flush().ok());
  };
  scribble(150);
  ASSERT_TRUE(svc_->create_snapshot("v", "s").ok());
  const auto frozen = model;
  scribble(150);  // partial writes now copy the rest of each block up from the snapshot
  EXPECT_EQ(read(*exp("v@s"), 0, size_bytes), frozen);
  EXPECT_EQ(read(*exp("v"), 0, size_bytes), model);

  svc_.reset();
  open();
  EXPECT_EQ(read(*exp("v@s"), 0, size_bytes), frozen);
  EXPECT_EQ(read(*exp("v"), 0, size_bytes), model);
}

// A batch of reads on a clone whose blocks come from three layers (its own,
// the snapshot's, holes) gives what one read at a time gives, and a call
// past the end fails alone.
TEST_F(DirectIo, ABatchOfReadsAcrossLayersMatchesReadsOneAtATime) {
  constexpr uint64_t size_bytes = 4 * MiB;
  ASSERT_TRUE(svc_->create_volume("v", size_bytes).ok());
  std::mt19937_64 rng(11);
  {
    auto h = exp("v");
    for (int i = 0; i < 40; ++i) write(*h, rng() % (size_bytes - 20000), random_bytes(rng, 1 + rng() % 20000));
  }
  ASSERT_TRUE(svc_->create_snapshot("v", "s").ok());
  ASSERT_TRUE(svc_->create_clone("v", "s", "c").ok());
  auto h = exp("c");
  EXPECT_EQ(h->batches_reads(), fs_->batches_reads());
  for (int i = 0; i < 40; ++i) write(*h, rng() % (size_bytes - 9000), random_bytes(rng, 1 + rng() % 9000));
  for (int round = 0; round < 10; ++round) {
    std::vector<aligned_buffer> bufs;
    std::vector<read_call> calls;
    const size_t count = 1 + rng() % 40;
    bufs.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      const bool aligned = rng() % 3 != 0;
      const size_t bytes = aligned ? 4096 * (1 + rng() % 8) : 1 + rng() % 9000;
      const uint64_t offset = aligned ? (rng() % ((size_bytes - bytes) / 4096)) * 4096 : rng() % (size_bytes - bytes);
      bufs.emplace_back(bytes + 4096);
      calls.push_back(read_call{offset, bufs.back().span().subspan(aligned ? 0 : 1, bytes)});
    }
    aligned_buffer past(4096);
    calls.push_back(read_call{size_bytes, past.span()});
    h->read_batch(calls);
    EXPECT_FALSE(calls.back().runs.ok());
    calls.pop_back();
    for (const auto& c : calls) {
      ASSERT_TRUE(c.runs.ok()) << c.runs.err().message;
      uint64_t covered = 0;
      for (const auto& run : *c.runs) covered += run.length_bytes;
      EXPECT_EQ(covered, c.out.size());
      const auto one = read(*h, c.offset, c.out.size());
      ASSERT_TRUE(std::equal(one.begin(), one.end(), c.out.begin())) << "round " << round << " at " << c.offset;
    }
  }
}

TEST_F(DirectIo, ZeroingAndTrimmingUnalignedRangesReadBackAsZeros) {
  ASSERT_TRUE(svc_->create_volume("v", 1 * MiB).ok());
  auto h = exp("v");
  std::vector<uint8_t> ones(1 * MiB, 1);
  write(*h, 0, ones);
  ASSERT_TRUE(h->write_zeroes(1000, 10000, zero_options{}, false).ok());
  ASSERT_TRUE(h->trim(100 * KiB, 64 * KiB, true).ok());
  auto back = read(*h, 0, 1 * MiB);
  for (size_t i = 0; i < back.size(); ++i) {
    const bool zeroed = (i >= 1000 && i < 11000) || (i >= 100 * KiB && i < 164 * KiB);
    ASSERT_EQ(back[i], zeroed ? 0 : 1) << i;
  }
}

}  // namespace
}  // namespace strata::volumes
