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

struct loopback_stats {
  double mb_per_s = 0;
  uint64_t bytes = 0;
};

// One sender thread writes total_bytes in chunk_bytes writes to one receiver
// thread over 127.0.0.1; timed until the receiver has read the last byte.
result<loopback_stats> measure_loopback_tcp(uint64_t total_bytes, uint32_t chunk_bytes);

}  // namespace strata::bench
