// SELECT of plain columns from one primary-key table by its whole key
// (`WHERE k = $1 [AND k2 = 'x']`): one lookup in the table's key state,
// without DuckDB's parse, bind and plan, which cost ten times the lookup.
// pgbench's select-only script, ORMs' get-by-id and job queues send these.
//
// The statement is matched on PostgreSQL's tree; anything else (another
// operator, an expression in the select list, a cast, ORDER BY, OFFSET, a
// key type whose equality is not byte equality) goes to DuckDB as before.
// The plan describes its columns and parameters as DuckDB would, so a client
// cannot tell which path ran.
#include <fmt/format.h>

#include "sql/copy_format.h"
#include "sql/duckdb_bridge.h"
#include "sql/pg_parse.h"
#include "sql/point_access.h"
#include "sql/pg_types.h"
#include "sql/session_impl.h"

namespace strata::sql::detail {
namespace {

bool is_star(const PgQuery__Node* n, std::string_view qualifier) {
  if (n == nullptr || n->node_case != PG_QUERY__NODE__NODE_COLUMN_REF) return false;
  const PgQuery__ColumnRef& ref = *n->column_ref;
  if (ref.n_fields == 0 || ref.fields[ref.n_fields - 1]->node_case != PG_QUERY__NODE__NODE_A_STAR) return false;
  if (ref.n_fields == 1) return true;
  return ref.n_fields == 2 && ref.fields[0]->node_case == PG_QUERY__NODE__NODE_STRING &&
         node_text(ref.fields[0]) == qualifier;
}

// The row limit LIMIT allows: no LIMIT, or a constant of at least one (a
// lookup returns one row at most).
bool limit_allows_a_row(const PgQuery__SelectStmt& s) {
  if (s.limit_count == nullptr) return true;
  if (s.limit_option != PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_COUNT) return false;
  const PgQuery__Node* n = s.limit_count;
  return n->node_case == PG_QUERY__NODE__NODE_A_CONST && !n->a_const->isnull &&
         n->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL && const_int(n) >= 1;
}

bool plain_select(const PgQuery__SelectStmt& s) {
  return s.op == PG_QUERY__SET_OPERATION__SETOP_NONE && s.n_distinct_clause == 0 && s.into_clause == nullptr &&
         s.n_from_clause == 1 && s.from_clause[0]->node_case == PG_QUERY__NODE__NODE_RANGE_VAR &&
         s.where_clause != nullptr && s.n_group_clause == 0 && s.having_clause == nullptr && s.n_window_clause == 0 &&
         s.n_values_lists == 0 && s.n_sort_clause == 0 && s.limit_offset == nullptr && limit_allows_a_row(s) &&
         s.n_locking_clause == 0 && s.with_clause == nullptr && s.n_target_list > 0;
}

}  // namespace

void describe_as_column(field& f, const tables::column_type& source) {
  // DuckDB's VARCHAR has no length: a varchar(n) column read straight from
  // its table is reported as PostgreSQL does (OID 1043, typmod n + 4).
  if (f.type_oid != oid::text || pg_type_of(source).oid != oid::varchar) return;
  f.type_oid = oid::varchar;
  f.type_modifier = pg_typmod_of(source);
}

field column_field(const std::string& name, const tables::column_type& type) {
  field f = field_of(name, to_duckdb_type(type));
  describe_as_column(f, type);
  return f;
}

std::optional<std::shared_ptr<statement>> session_impl::prepare_point_select(const PgQuery__SelectStmt& s) {
  if (!plain_select(s)) return std::nullopt;
  point_range range;
  auto table = find_point_table(*s.from_clause[0]->range_var, range);
  if (!table) return std::nullopt;
  const tables::table_schema& schema = table->schema;

  auto plan = std::make_shared<point_plan>();
  plan->table = schema.name;
  plan->table_id = table->table_id;
  plan->schema = schema;
  auto st = std::make_shared<statement>();
  auto add_column = [&](uint32_t c, std::string_view name) {
    plan->columns.push_back(c);
    st->fields_.push_back(column_field(std::string(name), schema.columns[c].type));
  };
  for (size_t i = 0; i < s.n_target_list; ++i) {
    const PgQuery__Node* t = s.target_list[i];
    if (t->node_case != PG_QUERY__NODE__NODE_RES_TARGET || t->res_target->n_indirection > 0) return std::nullopt;
    const PgQuery__ResTarget& target = *t->res_target;
    if (is_star(target.val, range.qualifier) && target.name[0] == '\0') {
      for (uint32_t c = 0; c < schema.columns.size(); ++c) add_column(c, schema.columns[c].name);
      continue;
    }
    auto c = column_of_ref(target.val, schema, range.qualifier);
    if (!c) return std::nullopt;
    add_column(*c, target.name[0] != '\0' ? std::string_view(target.name) : schema.columns[*c].name);
  }
  parameter_types types(prepare_hints_);
  if (!read_key_where(s.where_clause, schema, range.qualifier, plan->key, types)) return std::nullopt;
  auto oids = types.oids();
  if (!oids) return std::nullopt;
  st->how = route::point_select;
  st->kind_ = statement_kind::query;
  st->parameter_oids_ = std::move(*oids);
  st->hinted_types.assign(st->parameter_oids_.size(), std::nullopt);
  st->point = std::move(plan);
  return st;
}

std::optional<tables::table_info> session_impl::find_point_table(const PgQuery__RangeVar& from, point_range& range,
                                                                  bool any_kind) {
  auto read = read_point_range(from);
  if (!read) return std::nullopt;
  range = *read;
  auto table = find_unhidden_table(std::string(range.schema), std::string(range.name));
  if (!table || (!any_kind && table->schema.kind != tables::table_kind::primary_key)) return std::nullopt;
  return table;
}

outcome<std::unique_ptr<cursor>> session_impl::run_point_select(statement& st, const std::vector<parameter>& params) {
  auto replanned = replan_if_changed(st);
  if (!replanned.ok()) return replanned.err();
  if (st.how != route::point_select) return execute_inner(st, params);
  const point_plan& plan = *st.point;
  auto key = key_of(plan.key, plan.schema, params);
  if (!key.ok()) return key.err();
  tables::column_batch rows;
  if (key->has_value()) {
    std::unique_ptr<tables::transaction> autocommit;
    tables::transaction& txn = txn_ ? *txn_ : *(autocommit = parts_.tables.begin());
    auto found = txn.lookup(plan.table, **key);
    if (!found.ok()) return tables_error(found.err());
    rows = pick_columns(found->rows, plan.columns);
  } else {  // `k = NULL` is never true
    for (uint32_t c : plan.columns) rows.columns.emplace_back(plan.schema.columns[c].type);
  }
  for (size_t i = 0; i < rows.columns.size(); ++i) rows.columns[i].type = st.fields_[i].type;
  const uint32_t count = rows.row_count;
  return rows_cursor_of(std::move(rows), fmt::format("SELECT {}", count));
}

}  // namespace strata::sql::detail
