// PostgreSQL's sequence functions inside DuckDB: nextval, currval, setval
// and lastval over tables::sequence_store, in place of DuckDB's own (which
// only know DuckDB's sequences). The engine makes `regclass` a name for
// text, so that nextval('t_id_seq'::regclass), as pg_dump writes it, runs.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "duckdb.hpp"
#include "sql/session.h"
#include "tables/sequences.h"

namespace strata::sql {

// Per connection: what currval and lastval answer (PostgreSQL keeps them per
// session). Registered in the connection's ClientContext under its key.
struct sequence_context : duckdb::ClientContextState {
  static constexpr const char* key = "strata_sequence_context";
  explicit sequence_context(tables::sequence_store& s) : store(s) {}
  tables::sequence_store& store;
  std::map<std::string, int64_t> current;
  std::optional<std::string> last_used;
  // Sequence names by oid, for nextval(oid); rebuilt when an oid is missing.
  std::map<int64_t, std::string> names_by_oid;
};

// Replaces DuckDB's nextval/currval and adds setval/lastval. Once per
// database, before any session.
void register_sequence_functions(duckdb::DatabaseInstance& db);

// A sequence named as nextval's argument: 'name', 'public.name' or
// '"Name"', folded as PostgreSQL folds identifiers. 3F000 for another
// schema, 42602 for a malformed name.
outcome<std::string> sequence_name_of(std::string_view text);

}  // namespace strata::sql
