// Log compaction of Kafka topics (cleanup.policy=compact): which closed
// segments of a partition are cleanable, the bounded key map, and rewriting
// batches with only the records that survive. The rules are in docs/streams.md
// ("Log compaction"); the swap of the rewritten segments in
// docs/formats/log.md ("Replacing segments").
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "io/fs.h"
#include "storage/rewrite.h"
#include "streams/record_batch.h"
#include "streams/txn_index.h"

namespace strata::streams {

struct compaction_policy {
  int64_t delete_retention_ms = 86'400'000;  // tombstones stay readable at least this long
  double min_cleanable_dirty_ratio = 0.5;
  int64_t min_compaction_lag_ms = 0;                                         // younger records are not compacted
  int64_t max_compaction_lag_ms = std::numeric_limits<int64_t>::max();  // older dirty records are compacted whatever the ratio
};

// One record of a batch, inside its (inflated) records section.
struct record_ref {
  int64_t offset = 0;
  bool null_key = false;
  std::string_view key;
  bool null_value = false;          // a tombstone
  std::span<const uint8_t> bytes;   // the whole record, length varint included
};

// The records of a checked magic-2 batch; a compressed one is inflated into
// `inflated` (which the refs point into). errc::corrupt if they do not parse,
// errc::limit_exceeded past decompressed_records_bytes_max.
status parse_records(std::span<const uint8_t> batch, const batch_header& h, std::vector<uint8_t>& inflated,
                     std::vector<record_ref>& out);

// The index in the batch of the first record with a null key, if any
// (compacted topics refuse them). Errors as parse_records.
result<std::optional<int32_t>> first_null_key(std::span<const uint8_t> batch, const batch_header& h);

// The batch with only `kept` (a subsequence of its records, as parse_records
// gave them): baseOffset, lastOffsetDelta, timestamps, producer id, epoch and
// baseSequence stay, so offsets and sequence numbers do not move; the records
// are recompressed with the batch's codec; recordCount, length and CRC are
// recomputed. With no record left the batch is empty and uncompressed.
result<std::vector<uint8_t>> rebuild_batch(std::span<const uint8_t> batch, const batch_header& h,
                                           const std::vector<record_ref>& kept);

// The newest offset of each key in a dirty range, up to bytes_max of memory
// (estimated as the key's bytes plus a fixed overhead per entry).
class key_map {
 public:
  explicit key_map(uint64_t bytes_max) : bytes_max_(bytes_max) {}
  void put(std::string_view key, int64_t offset);
  std::optional<int64_t> latest(std::string_view key) const;
  bool full() const { return bytes_ >= bytes_max_; }
  size_t size() const { return map_.size(); }
  static constexpr uint64_t entry_overhead_bytes = 64;

 private:
  struct hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int64_t, hash, std::equal_to<>> map_;
  uint64_t bytes_ = 0;
  uint64_t bytes_max_;
};

// What may be cleaned now. The cleanable segments are the closed ones from
// the log start up to (not including) the first whose newest record is
// younger than min.compaction.lag.ms.
struct cleaning_plan {
  size_t segments = 0;          // cleanable closed segments, from the first
  uint64_t dirty_bytes = 0;     // of those, the bytes of segments at or after the cleaned offset
  uint64_t total_bytes = 0;
  double dirty_ratio = 0;
  bool due = false;             // ratio reached, or a dirty record older than max.compaction.lag.ms
};
cleaning_plan plan_cleaning(const std::vector<storage::closed_segment>& closed, log_offset cleaned_offset,
                            const compaction_policy& policy, int64_t now_ms);

struct compaction_job {
  std::string dir;                                // the partition's log directory
  std::vector<storage::closed_segment> segments;  // the cleanable ones (plan_cleaning)
  log_offset cleaned_offset;  // records below it were compacted before (a tombstone there may go)
  compaction_policy policy;
  int64_t now_ms = 0;
  std::set<int64_t> retained_batches;  // base offsets of batches kept even when emptied (producers' last batches)
  // Transactional batches inside these ranges were aborted: their records
  // never count as a key's newest value and are removed.
  std::vector<aborted_range> aborted;
  uint64_t map_bytes_max = 0;
  uint64_t segment_bytes_max = 0;
  uint32_t index_interval_bytes = 0;
};

struct compaction_outcome {
  storage::staged_rewrite staged;
  log_offset cleaned_offset;  // the new cleaned offset once `staged` is swapped in
  uint64_t records_removed = 0;
  uint64_t batches_removed = 0;
};

// Where a partition's cleaned offset lives in meta::kv, so that a restart
// does not treat the whole partition as dirty (docs/formats/log.md,
// "Compaction state"), and its value.
std::string cleaned_offset_kv_key(std::string_view topic_id_hex, int32_t partition);
std::string encode_cleaned_offset(log_offset cleaned);
std::optional<log_offset> decode_cleaned_offset(std::string_view value);

// The heavy half, off the network thread: reads the dirty records into a key
// map (in several passes when it fills: this pass then ends earlier), then
// rewrites the segments up to the pass end into staged files. Checks
// `cancel` between batches (errc::unavailable).
result<compaction_outcome> compact(io::fs& fs, const compaction_job& job, const std::atomic<bool>& cancel);

}  // namespace strata::streams
