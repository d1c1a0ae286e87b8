// Benchmark records: every payload starts with its record index (8 bytes,
// little endian) so acks and consumed records can be matched to what was sent,
// and the rest is a filler derived from the index so corruption is caught.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace strata::bench {

inline constexpr uint32_t record_bytes_min = 16;
inline constexpr uint32_t record_bytes_max = 1 << 20;

// Writes record `index` into out (out.size() is the record size).
void fill_payload(std::span<uint8_t> out, uint64_t index);

// The index a payload carries, or nullopt if it is too short or its filler
// does not match what fill_payload writes for that index.
std::optional<uint64_t> check_payload(std::span<const uint8_t> payload);

}  // namespace strata::bench
