// CRC32C (Castagnoli), the checksum of Kafka record batches and of Strata's
// own log frames. Backed by ISA-L's hardware-accelerated implementation.
#pragma once

#include <cstddef>
#include <cstdint>

namespace strata {

// Returns the CRC32C of data. Pass a previous result as `crc` to extend it
// over more bytes: crc32c(b, crc32c(a)) == crc32c(a ++ b).
uint32_t crc32c(const void* data, size_t size_bytes, uint32_t crc = 0);

}  // namespace strata
