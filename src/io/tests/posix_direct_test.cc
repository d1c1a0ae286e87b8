// Direct (O_DIRECT) files: aligned I/O goes straight through, and unaligned
// offsets, lengths and buffers still read and write exactly their bytes.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/vfs.h>

#include <linux/magic.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "base/aligned_buffer.h"
#include "io/fs.h"
#include "io/tests/temp_dir.h"

namespace strata::io {
namespace {

class PosixDirect : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("strata-direct");
    fs_ = make_posix_fs();
    auto f = fs_->open_direct(join_path(dir_, "d"), open_mode::create);
    if (!f.ok() && f.code() == errc::unsupported) GTEST_SKIP() << f.err().message;
    ASSERT_TRUE(f.ok()) << f.err().message;
    file_ = std::move(*f);
  }
  void TearDown() override {
    file_.reset();
    ASSERT_TRUE(fs_->remove_all(dir_).ok());
  }

  // Bytes [offset, offset+n) read back through a buffered handle.
  std::vector<uint8_t> buffered_read(uint64_t offset, size_t n) {
    auto f = fs_->open(join_path(dir_, "d"), open_mode::read_only);
    EXPECT_TRUE(f.ok());
    std::vector<uint8_t> out(n);
    auto got = (*f)->read_at(offset, out);
    EXPECT_TRUE(got.ok());
    out.resize(*got);
    return out;
  }

  std::string dir_;
  std::unique_ptr<fs> fs_;
  std::unique_ptr<file> file_;
};

TEST_F(PosixDirect, AlignedWriteAndReadRoundTrip) {
  aligned_buffer data(64 * KiB);
  for (size_t i = 0; i < data.size(); ++i) data.data()[i] = static_cast<uint8_t>(i * 7);
  ASSERT_TRUE(file_->write_at(8 * KiB, data.span()).ok());
  aligned_buffer back(64 * KiB);
  auto n = file_->read_at(8 * KiB, back.span());
  ASSERT_TRUE(n.ok()) << n.err().message;
  EXPECT_EQ(*n, back.size());
  EXPECT_TRUE(std::equal(data.span().begin(), data.span().end(), back.span().begin()));
  EXPECT_EQ(buffered_read(8 * KiB, 64 * KiB), std::vector<uint8_t>(data.span().begin(), data.span().end()));
}

TEST_F(PosixDirect, UnalignedWritesKeepTheNeighbouringBytes) {
  std::vector<uint8_t> ones(3 * 4096, 0x11);
  ASSERT_TRUE(file_->write_at(0, ones).ok());
  // Inside one block, across two blocks, from an odd buffer address.
  std::vector<uint8_t> a(10, 0xaa);
  ASSERT_TRUE(file_->write_at(100, a).ok());
  std::vector<uint8_t> b(5000, 0xbb);
  ASSERT_TRUE(file_->write_at(4000, std::span<const uint8_t>(b).subspan(1)).ok());
  std::vector<uint8_t> expect(3 * 4096, 0x11);
  std::fill_n(expect.begin() + 100, 10, 0xaa);
  std::fill_n(expect.begin() + 4000, 4999, 0xbb);
  EXPECT_EQ(buffered_read(0, expect.size()), expect);
  std::vector<uint8_t> out(4999);
  auto n = file_->read_at(4000, out);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, out.size());
  EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](uint8_t v) { return v == 0xbb; }));
}

TEST_F(PosixDirect, ReadsStopAtTheEndOfTheFile) {
  std::vector<uint8_t> seven(7, 0x77);
  ASSERT_TRUE(file_->write_at(4096, seven).ok());  // the file grows to 8 KiB, zeros after the 7 bytes
  std::vector<uint8_t> out(20000);
  auto n = file_->read_at(4090, out);
  ASSERT_TRUE(n.ok()) << n.err().message;
  EXPECT_EQ(*n, 8192u - 4090u);
  EXPECT_EQ(out[6], 0x77);
  EXPECT_EQ(out[12], 0x77);
  EXPECT_EQ(out[13], 0);
  aligned_buffer far(4096);
  EXPECT_EQ(*file_->read_at(1 * MiB, far.span()), 0u);
}

TEST_F(PosixDirect, GatheredUnalignedPartsMatchAModel) {
  std::mt19937_64 rng(42);
  std::vector<uint8_t> model(3 * MiB, 0);
  ASSERT_TRUE(file_->write_at(0, model).ok());
  for (int round = 0; round < 200; ++round) {
    std::vector<std::vector<uint8_t>> parts(1 + rng() % 3);
    uint64_t total = 0;
    for (auto& p : parts) {
      p.resize(1 + rng() % (round % 10 == 0 ? 2 * MiB / 3 : 9000));
      for (auto& v : p) v = static_cast<uint8_t>(rng());
      total += p.size();
    }
    const uint64_t offset = rng() % (model.size() - total);
    std::vector<std::span<const uint8_t>> spans;
    uint64_t at = offset;
    for (const auto& p : parts) {
      std::copy(p.begin(), p.end(), model.begin() + static_cast<long>(at));
      at += p.size();
      spans.push_back(p);
    }
    ASSERT_TRUE(file_->writev_at(offset, spans).ok());
    const uint64_t read_offset = rng() % model.size();
    std::vector<uint8_t> out(std::min<uint64_t>(1 + rng() % 20000, model.size() - read_offset) + 1);
    auto n = file_->read_at(read_offset, std::span(out).subspan(1));  // an odd address
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(*n, out.size() - 1);
    ASSERT_TRUE(std::equal(out.begin() + 1, out.end(), model.begin() + static_cast<long>(read_offset))) << round;
  }
  EXPECT_EQ(buffered_read(0, model.size()), model);
}

// A batch mixes what goes to the ring (aligned reads of direct files) with
// what cannot (unaligned ones, buffered files), reads past the end, and a
// closed file; every request gets what read_at would have given it.
TEST_F(PosixDirect, ReadBatchMatchesReadAtForEveryKindOfRequest) {
  if (!fs_->batches_reads()) GTEST_SKIP() << "no io_uring on this kernel: read_batch reads one at a time";
  std::mt19937_64 rng(7);
  std::vector<uint8_t> model(1 * MiB + 5000);
  for (auto& v : model) v = static_cast<uint8_t>(rng());
  ASSERT_TRUE(file_->write_at(0, model).ok());
  auto buffered = fs_->open(join_path(dir_, "d"), open_mode::read_only);
  ASSERT_TRUE(buffered.ok());
  const uint64_t file_bytes = *file_->size();  // the unaligned write rounded the end up to a block
  for (int round = 0; round < 20; ++round) {
    const size_t count = 1 + rng() % 100;  // past the ring's depth too
    std::vector<aligned_buffer> bufs;
    std::vector<read_request> batch;
    bufs.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      const bool aligned = rng() % 4 != 0;
      const uint64_t offset = aligned ? (rng() % (file_bytes / 4096 + 2)) * 4096 : rng() % (file_bytes + 100);
      const size_t bytes = aligned ? 4096 * (1 + rng() % 16) : 1 + rng() % 9000;
      bufs.emplace_back(bytes + 4096);
      auto out = bufs.back().span().subspan(aligned ? 0 : 1, bytes);
      file* from = rng() % 5 == 0 ? buffered->get() : file_.get();
      batch.push_back(read_request{from, offset, out});
    }
    fs_->read_batch(batch);
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto& r = batch[i];
      ASSERT_TRUE(r.got.ok()) << r.got.err().message;
      const uint64_t expect = r.offset >= file_bytes ? 0 : std::min<uint64_t>(r.out.size(), file_bytes - r.offset);
      ASSERT_EQ(*r.got, expect) << "round " << round << " request " << i << " at " << r.offset;
      std::vector<uint8_t> want(expect, 0);
      for (uint64_t k = 0; k < expect; ++k) want[k] = r.offset + k < model.size() ? model[r.offset + k] : 0;
      ASSERT_TRUE(std::equal(want.begin(), want.end(), r.out.begin())) << "round " << round << " request " << i;
    }
  }
}

TEST_F(PosixDirect, ReadBatchReportsAClosedFileAndStillServesTheRest) {
  aligned_buffer data(8192);
  std::fill(data.span().begin(), data.span().end(), 0x42);
  ASSERT_TRUE(file_->write_at(0, data.span()).ok());
  auto other = fs_->open_direct(join_path(dir_, "closed"), open_mode::create);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->close().ok());
  aligned_buffer a(4096), b(4096), c(4096);
  std::vector<read_request> batch = {{file_.get(), 0, a.span()}, {other->get(), 0, b.span()}, {file_.get(), 4096, c.span()}};
  fs_->read_batch(batch);
  ASSERT_TRUE(batch[0].got.ok());
  EXPECT_EQ(*batch[0].got, 4096u);
  EXPECT_EQ(a.data()[4095], 0x42);
  EXPECT_FALSE(batch[1].got.ok());
  ASSERT_TRUE(batch[2].got.ok());
  EXPECT_EQ(c.data()[0], 0x42);
}

TEST(PosixDirectUnsupported, AFileSystemWithoutDirectIoSaysSo) {
  struct statfs st {};
  if (statfs("/dev/shm", &st) != 0 || st.f_type != TMPFS_MAGIC) GTEST_SKIP() << "no tmpfs at /dev/shm";
  std::string tmpl = "/dev/shm/strata-direct-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  auto fs = make_posix_fs();
  bool kernel_has_it = false;  // kernels since 6.6 give tmpfs O_DIRECT
  {
    auto f = fs->open_direct(join_path(tmpl, "d"), open_mode::create);
    kernel_has_it = f.ok();
    if (!kernel_has_it) {
      EXPECT_EQ(f.code(), errc::unsupported);
      EXPECT_NE(f.err().message.find("direct I/O"), std::string::npos);
    }
  }
  ASSERT_TRUE(fs->remove_all(tmpl).ok());
  if (kernel_has_it) GTEST_SKIP() << "this kernel gives tmpfs O_DIRECT, so there is no refusal to check";
}

}  // namespace
}  // namespace strata::io
