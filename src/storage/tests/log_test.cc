// The log's behaviour with a healthy disk: append, read, roll, retention,
// lookups, reopen. Fault and crash behaviour: log_fault_test.cc.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <thread>

#include "io/fault_fs.h"
#include "storage/log.h"
#include "storage/segment.h"
#include "storage/tests/test_util.h"

namespace strata::storage {
namespace {

using testing::payload_for;
using testing::read_all_checked;
using testing::to_vector;

constexpr const char* dir = "/data/log";

class LogTest : public ::testing::Test {
 protected:
  std::unique_ptr<log> open(log_config cfg) {
    auto l = log::open(fs_, dir, cfg);
    EXPECT_TRUE(l.ok()) << l.err().message;
    return l.ok() ? std::move(l).value() : nullptr;
  }
  // Appends an entry of `size` bytes covering `records` offsets.
  append_result add(log& l, size_t size, uint32_t records = 1, int64_t ts = 1000) {
    auto r = l.append(payload_for(l.end_offset().value, size), records, ts);
    EXPECT_TRUE(r.ok()) << r.err().message;
    return r.ok() ? *r : append_result{};
  }
  bool has_file(const std::string& name) { return *fs_.exists(io::join_path(dir, name)); }

  io::fault_fs fs_;
  log_config cfg_;
};

TEST_F(LogTest, AppendAssignsDenseOffsets) {
  auto l = open(cfg_);
  EXPECT_EQ(l->start_offset(), log_offset(0));
  EXPECT_EQ(l->end_offset(), log_offset(0));
  auto a = add(*l, 10, 3);
  EXPECT_EQ(a.base_offset, log_offset(0));
  EXPECT_EQ(a.next_offset, log_offset(3));
  auto b = add(*l, 0, 1);
  EXPECT_EQ(b.base_offset, log_offset(3));
  EXPECT_EQ(l->end_offset(), log_offset(4));
  EXPECT_EQ(l->size_bytes(), 2 * frame_header_bytes + 10);
  EXPECT_EQ(read_all_checked(*l), (std::vector<size_t>{10, 0}));
}

TEST_F(LogTest, RefusesBadEntries) {
  cfg_.entry_bytes_max = 100;
  auto l = open(cfg_);
  EXPECT_EQ(l->append(std::vector<uint8_t>(101), 1, 0).code(), errc::limit_exceeded);
  EXPECT_EQ(l->append(std::vector<uint8_t>(100), 0, 0).code(), errc::invalid_argument);
  EXPECT_TRUE(l->append(std::vector<uint8_t>(100), 1, 0).ok());
  EXPECT_EQ(l->end_offset(), log_offset(1));
}

TEST_F(LogTest, RefusesBadConfig) {
  log_config c;
  c.segment_bytes_max = 3 * GiB;
  EXPECT_EQ(log::open(fs_, dir, c).code(), errc::invalid_argument);
  c = {};
  c.entry_bytes_max = 0;
  EXPECT_EQ(log::open(fs_, dir, c).code(), errc::invalid_argument);
}

TEST_F(LogTest, OneWriteSyscallPerAppend) {
  auto l = open(cfg_);
  add(*l, 100);
  uint64_t before = fs_.write_count();
  for (int i = 0; i < 10; ++i) add(*l, 1000);
  EXPECT_EQ(fs_.write_count() - before, 10u);
}

TEST_F(LogTest, ReadStartsAtTheEntryHoldingTheOffset) {
  auto l = open(cfg_);
  add(*l, 5, 10);  // 0..9
  add(*l, 5, 10);  // 10..19
  auto r = l->read(log_offset(15), 1000, l->end_offset(), false);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->entries.size(), 1u);
  EXPECT_EQ(r->entries[0].base_offset, log_offset(10));
  EXPECT_EQ(r->entries[0].record_count, 10u);
  EXPECT_EQ(to_vector(r->entries[0].payload), payload_for(10, 5));
}

TEST_F(LogTest, ReadRespectsMaxBytesUptoAndMinOne) {
  auto l = open(cfg_);
  for (int i = 0; i < 10; ++i) add(*l, 100);
  auto r = l->read(log_offset(0), 350, l->end_offset(), false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->entries.size(), 3u) << "only whole entries within 350 payload bytes";
  EXPECT_LE(r->buffer.size(), 350 + 3 * frame_header_bytes);

  r = l->read(log_offset(0), 50, l->end_offset(), false);
  EXPECT_TRUE(r->entries.empty());
  r = l->read(log_offset(0), 50, l->end_offset(), true);
  ASSERT_EQ(r->entries.size(), 1u) << "min_one returns the first entry even over budget";
  EXPECT_LE(r->buffer.size(), 100 + frame_header_bytes);

  r = l->read(log_offset(2), 1 << 20, log_offset(5), false);
  ASSERT_EQ(r->entries.size(), 3u);
  EXPECT_EQ(r->entries.back().base_offset, log_offset(4));

  r = l->read(l->end_offset(), 1000, l->end_offset(), true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->entries.empty()) << "reading at the end gives nothing";
  EXPECT_EQ(l->read(log_offset(11), 1000, log_offset(20), true).code(), errc::not_found);
}

TEST_F(LogTest, LargeEntriesAcrossReadChunks) {
  cfg_.index_interval_bytes = 64;
  auto l = open(cfg_);
  std::vector<size_t> sizes = {1, 70000, 3, 200000, 0, 5000, 65536};
  for (size_t s : sizes) add(*l, s);
  EXPECT_EQ(read_all_checked(*l), sizes);
  auto r = l->read(log_offset(3), 100, l->end_offset(), true);
  ASSERT_EQ(r->entries.size(), 1u);
  EXPECT_EQ(r->entries[0].payload.size(), 200000u);
}

TEST_F(LogTest, RollsBySizeAndReadsAcrossSegments) {
  cfg_.segment_bytes_max = 1000;
  cfg_.index_interval_bytes = 200;
  auto l = open(cfg_);
  for (int i = 0; i < 40; ++i) add(*l, 100 + static_cast<size_t>(i));
  EXPECT_GT(l->segment_count(), 5u);
  EXPECT_EQ(read_all_checked(*l).size(), 40u);
  auto r = l->read(log_offset(0), 1 << 20, l->end_offset(), false);
  ASSERT_EQ(r->entries.size(), 40u) << "one read crosses segment boundaries";
  auto names = *fs_.list(dir);
  size_t logs = std::count_if(names.begin(), names.end(), [](auto& n) { return n.ends_with(".log"); });
  size_t indexes = std::count_if(names.begin(), names.end(), [](auto& n) { return n.ends_with(".index"); });
  EXPECT_EQ(logs, l->segment_count());
  EXPECT_EQ(indexes, l->segment_count() - 1) << "closed segments have index files, the active one not yet";
  EXPECT_TRUE(has_file("00000000000000000000.timeindex"));
  uint64_t frames = 0;
  for (int i = 0; i < 40; ++i) frames += frame_header_bytes + 100 + static_cast<uint64_t>(i);
  EXPECT_EQ(l->size_bytes(), frames);
}

TEST_F(LogTest, EveryOffsetIsFoundThroughTheSparseIndex) {
  cfg_.segment_bytes_max = 20000;
  cfg_.index_interval_bytes = 300;
  auto l = open(cfg_);
  for (int i = 0; i < 500; ++i) add(*l, static_cast<size_t>(i * 7 % 150), static_cast<uint32_t>(1 + i % 3));
  auto check_all = [&](log& lg) {
    for (log_offset o = lg.start_offset(); o < lg.end_offset(); o = o + 1) {
      auto r = lg.read(o, 0, lg.end_offset(), true);
      ASSERT_TRUE(r.ok()) << r.err().message;
      ASSERT_EQ(r->entries.size(), 1u);
      const auto& e = r->entries[0];
      ASSERT_LE(e.base_offset, o);
      ASSERT_GT(e.base_offset + e.record_count, o);
      ASSERT_EQ(to_vector(e.payload), payload_for(e.base_offset.value, e.payload.size()));
    }
  };
  check_all(*l);
  l.reset();
  l = open(cfg_);  // now closed segments use their index files
  check_all(*l);
}

TEST_F(LogTest, ClosedSegmentsOpenTheirFileOnFirstRead) {
  cfg_.segment_bytes_max = 500;
  auto l = open(cfg_);
  for (int i = 0; i < 20; ++i) add(*l, 100);
  l.reset();
  l = open(cfg_);
  ASSERT_GT(l->segment_count(), 4u);
  EXPECT_EQ(fs_.open_handle_count(), 1u) << "only the active segment's file";
  auto r = l->read(log_offset(0), 100, l->end_offset(), true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(to_vector(r->entries.at(0).payload), payload_for(0, 100));
  EXPECT_EQ(fs_.open_handle_count(), 2u);
}

TEST_F(LogTest, FindByTimestamp) {
  cfg_.segment_bytes_max = 600;
  cfg_.index_interval_bytes = 100;
  auto l = open(cfg_);
  // Timestamps wander, as producer-set timestamps do.
  std::vector<int64_t> ts;
  for (int i = 0; i < 60; ++i) ts.push_back(1000 + (i * 37) % 50 * 10 + i * 5);
  for (int64_t t : ts) add(*l, 50, 2, t);
  auto expect_found = [&](int64_t target) {
    std::optional<int64_t> want;
    for (size_t i = 0; i < ts.size(); ++i) {
      if (ts[i] >= target) {
        want = static_cast<int64_t>(2 * i);
        break;
      }
    }
    read_result storage;
    auto got = l->find_by_timestamp(target, storage);
    ASSERT_TRUE(got.ok()) << got.err().message;
    ASSERT_EQ(got->has_value(), want.has_value()) << "target " << target;
    if (want) {
      EXPECT_EQ((*got)->base_offset.value, *want) << "target " << target;
      EXPECT_GE((*got)->max_timestamp_ms, target);
      EXPECT_EQ(to_vector((*got)->payload), payload_for(*want, 50));
    }
  };
  for (int64_t t = 900; t < 2000; t += 7) expect_found(t);
  l.reset();
  l = open(cfg_);
  for (int64_t t = 900; t < 2000; t += 13) expect_found(t);
}

TEST_F(LogTest, RollsByAgeOnAppendAndOnRetentionCheck) {
  cfg_.segment_age_ms_max = 1000;
  cfg_.retention_ms = -1;
  auto l = open(cfg_);
  add(*l, 10, 1, 5000);
  add(*l, 10, 1, 6000);
  EXPECT_EQ(l->segment_count(), 1u) << "exactly the age is not older";
  add(*l, 10, 1, 6001);
  EXPECT_EQ(l->segment_count(), 2u);
  auto removed = l->enforce_retention(7000);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(l->segment_count(), 2u);
  removed = l->enforce_retention(7002);
  EXPECT_EQ(*removed, 0);
  EXPECT_EQ(l->segment_count(), 3u) << "the active segment rolled by age";
  removed = l->enforce_retention(9000);
  EXPECT_EQ(l->segment_count(), 3u) << "an empty active segment does not roll";
}

TEST_F(LogTest, RetentionByTimeKeepsTheActiveSegment) {
  cfg_.segment_bytes_max = 500;
  cfg_.retention_ms = 1000;
  auto l = open(cfg_);
  for (int i = 0; i < 30; ++i) add(*l, 100, 1, 10'000 + i * 100);
  size_t segments = l->segment_count();
  ASSERT_GT(segments, 4u);
  auto removed = l->enforce_retention(10'000 + 1000);  // nothing is older than 1 s yet
  EXPECT_EQ(*removed, 0);
  removed = l->enforce_retention(10'000 + 1000 + 1050);  // entries up to ts 10'000+1000 expire
  EXPECT_GT(*removed, 0);
  EXPECT_GT(l->start_offset(), log_offset(0));
  EXPECT_EQ(l->read(log_offset(0), 100, l->end_offset(), true).code(), errc::not_found);
  EXPECT_FALSE(has_file("00000000000000000000.log"));
  EXPECT_FALSE(has_file("00000000000000000000.index"));
  read_all_checked(*l);

  removed = l->enforce_retention(1'000'000);
  EXPECT_EQ(l->segment_count(), 1u) << "never the active segment";
  log_offset end = l->end_offset();
  EXPECT_EQ(l->start_offset(), log_offset(end.value - static_cast<int64_t>(read_all_checked(*l).size())));
}

TEST_F(LogTest, RetentionByBytes) {
  cfg_.segment_bytes_max = 1000;
  cfg_.retention_ms = -1;
  cfg_.retention_bytes = 2500;
  auto l = open(cfg_);
  for (int i = 0; i < 60; ++i) add(*l, 100);
  ASSERT_GT(l->size_bytes(), 5000u);
  auto removed = l->enforce_retention(0);
  EXPECT_GT(*removed, 0);
  EXPECT_GE(l->size_bytes(), 2500u) << "keeps at least retention_bytes";
  EXPECT_LT(l->size_bytes(), 2500u + 1000u) << "drops what is beyond it, in whole segments";
  read_all_checked(*l);
}

TEST_F(LogTest, OffsetsContinueAfterRetentionEmptiedTheLog) {
  cfg_.segment_age_ms_max = 10;
  cfg_.retention_ms = 10;
  auto l = open(cfg_);
  for (int i = 0; i < 5; ++i) add(*l, 20, 2, 100);
  ASSERT_TRUE(l->enforce_retention(1000).ok());
  EXPECT_EQ(l->start_offset(), log_offset(10));
  EXPECT_EQ(l->end_offset(), log_offset(10));
  ASSERT_TRUE(l->flush().ok());
  l.reset();
  l = open(cfg_);
  EXPECT_EQ(l->start_offset(), log_offset(10));
  EXPECT_EQ(l->end_offset(), log_offset(10));
  EXPECT_EQ(add(*l, 5).base_offset, log_offset(10));
}

TEST_F(LogTest, ReopenContinuesWhereItEnded) {
  cfg_.segment_bytes_max = 700;
  auto l = open(cfg_);
  for (int i = 0; i < 25; ++i) add(*l, 60 + static_cast<size_t>(i), 2);
  auto before = read_all_checked(*l);
  size_t segments = l->segment_count();
  ASSERT_TRUE(l->flush().ok());
  l.reset();
  l = open(cfg_);
  EXPECT_EQ(l->end_offset(), log_offset(50));
  EXPECT_EQ(l->flushed_offset(), log_offset(50));
  EXPECT_EQ(l->segment_count(), segments);
  EXPECT_EQ(read_all_checked(*l), before);
  EXPECT_EQ(add(*l, 1).base_offset, log_offset(50));
}

TEST_F(LogTest, FlushRunsConcurrentlyWithAppends) {
  cfg_.segment_bytes_max = 4096;
  auto l = open(cfg_);
  std::atomic<bool> done{false};
  std::atomic<int> flushes{0};
  std::thread flusher([&] {
    while (!done.load()) {
      auto f = l->flush();
      ASSERT_TRUE(f.ok()) << f.err().message;
      ASSERT_LE(*f, l->end_offset());
      ++flushes;
    }
  });
  for (int i = 0; i < 2000; ++i) add(*l, static_cast<size_t>(i % 300));
  done = true;
  flusher.join();
  auto f = l->flush();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, l->end_offset());
  EXPECT_GT(flushes.load(), 0);
  fs_.crash();
  l.reset();
  l = open(cfg_);
  EXPECT_EQ(l->end_offset(), log_offset(2000));
  read_all_checked(*l);
}

TEST_F(LogTest, DestroyRemovesEverything) {
  auto l = open(cfg_);
  add(*l, 10);
  ASSERT_TRUE(l->destroy().ok());
  EXPECT_FALSE(*fs_.exists(dir));
  EXPECT_EQ(l->append(payload_for(0, 1), 1, 0).code(), errc::unavailable);
  EXPECT_EQ(l->flush().code(), errc::unavailable);
}

TEST_F(LogTest, IgnoresForeignFilesAndCleansLeftovers) {
  auto l = open(cfg_);
  add(*l, 10);
  l.reset();
  ASSERT_TRUE(fs_.open(std::string(dir) + "/README", io::open_mode::create).ok());
  ASSERT_TRUE(fs_.open(std::string(dir) + "/00000000000000000000.index.tmp", io::open_mode::create).ok());
  ASSERT_TRUE(fs_.open(std::string(dir) + "/00000000000000000099.timeindex", io::open_mode::create).ok());
  l = open(cfg_);
  EXPECT_EQ(*fs_.list(dir), (std::vector<std::string>{"00000000000000000000.log", "README"}));
  EXPECT_EQ(l->end_offset(), log_offset(1));
}

TEST(SegmentNames, TwentyDigits) {
  EXPECT_EQ(segment_file_name(log_offset(42), ".log"), "00000000000000000042.log");
  EXPECT_EQ(segment_file_name(log_offset(INT64_MAX), ".index"), "09223372036854775807.index");
}

TEST(PosixLog, AppendFlushReopen) {
  std::string tmpl = std::string(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") + "/strata-log-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  auto fs = io::make_posix_fs();
  log_config cfg;
  cfg.segment_bytes_max = 64 * KiB;
  {
    auto l = log::open(*fs, tmpl + "/p0", cfg);
    ASSERT_TRUE(l.ok()) << l.err().message;
    for (int i = 0; i < 300; ++i) ASSERT_TRUE((*l)->append(payload_for(i, 1000), 1, i).ok());
    ASSERT_EQ(*(*l)->flush(), log_offset(300));
  }
  {
    auto l = log::open(*fs, tmpl + "/p0", cfg);
    ASSERT_TRUE(l.ok()) << l.err().message;
    EXPECT_EQ((*l)->end_offset(), log_offset(300));
    EXPECT_GT((*l)->segment_count(), 3u);
    EXPECT_EQ(read_all_checked(**l).size(), 300u);
  }
  ASSERT_TRUE(fs->remove_all(tmpl).ok());
}

}  // namespace
}  // namespace strata::storage
