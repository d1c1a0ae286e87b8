// A table's definition: columns, primary key, partitioning and buckets.
// Stored in the catalog as JSON (docs/formats/table.md).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "tables/types.h"

namespace strata::tables {

inline constexpr uint32_t columns_max = 1024;
inline constexpr uint32_t buckets_max = 256;
inline constexpr uint32_t table_name_bytes_max = 63;  // PostgreSQL's NAMEDATALEN - 1

// PostgreSQL's identity columns: ALWAYS refuses values the INSERT gives.
enum class identity_kind : uint8_t { none = 0, always = 1, by_default = 2 };

inline constexpr uint32_t default_expr_bytes_max = 4096;

struct column_def {
  std::string name;
  column_type type;
  bool not_null = false;  // primary-key columns are always not_null
  // The DEFAULT expression as SQL text, evaluated by the SQL layer when an
  // INSERT leaves the column out; empty: NULL.
  std::string default_expr = {};
  identity_kind identity = identity_kind::none;
  bool operator==(const column_def&) const = default;
};

enum class partition_kind : uint8_t {
  none = 0,
  range_time = 1,  // one partition per interval of a date/timestamp/timestamptz column
  list = 2,        // one partition per distinct value of the column
};

enum class time_unit : uint8_t { hour = 1, day = 2, month = 3, year = 4 };

struct partition_spec {
  partition_kind kind = partition_kind::none;
  uint32_t column = 0;             // index into table_schema::columns
  time_unit interval = time_unit::day;  // range_time only
  bool operator==(const partition_spec&) const = default;
};

enum class table_kind : uint8_t {
  log = 1,          // append-only
  primary_key = 2,  // upserts, UPDATE, DELETE, changelog
};

struct table_schema {
  std::string name;
  table_kind kind = table_kind::log;
  std::vector<column_def> columns;
  std::vector<uint32_t> primary_key;  // column indexes, in key order; empty for log tables
  partition_spec partitioning;
  // Rows are spread over `buckets` by a hash of `bucket_key` (default: the
  // primary key; for log tables without one, round robin per write).
  uint32_t buckets = 1;
  std::vector<uint32_t> bucket_key;
  bool operator==(const table_schema&) const = default;
  bool is_key_column(uint32_t column) const {
    return std::find(primary_key.begin(), primary_key.end(), column) != primary_key.end();
  }
};

// Checks names, types, key and partitioning rules (a primary key must contain
// the partition column; bucket keys must be subsets of the primary key) and
// returns a message that says what to fix.
status validate(const table_schema& schema);

}  // namespace strata::tables
