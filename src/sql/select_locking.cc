// SELECT ... FOR UPDATE | FOR NO KEY UPDATE | FOR SHARE | FOR KEY SHARE
// [OF t] [NOWAIT | SKIP LOCKED] on one Strata primary-key table.
//
// PostgreSQL locks each row as the query emits it, below LIMIT, and returns
// the row's latest committed version. Here DuckDB runs the SELECT without its
// locking clause and LIMIT/OFFSET and also returns every table column (the
// row as read); the rows' keys are then locked in result order until LIMIT +
// OFFSET rows are locked (SKIP LOCKED leaves rows others hold), and if any row
// locked changed after it was read, the query runs again under the locks.
#include <fmt/format.h>

#include "duckdb/parser/expression/cast_expression.hpp"
#include "duckdb/parser/expression/constant_expression.hpp"
#include "duckdb/parser/result_modifier.hpp"
#include "duckdb/parser/tableref/basetableref.hpp"
#include "duckdb/parser/tableref/emptytableref.hpp"
#include "sql/dml_shared.h"
#include "sql/pg_parse.h"
#include "sql/session_impl.h"

namespace strata::sql::detail {
namespace {

const char* clause_name(PgQuery__LockClauseStrength s) {
  switch (s) {
    case PG_QUERY__LOCK_CLAUSE_STRENGTH__LCS_FORKEYSHARE: return "FOR KEY SHARE";
    case PG_QUERY__LOCK_CLAUSE_STRENGTH__LCS_FORSHARE: return "FOR SHARE";
    case PG_QUERY__LOCK_CLAUSE_STRENGTH__LCS_FORNOKEYUPDATE: return "FOR NO KEY UPDATE";
    default: return "FOR UPDATE";
  }
}

tables::lock_strength strength_of(PgQuery__LockClauseStrength s) {
  switch (s) {
    case PG_QUERY__LOCK_CLAUSE_STRENGTH__LCS_FORKEYSHARE: return tables::lock_strength::key_share;
    case PG_QUERY__LOCK_CLAUSE_STRENGTH__LCS_FORSHARE: return tables::lock_strength::share;
    case PG_QUERY__LOCK_CLAUSE_STRENGTH__LCS_FORNOKEYUPDATE: return tables::lock_strength::no_key_update;
    default: return tables::lock_strength::update;
  }
}

tables::lock_wait wait_of(PgQuery__LockWaitPolicy p) {
  switch (p) {
    case PG_QUERY__LOCK_WAIT_POLICY__LockWaitSkip: return tables::lock_wait::skip_locked;
    case PG_QUERY__LOCK_WAIT_POLICY__LockWaitError: return tables::lock_wait::nowait;
    default: return tables::lock_wait::block;
  }
}

error not_allowed(const char* clause, std::string_view with) {
  return error{"0A000", fmt::format("{} is not allowed with {}", clause, with), {}, {}};
}

constexpr uint64_t no_limit = UINT64_MAX;

struct bounds {
  uint64_t offset = 0;
  uint64_t limit = no_limit;
};

// The columns [from, from + count) of `chunk`, sharing its vectors.
void view_columns(const duckdb::DataChunk& chunk, size_t from, size_t count, duckdb::DataChunk& out) {
  duckdb::vector<duckdb::LogicalType> types;
  for (size_t i = 0; i < count; ++i) types.push_back(chunk.data[from + i].GetType());
  out.InitializeEmpty(types);
  for (size_t i = 0; i < count; ++i) out.data[i].Reference(chunk.data[from + i]);
  out.SetCardinality(chunk.size());
}

}  // namespace

outcome<std::shared_ptr<statement>> session_impl::prepare_select_locking(const PgQuery__SelectStmt& select,
                                                                         std::string_view sql) {
  // Clauses on one table merge into the strongest strength and the strictest
  // wait policy, as in PostgreSQL.
  auto strength = PG_QUERY__LOCK_CLAUSE_STRENGTH__LCS_NONE;
  auto policy = PG_QUERY__LOCK_WAIT_POLICY__LockWaitBlock;
  std::vector<const PgQuery__RangeVar*> named;
  for (size_t i = 0; i < select.n_locking_clause; ++i) {
    const PgQuery__Node* n = select.locking_clause[i];
    if (n == nullptr || n->node_case != PG_QUERY__NODE__NODE_LOCKING_CLAUSE) continue;
    strength = std::max(strength, n->locking_clause->strength);
    policy = std::max(policy, n->locking_clause->wait_policy);
    for (size_t r = 0; r < n->locking_clause->n_locked_rels; ++r) {
      const PgQuery__Node* rel = n->locking_clause->locked_rels[r];
      if (rel != nullptr && rel->node_case == PG_QUERY__NODE__NODE_RANGE_VAR) named.push_back(rel->range_var);
    }
  }
  const char* clause = clause_name(strength);
  if (select.op != PG_QUERY__SET_OPERATION__SETOP_NONE) return not_allowed(clause, "UNION/INTERSECT/EXCEPT");
  if (select.n_distinct_clause > 0) return not_allowed(clause, "DISTINCT clause");
  if (select.n_group_clause > 0) return not_allowed(clause, "GROUP BY clause");
  if (select.having_clause != nullptr) return not_allowed(clause, "HAVING clause");
  if (select.n_window_clause > 0) return not_allowed(clause, "window functions");
  auto stripped = without_locking_clauses(sql);
  if (!stripped.ok()) return stripped.err();
  const PgQuery__RangeVar* from = nullptr;
  if (select.n_from_clause == 1 && select.from_clause[0]->node_case == PG_QUERY__NODE__NODE_RANGE_VAR) {
    from = select.from_clause[0]->range_var;
  }
  if (from == nullptr && select.n_from_clause > 0) {
    return error{"0A000", fmt::format("{} is supported on one table only, not on a join or a subquery", clause), {},
                 fmt::format("Lock the rows of one table: SELECT ... FROM t WHERE ... {}.", clause)};
  }
  const std::string alias = from != nullptr && from->alias != nullptr ? from->alias->aliasname
                            : from != nullptr                         ? from->relname
                                                                      : "";
  for (const PgQuery__RangeVar* rel : named) {
    if (alias != rel->relname) {
      return error{"42P01", fmt::format("relation \"{}\" in {} clause not found in FROM clause", rel->relname, clause), {}, {}};
    }
  }
  std::optional<tables::table_info> table;
  if (from != nullptr) table = find_table(from->schemaname, from->relname);
  // Rows of this session's TEMP tables and of catalog relations are seen by
  // no other session, so there is nothing to lock them against.
  if (!table) return prepare_duckdb(stripped.value(), {});  // finish() fills in the parameters
  if (table->schema.kind != tables::table_kind::primary_key) {
    return error{"0A000", fmt::format("{} needs a primary-key table; \"{}\" is a log table (append-only)", clause, table->schema.name),
                 {}, "Rows of a log table never change; read them without a locking clause."};
  }
  quiesce();
  duckdb::vector<duckdb::unique_ptr<duckdb::SQLStatement>> parsed;
  try {
    parsed = conn_.ExtractStatements(stripped.value());
  } catch (const std::exception& ex) {
    return duck_error(duckdb::ErrorData(ex));
  }
  if (parsed.size() != 1 || parsed[0]->type != duckdb::StatementType::SELECT_STATEMENT ||
      parsed[0]->Cast<duckdb::SelectStatement>().node->type != duckdb::QueryNodeType::SELECT_NODE) {
    return error{"0A000", fmt::format("this form of SELECT ... {} is not supported", clause), {}, {}};
  }
  auto& query = parsed[0]->Cast<duckdb::SelectStatement>();
  const std::vector<std::string> names = pg_column_names(query);
  auto& node = query.node->Cast<duckdb::SelectNode>();
  const std::string ref_alias = node.from_table->alias.empty() ? table->schema.name : node.from_table->alias;
  duckdb::unique_ptr<duckdb::ParsedExpression> limit, offset;
  for (size_t i = 0; i < node.modifiers.size(); ++i) {
    auto& m = *node.modifiers[i];
    if (m.type == duckdb::ResultModifierType::LIMIT_PERCENT_MODIFIER) return not_allowed(clause, "LIMIT ... PERCENT");
    if (m.type != duckdb::ResultModifierType::LIMIT_MODIFIER) continue;
    limit = std::move(m.Cast<duckdb::LimitModifier>().limit);
    offset = std::move(m.Cast<duckdb::LimitModifier>().offset);
    node.modifiers.erase(node.modifiers.begin() + duckdb::idx_t(i));
    break;
  }
  auto plan = std::make_shared<locking_plan>();
  plan->table = table->schema.name;
  plan->table_id = table->table_id;
  plan->schema = table->schema;
  plan->strength = strength_of(strength);
  plan->wait = wait_of(policy);
  for (size_t i = 0; i < table->schema.columns.size(); ++i) {
    const auto& column = table->schema.columns[i];
    auto image = cast_to(column.type, column_of(column.name, ref_alias));
    image->SetAlias(fmt::format("__strata_row_{}", i));
    node.select_list.push_back(std::move(image));
  }
  auto params = query.named_param_map;
  auto source = std::make_unique<duckdb::SelectStatement>();
  source->node = std::move(query.node);
  source->named_param_map = params;
  auto prepared = duck_prepare(std::move(source));
  if (!prepared.ok()) return prepared.err();
  plan->source = prepared.value();
  if (limit || offset) {
    auto b = duckdb::make_uniq<duckdb::SelectNode>();
    auto bigint = [](duckdb::unique_ptr<duckdb::ParsedExpression> e) -> duckdb::unique_ptr<duckdb::ParsedExpression> {
      if (!e) return nullptr;
      return duckdb::make_uniq<duckdb::CastExpression>(duckdb::LogicalType::BIGINT, std::move(e));
    };
    // No LIMIT is LIMIT NULL, as in PostgreSQL.
    b->select_list.push_back(limit ? bigint(std::move(limit))
                                   : duckdb::make_uniq<duckdb::ConstantExpression>(duckdb::Value(duckdb::LogicalType::BIGINT)));
    b->select_list.push_back(offset ? bigint(std::move(offset)) : duckdb::make_uniq<duckdb::ConstantExpression>(duckdb::Value::BIGINT(0)));
    b->from_table = duckdb::make_uniq<duckdb::EmptyTableRef>();
    auto statement_of_bounds = select_of(std::move(b));
    statement_of_bounds->named_param_map = params;
    auto p = duck_prepare(std::move(statement_of_bounds));
    if (!p.ok()) return p.err();
    plan->bounds = p.value();
  }
  const auto& types = plan->source->GetTypes();
  const auto& duck_names = plan->source->GetNames();
  plan->visible_columns = types.size() - table->schema.columns.size();
  auto st = std::make_shared<statement>();
  st->how = route::select_locking;
  st->kind_ = statement_kind::query;
  st->locking = plan;
  const bool rename = names.size() == plan->visible_columns;
  for (size_t i = 0; i < plan->visible_columns; ++i) st->fields_.push_back(field_of(rename ? names[i] : duck_names[i], types[i]));
  return st;
}

outcome<std::unique_ptr<cursor>> session_impl::run_select_locking(statement& st, const std::vector<parameter>& params) {
  auto current = replan_if_changed(st);
  if (!current.ok()) return current.err();
  const locking_plan& plan = *st.locking;
  quiesce();
  bounds b;
  if (plan.bounds) {
    auto result = run(*plan.bounds, st, params, false);
    if (!result.ok()) return result.err();
    auto values = collect(result.value(), {tables::column_type{tables::type_id::int64}, tables::column_type{tables::type_id::int64}});
    if (!values.ok()) return values.err();
    const auto& row = values->front();
    const auto limit = tables::scalar_at(row.columns[0], 0);
    const auto offset = tables::scalar_at(row.columns[1], 0);
    // PostgreSQL: LIMIT NULL and LIMIT ALL mean no limit; OFFSET NULL means 0.
    if (std::holds_alternative<int64_t>(limit)) {
      const int64_t n = std::get<int64_t>(limit);
      if (n < 0) return error{"2201W", "LIMIT must not be negative", {}, {}};
      b.limit = uint64_t(n);
    }
    if (std::holds_alternative<int64_t>(offset)) {
      const int64_t n = std::get<int64_t>(offset);
      if (n < 0) return error{"2201X", "OFFSET must not be negative", {}, {}};
      b.offset = uint64_t(n);
    }
  }
  std::unique_ptr<tables::transaction> own;
  tables::transaction& txn = write_txn(own);
  set_scan_txn(own ? nullptr : &txn);
  outcome<tables::column_batch> rows = error{};
  try {
    std::vector<tables::column_type> image_types;
    for (const auto& column : plan.schema.columns) image_types.push_back(column.type);
    const size_t width = plan.visible_columns + image_types.size();
    tables::column_batch visible, images;
    const uint64_t wanted = b.limit == no_limit ? no_limit : b.offset + std::min(b.limit, no_limit - b.offset);
    auto locked = read_locked(txn, plan.table, plan.schema, plan.strength, plan.wait, wanted,
                              [&]() -> outcome<const tables::column_batch*> {
      std::shared_ptr<duck_retry> retry;
      auto result = run(*plan.source, st, params, true, &retry);
      if (!result.ok()) return result.err();
      visible = {};
      images = {};
      for (const auto& f : st.fields_) visible.columns.emplace_back(f.type);
      auto read = each_chunk(result.value(), retry.get(), [&](const duckdb::DataChunk& chunk) -> outcome<uint64_t> {
        if (chunk.ColumnCount() != width) return result_shape_changed(chunk.ColumnCount(), width);
        duckdb::DataChunk shown, image;
        view_columns(chunk, 0, plan.visible_columns, shown);
        view_columns(chunk, plan.visible_columns, image_types.size(), image);
        const uint64_t before = visible.memory_bytes() + images.memory_bytes();
        append_chunk(shown, st.fields_, visible);
        auto converted = chunk_to_table_rows(image, image_types);
        if (!converted.ok()) return fix_error(converted.err());
        append_batch(converted.value(), 0, converted->row_count, images);
        return visible.memory_bytes() + images.memory_bytes() - before;
      });
      if (!read.ok()) return read.err();
      return &images;
    });
    if (!locked.ok()) {
      rows = locked.err();
    } else {
      std::vector<uint32_t> keep;
      for (size_t i = std::min<uint64_t>(b.offset, locked->rows.size()); i < locked->rows.size(); ++i) {
        keep.push_back(locked->rows[i]);
      }
      rows = pick_rows(visible, keep);
    }
  } catch (...) {
    (void)end_write(own, false);
    throw;
  }
  auto done = end_write(own, rows.ok());
  if (!rows.ok()) return rows.err();
  if (!done.ok()) return done.err();
  const uint32_t count = rows->row_count;
  return rows_cursor_of(std::move(rows.value()), fmt::format("SELECT {}", count));
}

}  // namespace strata::sql::detail
