// sql::session_impl, preparing: classifies each statement (transaction
// words, settings, COPY, psql catalog queries, Strata DDL and writes) and
// prepares the rest on DuckDB.
#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "base/ascii.h"
#include "duckdb/parser/expression/cast_expression.hpp"
#include "duckdb/parser/expression/columnref_expression.hpp"
#include "duckdb/parser/expression/star_expression.hpp"
#include "duckdb/parser/expression/function_expression.hpp"
#include "duckdb/parser/expression/window_expression.hpp"
#include "duckdb/parser/parsed_data/create_info.hpp"
#include "duckdb/parser/query_node/select_node.hpp"
#include "duckdb/parser/statement/select_statement.hpp"
#include "duckdb/parser/parsed_data/drop_info.hpp"
#include "duckdb/parser/statement/alter_statement.hpp"
#include "duckdb/parser/statement/create_statement.hpp"
#include "duckdb/parser/statement/delete_statement.hpp"
#include "duckdb/parser/statement/drop_statement.hpp"
#include "duckdb/parser/statement/insert_statement.hpp"
#include "duckdb/parser/statement/update_statement.hpp"
#include "duckdb/parser/tableref/basetableref.hpp"
#include "sql/binary_value.h"
#include "sql/keywords.h"
#include "sql/pg_rewrite.h"
#include "sql/pg_types.h"
#include "sql/psql_catalog.h"
#include "sql/session_impl.h"
#include "sql/statements.h"
#include "sql/storage_parameters.h"

namespace strata::sql::detail {
namespace {

bool is_transaction_exit(std::string_view sql) {
  auto w = leading_words(sql, 1);
  return !w.empty() && (w[0] == "commit" || w[0] == "end" || w[0] == "rollback" || w[0] == "abort");
}

std::string catalog_type_word(duckdb::CatalogType type) {
  switch (type) {
    case duckdb::CatalogType::TABLE_ENTRY: return "TABLE";
    case duckdb::CatalogType::VIEW_ENTRY: return "VIEW";
    case duckdb::CatalogType::SCHEMA_ENTRY: return "SCHEMA";
    case duckdb::CatalogType::INDEX_ENTRY: return "INDEX";
    case duckdb::CatalogType::SEQUENCE_ENTRY: return "SEQUENCE";
    case duckdb::CatalogType::TYPE_ENTRY: return "TYPE";
    case duckdb::CatalogType::MACRO_ENTRY:
    case duckdb::CatalogType::TABLE_MACRO_ENTRY: return "FUNCTION";
    default: return "OBJECT";
  }
}

// The column name PostgreSQL gives an unaliased select-list expression:
// the column or function name, else "?column?". DuckDB would say "count_star()" or "(a + 1)".
std::string pg_column_name(const duckdb::ParsedExpression& e) {
  if (e.HasAlias()) return e.GetAlias();
  switch (e.GetExpressionClass()) {
    case duckdb::ExpressionClass::COLUMN_REF:
      return e.Cast<duckdb::ColumnRefExpression>().GetColumnName();
    case duckdb::ExpressionClass::FUNCTION: {
      const auto& f = e.Cast<duckdb::FunctionExpression>();
      if (f.is_operator) return "?column?";
      return f.function_name == "count_star" ? "count" : f.function_name;
    }
    case duckdb::ExpressionClass::WINDOW: {
      const auto& name = e.Cast<duckdb::WindowExpression>().function_name;
      return name == "count_star" ? "count" : name;
    }
    case duckdb::ExpressionClass::CAST:
      return pg_column_name(*e.Cast<duckdb::CastExpression>().child);
    case duckdb::ExpressionClass::CASE:
      return "case";
    default:
      return "?column?";
  }
}

}  // namespace

std::vector<std::string> pg_column_names(const duckdb::SQLStatement& stmt) {
  std::vector<std::string> names;
  if (stmt.type != duckdb::StatementType::SELECT_STATEMENT) return names;
  const auto& node = stmt.Cast<duckdb::SelectStatement>().node;
  if (!node || node->type != duckdb::QueryNodeType::SELECT_NODE) return names;
  for (const auto& e : node->Cast<duckdb::SelectNode>().select_list) {
    if (e->GetExpressionClass() == duckdb::ExpressionClass::STAR) return {};
    names.push_back(pg_column_name(*e));
  }
  return names;
}

namespace {

// psql's catalog queries all name pg_catalog; others skip the table listing.
bool mentions_pg_catalog(std::string_view sql) {
  static constexpr std::string_view needle = "pg_catalog";
  auto it = std::search(sql.begin(), sql.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == b;
  });
  return it != sql.end();
}

bool is_temp_create(const std::vector<std::string>& w) {
  for (size_t i = 1; i < w.size() && i < 4; ++i) {
    if (w[i] == "temp" || w[i] == "temporary") return true;
  }
  return false;
}

}  // namespace

// ---------------------------------------------------------------- prepare

outcome<std::shared_ptr<prepared>> session_impl::prepare(std::string_view sql, const std::vector<uint32_t>& hints) {
  outcome<std::shared_ptr<prepared>> r = error{};
  try {
    if (state_ == transaction_state::failed && !is_blank(sql) && !is_transaction_exit(sql)) {
      r = aborted_block();
    } else {
      r = prepare_inner(sql, hints);
    }
  } catch (const std::exception& ex) {
    r = duck_error(duckdb::ErrorData(ex));
  }
  return finish_call(std::move(r));
}

status session_impl::fill_parameters(statement& st, const std::vector<uint32_t>& hints) {
  size_t count = hints.size();
  duckdb::case_insensitive_map_t<duckdb::LogicalType> expected;
  auto add = [&](duckdb::PreparedStatement* p) -> status {
    if (p == nullptr) return ok_t{};
    for (const auto& [name, unused] : p->named_param_map) {
      size_t n = 0;
      auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
      if (ec != std::errc{} || end != name.data() + name.size() || n == 0) {
        return error{"0A000", fmt::format("named parameter ${} is not supported; use $1, $2, ...", name), {}, {}};
      }
      count = std::max(count, n);
    }
    for (auto& [name, type] : p->GetExpectedParameterTypes()) {
      if (!is_unknown_type(type) && !expected.count(name)) expected[name] = type;
    }
    return ok_t{};
  };
  auto a = add(st.duck.get());
  if (!a.ok()) return a;
  for (duckdb::PreparedStatement* p : {st.write ? st.write->source.get() : nullptr,
                                        st.write ? st.write->returning.get() : nullptr,
                                        st.locking ? st.locking->source.get() : nullptr,
                                        st.locking ? st.locking->bounds.get() : nullptr}) {
    auto b = add(p);
    if (!b.ok()) return b;
  }
  st.parameter_oids_.assign(count, oid::text);
  st.hinted_types.assign(count, std::nullopt);
  for (size_t i = 0; i < count; ++i) {
    tables::column_type hinted;
    if (i < hints.size() && hints[i] != 0) {
      st.parameter_oids_[i] = hints[i];
      if (column_type_of_oid(hints[i], hinted)) st.hinted_types[i] = to_duckdb_type(hinted);
      continue;
    }
    auto it = expected.find(std::to_string(i + 1));
    if (it != expected.end()) st.parameter_oids_[i] = field_of("", it->second).type_oid;
  }
  return ok_t{};
}

outcome<std::shared_ptr<prepared>> session_impl::prepare_inner(std::string_view sql, const std::vector<uint32_t>& hints) {
  prepare_hints_ = hints;
  struct forget_hints {
    std::vector<uint32_t>& hints;
    ~forget_hints() { hints.clear(); }
  } forget{prepare_hints_};
  auto finish = [&](outcome<std::shared_ptr<statement>> st) -> outcome<std::shared_ptr<prepared>> {
    if (!st.ok()) return st.err();
    st.value()->sql = std::string(sql);
    st.value()->owner = this;
    if (st.value()->parameter_oids_.empty() && (!hints.empty() || st.value()->duck || st.value()->locking)) {
      auto f = fill_parameters(*st.value(), hints);
      if (!f.ok()) return f.err();
    }
    return std::shared_ptr<prepared>(st.value());
  };
  if (is_blank(sql)) {
    auto st = std::make_shared<statement>();
    st->how = route::empty;
    st->kind_ = statement_kind::empty;
    return finish(st);
  }
  auto tree = pg_tree::parse(sql);
  if (tree.ok() && tree.value().size() == 1) {
    if (auto routed = prepare_from_tree(tree.value().statement(0), sql)) return finish(std::move(*routed));
  }
  auto words = leading_words(sql, 4);
  if (!words.empty()) {
    const std::string& w = words[0];
    if (auto setting = parse_setting_command(sql)) {
      if (!setting->ok()) return setting->err();
      auto st = std::make_shared<statement>();
      st->how = route::setting;
      st->setting = setting->value();
      using k = setting_command::kind;
      switch (st->setting->action) {
        case k::show: {
          auto shown = settings_.show(st->setting->name);
          if (!shown.ok()) return shown.err();
          st->kind_ = statement_kind::query;
          st->fields_ = {text_field(shown->first)};
          break;
        }
        case k::show_all:
          st->kind_ = statement_kind::query;
          st->fields_ = {text_field("name"), text_field("setting"), text_field("description")};
          break;
        default:
          st->kind_ = statement_kind::command;
          break;
      }
      return finish(st);
    }
    if ((w == "select" || w == "with") && mentions_pg_catalog(sql)) {
      auto answer = answer_catalog_query(sql, parts_.tables.list_tables(), options_.database, options_.user,
                                         parts_.tables.sequences().list());
      if (answer) {
        if (!answer->ok()) return answer->err();
        auto st = std::make_shared<statement>();
        st->how = route::catalog;
        st->kind_ = statement_kind::query;
        st->fields_ = answer->value().fields;
        return finish(st);
      }
    }
    if (w == "create" && !is_temp_create(words)) {
      if (auto create = parse_create_table(sql)) {
        if (!create->ok()) return create->err();
        return finish(prepare_create_table(std::move(create->value()), tree));
      }
    }
    if (w == "copy") {
      if (auto copy = parse_copy(sql)) {
        if (!copy->ok()) return copy->err();
        return finish(prepare_copy(copy->value()));
      }
    }
  }
  std::string for_duckdb(sql);
  if (tree.ok()) {
    auto rewritten = rewrite_for_duckdb(tree.value(), sql);
    if (!rewritten.ok()) return rewritten.err();
    if (*rewritten) for_duckdb = std::move(**rewritten);
  }
  outcome<std::shared_ptr<statement>> st = error{};
  try {
    st = prepare_duckdb(for_duckdb, hints);
  } catch (const std::exception& ex) {  // DuckDB's parser throws
    st = duck_error(duckdb::ErrorData(ex));
  }
  // Text that is not PostgreSQL gets PostgreSQL's own syntax error, unless DuckDB runs it.
  if (!st.ok()) return !tree.ok() && st.err().sqlstate == "42601" ? tree.err() : st.err();
  auto f = fill_parameters(*st.value(), hints);
  if (!f.ok()) return f.err();
  return finish(st);
}

std::optional<outcome<std::shared_ptr<statement>>> session_impl::prepare_from_tree(const PgQuery__Node& node,
                                                                                  std::string_view sql) {
  switch (node.node_case) {
    case PG_QUERY__NODE__NODE_DEALLOCATE_STMT: {
      auto st = std::make_shared<statement>();
      st->how = route::deallocate;
      const std::string name = node.deallocate_stmt->name != nullptr ? node.deallocate_stmt->name : "";
      st->deallocation_ = deallocation{name.empty(), name};
      st->tag = name.empty() ? "DEALLOCATE ALL" : "DEALLOCATE";
      return st;
    }
    case PG_QUERY__NODE__NODE_SELECT_STMT:
      if (node.select_stmt->n_locking_clause == 0) {
        if (auto point = prepare_point_select(*node.select_stmt)) return std::move(*point);
        return std::nullopt;
      }
      return prepare_select_locking(*node.select_stmt, sql);
    case PG_QUERY__NODE__NODE_INSERT_STMT:
      if (auto point = prepare_point_insert(*node.insert_stmt)) return std::move(*point);
      return std::nullopt;
    case PG_QUERY__NODE__NODE_UPDATE_STMT:
      if (auto point = prepare_point_update(*node.update_stmt)) return std::move(*point);
      return std::nullopt;
    case PG_QUERY__NODE__NODE_DELETE_STMT:
      if (auto point = prepare_point_delete(*node.delete_stmt)) return std::move(*point);
      return std::nullopt;
    case PG_QUERY__NODE__NODE_TRANSACTION_STMT:
      return prepare_transaction(*node.transaction_stmt);
    case PG_QUERY__NODE__NODE_DECLARE_CURSOR_STMT:
      return prepare_declare_cursor(*node.declare_cursor_stmt);
    case PG_QUERY__NODE__NODE_FETCH_STMT:
      return prepare_fetch(*node.fetch_stmt);
    case PG_QUERY__NODE__NODE_CLOSE_PORTAL_STMT:
      return prepare_close_cursor(*node.close_portal_stmt);
    case PG_QUERY__NODE__NODE_LISTEN_STMT:
    case PG_QUERY__NODE__NODE_UNLISTEN_STMT:
    case PG_QUERY__NODE__NODE_NOTIFY_STMT:
      return prepare_listen(node);
    case PG_QUERY__NODE__NODE_VACUUM_STMT:
      return prepare_maintenance(*node.vacuum_stmt);
    case PG_QUERY__NODE__NODE_TRUNCATE_STMT:
      return prepare_truncate(*node.truncate_stmt);
    case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
      return prepare_alter_table(*node.alter_table_stmt);
    case PG_QUERY__NODE__NODE_RENAME_STMT:
      return prepare_rename(*node.rename_stmt);
    case PG_QUERY__NODE__NODE_CREATE_SEQ_STMT:
    case PG_QUERY__NODE__NODE_ALTER_SEQ_STMT:
      return prepare_sequence_ddl(node);
    case PG_QUERY__NODE__NODE_DROP_STMT: {
      if (node.drop_stmt->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_SEQUENCE) return prepare_sequence_ddl(node);
      if (node.drop_stmt->remove_type != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE) return std::nullopt;
      auto st = std::make_shared<statement>();
      st->how = route::drop_table;
      st->drop = read_drop_table(*node.drop_stmt);
      st->tag = "DROP TABLE";
      return st;
    }
    default:
      return std::nullopt;
  }
}

namespace {

// BEGIN's options as the words check_transaction_mode reads (one policy for
// BEGIN, START TRANSACTION and SET TRANSACTION).
std::string transaction_mode_words(const PgQuery__TransactionStmt& t) {
  std::string words;
  for (size_t i = 0; i < t.n_options; ++i) {
    const PgQuery__Node* n = t.options[i];
    if (n == nullptr || n->node_case != PG_QUERY__NODE__NODE_DEF_ELEM) continue;
    const std::string_view name = n->def_elem->defname;
    const PgQuery__Node* arg = n->def_elem->arg;
    if (name == "transaction_isolation") words += fmt::format("isolation level {}, ", const_text(arg));
    if (name == "transaction_read_only") words += const_int(arg) != 0 ? "read only, " : "read write, ";
    if (name == "transaction_deferrable") words += const_int(arg) != 0 ? "deferrable, " : "not deferrable, ";
  }
  return words;
}

}  // namespace

outcome<std::shared_ptr<statement>> session_impl::prepare_transaction(const PgQuery__TransactionStmt& t) {
  auto st = std::make_shared<statement>();
  auto savepoint_command = [&](route how, const char* tag) {
    st->how = how;
    st->tag = tag;
    st->savepoint_name = t.savepoint_name;
    return st;
  };
  switch (t.kind) {
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN:
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START: {
      auto mode = check_transaction_mode(transaction_mode_words(t));
      if (!mode.ok()) return mode.err();
      st->how = route::begin;
      st->tag = t.kind == PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START ? "START TRANSACTION" : "BEGIN";
      return st;
    }
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT:
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK: {
      const bool commit = t.kind == PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT;
      if (t.chain) {
        return error{"0A000", fmt::format("{} AND CHAIN is not supported", commit ? "COMMIT" : "ROLLBACK"), {},
                     "End the block, then BEGIN the next one."};
      }
      st->how = commit ? route::commit : route::rollback;
      st->tag = commit ? "COMMIT" : "ROLLBACK";
      return st;
    }
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_SAVEPOINT:
      return savepoint_command(route::savepoint, "SAVEPOINT");
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_RELEASE:
      return savepoint_command(route::release, "RELEASE");
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_TO:
      return savepoint_command(route::rollback_to, "ROLLBACK");
    default:
      return error{"0A000", "two-phase commit (PREPARE TRANSACTION, COMMIT PREPARED) is not supported", {}, {}};
  }
}

namespace {

// The tables a VACUUM or TRUNCATE names (RangeVar nodes, or VacuumRelations holding one).
std::vector<qualified_name> relations_of(PgQuery__Node* const* nodes, size_t count) {
  std::vector<qualified_name> names;
  for (size_t i = 0; i < count; ++i) {
    const PgQuery__Node* n = nodes[i];
    if (n != nullptr && n->node_case == PG_QUERY__NODE__NODE_VACUUM_RELATION) {
      const PgQuery__RangeVar* r = n->vacuum_relation->relation;
      if (r != nullptr) names.push_back(qualified_name{r->schemaname, r->relname});
    } else if (n != nullptr && n->node_case == PG_QUERY__NODE__NODE_RANGE_VAR) {
      names.push_back(qualified_name{n->range_var->schemaname, n->range_var->relname});
    }
  }
  return names;
}

}  // namespace

outcome<std::shared_ptr<statement>> session_impl::prepare_maintenance(const PgQuery__VacuumStmt& v) {
  auto st = std::make_shared<statement>();
  st->how = route::maintenance;
  st->tag = v.is_vacuumcmd ? "VACUUM" : "ANALYZE";
  st->relations = relations_of(v.rels, v.n_rels);
  return st;
}

// RESTART IDENTITY and CASCADE are accepted: no sequence or foreign key can
// depend on a Strata table yet.
outcome<std::shared_ptr<statement>> session_impl::prepare_truncate(const PgQuery__TruncateStmt& t) {
  auto st = std::make_shared<statement>();
  st->how = route::truncate;
  st->tag = "TRUNCATE TABLE";
  st->relations = relations_of(t.relations, t.n_relations);
  return st;
}

outcome<bool> session_impl::replan_if_changed(statement& st) {
  const std::string& table = st.write ? st.write->table : st.locking ? st.locking->table : st.point->table;
  const uint64_t table_id = st.write ? st.write->table_id : st.locking ? st.locking->table_id : st.point->table_id;
  const tables::table_schema& schema = st.write ? st.write->schema : st.locking ? st.locking->schema : st.point->schema;
  auto now = find_table("", table);
  if (!now) return error{"42P01", fmt::format("relation \"{}\" does not exist", table), {}, {}};
  if (now->table_id == table_id && now->schema == schema) return false;
  auto fresh = prepare_inner(st.sql, st.parameter_oids_);
  if (!fresh.ok()) return fresh.err();
  const auto& next = static_cast<const statement&>(*fresh.value());
  // A key lookup may become a DuckDB query (the key changed); writes and
  // locking reads keep their route.
  const bool route_may_change = st.how == route::point_select;
  bool same_shape = (next.how == st.how || route_may_change) && next.parameter_oids_ == st.parameter_oids_ &&
                    next.fields_.size() == st.fields_.size();
  for (size_t i = 0; same_shape && i < next.fields_.size(); ++i) {
    same_shape = next.fields_[i].name == st.fields_[i].name && next.fields_[i].type_oid == st.fields_[i].type_oid;
  }
  if (!same_shape) {
    return error{"0A000", "cached plan must not change result type", {},
                 fmt::format("Table \"{}\" was changed since the statement was prepared; prepare it again.", table)};
  }
  st.how = next.how;
  st.duck = next.duck;
  st.duck_type = next.duck_type;
  st.write = next.write;
  st.locking = next.locking;
  st.point = next.point;
  return true;
}

outcome<std::shared_ptr<statement>> session_impl::prepare_copy(copy_statement copy) {
  auto st = std::make_shared<statement>();
  st->copy_.format = copy.format;
  if (!copy.table.empty()) {
    auto info = find_table("", copy.table);
    if (!info) {
      return error{"42P01", fmt::format("relation \"{}\" does not exist", copy.table), {},
                   "CREATE TABLE it first; \\dt lists the tables."};
    }
    st->copy_schema = info->schema;
    const auto& cols = info->schema.columns;
    if (copy.columns.empty()) {
      for (uint32_t i = 0; i < cols.size(); ++i) st->copy_columns.push_back(i);
    } else {
      for (const auto& name : copy.columns) {
        auto it = std::find_if(cols.begin(), cols.end(), [&](const tables::column_def& c) { return c.name == name; });
        if (it == cols.end()) {
          return error{"42703", fmt::format("column \"{}\" of relation \"{}\" does not exist", name, copy.table), {}, {}};
        }
        uint32_t index = uint32_t(it - cols.begin());
        if (std::find(st->copy_columns.begin(), st->copy_columns.end(), index) != st->copy_columns.end()) {
          return error{"42701", fmt::format("column \"{}\" specified more than once", name), {}, {}};
        }
        st->copy_columns.push_back(index);
      }
    }
  }
  if (copy.from_stdin) {
    if (copy.table.empty()) return error{"42601", "COPY FROM STDIN needs a table", {}, {}};
    st->how = route::copy_in;
    st->kind_ = statement_kind::copy_in;
    st->copy_.column_count = uint32_t(st->copy_columns.size());
  } else {
    std::string query = copy.query;
    if (query.empty()) {
      query = "SELECT ";
      for (size_t i = 0; i < st->copy_columns.size(); ++i) {
        if (i > 0) query += ", ";
        query += quote_identifier(st->copy_schema.columns[st->copy_columns[i]].name);
      }
      query += " FROM " + quote_identifier(st->copy_schema.name);
    }
    quiesce();
    auto p = duck_prepare(query);
    if (!p.ok()) return p.err();
    if (p.value()->GetStatementProperties().return_type != duckdb::StatementReturnType::QUERY_RESULT) {
      return error{"0A000", "COPY (query) TO STDOUT takes a query that returns rows", {}, {}};
    }
    st->duck = p.value();
    for (size_t i = 0; i < st->duck->GetTypes().size(); ++i) {
      st->fields_.push_back(field_of(st->duck->GetNames()[i], st->duck->GetTypes()[i]));
      if (copy.format == copy_format::binary && !binary_encodable(st->fields_.back())) {
        return error{"0A000",
                     fmt::format("COPY BINARY cannot send column \"{}\" of type {}", st->fields_.back().name,
                                 st->duck->GetTypes()[i].ToString()),
                     {}, "Cast the column to a type with a binary form, or use FORMAT text or FORMAT csv."};
      }
    }
    st->how = route::copy_out;
    st->kind_ = statement_kind::copy_out;
    st->copy_.column_count = uint32_t(st->fields_.size());
  }
  st->copy_stmt = std::move(copy);
  return st;
}

std::vector<std::optional<tables::column_type>> session_impl::table_column_types(const duckdb::SQLStatement& stmt) {
  std::vector<std::optional<tables::column_type>> out;
  if (stmt.type != duckdb::StatementType::SELECT_STATEMENT) return out;
  const auto& node = stmt.Cast<duckdb::SelectStatement>().node;
  if (!node || node->type != duckdb::QueryNodeType::SELECT_NODE) return out;
  const auto& select = node->Cast<duckdb::SelectNode>();
  if (!select.from_table || select.from_table->type != duckdb::TableReferenceType::BASE_TABLE) return out;
  if (!select.groups.group_expressions.empty() || select.aggregate_handling != duckdb::AggregateHandling::STANDARD_HANDLING) {
    return out;
  }
  const auto& base = select.from_table->Cast<duckdb::BaseTableRef>();
  auto info = find_table(base.schema_name, base.table_name);
  if (!info) return out;
  const auto& columns = info->schema.columns;
  for (const auto& e : select.select_list) {
    if (e->GetExpressionClass() == duckdb::ExpressionClass::STAR) {
      const auto& star = e->Cast<duckdb::StarExpression>();
      if (star.columns || star.expr || !star.exclude_list.empty() || !star.replace_list.empty() ||
          !star.rename_list.empty()) {
        return {};
      }
      for (const auto& c : columns) out.emplace_back(c.type);
    } else if (e->GetExpressionClass() == duckdb::ExpressionClass::COLUMN_REF) {
      const std::string name = lower_ascii(e->Cast<duckdb::ColumnRefExpression>().GetColumnName());
      auto it = std::find_if(columns.begin(), columns.end(), [&](const auto& c) { return c.name == name; });
      out.push_back(it == columns.end() ? std::nullopt : std::optional<tables::column_type>(it->type));
    } else {
      out.emplace_back(std::nullopt);
    }
  }
  return out;
}

outcome<std::shared_ptr<statement>> session_impl::prepare_duckdb(std::string_view sql, const std::vector<uint32_t>&) {
  quiesce();
  auto parsed = conn_.ExtractStatements(std::string(sql));
  if (parsed.empty()) {
    auto st = std::make_shared<statement>();
    st->kind_ = statement_kind::empty;
    return st;
  }
  if (parsed.size() > 1) {
    return error{"42601", "cannot insert multiple commands into a prepared statement", {},
                 "Send the statements one at a time, or as a simple query."};
  }
  auto& stmt = *parsed[0];
  std::string tag;
  switch (stmt.type) {
    case duckdb::StatementType::INSERT_STATEMENT: {
      auto& ins = stmt.Cast<duckdb::InsertStatement>();
      if (auto info = find_unhidden_table(ins.schema, ins.table)) return prepare_write(stmt, *info);
      break;
    }
    case duckdb::StatementType::UPDATE_STATEMENT:
    case duckdb::StatementType::DELETE_STATEMENT: {
      auto& ref = stmt.type == duckdb::StatementType::UPDATE_STATEMENT ? stmt.Cast<duckdb::UpdateStatement>().table
                                                                       : stmt.Cast<duckdb::DeleteStatement>().table;
      if (ref && ref->type == duckdb::TableReferenceType::BASE_TABLE) {
        auto& base = ref->Cast<duckdb::BaseTableRef>();
        if (auto info = find_unhidden_table(base.schema_name, base.table_name)) return prepare_write(stmt, *info);
      }
      break;
    }
    case duckdb::StatementType::CREATE_STATEMENT: {
      auto& info = *stmt.Cast<duckdb::CreateStatement>().info;
      std::string what = catalog_type_word(info.type);
      temp_tables_created_ = true;  // conservatively, before DuckDB says whether it was TEMP
      if (!info.temporary && info.catalog != "temp") {
        return error{"0A000",
                     fmt::format("CREATE {} is not supported: Strata keeps only its own tables in the catalog", what),
                     {}, what == "TABLE" ? "Use CREATE TABLE as described in docs/sql.md." : "Use CREATE TEMP " + what + " for a session-local object."};
      }
      tag = "CREATE " + what;
      break;
    }
    case duckdb::StatementType::ALTER_STATEMENT: {
      auto& info = *stmt.Cast<duckdb::AlterStatement>().info;
      if (find_table(info.schema, info.name)) {
        return error{"0A000", fmt::format("ALTER TABLE is not supported on Strata table \"{}\"", info.name), {},
                     "Create a new table and copy the rows with INSERT ... SELECT."};
      }
      tag = "ALTER TABLE";
      break;
    }
    case duckdb::StatementType::DROP_STATEMENT:
      tag = "DROP " + catalog_type_word(stmt.Cast<duckdb::DropStatement>().info->type);
      break;
    case duckdb::StatementType::ATTACH_STATEMENT:
    case duckdb::StatementType::DETACH_STATEMENT:
    case duckdb::StatementType::EXPORT_STATEMENT:
    case duckdb::StatementType::LOAD_STATEMENT:
    case duckdb::StatementType::COPY_DATABASE_STATEMENT:
    case duckdb::StatementType::UPDATE_EXTENSIONS_STATEMENT:
    case duckdb::StatementType::COPY_STATEMENT:
    case duckdb::StatementType::SET_STATEMENT:
    case duckdb::StatementType::VARIABLE_SET_STATEMENT:
    case duckdb::StatementType::TRANSACTION_STATEMENT:
    case duckdb::StatementType::EXTENSION_STATEMENT:
      return error{"0A000", fmt::format("{} statements are not supported", duckdb::StatementTypeToString(stmt.type)), {},
                   "docs/sql.md lists what Strata runs."};
    default:
      break;
  }
  auto pg_names = pg_column_names(stmt);
  auto sources = table_column_types(stmt);
  auto p = duck_prepare(std::move(parsed[0]));
  if (!p.ok()) return p.err();
  auto st = std::make_shared<statement>();
  st->how = route::duckdb;
  st->duck = p.value();
  st->duck_type = st->duck->GetStatementType();
  if (st->duck->GetStatementProperties().return_type == duckdb::StatementReturnType::QUERY_RESULT) {
    st->kind_ = statement_kind::query;
    const auto& names = st->duck->GetNames();
    const auto& types = st->duck->GetTypes();
    bool rename = pg_names.size() == types.size();
    for (size_t i = 0; i < types.size(); ++i) st->fields_.push_back(field_of(rename ? pg_names[i] : names[i], types[i]));
    if (sources.size() == st->fields_.size()) {
      for (size_t i = 0; i < sources.size(); ++i) {
        if (sources[i]) describe_as_column(st->fields_[i], *sources[i]);
      }
    }
  } else {
    st->kind_ = statement_kind::command;
    st->tag = tag.empty() ? duckdb::StatementTypeToString(st->duck_type) : tag;
  }
  return st;
}

}  // namespace strata::sql::detail
