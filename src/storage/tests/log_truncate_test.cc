// log::truncate and log::truncate_fully: what they keep, what appends and
// reopens see afterwards, and that a failure or crash anywhere in them leaves
// the log either as before or as after (docs/formats/log.md, "Truncation").
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <functional>
#include <thread>

#include "io/fault_fs.h"
#include "storage/log.h"
#include "storage/segment.h"
#include "storage/tests/test_util.h"

namespace strata::storage {
namespace {

using testing::payload_for;
using testing::read_all_checked;

constexpr const char* dir = "/data/log";
constexpr size_t entry_bytes = 100;  // 140-byte frames: 3 to a 500-byte segment

// What a reader can tell about a log: its range and its entries' sizes.
struct log_state {
  log_offset start;
  log_offset end;
  std::vector<size_t> sizes;
  bool operator==(const log_state&) const = default;
};

log_state state_of(log& l) { return {l.start_offset(), l.end_offset(), read_all_checked(l)}; }

std::string describe(const log_state& s) {
  return "[" + std::to_string(s.start.value) + ", " + std::to_string(s.end.value) + ") with " +
         std::to_string(s.sizes.size()) + " entries";
}

class LogTruncateTest : public ::testing::Test {
 protected:
  LogTruncateTest() { cfg_.segment_bytes_max = 500; }

  std::unique_ptr<log> open() { return open_on(fs_); }
  std::unique_ptr<log> open_on(io::fs& fs) {
    auto l = log::open(fs, dir, cfg_);
    EXPECT_TRUE(l.ok()) << l.err().message;
    return l.ok() ? std::move(l).value() : nullptr;
  }
  // Appends `count` entries of `size` bytes, each covering `records` offsets.
  void add(log& l, int count, size_t size = entry_bytes, uint32_t records = 1, int64_t ts = 1000) {
    for (int i = 0; i < count; ++i) {
      auto r = l.append(payload_for(l.end_offset().value, size), records, ts);
      ASSERT_TRUE(r.ok()) << r.err().message;
    }
  }
  bool has_file(log_offset base, const char* suffix) {
    return *fs_.exists(io::join_path(dir, segment_file_name(base, suffix)));
  }
  bool has_marker() { return *fs_.exists(io::join_path(dir, "truncation")); }

  io::fault_fs fs_;
  log_config cfg_;
};

TEST_F(LogTruncateTest, WithinTheActiveSegment) {
  cfg_.segment_bytes_max = 1 << 20;
  auto l = open();
  add(*l, 10);
  ASSERT_TRUE(l->truncate(log_offset(6)).ok());
  EXPECT_EQ(l->end_offset(), log_offset(6));
  EXPECT_EQ(l->segment_count(), 1u);
  EXPECT_EQ(l->size_bytes(), 6 * (frame_header_bytes + entry_bytes));
  EXPECT_EQ(fs_.contents(io::join_path(dir, segment_file_name(log_offset(0), ".log")))->size(), l->size_bytes());
  EXPECT_EQ(read_all_checked(*l).size(), 6u);
  EXPECT_FALSE(has_marker());
}

TEST_F(LogTruncateTest, AcrossSegmentsAtEveryBoundary) {
  constexpr int entries = 20;
  for (int64_t new_end = 0; new_end <= entries; ++new_end) {
    SCOPED_TRACE("truncate to " + std::to_string(new_end));
    io::fault_fs fs;
    auto l = open_on(fs);
    add(*l, entries);
    ASSERT_EQ(l->segment_count(), 7u);
    ASSERT_TRUE(l->truncate(log_offset(new_end)).ok());
    EXPECT_EQ(l->start_offset(), log_offset(0));
    EXPECT_EQ(l->end_offset(), log_offset(new_end));
    EXPECT_EQ(read_all_checked(*l).size(), static_cast<size_t>(new_end));
    // The kept segment is the one holding new_end (a boundary starts a new one).
    size_t segments = static_cast<size_t>(std::min<int64_t>(new_end / 3 + 1, 7));
    EXPECT_EQ(l->segment_count(), segments);
    auto names = *fs.list(dir);
    size_t index_files = 2 * (segments - 1);
    EXPECT_EQ(names.size(), segments + index_files) << "later segments and the kept one's index files are gone";
    for (const auto& r : std::vector<int64_t>{new_end, new_end - 1, 0}) {
      if (r < 0 || r >= new_end) continue;
      auto got = l->read(log_offset(r), 0, l->end_offset(), true);
      ASSERT_TRUE(got.ok()) << got.err().message;
      EXPECT_EQ(got->entries.front().base_offset, log_offset(r));
    }
  }
}

TEST_F(LogTruncateTest, ToTheStartLeavesAnEmptyLogThatKeepsItsOffsets) {
  cfg_.retention_ms = 1000;
  auto l = open();
  add(*l, 6, entry_bytes, 1, 100);
  add(*l, 6, entry_bytes, 1, 10'000);
  ASSERT_GT(*l->enforce_retention(5000), 0);
  log_offset start = l->start_offset();
  ASSERT_GT(start, log_offset(0));
  ASSERT_TRUE(l->truncate(start).ok());
  EXPECT_EQ(l->start_offset(), start);
  EXPECT_EQ(l->end_offset(), start);
  EXPECT_EQ(l->segment_count(), 1u);
  EXPECT_EQ(l->size_bytes(), 0u);
  auto r = l->append(payload_for(start.value, 10), 1, 10'000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->base_offset, start);
}

TEST_F(LogTruncateTest, ToTheEndChangesNothing) {
  auto l = open();
  add(*l, 7);
  uint64_t syncs = fs_.sync_count();
  auto files = *fs_.list(dir);
  ASSERT_TRUE(l->truncate(log_offset(7)).ok());
  EXPECT_EQ(l->end_offset(), log_offset(7));
  EXPECT_EQ(fs_.sync_count(), syncs);
  EXPECT_EQ(*fs_.list(dir), files);
}

TEST_F(LogTruncateTest, RefusesOffsetsThatAreNotBoundariesInRange) {
  cfg_.retention_ms = 1000;
  auto l = open();
  add(*l, 4, entry_bytes, 1, 100);    // offsets 0..3, retention drops 0..2
  add(*l, 5, entry_bytes, 3, 10'000);  // offsets 4..18, three to an entry
  ASSERT_GT(*l->enforce_retention(5000), 0);
  ASSERT_EQ(l->start_offset(), log_offset(3));
  auto before = state_of(*l);
  EXPECT_EQ(l->truncate(log_offset(5)).code(), errc::invalid_argument) << "inside the entry at 4";
  EXPECT_EQ(l->truncate(log_offset(18)).code(), errc::invalid_argument) << "inside the last entry";
  EXPECT_EQ(l->truncate(log_offset(20)).code(), errc::invalid_argument) << "beyond the end";
  EXPECT_EQ(l->truncate(log_offset(2)).code(), errc::invalid_argument) << "before the start";
  EXPECT_EQ(l->truncate(log_offset(-1)).code(), errc::invalid_argument);
  EXPECT_EQ(l->truncate_fully(log_offset(-1)).code(), errc::invalid_argument);
  EXPECT_EQ(state_of(*l), before);
  EXPECT_FALSE(has_marker());
  ASSERT_TRUE(l->truncate(log_offset(7)).ok()) << "the log stays usable";
  EXPECT_EQ(l->end_offset(), log_offset(7));
}

TEST_F(LogTruncateTest, AppendsContinueDenselyAtTheNewEnd) {
  cfg_.index_interval_bytes = 200;  // index entries inside every segment
  auto l = open();
  for (int i = 0; i < 20; ++i) add(*l, 1, entry_bytes, 2, 1000 + i);
  ASSERT_TRUE(l->truncate(log_offset(16)).ok());  // into the segment holding entries 6..8
  for (int i = 0; i < 10; ++i) {
    auto r = l->append(payload_for(l->end_offset().value, 30), 1, 5000 + i);
    ASSERT_TRUE(r.ok()) << r.err().message;
    EXPECT_EQ(r->base_offset, log_offset(16 + i));
  }
  auto sizes = read_all_checked(*l);
  ASSERT_EQ(sizes.size(), 18u);
  EXPECT_EQ(sizes[7], entry_bytes);
  EXPECT_EQ(sizes[8], 30u) << "the new entries, not the removed ones";
  for (int64_t o = 0; o < l->end_offset().value; ++o) {
    auto r = l->read(log_offset(o), 0, l->end_offset(), true);
    ASSERT_TRUE(r.ok()) << r.err().message;
    EXPECT_LE(r->entries.front().base_offset, log_offset(o));
    EXPECT_GT(r->entries.front().base_offset + r->entries.front().record_count, log_offset(o));
  }
  read_result storage;
  auto found = l->find_by_timestamp(1015, storage);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->base_offset, log_offset(16)) << "entries with 1008..1019 were removed";
  found = l->find_by_timestamp(1005, storage);
  EXPECT_EQ((*found)->base_offset, log_offset(10));
}

TEST_F(LogTruncateTest, ReopenShowsTheSameState) {
  cfg_.index_interval_bytes = 200;
  auto l = open();
  add(*l, 20);
  ASSERT_TRUE(l->truncate(log_offset(10)).ok());
  add(*l, 5, 40);  // fills the kept segment, then rolls: its index files are written again
  auto after = state_of(*l);
  ASSERT_TRUE(l->flush().ok());
  l.reset();
  l = open();
  EXPECT_EQ(state_of(*l), after);
  l.reset();
  fs_.crash();
  l = open();
  EXPECT_EQ(state_of(*l), after) << "all of it was durable";
  for (int64_t o = 0; o < l->end_offset().value; ++o) {
    ASSERT_TRUE(l->read(log_offset(o), 0, l->end_offset(), true).ok()) << o;
  }
}

TEST_F(LogTruncateTest, RemovedEntriesNeverComeBackAfterACrash) {
  auto l = open();
  add(*l, 20);
  ASSERT_TRUE(l->flush().ok());
  ASSERT_TRUE(l->truncate(log_offset(5)).ok());
  add(*l, 3, 30);
  ASSERT_TRUE(l->flush().ok());
  auto after = state_of(*l);
  l.reset();
  fs_.crash({.unsynced_ops_kept = 1000});
  l = open();
  EXPECT_EQ(state_of(*l), after) << "neither the removed entries nor a stale marker cutting the new ones";
}

TEST_F(LogTruncateTest, FlushedOffsetFollowsTheCut) {
  cfg_.segment_bytes_max = 1 << 20;  // no roll, which would sync too
  auto l = open();
  add(*l, 10);
  ASSERT_EQ(*l->flush(), log_offset(10));
  ASSERT_TRUE(l->truncate(log_offset(4)).ok());
  EXPECT_EQ(l->flushed_offset(), log_offset(4)) << "drops";
  add(*l, 4);
  EXPECT_EQ(l->flushed_offset(), log_offset(4));
  ASSERT_TRUE(l->truncate(log_offset(6)).ok());
  EXPECT_EQ(l->flushed_offset(), log_offset(6)) << "the cut's sync made 4 and 5 durable";
  l.reset();
  fs_.crash();
  l = open();
  EXPECT_EQ(l->end_offset(), log_offset(6));
}

TEST_F(LogTruncateTest, TruncateFullyRestartsAtTheNewStart) {
  auto l = open();
  add(*l, 10);
  ASSERT_TRUE(l->truncate_fully(log_offset(1000)).ok());
  EXPECT_EQ(l->start_offset(), log_offset(1000));
  EXPECT_EQ(l->end_offset(), log_offset(1000));
  EXPECT_EQ(l->flushed_offset(), log_offset(1000));
  EXPECT_EQ(l->segment_count(), 1u);
  EXPECT_EQ(l->size_bytes(), 0u);
  EXPECT_EQ(*fs_.list(dir), std::vector<std::string>{segment_file_name(log_offset(1000), ".log")});
  add(*l, 4, 20);
  EXPECT_EQ(l->end_offset(), log_offset(1004));
  auto after = state_of(*l);
  ASSERT_TRUE(l->flush().ok());
  l.reset();
  fs_.crash();
  l = open();
  EXPECT_EQ(state_of(*l), after);

  ASSERT_TRUE(l->truncate_fully(log_offset(3)).ok()) << "backwards is allowed too";
  EXPECT_EQ(l->start_offset(), log_offset(3));
  ASSERT_TRUE(l->truncate_fully(log_offset(3)).ok()) << "and onto the segment it just created";
  add(*l, 1);
  l.reset();
  l = open();
  EXPECT_EQ(l->start_offset(), log_offset(3));
  EXPECT_EQ(l->end_offset(), log_offset(4));
}

TEST_F(LogTruncateTest, ReadsOfRemovedRangesAreNotFound) {
  auto l = open();
  add(*l, 10);
  ASSERT_TRUE(l->truncate(log_offset(5)).ok());
  EXPECT_EQ(l->read(log_offset(7), 1000, log_offset(10), true).code(), errc::not_found);
  auto at_end = l->read(log_offset(5), 1000, log_offset(10), true);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end->entries.empty());
  auto upto_old_end = l->read(log_offset(3), 1 << 20, log_offset(10), true);
  ASSERT_TRUE(upto_old_end.ok());
  EXPECT_EQ(upto_old_end->entries.size(), 2u);
  ASSERT_TRUE(l->truncate_fully(log_offset(100)).ok());
  EXPECT_EQ(l->read(log_offset(2), 1000, log_offset(100), true).code(), errc::not_found);
}

TEST_F(LogTruncateTest, ConcurrentFlushNeverPublishesRemovedOffsets) {
  auto l = open();
  std::atomic<bool> done{false};
  std::thread flusher([&] {
    while (!done.load()) {
      auto f = l->flush();
      ASSERT_TRUE(f.ok()) << f.err().message;
    }
  });
  for (int round = 0; round < 300; ++round) {
    add(*l, 3, static_cast<size_t>(round % 50));
    auto s = l->truncate(log_offset(l->end_offset().value - 2));
    if (!s.ok() || l->flushed_offset() > l->end_offset()) {
      ADD_FAILURE() << "round " << round << ": flushed " << l->flushed_offset().value << ", end "
                    << l->end_offset().value << (s.ok() ? "" : ", " + s.err().message);
      break;
    }
  }
  done = true;
  flusher.join();
  ASSERT_EQ(l->end_offset(), log_offset(300));
  EXPECT_EQ(*l->flush(), log_offset(300));
  read_all_checked(*l);
}

// Delegates to another fs; once armed, the next file sync waits until released.
class gated_fs final : public io::fs {
 public:
  explicit gated_fs(io::fs& inner) : inner_(inner) {}

  void arm() { armed_ = true; }
  void wait_until_held() {
    while (!held_.load()) std::this_thread::yield();
  }
  void release() { released_ = true; }

  result<std::unique_ptr<io::file>> open(const std::string& path, io::open_mode mode) override {
    auto f = inner_.open(path, mode);
    if (!f.ok()) return f.err();
    return std::unique_ptr<io::file>(std::make_unique<gated_file>(*this, std::move(f).value()));
  }
  result<std::unique_ptr<io::file>> open_direct(const std::string& path, io::open_mode mode) override {
    return open(path, mode);
  }
  result<std::vector<std::string>> list(const std::string& d) override { return inner_.list(d); }
  result<bool> exists(const std::string& path) override { return inner_.exists(path); }
  status remove(const std::string& path) override { return inner_.remove(path); }
  status remove_all(const std::string& d) override { return inner_.remove_all(d); }
  status rename(const std::string& from, const std::string& to) override { return inner_.rename(from, to); }
  status create_dirs(const std::string& d) override { return inner_.create_dirs(d); }
  status sync_dir(const std::string& d) override { return inner_.sync_dir(d); }

 private:
  class gated_file final : public io::file {
   public:
    gated_file(gated_fs& fs, std::unique_ptr<io::file> inner) : fs_(fs), inner_(std::move(inner)) {}
    result<size_t> read_at(uint64_t offset, std::span<uint8_t> out) override { return inner_->read_at(offset, out); }
    status writev_at(uint64_t offset, std::span<const std::span<const uint8_t>> parts) override {
      return inner_->writev_at(offset, parts);
    }
    status sync() override {
      if (fs_.armed_.exchange(false)) {
        fs_.held_ = true;
        while (!fs_.released_.load()) std::this_thread::yield();
      }
      return inner_->sync();
    }
    status truncate(uint64_t size_bytes) override { return inner_->truncate(size_bytes); }
    status punch_hole(uint64_t offset, uint64_t length) override { return inner_->punch_hole(offset, length); }
    status zero_range(uint64_t offset, uint64_t length) override { return inner_->zero_range(offset, length); }
    result<uint64_t> size() override { return inner_->size(); }
    status close() override { return inner_->close(); }
    const std::string& path() const override { return inner_->path(); }

   private:
    gated_fs& fs_;
    std::unique_ptr<io::file> inner_;
  };

  io::fs& inner_;
  std::atomic<bool> armed_{false};
  std::atomic<bool> held_{false};
  std::atomic<bool> released_{false};
};

TEST_F(LogTruncateTest, FlushBegunBeforeATruncationDoesNotPublishItsOffset) {
  gated_fs gate(fs_);
  auto l = open_on(gate);
  add(*l, 10);
  gate.arm();
  std::thread flusher([&] {
    auto f = l->flush();  // held inside its sync, with 10 as its target
    ASSERT_TRUE(f.ok()) << f.err().message;
    EXPECT_LE(*f, log_offset(4));
  });
  gate.wait_until_held();
  ASSERT_TRUE(l->truncate(log_offset(4)).ok());
  gate.release();
  flusher.join();
  EXPECT_EQ(l->flushed_offset(), log_offset(4));
  EXPECT_EQ(*l->flush(), log_offset(4));
}

TEST_F(LogTruncateTest, DamagedMarkerFailsTheOpen) {
  auto l = open();
  add(*l, 5);
  l.reset();
  auto f = std::move(fs_.open(io::join_path(dir, "truncation"), io::open_mode::create)).value();
  ASSERT_TRUE(f->write_at(0, std::vector<uint8_t>(24, 7)).ok());
  f.reset();
  EXPECT_EQ(log::open(fs_, dir, cfg_).code(), errc::corrupt);
}

TEST_F(LogTruncateTest, LeftoverMarkerTempFileIsRemoved) {
  auto l = open();
  add(*l, 5);
  l.reset();
  ASSERT_TRUE(fs_.open(io::join_path(dir, "truncation.tmp"), io::open_mode::create).ok());
  l = open();
  EXPECT_EQ(l->end_offset(), log_offset(5));
  EXPECT_FALSE(*fs_.exists(io::join_path(dir, "truncation.tmp")));
}

// Runs `truncation` on a flushed log of 20 entries in 7 segments with the nth
// sync (or truncate) failing, for every n until it succeeds. After each
// failure the log must refuse further calls or be unchanged; after a reopen,
// with or without a crash in any of several ways, it must be in the old or the
// new state.
void check_old_or_new(log_config cfg, bool fail_truncates, const std::function<status(log&)>& truncation,
                      const std::function<log_state(const log_state&)>& expect_new) {
  int failures = 0;
  for (uint64_t n = 1;; ++n) {
    SCOPED_TRACE(std::string(fail_truncates ? "truncate " : "sync ") + std::to_string(n) + " fails");
    for (int crash = 0; crash < 3; ++crash) {
      io::fault_fs fs;
      auto l = std::move(log::open(fs, dir, cfg)).value();
      for (int i = 0; i < 20; ++i) ASSERT_TRUE(l->append(payload_for(i, entry_bytes), 1, 1000).ok());
      ASSERT_TRUE(l->flush().ok());
      log_state old_state = state_of(*l);
      log_state new_state = expect_new(old_state);
      if (fail_truncates) {
        fs.fail_truncate(n);
      } else {
        fs.fail_sync(n);
      }
      auto s = truncation(*l);
      fs.fail_truncate(0);
      fs.fail_sync(0);
      if (s.ok()) {
        EXPECT_EQ(state_of(*l), new_state);
        ASSERT_GT(failures, 0) << "every failure point was reached";
        return;
      }
      EXPECT_EQ(s.code(), errc::io_error);
      auto read = l->read(log_offset(0), 0, log_offset(20), true);
      if (read.ok()) {
        EXPECT_EQ(state_of(*l), old_state) << "a failure before any change leaves the log usable and as it was";
      } else {
        EXPECT_EQ(read.code(), errc::io_error);
        EXPECT_EQ(l->append(payload_for(20, 1), 1, 0).code(), errc::io_error);
        EXPECT_EQ(l->flush().code(), errc::io_error);
      }
      l.reset();
      if (crash == 1) fs.crash();
      if (crash == 2) fs.crash({.unsynced_ops_kept = 1000});
      auto reopened = log::open(fs, dir, cfg);
      ASSERT_TRUE(reopened.ok()) << reopened.err().message;
      log_state got = state_of(**reopened);
      EXPECT_TRUE(got == old_state || got == new_state)
          << "crash plan " << crash << ": " << describe(got) << ", expected " << describe(old_state) << " or "
          << describe(new_state);
      EXPECT_FALSE(*fs.exists(io::join_path(dir, "truncation")));
      ++failures;
    }
  }
}

TEST_F(LogTruncateTest, FailedSyncLeavesTheOldOrTheNewLog) {
  check_old_or_new(cfg_, false, [](log& l) { return l.truncate(log_offset(8)); },
                   [](const log_state& old) {
                     return log_state{old.start, log_offset(8), {old.sizes.begin(), old.sizes.begin() + 8}};
                   });
}

TEST_F(LogTruncateTest, FailedFileTruncateLeavesTheOldOrTheNewLog) {
  check_old_or_new(cfg_, true, [](log& l) { return l.truncate(log_offset(13)); },
                   [](const log_state& old) {
                     return log_state{old.start, log_offset(13), {old.sizes.begin(), old.sizes.begin() + 13}};
                   });
}

TEST_F(LogTruncateTest, FailedSyncInTruncateFullyLeavesTheOldOrTheNewLog) {
  check_old_or_new(cfg_, false, [](log& l) { return l.truncate_fully(log_offset(50)); },
                   [](const log_state&) { return log_state{log_offset(50), log_offset(50), {}}; });
}

TEST(PosixLogTruncate, TruncateReopenAppend) {
  std::string tmpl = std::string(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") + "/strata-log-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  auto fs = io::make_posix_fs();
  log_config cfg;
  cfg.segment_bytes_max = 16 * KiB;
  std::string path = tmpl + "/p0";
  {
    auto l = std::move(log::open(*fs, path, cfg)).value();
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(l->append(payload_for(i, 1000), 1, i).ok());
    ASSERT_GT(l->segment_count(), 4u);
    ASSERT_TRUE(l->truncate(log_offset(33)).ok());
    ASSERT_TRUE(l->append(payload_for(33, 10), 1, 0).ok());
  }
  {
    auto l = std::move(log::open(*fs, path, cfg)).value();
    EXPECT_EQ(l->end_offset(), log_offset(34));
    auto sizes = read_all_checked(*l);
    ASSERT_EQ(sizes.size(), 34u);
    EXPECT_EQ(sizes.back(), 10u);
    ASSERT_TRUE(l->truncate_fully(log_offset(500)).ok());
  }
  {
    auto l = std::move(log::open(*fs, path, cfg)).value();
    EXPECT_EQ(l->start_offset(), log_offset(500));
    EXPECT_EQ(l->end_offset(), log_offset(500));
    EXPECT_EQ(*fs->list(path), std::vector<std::string>{segment_file_name(log_offset(500), ".log")});
  }
  ASSERT_TRUE(fs->remove_all(tmpl).ok());
}

}  // namespace
}  // namespace strata::storage
