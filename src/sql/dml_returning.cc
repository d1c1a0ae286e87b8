// RETURNING on INSERT, UPDATE and DELETE of Strata tables: a SELECT of the
// RETURNING list over a TEMP table shaped like the Strata table, filled with
// the rows the statement changed.
#include <fmt/format.h>

#include "duckdb/parser/tableref/basetableref.hpp"
#include "sql/dml_shared.h"
#include "sql/session_impl.h"

namespace strata::sql::detail {

status session_impl::prepare_returning(write_plan& plan, duckdb::vector<duckdb::unique_ptr<duckdb::ParsedExpression>> list,
                                       const std::string& alias,
                                       const duckdb::case_insensitive_map_t<duckdb::idx_t>& params,
                                       std::vector<field>& fields) {
  // One TEMP table per Strata table (its id changes with its schema) holds
  // the rows a statement changed while RETURNING is evaluated over them.
  plan.returning_table = fmt::format("__strata_returning_{}", plan.table_id);
  auto made = duck_exec(duckdb_table_ddl(plan.schema, plan.returning_table, false, false));
  if (!made.ok()) return made.err();
  auto node = duckdb::make_uniq<duckdb::SelectNode>();
  node->select_list = std::move(list);
  auto ref = duckdb::make_uniq<duckdb::BaseTableRef>();
  ref->catalog_name = "temp";
  ref->schema_name = "main";
  ref->table_name = plan.returning_table;
  ref->alias = alias;
  node->from_table = std::move(ref);
  auto stmt = select_of(std::move(node));
  stmt->named_param_map = params;
  const std::vector<std::string> names = pg_column_names(*stmt);
  auto p = duck_prepare(std::move(stmt));
  if (!p.ok()) return p.err();
  plan.returning = p.value();
  const auto& types = plan.returning->GetTypes();
  const bool rename = names.size() == types.size();
  for (size_t i = 0; i < types.size(); ++i) {
    fields.push_back(field_of(rename ? names[i] : plan.returning->GetNames()[i], types[i]));
  }
  return ok_t{};
}

outcome<tables::column_batch> session_impl::returning_rows(const write_plan& plan, const statement& st,
                                                            const std::vector<parameter>& params,
                                                            const std::vector<tables::column_batch>& changed) {
  const std::string clear = fmt::format("DELETE FROM temp.main.{}", plan.returning_table);
  auto cleared = duck_exec(clear);
  if (!cleared.ok()) return cleared.err();
  struct clear_after {
    session_impl& s;
    const std::string& sql;
    ~clear_after() {
      try {
        (void)s.duck_exec(sql);
      } catch (...) {  // best effort: the next RETURNING clears it first
      }
    }
  } cleanup{*this, clear};
  try {
    for (const auto& rows : changed) append_to_duckdb(connection(), plan.returning_table, rows);
  } catch (const std::exception& ex) {
    return duck_error(duckdb::ErrorData(ex));
  }
  auto result = run(*plan.returning, st, params, false);
  if (!result.ok()) return result.err();
  tables::column_batch out;
  for (const auto& f : st.fields_) out.columns.emplace_back(f.type);
  auto done = each_chunk(result.value(), nullptr, [&](const duckdb::DataChunk& chunk) -> outcome<uint64_t> {
    if (chunk.ColumnCount() != st.fields_.size()) return result_shape_changed(chunk.ColumnCount(), st.fields_.size());
    const uint64_t before = out.memory_bytes();
    append_chunk(chunk, st.fields_, out);
    return out.memory_bytes() - before;
  });
  if (!done.ok()) return done.err();
  return out;
}

}  // namespace strata::sql::detail
