// UPDATE and DELETE of one row of a primary-key table by its whole key
// (`UPDATE t SET v = v + $1 WHERE k = $2`, `DELETE FROM t WHERE k = $1`):
// the row's lock, one key lookup and one buffered write, without DuckDB.
// pgbench's tpcb-like script and ORMs' save() and delete() send these.
//
// The general path (dml.cc) reads rows with DuckDB, locks them and reads
// them again when one changed first. Here the lock comes first: every
// statement that changes an existing row holds its lock until it commits,
// so the row read under the lock is its latest version, as PostgreSQL's
// READ COMMITTED writer sees it once the lock is granted.
#include <fmt/format.h>

#include <chrono>

#include "sql/point_access.h"
#include "sql/session_impl.h"

namespace strata::sql::detail {
namespace {

// Rows one INSERT ... VALUES may give this way; DuckDB takes longer lists.
constexpr size_t point_insert_rows_max = 1000;

// An INSERT whose rows are a plain VALUES list.
const PgQuery__SelectStmt* values_of(const PgQuery__InsertStmt& ins) {
  if (ins.select_stmt == nullptr || ins.select_stmt->node_case != PG_QUERY__NODE__NODE_SELECT_STMT) return nullptr;
  const PgQuery__SelectStmt& s = *ins.select_stmt->select_stmt;
  const bool plain = s.op == PG_QUERY__SET_OPERATION__SETOP_NONE && s.n_values_lists > 0 &&
                     s.n_values_lists <= point_insert_rows_max && s.n_target_list == 0 && s.n_from_clause == 0 &&
                     s.n_sort_clause == 0 && s.limit_count == nullptr && s.limit_offset == nullptr &&
                     s.with_clause == nullptr && s.n_locking_clause == 0;
  return plain ? &s : nullptr;
}

std::shared_ptr<statement> point_write_statement(route how, const tables::table_info& table,
                                                 std::shared_ptr<point_write> point, std::vector<uint32_t> oids) {
  auto plan = std::make_shared<write_plan>();
  plan->table = table.schema.name;
  plan->table_id = table.table_id;
  plan->schema = table.schema;
  plan->action = how == route::insert ? tables::on_conflict::error : tables::on_conflict::replace;
  plan->point = std::move(point);
  auto st = std::make_shared<statement>();
  st->how = how;
  st->kind_ = statement_kind::command;
  st->write = std::move(plan);
  st->parameter_oids_ = std::move(oids);
  st->hinted_types.assign(st->parameter_oids_.size(), std::nullopt);
  return st;
}

int64_t statement_time_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::optional<std::shared_ptr<statement>> session_impl::prepare_point_update(const PgQuery__UpdateStmt& u) {
  if (u.relation == nullptr || u.with_clause != nullptr || u.n_from_clause > 0 || u.n_returning_list > 0) {
    return std::nullopt;
  }
  point_range range;
  auto table = find_point_table(*u.relation, range);
  if (!table) return std::nullopt;
  const tables::table_schema& schema = table->schema;
  auto point = std::make_shared<point_write>();
  point->values.resize(schema.columns.size());
  parameter_types types(prepare_hints_);
  for (size_t i = 0; i < u.n_target_list; ++i) {
    const PgQuery__Node* t = u.target_list[i];
    if (t->node_case != PG_QUERY__NODE__NODE_RES_TARGET || t->res_target->n_indirection > 0) return std::nullopt;
    auto c = column_named(schema, t->res_target->name);
    // A key column changes which row this is: the general path moves it.
    if (!c || point->values[*c] || schema.is_key_column(*c)) return std::nullopt;
    point->values[*c] = read_value_expr(t->res_target->val, schema.columns[*c].type, schema, range.qualifier, types);
    if (!point->values[*c]) return std::nullopt;
  }
  if (!read_key_where(u.where_clause, schema, range.qualifier, point->key, types)) return std::nullopt;
  auto oids = types.oids();
  if (!oids) return std::nullopt;
  return point_write_statement(route::update, *table, std::move(point), std::move(*oids));
}

std::optional<std::shared_ptr<statement>> session_impl::prepare_point_delete(const PgQuery__DeleteStmt& d) {
  if (d.relation == nullptr || d.with_clause != nullptr || d.n_using_clause > 0 || d.n_returning_list > 0) {
    return std::nullopt;
  }
  point_range range;
  auto table = find_point_table(*d.relation, range);
  if (!table) return std::nullopt;
  auto point = std::make_shared<point_write>();
  parameter_types types(prepare_hints_);
  if (!read_key_where(d.where_clause, table->schema, range.qualifier, point->key, types)) return std::nullopt;
  auto oids = types.oids();
  if (!oids) return std::nullopt;
  return point_write_statement(route::remove, *table, std::move(point), std::move(*oids));
}

std::optional<std::shared_ptr<statement>> session_impl::prepare_point_insert(const PgQuery__InsertStmt& ins) {
  const PgQuery__SelectStmt* values = values_of(ins);
  if (values == nullptr || ins.relation == nullptr || ins.on_conflict_clause != nullptr || ins.n_returning_list > 0 ||
      ins.with_clause != nullptr || ins.override != PG_QUERY__OVERRIDING_KIND__OVERRIDING_NOT_SET) {
    return std::nullopt;
  }
  point_range range;
  auto table = find_point_table(*ins.relation, range, true);
  if (!table) return std::nullopt;
  const tables::table_schema& schema = table->schema;
  std::vector<uint32_t> columns;
  for (size_t i = 0; i < ins.n_cols; ++i) {
    const PgQuery__Node* t = ins.cols[i];
    if (t->node_case != PG_QUERY__NODE__NODE_RES_TARGET || t->res_target->n_indirection > 0) return std::nullopt;
    auto c = column_named(schema, t->res_target->name);
    if (!c || std::find(columns.begin(), columns.end(), *c) != columns.end()) return std::nullopt;
    columns.push_back(*c);
  }
  if (ins.n_cols == 0) {
    for (uint32_t c = 0; c < schema.columns.size(); ++c) columns.push_back(c);
  }
  // DEFAULTs (nextval, expressions) and identity rules are DuckDB's to apply.
  for (uint32_t c = 0; c < schema.columns.size(); ++c) {
    const bool given = std::find(columns.begin(), columns.end(), c) != columns.end();
    if (!given && !schema.columns[c].default_expr.empty()) return std::nullopt;
    if (given && schema.columns[c].identity == tables::identity_kind::always) return std::nullopt;
  }
  auto point = std::make_shared<point_write>();
  parameter_types types(prepare_hints_);
  const tables::table_schema no_columns;  // VALUES cannot name the table's columns
  for (size_t r = 0; r < values->n_values_lists; ++r) {
    const PgQuery__Node* list = values->values_lists[r];
    if (list->node_case != PG_QUERY__NODE__NODE_LIST || list->list->n_items != columns.size()) return std::nullopt;
    auto& row = point->rows.emplace_back(schema.columns.size());
    for (size_t i = 0; i < columns.size(); ++i) {
      const PgQuery__Node* item = list->list->items[i];
      const tables::column_def& column = schema.columns[columns[i]];
      if (item->node_case == PG_QUERY__NODE__NODE_SET_TO_DEFAULT) {
        if (!column.default_expr.empty()) return std::nullopt;
        continue;
      }
      row[columns[i]] = read_value_expr(item, column.type, no_columns, "", types);
      if (!row[columns[i]]) return std::nullopt;
    }
  }
  auto oids = types.oids();
  if (!oids) return std::nullopt;
  return point_write_statement(route::insert, *table, std::move(point), std::move(*oids));
}

outcome<std::optional<tables::column_batch>> session_impl::lock_point_row(const write_plan& plan,
                                                                          const std::vector<parameter>& params,
                                                                          tables::transaction& txn,
                                                                          tables::lock_strength strength) {
  auto key = key_of(plan.point->key, plan.schema, params);
  if (!key.ok()) return key.err();
  if (!key->has_value()) return std::optional<tables::column_batch>{};
  auto locked = take_locks(txn, plan.table, **key, strength, tables::lock_wait::block);
  if (!locked.ok()) return locked.err();
  auto found = txn.lookup(plan.table, **key);
  if (!found.ok()) return tables_error(found.err());
  if (found->rows.row_count == 0) return std::optional<tables::column_batch>{};
  return std::optional<tables::column_batch>{std::move(found->rows)};
}

outcome<std::string> session_impl::run_point_update(const write_plan& plan, const std::vector<parameter>& params,
                                                    tables::transaction& txn,
                                                    std::vector<tables::column_batch>* changed) {
  auto old = lock_point_row(plan, params, txn, tables::lock_strength::no_key_update);
  if (!old.ok()) return old.err();
  if (!old->has_value()) return std::string("UPDATE 0");
  const tables::column_batch& before = **old;
  tables::column_batch row;
  row.row_count = 1;
  for (size_t c = 0; c < plan.schema.columns.size(); ++c) {
    const auto& value = plan.point->values[c];
    if (!value) {
      row.columns.push_back(before.columns[c]);
      continue;
    }
    tables::column_vector v(plan.schema.columns[c].type);
    auto appended = append_value(*value, before, 0, params, statement_time_us(), v);
    if (!appended.ok()) return appended.err();
    row.columns.push_back(std::move(v));
  }
  auto nn = check_not_null(plan.schema, row);
  if (!nn.ok()) return nn.err();
  auto len = check_lengths(plan.schema, row);
  if (!len.ok()) return len.err();
  auto w = txn.insert(plan.table, row, tables::on_conflict::replace);
  if (!w.ok()) return tables_error(w.err());
  if (changed != nullptr) changed->push_back(std::move(row));
  return std::string("UPDATE 1");
}

outcome<std::string> session_impl::run_point_delete(const write_plan& plan, const std::vector<parameter>& params,
                                                    tables::transaction& txn,
                                                    std::vector<tables::column_batch>* changed) {
  auto old = lock_point_row(plan, params, txn, tables::lock_strength::update);
  if (!old.ok()) return old.err();
  if (!old->has_value()) return std::string("DELETE 0");
  auto w = txn.remove(plan.table, pick_columns(**old, plan.schema.primary_key));
  if (!w.ok()) return tables_error(w.err());
  if (changed != nullptr) changed->push_back(std::move(**old));
  return std::string("DELETE 1");
}

}  // namespace strata::sql::detail

namespace strata::sql::detail {

outcome<std::string> session_impl::run_point_insert(const write_plan& plan, const std::vector<parameter>& params,
                                                    tables::transaction& txn,
                                                    std::vector<tables::column_batch>* changed) {
  const auto& rows = plan.point->rows;
  const int64_t now_us = statement_time_us();
  const tables::column_batch no_row;
  tables::column_batch batch;
  batch.row_count = uint32_t(rows.size());
  for (size_t c = 0; c < plan.schema.columns.size(); ++c) {
    tables::column_vector v(plan.schema.columns[c].type);
    for (const auto& row : rows) {
      if (!row[c]) {
        v.append_null();
        continue;
      }
      auto appended = append_value(*row[c], no_row, 0, params, now_us, v);
      if (!appended.ok()) return appended.err();
    }
    batch.columns.push_back(std::move(v));
  }
  auto nn = check_not_null(plan.schema, batch);
  if (!nn.ok()) return nn.err();
  auto len = check_lengths(plan.schema, batch);
  if (!len.ok()) return len.err();
  auto w = txn.insert(plan.table, batch, plan.action);
  if (!w.ok()) return tables_error(w.err());
  if (changed != nullptr) changed->push_back(std::move(batch));
  return fmt::format("INSERT 0 {}", w->rows_written);
}

}  // namespace strata::sql::detail
