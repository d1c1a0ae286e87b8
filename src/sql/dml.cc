// INSERT / UPDATE / DELETE on Strata tables. DuckDB computes the rows (the
// statement is rewritten into a SELECT over the table's scan, which sees the
// session's open transaction), then the rows go through tables::transaction.
#include <algorithm>
#include <unordered_set>

#include <fmt/format.h>

#include "base/ascii.h"
#include "duckdb/main/appender.hpp"
#include "duckdb/parser/expression/cast_expression.hpp"
#include "duckdb/parser/expression/columnref_expression.hpp"
#include "duckdb/parser/expression/constant_expression.hpp"
#include "duckdb/parser/expression/star_expression.hpp"
#include "duckdb/parser/parser.hpp"
#include "duckdb/parser/query_node/select_node.hpp"
#include "duckdb/parser/statement/delete_statement.hpp"
#include "duckdb/parser/statement/insert_statement.hpp"
#include "duckdb/parser/statement/select_statement.hpp"
#include "duckdb/parser/statement/update_statement.hpp"
#include "duckdb/parser/tableref/basetableref.hpp"
#include "duckdb/parser/tableref/emptytableref.hpp"
#include "duckdb/parser/tableref/expressionlistref.hpp"
#include "duckdb/parser/tableref/joinref.hpp"
#include "duckdb/parser/tableref/subqueryref.hpp"
#include "sql/dml_shared.h"
#include "sql/session_impl.h"
#include "sql/statements.h"

namespace strata::sql::detail {

using expr_ptr = duckdb::unique_ptr<duckdb::ParsedExpression>;

namespace {

// PostgreSQL's bytea text form ('\x0102') as bytes; DuckDB would read it as escapes.
std::optional<std::string> bytea_hex(const duckdb::ParsedExpression& e) {
  if (e.GetExpressionClass() != duckdb::ExpressionClass::CONSTANT) return std::nullopt;
  const auto& v = e.Cast<duckdb::ConstantExpression>().value;
  if (v.IsNull() || v.type().id() != duckdb::LogicalTypeId::VARCHAR) return std::nullopt;
  const std::string& text = duckdb::StringValue::Get(v);
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 2; i < text.size(); i += 2) {
    int hi = std::isxdigit(static_cast<unsigned char>(text[i])) ? std::stoi(text.substr(i, 1), nullptr, 16) : -1;
    int lo = std::isxdigit(static_cast<unsigned char>(text[i + 1])) ? std::stoi(text.substr(i + 1, 1), nullptr, 16) : -1;
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

}  // namespace

expr_ptr cast_to(const tables::column_type& type, expr_ptr child) {
  if (type.id == tables::type_id::bytea) {
    if (auto bytes = bytea_hex(*child)) {
      child = duckdb::make_uniq<duckdb::ConstantExpression>(
          duckdb::Value::BLOB(reinterpret_cast<duckdb::const_data_ptr_t>(bytes->data()), bytes->size()));
    }
  }
  return duckdb::make_uniq<duckdb::CastExpression>(to_duckdb_type(type), std::move(child));
}

expr_ptr column_of(const std::string& column, const std::string& table) {
  return duckdb::make_uniq<duckdb::ColumnRefExpression>(column, table);
}

duckdb::unique_ptr<duckdb::SelectStatement> select_of(duckdb::unique_ptr<duckdb::SelectNode> node) {
  bool has_cte = !node->cte_map.map.empty();
  auto stmt = duckdb::make_uniq<duckdb::SelectStatement>();
  stmt->node = std::move(node);
  if (!has_cte) return stmt;
  // DuckDB binds WITH clauses as its parser shapes them; a CTE map moved onto
  // a new node is not bound, so the rewritten statement goes through the parser.
  duckdb::Parser parser;
  parser.ParseQuery(stmt->ToString());
  return duckdb::unique_ptr_cast<duckdb::SQLStatement, duckdb::SelectStatement>(std::move(parser.statements[0]));
}

namespace {

constexpr const char* upsert_target = "__strata_upsert_target";
constexpr const char* upsert_rows = "__strata_upsert_rows";
constexpr const char* source_alias = "__strata_src";



error no_column(const tables::table_schema& schema, const std::string& name) {
  return error{"42703", fmt::format("column \"{}\" of relation \"{}\" does not exist", name, schema.name), {},
               "\\d " + schema.name + " lists its columns."};
}

expr_ptr null_of(const tables::column_type& type) {
  return cast_to(type, duckdb::make_uniq<duckdb::ConstantExpression>(duckdb::Value()));
}

bool is_default(const duckdb::ParsedExpression& e) { return e.GetExpressionType() == duckdb::ExpressionType::VALUE_DEFAULT; }

// The column's DEFAULT (NULL without one), cast to its type.
outcome<expr_ptr> default_of(const tables::column_def& column) {
  if (column.default_expr.empty()) return null_of(column.type);
  try {
    auto list = duckdb::Parser::ParseExpressionList(column.default_expr);
    if (list.size() == 1) return cast_to(column.type, std::move(list[0]));
  } catch (const std::exception&) {  // a stored DEFAULT parsed when the table was created
  }
  return error{"XX000", fmt::format("the DEFAULT of column \"{}\" ({}) no longer parses", column.name, column.default_expr),
               {}, "Report this as a bug."};
}

// PostgreSQL's refusal of a value for a GENERATED ALWAYS identity column.
error identity_always(const tables::column_def& column, bool update) {
  error e{"428C9",
          update ? fmt::format("column \"{}\" can only be updated to DEFAULT", column.name)
                 : fmt::format("cannot insert a non-DEFAULT value into column \"{}\"", column.name),
          {}, {}};
  e.detail = fmt::format("Column \"{}\" is an identity column defined as GENERATED ALWAYS.", column.name);
  if (!update) e.hint = "Use OVERRIDING SYSTEM VALUE to override.";
  return e;
}

bool is_always_identity(const tables::column_def& column) { return column.identity == tables::identity_kind::always; }


duckdb::unique_ptr<duckdb::TableRef> cross_join(duckdb::unique_ptr<duckdb::TableRef> left, duckdb::unique_ptr<duckdb::TableRef> right) {
  auto join = duckdb::make_uniq<duckdb::JoinRef>(duckdb::JoinRefType::CROSS);
  join->left = std::move(left);
  join->right = std::move(right);
  return join;
}

tables::column_batch concat(const std::vector<tables::column_batch>& batches) {
  tables::column_batch out;
  for (const auto& b : batches) append_batch(b, 0, b.row_count, out);
  return out;
}

// Groups chunk-sized batches into pieces of about write_piece_bytes.
std::vector<tables::column_batch> pieces_of(std::vector<tables::column_batch> batches) {
  std::vector<tables::column_batch> out;
  tables::column_batch current;
  for (auto& b : batches) {
    append_batch(b, 0, b.row_count, current);
    if (current.memory_bytes() >= write_piece_bytes) out.push_back(std::move(current)), current = {};
  }
  if (current.row_count > 0) out.push_back(std::move(current));
  return out;
}

}  // namespace

std::vector<tables::column_type> column_types(const tables::table_schema& schema, const std::vector<uint32_t>& columns) {
  std::vector<tables::column_type> out;
  for (uint32_t c : columns) out.push_back(schema.columns[c].type);
  return out;
}

std::vector<uint32_t> all_columns(const tables::table_schema& schema) {
  std::vector<uint32_t> out(schema.columns.size());
  for (uint32_t i = 0; i < out.size(); ++i) out[i] = i;
  return out;
}

std::string duckdb_table_ddl(const tables::table_schema& schema, const std::string& name, bool with_key,
                             bool replace) {
  std::string ddl = (replace ? "CREATE OR REPLACE TEMP TABLE " : "CREATE TEMP TABLE IF NOT EXISTS ") + name + " (";
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    if (i > 0) ddl += ", ";
    ddl += quote_identifier(schema.columns[i].name) + " " + to_duckdb_type(schema.columns[i].type).ToString();
  }
  if (with_key) {
    ddl += ", PRIMARY KEY (";
    for (size_t i = 0; i < schema.primary_key.size(); ++i) {
      if (i > 0) ddl += ", ";
      ddl += quote_identifier(schema.columns[schema.primary_key[i]].name);
    }
    ddl += ")";
  }
  return ddl + ")";
}

void append_to_duckdb(duckdb::Connection& conn, const std::string& table, const tables::column_batch& rows) {
  duckdb::Appender app(conn, "temp", "main", table);
  for (uint32_t r = 0; r < rows.row_count; ++r) {
    app.BeginRow();
    for (const auto& col : rows.columns) app.Append(to_duckdb_value(tables::scalar_at(col, r), col.type));
    app.EndRow();
  }
  app.Close();
}


// ---------------------------------------------------------------- prepare

namespace {

struct insert_build {
  duckdb::unique_ptr<duckdb::SelectStatement> source;
  duckdb::unique_ptr<duckdb::SelectStatement> probe;  // the user's SELECT, to count its columns
  size_t input_columns = 0;
};

outcome<insert_build> build_insert_source(duckdb::InsertStatement& ins, const tables::table_schema& schema) {
  if (ins.column_order == duckdb::InsertColumnOrder::INSERT_BY_NAME) {
    return error{"0A000", "INSERT BY NAME is not supported on Strata tables", {}, "List the columns: INSERT INTO t (a, b) ..."};
  }
  std::vector<uint32_t> positions;
  if (ins.columns.empty()) {
    positions = all_columns(schema);
  } else {
    for (const auto& name : ins.columns) {
      auto c = column_named(schema, name);
      if (!c) return no_column(schema, name);
      if (std::find(positions.begin(), positions.end(), *c) != positions.end()) {
        return error{"42701", fmt::format("column \"{}\" specified more than once", name), {}, {}};
      }
      positions.push_back(*c);
    }
  }
  // PostgreSQL fills the trailing columns with their defaults (NULL here)
  // when VALUES gives fewer expressions and there is no column list.
  if (ins.columns.empty() && !ins.default_values) {
    if (auto values = ins.GetValuesList(); values && !values->values.empty() &&
                                           values->values.front().size() < positions.size()) {
      positions.resize(values->values.front().size());
    }
  }
  insert_build out;
  out.input_columns = positions.size();
  duckdb::unique_ptr<duckdb::SelectStatement> source;
  if (!ins.default_values) {
    if (auto values = ins.GetValuesList()) {
      for (auto& row : values->values) {
        if (row.size() > positions.size()) return error{"42601", "INSERT has more expressions than target columns", {}, {}};
        if (row.size() < positions.size()) return error{"42601", "INSERT has more target columns than expressions", {}, {}};
        for (size_t j = 0; j < row.size(); ++j) {
          const auto& column = schema.columns[positions[j]];
          if (is_default(*row[j])) {
            auto value = default_of(column);
            if (!value.ok()) return value.err();
            row[j] = std::move(*value);
          } else if (is_always_identity(column)) {
            return identity_always(column, false);
          } else {
            row[j] = cast_to(column.type, std::move(row[j]));
          }
        }
      }
    } else {
      for (uint32_t p : positions) {
        if (is_always_identity(schema.columns[p])) return identity_always(schema.columns[p], false);
      }
      auto probe = duckdb::make_uniq<duckdb::SelectNode>();
      probe->select_list.push_back(duckdb::make_uniq<duckdb::StarExpression>());
      probe->from_table = duckdb::make_uniq<duckdb::SubqueryRef>(
          duckdb::unique_ptr_cast<duckdb::SQLStatement, duckdb::SelectStatement>(ins.select_statement->Copy()), source_alias);
      probe->cte_map = ins.cte_map.Copy();
      out.probe = select_of(std::move(probe));
    }
    source = std::move(ins.select_statement);
  }
  auto node = duckdb::make_uniq<duckdb::SelectNode>();
  for (uint32_t i = 0; i < schema.columns.size(); ++i) {
    auto at = std::find(positions.begin(), positions.end(), i);
    if (at == positions.end() || !source) {
      auto value = default_of(schema.columns[i]);
      if (!value.ok()) return value.err();
      node->select_list.push_back(std::move(*value));
    } else {
      node->select_list.push_back(
          cast_to(schema.columns[i].type, column_of(fmt::format("c{}", at - positions.begin()), source_alias)));
    }
  }
  if (source) {
    auto sub = duckdb::make_uniq<duckdb::SubqueryRef>(std::move(source), source_alias);
    for (size_t j = 0; j < positions.size(); ++j) sub->column_name_alias.push_back(fmt::format("c{}", j));
    node->from_table = std::move(sub);
  } else {
    node->from_table = duckdb::make_uniq<duckdb::EmptyTableRef>();
  }
  node->cte_map = ins.cte_map.Copy();
  out.source = select_of(std::move(node));
  return out;
}

// The ON CONFLICT clause: the action, and for DO UPDATE which columns it sets.
status plan_on_conflict(duckdb::InsertStatement& ins, write_plan& plan) {
  const auto& schema = plan.schema;
  if (!ins.on_conflict_info) {
    plan.action = tables::on_conflict::error;
    return ok_t{};
  }
  auto& oc = *ins.on_conflict_info;
  if (schema.kind != tables::table_kind::primary_key) {
    return error{"42P10", "there is no unique or exclusion constraint matching the ON CONFLICT specification", {},
                 fmt::format("\"{}\" is a log table; only primary-key tables take ON CONFLICT.", schema.name)};
  }
  if (!oc.indexed_columns.empty()) {
    std::vector<uint32_t> target;
    for (const auto& name : oc.indexed_columns) {
      auto c = column_named(schema, name);
      if (!c) return no_column(schema, name);
      target.push_back(*c);
    }
    std::vector<uint32_t> key = schema.primary_key;
    std::sort(target.begin(), target.end());
    std::sort(key.begin(), key.end());
    if (target != key) {
      return error{"42P10", "there is no unique or exclusion constraint matching the ON CONFLICT specification", {},
                   "Name the primary-key columns: ON CONFLICT (key columns)."};
    }
  }
  if (oc.action_type == duckdb::OnConflictAction::NOTHING) {
    plan.action = tables::on_conflict::do_nothing;
    return ok_t{};
  }
  plan.action = tables::on_conflict::replace;
  plan.do_update = true;
  bool general = oc.condition != nullptr;
  if (oc.action_type == duckdb::OnConflictAction::REPLACE || !oc.set_info) {
    for (uint32_t i = 0; i < schema.columns.size(); ++i) {
      if (!schema.is_key_column(i)) plan.set_columns.push_back(i);
    }
    plan.excluded_only = true;
    return ok_t{};
  }
  auto& set = *oc.set_info;
  general |= set.condition != nullptr;
  for (size_t k = 0; k < set.columns.size(); ++k) {
    auto c = column_named(schema, set.columns[k]);
    if (!c) return no_column(schema, set.columns[k]);
    if (schema.is_key_column(*c)) {
      return error{"0A000", fmt::format("ON CONFLICT DO UPDATE cannot change primary-key column \"{}\"", set.columns[k]),
                   {}, "Delete the row and insert the new key instead."};
    }
    if (std::find(plan.set_columns.begin(), plan.set_columns.end(), *c) != plan.set_columns.end()) {
      return error{"42601", fmt::format("multiple assignments to same column \"{}\"", set.columns[k]), {}, {}};
    }
    plan.set_columns.push_back(*c);
    const auto& e = *set.expressions[k];
    bool excluded_same = false;
    if (e.GetExpressionClass() == duckdb::ExpressionClass::COLUMN_REF) {
      const auto& names = e.Cast<duckdb::ColumnRefExpression>().column_names;
      excluded_same = names.size() == 2 && iequals_ascii(names[0], "excluded") && iequals_ascii(names[1], schema.columns[*c].name);
    }
    general |= !excluded_same;
  }
  plan.excluded_only = !general;
  return ok_t{};
}

// The INSERT that runs the general DO UPDATE over two session TEMP tables:
// the existing rows (with the key) and the incoming rows.
outcome<std::shared_ptr<duckdb::SQLStatement>> upsert_statement(const duckdb::InsertStatement& original,
                                                                const tables::table_schema& schema) {
  auto copy = duckdb::unique_ptr_cast<duckdb::SQLStatement, duckdb::InsertStatement>(original.Copy());
  std::string alias = original.table_ref && !original.table_ref->alias.empty() ? original.table_ref->alias : original.table;
  copy->table = upsert_target;
  copy->schema = "main";
  copy->catalog = "temp";
  auto ref = duckdb::make_uniq<duckdb::BaseTableRef>();
  ref->catalog_name = "temp";
  ref->schema_name = "main";
  ref->table_name = upsert_target;
  ref->alias = alias;
  copy->table_ref = std::move(ref);
  copy->columns.clear();
  copy->cte_map = duckdb::CommonTableExpressionMap();
  duckdb::Parser parser;
  parser.ParseQuery(fmt::format("SELECT * FROM temp.main.{}", upsert_rows));
  copy->select_statement =
      duckdb::unique_ptr_cast<duckdb::SQLStatement, duckdb::SelectStatement>(std::move(parser.statements[0]));
  copy->returning_list.clear();
  copy->returning_list.push_back(duckdb::make_uniq<duckdb::StarExpression>());
  if (copy->on_conflict_info->indexed_columns.empty()) {
    for (uint32_t k : schema.primary_key) copy->on_conflict_info->indexed_columns.push_back(schema.columns[k].name);
  }
  return std::shared_ptr<duckdb::SQLStatement>(copy.release());
}

outcome<duckdb::unique_ptr<duckdb::SelectStatement>> build_update_source(duckdb::UpdateStatement& up, write_plan& plan) {
  const auto& schema = plan.schema;
  auto& base = up.table->Cast<duckdb::BaseTableRef>();
  std::string alias = base.alias.empty() ? base.table_name : base.alias;
  auto& set = *up.set_info;
  std::vector<expr_ptr> values(schema.columns.size());
  for (size_t k = 0; k < set.columns.size(); ++k) {
    auto c = column_named(schema, set.columns[k]);
    if (!c) return no_column(schema, set.columns[k]);
    if (values[*c]) return error{"42601", fmt::format("multiple assignments to same column \"{}\"", set.columns[k]), {}, {}};
    const auto& column = schema.columns[*c];
    if (is_default(*set.expressions[k])) {
      auto value = default_of(column);
      if (!value.ok()) return value.err();
      values[*c] = std::move(*value);
    } else if (is_always_identity(column)) {
      return identity_always(column, true);
    } else {
      values[*c] = cast_to(column.type, std::move(set.expressions[k]));
    }
    plan.set_columns.push_back(*c);
    plan.key_changes |= schema.is_key_column(*c);
  }
  auto node = duckdb::make_uniq<duckdb::SelectNode>();
  for (uint32_t i = 0; i < schema.columns.size(); ++i) {
    node->select_list.push_back(values[i] ? std::move(values[i])
                                          : cast_to(schema.columns[i].type, column_of(schema.columns[i].name, alias)));
  }
  for (const auto& column : schema.columns) node->select_list.push_back(cast_to(column.type, column_of(column.name, alias)));
  node->from_table = up.from_table ? cross_join(std::move(up.table), std::move(up.from_table)) : std::move(up.table);
  node->where_clause = std::move(set.condition);
  node->cte_map = up.cte_map.Copy();
  return select_of(std::move(node));
}

outcome<duckdb::unique_ptr<duckdb::SelectStatement>> build_delete_source(duckdb::DeleteStatement& del, const write_plan& plan) {
  const auto& schema = plan.schema;
  auto& base = del.table->Cast<duckdb::BaseTableRef>();
  std::string alias = base.alias.empty() ? base.table_name : base.alias;
  auto node = duckdb::make_uniq<duckdb::SelectNode>();
  for (const auto& column : schema.columns) node->select_list.push_back(cast_to(column.type, column_of(column.name, alias)));
  duckdb::unique_ptr<duckdb::TableRef> from = std::move(del.table);
  for (auto& extra : del.using_clauses) from = cross_join(std::move(from), std::move(extra));
  node->from_table = std::move(from);
  node->where_clause = std::move(del.condition);
  node->cte_map = del.cte_map.Copy();
  return select_of(std::move(node));
}

error needs_key_table(const tables::table_schema& schema, const char* verb) {
  return error{"0A000",
               fmt::format("table {} is a log table (append-only); {} needs a primary-key table", schema.name, verb), {},
               "Create the table with a PRIMARY KEY to update or delete rows."};
}

}  // namespace

outcome<std::shared_ptr<statement>> session_impl::prepare_write(duckdb::SQLStatement& parsed, const tables::table_info& table) {
  auto plan = std::make_shared<write_plan>();
  plan->table = table.schema.name;
  plan->table_id = table.table_id;
  plan->schema = table.schema;
  auto st = std::make_shared<statement>();
  st->kind_ = statement_kind::command;
  st->write = plan;
  duckdb::unique_ptr<duckdb::SelectStatement> source;
  duckdb::vector<duckdb::unique_ptr<duckdb::ParsedExpression>> returning;
  std::string alias = table.schema.name;  // what RETURNING may call the table
  auto base_alias = [&alias](const duckdb::unique_ptr<duckdb::TableRef>& ref) {
    if (ref && ref->type == duckdb::TableReferenceType::BASE_TABLE) {
      const auto& base = ref->Cast<duckdb::BaseTableRef>();
      alias = base.alias.empty() ? base.table_name : base.alias;
    }
  };
  if (parsed.type == duckdb::StatementType::INSERT_STATEMENT) {
    auto& ins = parsed.Cast<duckdb::InsertStatement>();
    returning = std::move(ins.returning_list);
    ins.returning_list.clear();
    if (ins.table_ref && !ins.table_ref->alias.empty()) alias = ins.table_ref->alias;
    st->how = route::insert;
    auto conflict = plan_on_conflict(ins, *plan);
    if (!conflict.ok()) return conflict.err();
    if (plan->do_update && !plan->excluded_only) {
      auto up = upsert_statement(ins, plan->schema);
      if (!up.ok()) return up.err();
      plan->upsert = up.value();
    }
    auto built = build_insert_source(ins, plan->schema);
    if (!built.ok()) return built.err();
    if (built->probe) {
      built->probe->named_param_map = parsed.named_param_map;
      auto probe = duck_prepare(std::move(built->probe));
      if (!probe.ok()) return probe.err();
      size_t n = probe.value()->ColumnCount();
      if (n > built->input_columns) return error{"42601", "INSERT has more expressions than target columns", {}, {}};
      if (n < built->input_columns) return error{"42601", "INSERT has more target columns than expressions", {}, {}};
    }
    source = std::move(built->source);
  } else if (parsed.type == duckdb::StatementType::UPDATE_STATEMENT) {
    if (plan->schema.kind != tables::table_kind::primary_key) return needs_key_table(plan->schema, "UPDATE");
    st->how = route::update;
    auto& up = parsed.Cast<duckdb::UpdateStatement>();
    returning = std::move(up.returning_list);
    up.returning_list.clear();
    base_alias(up.table);
    auto built = build_update_source(up, *plan);
    if (!built.ok()) return built.err();
    source = std::move(built.value());
  } else {
    if (plan->schema.kind != tables::table_kind::primary_key) return needs_key_table(plan->schema, "DELETE");
    st->how = route::remove;
    auto& del = parsed.Cast<duckdb::DeleteStatement>();
    returning = std::move(del.returning_list);
    del.returning_list.clear();
    base_alias(del.table);
    auto built = build_delete_source(del, *plan);
    if (!built.ok()) return built.err();
    source = std::move(built.value());
  }
  source->named_param_map = parsed.named_param_map;  // the $n the rewritten SELECT may use
  auto p = duck_prepare(std::move(source));
  if (!p.ok()) return p.err();
  plan->source = p.value();
  if (!returning.empty()) {
    auto r = prepare_returning(*plan, std::move(returning), alias, parsed.named_param_map, st->fields_);
    if (!r.ok()) return r.err();
    st->kind_ = statement_kind::query;
  }
  return st;
}

// ---------------------------------------------------------------- execute

outcome<std::string> session_impl::run_write(statement& st, const std::vector<parameter>& params,
                                             std::optional<tables::column_batch>& returned) {
  auto current = replan_if_changed(st);
  if (!current.ok()) return current.err();
  const bool autocommit = !txn_;
  auto r = run_write_once(st, params, returned);
  // An ALTER TABLE that swapped the table in between the check above and the
  // write fails the write, with nothing written: outside a block it is run
  // once more on the new definition, as PostgreSQL's writer would have waited.
  if (r.ok() || !autocommit) return r;
  auto replanned = replan_if_changed(st);
  if (!replanned.ok()) return replanned.err();
  if (!replanned.value()) return r;
  returned.reset();
  return run_write_once(st, params, returned);
}

outcome<std::string> session_impl::run_write_once(statement& st, const std::vector<parameter>& params,
                                                  std::optional<tables::column_batch>& returned) {
  const write_plan& plan = *st.write;
  quiesce();
  std::unique_ptr<tables::transaction> own;
  tables::transaction& txn = write_txn(own);
  set_scan_txn(own ? nullptr : &txn);  // autocommit sources read committed rows only
  outcome<std::string> r = error{};
  // The rows the statement changed (every column), kept only for RETURNING.
  std::vector<tables::column_batch> changed;
  std::vector<tables::column_batch>* keep = plan.returning ? &changed : nullptr;
  try {
    switch (st.how) {
      case route::insert: r = run_insert(plan, st, params, txn, keep); break;
      case route::update: r = run_update(plan, st, params, txn, keep); break;
      default: r = run_delete(plan, st, params, txn, keep); break;
    }
  } catch (...) {
    (void)end_write(own, false);
    throw;
  }
  auto done = end_write(own, r.ok());
  if (!r.ok()) return r;
  if (!done.ok()) return done.err();
  if (plan.returning) {
    auto rows = returning_rows(plan, st, params, changed);
    if (!rows.ok()) return rows.err();
    returned = std::move(rows.value());
  }
  return r;
}

outcome<std::string> session_impl::run_insert(const write_plan& plan, const statement& st,
                                              const std::vector<parameter>& params, tables::transaction& txn,
                                              std::vector<tables::column_batch>* changed) {
  if (plan.point) return run_point_insert(plan, params, txn, changed);
  std::shared_ptr<duck_retry> retry;
  auto result = run(*plan.source, st, params, true, &retry);
  if (!result.ok()) return result.err();
  auto batches = collect(result.value(), column_types(plan.schema, all_columns(plan.schema)), retry.get());
  if (!batches.ok()) return batches.err();
  for (const auto& b : batches.value()) {
    auto nn = check_not_null(plan.schema, b);
    if (!nn.ok()) return nn.err();
    auto len = check_lengths(plan.schema, b);
    if (!len.ok()) return len.err();
  }
  uint64_t count = 0;
  if (plan.action == tables::on_conflict::do_nothing && changed != nullptr) {
    auto n = insert_new_keys_only(plan, txn, concat(batches.value()), *changed);
    if (!n.ok()) return n.err();
    return fmt::format("INSERT 0 {}", n.value());
  }
  if (!plan.do_update) {
    for (auto& piece : pieces_of(std::move(batches.value()))) {
      auto w = txn.insert(plan.table, piece, plan.action);
      if (!w.ok()) return tables_error(w.err());
      count += w->rows_written;
      if (changed != nullptr) changed->push_back(std::move(piece));
    }
    return fmt::format("INSERT 0 {}", count);
  }
  tables::column_batch rows = concat(batches.value());
  std::unordered_set<std::string> seen;
  for (uint32_t r = 0; r < rows.row_count; ++r) {
    if (!seen.insert(row_key(rows, plan.schema.primary_key, r)).second) {
      return error{"21000", "ON CONFLICT DO UPDATE command cannot affect row a second time", {},
                   "Ensure that no rows proposed for insertion within the same command have duplicate constrained values."};
    }
  }
  if (rows.row_count == 0) return std::string("INSERT 0 0");
  if (!plan.excluded_only) {
    auto n = upsert_general(plan, st, params, txn, rows, changed);
    if (!n.ok()) return n.err();
    return fmt::format("INSERT 0 {}", n.value());
  }
  size_t non_key = plan.schema.columns.size() - plan.schema.primary_key.size();
  if (plan.set_columns.size() < non_key) {
    // Columns the SET leaves alone keep their stored values, read under the rows' locks.
    auto locked = take_locks(txn, plan.table, pick_columns(rows, plan.schema.primary_key),
                             tables::lock_strength::no_key_update, tables::lock_wait::block);
    if (!locked.ok()) return locked.err();
    auto found = txn.lookup(plan.table, pick_columns(rows, plan.schema.primary_key));
    if (!found.ok()) return tables_error(found.err());
    tables::column_batch merged;
    for (const auto& c : rows.columns) merged.columns.emplace_back(c.type);
    uint32_t k = 0;
    for (uint32_t r = 0; r < rows.row_count; ++r) {
      bool exists = found->found[r] != 0;
      for (uint32_t c = 0; c < rows.columns.size(); ++c) {
        bool keep_old = exists && !plan.schema.is_key_column(c) &&
                        std::find(plan.set_columns.begin(), plan.set_columns.end(), c) == plan.set_columns.end();
        if (keep_old) {
          append_rows(found->rows.columns[c], k, k + 1, merged.columns[c]);
        } else {
          append_rows(rows.columns[c], r, r + 1, merged.columns[c]);
        }
      }
      k += exists ? 1 : 0;
    }
    merged.row_count = rows.row_count;
    rows = std::move(merged);
  }
  auto w = txn.insert(plan.table, rows, tables::on_conflict::replace);
  if (!w.ok()) return tables_error(w.err());
  const uint32_t count_written = rows.row_count;
  if (changed != nullptr) changed->push_back(std::move(rows));
  return fmt::format("INSERT 0 {}", count_written);
}

// ON CONFLICT DO NOTHING when RETURNING must name the rows inserted: the
// keys are locked (also those not there yet, as an upsert locks them), the
// ones already stored or repeated earlier in the statement are skipped, and
// the rest are inserted and kept in `changed`.
outcome<uint64_t> session_impl::insert_new_keys_only(const write_plan& plan, tables::transaction& txn,
                                                     const tables::column_batch& rows,
                                                     std::vector<tables::column_batch>& changed) {
  const auto& key = plan.schema.primary_key;
  std::unordered_set<std::string> seen;
  std::vector<uint32_t> first;
  for (uint32_t r = 0; r < rows.row_count; ++r) {
    if (seen.insert(row_key(rows, key, r)).second) first.push_back(r);
  }
  if (first.empty()) return uint64_t{0};
  const tables::column_batch candidates = first.size() == rows.row_count ? rows : pick_rows(rows, first);
  auto locked = take_locks(txn, plan.table, pick_columns(candidates, key), tables::lock_strength::no_key_update,
                           tables::lock_wait::block);
  if (!locked.ok()) return locked.err();
  auto found = txn.lookup(plan.table, pick_columns(candidates, key));
  if (!found.ok()) return tables_error(found.err());
  std::vector<uint32_t> fresh;
  for (uint32_t r = 0; r < candidates.row_count; ++r) {
    if (found->found[r] == 0) fresh.push_back(r);
  }
  if (fresh.empty()) return uint64_t{0};
  auto inserted = pick_rows(candidates, fresh);
  auto w = txn.insert(plan.table, inserted, tables::on_conflict::do_nothing);
  if (!w.ok()) return tables_error(w.err());
  const uint64_t count = inserted.row_count;
  changed.push_back(std::move(inserted));
  return count;
}

outcome<uint64_t> session_impl::upsert_general(const write_plan& plan, const statement& st,
                                               const std::vector<parameter>& params, tables::transaction& txn,
                                               const tables::column_batch& rows,
                                               std::vector<tables::column_batch>* changed) {
  const auto& schema = plan.schema;
  // The keys are locked before they are looked up, also those not there yet,
  // so two upserts of one key run one after the other.
  auto locked = take_locks(txn, plan.table, pick_columns(rows, schema.primary_key), tables::lock_strength::no_key_update,
                           tables::lock_wait::block);
  if (!locked.ok()) return locked.err();
  auto found = txn.lookup(plan.table, pick_columns(rows, schema.primary_key));
  if (!found.ok()) return tables_error(found.err());
  std::vector<uint32_t> fresh, existing;
  for (uint32_t r = 0; r < rows.row_count; ++r) (found->found[r] ? existing : fresh).push_back(r);
  uint64_t count = 0;
  if (!fresh.empty()) {
    auto inserted = pick_rows(rows, fresh);
    auto w = txn.insert(plan.table, inserted, tables::on_conflict::replace);
    if (!w.ok()) return tables_error(w.err());
    count += fresh.size();
    if (changed != nullptr) changed->push_back(std::move(inserted));
  }
  if (existing.empty()) return count;
  struct drop_temps {
    session_impl& s;
    ~drop_temps() {
      try {
        (void)s.duck_exec(fmt::format("DROP TABLE IF EXISTS temp.main.{}", upsert_target));
        (void)s.duck_exec(fmt::format("DROP TABLE IF EXISTS temp.main.{}", upsert_rows));
      } catch (...) {  // best effort: the next upsert replaces them anyway
      }
    }
  } cleanup{*this};
  auto made = duck_exec(duckdb_table_ddl(schema, upsert_target, true));
  if (!made.ok()) return made.err();
  made = duck_exec(duckdb_table_ddl(schema, upsert_rows, false));
  if (!made.ok()) return made.err();
  append_to_duckdb(connection(), upsert_target, found->rows);
  append_to_duckdb(connection(), upsert_rows, pick_rows(rows, existing));
  auto p = duck_prepare(plan.upsert->Copy());
  if (!p.ok()) return p.err();
  std::shared_ptr<duck_retry> retry;
  auto result = run(*p.value(), st, params, false, &retry);
  if (!result.ok()) return result.err();
  auto updated = collect(result.value(), column_types(schema, all_columns(schema)), retry.get());
  if (!updated.ok()) return updated.err();
  for (const auto& b : updated.value()) {
    auto nn = check_not_null(schema, b);
    if (!nn.ok()) return nn.err();
    auto len = check_lengths(schema, b);
    if (!len.ok()) return len.err();
    auto w = txn.insert(plan.table, b, tables::on_conflict::replace);
    if (!w.ok()) return tables_error(w.err());
    count += b.row_count;
    if (changed != nullptr) changed->push_back(b);
  }
  return count;
}

outcome<std::string> session_impl::run_update(const write_plan& plan, const statement& st,
                                              const std::vector<parameter>& params, tables::transaction& txn,
                                              std::vector<tables::column_batch>* changed) {
  if (plan.point) return run_point_update(plan, params, txn, changed);
  const auto& schema = plan.schema;
  auto read = read_and_lock(plan, st, params, txn,
                            plan.key_changes ? tables::lock_strength::update : tables::lock_strength::no_key_update);
  if (!read.ok()) return read.err();
  if (read->images.row_count == 0) return std::string("UPDATE 0");
  for (const auto& rows : read->new_rows) {
    auto nn = check_not_null(schema, rows);
    if (!nn.ok()) return nn.err();
    auto len = check_lengths(schema, rows);
    if (!len.ok()) return len.err();
  }
  if (plan.key_changes) {
    auto w = txn.remove(plan.table, pick_columns(read->images, schema.primary_key));
    if (!w.ok()) return tables_error(w.err());
  }
  const uint32_t count = read->images.row_count;
  for (auto& piece : pieces_of(std::move(read->new_rows))) {
    auto w = txn.insert(plan.table, piece, plan.key_changes ? tables::on_conflict::error : tables::on_conflict::replace);
    if (!w.ok()) return tables_error(w.err());
    if (changed != nullptr) changed->push_back(std::move(piece));
  }
  return fmt::format("UPDATE {}", count);
}

outcome<std::string> session_impl::run_delete(const write_plan& plan, const statement& st,
                                              const std::vector<parameter>& params, tables::transaction& txn,
                                              std::vector<tables::column_batch>* changed) {
  if (plan.point) return run_point_delete(plan, params, txn, changed);
  auto read = read_and_lock(plan, st, params, txn, tables::lock_strength::update);
  if (!read.ok()) return read.err();
  if (read->images.row_count == 0) return std::string("DELETE 0");
  auto w = txn.remove(plan.table, pick_columns(read->images, plan.schema.primary_key));
  if (!w.ok()) return tables_error(w.err());
  const uint32_t count = read->images.row_count;
  if (changed != nullptr) changed->push_back(std::move(read->images));
  return fmt::format("DELETE {}", count);
}

}  // namespace strata::sql::detail
