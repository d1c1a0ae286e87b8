#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <string>
#include <vector>

#include "io/errno_error.h"
#include "io/fs.h"
#include "io/tests/temp_dir.h"

namespace strata::io {
namespace {

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

class PosixFs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("strata-io");
    fs_ = make_posix_fs();
  }
  void TearDown() override { ASSERT_TRUE(fs_->remove_all(dir_).ok()); }
  std::string path(const std::string& name) { return join_path(dir_, name); }

  std::string dir_;
  std::unique_ptr<fs> fs_;
};

TEST_F(PosixFs, WriteReadSizeTruncate) {
  auto f = fs_->open(path("a"), open_mode::create);
  ASSERT_TRUE(f.ok()) << f.err().message;
  auto hello = bytes_of("hello ");
  auto world = bytes_of("world");
  std::span<const uint8_t> parts[] = {hello, world};
  ASSERT_TRUE((*f)->writev_at(0, parts).ok());
  ASSERT_TRUE((*f)->write_at(11, bytes_of("!")).ok());
  ASSERT_TRUE((*f)->sync().ok());
  EXPECT_EQ(*(*f)->size(), 12u);

  std::vector<uint8_t> out(64);
  auto n = (*f)->read_at(0, out);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(out.begin(), out.begin() + static_cast<long>(*n)), "hello world!");
  n = (*f)->read_at(6, std::span<uint8_t>(out.data(), 3));
  EXPECT_EQ(*n, 3u);
  EXPECT_EQ(std::string(out.begin(), out.begin() + 3), "wor");
  EXPECT_EQ(*(*f)->read_at(100, out), 0u);

  ASSERT_TRUE((*f)->truncate(5).ok());
  EXPECT_EQ(*(*f)->size(), 5u);
  ASSERT_TRUE((*f)->close().ok());
  EXPECT_FALSE((*f)->sync().ok());
}

TEST_F(PosixFs, PunchHoleFreesSpaceAndReadsZeros) {
  auto f = fs_->open(path("sparse"), open_mode::create);
  ASSERT_TRUE(f.ok());
  std::vector<uint8_t> ones(1 << 20, 0xab);
  ASSERT_TRUE((*f)->write_at(0, ones).ok());
  ASSERT_TRUE((*f)->punch_hole(4096, 8192).ok());
  EXPECT_EQ(*(*f)->size(), ones.size());
  std::vector<uint8_t> back(3 * 4096);
  ASSERT_EQ(*(*f)->read_at(0, back), back.size());
  for (size_t i = 0; i < back.size(); ++i) ASSERT_EQ(back[i], i < 4096 ? 0xab : 0) << i;

  auto z = (*f)->zero_range(ones.size() - 4096, 8192);  // past the end: extends
  if (z.code() == errc::unsupported) GTEST_SKIP() << z.err().message;
  ASSERT_TRUE(z.ok()) << z.err().message;
  EXPECT_EQ(*(*f)->size(), ones.size() + 4096);
  std::vector<uint8_t> tail(4096, 0xff);
  ASSERT_EQ(*(*f)->read_at(ones.size() - 4096, tail), tail.size());
  for (uint8_t b : tail) ASSERT_EQ(b, 0);
}

TEST_F(PosixFs, OpenModes) {
  EXPECT_EQ(fs_->open(path("missing"), open_mode::read_only).code(), errc::not_found);
  EXPECT_EQ(fs_->open(path("missing"), open_mode::read_write).code(), errc::not_found);
  ASSERT_TRUE(fs_->open(path("x"), open_mode::create_exclusive).ok());
  auto again = fs_->open(path("x"), open_mode::create_exclusive);
  EXPECT_EQ(again.code(), errc::already_exists);
  EXPECT_NE(again.err().message.find(path("x")), std::string::npos) << "the message names the path";
  auto ro = fs_->open(path("x"), open_mode::read_only);
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ((*ro)->write_at(0, bytes_of("no")).code(), errc::io_error);
}

TEST_F(PosixFs, DirectoryOperations) {
  ASSERT_TRUE(fs_->create_dirs(path("d/e/f")).ok());
  ASSERT_TRUE(fs_->create_dirs(path("d/e/f")).ok()) << "existing dirs are fine";
  ASSERT_TRUE(fs_->open(path("d/b"), open_mode::create).ok());
  ASSERT_TRUE(fs_->open(path("d/a"), open_mode::create).ok());
  auto names = fs_->list(path("d"));
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b", "e"}));

  ASSERT_TRUE(fs_->rename(path("d/a"), path("d/c")).ok());
  EXPECT_FALSE(*fs_->exists(path("d/a")));
  EXPECT_TRUE(*fs_->exists(path("d/c")));
  ASSERT_TRUE(fs_->sync_dir(path("d")).ok());
  ASSERT_TRUE(fs_->remove(path("d/c")).ok());
  EXPECT_EQ(fs_->remove(path("d/c")).code(), errc::not_found);
  EXPECT_EQ(fs_->list(path("nope")).code(), errc::not_found);

  ASSERT_TRUE(fs_->remove_all(path("d")).ok());
  EXPECT_FALSE(*fs_->exists(path("d")));
  EXPECT_TRUE(fs_->remove_all(path("d")).ok()) << "removing a missing dir is fine";
}

TEST_F(PosixFs, DiskFullMapsToNoSpace) {
  auto f = fs_->open("/dev/full", open_mode::read_write);
  if (!f.ok()) GTEST_SKIP() << "/dev/full not available";
  auto s = (*f)->write_at(0, bytes_of("data"));
  EXPECT_EQ(s.code(), errc::no_space);
  EXPECT_NE(s.err().message.find("/dev/full"), std::string::npos);
}

TEST(ErrnoError, Mapping) {
  EXPECT_EQ(errc_from_errno(ENOSPC), errc::no_space);
  EXPECT_EQ(errc_from_errno(EDQUOT), errc::no_space);
  EXPECT_EQ(errc_from_errno(ENOENT), errc::not_found);
  EXPECT_EQ(errc_from_errno(EEXIST), errc::already_exists);
  EXPECT_EQ(errc_from_errno(EIO), errc::io_error);
  auto e = errno_error(EIO, "write", "/p/q");
  EXPECT_NE(e.message.find("write /p/q"), std::string::npos);
}

TEST(JoinPath, NoDoubleSlash) {
  EXPECT_EQ(join_path("a", "b"), "a/b");
  EXPECT_EQ(join_path("a/", "b"), "a/b");
  EXPECT_EQ(join_path("", "b"), "b");
}

}  // namespace
}  // namespace strata::io
