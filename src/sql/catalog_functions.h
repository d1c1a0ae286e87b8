// Strata's tables and sequences in DuckDB's own catalog functions:
// duckdb_tables(), duckdb_columns(), duckdb_sequences() and
// duckdb_constraints() (primary keys) list them next to
// DuckDB's objects (the session's TEMP tables). DuckDB builds its pg_catalog
// (pg_class, pg_attribute, pg_attrdef, pg_namespace, pg_sequence, ...) and
// information_schema views on these functions, so every catalog query a
// client sends, in whatever words, sees Strata's catalog through the engine.
#pragma once

#include "duckdb.hpp"
#include "tables/service.h"

namespace strata::sql {

// Wraps DuckDB's functions in place and adds the regclass functions that
// pg_rewrite.h names. Once per database, before any session.
void register_strata_catalog(duckdb::DatabaseInstance& db, tables::service& tables);

}  // namespace strata::sql
