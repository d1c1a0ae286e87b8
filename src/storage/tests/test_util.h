// Helpers shared by the storage tests: recognizable payloads and whole-log checks.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "storage/log.h"

namespace strata::storage::testing {

// Bytes that depend on the entry's base offset, so a misplaced or stale
// payload is caught.
inline std::vector<uint8_t> payload_for(int64_t base_offset, size_t size) {
  std::vector<uint8_t> p(size);
  uint64_t x = static_cast<uint64_t>(base_offset) * 0x9E3779B97F4A7C15ULL + size;
  for (auto& b : p) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<uint8_t>(x);
  }
  return p;
}

inline std::vector<uint8_t> to_vector(std::span<const uint8_t> s) { return {s.begin(), s.end()}; }

// Reads the whole log and checks that entries are contiguous from start to
// end and carry the payload payload_for(base) of the recorded size. Returns
// the entries' payload sizes in order.
inline std::vector<size_t> read_all_checked(log& l) {
  std::vector<size_t> sizes;
  log_offset at = l.start_offset();
  while (at < l.end_offset()) {
    auto r = l.read(at, 1 << 20, l.end_offset(), true);
    EXPECT_TRUE(r.ok()) << r.err().message;
    if (!r.ok() || r->entries.empty()) {
      ADD_FAILURE() << "no entry at " << at.value;
      break;
    }
    for (const auto& e : r->entries) {
      EXPECT_EQ(e.base_offset, at) << "entries are contiguous";
      EXPECT_EQ(to_vector(e.payload), payload_for(e.base_offset.value, e.payload.size())) << "payload at " << at.value;
      sizes.push_back(e.payload.size());
      at = e.base_offset + e.record_count;
    }
  }
  EXPECT_EQ(at, l.end_offset());
  return sizes;
}

}  // namespace strata::storage::testing
