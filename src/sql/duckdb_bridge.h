// The seam between DuckDB and Strata's tables: the `strata_scan` table
// function (projection and filter pushdown, statistics pruning, parallel
// units), the replacement scan that turns `FROM t` and `FROM "t$changelog"`
// into it, and value conversion both ways.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "duckdb.hpp"
#include "sql/session.h"
#include "tables/service.h"

namespace strata::sql {

// Per-connection state the scan reads: the session's open transaction (its
// buffered writes are visible to its own scans) and the pushdown switch.
// Registered in the connection's ClientContext under scan_context::key.
struct scan_context : duckdb::ClientContextState {
  static constexpr const char* key = "strata_scan_context";
  const tables::transaction* txn = nullptr;
  bool use_statistics = true;  // SET strata.pushdown = off turns it off
  // False: strata_scan gives DuckDB no column statistics nor a maximum row
  // count, so its scans cannot fail as stale (the last retry after stale ones).
  bool report_statistics = true;
};

// strata_scan tells DuckDB each column's min/max and NULLs and the table's
// maximum row count at bind time (and makes prepared statements bind again at
// each execution), and checks when its scan opens that the data it reads is
// still inside them. When it is not (a commit between the bind and the
// execution), the query fails with this error before any of its rows are
// produced by that scan: prepare the statement again and run it again. A
// second stale failure in a row: retry with scan_context::report_statistics =
// false, which cannot be stale.
bool is_stale_statistics_error(const duckdb::ErrorData& error);

// Registers strata_scan(table VARCHAR, changelog BOOLEAN := false) and the
// replacement scan on `db`. Names that are not Strata tables fall through to
// DuckDB's own catalog.
void register_strata_scan(duckdb::DatabaseInstance& db, tables::service& tables);

// Type mapping. Every tables::column_type has a DuckDB type; DuckDB types
// without a Strata type give field.text_only = true and arrive as text.
duckdb::LogicalType to_duckdb_type(const tables::column_type& type);
field field_of(const std::string& name, const duckdb::LogicalType& type);

// Appends `chunk` (shaped as `fields`) to `out` (whose columns are created on
// first use from fields[i].type).
void append_chunk(const duckdb::DataChunk& chunk, const std::vector<field>& fields, tables::column_batch& out);

// Converts rows of a DuckDB result into a table's column types (casting done
// by the query, so types already match) - used by INSERT/UPDATE/COPY paths.
outcome<tables::column_batch> chunk_to_table_rows(const duckdb::DataChunk& chunk,
                                                  const std::vector<tables::column_type>& types);

duckdb::Value to_duckdb_value(const tables::scalar& value, const tables::column_type& type);
// A bound protocol parameter as a DuckDB value of `target` type (text ones are cast).
outcome<duckdb::Value> parameter_value(const parameter& p, const duckdb::LogicalType& target);

// Maps a DuckDB error to a PostgreSQL error (SQLSTATE from the exception type
// and message: 42601 syntax, 42P01 undefined table, 42703 undefined column,
// 22P02/22003/22012 data errors, 57014 interrupted, 53200 out of memory, ...).
error error_of(const duckdb::ErrorData& data);

// A Strata function running inside DuckDB fails with PostgreSQL's SQLSTATE:
// the state travels at the front of the exception's message, and error_of
// takes it back out.
[[noreturn]] void throw_sql_error(const std::string& sqlstate, const std::string& message);
// That message: also what SQL's error() raises to fail with `sqlstate`.
std::string sql_error_message(std::string_view sqlstate, std::string_view message);

}  // namespace strata::sql
