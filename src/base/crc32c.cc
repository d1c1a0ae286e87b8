#include "base/crc32c.h"

#include <isa-l/crc.h>

#include <algorithm>

namespace strata {

uint32_t crc32c(const void* data, size_t size_bytes, uint32_t crc) {
  // ISA-L keeps the register un-inverted between calls and takes an int length;
  // the standard CRC32C inverts on entry and exit.
  constexpr size_t chunk_bytes_max = size_t{1} << 30;
  auto* bytes = static_cast<unsigned char*>(const_cast<void*>(data));
  uint32_t reg = ~crc;
  while (size_bytes > 0) {
    size_t n = std::min(size_bytes, chunk_bytes_max);
    reg = crc32_iscsi(bytes, static_cast<int>(n), reg);
    bytes += n;
    size_bytes -= n;
  }
  return ~reg;
}

}  // namespace strata
