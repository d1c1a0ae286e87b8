// What this machine can do at best, measured in the same run as the targets so
// the targets' figures can be read as a fraction of it.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace strata::bench {

struct disk_write_stats {
  double mb_per_s = 0;  // 10^6 bytes per second, including the final fdatasync
  uint64_t bytes = 0;
  bool direct = false;  // false: the filesystem refused O_DIRECT; buffered writes + fdatasync
};

// Sequential 1-block writes of total_bytes to a new file in dir, then
// fdatasync; the file is removed after.
result<disk_write_stats> measure_disk_write(const std::string& dir, uint64_t total_bytes, uint32_t block_bytes);

// How a durable log with group commit can write: every chunk (one window of
// records) must be on the disk before the next is written.
enum class sync_write_mode {
  buffered_append,    // buffered write() to a growing file, then fdatasync
  direct_fallocated,  // O_DIRECT into a file fallocate()d to the full size, then fdatasync
  direct_overwrite,   // O_DIRECT over a file already written and synced, then fdatasync
};

const char* describe(sync_write_mode mode);

struct sync_write_stats {
  sync_write_mode mode = sync_write_mode::buffered_append;
  double mb_per_s = 0;  // 10^6 bytes per second over all rounds
  uint64_t bytes = 0;
  uint32_t chunk_bytes = 0;  // bytes per round (write + fdatasync)
  uint64_t rounds = 0;
  double round_p50_ms = 0;  // one round: the write and its fdatasync
  double round_p99_ms = 0;
  bool direct = false;  // O_DIRECT modes: false when the filesystem refused it (buffered instead)
};

// Rounds of one chunk_bytes write then fdatasync, sequential in a new file in
// dir, until total_bytes are written; the file is removed after. The
// O_DIRECT modes round chunk_bytes up to a multiple of 4096. The preparation
// of direct_overwrite (writing the file once and syncing it) is not timed.
result<sync_write_stats> measure_sync_writes(const std::string& dir, uint64_t total_bytes, uint32_t chunk_bytes,
                                             sync_write_mode mode);

struct loopback_stats {
  double mb_per_s = 0;
  uint64_t bytes = 0;
};

// One sender thread writes total_bytes in chunk_bytes writes to one receiver
// thread over 127.0.0.1; timed until the receiver has read the last byte.
result<loopback_stats> measure_loopback_tcp(uint64_t total_bytes, uint32_t chunk_bytes);

}  // namespace strata::bench
