// CREATE, ALTER and DROP SEQUENCE, read off PostgreSQL's tree and run on
// tables::service's sequences.
#include <fmt/format.h>

#include "sql/session_impl.h"

namespace strata::sql::detail {
namespace {

error schema_missing(std::string_view schema) {
  return error{"3F000", fmt::format("schema \"{}\" does not exist", schema), {},
               "Sequences live in the public schema; drop the qualifier."};
}

outcome<std::string> sequence_of(const PgQuery__RangeVar* r) {
  if (r == nullptr) return error{"42601", "a sequence name is missing", {}, {}};
  if (!names_strata_schema(r->schemaname)) return schema_missing(r->schemaname);
  return std::string(r->relname);
}

}  // namespace

outcome<std::shared_ptr<statement>> session_impl::prepare_sequence_ddl(const PgQuery__Node& node) {
  auto cmd = std::make_shared<sequence_command>();
  auto st = std::make_shared<statement>();
  st->how = route::sequence;
  if (node.node_case == PG_QUERY__NODE__NODE_DROP_STMT) {
    const PgQuery__DropStmt& d = *node.drop_stmt;
    cmd->action = sequence_command::kind::drop;
    cmd->missing_ok = d.missing_ok;
    for (const auto& q : read_drop_table(d).tables) {
      if (!names_strata_schema(q.schema)) return schema_missing(q.schema);
      cmd->names.push_back(q.name);
    }
    st->tag = "DROP SEQUENCE";
  } else {
    const bool create = node.node_case == PG_QUERY__NODE__NODE_CREATE_SEQ_STMT;
    const PgQuery__RangeVar* r = create ? node.create_seq_stmt->sequence : node.alter_seq_stmt->sequence;
    auto name = sequence_of(r);
    if (!name.ok()) return name.err();
    if (std::string_view(r->relpersistence) == "t") {
      return error{"0A000", "TEMPORARY sequences are not supported", {}, "Create a sequence without TEMPORARY."};
    }
    auto options = create ? read_sequence_options(node.create_seq_stmt->options, node.create_seq_stmt->n_options)
                          : read_sequence_options(node.alter_seq_stmt->options, node.alter_seq_stmt->n_options);
    if (!options.ok()) return options.err();
    cmd->action = create ? sequence_command::kind::create : sequence_command::kind::alter;
    cmd->names = {*name};
    cmd->options = std::move(*options);
    cmd->missing_ok = create ? node.create_seq_stmt->if_not_exists : node.alter_seq_stmt->missing_ok;
    if (create && cmd->options.restart) return error{"42601", "RESTART is not allowed in CREATE SEQUENCE", {}, {}};
    st->tag = create ? "CREATE SEQUENCE" : "ALTER SEQUENCE";
  }
  st->sequence = std::move(cmd);
  return st;
}

outcome<std::unique_ptr<cursor>> session_impl::run_sequence_ddl(statement& st) {
  const sequence_command& cmd = *st.sequence;
  auto& sequences = parts_.tables.sequences();
  // OWNED BY must name a column of a Strata table.
  auto check_owner = [&]() -> status {
    if (!cmd.options.owned_by || cmd.options.owned_by->first.empty()) return ok_t{};
    const auto& [table_name, column] = *cmd.options.owned_by;
    auto table = find_table("", table_name);
    if (!table) return error{"42P01", fmt::format("relation \"{}\" does not exist", table_name), {}, {}};
    for (const auto& c : table->schema.columns) {
      if (c.name == column) return ok_t{};
    }
    return error{"42703", fmt::format("column \"{}\" of relation \"{}\" does not exist", column, table_name), {}, {}};
  };
  if (auto owner = check_owner(); !owner.ok()) return owner.err();
  switch (cmd.action) {
    case sequence_command::kind::create: {
      auto def = apply_sequence_options(tables::sequence_def{.name = cmd.names[0]}, cmd.options, true);
      if (!def.ok()) return def.err();
      auto s = parts_.tables.create_sequence(*def, cmd.missing_ok);
      if (!s.ok()) {
        error e = tables_error(s.err());
        if (s.err().code == errc::already_exists) e.sqlstate = "42P07";
        return e;
      }
      break;
    }
    case sequence_command::kind::alter: {
      const std::string& name = cmd.names[0];
      // Applied under the store's lock, to the definition as it is then.
      auto reapply = [&](const tables::sequence_def& now) -> result<tables::sequence_def> {
        auto def = apply_sequence_options(now, cmd.options, false);
        if (!def.ok()) return make_error(errc::invalid_argument, def.err().message);
        return *def;
      };
      auto s = sequences.alter(name, reapply, cmd.options.restart);
      if (!s.ok() && s.err().code == errc::not_found && cmd.missing_ok) break;
      if (!s.ok()) {
        error e = tables_error(s.err());
        e.sqlstate = s.err().code == errc::not_found ? "42P01" : s.err().code == errc::invalid_argument ? "22023" : e.sqlstate;
        return e;
      }
      break;
    }
    case sequence_command::kind::drop: {
      auto s = parts_.tables.drop_sequences(cmd.names, cmd.missing_ok);
      if (!s.ok()) {
        error e = tables_error(s.err());
        if (s.err().code == errc::not_found) e.sqlstate = "42P01";
        if (s.err().code == errc::invalid_argument) e.sqlstate = "2BP01";
        return e;
      }
      break;
    }
  }
  return command_cursor_of(st.tag);
}

}  // namespace strata::sql::detail
