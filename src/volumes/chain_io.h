// chain_io: the data path of a stack of layers. Reads take each block from
// the highest layer that holds it; writes land in the top layer, copying in
// the rest of a block from below when a write covers only part of it.
//
// Callers hold the service's topology lock (shared) for the whole call, so
// the parent pointers stay put. Writes lock the stripes of the blocks they
// touch, so a read-modify-write of a partial block (or a merge copying into
// this layer) never interleaves with another write of the same block.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "base/result.h"
#include "volumes/layer.h"
#include "volumes/service.h"

namespace strata::volumes {

class stripe_locks {
 public:
  static constexpr uint64_t stripe_count = 1024;

  class guard {
   public:
    guard(stripe_locks& locks, uint64_t layer_id, uint64_t first_block, uint64_t block_count);
    ~guard();
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;

   private:
    stripe_locks& locks_;
    uint64_t first_stripe_;
    uint64_t stripe_count_;
  };

 private:
  std::array<std::mutex, stripe_count> stripes_;
};

// One read of a batch: bytes [offset, offset+out.size()) as a read of `top`
// sees them, and (once read) the runs that describe them.
struct chain_read {
  layer* top = nullptr;
  uint64_t offset = 0;
  std::span<uint8_t> out;
  result<std::vector<data_run>> runs = std::vector<data_run>{};
};
// Runs every read, handing all their file reads to fs.read_batch at once.
void read_chains(io::fs& fs, std::span<chain_read> reads);
result<std::vector<data_run>> read_chain(layer& top, uint64_t offset, std::span<uint8_t> out);
status write_chain(layer& top, stripe_locks& stripes, uint64_t offset, std::span<const uint8_t> data);
// trim: leave partial edge blocks alone instead of zeroing their bytes.
status zero_chain(layer& top, stripe_locks& stripes, uint64_t offset, uint64_t length_bytes, zero_options options,
                  bool trim);
// Looks at most status_blocks_max blocks ahead, so one call stays cheap on a huge volume.
inline constexpr uint64_t status_blocks_max = 65536;
std::vector<block_extent> block_status_chain(layer& top, uint64_t offset, uint64_t length_bytes, size_t extents_max);

}  // namespace strata::volumes
