// Partition routing and pruning. A partition is named by a key string:
// "all" (no partitioning), "null" (the row's partition value is NULL), the
// decimal start of a time interval in the column's unit (days for date,
// microseconds for timestamps) for range_time, or "v" + the value's text for
// list. See docs/formats/table-storage.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"
#include "tables/schema.h"
#include "tables/service.h"

namespace strata::tables {

inline constexpr uint32_t partition_key_bytes_max = 256;
// Every partition holds open bucket logs; past this a write that would add one fails.
inline constexpr uint32_t partitions_per_table_max = 4096;

// What pruning knows about one partition.
struct partition_bounds {
  bool all = false;      // no partitioning: matches everything
  bool is_null = false;  // the NULL partition
  int64_t lo = 0;        // range_time: [lo, hi) in the column's unit
  int64_t hi = 0;
  std::optional<scalar> value;  // list: the partition's value
};

// The key of the partition holding row `row` of `column` (the partition column).
result<std::string> partition_key_of(const table_schema& schema, const column_vector& column, uint32_t row);
// Parses a key written by partition_key_of back into bounds.
result<partition_bounds> bounds_of_key(const table_schema& schema, const std::string& key);
// False only when no row of the partition can satisfy the predicate.
bool partition_may_match(const table_schema& schema, const partition_bounds& bounds, const column_predicate& p);

// Calendar helpers (proleptic Gregorian, UTC).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);
void civil_from_days(int64_t days, int64_t& year, unsigned& month, unsigned& day);

}  // namespace strata::tables
