#include "base/aligned_buffer.h"

#include <array>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "base/assert.h"

namespace strata {
namespace {

constexpr size_t class_min_log2 = std::countr_zero(aligned_buffer::pooled_bytes_min);
constexpr size_t class_max_log2 = std::countr_zero(aligned_buffer::pooled_bytes_max);
static_assert(std::has_single_bit(aligned_buffer::pooled_bytes_min));
static_assert(std::has_single_bit(aligned_buffer::pooled_bytes_max));

struct shared_pool {
  std::mutex mu;
  std::array<std::vector<uint8_t*>, class_max_log2 - class_min_log2 + 1> free_by_class;
  size_t kept_bytes = 0;
  size_t kept_buffers = 0;
};

// Never destroyed: buffers may be released by threads that outlive static destruction.
shared_pool& pool() {
  static shared_pool* p = new shared_pool;
  return *p;
}

size_t class_index(size_t capacity) { return std::countr_zero(capacity) - class_min_log2; }

uint8_t* allocate(size_t capacity) {
  void* p = std::aligned_alloc(aligned_buffer::alignment_bytes, capacity);
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<uint8_t*>(p);
}

bool pooled_size(size_t size_bytes) {
  return size_bytes >= aligned_buffer::pooled_bytes_min && size_bytes <= aligned_buffer::pooled_bytes_max;
}

// What to allocate for size_bytes: pooled sizes round up to a power of two,
// the rest to the alignment.
size_t capacity_for(size_t size_bytes) {
  if (pooled_size(size_bytes)) return std::bit_ceil(size_bytes);
  constexpr size_t a = aligned_buffer::alignment_bytes;
  return (size_bytes + a - 1) / a * a;
}

uint8_t* take(size_t capacity) {
  {
    shared_pool& p = pool();
    std::lock_guard lock(p.mu);
    auto& list = p.free_by_class[class_index(capacity)];
    if (!list.empty()) {
      uint8_t* bytes = list.back();
      list.pop_back();
      p.kept_bytes -= capacity;
      --p.kept_buffers;
      return bytes;
    }
  }
  return allocate(capacity);
}

void give(uint8_t* bytes, size_t capacity) {
  {
    shared_pool& p = pool();
    std::lock_guard lock(p.mu);
    if (p.kept_bytes + capacity <= aligned_buffer::kept_bytes_max) {
      p.free_by_class[class_index(capacity)].push_back(bytes);
      p.kept_bytes += capacity;
      ++p.kept_buffers;
      return;
    }
  }
  std::free(bytes);
}

}  // namespace

aligned_buffer::aligned_buffer(size_t size_bytes) : size_(size_bytes) {
  if (size_bytes == 0) return;
  capacity_ = capacity_for(size_bytes);
  STRATA_ASSERT(capacity_ >= size_bytes, "capacity covers the size");
  pooled_ = pooled_size(size_bytes);
  bytes_ = pooled_ ? take(capacity_) : allocate(capacity_);
}

aligned_buffer::~aligned_buffer() { release(); }

aligned_buffer::aligned_buffer(aligned_buffer&& other) noexcept
    : bytes_(std::exchange(other.bytes_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)),
      pooled_(std::exchange(other.pooled_, false)) {}

aligned_buffer& aligned_buffer::operator=(aligned_buffer&& other) noexcept {
  if (this != &other) {
    release();
    bytes_ = std::exchange(other.bytes_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    pooled_ = std::exchange(other.pooled_, false);
  }
  return *this;
}

void aligned_buffer::release() {
  if (bytes_ != nullptr && pooled_) {
    give(bytes_, capacity_);
  } else {
    std::free(bytes_);
  }
  bytes_ = nullptr;
  size_ = 0;
  capacity_ = 0;
  pooled_ = false;
}

size_t aligned_buffer::kept_buffers() {
  shared_pool& p = pool();
  std::lock_guard lock(p.mu);
  return p.kept_buffers;
}

size_t aligned_buffer::kept_bytes() {
  shared_pool& p = pool();
  std::lock_guard lock(p.mu);
  return p.kept_bytes;
}

}  // namespace strata
