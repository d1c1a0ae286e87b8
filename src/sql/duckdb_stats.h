// Column statistics strata_scan gives DuckDB's planner, and the check that a
// scan opened at execution still fits them. DuckDB plans with the min/max,
// NULL and row-count bounds a scan reports at bind (integer sums without
// overflow checks, compressed materialization, perfect hash tables, filters
// dropped as always true), so the rows it reads must stay inside them; when
// they do not, the scan fails with the stale-statistics error (see
// is_stale_statistics_error in duckdb_bridge.h). A table whose statistics went
// stale recently gets wider bounds, then none, for a while: a table under
// steady writes stops failing scans while a static one keeps exact bounds.
// Internal to src/sql.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "duckdb.hpp"
#include "tables/service.h"

namespace strata::sql::stats {

enum class level : uint8_t { exact = 0, widened = 1, none = 2 };

// Per table id: how wide its reported statistics are, raised by stale failures
// and back to exact after `window` without one. Thread-safe.
class volatility_registry {
 public:
  static constexpr auto window = std::chrono::minutes(10);
  static constexpr size_t tables_max = 4096;

  level level_of(uint64_t table_id);
  void raise(uint64_t table_id);

 private:
  struct entry {
    level current;
    std::chrono::steady_clock::time_point last;
  };
  std::mutex mu_;
  std::unordered_map<uint64_t, entry> entries_;
};

// What DuckDB was told about one column.
struct reported_column {
  bool has_min_max = false;
  tables::scalar min;
  tables::scalar max;
  bool no_nulls = false;
};

struct reported_stats {
  std::vector<reported_column> columns;  // per relation column
  uint64_t rows = 0;                     // DuckDB's estimated cardinality
  uint64_t rows_max = 0;                 // DuckDB's max_cardinality
};

// Plans a scan of every column of `table` (as `txn` sees it) and turns its
// statistics into what DuckDB is told at `lvl`; null when there is nothing.
std::shared_ptr<const reported_stats> plan_reported(tables::service& tables, const std::string& table,
                                                    const std::vector<tables::column_type>& types,
                                                    const tables::transaction* txn, level lvl);

duckdb::unique_ptr<duckdb::BaseStatistics> to_duckdb_statistics(const reported_column& column,
                                                                const tables::column_type& type);

// Why the scan opened now does not fit what DuckDB planned with, or "".
// `checked` holds (scan position, relation column) for each column read.
std::string stale_reason(const reported_stats& reported, const tables::table_scan& scan,
                         const std::vector<std::pair<uint32_t, uint32_t>>& checked,
                         const std::vector<tables::column_type>& types, const std::vector<std::string>& names);

[[noreturn]] void throw_stale(const std::string& table, const std::string& reason);

}  // namespace strata::sql::stats
