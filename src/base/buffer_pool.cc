#include "base/buffer_pool.h"

#include <algorithm>

namespace strata::buffer_pool {

namespace {

struct pool {
  std::vector<std::vector<uint8_t>> buffers;  // by capacity, smallest first
  size_t bytes = 0;
};

pool& this_thread_pool() {
  thread_local pool p;
  return p;
}

}  // namespace

std::vector<uint8_t> take(size_t bytes) {
  pool& p = this_thread_pool();
  auto fits = std::find_if(p.buffers.begin(), p.buffers.end(), [&](const auto& b) { return b.capacity() >= bytes; });
  if (fits == p.buffers.end()) {
    std::vector<uint8_t> fresh;
    fresh.reserve(bytes);
    return fresh;
  }
  std::vector<uint8_t> out = std::move(*fits);
  p.buffers.erase(fits);
  p.bytes -= out.capacity();
  return out;
}

void give(std::vector<uint8_t>&& buffer) {
  pool& p = this_thread_pool();
  const size_t capacity = buffer.capacity();
  if (capacity < kept_bytes_min || capacity > bytes_max) return;
  // Full: the smallest kept buffer makes room for a larger one.
  while (!p.buffers.empty() && (p.buffers.size() >= buffers_max || p.bytes + capacity > bytes_max)) {
    if (p.buffers.front().capacity() >= capacity) return;
    p.bytes -= p.buffers.front().capacity();
    p.buffers.erase(p.buffers.begin());
  }
  buffer.clear();
  auto at = std::lower_bound(p.buffers.begin(), p.buffers.end(), capacity,
                             [](const auto& b, size_t c) { return b.capacity() < c; });
  p.buffers.insert(at, std::move(buffer));
  p.bytes += capacity;
}

size_t kept_buffers() { return this_thread_pool().buffers.size(); }
size_t kept_bytes() { return this_thread_pool().bytes; }

}  // namespace strata::buffer_pool
