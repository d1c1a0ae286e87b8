#include "volumes/block_map.h"

#include <bit>

#include "base/assert.h"

namespace strata::volumes {

block_state block_map::get(uint64_t block) const {
  if (block >= size_blocks_) return block_state::absent;
  const chunk* c = chunks_[block / chunk_blocks].load();
  if (c == nullptr) return block_state::absent;
  uint64_t in_chunk = block % chunk_blocks;
  uint64_t bit = uint64_t{1} << (in_chunk % 64);
  // present is read first: set() raises zero before present, so a present
  // block's zero bit is already final for this transition.
  if ((c->present[in_chunk / 64].load() & bit) == 0) return block_state::absent;
  return (c->zero[in_chunk / 64].load() & bit) != 0 ? block_state::zero : block_state::data;
}

block_map::chunk* block_map::chunk_for_write(uint64_t index) {
  chunk* c = chunks_[index].load();
  if (c != nullptr) return c;
  std::lock_guard lock(alloc_mu_);
  c = chunks_[index].load();
  if (c != nullptr) return c;
  owned_.push_back(std::make_unique<chunk>());
  c = owned_.back().get();
  chunks_[index].store(c);
  return c;
}

void block_map::set(uint64_t first, uint64_t count, block_state s) {
  STRATA_ASSERT(first + count <= size_blocks_ && first + count >= first, "block_map::set past the end");
  uint64_t block = first;
  uint64_t end = first + count;
  while (block < end) {
    uint64_t in_chunk = block % chunk_blocks;
    uint64_t word_first = in_chunk % 64;
    uint64_t n = std::min<uint64_t>(64 - word_first, end - block);
    uint64_t mask = (n == 64 ? ~uint64_t{0} : ((uint64_t{1} << n) - 1)) << word_first;
    if (s == block_state::absent && chunks_[block / chunk_blocks].load() == nullptr) {
      block += n;
      continue;
    }
    chunk* c = chunk_for_write(block / chunk_blocks);
    auto& present = c->present[in_chunk / 64];
    auto& zero = c->zero[in_chunk / 64];
    switch (s) {
      case block_state::data:
        zero.fetch_and(~mask);
        present.fetch_or(mask);
        break;
      case block_state::zero:
        zero.fetch_or(mask);
        present.fetch_or(mask);
        break;
      case block_state::absent:
        present.fetch_and(~mask);
        zero.fetch_and(~mask);
        break;
    }
    block += n;
  }
}

void block_map::grow(uint64_t size_blocks) {
  if (size_blocks <= size_blocks_) return;
  size_t count = static_cast<size_t>((size_blocks + chunk_blocks - 1) / chunk_blocks);
  if (count > chunk_count_) {
    auto grown = std::make_unique<std::atomic<chunk*>[]>(count);
    for (size_t i = 0; i < count; ++i) grown[i].store(i < chunk_count_ ? chunks_[i].load() : nullptr);
    chunks_ = std::move(grown);
    chunk_count_ = count;
  }
  size_blocks_ = size_blocks;
}

uint64_t block_map::next_present(uint64_t from, uint64_t to) const {
  to = std::min(to, size_blocks_);
  uint64_t block = from;
  while (block < to) {
    const chunk* c = chunks_[block / chunk_blocks].load();
    if (c == nullptr) {
      block = (block / chunk_blocks + 1) * chunk_blocks;
      continue;
    }
    uint64_t in_chunk = block % chunk_blocks;
    uint64_t word = c->present[in_chunk / 64].load() >> (in_chunk % 64);
    if (word != 0) {
      uint64_t found = block + static_cast<uint64_t>(std::countr_zero(word));
      return std::min(found, to);
    }
    block += 64 - in_chunk % 64;
  }
  return to;
}

uint64_t block_map::data_blocks() const {
  uint64_t total = 0;
  for (size_t i = 0; i < chunk_count_; ++i) {
    const chunk* c = chunks_[i].load();
    if (c == nullptr) continue;
    for (size_t w = 0; w < chunk_words; ++w) total += std::popcount(c->present[w].load() & ~c->zero[w].load());
  }
  return total;
}

void block_map::for_each_run(const std::function<void(uint64_t, uint64_t, block_state)>& fn) const {
  uint64_t run_first = 0;
  uint64_t run_count = 0;
  block_state run_state = block_state::absent;
  auto close_run = [&] {
    if (run_count > 0 && run_state != block_state::absent) fn(run_first, run_count, run_state);
    run_count = 0;
  };
  uint64_t block = next_present(0, size_blocks_);
  while (block < size_blocks_) {
    block_state s = get(block);
    if (s == run_state && run_count > 0 && run_first + run_count == block) {
      ++run_count;
    } else {
      close_run();
      run_first = block;
      run_count = 1;
      run_state = s;
    }
    block = next_present(block + 1, size_blocks_);
  }
  close_run();
}

}  // namespace strata::volumes
