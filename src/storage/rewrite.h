// Rewriting closed segments (log compaction): reading a closed segment off
// the owner thread, staging its replacement beside the log's files, and the
// swap marker with which log::replace_segments makes the swap atomic across
// a crash. Format and protocol: docs/formats/log.md, "Replacing segments".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/strong.h"
#include "io/fs.h"
#include "storage/index.h"
#include "storage/log.h"

namespace strata::storage {

// A closed segment as the owner saw it (log::closed_segments). A rewrite
// replaces a run of them only if they are still exactly these.
struct closed_segment {
  log_offset base;
  log_offset next;  // the base of the segment after it
  uint64_t size_bytes = 0;
  int64_t first_timestamp_ms = 0;  // about the first entry's (from the time index)
  int64_t max_timestamp_ms = 0;
};

// Reads every entry of a closed segment's data file in order, checking each
// frame (CRC included) and that they end at seg.next. Safe on any thread:
// it opens its own descriptor. errc::corrupt for a bad frame; the visitor's
// error stops the walk and is returned.
using entry_visitor = std::function<status(const entry_view& entry)>;
status read_closed_segment(io::fs& fs, const std::string& dir, const closed_segment& seg, const entry_visitor& visit);

// New segments staged for a swap, and the segments they replace.
struct staged_rewrite {
  std::vector<closed_segment> replaced;  // consecutive, oldest first
  std::vector<closed_segment> staged;    // the replacement: the same offset range
  log_offset range_start() const { return replaced.front().base; }
  log_offset range_end() const { return replaced.back().next; }
};

// Writes the replacement of `replaced` as files named <base>.log.cleaned,
// .index.cleaned and .timeindex.cleaned. Entries are added in offset order;
// each covers the offsets from where the previous one ended (the range start
// for the first) up to the `next` it is given, so offsets stay dense and an
// entry's frame also covers the offsets of entries dropped before it. A new
// staged segment starts when the current one would pass segment_bytes_max.
// Runs on any thread; touches only its own files.
class segment_rewriter {
 public:
  segment_rewriter(io::fs& fs, std::string dir, std::vector<closed_segment> replaced, uint64_t segment_bytes_max,
                   uint32_t index_interval_bytes);
  ~segment_rewriter();
  segment_rewriter(const segment_rewriter&) = delete;
  segment_rewriter& operator=(const segment_rewriter&) = delete;

  log_offset next_offset() const { return next_; }
  // errc::invalid_argument if `next` does not move forward or passes the range end.
  status add(std::span<const uint8_t> payload, log_offset next, int64_t max_timestamp_ms);
  // Once the entries reach the range end: syncs the data and index files and
  // the directory. Afterwards the staged files belong to the caller (hand
  // them to log::replace_segments or discard_staged).
  result<staged_rewrite> finish();

 private:
  struct output;
  status start_output(log_offset base);
  status close_output();
  void remove_staged();

  io::fs& fs_;
  std::string dir_;
  std::vector<closed_segment> replaced_;
  uint64_t segment_bytes_max_;
  uint32_t index_interval_bytes_;
  log_offset next_;
  std::unique_ptr<output> current_;
  std::vector<closed_segment> done_;
  bool finished_ = false;
};

// Removes the staged files of a rewrite that will not be swapped in.
status discard_staged(io::fs& fs, const std::string& dir, const staged_rewrite& staged);

// The staged file of a segment file: "<base><suffix>.cleaned".
std::string staged_file_name(log_offset base, const char* suffix);

// The swap marker ("swap" in the log directory).
struct swap_marker {
  log_offset range_start;
  log_offset range_end;
  std::vector<log_offset> new_bases;  // ascending; the first is range_start
};
std::vector<uint8_t> encode_swap_marker(const swap_marker& m);
result<swap_marker> decode_swap_marker(std::span<const uint8_t> bytes, const std::string& path);
std::string swap_marker_path(const std::string& dir);

// Steps 2 and 3 of the swap (after the marker is durable): moves the staged
// files present into place and removes the replaced segments that no new one
// took the name of, then syncs the directory. Redoing it after a crash is
// safe: it only acts on what is still there.
status apply_swap(io::fs& fs, const std::string& dir, const swap_marker& m);

// Recovery: finishes a swap whose marker is in place (then removes the
// marker), or removes the staged files of one that never committed.
status finish_or_discard_swap(io::fs& fs, const std::string& dir);

}  // namespace strata::storage
