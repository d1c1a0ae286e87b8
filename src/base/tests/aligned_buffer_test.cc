#include "base/aligned_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>

namespace strata {
namespace {

bool aligned(const uint8_t* p) { return reinterpret_cast<uintptr_t>(p) % aligned_buffer::alignment_bytes == 0; }

TEST(AlignedBuffer, EverySizeIsAlignedAndWritable) {
  for (size_t size : {size_t{1}, size_t{4095}, size_t{4096}, size_t{65537}, size_t{1} * MiB, size_t{3} * MiB + 7}) {
    aligned_buffer b(size);
    ASSERT_EQ(b.size(), size);
    EXPECT_TRUE(aligned(b.data())) << size;
    std::memset(b.data(), 0xab, size);
    EXPECT_EQ(b.span().back(), 0xab);
  }
}

TEST(AlignedBuffer, EmptyHasNoBytes) {
  aligned_buffer b(0);
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(b.size(), 0u);
}

TEST(AlignedBuffer, ALargeBufferIsReusedAfterRelease) {
  const uint8_t* first = nullptr;
  {
    aligned_buffer b(1 * MiB);
    first = b.data();
  }
  EXPECT_GE(aligned_buffer::kept_bytes(), 1 * MiB);
  aligned_buffer again(1 * MiB - 100);  // same size class
  EXPECT_EQ(again.data(), first);
}

TEST(AlignedBuffer, ABufferFreedOnAnotherThreadComesBackHere) {
  const size_t kept_before = aligned_buffer::kept_buffers();
  aligned_buffer b(2 * MiB);
  const uint8_t* bytes = b.data();
  std::thread([moved = std::move(b)]() mutable { moved = aligned_buffer(); }).join();
  EXPECT_EQ(aligned_buffer::kept_buffers(), kept_before + 1);
  aligned_buffer again(2 * MiB);
  EXPECT_EQ(again.data(), bytes);
}

TEST(AlignedBuffer, SmallAndHugeBuffersAreNotKept) {
  const size_t kept_before = aligned_buffer::kept_bytes();
  { aligned_buffer small(aligned_buffer::pooled_bytes_min - 1); }
  { aligned_buffer huge(aligned_buffer::pooled_bytes_max + 1); }
  EXPECT_EQ(aligned_buffer::kept_bytes(), kept_before);
}

TEST(AlignedBuffer, ThePoolKeepsAtMostItsLimit) {
  std::vector<aligned_buffer> many;
  for (size_t i = 0; i < aligned_buffer::kept_bytes_max / (32 * MiB) + 4; ++i) many.emplace_back(32 * MiB);
  many.clear();
  EXPECT_LE(aligned_buffer::kept_bytes(), aligned_buffer::kept_bytes_max);
}

TEST(AlignedBuffer, MoveLeavesTheSourceEmpty) {
  aligned_buffer a(100 * KiB);
  uint8_t* bytes = a.data();
  aligned_buffer b(std::move(a));
  EXPECT_EQ(b.data(), bytes);
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_EQ(a.size(), 0u);
  a = std::move(b);
  EXPECT_EQ(a.data(), bytes);
}

}  // namespace
}  // namespace strata
