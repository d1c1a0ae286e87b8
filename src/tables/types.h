// The value model shared by tables, sql and pgwire: the column types Strata
// stores, a column of values in memory (column_vector), a set of equal-length
// columns (column_batch) and a single value (scalar). Nothing here knows
// DuckDB or the wire; sql converts, pgwire encodes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"

namespace strata::tables {

// Physical layout per type, in column_vector::fixed (little endian, one slot per row):
//   boolean 1 byte (0/1); int16 2; int32 4; int64 8; float32 4; float64 8;
//   numeric: int64 (precision <= 18) or __int128 (precision <= 38), the value times 10^scale;
//   date: int32 days since 1970-01-01; timestamp, timestamptz: int64 microseconds since
//   1970-01-01 00:00:00 (timestamptz in UTC).
// text, bytea and json are variable-width: offsets + bytes.
enum class type_id : uint8_t {
  boolean = 1,
  int16 = 2,
  int32 = 3,
  int64 = 4,
  float32 = 5,
  float64 = 6,
  numeric = 7,
  text = 8,
  bytea = 9,
  json = 10,
  date = 11,
  timestamp = 12,
  timestamptz = 13,
};

inline constexpr uint8_t numeric_precision_max = 38;
inline constexpr uint8_t numeric_int64_precision_max = 18;

struct column_type {
  type_id id = type_id::int64;
  uint8_t precision = 0;  // numeric only: 1..38
  uint8_t scale = 0;      // numeric only: 0..precision
  uint32_t length_max = 0;  // varchar(n): n characters; 0 = unbounded (text)

  bool operator==(const column_type&) const = default;
};

bool is_variable_width(type_id id);
inline bool is_integer(type_id id) { return id == type_id::int16 || id == type_id::int32 || id == type_id::int64; }
// Bytes per row in column_vector::fixed; 0 for variable-width types.
uint32_t fixed_width(const column_type& type);
// The PostgreSQL spelling: "integer", "numeric(12,2)", "character varying(25)", ...
std::string type_name(const column_type& type);
// Parses a PostgreSQL type name as written in CREATE TABLE ("int", "int4",
// "bigint", "varchar(20)", "numeric(10,2)", "timestamp with time zone", ...).
result<column_type> parse_type_name(std::string_view text);

// One column of values. Fixed-width values live in `fixed` (row_count * width
// bytes); variable-width ones in `bytes`, row i spanning
// [offsets[i], offsets[i+1]). A null row has valid[i] == 0 and a zeroed slot
// (fixed) or an empty span (variable).
struct column_vector {
  column_type type;
  uint32_t row_count = 0;
  std::vector<uint8_t> valid;     // one byte per row: 1 = value, 0 = NULL
  std::vector<uint8_t> fixed;
  std::vector<uint32_t> offsets;  // row_count + 1 entries for variable-width types
  std::vector<char> bytes;

  explicit column_vector(column_type t = {});
  void reserve(uint32_t rows, uint64_t var_bytes = 0);
  void append_null();
  void append_fixed(const void* value);  // fixed_width(type) bytes
  void append_bytes(std::string_view value);
  bool is_null(uint32_t row) const { return valid[row] == 0; }
  template <class T>
  T get(uint32_t row) const {
    T v;
    __builtin_memcpy(&v, fixed.data() + size_t(row) * sizeof(T), sizeof(T));
    return v;
  }
  std::string_view get_bytes(uint32_t row) const {
    return {bytes.data() + offsets[row], offsets[row + 1] - offsets[row]};
  }
  uint64_t memory_bytes() const;
};

// Equal-length columns, in table column order unless a projection says otherwise.
struct column_batch {
  uint32_t row_count = 0;
  std::vector<column_vector> columns;
  uint64_t memory_bytes() const;
};

// A single value, for filters, keys and statistics. monostate is NULL.
// Integers of every width, dates and timestamps use int64; numeric uses
// __int128 (scaled by the column's scale); strings and bytes use std::string.
using scalar = std::variant<std::monostate, bool, int64_t, double, __int128, std::string>;

// Reads row `row` of `column` as a scalar.
scalar scalar_at(const column_vector& column, uint32_t row);
// Appends `value` (which must match the column's type family) to `column`.
void append_scalar(column_vector& column, const scalar& value);
// Orders two non-null scalars of the same column type: <0, 0, >0.
int compare_scalars(const column_type& type, const scalar& a, const scalar& b);

}  // namespace strata::tables
