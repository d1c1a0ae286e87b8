// Statement rewriting pieces that dml.cc (INSERT, UPDATE, DELETE),
// dml_returning.cc (RETURNING) and select_locking.cc (SELECT ... FOR UPDATE)
// share.
#pragma once

#include <string>
#include <vector>

#include "duckdb.hpp"
#include "duckdb/parser/parsed_expression.hpp"
#include "duckdb/parser/query_node/select_node.hpp"
#include "duckdb/parser/statement/select_statement.hpp"
#include "sql/session.h"
#include "tables/schema.h"
#include "tables/types.h"

namespace strata::sql::detail {

// `child` cast to a Strata column type (PostgreSQL's '\x..' bytea text read as bytes).
duckdb::unique_ptr<duckdb::ParsedExpression> cast_to(const tables::column_type& type,
                                                     duckdb::unique_ptr<duckdb::ParsedExpression> child);
// table.column
duckdb::unique_ptr<duckdb::ParsedExpression> column_of(const std::string& column, const std::string& table);
// A SELECT statement of `node` (re-parsed when it has a WITH clause, which DuckDB binds as parsed).
duckdb::unique_ptr<duckdb::SelectStatement> select_of(duckdb::unique_ptr<duckdb::SelectNode> node);

// CREATE TEMP TABLE for rows shaped like `schema` (with its key when
// with_key); `replace` drops an existing one, otherwise it is kept.
std::string duckdb_table_ddl(const tables::table_schema& schema, const std::string& name, bool with_key,
                             bool replace = true);
// Appends rows to one of those TEMP tables.
void append_to_duckdb(duckdb::Connection& conn, const std::string& table, const tables::column_batch& rows);

// 40001: the rows a statement locks kept changing under it (locked_read_attempts_max reads).
error too_many_rereads(const std::string& table);

// The types of `columns` of a table, and every column's index.
std::vector<tables::column_type> column_types(const tables::table_schema& schema, const std::vector<uint32_t>& columns);
std::vector<uint32_t> all_columns(const tables::table_schema& schema);

}  // namespace strata::sql::detail
