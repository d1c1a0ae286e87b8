#include "payload.h"

#include <cstring>

namespace strata::bench {
namespace {

constexpr size_t index_bytes = 8;

// Filler byte i of record `index`; cheap, and differs between neighbours.
uint8_t filler(uint64_t index, size_t i) { return static_cast<uint8_t>((index * 131) + (i * 7) + 1); }

}  // namespace

void fill_payload(std::span<uint8_t> out, uint64_t index) {
  for (size_t i = 0; i < index_bytes && i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(index >> (8 * i));
  }
  for (size_t i = index_bytes; i < out.size(); ++i) {
    out[i] = filler(index, i);
  }
}

std::optional<uint64_t> check_payload(std::span<const uint8_t> payload) {
  if (payload.size() < record_bytes_min) {
    return std::nullopt;
  }
  uint64_t index = 0;
  for (size_t i = 0; i < index_bytes; ++i) {
    index |= static_cast<uint64_t>(payload[i]) << (8 * i);
  }
  // Checking every byte would cost more than the clients under test; the
  // first and last filler bytes are where a truncated or shifted record differs.
  for (size_t i = index_bytes; i < 2 * index_bytes; ++i) {
    if (payload[i] != filler(index, i)) {
      return std::nullopt;
    }
  }
  for (size_t i = payload.size() - index_bytes; i < payload.size(); ++i) {
    if (payload[i] != filler(index, i)) {
      return std::nullopt;
    }
  }
  return index;
}

}  // namespace strata::bench
