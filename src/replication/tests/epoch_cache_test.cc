// epoch_cache: Kafka's assign and OffsetForLeaderEpoch rules, and the
// leader-epochs file (docs/formats/leader-epochs.md) under reopen, crash,
// damage and write failures.
#include "replication/epoch_cache.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "base/crc32c.h"
#include "io/fault_fs.h"

namespace strata::replication {
namespace {

constexpr const char* dir = "/data/p0";
const std::string file = std::string(dir) + "/leader-epochs";

using entries = std::vector<epoch_entry>;
using epoch_end = epoch_cache::epoch_end;

class EpochCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.create_dirs(dir).ok()); }
  epoch_cache open() {
    auto c = epoch_cache::open(fs_, dir);
    EXPECT_TRUE(c.ok()) << c.err().message;
    return std::move(c).value();
  }
  void assign(epoch_cache& c, const entries& es) {
    for (const auto& e : es) ASSERT_TRUE(c.assign(e.epoch, e.start_offset).ok());
  }
  // Writes a file with the given header fields and raw entries, CRC right.
  void write_raw(uint16_t version, const std::vector<std::pair<int32_t, int64_t>>& raw) {
    std::vector<uint8_t> b(16 + raw.size() * 12);
    auto put = [&](size_t at, uint64_t v, size_t n) {
      for (size_t i = 0; i < n; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
    };
    put(0, 0x45525453, 4);
    put(8, version, 2);
    put(10, 12, 2);
    put(12, raw.size(), 4);
    for (size_t i = 0; i < raw.size(); ++i) {
      put(16 + 12 * i, static_cast<uint32_t>(raw[i].first), 4);
      put(16 + 12 * i + 4, static_cast<uint64_t>(raw[i].second), 8);
    }
    put(4, crc32c(b.data() + 8, b.size() - 8), 4);
    auto f = std::move(fs_.open(file, io::open_mode::create)).value();
    ASSERT_TRUE(f->truncate(0).ok());
    ASSERT_TRUE(f->write_at(0, b).ok());
  }

  io::fault_fs fs_;
};

TEST_F(EpochCacheTest, StartsEmptyWithoutAFile) {
  auto c = open();
  EXPECT_TRUE(c.entries().empty());
  EXPECT_EQ(c.latest_epoch(), -1);
  EXPECT_EQ(c.end_offset_for(0, 10), (epoch_end{-1, -1}));
  EXPECT_FALSE(*fs_.exists(file)) << "opening writes nothing";
}

TEST_F(EpochCacheTest, AssignKeepsEpochsAndOffsetsIncreasing) {
  auto c = open();
  assign(c, {{2, 6}, {3, 8}, {4, 11}});
  EXPECT_EQ(c.entries(), (entries{{2, 6}, {3, 8}, {4, 11}}));
  EXPECT_EQ(c.latest_epoch(), 4);

  uint64_t writes = fs_.write_count();
  ASSERT_TRUE(c.assign(4, 15).ok());
  EXPECT_EQ(c.entries().back(), (epoch_entry{4, 11})) << "the latest epoch keeps its first offset";
  EXPECT_EQ(fs_.write_count(), writes) << "and nothing is written";

  ASSERT_TRUE(c.assign(4, 9).ok());
  EXPECT_EQ(c.entries(), (entries{{2, 6}, {3, 8}, {4, 9}})) << "an earlier start for the latest epoch replaces it";
}

TEST_F(EpochCacheTest, AssignDropsConflictingEntriesAsKafkaDoes) {
  auto c = open();
  assign(c, {{1, 5}, {2, 6}});
  ASSERT_TRUE(c.assign(1, 7).ok());
  EXPECT_EQ(c.entries(), (entries{{1, 7}})) << "a lower epoch than the latest drops the epochs >= it";
  EXPECT_EQ(c.end_offset_for(1, 7), (epoch_end{1, 7}));

  assign(c, {{2, 9}, {3, 12}});
  ASSERT_TRUE(c.assign(4, 10).ok());
  EXPECT_EQ(c.entries(), (entries{{1, 7}, {2, 9}, {4, 10}})) << "entries starting at or after the new start go";
  ASSERT_TRUE(c.assign(5, 10).ok());
  EXPECT_EQ(c.entries(), (entries{{1, 7}, {2, 9}, {5, 10}})) << "an epoch with no entries is replaced";
}

TEST_F(EpochCacheTest, RefusesNegativeEpochsAndOffsets) {
  auto c = open();
  EXPECT_EQ(c.assign(-1, 0).code(), errc::invalid_argument);
  EXPECT_EQ(c.assign(0, -1).code(), errc::invalid_argument);
  EXPECT_EQ(c.truncate_from_end(-1).code(), errc::invalid_argument);
  EXPECT_TRUE(c.entries().empty());
}

TEST_F(EpochCacheTest, EndOffsetForFollowsKafka) {
  auto c = open();
  assign(c, {{2, 6}, {3, 8}, {5, 11}});
  constexpr int64_t log_end = 20;
  EXPECT_EQ(c.end_offset_for(5, log_end), (epoch_end{5, 20})) << "the latest epoch ends at the log end";
  EXPECT_EQ(c.end_offset_for(3, log_end), (epoch_end{3, 11})) << "an epoch ends where the next begins";
  EXPECT_EQ(c.end_offset_for(2, log_end), (epoch_end{2, 8}));
  EXPECT_EQ(c.end_offset_for(4, log_end), (epoch_end{3, 11})) << "an unknown epoch: the largest below it";
  EXPECT_EQ(c.end_offset_for(1, log_end), (epoch_end{1, 6})) << "below the first: where the known epochs begin";
  EXPECT_EQ(c.end_offset_for(0, log_end), (epoch_end{0, 6}));
  EXPECT_EQ(c.end_offset_for(6, log_end), (epoch_end{-1, -1})) << "above the latest";
  EXPECT_EQ(c.end_offset_for(-1, log_end), (epoch_end{-1, -1})) << "undefined epoch";
}

TEST_F(EpochCacheTest, PersistsAcrossReopenAndCrash) {
  {
    auto c = open();
    assign(c, {{0, 0}, {3, 100}, {7, 250}});
  }
  auto c = open();
  EXPECT_EQ(c.entries(), (entries{{0, 0}, {3, 100}, {7, 250}}));
  ASSERT_TRUE(c.assign(9, 300).ok());
  fs_.crash();
  c = open();
  EXPECT_EQ(c.entries(), (entries{{0, 0}, {3, 100}, {7, 250}, {9, 300}})) << "durable when assign returned";
}

TEST_F(EpochCacheTest, TruncateFromEnd) {
  auto c = open();
  assign(c, {{2, 6}, {3, 8}, {5, 11}});
  ASSERT_TRUE(c.truncate_from_end(11).ok());
  EXPECT_EQ(c.entries(), (entries{{2, 6}, {3, 8}}));
  uint64_t writes = fs_.write_count();
  ASSERT_TRUE(c.truncate_from_end(9).ok());
  EXPECT_EQ(c.entries(), (entries{{2, 6}, {3, 8}})) << "epoch 3 still has entries below 9";
  EXPECT_EQ(fs_.write_count(), writes);
  ASSERT_TRUE(c.truncate_from_end(7).ok());
  EXPECT_EQ(c.entries(), (entries{{2, 6}}));
  EXPECT_EQ(c.end_offset_for(2, 7), (epoch_end{2, 7}));
  fs_.crash();
  c = open();
  EXPECT_EQ(c.entries(), (entries{{2, 6}}));
  ASSERT_TRUE(c.truncate_from_end(0).ok());
  EXPECT_TRUE(c.entries().empty());
  EXPECT_TRUE(open().entries().empty());
}

TEST_F(EpochCacheTest, ClearDropsEverythingDurably) {
  auto c = open();
  assign(c, {{1, 0}, {2, 40}});
  ASSERT_TRUE(c.clear().ok());
  EXPECT_TRUE(c.entries().empty());
  EXPECT_EQ(c.latest_epoch(), -1);
  fs_.crash();
  c = open();
  EXPECT_TRUE(c.entries().empty());
  ASSERT_TRUE(c.assign(3, 500).ok());
  EXPECT_EQ(open().entries(), (entries{{3, 500}}));
}

TEST_F(EpochCacheTest, DamagedFileIsCorruptAndNamed) {
  {
    auto c = open();
    assign(c, {{1, 0}, {2, 40}});
  }
  for (uint64_t at : {0, 5, 9, 14, 20, 39}) {
    ASSERT_TRUE(fs_.corrupt_byte(file, at).ok());
    auto c = epoch_cache::open(fs_, dir);
    EXPECT_EQ(c.code(), errc::corrupt) << "byte " << at;
    if (!c.ok()) {
      EXPECT_NE(c.err().message.find(file), std::string::npos) << c.err().message;
    }
    ASSERT_TRUE(fs_.corrupt_byte(file, at).ok());  // flip it back
  }
  EXPECT_EQ(open().entries(), (entries{{1, 0}, {2, 40}}));

  auto f = std::move(fs_.open(file, io::open_mode::read_write)).value();
  ASSERT_TRUE(f->truncate(30).ok());
  EXPECT_EQ(epoch_cache::open(fs_, dir).code(), errc::corrupt) << "cut short";
  ASSERT_TRUE(f->truncate(3).ok());
  EXPECT_EQ(epoch_cache::open(fs_, dir).code(), errc::corrupt) << "shorter than the header";
}

TEST_F(EpochCacheTest, WellFormedButInvalidContentIsRefused) {
  write_raw(1, {{2, 10}, {1, 20}});
  EXPECT_EQ(epoch_cache::open(fs_, dir).code(), errc::corrupt) << "epochs out of order";
  write_raw(1, {{1, 10}, {2, 10}});
  EXPECT_EQ(epoch_cache::open(fs_, dir).code(), errc::corrupt) << "start offsets not increasing";
  write_raw(1, {{-3, 10}});
  EXPECT_EQ(epoch_cache::open(fs_, dir).code(), errc::corrupt) << "negative epoch";
  write_raw(2, {{1, 10}});
  EXPECT_EQ(epoch_cache::open(fs_, dir).code(), errc::unsupported) << "another version";
  write_raw(1, {{1, 10}, {4, 30}});
  EXPECT_EQ(open().entries(), (entries{{1, 10}, {4, 30}}));
}

TEST_F(EpochCacheTest, FailedWriteLeavesTheOldFile) {
  auto c = open();
  assign(c, {{1, 0}, {2, 40}});
  auto old_bytes = *fs_.contents(file);

  fs_.fail_write(1, 10);
  EXPECT_EQ(c.assign(3, 90).code(), errc::io_error);
  EXPECT_EQ(c.entries(), (entries{{1, 0}, {2, 40}})) << "nothing changes in memory";
  EXPECT_EQ(*fs_.contents(file), old_bytes);
  EXPECT_FALSE(*fs_.exists(file + ".tmp")) << "the temp file is cleaned up";

  fs_.fail_sync(1);  // the temp file's sync
  EXPECT_EQ(c.truncate_from_end(0).code(), errc::io_error);
  EXPECT_EQ(*fs_.contents(file), old_bytes);

  fs_.fail_sync(2);  // the directory's sync, after the rename
  EXPECT_EQ(c.clear().code(), errc::io_error);
  EXPECT_EQ(c.entries(), (entries{{1, 0}, {2, 40}}));
  fs_.crash();
  EXPECT_EQ(open().entries(), (entries{{1, 0}, {2, 40}})) << "the rename was not durable";

  c = open();
  ASSERT_TRUE(c.assign(3, 90).ok()) << "works again once the disk does";
  EXPECT_EQ(open().entries(), (entries{{1, 0}, {2, 40}, {3, 90}}));
}

TEST_F(EpochCacheTest, LeftoverTempFileIsRemoved) {
  auto f = fs_.open(file + ".tmp", io::open_mode::create);
  ASSERT_TRUE(f.ok());
  auto c = open();
  EXPECT_TRUE(c.entries().empty());
  EXPECT_FALSE(*fs_.exists(file + ".tmp"));
}

TEST(PosixEpochCache, AssignReopen) {
  std::string tmpl = std::string(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") + "/strata-epochs-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  auto fs = io::make_posix_fs();
  {
    auto c = std::move(epoch_cache::open(*fs, tmpl)).value();
    ASSERT_TRUE(c.assign(1, 0).ok());
    ASSERT_TRUE(c.assign(4, 1000).ok());
  }
  {
    auto c = epoch_cache::open(*fs, tmpl);
    ASSERT_TRUE(c.ok()) << c.err().message;
    EXPECT_EQ(c->entries(), (entries{{1, 0}, {4, 1000}}));
    EXPECT_EQ(*fs->list(tmpl), std::vector<std::string>{"leader-epochs"});
  }
  ASSERT_TRUE(fs->remove_all(tmpl).ok());
}

}  // namespace
}  // namespace strata::replication
