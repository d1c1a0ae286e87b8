#include "streams/compaction.h"

#include <fmt/format.h>

#include "base/crc32c.h"
#include "kafka/protocol/wire.h"
#include "streams/compression.h"

namespace strata::streams {
namespace {

constexpr size_t attributes_at = 21;
constexpr size_t crc_at = 17;
constexpr size_t record_count_at = 57;

void put_be32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * (3 - i)));
}

error unreadable(int64_t base_offset, const std::string& why) {
  return make_error(errc::corrupt, fmt::format("records of the batch at offset {} do not parse: {}", base_offset, why));
}

// A marker error that stops a segment walk early (not a failure).
constexpr std::string_view stop_walk = "map full";

}  // namespace

status parse_records(std::span<const uint8_t> batch, const batch_header& h, std::vector<uint8_t>& inflated,
                     std::vector<record_ref>& out) {
  out.clear();
  if (h.total_bytes() > batch.size() || h.total_bytes() < batch_header_bytes) return unreadable(h.base_offset, "bad length");
  std::span<const uint8_t> data = batch.subspan(batch_header_bytes, h.total_bytes() - batch_header_bytes);
  if (h.compression() != 0 && h.record_count > 0) {
    auto raw = decompress(static_cast<codec>(h.compression()), data, decompressed_records_bytes_max);
    STRATA_TRY(raw);
    inflated = std::move(raw).value();
    data = inflated;
  }
  kafka::reader r(data);
  for (int32_t i = 0; i < h.record_count; ++i) {
    const size_t from = r.position();
    const int32_t length = r.varint();
    if (!r.ok() || length < 0 || static_cast<size_t>(length) > r.remaining()) return unreadable(h.base_offset, "bad record length");
    const size_t body = r.position();
    kafka::reader rr(data.subspan(body, static_cast<size_t>(length)));
    (void)rr.i8();       // attributes
    (void)rr.varlong();  // timestamp delta
    const int32_t offset_delta = rr.varint();
    const int32_t key_length = rr.varint();
    record_ref rec;
    rec.offset = h.base_offset + offset_delta;
    rec.null_key = key_length < 0;
    if (key_length >= 0) {
      auto key = rr.raw(static_cast<size_t>(key_length));
      rec.key = std::string_view(reinterpret_cast<const char*>(key.data()), key.size());
    }
    rec.null_value = rr.varint() < 0;
    if (!rr.ok()) return unreadable(h.base_offset, "record fields cut short");
    (void)r.raw(static_cast<size_t>(length));
    rec.bytes = data.subspan(from, r.position() - from);
    out.push_back(rec);
  }
  return {};
}

result<std::optional<int32_t>> first_null_key(std::span<const uint8_t> batch, const batch_header& h) {
  std::vector<uint8_t> inflated;
  std::vector<record_ref> records;
  STRATA_TRY(parse_records(batch, h, inflated, records));
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].null_key) return std::optional<int32_t>(static_cast<int32_t>(i));
  }
  return std::optional<int32_t>();
}

result<std::vector<uint8_t>> rebuild_batch(std::span<const uint8_t> batch, const batch_header& h,
                                           const std::vector<record_ref>& kept) {
  std::vector<uint8_t> records;
  for (const auto& r : kept) records.insert(records.end(), r.bytes.begin(), r.bytes.end());
  auto attributes = static_cast<uint16_t>(h.attributes);
  if (kept.empty()) {
    attributes &= ~uint16_t{0x7};
  } else if (h.compression() != 0) {
    auto packed = compress(static_cast<codec>(h.compression()), records);
    STRATA_TRY(packed);
    records = std::move(packed).value();
  }
  std::vector<uint8_t> out(batch.begin(), batch.begin() + batch_header_bytes);
  out.insert(out.end(), records.begin(), records.end());
  put_be32(out.data() + batch_length_field_offset, static_cast<uint32_t>(out.size() - batch_length_field_offset - 4));
  out[attributes_at] = static_cast<uint8_t>(attributes >> 8);
  out[attributes_at + 1] = static_cast<uint8_t>(attributes);
  put_be32(out.data() + record_count_at, static_cast<uint32_t>(kept.size()));
  put_be32(out.data() + crc_at, crc32c(out.data() + batch_crc_covered_from, out.size() - batch_crc_covered_from));
  return out;
}

void key_map::put(std::string_view key, int64_t offset) {
  auto it = map_.find(key);
  if (it != map_.end()) {
    it->second = std::max(it->second, offset);
    return;
  }
  map_.emplace(std::string(key), offset);
  bytes_ += key.size() + entry_overhead_bytes;
}

std::optional<int64_t> key_map::latest(std::string_view key) const {
  auto it = map_.find(key);
  if (it == map_.end()) return std::nullopt;
  return it->second;
}

cleaning_plan plan_cleaning(const std::vector<storage::closed_segment>& closed, log_offset cleaned_offset,
                            const compaction_policy& policy, int64_t now_ms) {
  cleaning_plan plan;
  std::optional<int64_t> oldest_dirty_ms;
  for (const auto& seg : closed) {
    if (policy.min_compaction_lag_ms > 0 && seg.max_timestamp_ms > now_ms - policy.min_compaction_lag_ms) break;
    ++plan.segments;
    plan.total_bytes += seg.size_bytes;
    if (seg.next > cleaned_offset) {
      plan.dirty_bytes += seg.size_bytes;
      if (!oldest_dirty_ms) oldest_dirty_ms = seg.first_timestamp_ms;
    }
  }
  if (plan.total_bytes == 0 || plan.dirty_bytes == 0) return plan;
  plan.dirty_ratio = static_cast<double>(plan.dirty_bytes) / static_cast<double>(plan.total_bytes);
  const bool overdue = policy.max_compaction_lag_ms != std::numeric_limits<int64_t>::max() &&
                       *oldest_dirty_ms < now_ms - policy.max_compaction_lag_ms;
  plan.due = plan.dirty_ratio >= policy.min_cleanable_dirty_ratio || overdue;
  return plan;
}

std::string cleaned_offset_kv_key(std::string_view topic_id_hex, int32_t partition) {
  return fmt::format("streams/cleaned/{}/{:08x}", topic_id_hex, static_cast<uint32_t>(partition));
}

namespace {
constexpr int8_t cleaned_offset_version = 1;
}  // namespace

std::string encode_cleaned_offset(log_offset cleaned) {
  std::vector<uint8_t> out;
  kafka::writer w(out);
  w.i8(cleaned_offset_version);
  w.i64(cleaned.value);
  return std::string(out.begin(), out.end());
}

std::optional<log_offset> decode_cleaned_offset(std::string_view value) {
  kafka::reader r({reinterpret_cast<const uint8_t*>(value.data()), value.size()});
  if (r.i8() != cleaned_offset_version) return std::nullopt;
  const int64_t offset = r.i64();
  if (!r.ok() || r.remaining() != 0 || offset < 0) return std::nullopt;
  return log_offset(offset);
}

result<compaction_outcome> compact(io::fs& fs, const compaction_job& job, const std::atomic<bool>& cancel) {
  STRATA_ASSERT(!job.segments.empty(), "a compaction job needs segments");
  auto cancelled = [&] { return make_error(errc::unavailable, "compaction of " + job.dir + " was cancelled"); };
  std::vector<uint8_t> inflated;
  std::vector<record_ref> records;
  txn_index aborted;
  for (const auto& r : job.aborted) aborted.add_aborted(r);

  // Pass 1: the newest offset of each key in the dirty records, until the map fills.
  key_map map(job.map_bytes_max);
  log_offset pass_end = job.segments.back().next;
  bool map_full = false;
  for (const auto& seg : job.segments) {
    if (seg.next <= job.cleaned_offset) continue;
    auto walked = storage::read_closed_segment(fs, job.dir, seg, [&](const storage::entry_view& e) -> status {
      if (cancel.load(std::memory_order_relaxed)) return cancelled();
      const log_offset next = e.base_offset + e.record_count;
      if (next <= job.cleaned_offset) return {};
      auto h = read_batch_header(e.payload);
      if (!h) return unreadable(e.base_offset.value, "shorter than a batch header");
      if (h->control() || (h->transactional() && aborted.aborted_at(h->producer_id, h->base_offset))) return {};
      STRATA_TRY(parse_records(e.payload, *h, inflated, records));
      for (const auto& r : records) {
        if (!r.null_key && r.offset >= job.cleaned_offset.value) map.put(r.key, r.offset);
      }
      if (map.full() && next < job.segments.back().next) {
        pass_end = next;
        map_full = true;
        return make_error(errc::unavailable, std::string(stop_walk));
      }
      return {};
    });
    if (!walked.ok() && !(map_full && walked.err().message == stop_walk)) return walked.err();
    if (map_full) break;
  }

  // Pass 2: the segments up to the one holding the pass end, rewritten.
  std::vector<storage::closed_segment> range;
  for (const auto& seg : job.segments) {
    if (seg.base < pass_end) range.push_back(seg);
  }
  const log_offset range_end = range.back().next;
  const int64_t tombstones_before_ms = job.now_ms - job.policy.delete_retention_ms;
  storage::segment_rewriter writer(fs, job.dir, range, job.segment_bytes_max, job.index_interval_bytes);
  compaction_outcome out;
  std::vector<record_ref> kept;
  for (const auto& seg : range) {
    auto walked = storage::read_closed_segment(fs, job.dir, seg, [&](const storage::entry_view& e) -> status {
      if (cancel.load(std::memory_order_relaxed)) return cancelled();
      const log_offset next = e.base_offset + e.record_count;
      auto h = read_batch_header(e.payload);
      if (!h) return unreadable(e.base_offset.value, "shorter than a batch header");
      if (h->control()) return writer.add(e.payload, next, e.max_timestamp_ms);
      STRATA_TRY(parse_records(e.payload, *h, inflated, records));
      kept.clear();
      const bool batch_aborted = h->transactional() && aborted.aborted_at(h->producer_id, h->base_offset);
      for (const auto& r : records) {
        bool keep = !batch_aborted;
        if (keep && !r.null_key && r.offset < pass_end.value) {
          auto latest = map.latest(r.key);
          keep = !latest || *latest <= r.offset;
        }
        // A tombstone goes once it has been through one compaction (so the
        // older values it deletes are gone) and delete.retention.ms passed.
        if (keep && r.null_value && r.offset < job.cleaned_offset.value && e.max_timestamp_ms < tombstones_before_ms) {
          keep = false;
        }
        if (keep) kept.push_back(r);
      }
      // The range's last record stays, so that its frames still reach the range end.
      if (next == range_end && !records.empty() && (kept.empty() || kept.back().offset != records.back().offset)) {
        kept.push_back(records.back());
      }
      out.records_removed += records.size() - kept.size();
      if (kept.size() == records.size()) return writer.add(e.payload, next, e.max_timestamp_ms);
      if (kept.empty() && !job.retained_batches.contains(h->base_offset)) {
        ++out.batches_removed;
        return {};
      }
      auto rebuilt = rebuild_batch(e.payload, *h, kept);
      STRATA_TRY(rebuilt);
      return writer.add(*rebuilt, next, e.max_timestamp_ms);
    });
    STRATA_TRY(walked);
  }
  auto staged = writer.finish();
  STRATA_TRY(staged);
  out.staged = std::move(staged).value();
  out.cleaned_offset = pass_end;
  return out;
}

}  // namespace strata::streams
