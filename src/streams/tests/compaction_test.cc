// Log compaction: batch rewriting, the cleanable-range rules, a whole
// compaction of a log (newest per key, offset gaps, tombstones kept then
// removed, passes bounded by the key map), and the service's side (null keys
// refused, the background compaction swapped in).
#include "streams/compaction.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "base/crc32c.h"
#include "io/fault_fs.h"
#include "kafka/protocol/wire.h"
#include "meta/kv.h"
#include "storage/log.h"
#include "streams/service.h"
#include "streams/compression.h"
#include "streams/tests/service_fixture.h"

namespace strata::streams {
namespace {

constexpr int64_t base_ts = 1'700'000'000'000;

struct rec {
  std::optional<std::string> key;
  std::optional<std::string> value;
};

void put_bytes(kafka::writer& w, const std::optional<std::string>& s) {
  if (!s) {
    w.varint(-1);
    return;
  }
  w.varint(static_cast<int32_t>(s->size()));
  w.raw({reinterpret_cast<const uint8_t*>(s->data()), s->size()});
}

std::vector<uint8_t> batch_of(const std::vector<rec>& records, int64_t ts = base_ts, codec c = codec::none,
                              int64_t producer_id = -1, int32_t base_sequence = -1) {
  std::vector<uint8_t> body;
  kafka::writer rw(body);
  for (size_t i = 0; i < records.size(); ++i) {
    std::vector<uint8_t> r;
    kafka::writer w(r);
    w.i8(0);
    w.varlong(0);
    w.varint(static_cast<int32_t>(i));
    put_bytes(w, records[i].key);
    put_bytes(w, records[i].value);
    w.varint(0);
    rw.varint(static_cast<int32_t>(r.size()));
    rw.raw(r);
  }
  std::vector<uint8_t> out;
  kafka::writer w(out);
  w.i64(0);
  size_t length_at = w.reserve_i32();
  w.i32(0);
  w.i8(2);
  size_t crc_at = w.reserve_i32();
  w.i16(static_cast<int16_t>(c));
  w.i32(static_cast<int32_t>(records.size()) - 1);
  w.i64(ts);
  w.i64(ts);
  w.i64(producer_id);
  w.i16(producer_id >= 0 ? 0 : -1);
  w.i32(base_sequence);
  w.i32(static_cast<int32_t>(records.size()));
  auto packed = compress(c, body);
  EXPECT_TRUE(packed.ok());
  w.raw(*packed);
  w.patch_i32(length_at, static_cast<int32_t>(out.size() - 12));
  w.patch_i32(crc_at, static_cast<int32_t>(crc32c(out.data() + 21, out.size() - 21)));
  return out;
}

struct seen {
  int64_t offset;
  std::string key;
  std::optional<std::string> value;
  bool operator==(const seen&) const = default;
};

std::optional<std::string> value_of(const record_ref& r) {
  kafka::reader rd(r.bytes);
  (void)rd.varint();
  (void)rd.i8();
  (void)rd.varlong();
  (void)rd.varint();
  int32_t k = rd.varint();
  if (k > 0) (void)rd.raw(static_cast<size_t>(k));
  int32_t v = rd.varint();
  if (v < 0) return std::nullopt;
  auto raw = rd.raw(static_cast<size_t>(v));
  return std::string(reinterpret_cast<const char*>(raw.data()), raw.size());
}

std::vector<seen> records_in(std::span<const uint8_t> batch) {
  auto h = read_batch_header(batch);
  EXPECT_TRUE(h.has_value());
  std::vector<uint8_t> inflated;
  std::vector<record_ref> refs;
  auto s = parse_records(batch, *h, inflated, refs);
  EXPECT_TRUE(s.ok()) << s.err().message;
  std::vector<seen> out;
  for (auto& r : refs) out.push_back({r.offset, std::string(r.key), value_of(r)});
  return out;
}

TEST(CompactionBatch, RebuildKeepsOffsetsAndProducerFieldsInEveryCodec) {
  for (codec c : {codec::none, codec::gzip, codec::snappy, codec::lz4, codec::zstd}) {
    auto batch = batch_of({{"a", "1"}, {"b", "2"}, {"a", "3"}, {"c", std::nullopt}}, base_ts, c, 7, 40);
    assign_batch_offset(batch, 100, 0);
    auto h = read_batch_header(batch);
    std::vector<uint8_t> inflated;
    std::vector<record_ref> refs;
    ASSERT_TRUE(parse_records(batch, *h, inflated, refs).ok());
    ASSERT_EQ(refs.size(), 4u);
    EXPECT_TRUE(refs[3].null_value);
    auto rebuilt = rebuild_batch(batch, *h, {refs[1], refs[3]});
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.err().message;
    auto nh = read_batch_header(*rebuilt);
    EXPECT_EQ(nh->base_offset, 100);
    EXPECT_EQ(nh->last_offset_delta, 3) << "consumers see the gap";
    EXPECT_EQ(nh->record_count, 2);
    EXPECT_EQ(nh->compression(), static_cast<int>(c));
    EXPECT_EQ(nh->producer_id, 7);
    EXPECT_EQ(nh->base_sequence, 40);
    EXPECT_EQ(nh->total_bytes(), rebuilt->size());
    EXPECT_EQ(nh->crc, crc32c(rebuilt->data() + 21, rebuilt->size() - 21));
    EXPECT_EQ(records_in(*rebuilt), (std::vector<seen>{{101, "b", "2"}, {103, "c", std::nullopt}}));
    auto empty = rebuild_batch(batch, *h, {});
    ASSERT_TRUE(empty.ok());
    EXPECT_EQ(read_batch_header(*empty)->record_count, 0);
    EXPECT_EQ(read_batch_header(*empty)->compression(), 0);
  }
}

TEST(CompactionBatch, FindsNullKeys) {
  auto ok = batch_of({{"a", "1"}, {"b", std::nullopt}});
  auto h = read_batch_header(ok);
  EXPECT_EQ(*first_null_key(ok, *h), std::nullopt);
  auto bad = batch_of({{"a", "1"}, {std::nullopt, "x"}, {std::nullopt, "y"}}, base_ts, codec::zstd);
  auto bh = read_batch_header(bad);
  EXPECT_EQ(*first_null_key(bad, *bh), std::optional<int32_t>(1));
}

storage::closed_segment seg(int64_t base, int64_t next, uint64_t bytes, int64_t max_ts) {
  return {log_offset(base), log_offset(next), bytes, max_ts, max_ts};
}

TEST(CompactionPlan, RatioAndLagRules) {
  compaction_policy p;
  const int64_t now = 1'000'000;
  std::vector<storage::closed_segment> closed{seg(0, 10, 100, 1000), seg(10, 20, 100, 2000), seg(20, 30, 100, 3000)};
  auto all_dirty = plan_cleaning(closed, log_offset(0), p, now);
  EXPECT_TRUE(all_dirty.due);
  EXPECT_EQ(all_dirty.segments, 3u);
  EXPECT_DOUBLE_EQ(all_dirty.dirty_ratio, 1.0);
  auto third = plan_cleaning(closed, log_offset(20), p, now);
  EXPECT_NEAR(third.dirty_ratio, 1.0 / 3, 1e-9);
  EXPECT_FALSE(third.due) << "below min.cleanable.dirty.ratio";
  p.max_compaction_lag_ms = now - 3000 - 1;
  EXPECT_TRUE(plan_cleaning(closed, log_offset(20), p, now).due) << "past max.compaction.lag.ms";
  p = {};
  p.min_compaction_lag_ms = now - 1500;  // segments newer than 1500 are too young
  auto lagged = plan_cleaning(closed, log_offset(0), p, now);
  EXPECT_EQ(lagged.segments, 1u);
  EXPECT_EQ(plan_cleaning(closed, log_offset(10), p, now).due, false) << "nothing dirty old enough";
  EXPECT_FALSE(plan_cleaning({}, log_offset(0), {}, now).due);
}

class CompactLogTest : public ::testing::Test {
 protected:
  CompactLogTest() {
    cfg_.segment_bytes_max = 400;
    auto l = storage::log::open(fs_, dir_, cfg_);
    EXPECT_TRUE(l.ok());
    log_ = std::move(l).value();
  }
  void produce(const std::vector<rec>& records, int64_t ts = base_ts, int64_t pid = -1, int32_t seq = -1) {
    auto b = batch_of(records, ts, codec::none, pid, seq);
    assign_batch_offset(b, log_->end_offset().value, 0);
    ASSERT_TRUE(log_->append(b, static_cast<uint32_t>(records.size()), ts).ok());
  }
  // Runs one job over every cleanable segment and swaps it in; returns the new cleaned offset.
  log_offset run(log_offset cleaned, int64_t now_ms, uint64_t map_bytes = 1 << 20, std::set<int64_t> retained = {}) {
    compaction_job job;
    job.dir = dir_;
    job.segments = log_->closed_segments();
    job.cleaned_offset = cleaned;
    job.now_ms = now_ms;
    job.retained_batches = std::move(retained);
    job.map_bytes_max = map_bytes;
    job.segment_bytes_max = cfg_.segment_bytes_max;
    job.index_interval_bytes = cfg_.index_interval_bytes;
    std::atomic<bool> cancel{false};
    auto out = compact(fs_, job, cancel);
    EXPECT_TRUE(out.ok()) << out.err().message;
    if (!out.ok()) return cleaned;
    auto s = log_->replace_segments(out->staged);
    EXPECT_TRUE(s.ok()) << s.err().message;
    return out->cleaned_offset;
  }
  // Every record in the log, and the batches' offset ranges.
  std::vector<seen> all_records(std::vector<std::pair<int64_t, int64_t>>* batches = nullptr) {
    std::vector<seen> out;
    auto r = log_->read(log_->start_offset(), 1 << 24, log_->end_offset(), true);
    EXPECT_TRUE(r.ok());
    for (auto& e : r->entries) {
      auto h = read_batch_header(e.payload);
      if (batches) batches->emplace_back(h->base_offset, h->base_offset + h->last_offset_delta);
      for (auto& s : records_in(e.payload)) out.push_back(s);
    }
    return out;
  }
  std::map<std::string, std::optional<std::string>> newest(const std::vector<seen>& records) {
    std::map<std::string, std::optional<std::string>> out;
    for (auto& r : records) out[r.key] = r.value;
    return out;
  }

  io::fault_fs fs_;
  std::string dir_ = "/data/p";
  storage::log_config cfg_;
  std::unique_ptr<storage::log> log_;
};

TEST_F(CompactLogTest, KeepsTheNewestValuePerKeyAtItsOriginalOffset) {
  for (int v = 0; v < 30; ++v) produce({{"k" + std::to_string(v % 3), "v" + std::to_string(v)}});
  auto before = all_records();
  const size_t closed_before = log_->closed_segments().size();
  ASSERT_GE(closed_before, 3u);
  const log_offset clean_end = log_->closed_segments().back().next;
  run(log_offset(0), base_ts);
  std::vector<std::pair<int64_t, int64_t>> batches;
  auto after = all_records(&batches);
  EXPECT_EQ(newest(after), newest(before)) << "nothing newer was lost";
  // In the compacted range only the newest value of each key is left.
  std::map<std::string, int> in_clean;
  for (auto& r : after) {
    if (r.offset < clean_end.value - 1) ++in_clean[r.key];
  }
  for (auto& [k, n] : in_clean) EXPECT_LE(n, 1) << k;
  // Offsets did not move: each survivor has the offset it was produced at.
  for (auto& r : after) EXPECT_EQ(r.value, before[static_cast<size_t>(r.offset)].value) << r.offset;
  EXPECT_LT(after.size(), before.size());
  EXPECT_EQ(log_->start_offset().value, 0);
  EXPECT_EQ(log_->end_offset().value, 30);
  // A read from an offset in a gap starts at the next batch left.
  auto gap = log_->read(log_offset(1), 1 << 20, log_->end_offset(), true);
  ASSERT_TRUE(gap.ok());
  EXPECT_GT(read_batch_header(gap->entries.front().payload)->base_offset, 1);
}

TEST_F(CompactLogTest, TombstonesStayUntilDeleteRetentionPassedAfterACompaction) {
  for (int v = 0; v < 12; ++v) produce({{"k" + std::to_string(v % 2), "v"}});
  produce({{"k0", std::nullopt}});  // delete k0
  for (int v = 0; v < 12; ++v) produce({{"x" + std::to_string(v), "v"}});
  auto has_k0 = [&] {
    for (auto& r : all_records()) {
      if (r.key == "k0") return true;
    }
    return false;
  };
  log_offset cleaned = run(log_offset(0), base_ts + 1000);
  EXPECT_TRUE(has_k0()) << "a tombstone stays through its first compaction";
  cleaned = run(cleaned, base_ts + 1000);
  EXPECT_TRUE(has_k0()) << "delete.retention.ms has not passed";
  run(cleaned, base_ts + compaction_policy{}.delete_retention_ms + 1);
  EXPECT_FALSE(has_k0()) << "the tombstone goes after delete.retention.ms";
  EXPECT_EQ(log_->end_offset().value, 25);
}

TEST_F(CompactLogTest, ASmallKeyMapCompactsInSeveralPasses) {
  for (int v = 0; v < 40; ++v) produce({{"key-" + std::to_string(v % 8), "v" + std::to_string(v)}});
  auto before = all_records();
  const log_offset end = log_->closed_segments().back().next;
  log_offset cleaned(0);
  int passes = 0;
  while (cleaned < end && passes < 50) {
    cleaned = run(cleaned, base_ts, /*map_bytes=*/3 * key_map::entry_overhead_bytes);
    ++passes;
  }
  EXPECT_GT(passes, 2);
  EXPECT_EQ(cleaned, end);
  auto after = all_records();
  EXPECT_EQ(newest(after), newest(before));
  // One more full pass leaves one record per key in the closed range.
  run(log_offset(0), base_ts);
  std::map<std::string, int> count;
  for (auto& r : all_records()) {
    if (r.offset < end.value - 1) ++count[r.key];
  }
  for (auto& [k, n] : count) EXPECT_LE(n, 1) << k;
}

TEST_F(CompactLogTest, AProducersLastBatchIsKeptEvenWhenEmptied) {
  produce({{"a", "1"}}, base_ts, 5, 0);
  produce({{"a", "2"}}, base_ts, 5, 1);  // the producer's last batch
  for (int v = 0; v < 15; ++v) produce({{"a", "later" + std::to_string(v)}});
  std::vector<std::pair<int64_t, int64_t>> batches;
  run(log_offset(0), base_ts, 1 << 20, {1});
  all_records(&batches);
  EXPECT_EQ(batches.front().first, 1) << "batch 0 went, batch 1 stays (empty) for the producer's state";
  auto r = log_->read(log_offset(0), 1 << 20, log_->end_offset(), true);
  auto h = read_batch_header(r->entries.front().payload);
  EXPECT_EQ(h->record_count, 0);
  EXPECT_EQ(h->producer_id, 5);
  EXPECT_EQ(h->base_sequence, 1);
}

TEST_F(CompactLogTest, CancelledJobLeavesNoStagedFiles) {
  for (int v = 0; v < 20; ++v) produce({{"k", "v"}});
  compaction_job job;
  job.dir = dir_;
  job.segments = log_->closed_segments();
  job.map_bytes_max = 1 << 20;
  job.segment_bytes_max = 400;
  job.index_interval_bytes = 4096;
  std::atomic<bool> cancel{true};
  EXPECT_EQ(compact(fs_, job, cancel).code(), errc::unavailable);
  auto names = fs_.list(dir_);
  ASSERT_TRUE(names.ok());
  for (auto& n : *names) EXPECT_FALSE(n.ends_with(".cleaned")) << n;
}

// The service: configs, null keys refused, and the compactor at work.
class CompactServiceTest : public testing::service_fixture {
 protected:
  void configure(service_config& c) override { c.compaction_check_interval_ms = 100; }
  produce_result produce(const std::string& topic, const std::vector<uint8_t>& batch) { return produce_batch(topic, 0, batch); }
};

TEST_F(CompactServiceTest, ConfigsAreCheckedAndDescribed) {
  topic_config cfg;
  EXPECT_TRUE(apply_topic_config(cfg, "cleanup.policy", "delete, compact").ok());
  EXPECT_TRUE(cfg.cleanup_compact && cfg.cleanup_delete);
  EXPECT_FALSE(apply_topic_config(cfg, "cleanup.policy", "shred").ok());
  EXPECT_FALSE(apply_topic_config(cfg, "min.cleanable.dirty.ratio", "1.5").ok());
  EXPECT_TRUE(apply_topic_config(cfg, "min.cleanable.dirty.ratio", "0.25").ok());
  EXPECT_FALSE(apply_topic_config(cfg, "delete.retention.ms", "-1").ok());
  EXPECT_FALSE(apply_topic_config(cfg, "max.compaction.lag.ms", "0").ok());
  auto described = describe_topic_config(cfg);
  std::map<std::string, std::string> m(described.begin(), described.end());
  EXPECT_EQ(m["cleanup.policy"], "compact,delete");
  EXPECT_EQ(m["min.cleanable.dirty.ratio"], "0.25");
  EXPECT_EQ(m["delete.retention.ms"], "86400000");
}

TEST_F(CompactServiceTest, NullKeysAreRefusedWithARecordError) {
  ASSERT_TRUE(svc_->create_topic("c", 1, {{"cleanup.policy", "compact"}}).ok());
  auto r = produce("c", batch_of({{"a", "1"}, {std::nullopt, "2"}}));
  EXPECT_EQ(r.error, stream_error::invalid_record);
  ASSERT_EQ(r.record_errors.size(), 1u);
  EXPECT_EQ(r.record_errors[0].batch_index, 1);
  EXPECT_NE(r.message.find("key"), std::string::npos);
  EXPECT_EQ(svc_->describe_topic("c")->partitions[0].log_end_offset, 0) << "nothing was appended";
  EXPECT_EQ(produce("c", batch_of({{"a", "1"}})).error, stream_error::none);
  ASSERT_TRUE(svc_->create_topic("d", 1, {}).ok());
  EXPECT_EQ(produce("d", batch_of({{std::nullopt, "1"}})).error, stream_error::none) << "delete topics take null keys";
}

TEST_F(CompactServiceTest, TheCompactorRewritesClosedSegmentsInTheBackground) {
  ASSERT_TRUE(svc_->create_topic("c", 1, {{"cleanup.policy", "compact"}, {"segment.bytes", "400"}}).ok());
  for (int v = 0; v < 40; ++v) {
    ASSERT_EQ(produce("c", batch_of({{"k" + std::to_string(v % 4), std::to_string(v)}})).error, stream_error::none);
  }
  const uint64_t before = svc_->describe_topic("c")->partitions[0].size_bytes;
  for (int i = 0; i < 200 && svc_->describe_topic("c")->partitions[0].size_bytes >= before; ++i) {
    sched_.advance(100);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    sched_.run_pending();
  }
  auto info = svc_->describe_topic("c")->partitions[0];
  EXPECT_LT(info.size_bytes, before);
  EXPECT_EQ(info.log_end_offset, 40);
  auto f = svc_->fetch("c", 0, 0, 1 << 20, true);
  ASSERT_EQ(f.error, stream_error::none);
  std::map<std::string, std::string> last;
  size_t at = 0;
  size_t count = 0;
  while (at < f.records.size()) {
    auto h = read_batch_header(std::span<const uint8_t>(f.records).subspan(at));
    for (auto& r : records_in(std::span<const uint8_t>(f.records).subspan(at, h->total_bytes()))) {
      last[r.key] = *r.value;
      ++count;
    }
    at += h->total_bytes();
  }
  EXPECT_LT(count, 40u);
  EXPECT_EQ(last, (std::map<std::string, std::string>{{"k0", "36"}, {"k1", "37"}, {"k2", "38"}, {"k3", "39"}}));
}

TEST_F(CompactServiceTest, TheCleanedOffsetSurvivesARestartAndGoesWithItsTopic) {
  ASSERT_TRUE(svc_->create_topic("c", 1, {{"cleanup.policy", "compact"}, {"segment.bytes", "400"}}).ok());
  for (int v = 0; v < 40; ++v) {
    ASSERT_EQ(produce("c", batch_of({{"k" + std::to_string(v % 4), std::to_string(v)}})).error, stream_error::none);
  }
  auto stored = [&]() -> std::optional<log_offset> {
    std::optional<log_offset> out;
    auto s = kv_->scan_prefix("streams/cleaned/", [&](std::string_view, std::string_view v) { out = decode_cleaned_offset(v); });
    EXPECT_TRUE(s.ok());
    return out;
  };
  for (int i = 0; i < 200 && !stored(); ++i) {
    sched_.advance(100);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    sched_.run_pending();
  }
  auto cleaned = stored();
  ASSERT_TRUE(cleaned.has_value()) << "no cleaned offset was stored";
  EXPECT_GT(cleaned->value, 0);
  EXPECT_LE(cleaned->value, 40);

  restart_after_crash();
  EXPECT_EQ(stored(), cleaned) << "the kv keeps it across a crash";
  ASSERT_TRUE(svc_->delete_topic("c").ok());
  EXPECT_FALSE(stored().has_value()) << "deleting the topic deletes it";
}

TEST(CleanedOffset, EncodingRoundTripsAndRefusesGarbage) {
  EXPECT_EQ(decode_cleaned_offset(encode_cleaned_offset(log_offset(12345))), log_offset(12345));
  EXPECT_FALSE(decode_cleaned_offset("").has_value());
  EXPECT_FALSE(decode_cleaned_offset(std::string("\x02") + std::string(8, '\0')).has_value()) << "another version";
  EXPECT_FALSE(decode_cleaned_offset(encode_cleaned_offset(log_offset(1)) + "x").has_value()) << "trailing bytes";
  EXPECT_EQ(cleaned_offset_kv_key("ab", 3), "streams/cleaned/ab/00000003");
}

}  // namespace
}  // namespace strata::streams
