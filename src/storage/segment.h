// One segment of a log: the data file <base>.log holding frames back to back,
// and its sparse offset and time indexes (in memory; on disk as <base>.index
// and <base>.timeindex once the segment is closed).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/strong.h"
#include "io/fs.h"
#include "storage/frame.h"
#include "storage/index.h"

namespace strata::storage {

// "<20-digit base offset><suffix>"; suffix is ".log", ".index" or ".timeindex".
std::string segment_file_name(log_offset base, const char* suffix);

// Small whole files beside the segments (index files, the truncation marker).
// The content, or nullopt if the file does not exist; files over 1 GiB are errc::corrupt.
result<std::optional<std::vector<uint8_t>>> read_whole(io::fs& fs, const std::string& path);
// Writes path.tmp, syncs it and renames it over path. The caller syncs the directory.
status write_file_atomically(io::fs& fs, const std::string& path, std::span<const uint8_t> bytes);
status remove_if_present(io::fs& fs, const std::string& path);
// Removes the segment's data file, then its index files if present.
status remove_segment_files(io::fs& fs, const std::string& dir, log_offset base);

// Whole entries gathered by one log::read across segments.
struct read_plan {
  std::vector<uint8_t> buffer;                          // frames, back to back
  std::vector<std::pair<size_t, frame_header>> frames;  // payload position in buffer, header
  uint64_t payload_left = 0;                            // budget still open
  log_offset upto;                                      // stop before this offset
  bool min_one = false;                                 // take the first entry even over budget
};

class segment {
 public:
  // A new, empty segment (the file must not exist).
  static result<std::unique_ptr<segment>> create(io::fs& fs, const std::string& dir, log_offset base,
                                                 uint32_t index_interval_bytes);
  // An older segment: loads its index files, or rebuilds them from the data
  // (setting *rebuilt) if they are missing or do not match the data. The data
  // must end exactly at next_base; errc::corrupt otherwise.
  static result<std::unique_ptr<segment>> open_closed(io::fs& fs, const std::string& dir, log_offset base,
                                                      uint32_t index_interval_bytes, log_offset next_base,
                                                      bool* rebuilt);
  // The newest segment: checks every frame, truncates the file at the first
  // bad one or the first reaching past end_limit (reporting the bytes cut in
  // *truncated_bytes), syncs it, removes its index files and rebuilds its
  // indexes in memory.
  static result<std::unique_ptr<segment>> recover_active(io::fs& fs, const std::string& dir, log_offset base,
                                                         uint32_t index_interval_bytes, log_offset end_limit,
                                                         uint64_t* truncated_bytes);

  log_offset base() const { return base_; }
  log_offset next_offset() const { return next_; }
  uint64_t size_bytes() const { return size_bytes_; }
  bool empty() const { return size_bytes_ == 0; }
  int64_t max_timestamp_ms() const { return index_.max_timestamp_ms(); }
  std::optional<int64_t> first_timestamp_ms() const { return first_timestamp_ms_; }
  // Null for a closed segment not read since open (its file is opened lazily).
  const std::shared_ptr<io::file>& data_file() const { return file_; }
  const segment_index& index() const { return index_; }

  // Writes one frame at the end with a single gathered write. On failure the
  // file is cut back to its previous end and the cut synced; if even that
  // fails, later appends retry the cut first and fail until it works.
  status append(std::span<const uint8_t, frame_header_bytes> header, std::span<const uint8_t> payload,
                const frame_header& h);
  // Seals the indexes and writes both index files (temp file, sync, rename).
  // The caller syncs the directory.
  status write_indexes();
  // Removes the data file, then the index files.
  status remove_files();

  // The byte position of the entry starting at `offset` (base <= offset <=
  // next_offset(); next_offset() gives the size). errc::invalid_argument if
  // `offset` falls inside an entry.
  result<uint64_t> boundary_position(log_offset offset);
  // Makes the segment end at `new_next`, the entry at `position` (from
  // boundary_position): truncates and syncs the data file, rebuilds the
  // indexes in memory from the frames kept and removes the index files, so
  // that appends continue here. The caller syncs the directory.
  status cut_at(log_offset new_next, uint64_t position);

  // Adds whole frames starting with the one holding `from`. Returns true if
  // it ran to the end of the segment with budget left (read on in the next).
  result<bool> read(log_offset from, read_plan& plan);
  // The base offset of the first entry with max_timestamp_ms >= timestamp_ms.
  result<std::optional<log_offset>> find_timestamp(int64_t timestamp_ms);

 private:
  segment(io::fs& fs, std::string dir, log_offset base, uint32_t index_interval_bytes, std::shared_ptr<io::file> file);
  void note_frame(const frame_header& h, uint64_t pos);
  // Forgets every frame, then notes those in [0, end_pos) of the data file.
  status reindex(uint64_t end_pos);
  std::string path(const char* suffix) const;
  // The file position of the frame holding `offset` (base <= offset < next).
  result<uint64_t> locate(log_offset offset);
  result<bool> read_chunk(uint64_t& pos, read_plan& plan);
  status cut_back();
  status ensure_open();
  error damaged(uint64_t pos, const std::string& problem) const;

  io::fs& fs_;
  std::string dir_;
  log_offset base_;
  log_offset next_;
  uint32_t index_interval_bytes_;
  std::shared_ptr<io::file> file_;
  segment_index index_;
  uint64_t size_bytes_ = 0;
  std::optional<int64_t> first_timestamp_ms_;
  bool needs_cut_ = false;  // a failed append left bytes past size_bytes_
};

}  // namespace strata::storage
