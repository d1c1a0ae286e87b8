// The two sparse indexes of one segment, kept in memory and written to the
// .index and .timeindex files when the segment is closed (format:
// docs/formats/log.md). The active segment's indexes live only in memory and
// are rebuilt from its data on open.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/strong.h"

namespace strata::storage {

struct offset_index_entry {
  uint32_t relative_offset;  // entry base offset minus the segment base
  uint32_t position;         // byte position of the entry's frame in the .log file
};

struct time_index_entry {
  int64_t max_timestamp_ms;  // the segment's running max timestamp, first reached by...
  uint32_t relative_offset;  // ...the entry at this offset
};

class segment_index {
 public:
  segment_index(log_offset base, uint32_t interval_bytes) : base_(base), interval_bytes_(interval_bytes) {}

  // Records an entry appended at `position`; entries arrive in log order.
  void on_append(log_offset entry_base, uint32_t position, uint64_t frame_bytes, int64_t max_timestamp_ms);
  // Adds the final time entry so the last one holds the segment's max timestamp.
  void seal();

  // The last indexed entry at or before `offset` ({0, 0}, the segment's first
  // frame, if none): a frame start from which a forward scan reaches `offset`.
  offset_index_entry floor(log_offset offset) const;
  // An offset from which a forward scan reaches the first entry with
  // max_timestamp_ms >= timestamp_ms: every entry up to it is older.
  log_offset scan_start_for_timestamp(int64_t timestamp_ms) const;

  int64_t max_timestamp_ms() const { return max_timestamp_ms_; }
  const std::vector<offset_index_entry>& offsets() const { return offsets_; }
  const std::vector<time_index_entry>& times() const { return times_; }

  std::vector<uint8_t> encode_offsets() const;
  std::vector<uint8_t> encode_times() const;
  // Loads a sealed segment's index files, checking header, CRC and order.
  // errc::corrupt if they do not hold together.
  static result<segment_index> decode(log_offset base, uint32_t interval_bytes, std::span<const uint8_t> offsets_file,
                                      std::span<const uint8_t> times_file, uint64_t data_bytes);

 private:
  log_offset base_;
  uint32_t interval_bytes_;
  std::vector<offset_index_entry> offsets_;
  std::vector<time_index_entry> times_;
  uint64_t bytes_since_entry_ = 0;
  int64_t max_timestamp_ms_ = std::numeric_limits<int64_t>::min();
  log_offset max_timestamp_offset_;
};

}  // namespace strata::storage
