#include "base/buffer_pool.h"

#include <gtest/gtest.h>

#include <thread>

namespace strata {
namespace {

void drain() {
  while (buffer_pool::kept_buffers() > 0) (void)buffer_pool::take(0);
}

TEST(BufferPool, AGivenBufferIsTakenAgainWithItsMemory) {
  drain();
  auto a = buffer_pool::take(1 * MiB);
  EXPECT_GE(a.capacity(), 1 * MiB);
  EXPECT_TRUE(a.empty());
  a.resize(1000, 7);
  const uint8_t* memory = a.data();
  buffer_pool::give(std::move(a));
  EXPECT_EQ(buffer_pool::kept_buffers(), 1u);
  auto b = buffer_pool::take(512 * KiB);
  EXPECT_EQ(b.data(), memory) << "the kept buffer is reused";
  EXPECT_TRUE(b.empty()) << "handed out empty";
  EXPECT_EQ(buffer_pool::kept_bytes(), 0u);
}

TEST(BufferPool, SmallAndHugeBuffersAreNotKept) {
  drain();
  std::vector<uint8_t> small;
  small.reserve(4 * KiB);
  buffer_pool::give(std::move(small));
  std::vector<uint8_t> huge;
  huge.reserve(buffer_pool::bytes_max + 1);
  buffer_pool::give(std::move(huge));
  EXPECT_EQ(buffer_pool::kept_buffers(), 0u);
}

TEST(BufferPool, ItKeepsAtMostItsLimitsAndPrefersLargerBuffers) {
  drain();
  for (size_t i = 0; i < buffer_pool::buffers_max + 4; ++i) {
    std::vector<uint8_t> b;
    b.reserve((i + 1) * 128 * KiB);
    buffer_pool::give(std::move(b));
  }
  EXPECT_EQ(buffer_pool::kept_buffers(), buffer_pool::buffers_max);
  EXPECT_LE(buffer_pool::kept_bytes(), buffer_pool::bytes_max);
  EXPECT_GE(buffer_pool::take(0).capacity(), 5 * 128 * KiB) << "the smallest ones made room";
  EXPECT_GE(buffer_pool::take(10 * MiB).capacity(), 10 * MiB) << "none large enough: a new one";
}

TEST(BufferPool, EachThreadHasItsOwn) {
  drain();
  std::vector<uint8_t> b;
  b.reserve(1 * MiB);
  buffer_pool::give(std::move(b));
  size_t seen_elsewhere = 99;
  std::thread([&] { seen_elsewhere = buffer_pool::kept_buffers(); }).join();
  EXPECT_EQ(seen_elsewhere, 0u);
  EXPECT_EQ(buffer_pool::kept_buffers(), 1u);
}

}  // namespace
}  // namespace strata
