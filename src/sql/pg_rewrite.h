// pg_rewrite: what only PostgreSQL understands, rewritten on its parse tree
// (pg_parse.h) into SQL that DuckDB runs, then printed back with
// libpg_query's deparser. Statements that need none of it are left as the
// client wrote them, so DuckDB-only syntax keeps working.
//
// The rewrites:
// - pg_catalog-qualified names of functions and types lose the qualifier
//   (pg_catalog.version(), x::pg_catalog.regclass), since DuckDB keeps its
//   built-ins unqualified;
// - OPERATOR(pg_catalog.=) is the operator itself;
// - PostgreSQL's regular-expression operators ~, ~*, !~ and !~* become
//   regexp_matches calls, since DuckDB's ~ is a full match, not a search;
// - casts to regclass become the functions below (a name to an oid, an oid
//   to a name), and functions DuckDB names otherwise are renamed
//   (json_build_object, format_type, current_schemas);
// - the alias of a set-returning function of single values also names its
//   column (FROM generate_series(1, 3) g), as in PostgreSQL;
// - pg_catalog relations whose DuckDB definitions differ from PostgreSQL's
//   (pg_constraint, pg_index) are read from Strata's own definitions in
//   `catalog_override_schema` (catalog_functions.cc);
// - x = ANY(array column) and x <> ALL(array column) become a macro call,
//   since DuckDB plans ANY over a list as a subquery, which it cannot join
//   on in an outer join (catalog queries: a.attnum = ANY(ix.indkey));
// - a / b and a % b become macro calls that fail with 22012 when b is zero,
//   as PostgreSQL does, where DuckDB gives NULL (or infinity).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sql/pg_parse.h"

namespace strata::sql {

// What casts to regclass become (catalog_functions.cc defines them): the oid
// of a relation named by text, and the name of a relation given its oid.
inline constexpr std::string_view regclass_oid_function = "strata_regclass_oid";
inline constexpr std::string_view regclass_name_function = "strata_regclass_name";
// format_type with PostgreSQL's long names ("integer", "character varying").
inline constexpr std::string_view format_type_function = "strata_format_type";
// current_schemas without DuckDB's internal schemas.
inline constexpr std::string_view current_schemas_function = "strata_current_schemas";
// Where Strata defines pg_catalog relations as PostgreSQL does, where
// DuckDB's differ: conname, conkey and conindid of pg_constraint; the
// primary keys in pg_index, with their indkey. DuckDB's pg_catalog cannot be
// replaced in place.
inline constexpr std::string_view catalog_override_schema = "strata_catalog";
inline constexpr std::string_view catalog_overrides[] = {"pg_constraint", "pg_index"};

// x = ANY(list) with PostgreSQL's NULLs, as a DuckDB macro (engine.cc
// creates it): true on a match; else NULL when x, the list or an element is
// NULL; else false.
inline constexpr std::string_view any_equal_macro = "strata_any_equal";
// a / b and a % b, failing with 22012 "division by zero" when b is zero
// (DuckDB macros, engine.cc creates them); otherwise DuckDB's own operator.
inline constexpr std::string_view divide_macro = "strata_divide";
inline constexpr std::string_view modulo_macro = "strata_modulo";

// Rewrites `tree`, parsed from `sql`, in place. nullopt: it needed no
// rewrite; otherwise the text for DuckDB. An error only when the deparser
// fails.
outcome<std::optional<std::string>> rewrite_for_duckdb(pg_tree& tree, std::string_view sql);

}  // namespace strata::sql
