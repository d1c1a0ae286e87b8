// ALTER TABLE on Strata tables. The actions are read off PostgreSQL's tree,
// applied in order to the table's definition, and then made one
// tables::service::alter_table. Renames, DEFAULTs and DROP NOT NULL change
// only the catalog. An added, dropped or retyped column writes every row
// again, computed by DuckDB from the current rows (a new column's DEFAULT
// runs once per row, as in PostgreSQL). SET NOT NULL and ADD PRIMARY KEY
// copy the rows as they are, which checks them.
#include <fmt/format.h>

#include "duckdb/parser/keyword_helper.hpp"
#include "sql/duckdb_bridge.h"
#include "sql/pg_parse.h"
#include "sql/session_impl.h"
#include "sql/storage_parameters.h"

namespace strata::sql::detail {
namespace {

using action_kind = alter_action::kind;

error unsupported(std::string_view what) {
  return error{"0A000", fmt::format("ALTER TABLE ... {} is not supported on Strata tables", what), {},
               "docs/sql.md, \"ALTER TABLE\", lists what is."};
}

std::string_view command_name(PgQuery__AlterTableType type) {
  const ProtobufCEnumValue* v = protobuf_c_enum_descriptor_get_value(&pg_query__alter_table_type__descriptor, type);
  std::string_view name = v != nullptr ? v->name : "this command";
  if (name.starts_with("AT_")) name.remove_prefix(3);
  return name;
}

std::optional<uint32_t> column_named(const tables::table_schema& schema, const std::string& name) {
  for (uint32_t i = 0; i < schema.columns.size(); ++i) {
    if (schema.columns[i].name == name) return i;
  }
  return std::nullopt;
}

error no_column(const std::string& column, const std::string& table) {
  return error{"42703", fmt::format("column \"{}\" of relation \"{}\" does not exist", column, table), {}, {}};
}

error column_exists(const std::string& column, const std::string& table) {
  return error{"42701", fmt::format("column \"{}\" of relation \"{}\" already exists", column, table), {}, {}};
}

error identity_column(const std::string& column, const std::string& table, std::string sqlstate, std::string hint) {
  return error{std::move(sqlstate), fmt::format("column \"{}\" of relation \"{}\" is an identity column", column, table),
               {}, std::move(hint)};
}

void erase_index(std::vector<uint32_t>& indexes, uint32_t dropped) {
  std::erase(indexes, dropped);
  for (uint32_t& i : indexes) i -= i > dropped ? 1 : 0;
}

// ADD PRIMARY KEY: as PostgreSQL builds the key's index, its columns become
// NOT NULL, and the rewrite refuses duplicates and NULLs.
status add_primary_key(tables::table_schema& target, const std::vector<std::string>& columns) {
  if (target.kind == tables::table_kind::primary_key) {
    return error{"42P16", fmt::format("multiple primary keys for table \"{}\" are not allowed", target.name), {}, {}};
  }
  target.kind = tables::table_kind::primary_key;
  target.primary_key.clear();
  for (const auto& column : columns) {
    auto index = column_named(target, column);
    if (!index) return error{"42703", fmt::format("column \"{}\" named in key does not exist", column), {}, {}};
    if (std::find(target.primary_key.begin(), target.primary_key.end(), *index) != target.primary_key.end()) {
      return error{"42701", fmt::format("column \"{}\" appears twice in primary key constraint", column), {}, {}};
    }
    target.primary_key.push_back(*index);
    target.columns[*index].not_null = true;
  }
  for (uint32_t index : target.bucket_key) {
    if (std::find(target.primary_key.begin(), target.primary_key.end(), index) == target.primary_key.end()) {
      target.bucket_key.clear();  // spread by the new key instead
      break;
    }
  }
  return ok_t{};
}

status drop_column(alter_state& s, uint32_t index) {
  tables::table_schema& target = s.change.target;
  const std::string& name = target.columns[index].name;
  if (target.partitioning.kind != tables::partition_kind::none && target.partitioning.column == index) {
    return error{"42P16", fmt::format("cannot drop column \"{}\" because it is part of the partition key of relation \"{}\"",
                                      name, target.name), {}, {}};
  }
  if (target.columns.size() == 1) {
    return error{"0A000", fmt::format("cannot drop column \"{}\": it is the only column of \"{}\"", name, target.name),
                 {}, "A Strata table needs at least one column; drop the table instead."};
  }
  if (std::find(target.primary_key.begin(), target.primary_key.end(), index) != target.primary_key.end()) {
    // As in PostgreSQL, the primary key goes with one of its columns.
    target.kind = tables::table_kind::log;
    target.primary_key.clear();
    target.bucket_key.clear();
  }
  if (std::find(target.bucket_key.begin(), target.bucket_key.end(), index) != target.bucket_key.end()) {
    target.bucket_key.clear();
  }
  erase_index(target.primary_key, index);
  erase_index(target.bucket_key, index);
  if (target.partitioning.kind != tables::partition_kind::none && target.partitioning.column > index) {
    --target.partitioning.column;
  }
  target.columns.erase(target.columns.begin() + index);
  s.change.continues.erase(s.change.continues.begin() + index);
  s.expressions.erase(s.expressions.begin() + index);
  s.change.rewrite = s.reshaped = true;
  return ok_t{};
}

// "null value in column "c" of relation ..." from the rewrite, in the words
// PostgreSQL uses when ALTER TABLE finds NULLs.
error contains_nulls(const std::string& message, const std::string& table) {
  const auto from = message.find('"');
  const auto to = from == std::string::npos ? from : message.find('"', from + 1);
  const std::string column = to == std::string::npos ? "?" : message.substr(from + 1, to - from - 1);
  return error{"23502", fmt::format("column \"{}\" of relation \"{}\" contains null values", column, table), {}, {}};
}

}  // namespace

// ------------------------------------------------------------------ prepare

namespace {

bool only_owner_changes(const PgQuery__AlterTableStmt& a) {
  for (size_t i = 0; i < a.n_cmds; ++i) {
    const PgQuery__Node* cmd = a.cmds[i];
    if (cmd == nullptr || cmd->node_case != PG_QUERY__NODE__NODE_ALTER_TABLE_CMD ||
        cmd->alter_table_cmd->subtype != PG_QUERY__ALTER_TABLE_TYPE__AT_ChangeOwner) {
      return false;
    }
  }
  return a.n_cmds > 0;
}

}  // namespace

// ALTER SEQUENCE s OWNER TO r, or ALTER TABLE s OWNER TO r naming a sequence
// (pg_dump writes the latter): one user owns everything, so it is accepted
// once the sequence is known to exist.
std::optional<outcome<std::shared_ptr<statement>>> session_impl::prepare_sequence_owner(const PgQuery__AlterTableStmt& a) {
  if (!only_owner_changes(a)) return std::nullopt;
  const std::string_view schema = a.relation->schemaname;
  const std::string name = a.relation->relname;
  if (!schema.empty() && schema != "public") return std::nullopt;
  if (!parts_.tables.sequences().exists(name)) {
    if (a.objtype != PG_QUERY__OBJECT_TYPE__OBJECT_SEQUENCE || a.missing_ok) return std::nullopt;
    return outcome<std::shared_ptr<statement>>(error{"42P01", fmt::format("relation \"{}\" does not exist", name), {}, {}});
  }
  auto st = std::make_shared<statement>();
  st->how = route::accepted;
  st->tag = a.objtype == PG_QUERY__OBJECT_TYPE__OBJECT_SEQUENCE ? "ALTER SEQUENCE" : "ALTER TABLE";
  return outcome<std::shared_ptr<statement>>(st);
}

std::optional<outcome<std::shared_ptr<statement>>> session_impl::prepare_alter_table(const PgQuery__AlterTableStmt& a) {
  if (a.relation == nullptr) return std::nullopt;
  const qualified_name table{a.relation->schemaname, a.relation->relname};
  const bool names_table = a.objtype == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE;
  if (!names_table || !find_table(table.schema, table.name)) {
    // A sequence; otherwise a TEMP table, or none: DuckDB answers.
    if (names_table || a.objtype == PG_QUERY__OBJECT_TYPE__OBJECT_SEQUENCE) return prepare_sequence_owner(a);
    return std::nullopt;
  }
  auto command = std::make_shared<alter_command>();
  command->table = table;
  command->missing_ok = a.missing_ok;
  for (size_t i = 0; i < a.n_cmds; ++i) {
    const PgQuery__Node* cmd = a.cmds[i];
    if (cmd == nullptr || cmd->node_case != PG_QUERY__NODE__NODE_ALTER_TABLE_CMD) continue;
    const PgQuery__AlterTableCmd& c = *cmd->alter_table_cmd;
    if (c.subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_ChangeOwner) continue;  // one user owns everything
    if (c.subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_SetRelOptions) {
      for (size_t k = 0; c.def != nullptr && c.def->node_case == PG_QUERY__NODE__NODE_LIST && k < c.def->list->n_items; ++k) {
        const PgQuery__Node* o = c.def->list->items[k];
        if (o == nullptr || o->node_case != PG_QUERY__NODE__NODE_DEF_ELEM) continue;
        if (auto bad = check_storage_parameter(o->def_elem->defname, option_value(o->def_elem->arg))) return *bad;
      }
      continue;
    }
    auto action = read_alter_command(c, *a.relation);
    if (!action.ok()) return action.err();
    command->actions.push_back(std::move(action.value()));
  }
  auto st = std::make_shared<statement>();
  st->how = route::alter_table;
  st->tag = "ALTER TABLE";
  st->alter = std::move(command);
  return st;
}

std::optional<outcome<std::shared_ptr<statement>>> session_impl::prepare_rename(const PgQuery__RenameStmt& r) {
  if (r.relation == nullptr) return std::nullopt;
  alter_action action;
  if (r.rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE) {
    action.what = action_kind::rename_table;
  } else if (r.rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN &&
             r.relation_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE) {
    action.what = action_kind::rename_column;
    action.column = r.subname;
  } else {
    return std::nullopt;
  }
  const qualified_name table{r.relation->schemaname, r.relation->relname};
  if (!find_table(table.schema, table.name)) return std::nullopt;
  action.new_name = r.newname;
  auto st = std::make_shared<statement>();
  st->how = route::alter_table;
  st->tag = "ALTER TABLE";
  st->alter = std::make_shared<alter_command>(alter_command{table, r.missing_ok != 0, {std::move(action)}});
  return st;
}

outcome<alter_action> session_impl::read_alter_command(const PgQuery__AlterTableCmd& c,
                                                       const PgQuery__RangeVar& relation) {
  alter_action action;
  action.column = c.name;
  action.missing_ok = c.missing_ok;
  switch (c.subtype) {
    case PG_QUERY__ALTER_TABLE_TYPE__AT_AddColumn: {
      if (c.def == nullptr || c.def->node_case != PG_QUERY__NODE__NODE_COLUMN_DEF) return unsupported("ADD COLUMN");
      auto added = read_added_column(*c.def->column_def, relation);
      if (added.ok()) added.value().missing_ok = c.missing_ok;
      return added;
    }
    case PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumn:
      action.what = action_kind::drop_column;
      return action;
    case PG_QUERY__ALTER_TABLE_TYPE__AT_AlterColumnType: {
      if (c.def == nullptr || c.def->node_case != PG_QUERY__NODE__NODE_COLUMN_DEF) return unsupported("TYPE");
      PgQuery__ColumnDef typed = *c.def->column_def;
      typed.colname = c.name;
      typed.raw_default = nullptr;  // USING, read below
      auto read = read_added_column(typed, relation);
      if (!read.ok()) return read.err();
      action.what = action_kind::set_type;
      action.added = read.value().added;
      if (c.def->column_def->raw_default != nullptr) {
        auto expression = deparse_expression(c.def->column_def->raw_default);
        if (!expression.ok()) return expression.err();
        action.expression = std::move(expression.value());
      }
      return action;
    }
    case PG_QUERY__ALTER_TABLE_TYPE__AT_ColumnDefault: {
      action.what = c.def == nullptr ? action_kind::drop_default : action_kind::set_default;
      if (c.def == nullptr) return action;
      auto expression = deparse_expression(c.def);
      if (!expression.ok()) return expression.err();
      action.expression = std::move(expression.value());
      return action;
    }
    case PG_QUERY__ALTER_TABLE_TYPE__AT_SetNotNull:
      action.what = action_kind::set_not_null;
      return action;
    case PG_QUERY__ALTER_TABLE_TYPE__AT_DropNotNull:
      action.what = action_kind::drop_not_null;
      return action;
    case PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraint:
      break;
    default:
      return unsupported(command_name(c.subtype));
  }
  if (c.def == nullptr || c.def->node_case != PG_QUERY__NODE__NODE_CONSTRAINT) return unsupported("ADD CONSTRAINT");
  const PgQuery__Constraint& k = *c.def->constraint;
  switch (k.contype) {
    case PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY: break;
    case PG_QUERY__CONSTR_TYPE__CONSTR_UNIQUE: return unsupported("ADD UNIQUE (Strata has no secondary indexes yet)");
    case PG_QUERY__CONSTR_TYPE__CONSTR_CHECK: return unsupported("ADD CHECK");
    case PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN:
      return unsupported("ADD FOREIGN KEY (Strata does not enforce foreign keys, and does not ignore them either)");
    default: return unsupported("ADD CONSTRAINT");
  }
  if (k.indexname != nullptr && *k.indexname != '\0') {
    return error{"0A000", "ADD PRIMARY KEY USING INDEX is not supported", {}, "Name the key's columns instead."};
  }
  if (k.n_including > 0) return error{"0A000", "INCLUDE columns in a primary key are not supported", {}, {}};
  for (size_t i = 0; i < k.n_options; ++i) {
    const PgQuery__Node* o = k.options[i];
    if (o == nullptr || o->node_case != PG_QUERY__NODE__NODE_DEF_ELEM) continue;
    if (auto bad = check_storage_parameter(o->def_elem->defname, option_value(o->def_elem->arg))) return *bad;
  }
  action.what = action_kind::add_primary_key;
  for (size_t i = 0; i < k.n_keys; ++i) action.key_columns.emplace_back(node_text(k.keys[i]));
  return action;
}

// A column definition is read as CREATE TABLE reads it: printed back as a
// one-column CREATE TABLE and prepared as one (types, DEFAULT, NOT NULL,
// serial, identity and PRIMARY KEY, with the same checks).
outcome<alter_action> session_impl::read_added_column(PgQuery__ColumnDef column, const PgQuery__RangeVar& relation) {
  PgQuery__RangeVar table = relation;
  table.schemaname = const_cast<char*>(protobuf_c_empty_string);
  PgQuery__Node column_node = PG_QUERY__NODE__INIT;
  column_node.node_case = PG_QUERY__NODE__NODE_COLUMN_DEF;
  column_node.column_def = &column;
  PgQuery__Node* elements[] = {&column_node};
  PgQuery__CreateStmt create = PG_QUERY__CREATE_STMT__INIT;
  create.relation = &table;
  create.n_table_elts = 1;
  create.table_elts = elements;
  create.oncommit = PG_QUERY__ON_COMMIT_ACTION__ONCOMMIT_NOOP;
  PgQuery__Node node = PG_QUERY__NODE__INIT;
  node.node_case = PG_QUERY__NODE__NODE_CREATE_STMT;
  node.create_stmt = &create;
  auto text = deparse_statement(&node);
  if (!text.ok()) return text.err();
  auto parsed = parse_create_table(text.value());
  if (!parsed) return error{"XX000", "could not read the column definition back", {}, {}};
  if (!parsed->ok()) return parsed->err();
  auto prepared = prepare_create_table(std::move(parsed->value()), pg_tree::parse(text.value()));
  if (!prepared.ok()) return prepared.err();
  const statement& st = *prepared.value();
  alter_action action;
  action.what = action_kind::add_column;
  action.added = st.create->schema.columns.at(0);
  action.column = action.added.name;
  action.added_key = !st.create->schema.primary_key.empty();
  if (!st.create_sequences.empty()) action.added_sequence = st.create_sequences.front();
  return action;
}

// ---------------------------------------------------------------------- run

status session_impl::apply_alter(alter_state& s, const alter_action& a) {
  tables::table_schema& target = s.change.target;
  const std::string& table = target.name;
  std::optional<uint32_t> index = column_named(target, a.column);
  switch (a.what) {
    case action_kind::add_column: {
      if (index) return a.missing_ok ? status(ok_t{}) : status(column_exists(a.column, table));
      tables::column_def column = a.added;
      if (a.added_sequence) {
        auto def = column_sequence_def(table, column, *a.added_sequence, s.sequences);
        if (!def.ok()) return def.err();
        s.change.adopt.emplace_back(def->name, column.name);
        def->owned_table.clear();  // free-standing until the change owns it
        def->owned_column.clear();
        s.sequences.push_back(std::move(*def));
      }
      s.expressions.push_back(cast_text(column.default_expr.empty() ? "NULL" : column.default_expr, column.type));
      target.columns.push_back(std::move(column));
      s.change.continues.emplace_back(std::nullopt);
      s.change.rewrite = s.reshaped = true;
      return a.added_key ? add_primary_key(target, {a.column}) : status(ok_t{});
    }
    case action_kind::drop_column:
      if (!index) return a.missing_ok ? status(ok_t{}) : status(no_column(a.column, table));
      return drop_column(s, *index);
    case action_kind::rename_column:
      if (!index) return error{"42703", fmt::format("column \"{}\" does not exist", a.column), {}, {}};
      if (column_named(target, a.new_name)) return column_exists(a.new_name, table);
      target.columns[*index].name = a.new_name;
      return ok_t{};
    case action_kind::rename_table:
      target.name = a.new_name;
      return ok_t{};
    case action_kind::add_primary_key:
      s.change.rewrite = true;
      return add_primary_key(target, a.key_columns);
    default:
      break;
  }
  if (!index) return no_column(a.column, table);
  tables::column_def& column = target.columns[*index];
  const bool identity = column.identity != tables::identity_kind::none;
  const bool key = std::find(target.primary_key.begin(), target.primary_key.end(), *index) != target.primary_key.end();
  switch (a.what) {
    case action_kind::set_type: {
      if (a.expression.empty() && a.added.type == column.type) return ok_t{};
      column.type = a.added.type;
      std::string& expression = s.expressions[*index];
      expression = cast_text(a.expression.empty() ? expression : a.expression, column.type);
      s.change.rewrite = s.reshaped = true;
      if (!column.default_expr.empty() && !check_default(column).ok()) {
        return error{"42804", fmt::format("default for column \"{}\" cannot be cast automatically to type {}",
                                          column.name, to_duckdb_type(column.type).ToString()), {}, {}};
      }
      return ok_t{};
    }
    case action_kind::set_default: {
      if (identity) return identity_column(column.name, table, "42601", "Use ALTER TABLE ... ALTER COLUMN ... DROP IDENTITY instead.");
      column.default_expr = a.expression;
      return check_default(column);
    }
    case action_kind::drop_default:
      if (identity) return identity_column(column.name, table, "42601", "Use ALTER TABLE ... ALTER COLUMN ... DROP IDENTITY instead.");
      column.default_expr.clear();
      return ok_t{};
    case action_kind::set_not_null:
      if (column.not_null) return ok_t{};
      column.not_null = true;
      s.change.rewrite = true;  // the rows are checked on their way into the new table
      return ok_t{};
    case action_kind::drop_not_null:
      if (key) return error{"42P16", fmt::format("column \"{}\" is in a primary key", column.name), {}, {}};
      if (identity) return identity_column(column.name, table, "42P16", {});
      column.not_null = false;
      return ok_t{};
    default:
      return error{"XX000", "unknown ALTER TABLE action", {}, {}};
  }
}

outcome<std::unique_ptr<cursor>> session_impl::run_alter_table(statement& st) {
  if (auto refused = refuse_after_buffered_writes("ALTER TABLE")) return *refused;
  const alter_command& command = *st.alter;
  auto info = find_table(command.table.schema, command.table.name);
  if (!info) {
    if (command.missing_ok) return command_cursor_of("ALTER TABLE");
    return error{"42P01", fmt::format("relation \"{}\" does not exist", command.table.name), {}, {}};
  }
  const std::string name = info->schema.name;
  alter_state s;
  s.change.target = info->schema;
  s.change.base = info->schema;
  for (uint32_t i = 0; i < info->schema.columns.size(); ++i) {
    s.change.continues.emplace_back(i);
    s.expressions.push_back(quote_identifier(info->schema.columns[i].name));
  }
  for (const alter_action& a : command.actions) {
    auto applied = apply_alter(s, a);
    if (!applied.ok()) return applied.err();
  }
  if (s.change.target == info->schema) return command_cursor_of("ALTER TABLE");
  std::optional<error> sql_failure;
  if (s.reshaped) {
    s.change.fill = [&](const std::string& staged) {
      return fill_rewrite(name, s.change.target, s.expressions, staged, sql_failure);
    };
  }
  std::vector<std::string> created;
  for (const auto& def : s.sequences) {
    auto made = parts_.tables.create_sequence(def, false);
    if (!made.ok()) {
      (void)parts_.tables.drop_sequences(created, true);
      error e = tables_error(made.err());
      if (made.code() == errc::already_exists) e.sqlstate = "42P07";
      return e;
    }
    created.push_back(def.name);
  }
  auto changed = parts_.tables.alter_table(name, s.change);
  if (changed.ok()) return command_cursor_of("ALTER TABLE");
  (void)parts_.tables.drop_sequences(created, true);
  if (sql_failure) return *sql_failure;
  const strata::error& failure = changed.err();
  if (failure.message.starts_with("null value in column")) return contains_nulls(failure.message, name);
  error e = tables_error(failure);
  if (failure.code == errc::already_exists && failure.message.starts_with("relation")) e.sqlstate = "42P07";
  if (failure.code == errc::invalid_argument && e.sqlstate == "22023") e.sqlstate = "42P16";
  if (failure.code == errc::unavailable) e.sqlstate = "55006";
  return e;
}

strata::status session_impl::fill_rewrite(const std::string& from, const tables::table_schema& target,
                                  const std::vector<std::string>& expressions, const std::string& staged,
                                  std::optional<error>& sql_failure) {
  std::string select = "SELECT ";
  for (size_t i = 0; i < expressions.size(); ++i) select += (i == 0 ? "" : ", ") + expressions[i];
  select += " FROM strata_scan(" + duckdb::KeywordHelper::WriteQuoted(from, '\'') + ")";
  quiesce();
  set_scan_txn(nullptr);
  std::unique_ptr<duckdb::QueryResult> rows = conn_.SendQuery(select);
  if (rows->HasError()) {
    sql_failure = duck_error(rows->GetErrorObject());
    return make_error(errc::invalid_argument, sql_failure->message);
  }
  std::vector<tables::column_type> types;
  for (const auto& c : target.columns) types.push_back(c.type);
  auto txn = parts_.tables.begin();
  std::optional<strata::error> write_failure;
  auto done = each_chunk(rows, nullptr, [&](const duckdb::DataChunk& chunk) -> outcome<uint64_t> {
    auto batch = chunk_to_table_rows(chunk, types);
    if (!batch.ok()) return fix_error(batch.err());
    auto lengths = check_lengths(target, batch.value());
    if (!lengths.ok()) return lengths.err();
    auto wrote = txn->insert(staged, batch.value(), tables::on_conflict::error);
    if (wrote.ok() && txn->buffered_bytes() >= tables::rewrite_commit_bytes) {
      auto committed = txn->commit();
      if (!committed.ok()) wrote = committed.err();
      txn = parts_.tables.begin();
    }
    if (!wrote.ok()) {
      write_failure = wrote.err();
      return error{"XX000", wrote.err().message, {}, {}};
    }
    return uint64_t{0};  // nothing is held: each chunk is in the transaction
  });
  if (write_failure) return *write_failure;
  if (!done.ok()) {
    sql_failure = done.err();
    return make_error(errc::invalid_argument, done.err().message);
  }
  return txn->commit();
}

}  // namespace strata::sql::detail
