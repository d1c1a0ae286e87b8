// block_map: the state of each block of one layer — absent (reads fall
// through to the layer below), data (the layer's file holds it) or zero
// (reads as zeros, stores nothing). Two bits per block in 128 MiB chunks that
// are allocated on first touch, so a sparse 8 TiB layer costs a pointer per
// chunk and a fully written one 64 KiB per GiB.
//
// Threading: get() and set() may race freely on any blocks; each bit flip is
// an atomic read-modify-write. A reader sees a block's old or new state,
// never a third one, because set() orders its two bit flips (see set()).
// grow() and the run iteration must not race with set() (the service calls
// them under its exclusive topology lock or on a quiet layer).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace strata::volumes {

enum class block_state : uint8_t { absent = 0, data = 1, zero = 2 };

class block_map {
 public:
  static constexpr uint64_t chunk_blocks = 32768;  // 128 MiB of 4 KiB blocks

  explicit block_map(uint64_t size_blocks) { grow(size_blocks); }

  uint64_t size_blocks() const { return size_blocks_; }
  // Blocks at and past size_blocks() are absent.
  block_state get(uint64_t block) const;
  // Sets [first, first+count) to s; the range must lie below size_blocks().
  void set(uint64_t first, uint64_t count, block_state s);
  void grow(uint64_t size_blocks);

  // The first block in [from, to) whose state is not absent, or `to`.
  uint64_t next_present(uint64_t from, uint64_t to) const;
  uint64_t data_blocks() const;
  // Calls fn(first, count, state) for each maximal run of data or zero blocks, in order.
  void for_each_run(const std::function<void(uint64_t, uint64_t, block_state)>& fn) const;

 private:
  static constexpr size_t chunk_words = chunk_blocks / 64;
  struct chunk {
    std::array<std::atomic<uint64_t>, chunk_words> present{};
    std::array<std::atomic<uint64_t>, chunk_words> zero{};
  };
  chunk* chunk_for_write(uint64_t index);

  uint64_t size_blocks_ = 0;
  size_t chunk_count_ = 0;
  std::unique_ptr<std::atomic<chunk*>[]> chunks_;  // null until a block of the chunk is set
  std::vector<std::unique_ptr<chunk>> owned_;      // guarded by alloc_mu_
  std::mutex alloc_mu_;
};

}  // namespace strata::volumes
