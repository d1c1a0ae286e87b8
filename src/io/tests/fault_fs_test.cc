#include "io/fault_fs.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace strata::io {
namespace {

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }
std::string str(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }

class FaultFs : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs_.create_dirs("/d").ok());
  }
  std::unique_ptr<file> create(const std::string& path) {
    auto f = fs_.open(path, open_mode::create);
    EXPECT_TRUE(f.ok());
    return std::move(f).value();
  }
  std::string content(const std::string& path) {
    auto c = fs_.contents(path);
    return c.ok() ? str(*c) : "<missing>";
  }
  fault_fs fs_;
};

TEST_F(FaultFs, CrashDropsUnsyncedBytes) {
  auto f = create("/d/a");
  ASSERT_TRUE(fs_.sync_dir("/d").ok());
  ASSERT_TRUE(f->write_at(0, bytes_of("durable")).ok());
  ASSERT_TRUE(f->sync().ok());
  ASSERT_TRUE(f->write_at(7, bytes_of("-lost")).ok());
  EXPECT_EQ(content("/d/a"), "durable-lost");
  fs_.crash();
  EXPECT_EQ(content("/d/a"), "durable");
  EXPECT_EQ(f->write_at(0, bytes_of("x")).code(), errc::io_error) << "handles from before the crash are stale";
}

TEST_F(FaultFs, NewFileNeedsDirectorySync) {
  auto f = create("/d/new");
  ASSERT_TRUE(f->write_at(0, bytes_of("abc")).ok());
  ASSERT_TRUE(f->sync().ok());
  fs_.crash();
  EXPECT_FALSE(*fs_.exists("/d/new"));

  f = create("/d/new");
  ASSERT_TRUE(f->write_at(0, bytes_of("abc")).ok());
  ASSERT_TRUE(f->sync().ok());
  ASSERT_TRUE(fs_.sync_dir("/d").ok());
  fs_.crash();
  EXPECT_EQ(content("/d/new"), "abc");
}

TEST_F(FaultFs, RemoveAndRenameRevertWithoutDirectorySync) {
  auto f = create("/d/a");
  ASSERT_TRUE(f->write_at(0, bytes_of("A")).ok());
  ASSERT_TRUE(f->sync().ok());
  ASSERT_TRUE(fs_.sync_dir("/d").ok());
  ASSERT_TRUE(fs_.rename("/d/a", "/d/b").ok());
  EXPECT_EQ(*fs_.list("/d"), std::vector<std::string>{"b"});
  fs_.crash();
  EXPECT_EQ(*fs_.list("/d"), std::vector<std::string>{"a"});

  ASSERT_TRUE(fs_.remove("/d/a").ok());
  fs_.crash();
  EXPECT_EQ(content("/d/a"), "A") << "an unsynced removal is undone";

  ASSERT_TRUE(fs_.rename("/d/a", "/d/b").ok());
  ASSERT_TRUE(fs_.sync_dir("/d").ok());
  fs_.crash();
  EXPECT_EQ(*fs_.list("/d"), std::vector<std::string>{"b"});
}

TEST_F(FaultFs, CrashPlanKeepsPrefixAndTearsNextWrite) {
  auto f = create("/d/a");
  ASSERT_TRUE(fs_.sync_dir("/d").ok());
  ASSERT_TRUE(f->sync().ok());
  ASSERT_TRUE(f->write_at(0, bytes_of("one")).ok());
  ASSERT_TRUE(f->write_at(3, bytes_of("two")).ok());
  ASSERT_TRUE(f->write_at(6, bytes_of("three")).ok());
  fs_.crash({.unsynced_ops_kept = 1, .torn_bytes = 2});
  EXPECT_EQ(content("/d/a"), "onetw");

  f = std::move(fs_.open("/d/a", open_mode::read_write)).value();
  ASSERT_TRUE(f->truncate(1).ok());
  ASSERT_TRUE(f->write_at(1, bytes_of("Z")).ok());
  fs_.crash({.unsynced_ops_kept = 1, .torn_bytes = 0});
  EXPECT_EQ(content("/d/a"), "o") << "the truncate survives, the write after it does not";
}

TEST_F(FaultFs, FailNthWriteAfterPrefix) {
  auto f = create("/d/a");
  fs_.fail_write(2, 3);
  ASSERT_TRUE(f->write_at(0, bytes_of("first")).ok());
  auto s = f->write_at(5, bytes_of("second"));
  EXPECT_EQ(s.code(), errc::io_error);
  EXPECT_EQ(content("/d/a"), "firstsec");
  EXPECT_TRUE(f->write_at(8, bytes_of("ond")).ok()) << "the fault fires once";
  EXPECT_EQ(fs_.write_count(), 3u);
  EXPECT_EQ(fs_.open_handle_count(), 1u);
  f.reset();
  EXPECT_EQ(fs_.open_handle_count(), 0u);
}

TEST_F(FaultFs, DiskSizeLimitGivesNoSpace) {
  auto f = create("/d/a");
  auto g = create("/d/b");
  fs_.set_disk_bytes_max(10);
  ASSERT_TRUE(f->write_at(0, bytes_of("123456")).ok());
  auto s = g->write_at(0, bytes_of("abcdef"));
  EXPECT_EQ(s.code(), errc::no_space);
  EXPECT_EQ(content("/d/b"), "abcd") << "what fits is written";
  EXPECT_TRUE(f->write_at(0, bytes_of("xyz")).ok()) << "overwrites need no space";
  ASSERT_TRUE(g->truncate(0).ok());
  EXPECT_TRUE(g->write_at(0, bytes_of("abcd")).ok());
  fs_.set_disk_bytes_max(UINT64_MAX);
  EXPECT_TRUE(g->write_at(4, bytes_of("efgh")).ok());
  EXPECT_EQ(fs_.used_bytes(), 14u);
}

TEST_F(FaultFs, FailingSyncsMakeNothingDurable) {
  auto f = create("/d/a");
  ASSERT_TRUE(fs_.sync_dir("/d").ok());
  ASSERT_TRUE(f->write_at(0, bytes_of("abc")).ok());
  fs_.fail_syncs(true);
  EXPECT_EQ(f->sync().code(), errc::io_error);
  EXPECT_EQ(fs_.sync_dir("/d").code(), errc::io_error);
  fs_.crash();
  EXPECT_EQ(content("/d/a"), "");
  EXPECT_EQ(fs_.sync_count(), 0u);
}

TEST_F(FaultFs, FailNthSyncAndNthTruncateOnce) {
  auto f = create("/d/a");
  ASSERT_TRUE(f->write_at(0, bytes_of("abc")).ok());
  fs_.fail_sync(2);
  EXPECT_TRUE(fs_.sync_dir("/d").ok()) << "directory syncs count too";
  EXPECT_EQ(f->sync().code(), errc::io_error);
  EXPECT_TRUE(f->sync().ok()) << "the fault fires once";

  fs_.fail_truncate(1);
  EXPECT_EQ(f->truncate(1).code(), errc::io_error);
  EXPECT_EQ(content("/d/a"), "abc") << "a failed truncate changes nothing";
  EXPECT_TRUE(f->truncate(1).ok());
  EXPECT_EQ(content("/d/a"), "a");

  fs_.fail_sync(1);
  fs_.fail_sync(0);
  EXPECT_TRUE(f->sync().ok()) << "0 disarms";
}

TEST_F(FaultFs, OpenModesAndDirectories) {
  EXPECT_EQ(fs_.open("/d/x", open_mode::read_only).code(), errc::not_found);
  EXPECT_EQ(fs_.open("/nodir/x", open_mode::create).code(), errc::not_found);
  create("/d/x");
  EXPECT_EQ(fs_.open("/d/x", open_mode::create_exclusive).code(), errc::already_exists);
  auto ro = fs_.open("/d/x", open_mode::read_only);
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ((*ro)->write_at(0, bytes_of("a")).code(), errc::io_error);
  ASSERT_TRUE(fs_.create_dirs("/d/sub/deeper").ok());
  EXPECT_EQ(*fs_.list("/d"), (std::vector<std::string>{"sub", "x"}));
  ASSERT_TRUE(fs_.remove_all("/d").ok());
  EXPECT_FALSE(*fs_.exists("/d/x"));
  EXPECT_FALSE(*fs_.exists("/d/sub"));
  fs_.crash();
  EXPECT_FALSE(*fs_.exists("/d/x")) << "remove_all is durable at once";
}

TEST_F(FaultFs, PunchHoleAndZeroRangeAreUnsyncedZeroWrites) {
  auto f = create("/d/z");
  ASSERT_TRUE(fs_.sync_dir("/d").ok());
  ASSERT_TRUE(f->write_at(0, bytes_of("abcdef")).ok());
  ASSERT_TRUE(f->sync().ok());
  ASSERT_TRUE(f->punch_hole(1, 2).ok());
  ASSERT_TRUE(f->punch_hole(5, 100).ok());  // clipped at the end of the file
  EXPECT_EQ(content("/d/z"), std::string("a\0\0de\0", 6));
  ASSERT_TRUE(f->zero_range(6, 2).ok());  // extends
  EXPECT_EQ(content("/d/z").size(), 8u);
  fs_.crash();
  EXPECT_EQ(content("/d/z"), "abcdef");
}

TEST_F(FaultFs, CorruptByteFlipsCurrentAndDurable) {
  auto f = create("/d/a");
  ASSERT_TRUE(fs_.sync_dir("/d").ok());
  ASSERT_TRUE(f->write_at(0, bytes_of("abc")).ok());
  ASSERT_TRUE(f->sync().ok());
  ASSERT_TRUE(fs_.corrupt_byte("/d/a", 1).ok());
  std::string expect = "abc";
  expect[1] = static_cast<char>(expect[1] ^ 0xFF);
  EXPECT_EQ(content("/d/a"), expect);
  fs_.crash();
  EXPECT_EQ(content("/d/a"), expect);
}

}  // namespace
}  // namespace strata::io
