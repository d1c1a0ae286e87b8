// Randomized: appends of random sizes, flushes, reads, retention, injected
// write failures and disk-full, and crashes that keep random parts of the
// unsynced writes, checked against a model of what was acknowledged.
#include <gtest/gtest.h>

#include <random>

#include "io/fault_fs.h"
#include "storage/log.h"
#include "storage/tests/test_util.h"

namespace strata::storage {
namespace {

using testing::payload_for;
using testing::to_vector;

constexpr const char* dir = "/data/model";

struct model_entry {
  log_offset base;
  uint32_t records;
  size_t size;
  int64_t ts;
};

class model_run {
 public:
  explicit model_run(uint32_t seed) : rng_(seed) {
    cfg_.segment_bytes_max = 6000;
    cfg_.index_interval_bytes = 512;
    cfg_.retention_ms = -1;
    cfg_.retention_bytes = 40000;
    reopen();
  }

  void step() {
    int dice = pick(0, 99);
    if (dice < 55) {
      append();
    } else if (dice < 68) {
      flush();
    } else if (dice < 80) {
      check_random_read();
    } else if (dice < 85) {
      crash();
    } else if (dice < 90) {
      fs_.set_disk_bytes_max(dice % 2 ? UINT64_MAX : fs_.used_bytes() + static_cast<uint64_t>(pick(0, 4000)));
    } else if (dice < 94) {
      fs_.fail_write(static_cast<uint64_t>(pick(1, 3)), static_cast<uint64_t>(pick(0, 3000)));
    } else {
      retention();
    }
  }

  void check_all() {
    ASSERT_EQ(log_->start_offset(), start());
    ASSERT_EQ(log_->end_offset(), end());
    log_offset at = start();
    size_t i = 0;
    while (at < end()) {
      auto r = log_->read(at, static_cast<uint64_t>(pick(0, 20000)), end(), true);
      ASSERT_TRUE(r.ok()) << r.err().message;
      ASSERT_FALSE(r->entries.empty());
      for (const auto& e : r->entries) check_entry(e, i++);
      at = r->entries.back().base_offset + r->entries.back().record_count;
    }
    ASSERT_EQ(i, entries_.size());
  }

 private:
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  log_offset start() const { return entries_.empty() ? empty_at_ : entries_.front().base; }
  log_offset end() const { return entries_.empty() ? empty_at_ : entries_.back().base + entries_.back().records; }

  void check_entry(const entry_view& e, size_t i) {
    ASSERT_LT(i, entries_.size());
    const auto& m = entries_[i];
    ASSERT_EQ(e.base_offset, m.base);
    ASSERT_EQ(e.record_count, m.records);
    ASSERT_EQ(e.max_timestamp_ms, m.ts);
    ASSERT_EQ(e.payload.size(), m.size);
    ASSERT_EQ(to_vector(e.payload), payload_for(m.base.value, m.size));
  }

  void reopen() {
    log_.reset();
    auto l = log::open(fs_, dir, cfg_);
    ASSERT_TRUE(l.ok()) << l.err().message;
    log_ = std::move(l).value();
  }

  void append() {
    size_t size = pick(0, 9) == 0 ? static_cast<size_t>(pick(3000, 9000)) : static_cast<size_t>(pick(0, 700));
    uint32_t records = static_cast<uint32_t>(pick(1, 4));
    ts_ += pick(-50, 200);
    auto r = log_->append(payload_for(end().value, size), records, ts_);
    if (!r.ok()) {
      ASSERT_TRUE(r.code() == errc::no_space || r.code() == errc::io_error) << r.err().message;
      ASSERT_EQ(log_->end_offset(), end()) << "a failed append takes no offset";
      return;
    }
    ASSERT_EQ(r->base_offset, end());
    entries_.push_back({r->base_offset, records, size, ts_});
  }

  void flush() {
    auto f = log_->flush();
    ASSERT_TRUE(f.ok()) << f.err().message;
    ASSERT_EQ(*f, end());
    flushed_ = entries_.size();
  }

  void check_random_read() {
    if (entries_.empty()) return;
    size_t i = static_cast<size_t>(pick(0, static_cast<int>(entries_.size()) - 1));
    const auto& m = entries_[i];
    log_offset from = m.base + static_cast<uint32_t>(pick(0, static_cast<int>(m.records) - 1));
    auto r = log_->read(from, static_cast<uint64_t>(pick(0, 5000)), end(), pick(0, 1) == 1);
    ASSERT_TRUE(r.ok()) << r.err().message;
    for (const auto& e : r->entries) check_entry(e, i++);
  }

  void retention() {
    auto removed = log_->enforce_retention(0);
    ASSERT_TRUE(removed.ok()) << removed.err().message;
    size_t drop = 0;
    while (drop < entries_.size() && entries_[drop].base < log_->start_offset()) ++drop;
    if (drop == entries_.size() && drop > 0) empty_at_ = end();
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<long>(drop));
    flushed_ -= std::min(flushed_, drop);
    ASSERT_EQ(log_->start_offset(), start());
  }

  void crash() {
    log_.reset();
    fs_.set_disk_bytes_max(UINT64_MAX);
    fs_.fail_write(0);
    fs_.crash({.unsynced_ops_kept = static_cast<size_t>(pick(0, 4)), .torn_bytes = static_cast<uint64_t>(pick(0, 800))});
    reopen();
    // What survived must be a prefix of the acknowledged entries, ending on an
    // entry boundary, and hold at least everything flushed.
    log_offset got = log_->end_offset();
    size_t kept = 0;
    while (kept < entries_.size() && entries_[kept].base < got) ++kept;
    ASSERT_GE(kept, flushed_) << "a flushed entry was lost";
    if (kept > 0) {
      ASSERT_EQ(entries_[kept - 1].base + entries_[kept - 1].records, got) << "recovery ended mid-entry";
    }
    if (kept == 0 && !entries_.empty()) empty_at_ = entries_.front().base;
    entries_.resize(kept);
    flushed_ = kept;
    check_all();
  }

  std::mt19937 rng_;
  io::fault_fs fs_;
  log_config cfg_;
  std::unique_ptr<log> log_;
  std::vector<model_entry> entries_;  // what the log must hold, start to end
  size_t flushed_ = 0;                // entries_[0, flushed_) are durable
  log_offset empty_at_{0};            // start == end when entries_ is empty
  int64_t ts_ = 1'000'000;
};

TEST(LogModel, RandomOperationsAndCrashes) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    model_run run(seed);
    for (int i = 0; i < 400; ++i) {
      run.step();
      if (::testing::Test::HasFatalFailure()) return;
    }
    run.check_all();
    if (::testing::Test::HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace strata::storage
