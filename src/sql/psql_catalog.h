// Answers the catalog queries psql (15) sends for \d, \dt, \d+ TABLE, \l and
// \dn, and the few catalog probes drivers send at connect, from Strata's table
// catalog. DuckDB cannot run these queries (regex operators, pg_catalog
// functions and columns it lacks), so they are recognised and answered here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/session.h"
#include "tables/service.h"

namespace strata::sql {

struct catalog_answer {
  std::vector<field> fields;
  tables::column_batch rows;
  std::string command_tag;  // "SELECT n"
};

// nullopt: not a catalog query this module knows; the caller runs it normally.
// `sequences` appear in psql's relation lists (\d, \ds) only.
std::optional<outcome<catalog_answer>> answer_catalog_query(std::string_view sql,
                                                            const std::vector<tables::table_info>& tables,
                                                            std::string_view database, std::string_view user,
                                                            const std::vector<tables::sequence_info>& sequences = {});

// PostgreSQL's quote_ident: names that are not plain lower-case words, or
// are keywords, get quotes.
std::string quote_ident(std::string_view name);
// A table's primary-key index name, as ChooseRelationName(table, NULL,
// "pkey") makes it: "<table>_pkey", the table part clipped to fit 63 bytes.
std::string pkey_name(const std::string& table);
// pg_get_indexdef of a table's primary-key index:
// "CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)".
std::string primary_key_index_definition(const tables::table_schema& schema);

// Stable OIDs for Strata tables in catalog answers (pg_class.oid), derived from table ids.
uint32_t table_oid(uint64_t table_id);
// A sequence's oid: from its name, in the upper half of the oid space, which
// table oids do not reach while table ids stay below 2^30.
int64_t sequence_oid(const std::string& name);

}  // namespace strata::sql
