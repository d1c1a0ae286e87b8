// Row-level encodings the service keeps outside columnar batches: a canonical
// byte form of values (primary keys, bucket hashing, RocksDB row images and
// transaction buffers) and column copies used to route rows into buckets.
// The byte layout is in docs/formats/table-storage.md ("Value encoding").
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "tables/types.h"

namespace strata::tables {

// Appends one value: a tag byte, then the payload (fixed size per tag, or a
// 4-byte length and the bytes for strings).
void encode_scalar(const scalar& value, std::string& out);
// Reads one value from the front of `in` and advances it.
result<scalar> decode_scalar(std::string_view& in);

// The values of `columns` at `row`, encoded back to back.
std::string encode_values(const column_batch& rows, uint32_t row, std::span<const uint32_t> columns);
// Every column at `row`.
std::string encode_row(const column_batch& rows, uint32_t row);
// Appends an encoded row to `out`, whose columns must have the row's types.
status decode_row_into(std::string_view row, column_batch& out);

// The bucket of a row: xxhash64 of the encoded bucket key values, mod buckets.
uint32_t bucket_of(const column_batch& rows, uint32_t row, std::span<const uint32_t> bucket_key, uint32_t buckets);

// Empty columns typed like `types`.
column_batch empty_batch(const std::vector<column_type>& types);
// Appends rows [from, from + count) of src to dst (same type).
void append_range(column_vector& dst, const column_vector& src, uint32_t from, uint32_t count);
// Appends the listed rows of src to dst (same type).
void append_rows(column_vector& dst, const column_vector& src, std::span<const uint32_t> rows);
// Appends every row of src to dst, column by column.
void append_batch(column_batch& dst, const column_batch& src);
// A new batch holding the listed rows.
column_batch gather(const column_batch& src, std::span<const uint32_t> rows);
column_batch slice(const column_batch& src, uint32_t from, uint32_t count);

}  // namespace strata::tables
