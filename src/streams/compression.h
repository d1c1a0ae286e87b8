// Decompression of the records section of a compressed Kafka RecordBatch, used
// where Strata must look inside a batch (ListOffsets by timestamp). Batches
// are stored and served compressed; nothing on the produce or fetch path
// decompresses.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"

namespace strata::streams {

enum class codec : int { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

// Inflates `input` compressed with `c` (as Kafka clients write it: gzip
// stream, snappy raw or in the xerial framing of Java clients, LZ4 frame,
// zstd frame). Fails with errc::limit_exceeded past output_bytes_max, and
// errc::corrupt for malformed input.
result<std::vector<uint8_t>> decompress(codec c, std::span<const uint8_t> input, uint64_t output_bytes_max);

}  // namespace strata::streams
