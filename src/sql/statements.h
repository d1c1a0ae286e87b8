// Parsers for the statements Strata runs itself rather than DuckDB:
// CREATE TABLE (with PRIMARY KEY, PARTITION BY and WITH (buckets = n)),
// DROP TABLE and COPY ... FROM STDIN / TO STDOUT. Syntax: docs/sql.md.
// Pure functions over text: no DuckDB, no I/O, safe on untrusted input.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/session.h"
#include "tables/schema.h"

namespace strata::sql {

// Identifiers follow PostgreSQL: unquoted ones are lower-cased, "quoted" ones
// kept as written; a `public.` (or "public".) schema qualifier is accepted and dropped.

struct create_table_statement {
  // Validated with tables::validate. A column's default_expr is its DEFAULT
  // as written; serial and identity columns get theirs when their sequence
  // is named (at run time).
  tables::table_schema schema;
  bool if_not_exists = false;
  std::vector<uint32_t> serial_columns;  // columns declared smallserial, serial or bigserial
};

// A table name as written: schema empty when unqualified.
struct qualified_name {
  std::string schema;
  std::string name;
};

struct drop_table_statement {
  std::vector<qualified_name> tables;
  bool if_exists = false;
};

struct copy_statement {
  bool from_stdin = true;           // false: TO STDOUT
  std::string table;                // empty when `query` is set (COPY (query) TO STDOUT)
  std::vector<std::string> columns; // empty = every column
  std::string query;
  copy_format format = copy_format::text;
  char delimiter = '\t';            // ',' for csv
  std::string null_string = "\\N";  // "" for csv
  bool header = false;              // csv only
  char quote = '"';                 // csv only
  char escape = '"';                // csv only
};

// Each returns nullopt when the text is not that kind of statement (so the
// caller hands it on), or an error (SQLSTATE 42601 and friends) when it is
// but is malformed or unsupported.
std::optional<outcome<create_table_statement>> parse_create_table(std::string_view sql);
std::optional<outcome<copy_statement>> parse_copy(std::string_view sql);

// Normalizes one identifier as PostgreSQL would (lower-case unless quoted).
std::string normalize_identifier(std::string_view text);
// `name` as a "quoted identifier" (inner quotes doubled), safe to splice into SQL.
std::string quote_identifier(std::string_view name);

}  // namespace strata::sql
