// A log: an ordered, append-only sequence of entries kept in segment files on
// disk. Each entry is an opaque payload covering `record_count` consecutive
// offsets; the log assigns offsets densely. See docs/formats/log.md.
//
// Threading: append, read, lookups, retention and truncation are called from
// one thread (the owner); flush() may be called concurrently from one flusher
// thread. Accessors of the offsets are safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/strong.h"
#include "base/units.h"

namespace strata::io {
class fs;
}

namespace strata::storage {

struct closed_segment;
struct staged_rewrite;

struct log_config {
  uint64_t segment_bytes_max = 128 * MiB;   // roll the active segment past this size
  int64_t segment_age_ms_max = 7LL * 24 * 3600 * 1000;  // roll a non-empty segment older than this
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;  // drop closed segments whose newest entry is older; -1 keeps forever
  int64_t retention_bytes = -1;             // drop oldest closed segments while the log is larger; -1 means no limit
  uint32_t index_interval_bytes = 4 * KiB;  // one sparse index entry per this many data bytes
  uint32_t entry_bytes_max = 16 * MiB;      // larger payloads are refused with errc::limit_exceeded
};

struct entry_view {
  log_offset base_offset;
  uint32_t record_count = 0;
  int64_t max_timestamp_ms = 0;
  std::span<const uint8_t> payload;  // valid while the owning read_result lives
};

struct read_result {
  std::vector<uint8_t> buffer;     // owns the bytes the entries point into
  std::vector<entry_view> entries; // whole entries, in offset order
};

struct append_result {
  log_offset base_offset;
  log_offset next_offset;  // base_offset + record_count
};

class log {
 public:
  // Opens (creating if missing) the log in `dir`, recovering from a crash:
  // a torn or corrupt tail of the newest segment is truncated away and its
  // indexes rebuilt. Nothing before the first bad entry is lost.
  static result<std::unique_ptr<log>> open(io::fs& fs, std::string dir, log_config config);
  virtual ~log() = default;

  // Appends one entry. On success the entry is written (not yet durable) and
  // readable up to flushed_offset() semantics chosen by the caller. On error
  // (disk full, io error) nothing of the entry is visible, now or after restart.
  // Errors: limit_exceeded (payload over entry_bytes_max), invalid_argument
  // (record_count 0), no_space, io_error. One write syscall per append.
  // Rolls the active segment first when it is full or too old (by the
  // entry's max_timestamp_ms against the segment's first entry).
  virtual result<append_result> append(std::span<const uint8_t> payload, uint32_t record_count,
                                       int64_t max_timestamp_ms) = 0;

  // Makes every entry appended so far durable (fsync of data and, on roll, the
  // directory). Returns the offset up to which the log is now durable.
  // After a failed fsync the page cache state is unknown: flush() and
  // append() keep failing with io_error until the log is reopened.
  virtual result<log_offset> flush() = 0;

  // Reads whole entries starting with the one containing `from`, stopping
  // before `upto` (exclusive) and once `max_bytes` of payload are collected.
  // If `min_one` the first entry is returned even when larger than max_bytes.
  // `from` == end_offset() gives no entries; `from` outside [start_offset(),
  // end_offset()] is errc::not_found; a frame failing its CRC is errc::corrupt.
  virtual result<read_result> read(log_offset from, uint64_t max_bytes, log_offset upto, bool min_one) = 0;

  // The first entry whose max_timestamp_ms >= timestamp_ms, or nullopt if none.
  virtual result<std::optional<entry_view>> find_by_timestamp(int64_t timestamp_ms, read_result& storage) = 0;

  // Deletes whole closed segments past retention (time by the newest entry in
  // the segment, and size). Rolls the active segment when it is past its age.
  // Returns the number of segments removed.
  virtual result<int> enforce_retention(int64_t now_ms) = 0;

  // Removes every entry at or after `new_end`, so that end_offset() becomes
  // new_end. `new_end` must be an entry boundary in [start_offset(), end_offset()]
  // (errc::invalid_argument otherwise; a new_end before start_offset() is
  // errc::invalid_argument too — the caller uses truncate_fully for that).
  // Durable before it returns: after a crash the log never shows the removed
  // entries again. flushed_offset() drops to new_end if it was above; when
  // anything was removed it is new_end afterwards (the sync of the cut makes
  // the entries kept durable too). A concurrent flush() is safe: one that
  // began before the truncation does not publish its offset. A failure once
  // files began to change leaves the log refusing every call with
  // errc::io_error until reopened; the reopen shows the log either as before
  // or as after the truncation (docs/formats/log.md, "Truncation").
  virtual status truncate(log_offset new_end) = 0;
  // Removes every entry and restarts the log at `new_start` (start_offset() ==
  // end_offset() == new_start). Durable before it returns. Concurrency and
  // failures as truncate. errc::invalid_argument for a negative new_start.
  virtual status truncate_fully(log_offset new_start) = 0;
  // Moves the start offset forward to `new_start` (Kafka's DeleteRecords):
  // reads below it fail as if retention had removed them, and segments
  // wholly below it are deleted. It need not start an entry: the entry
  // holding it stays readable whole. Durable before it returns (the `start`
  // file, docs/formats/log.md). At or below start_offset() it does nothing;
  // past end_offset() it is errc::invalid_argument.
  virtual status advance_start(log_offset new_start) = 0;

  // Takes new size, age and retention limits (index_interval_bytes stays as
  // opened) for the appends, rolls and retention passes that follow.
  // errc::invalid_argument for a config open would refuse.
  virtual status reconfigure(const log_config& config) = 0;

  // Compaction (storage/rewrite.h). The closed segments, oldest first; a
  // rewrite of a run of them is staged off the owner thread, then swapped in
  // with replace_segments. Owner thread only.
  virtual std::vector<closed_segment> closed_segments() const = 0;
  // Swaps staged segments in for the ones they replace, atomically across a
  // crash (docs/formats/log.md, "Replacing segments"); offsets do not change.
  // errc::unavailable, with the staged files removed, if those segments
  // changed meanwhile (retention, truncation). A failure once the swap
  // committed leaves the log refusing every call with errc::io_error until
  // reopened; the reopen finishes the swap.
  virtual status replace_segments(const staged_rewrite& staged) = 0;

  // Removes every file of the log. The object is unusable afterwards.
  virtual status destroy() = 0;

  virtual log_offset start_offset() const = 0;    // first offset still stored
  virtual log_offset end_offset() const = 0;      // next offset to be assigned
  virtual log_offset flushed_offset() const = 0;  // every offset below is durable
  virtual uint64_t size_bytes() const = 0;        // bytes of the data files across segments
  virtual size_t segment_count() const = 0;
};

}  // namespace strata::storage
