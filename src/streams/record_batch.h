// The Kafka RecordBatch (magic v2) header, as produced by clients and stored
// byte for byte in a partition's log. Strata reads the header to validate and
// index a batch and rewrites only the fields Kafka brokers rewrite and the CRC
// does not cover (baseOffset, partitionLeaderEpoch).
//
// Layout (big-endian): baseOffset i64 | batchLength i32 | partitionLeaderEpoch
// i32 | magic i8 | crc u32 | attributes i16 | lastOffsetDelta i32 |
// baseTimestamp i64 | maxTimestamp i64 | producerId i64 | producerEpoch i16 |
// baseSequence i32 | recordCount i32 | records... The CRC32C covers
// attributes through the end of the batch.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace strata::streams {

inline constexpr size_t batch_header_bytes = 61;
inline constexpr size_t batch_length_field_offset = 8;
inline constexpr size_t batch_crc_covered_from = 21;

struct batch_header {
  int64_t base_offset = 0;
  int32_t batch_length = 0;  // bytes after the batchLength field
  int8_t magic = 0;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp_ms = 0;
  int64_t max_timestamp_ms = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t record_count = 0;

  int compression() const { return attributes & 0x7; }
  bool log_append_time() const { return (attributes & 0x8) != 0; }
  bool transactional() const { return (attributes & 0x10) != 0; }
  bool control() const { return (attributes & 0x20) != 0; }
  bool idempotent() const { return producer_id >= 0; }
  uint32_t offset_count() const { return static_cast<uint32_t>(last_offset_delta) + 1; }
  int32_t last_sequence() const;
  size_t total_bytes() const { return batch_length_field_offset + 4 + static_cast<size_t>(batch_length); }
};

// Reads the header at the start of bytes; nullopt if shorter than a header.
std::optional<batch_header> read_batch_header(std::span<const uint8_t> bytes);

// The offset after the last whole batch in `batches` (stored batches, back
// to back); `if_none` when there is none.
int64_t offset_after_batches(std::span<const uint8_t> batches, int64_t if_none);

enum class batch_problem { none, corrupt, unsupported_magic, invalid_record };

struct batch_check {
  batch_problem problem = batch_problem::none;
  std::string message;
  batch_header header;
};

// Validates that `bytes` holds exactly one well-formed magic-v2 batch with a
// correct CRC32C and a sane offset delta and record count. Control batches
// pass: whether a writer may send one is the caller's rule.
batch_check check_single_batch(std::span<const uint8_t> bytes);

// Sets baseOffset and partitionLeaderEpoch in place (both outside the CRC).
void assign_batch_offset(std::span<uint8_t> batch, int64_t base_offset, int32_t leader_epoch);

struct record_position {
  int64_t offset = -1;
  int64_t timestamp_ms = -1;
};

// Bounds the memory one timestamp lookup may inflate a compressed batch into.
inline constexpr uint64_t decompressed_records_bytes_max = 64ULL << 20;

// The first record with timestamp >= timestamp_ms in a batch whose max
// timestamp is >= timestamp_ms, walking its records (inflated first if the
// batch is compressed). If the records cannot be read (corrupt, or inflating
// past decompressed_records_bytes_max, or log-append time), the batch's base
// offset and max timestamp.
record_position first_record_at_or_after(std::span<const uint8_t> batch, int64_t timestamp_ms);

// What produce changes in a batch for its topic's configs. The records and
// the producer id, epoch and sequence stay as sent.
struct batch_rewrite {
  std::optional<int> codec;                   // compression.type: recompress unless already in this codec
  std::optional<int64_t> log_append_time_ms;  // LogAppendTime: the timestamp type bit and this max timestamp
};

// Whether rewrite_batch would change a batch with this header.
bool rewrite_needed(const batch_header& h, const batch_rewrite& how);

// The batch (one, checked by check_single_batch) rewritten as `how` says,
// with its length and CRC32C recomputed. errc::corrupt when its records do
// not inflate; errc::limit_exceeded when they inflate past
// decompressed_records_bytes_max.
result<std::vector<uint8_t>> rewrite_batch(std::span<const uint8_t> batch, const batch_rewrite& how);

// A record timestamp of a CreateTime batch more than max_difference_ms from
// now_ms, if any (message.timestamp.difference.max.ms). Errors as rewrite_batch.
result<std::optional<int64_t>> timestamp_out_of_range(std::span<const uint8_t> batch, int64_t now_ms,
                                                      int64_t max_difference_ms);

// Strata's own records (internal topics such as __consumer_offsets): an
// uncompressed magic-2 batch, no producer id, CreateTime timestamp_ms.
struct plain_record {
  std::string key;
  std::string value;
};
// Who writes a plain batch: none, or a producer (transaction markers).
struct batch_writer_identity {
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int16_t attributes = 0;  // the transactional and control bits; always uncompressed, CreateTime
};
std::vector<uint8_t> encode_plain_batch(const std::vector<plain_record>& records, int64_t timestamp_ms,
                                        const batch_writer_identity& writer = {});

// The records of an uncompressed batch, in order; nullopt when the batch is
// compressed or its records do not parse.
std::optional<std::vector<plain_record>> decode_plain_batch(std::span<const uint8_t> batch);

}  // namespace strata::streams
