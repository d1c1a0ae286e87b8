#include "sql/catalog_functions.h"

#include <fmt/format.h>

#include <map>
#include <string>
#include <vector>

#include "duckdb/catalog/catalog.hpp"
#include "duckdb/common/vector_operations/unary_executor.hpp"
#include "duckdb/catalog/catalog_entry/schema_catalog_entry.hpp"
#include "duckdb/catalog/catalog_entry/table_function_catalog_entry.hpp"
#include "duckdb/main/client_context.hpp"
#include "duckdb/parser/parsed_data/create_scalar_function_info.hpp"
#include "duckdb/parser/parsed_data/create_table_function_info.hpp"
#include "duckdb/planner/expression/bound_function_expression.hpp"
#include "sql/duckdb_bridge.h"
#include "sql/pg_rewrite.h"
#include "sql/psql_catalog.h"
#include "sql/sequence_functions.h"
#include "sql/session_impl.h"

namespace strata::sql {
namespace {

namespace dd = duckdb;

enum class listing : uint8_t { tables, columns, sequences, constraints };

struct catalog_info : dd::TableFunctionInfo {
  catalog_info(tables::service& t, dd::TableFunction o, listing w) : tables(t), original(std::move(o)), which(w) {}
  tables::service& tables;
  dd::TableFunction original;
  listing which;
};

struct wrapped_bind : dd::TableFunctionData {
  const catalog_info* info = nullptr;
  dd::unique_ptr<dd::FunctionData> inner;
  dd::vector<std::string> names;
  dd::vector<dd::LogicalType> types;
};

// One row: a value per output column name; names not given are NULL.
using row_values = std::map<std::string, dd::Value>;

struct wrapped_state : dd::GlobalTableFunctionState {
  dd::unique_ptr<dd::GlobalTableFunctionState> inner;
  dd::unique_ptr<dd::LocalTableFunctionState> inner_local;
  bool inner_done = false;
  std::vector<row_values> rows;
  size_t position = 0;
};

// Where Strata's objects live in DuckDB's terms: the default database's
// schema `public`.
struct home {
  std::string database;
  int64_t database_oid = 0;
  int64_t schema_oid = 0;
};

home home_of(dd::ClientContext& context) {
  auto& catalog = dd::Catalog::GetCatalog(context, INVALID_CATALOG);
  auto& schema = catalog.GetSchema(context, detail::strata_schema);
  return {catalog.GetName(), int64_t(catalog.GetOid()), int64_t(schema.oid)};
}

row_values common(const home& h) {
  return {{"database_name", dd::Value(h.database)},
          {"database_oid", dd::Value::BIGINT(h.database_oid)},
          {"schema_name", dd::Value(detail::strata_schema)},
          {"schema_oid", dd::Value::BIGINT(h.schema_oid)},
          {"internal", dd::Value::BOOLEAN(false)},
          {"temporary", dd::Value::BOOLEAN(false)}};
}

void add_tables(const std::vector<tables::table_info>& all, const home& h, std::vector<row_values>& out) {
  for (const auto& t : all) {
    row_values r = common(h);
    r["table_name"] = dd::Value(t.schema.name);
    r["table_oid"] = dd::Value::BIGINT(table_oid(t.table_id));
    r["has_primary_key"] = dd::Value::BOOLEAN(!t.schema.primary_key.empty());
    r["estimated_size"] = dd::Value::BIGINT(int64_t(t.row_count));
    r["column_count"] = dd::Value::BIGINT(int64_t(t.schema.columns.size()));
    r["index_count"] = dd::Value::BIGINT(t.schema.primary_key.empty() ? 0 : 1);
    r["check_constraint_count"] = dd::Value::BIGINT(0);
    out.push_back(std::move(r));
  }
}

void add_columns(const std::vector<tables::table_info>& all, const home& h, std::vector<row_values>& out) {
  for (const auto& t : all) {
    for (uint32_t i = 0; i < t.schema.columns.size(); ++i) {
      const auto& c = t.schema.columns[i];
      const dd::LogicalType type = to_duckdb_type(c.type);
      row_values r = common(h);
      r["table_name"] = dd::Value(t.schema.name);
      r["table_oid"] = dd::Value::BIGINT(table_oid(t.table_id));
      r["column_name"] = dd::Value(c.name);
      r["column_index"] = dd::Value::INTEGER(int32_t(i + 1));
      r["column_default"] = c.default_expr.empty() ? dd::Value() : dd::Value(c.default_expr);
      r["is_nullable"] = dd::Value::BOOLEAN(!c.not_null);
      r["data_type"] = dd::Value(type.ToString());
      r["data_type_id"] = dd::Value::BIGINT(int64_t(type.id()));
      if (c.type.length_max > 0) r["character_maximum_length"] = dd::Value::INTEGER(int32_t(c.type.length_max));
      if (c.type.id == tables::type_id::numeric) {
        r["numeric_precision"] = dd::Value::INTEGER(c.type.precision);
        r["numeric_scale"] = dd::Value::INTEGER(c.type.scale);
        r["numeric_precision_radix"] = dd::Value::INTEGER(10);
      }
      out.push_back(std::move(r));
    }
  }
}

// A primary key as DuckDB lists its own: 0-based column indexes.
void add_constraints(const std::vector<tables::table_info>& all, const home& h, std::vector<row_values>& out) {
  for (const auto& t : all) {
    if (t.schema.primary_key.empty()) continue;
    dd::vector<dd::Value> indexes, names;
    std::string text = "PRIMARY KEY(";
    for (uint32_t c : t.schema.primary_key) {
      indexes.push_back(dd::Value::BIGINT(c));
      names.push_back(dd::Value(t.schema.columns[c].name));
      text += (c == t.schema.primary_key.front() ? "" : ", ") + t.schema.columns[c].name;
    }
    row_values r = common(h);
    r["table_name"] = dd::Value(t.schema.name);
    r["table_oid"] = dd::Value::BIGINT(table_oid(t.table_id));
    r["constraint_index"] = dd::Value::BIGINT(0);
    r["constraint_type"] = dd::Value("PRIMARY KEY");
    r["constraint_text"] = dd::Value(text + ")");
    r["constraint_column_indexes"] = dd::Value::LIST(dd::LogicalType::BIGINT, std::move(indexes));
    r["constraint_column_names"] = dd::Value::LIST(dd::LogicalType::VARCHAR, std::move(names));
    r["constraint_name"] = dd::Value(pkey_name(t.schema.name));
    out.push_back(std::move(r));
  }
}

void add_sequences(tables::sequence_store& store, const home& h, std::vector<row_values>& out) {
  for (const auto& s : store.list()) {
    row_values r = common(h);
    r["sequence_name"] = dd::Value(s.def.name);
    r["sequence_oid"] = dd::Value::BIGINT(sequence_oid(s.def.name));
    r["start_value"] = dd::Value::BIGINT(s.def.start);
    r["min_value"] = dd::Value::BIGINT(s.def.min_value);
    r["max_value"] = dd::Value::BIGINT(s.def.max_value);
    r["increment_by"] = dd::Value::BIGINT(s.def.increment);
    r["cycle"] = dd::Value::BOOLEAN(s.def.cycle);
    r["last_value"] = s.state.is_called ? dd::Value::BIGINT(s.state.last_value) : dd::Value();
    out.push_back(std::move(r));
  }
}

dd::unique_ptr<dd::FunctionData> bind(dd::ClientContext& context, dd::TableFunctionBindInput& input,
                                      dd::vector<dd::LogicalType>& types, dd::vector<std::string>& names) {
  auto& info = input.info->Cast<catalog_info>();
  auto data = dd::make_uniq<wrapped_bind>();
  data->info = &info;
  if (info.original.bind) data->inner = info.original.bind(context, input, types, names);
  data->names = names;
  data->types = types;
  return data;
}

dd::unique_ptr<dd::GlobalTableFunctionState> init_global(dd::ClientContext& context,
                                                         dd::TableFunctionInitInput& input) {
  auto& data = input.bind_data->Cast<wrapped_bind>();
  const catalog_info& info = *data.info;
  auto state = dd::make_uniq<wrapped_state>();
  dd::TableFunctionInitInput inner_input(data.inner.get(), input.column_indexes, input.projection_ids, input.filters);
  if (info.original.init_global) state->inner = info.original.init_global(context, inner_input);
  const home h = home_of(context);
  if (info.which == listing::sequences) {
    add_sequences(info.tables.sequences(), h, state->rows);
  } else {
    auto all = info.tables.list_tables();
    if (info.which == listing::tables) add_tables(all, h, state->rows);
    if (info.which == listing::columns) add_columns(all, h, state->rows);
    if (info.which == listing::constraints) add_constraints(all, h, state->rows);
  }
  return state;
}

void scan(dd::ClientContext& context, dd::TableFunctionInput& input, dd::DataChunk& output) {
  auto& data = input.bind_data->Cast<wrapped_bind>();
  auto& state = input.global_state->Cast<wrapped_state>();
  if (!state.inner_done) {
    dd::TableFunctionInput inner(data.inner.get(), state.inner_local.get(), state.inner.get());
    data.info->original.function(context, inner, output);
    if (output.size() > 0) return;
    state.inner_done = true;
  }
  dd::idx_t n = 0;
  for (; n < STANDARD_VECTOR_SIZE && state.position < state.rows.size(); ++n, ++state.position) {
    const row_values& r = state.rows[state.position];
    for (dd::idx_t c = 0; c < data.names.size(); ++c) {
      auto it = r.find(data.names[c]);
      output.SetValue(c, n, it == r.end() ? dd::Value(data.types[c]) : it->second.DefaultCastAs(data.types[c]));
    }
  }
  output.SetCardinality(n);
}

void wrap(dd::ClientContext& context, dd::DatabaseInstance& db, tables::service& tables, const char* name,
          listing which) {
  auto& entry = dd::Catalog::GetEntry<dd::TableFunctionCatalogEntry>(context, SYSTEM_CATALOG, DEFAULT_SCHEMA, name);
  dd::TableFunction original = entry.functions.GetFunctionByOffset(0);
  // Only functions that produce every column in order can be wrapped this way.
  if (original.projection_pushdown || original.filter_pushdown || original.init_local) {
    throw std::runtime_error(std::string(name) + " changed shape in this DuckDB; catalog wrapping needs updating");
  }
  dd::TableFunction wrapped(original.name, original.arguments, scan, bind, init_global);
  wrapped.named_parameters = original.named_parameters;
  wrapped.function_info = dd::make_shared_ptr<catalog_info>(tables, original, which);
  dd::CreateTableFunctionInfo create(std::move(wrapped));
  create.on_conflict = dd::OnCreateConflict::REPLACE_ON_CONFLICT;
  auto& catalog = dd::Catalog::GetSystemCatalog(db);
  auto txn = dd::CatalogTransaction::GetSystemTransaction(db);
  catalog.CreateTableFunction(txn, create);
}

// ---- regclass: a relation's name from its oid, and its oid from its name.

struct relations_info : dd::ScalarFunctionInfo {
  explicit relations_info(tables::service& t) : tables(t) {}
  tables::service& tables;
};

tables::service& tables_of(dd::ExpressionState& state) {
  return state.expr.Cast<dd::BoundFunctionExpression>().function.function_info->Cast<relations_info>().tables;
}

std::optional<int64_t> oid_of_name(tables::service& tables, const std::string& name) {
  if (auto t = tables.describe(name); t.ok()) return int64_t(table_oid(t->table_id));
  if (tables.sequences().exists(name)) return sequence_oid(name);
  if (!name.ends_with("_pkey")) return std::nullopt;
  for (const auto& t : tables.list_tables()) {
    if (!t.schema.primary_key.empty() && pkey_name(t.schema.name) == name) return int64_t(table_oid(t.table_id)) + 1;
  }
  return std::nullopt;
}

// 'name', 'public.name' or '"Name"', folded as an identifier, of a table,
// its primary-key index or a sequence; 42P01 for any other.
std::string relation_named(tables::service& tables, dd::string_t text, int64_t& oid) {
  auto name = sequence_name_of(text.GetString());
  if (!name.ok()) throw_sql_error(name.err().sqlstate, name.err().message);
  auto found = oid_of_name(tables, *name);
  if (!found) throw_sql_error("42P01", "relation \"" + *name + "\" does not exist");
  oid = *found;
  return *name;
}

void regclass_oid(dd::DataChunk& args, dd::ExpressionState& state, dd::Vector& result) {
  tables::service& tables = tables_of(state);
  dd::UnaryExecutor::Execute<dd::string_t, int64_t>(args.data[0], result, args.size(), [&](dd::string_t text) {
    int64_t oid = 0;
    relation_named(tables, text, oid);
    return oid;
  });
}

void regclass_name_of_text(dd::DataChunk& args, dd::ExpressionState& state, dd::Vector& result) {
  tables::service& tables = tables_of(state);
  dd::UnaryExecutor::Execute<dd::string_t, dd::string_t>(args.data[0], result, args.size(), [&](dd::string_t text) {
    int64_t oid = 0;
    return dd::StringVector::AddString(result, relation_named(tables, text, oid));
  });
}

// An oid to the relation's name; an oid no relation has prints as its
// number, as in PostgreSQL.
void regclass_name(dd::DataChunk& args, dd::ExpressionState& state, dd::Vector& result) {
  tables::service& tables = tables_of(state);
  auto all = tables.list_tables();
  auto sequences = tables.sequences().list();
  dd::UnaryExecutor::Execute<int64_t, dd::string_t>(args.data[0], result, args.size(), [&](int64_t oid) {
    for (const auto& t : all) {
      const int64_t base = table_oid(t.table_id);
      if (oid == base) return dd::StringVector::AddString(result, t.schema.name);
      if (oid == base + 1 && !t.schema.primary_key.empty()) {
        return dd::StringVector::AddString(result, pkey_name(t.schema.name));
      }
    }
    for (const auto& s : sequences) {
      if (oid == sequence_oid(s.def.name)) return dd::StringVector::AddString(result, s.def.name);
    }
    return dd::StringVector::AddString(result, std::to_string(oid));
  });
}

void same_oid(dd::DataChunk& args, dd::ExpressionState&, dd::Vector& result) { result.Reference(args.data[0]); }

// pg_get_indexdef(index oid [, column, pretty]): a primary key's CREATE
// INDEX, or with column n > 0 the name of its n-th column; NULL for an
// oid that is no index, as in PostgreSQL.
std::optional<std::string> index_definition_of(const std::vector<tables::table_info>& all, int64_t oid, int32_t column) {
  for (const auto& t : all) {
    if (t.schema.primary_key.empty() || int64_t(table_oid(t.table_id)) + 1 != oid) continue;
    if (column <= 0) return primary_key_index_definition(t.schema);
    if (size_t(column) > t.schema.primary_key.size()) return std::string();
    return quote_ident(t.schema.columns[t.schema.primary_key[size_t(column) - 1]].name);
  }
  return std::nullopt;
}

void pg_get_indexdef(dd::DataChunk& args, dd::ExpressionState& state, dd::Vector& result) {
  auto all = tables_of(state).list_tables();
  const bool with_column = args.ColumnCount() > 1;
  for (dd::idx_t row = 0; row < args.size(); ++row) {
    const dd::Value oid = args.data[0].GetValue(row);
    const dd::Value column = with_column ? args.data[1].GetValue(row) : dd::Value::INTEGER(0);
    std::optional<std::string> def;
    if (!oid.IsNull() && !column.IsNull()) def = index_definition_of(all, oid.GetValue<int64_t>(), column.GetValue<int32_t>());
    result.SetValue(row, def ? dd::Value(*def) : dd::Value(dd::LogicalType::VARCHAR));
  }
  if (args.AllConstant()) result.SetVectorType(dd::VectorType::CONSTANT_VECTOR);
}

void add_regclass_functions(dd::DatabaseInstance& db, tables::service& tables) {
  auto info = dd::make_shared_ptr<relations_info>(tables);
  const auto text = dd::LogicalType::VARCHAR;
  const auto oid = dd::LogicalType::BIGINT;
  dd::ScalarFunctionSet to_oid{std::string(regclass_oid_function)};
  to_oid.AddFunction(dd::ScalarFunction({text}, oid, regclass_oid));
  to_oid.AddFunction(dd::ScalarFunction({oid}, oid, same_oid));
  dd::ScalarFunctionSet to_name{std::string(regclass_name_function)};
  to_name.AddFunction(dd::ScalarFunction({oid}, text, regclass_name));
  to_name.AddFunction(dd::ScalarFunction({text}, text, regclass_name_of_text));
  dd::ScalarFunctionSet indexdef{"pg_get_indexdef"};
  indexdef.AddFunction(dd::ScalarFunction({oid}, text, pg_get_indexdef));
  indexdef.AddFunction(dd::ScalarFunction({oid, dd::LogicalType::INTEGER, dd::LogicalType::BOOLEAN}, text, pg_get_indexdef));
  for (auto* set : {&to_oid, &to_name, &indexdef}) {
    for (auto& f : set->functions) {
      f.function_info = info;
      f.stability = dd::FunctionStability::CONSISTENT_WITHIN_QUERY;
    }
    dd::CreateScalarFunctionInfo create(*set);
    create.on_conflict = dd::OnCreateConflict::REPLACE_ON_CONFLICT;
    auto txn = dd::CatalogTransaction::GetSystemTransaction(db);
    dd::Catalog::GetSystemCatalog(db).CreateFunction(txn, create);
  }
}

// DuckDB's format_type gives short names (int4, varchar); PostgreSQL's
// gives the long ones that clients parse.
constexpr const char* format_type_macro = R"(CREATE MACRO {}(type_id, typemod) AS (
  SELECT CASE format_pg_type(logical_type, type_name)
    WHEN 'int2' THEN 'smallint' WHEN 'int4' THEN 'integer' WHEN 'int8' THEN 'bigint'
    WHEN 'float4' THEN 'real' WHEN 'float8' THEN 'double precision' WHEN 'bool' THEN 'boolean'
    WHEN 'varchar' THEN 'character varying'
    WHEN 'timestamptz' THEN 'timestamp with time zone' WHEN 'timestamp' THEN 'timestamp without time zone'
    WHEN 'timetz' THEN 'time with time zone' WHEN 'time' THEN 'time without time zone'
    WHEN 'numeric' THEN 'numeric' || CASE WHEN typemod > 0 THEN concat('(', typemod // 1000, ',', typemod % 1000, ')')
                                          ELSE '' END
    ELSE format_pg_type(logical_type, type_name) END
  FROM duckdb_types() AS t WHERE t.type_oid = type_id))";

// current_schemas(include_implicit) names only the schemas a client can
// see: Strata's one schema, and pg_catalog when implicit ones are asked for
// (DuckDB's also lists its own internal ones).
constexpr const char* current_schemas_macro =
    "CREATE MACRO {}(include_implicit) AS CASE WHEN include_implicit THEN ['pg_catalog', 'public'] ELSE ['public'] END";

// PostgreSQL 15's columns. A primary key's index is the table's oid + 1
// (psql_catalog's numbering); constraint columns are 1-based attnums.
// NOT NULL is a column property in PostgreSQL, not a pg_constraint row.
constexpr const char* pg_constraint_view = R"(
CREATE VIEW {schema}.pg_constraint AS
SELECT table_oid * 1000000 + constraint_index AS oid, coalesce(constraint_name, constraint_text) AS conname,
  schema_oid AS connamespace,
  CASE constraint_type WHEN 'CHECK' THEN 'c' WHEN 'UNIQUE' THEN 'u' WHEN 'PRIMARY KEY' THEN 'p'
    WHEN 'FOREIGN KEY' THEN 'f' END AS contype,
  false AS condeferrable, false AS condeferred, true AS convalidated, table_oid AS conrelid, 0::BIGINT AS contypid,
  CASE WHEN constraint_type IN ('PRIMARY KEY', 'UNIQUE') AND constraint_index = 0 THEN table_oid + 1 ELSE 0 END
    AS conindid,
  0::BIGINT AS conparentid, 0::BIGINT AS confrelid, NULL::VARCHAR AS confupdtype, NULL::VARCHAR AS confdeltype,
  NULL::VARCHAR AS confmatchtype, true AS conislocal, 0 AS coninhcount, false AS connoinherit,
  list_transform(constraint_column_indexes, i -> (i + 1)::SMALLINT) AS conkey, NULL::SMALLINT[] AS confkey,
  NULL::BIGINT[] AS conpfeqop, NULL::BIGINT[] AS conppeqop, NULL::BIGINT[] AS conffeqop,
  NULL::SMALLINT[] AS confdelsetcols, NULL::BIGINT[] AS conexclop, expression AS conbin
FROM duckdb_constraints()
WHERE constraint_type IN ('CHECK', 'UNIQUE', 'PRIMARY KEY', 'FOREIGN KEY'))";

constexpr const char* pg_index_view = R"(
CREATE VIEW {schema}.pg_index AS
SELECT table_oid + 1 AS indexrelid, table_oid AS indrelid, len(constraint_column_indexes)::SMALLINT AS indnatts,
  len(constraint_column_indexes)::SMALLINT AS indnkeyatts, true AS indisunique, false AS indnullsnotdistinct,
  constraint_type = 'PRIMARY KEY' AS indisprimary, false AS indisexclusion, true AS indimmediate,
  false AS indisclustered, true AS indisvalid, false AS indcheckxmin, true AS indisready, true AS indislive,
  false AS indisreplident, list_transform(constraint_column_indexes, i -> (i + 1)::SMALLINT) AS indkey,
  NULL::BIGINT[] AS indcollation, NULL::BIGINT[] AS indclass,
  list_transform(constraint_column_indexes, i -> 0::SMALLINT) AS indoption, NULL::VARCHAR AS indexprs,
  NULL::VARCHAR AS indpred
FROM duckdb_constraints()
WHERE constraint_type = 'PRIMARY KEY'
UNION ALL
SELECT index_oid, table_oid, 0::SMALLINT, 0::SMALLINT, is_unique, false, is_primary, false, true, false, true, false,
  true, true, false, NULL::SMALLINT[], NULL::BIGINT[], NULL::BIGINT[], NULL::SMALLINT[], expressions, NULL::VARCHAR
FROM duckdb_indexes())";

}  // namespace

void register_strata_catalog(dd::DatabaseInstance& db, tables::service& tables) {
  add_regclass_functions(db, tables);
  dd::Connection setup(db);
  for (const std::string& sql :
       {fmt::format(format_type_macro, format_type_function), fmt::format(current_schemas_macro, current_schemas_function),
        std::string("CREATE MACRO pg_is_in_recovery() AS false"),
        fmt::format("CREATE SCHEMA {}", catalog_override_schema),
        fmt::format(pg_constraint_view, fmt::arg("schema", catalog_override_schema)),
        fmt::format(pg_index_view, fmt::arg("schema", catalog_override_schema))}) {
    auto created = setup.Query(sql);
    if (created->HasError()) throw std::runtime_error("could not set up the catalog (" + sql + "): " + created->GetError());
  }
  setup.context->RunFunctionInTransaction([&] {
    wrap(*setup.context, db, tables, "duckdb_tables", listing::tables);
    wrap(*setup.context, db, tables, "duckdb_columns", listing::columns);
    wrap(*setup.context, db, tables, "duckdb_sequences", listing::sequences);
    wrap(*setup.context, db, tables, "duckdb_constraints", listing::constraints);
  });
}

}  // namespace strata::sql
