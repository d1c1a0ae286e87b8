// Walking the frames of a segment file with few, large reads: recovery,
// index rebuilds and the forward scans of lookups all go through here.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/strong.h"
#include "io/fs.h"
#include "storage/frame.h"

namespace strata::storage {

// A read-ahead window over [0, end_pos) of a file.
class file_window {
 public:
  file_window(io::file& f, uint64_t end_pos, size_t chunk_bytes) : file_(f), end_pos_(end_pos), chunk_bytes_(chunk_bytes) {}
  // The bytes [pos, pos + n), fewer if end_pos comes first. Valid until the next call.
  result<std::span<const uint8_t>> get(uint64_t pos, size_t n);

 private:
  io::file& file_;
  uint64_t end_pos_;
  size_t chunk_bytes_;
  std::vector<uint8_t> buf_;
  uint64_t buf_pos_ = 0;
};

struct scan_result {
  uint64_t end_pos = 0;       // position after the last frame accepted
  log_offset next_offset;     // offset after the last frame accepted
  bool stopped = false;       // the callback asked to stop (at end_pos)
  bool bad_frame = false;     // a bad frame sits at end_pos
  std::string problem;        // what was wrong with it
};

// Called for each good frame; return false to stop before accepting it.
using frame_visitor = std::function<bool(const frame_header& header, uint64_t pos)>;

enum class crc_check { skip, verify };

// Walks the frames in [pos, end_pos); the first must start at `expected`
// and each next one where the previous ended. A frame that fails to decode,
// runs past end_pos, breaks the offset sequence or (with crc_check::verify)
// fails its CRC ends the walk with bad_frame set. IO errors are errors.
result<scan_result> scan_frames(io::file& f, uint64_t pos, uint64_t end_pos, log_offset expected, crc_check crc,
                                size_t chunk_bytes, const frame_visitor& visit);

}  // namespace strata::storage
