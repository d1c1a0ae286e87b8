// Compression of the records section of a Kafka RecordBatch. Strata inflates
// a batch where it must look inside (ListOffsets by timestamp) and recompresses
// one whose codec is not its topic's compression.type; otherwise batches are
// stored and served as produced.
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

// Compresses `input` with `c` in the framing Kafka clients read: gzip stream,
// snappy in the xerial framing of Java clients, LZ4 frame with independent
// 64 KiB blocks, zstd frame.
result<std::vector<uint8_t>> compress(codec c, std::span<const uint8_t> input);

}  // namespace strata::streams
