#include "tables/schema.h"

#include <set>
#include <string>

#include "tables/service.h"

namespace strata::tables {

namespace {

const char* const system_column_names[changelog_system_columns] = {"change_type", "log_offset", "commit_ts"};

error invalid(const table_schema& schema, const std::string& why) {
  return make_error(errc::invalid_argument, "table \"" + schema.name + "\": " + why);
}

status check_name(const table_schema& schema, const std::string& what, const std::string& name) {
  if (name.empty()) return invalid(schema, what + " name must not be empty");
  if (name.size() > table_name_bytes_max) {
    return invalid(schema, what + " name \"" + name + "\" is longer than 63 bytes; use a shorter name");
  }
  return {};
}

status check_type(const table_schema& schema, const column_def& column) {
  const column_type& t = column.type;
  bool known = uint8_t(t.id) >= uint8_t(type_id::boolean) && uint8_t(t.id) <= uint8_t(type_id::timestamptz);
  if (!known) return invalid(schema, "column \"" + column.name + "\" has an unknown type id");
  if (t.id == type_id::numeric) {
    if (t.precision < 1 || t.precision > numeric_precision_max || t.scale > t.precision) {
      return invalid(schema, "column \"" + column.name + "\": numeric precision must be 1..38 and scale 0..precision");
    }
  } else if (t.precision != 0 || t.scale != 0) {
    return invalid(schema, "column \"" + column.name + "\": only numeric takes a precision and scale");
  }
  if (t.length_max != 0 && t.id != type_id::text) {
    return invalid(schema, "column \"" + column.name + "\": only text takes a maximum length");
  }
  return {};
}

status check_columns(const table_schema& schema) {
  if (schema.columns.empty()) return invalid(schema, "a table needs at least one column");
  if (schema.columns.size() > columns_max) return invalid(schema, "a table has at most 1024 columns");
  std::set<std::string> seen;
  for (const column_def& c : schema.columns) {
    STRATA_TRY(check_name(schema, "column", c.name));
    if (!seen.insert(c.name).second) return invalid(schema, "column \"" + c.name + "\" is defined twice");
    STRATA_TRY(check_type(schema, c));
    if (c.default_expr.size() > default_expr_bytes_max) {
      return invalid(schema, "the DEFAULT of column \"" + c.name + "\" is longer than 4096 bytes");
    }
    if (c.identity != identity_kind::none && !is_integer(c.type.id)) {
      return invalid(schema, "identity column \"" + c.name + "\" must be smallint, integer or bigint");
    }
    if (schema.kind == table_kind::primary_key) {
      for (const char* reserved : system_column_names) {
        if (c.name == reserved) {
          return invalid(schema, "column name \"" + c.name +
                                     "\" is reserved in primary-key tables (a column of \"" + schema.name +
                                     "$changelog\"); rename the column");
        }
      }
    }
  }
  return {};
}

// Column indexes must exist and appear once.
status check_index_list(const table_schema& schema, const std::vector<uint32_t>& list, const char* what) {
  std::set<uint32_t> seen;
  for (uint32_t index : list) {
    if (index >= schema.columns.size()) {
      return invalid(schema, std::string(what) + " names column #" + std::to_string(index) + ", which does not exist");
    }
    if (!seen.insert(index).second) {
      return invalid(schema, std::string(what) + " lists column \"" + schema.columns[index].name + "\" twice");
    }
  }
  return {};
}

bool contains(const std::vector<uint32_t>& list, uint32_t index) {
  for (uint32_t v : list) {
    if (v == index) return true;
  }
  return false;
}

status check_primary_key(const table_schema& schema) {
  if (schema.kind == table_kind::log) {
    if (!schema.primary_key.empty()) return invalid(schema, "a log table has no primary key");
    return {};
  }
  if (schema.kind != table_kind::primary_key) return invalid(schema, "unknown table kind");
  if (schema.primary_key.empty()) return invalid(schema, "a primary-key table needs a PRIMARY KEY");
  STRATA_TRY(check_index_list(schema, schema.primary_key, "PRIMARY KEY"));
  for (uint32_t index : schema.primary_key) {
    if (schema.columns[index].type.id == type_id::json) {
      return invalid(schema, "column \"" + schema.columns[index].name + "\" is json, which cannot be in a PRIMARY KEY");
    }
  }
  return {};
}

status check_partitioning(const table_schema& schema) {
  const partition_spec& p = schema.partitioning;
  if (p.kind == partition_kind::none) return {};
  if (p.kind != partition_kind::range_time && p.kind != partition_kind::list) {
    return invalid(schema, "unknown partitioning kind");
  }
  if (p.column >= schema.columns.size()) return invalid(schema, "the partition column does not exist");
  const column_def& column = schema.columns[p.column];
  type_id id = column.type.id;
  if (p.kind == partition_kind::range_time) {
    if (id != type_id::date && id != type_id::timestamp && id != type_id::timestamptz) {
      return invalid(schema, "range partitioning needs a date, timestamp or timestamptz column; \"" + column.name +
                                 "\" is " + type_name(column.type));
    }
    if (p.interval < time_unit::hour || p.interval > time_unit::year) {
      return invalid(schema, "the partition interval must be hour, day, month or year");
    }
    if (p.interval == time_unit::hour && id == type_id::date) {
      return invalid(schema, "hourly partitions need a timestamp column; \"" + column.name + "\" is a date");
    }
  } else {
    bool fits = id == type_id::boolean || id == type_id::int16 || id == type_id::int32 || id == type_id::int64 ||
                id == type_id::text || id == type_id::date;
    if (!fits) {
      return invalid(schema, "list partitioning needs a boolean, integer, text or date column; \"" + column.name +
                                 "\" is " + type_name(column.type));
    }
  }
  if (schema.kind == table_kind::primary_key && !contains(schema.primary_key, p.column)) {
    return invalid(schema, "the PRIMARY KEY must include the partition column \"" + column.name + "\"");
  }
  return {};
}

status check_buckets(const table_schema& schema) {
  if (schema.buckets < 1 || schema.buckets > buckets_max) {
    return invalid(schema, "buckets must be between 1 and 256");
  }
  STRATA_TRY(check_index_list(schema, schema.bucket_key, "the bucket key"));
  if (schema.kind == table_kind::primary_key) {
    for (uint32_t index : schema.bucket_key) {
      if (!contains(schema.primary_key, index)) {
        return invalid(schema, "bucket key column \"" + schema.columns[index].name +
                                   "\" is not in the PRIMARY KEY; a bucket key must be a subset of the key");
      }
    }
  }
  return {};
}

}  // namespace

status validate(const table_schema& schema) {
  if (schema.name.empty()) return make_error(errc::invalid_argument, "a table name must not be empty");
  STRATA_TRY(check_name(schema, "table", schema.name));
  STRATA_TRY(check_columns(schema));
  STRATA_TRY(check_primary_key(schema));
  STRATA_TRY(check_partitioning(schema));
  STRATA_TRY(check_buckets(schema));
  return {};
}

std::vector<column_def> changelog_columns(const table_schema& schema) {
  std::vector<column_def> out;
  out.reserve(changelog_system_columns + schema.columns.size());
  out.push_back({system_column_names[0], column_type{type_id::text}, true});
  out.push_back({system_column_names[1], column_type{type_id::int64}, true});
  out.push_back({system_column_names[2], column_type{type_id::timestamptz}, true});
  out.insert(out.end(), schema.columns.begin(), schema.columns.end());
  return out;
}

}  // namespace strata::tables
