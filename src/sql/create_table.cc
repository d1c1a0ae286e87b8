// CREATE TABLE on Strata tables: column DEFAULTs checked against their
// column's type, and the sequences of serial and identity columns, named as
// PostgreSQL names them and created with the table in one catalog write.
#include <fmt/format.h>

#include "sql/psql_catalog.h"
#include "sql/session_impl.h"

namespace strata::sql::detail {
namespace {

constexpr size_t name_bytes_max = 63;  // PostgreSQL's NAMEDATALEN - 1
constexpr int sequence_name_attempts_max = 1000;

// PostgreSQL's makeObjectName: "<table>_<column>_<label>", the longer of
// the two names cut first until it fits.
std::string object_name(std::string table, std::string column, const std::string& label) {
  const size_t room = name_bytes_max - label.size() - 2;
  while (table.size() + column.size() > room) {
    std::string& longer = table.size() >= column.size() ? table : column;
    longer.pop_back();
  }
  return table + "_" + column + "_" + label;
}

// nextval('<name>'::regclass), as PostgreSQL shows a serial column's default.
std::string nextval_default(const std::string& sequence) {
  const std::string name = quote_ident(sequence);
  std::string literal;
  for (char c : name) {
    if (c == '\'') literal.push_back('\'');
    literal.push_back(c);
  }
  return fmt::format("nextval('{}'::regclass)", literal);
}

// The identity options of `column` in PostgreSQL's tree of the CREATE TABLE.
outcome<sequence_options> identity_options(const outcome<pg_tree>& tree, const std::string& column) {
  if (!tree.ok() || tree.value().size() != 1) return sequence_options{};
  const PgQuery__Node& node = tree.value().statement(0);
  if (node.node_case != PG_QUERY__NODE__NODE_CREATE_STMT) return sequence_options{};
  const PgQuery__CreateStmt& create = *node.create_stmt;
  for (size_t i = 0; i < create.n_table_elts; ++i) {
    const PgQuery__Node* e = create.table_elts[i];
    if (e == nullptr || e->node_case != PG_QUERY__NODE__NODE_COLUMN_DEF || column != e->column_def->colname) continue;
    for (size_t k = 0; k < e->column_def->n_constraints; ++k) {
      const PgQuery__Node* c = e->column_def->constraints[k];
      if (c == nullptr || c->node_case != PG_QUERY__NODE__NODE_CONSTRAINT ||
          c->constraint->contype != PG_QUERY__CONSTR_TYPE__CONSTR_IDENTITY) {
        continue;
      }
      return read_sequence_options(c->constraint->options, c->constraint->n_options);
    }
  }
  return sequence_options{};
}

}  // namespace

std::string cast_text(const std::string& expression, const tables::column_type& type) {
  return fmt::format("CAST(({}) AS {})", expression, to_duckdb_type(type).ToString());
}

outcome<std::shared_ptr<statement>> session_impl::prepare_create_table(create_table_statement create,
                                                                       const outcome<pg_tree>& tree) {
  auto st = std::make_shared<statement>();
  st->how = route::create_table;
  st->tag = "CREATE TABLE";
  const auto& columns = create.schema.columns;
  for (uint32_t i = 0; i < columns.size(); ++i) {
    const tables::column_def& c = columns[i];
    const bool serial = std::find(create.serial_columns.begin(), create.serial_columns.end(), i) !=
                        create.serial_columns.end();
    if (serial || c.identity != tables::identity_kind::none) {
      column_sequence cs{i, {}};
      if (c.identity != tables::identity_kind::none) {
        auto o = identity_options(tree, c.name);
        if (!o.ok()) return o.err();
        cs.options = std::move(*o);
      }
      if (cs.options.owned_by) return error{"42601", "invalid sequence option OWNED BY for an identity column", {}, {}};
      cs.options.value_bytes = uint8_t(tables::fixed_width(c.type));  // serial and identity columns are integers
      st->create_sequences.push_back(std::move(cs));
    } else if (!c.default_expr.empty()) {
      auto checked = check_default(c);
      if (!checked.ok()) return checked.err();
    }
  }
  st->create = std::move(create);
  return st;
}

status session_impl::check_default(const tables::column_def& column) {
  const std::string probe = "SELECT " + cast_text(column.default_expr, column.type);
  auto prepared = duck_prepare(probe);
  if (prepared.ok()) return ok_t{};
  error e = prepared.err();
  e.message = fmt::format("DEFAULT of column \"{}\": {}", column.name, e.message);
  e.position = 0;
  return e;
}

outcome<tables::sequence_def> session_impl::column_sequence_def(const std::string& table, tables::column_def& column,
                                                                const column_sequence& cs,
                                                                const std::vector<tables::sequence_def>& also_taken) {
  auto taken = [&](const std::string& name) {
    return parts_.tables.describe(name).ok() || parts_.tables.sequences().exists(name) ||
           std::any_of(also_taken.begin(), also_taken.end(), [&](const auto& s) { return s.name == name; });
  };
  std::string name;
  if (cs.options.sequence_name) {
    name = *cs.options.sequence_name;
    if (std::any_of(also_taken.begin(), also_taken.end(), [&](const auto& s) { return s.name == name; })) {
      return error{"42P07", fmt::format("relation \"{}\" already exists", name), {}, {}};
    }
  } else {
    for (int n = 0; n < sequence_name_attempts_max && (name.empty() || taken(name)); ++n) {
      name = object_name(table, column.name, n == 0 ? "seq" : fmt::format("seq{}", n));
    }
  }
  auto def = apply_sequence_options(tables::sequence_def{.name = name}, cs.options, true);
  if (!def.ok()) return def.err();
  def->owned_table = table;
  def->owned_column = column.name;
  column.default_expr = nextval_default(name);
  return def;
}

outcome<std::unique_ptr<cursor>> session_impl::run_create_table(statement& st) {
  tables::table_schema schema = st.create->schema;
  std::vector<tables::sequence_def> owned;
  for (const column_sequence& cs : st.create_sequences) {
    auto def = column_sequence_def(schema.name, schema.columns[cs.column], cs, owned);
    if (!def.ok()) return def.err();
    owned.push_back(std::move(*def));
  }
  auto r = parts_.tables.create_table(schema, st.create->if_not_exists, owned);
  if (!r.ok()) {
    error e = tables_error(r.err());
    if (r.err().code == errc::already_exists) e.sqlstate = "42P07";
    if (r.err().code == errc::invalid_argument) e.sqlstate = "42601";
    return e;
  }
  return command_cursor_of("CREATE TABLE");
}

outcome<tables::column_vector> session_impl::default_column(const tables::column_def& column, uint32_t rows) {
  tables::column_vector out(column.type);
  if (column.default_expr.empty()) {
    for (uint32_t r = 0; r < rows; ++r) out.append_null();
    return out;
  }
  quiesce();
  auto materialized =
      conn_.Query(fmt::format("SELECT {} FROM range({})", cast_text(column.default_expr, column.type), rows));
  if (materialized->HasError()) return duck_error(materialized->GetErrorObject());
  std::unique_ptr<duckdb::QueryResult> result(materialized.release());
  auto batches = collect(result, {column.type});
  if (!batches.ok()) return batches.err();
  for (const auto& b : *batches) append_rows(b.columns[0], 0, b.row_count, out);
  return out;
}

}  // namespace strata::sql::detail
