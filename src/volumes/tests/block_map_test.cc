#include "volumes/block_map.h"

#include <gtest/gtest.h>

#include <vector>

namespace strata::volumes {
namespace {

struct run {
  uint64_t first, count;
  block_state state;
  bool operator==(const run&) const = default;
};

std::vector<run> runs(const block_map& m) {
  std::vector<run> out;
  m.for_each_run([&](uint64_t f, uint64_t c, block_state s) { out.push_back({f, c, s}); });
  return out;
}

TEST(BlockMap, StatesAndRuns) {
  block_map m(3 * block_map::chunk_blocks);
  EXPECT_EQ(m.get(5), block_state::absent);
  m.set(60, 10, block_state::data);  // crosses a word boundary
  m.set(65, 2, block_state::zero);
  m.set(block_map::chunk_blocks - 1, 2, block_state::data);  // crosses a chunk boundary
  EXPECT_EQ(m.get(59), block_state::absent);
  EXPECT_EQ(m.get(60), block_state::data);
  EXPECT_EQ(m.get(65), block_state::zero);
  EXPECT_EQ(m.get(66), block_state::zero);
  EXPECT_EQ(m.get(67), block_state::data);
  EXPECT_EQ(m.get(70), block_state::absent);
  EXPECT_EQ(m.data_blocks(), 8u + 2u);
  std::vector<run> want{{60, 5, block_state::data},
                        {65, 2, block_state::zero},
                        {67, 3, block_state::data},
                        {block_map::chunk_blocks - 1, 2, block_state::data}};
  EXPECT_EQ(runs(m), want);
  m.set(60, 10, block_state::absent);
  EXPECT_EQ(m.get(65), block_state::absent);
  EXPECT_EQ(m.data_blocks(), 2u);
}

TEST(BlockMap, NextPresentSkipsEmptyChunks) {
  block_map m(10 * block_map::chunk_blocks);
  uint64_t far = 7 * block_map::chunk_blocks + 123;
  EXPECT_EQ(m.next_present(0, m.size_blocks()), m.size_blocks());
  m.set(far, 1, block_state::zero);
  EXPECT_EQ(m.next_present(0, m.size_blocks()), far);
  EXPECT_EQ(m.next_present(far + 1, m.size_blocks()), m.size_blocks());
  EXPECT_EQ(m.next_present(0, far), far);  // clipped to `to`
}

TEST(BlockMap, GrowKeepsStateAndPastEndIsAbsent) {
  block_map m(100);
  m.set(99, 1, block_state::data);
  EXPECT_EQ(m.get(100), block_state::absent);
  m.grow(5 * block_map::chunk_blocks);
  EXPECT_EQ(m.get(99), block_state::data);
  m.set(4 * block_map::chunk_blocks, 1, block_state::data);
  EXPECT_EQ(m.data_blocks(), 2u);
}

}  // namespace
}  // namespace strata::volumes
