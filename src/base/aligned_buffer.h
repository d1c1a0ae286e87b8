// A heap byte buffer aligned to 4 KiB, the alignment O_DIRECT needs, whose
// large buffers are kept for reuse by any thread.
//
// Why a pool: a fresh allocation of a megabyte or more is a new mapping on
// glibc (the server fixes the mmap threshold at 1 MiB), and filling it costs
// a page fault and zero-filling per 4 KiB page. Profiled on these VMs, half
// of a 1 MiB NBD READ's time went to faulting in its fresh reply buffer.
// NBD buffers cross threads (a WRITE's payload is read on the network thread
// and freed on a worker; a READ's reply the other way round), so unlike
// base/buffer_pool.h, which is per thread, this pool is one locked free list
// per power-of-two size class, shared by the process.
//
// Bounded: buffers below pooled_bytes_min come from the allocator directly,
// and at most kept_bytes_max bytes of capacity are kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/units.h"

namespace strata {

class aligned_buffer {
 public:
  static constexpr size_t alignment_bytes = 4 * KiB;
  static constexpr size_t pooled_bytes_min = 64 * KiB;   // smaller buffers are cheap to allocate
  static constexpr size_t pooled_bytes_max = 64 * MiB;   // larger ones are rare; not kept
  static constexpr size_t kept_bytes_max = 256 * MiB;    // the NBD server's in-flight byte budget

  aligned_buffer() = default;
  // size_bytes of uninitialized bytes.
  explicit aligned_buffer(size_t size_bytes);
  ~aligned_buffer();
  aligned_buffer(aligned_buffer&& other) noexcept;
  aligned_buffer& operator=(aligned_buffer&& other) noexcept;
  aligned_buffer(const aligned_buffer&) = delete;
  aligned_buffer& operator=(const aligned_buffer&) = delete;

  uint8_t* data() { return bytes_; }
  const uint8_t* data() const { return bytes_; }
  size_t size() const { return size_; }
  std::span<uint8_t> span() { return {bytes_, size_}; }
  std::span<const uint8_t> span() const { return {bytes_, size_}; }

  // What the shared pool keeps now (for tests and metrics).
  static size_t kept_buffers();
  static size_t kept_bytes();

 private:
  void release();

  uint8_t* bytes_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  bool pooled_ = false;  // taken from (and given back to) the shared pool
};

}  // namespace strata
