#include "sql/duckdb_stats.h"

#include <algorithm>

#include "duckdb/storage/statistics/base_statistics.hpp"
#include "sql/duckdb_bridge.h"

namespace strata::sql {
namespace stats {
namespace {

namespace dd = duckdb;
using tables::column_type;
using tables::type_id;

constexpr const char* stale_marker = "strata: table statistics changed after the statement was planned";
constexpr uint64_t rows_headroom_min = 1024;

bool keeps_numeric_stats(type_id id) {
  switch (id) {
    case type_id::boolean:
    case type_id::int16:
    case type_id::int32:
    case type_id::int64:
    case type_id::numeric:
    case type_id::date:
    case type_id::timestamp:
    case type_id::timestamptz: return true;
    default: return false;  // floats (NaN and -0 orderings), bytes and json: no min/max for DuckDB
  }
}

__int128 pow10(int digits) {
  __int128 v = 1;
  for (int i = 0; i < digits; i++) v *= 10;
  return v;
}

// The values a column type can hold, as integers.
std::pair<__int128, __int128> type_range(const column_type& type) {
  switch (type.id) {
    case type_id::int16: return {INT16_MIN, INT16_MAX};
    case type_id::int32:
    case type_id::date: return {INT32_MIN, INT32_MAX};
    case type_id::numeric: {
      int digits = type.precision == 0 ? tables::numeric_precision_max : type.precision;  // as to_duckdb_type
      return {1 - pow10(digits), pow10(digits) - 1};
    }
    default: return {INT64_MIN, INT64_MAX};
  }
}

__int128 as_integer(const tables::scalar& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  return std::get<__int128>(v);
}

// Widens [min, max] by its own span on each side, within the type's range.
void widen(const column_type& type, reported_column& c) {
  if (type.id == type_id::boolean) return;
  __int128 lo = as_integer(c.min), hi = as_integer(c.max);
  __int128 span = hi - lo + 1;
  auto [type_lo, type_hi] = type_range(type);
  lo = lo - span < type_lo ? type_lo : lo - span;
  hi = hi + span > type_hi ? type_hi : hi + span;
  if (type.id == type_id::numeric) {
    c.min = lo;
    c.max = hi;
  } else {
    c.min = int64_t(lo);
    c.max = int64_t(hi);
  }
}

reported_column report_column(const column_type& type, const tables::column_statistics& stats, level lvl) {
  reported_column c;
  c.no_nulls = lvl == level::exact && stats.null_count == 0;
  bool numeric = keeps_numeric_stats(type.id);
  if (!stats.has_min_max || !(numeric || (type.id == type_id::text && lvl == level::exact))) return c;
  c.has_min_max = true;
  c.min = stats.min;
  c.max = stats.max;
  if (lvl == level::widened) widen(type, c);
  return c;
}

}  // namespace

level volatility_registry::level_of(uint64_t table_id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(table_id);
  if (it == entries_.end()) return level::exact;
  if (std::chrono::steady_clock::now() - it->second.last > window) {
    entries_.erase(it);
    return level::exact;
  }
  return it->second.current;
}

void volatility_registry::raise(uint64_t table_id) {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (entries_.size() >= tables_max) {
    std::erase_if(entries_, [&](const auto& e) { return now - e.second.last > window; });
    if (entries_.size() >= tables_max) entries_.clear();  // all recent: start over, exact again
  }
  auto [it, fresh] = entries_.try_emplace(table_id, entry{level::exact, now});
  if (!fresh && now - it->second.last > window) it->second.current = level::exact;
  it->second.current = it->second.current == level::exact ? level::widened : level::none;
  it->second.last = now;
}

std::shared_ptr<const reported_stats> plan_reported(tables::service& tables, const std::string& table,
                                                    const std::vector<column_type>& types,
                                                    const tables::transaction* txn, level lvl) {
  if (lvl == level::none) return nullptr;
  tables::scan_spec spec;
  spec.columns.resize(types.size());
  for (uint32_t i = 0; i < spec.columns.size(); i++) spec.columns[i] = i;
  auto scan = tables.scan(table, spec, txn);
  if (!scan.ok()) return nullptr;  // the scan at execution reports the error
  auto stats = (*scan)->column_stats();
  if (stats.size() != types.size()) return nullptr;
  auto reported = std::make_shared<reported_stats>();
  reported->rows = (*scan)->estimated_rows();
  const uint64_t rows = reported->rows;
  reported->rows_max = lvl == level::exact ? rows + std::max(rows, rows_headroom_min) : 4 * rows + 256 * rows_headroom_min;
  for (size_t i = 0; i < stats.size(); i++) reported->columns.push_back(report_column(types[i], stats[i], lvl));
  return reported;
}

dd::unique_ptr<dd::BaseStatistics> to_duckdb_statistics(const reported_column& c, const column_type& type) {
  auto stats = dd::BaseStatistics::CreateUnknown(to_duckdb_type(type));
  if (c.no_nulls) stats.Set(dd::StatsInfo::CANNOT_HAVE_NULL_VALUES);
  if (c.has_min_max && type.id == type_id::text) {
    const auto& lo = std::get<std::string>(c.min);
    const auto& hi = std::get<std::string>(c.max);
    dd::StringStats::SetMin(stats, dd::string_t(lo.data(), uint32_t(lo.size())));
    dd::StringStats::SetMax(stats, dd::string_t(hi.data(), uint32_t(hi.size())));
  } else if (c.has_min_max) {
    dd::NumericStats::SetMin(stats, to_duckdb_value(c.min, type));
    dd::NumericStats::SetMax(stats, to_duckdb_value(c.max, type));
  }
  return stats.ToUnique();
}

std::string stale_reason(const reported_stats& reported, const tables::table_scan& scan,
                         const std::vector<std::pair<uint32_t, uint32_t>>& checked,
                         const std::vector<column_type>& types, const std::vector<std::string>& names) {
  if (scan.estimated_rows() > reported.rows_max) {
    return "it has more than " + std::to_string(reported.rows_max) + " rows now";
  }
  auto fresh = scan.column_stats();
  for (auto [position, column] : checked) {
    const reported_column& was = reported.columns[column];
    if (!was.has_min_max && !was.no_nulls) continue;
    if (position >= fresh.size()) return "its statistics are gone";
    const tables::column_statistics& now = fresh[position];
    if (was.no_nulls && now.null_count > 0) return "column \"" + names[column] + "\" has NULLs now";
    if (!was.has_min_max || now.value_count == 0) continue;
    if (!now.has_min_max || tables::compare_scalars(types[column], now.min, was.min) < 0 ||
        tables::compare_scalars(types[column], now.max, was.max) > 0) {
      return "column \"" + names[column] + "\" has values outside the planned range";
    }
  }
  return "";
}

void throw_stale(const std::string& table, const std::string& reason) {
  throw dd::InvalidInputException("%s (table \"%s\": %s)", stale_marker, table, reason);
}

}  // namespace stats

bool is_stale_statistics_error(const duckdb::ErrorData& error) {
  return error.Type() == duckdb::ExceptionType::INVALID_INPUT &&
         error.RawMessage().find(stats::stale_marker) != std::string::npos;
}

}  // namespace strata::sql
