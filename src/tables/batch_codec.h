// The stored columnar batch: one bucket-log entry holding up to
// service_config::batch_rows_max rows, one ZSTD-compressed chunk per column,
// each with min/max and a null count so scans can skip it unread.
// The byte layout is docs/formats/table.md ("Columnar batch, version 1").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/result.h"
#include "tables/service.h"
#include "tables/types.h"

namespace strata::tables {

inline constexpr uint8_t batch_format_version = 1;
inline constexpr uint32_t batch_rows_hard_max = 1u << 20;
// Strings longer than this are not kept in min/max (the stats say "unknown").
inline constexpr uint32_t stats_string_bytes_max = 64;

// Change types of primary-key table rows, stored per row in the ops chunk.
enum class change_type : uint8_t { insert = 0, update_before = 1, update_after = 2, remove = 3 };
const char* change_type_code(change_type type);  // "+I", "-U", "+U", "-D"

struct chunk_stats {
  uint32_t null_count = 0;
  std::optional<scalar> min;  // absent when every row is NULL or the type keeps no stats
  std::optional<scalar> max;
};

struct chunk_info {
  column_type type;
  chunk_stats stats;
  uint32_t offset = 0;  // of the compressed chunk within the payload
  uint32_t compressed_bytes = 0;
  uint32_t raw_bytes = 0;
};

// What a batch holds, read without decompressing any chunk.
struct batch_directory {
  uint32_t row_count = 0;
  int64_t commit_ts_us = 0;     // microseconds since the epoch, UTC
  bool has_ops = false;         // primary-key tables: a change_type per row
  chunk_info ops;               // valid when has_ops
  std::vector<chunk_info> columns;
};

// Encodes `rows` (every table column, in order). `ops`, when given, holds one
// change_type per row. Fails with invalid_argument if column lengths differ
// or the row count is 0 or above batch_rows_hard_max.
result<std::vector<uint8_t>> encode_batch(const column_batch& rows, const std::vector<change_type>* ops,
                                          int64_t commit_ts_us, int zstd_level);

// Parses and checks the header and directory (sizes, types, bounds). A batch
// whose version is not batch_format_version is errc::unsupported.
result<batch_directory> read_directory(std::span<const uint8_t> payload);

// Decompresses and checks one column chunk.
result<column_vector> decode_column(std::span<const uint8_t> payload, const batch_directory& dir, uint32_t column);
result<std::vector<change_type>> decode_ops(std::span<const uint8_t> payload, const batch_directory& dir);

// Computes the statistics of a column (used by encode_batch, and by tests).
chunk_stats compute_stats(const column_vector& column);

// False only when no row with these statistics can satisfy the predicate.
// Predicates on types without statistics, or that it does not understand,
// return true.
bool may_match(const chunk_info& chunk, uint32_t row_count, const column_predicate& predicate);

}  // namespace strata::tables
