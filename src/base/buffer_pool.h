// Large byte buffers kept for reuse by the thread that gave them back.
//
// A fresh allocation of a megabyte or more is a new mapping on glibc (the
// server fixes the mmap threshold at 1 MiB), and touching it costs a page
// fault and zero-filling per 4 KiB page: on these VMs about 15 us per page,
// which capped a 1 MiB Kafka Fetch at ~80 MB/s. The Fetch path (storage read,
// response, socket write) runs on the network thread, so it takes its
// buffers here and gives them back when done with them; after the first
// few requests no page is faulted in again.
//
// Per thread, so no locks. Bounded: small buffers are not kept, and at most
// buffers_max buffers and bytes_max bytes of capacity are retained.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/units.h"

namespace strata::buffer_pool {

inline constexpr size_t kept_bytes_min = 64 * KiB;  // smaller buffers are cheap to allocate
inline constexpr size_t buffers_max = 8;
inline constexpr size_t bytes_max = 128 * MiB;

// An empty vector whose capacity is at least `bytes`: a kept buffer when one
// is large enough, else a new one.
std::vector<uint8_t> take(size_t bytes);

// Keeps `buffer`'s capacity for a later take() on this thread, if it is large
// enough and the pool has room; otherwise frees it.
void give(std::vector<uint8_t>&& buffer);

// What this thread keeps now (for tests).
size_t kept_buffers();
size_t kept_bytes();

}  // namespace strata::buffer_pool
