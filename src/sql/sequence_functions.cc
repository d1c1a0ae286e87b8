#include "sql/sequence_functions.h"

#include <fmt/format.h>

#include "duckdb/catalog/catalog.hpp"
#include "duckdb/common/vector_operations/binary_executor.hpp"
#include "duckdb/main/client_context.hpp"
#include "duckdb/parser/parsed_data/create_scalar_function_info.hpp"
#include "duckdb/parser/parsed_data/create_type_info.hpp"
#include "sql/duckdb_bridge.h"
#include "sql/psql_catalog.h"
#include "sql/session_impl.h"
#include "sql/statement_parser.h"

namespace strata::sql {
namespace {

namespace dd = duckdb;

sequence_context& context_of(dd::ExpressionState& state) {
  auto ctx = state.GetContext().registered_state->Get<sequence_context>(sequence_context::key);
  if (!ctx) throw_sql_error("XX000", "sequence functions need a Strata session");
  return *ctx;
}

std::string resolve(dd::string_t text) {
  auto name = sequence_name_of(text.GetString());
  if (!name.ok()) throw_sql_error(name.err().sqlstate, name.err().message);
  return *name;
}

// A sequence given as regclass's oid ('s'::regclass, rewritten by pg_rewrite).
// The names are listed again only for an oid not seen before, not per row.
std::string resolve(sequence_context& ctx, int64_t oid) {
  auto it = ctx.names_by_oid.find(oid);
  if (it == ctx.names_by_oid.end()) {
    ctx.names_by_oid.clear();
    for (const auto& s : ctx.store.list()) ctx.names_by_oid[sequence_oid(s.def.name)] = s.def.name;
    it = ctx.names_by_oid.find(oid);
    if (it == ctx.names_by_oid.end()) throw_sql_error("42809", fmt::format("\"{}\" is not a sequence", oid));
  }
  return it->second;
}

// The sequence an argument names: text, or an oid.
template <class F>
std::string sequence_arg(sequence_context& ctx, const F& formats, const std::vector<dd::idx_t>& at) {
  if (formats[0].physical_type == dd::PhysicalType::INT64) {
    return resolve(ctx, dd::UnifiedVectorFormat::GetData<int64_t>(formats[0])[at[0]]);
  }
  return resolve(dd::UnifiedVectorFormat::GetData<dd::string_t>(formats[0])[at[0]]);
}

[[noreturn]] void fail(const strata::error& e) {
  const char* state = e.code == errc::not_found        ? "42P01"
                      : e.code == errc::limit_exceeded  ? "2200H"
                      : e.code == errc::invalid_argument ? "22003"
                                                         : "58030";
  throw_sql_error(state, e.message);
}

// Calls `one` once per row, also when the arguments are constants (DuckDB's
// executors would call it once for a constant vector, and every row of an
// INSERT would get the same nextval). NULL in, NULL out, as PostgreSQL's
// strict functions do.
template <class F>
void per_row(dd::DataChunk& args, dd::Vector& result, F&& one) {
  const dd::idx_t rows = args.size();
  std::vector<dd::UnifiedVectorFormat> formats(args.ColumnCount());
  for (dd::idx_t c = 0; c < args.ColumnCount(); ++c) args.data[c].ToUnifiedFormat(rows, formats[c]);
  result.SetVectorType(dd::VectorType::FLAT_VECTOR);
  auto* out = dd::FlatVector::GetData<int64_t>(result);
  auto& validity = dd::FlatVector::Validity(result);
  std::vector<dd::idx_t> at(formats.size());
  for (dd::idx_t r = 0; r < rows; ++r) {
    bool null = false;
    for (size_t c = 0; c < formats.size(); ++c) {
      at[c] = formats[c].sel->get_index(r);
      null |= !formats[c].validity.RowIsValid(at[c]);
    }
    if (null) {
      validity.SetInvalid(r);
      continue;
    }
    out[r] = one(formats, at);
  }
}

template <class T>
T arg(const std::vector<dd::UnifiedVectorFormat>& formats, const std::vector<dd::idx_t>& at, size_t c) {
  return dd::UnifiedVectorFormat::GetData<T>(formats[c])[at[c]];
}

void nextval(dd::DataChunk& args, dd::ExpressionState& state, dd::Vector& result) {
  sequence_context& ctx = context_of(state);
  per_row(args, result, [&](const auto& f, const auto& at) {
    std::string name = sequence_arg(ctx, f, at);
    auto v = ctx.store.next(name);
    if (!v.ok()) fail(v.err());
    ctx.current[name] = *v;
    ctx.last_used = name;
    return *v;
  });
}

void currval(dd::DataChunk& args, dd::ExpressionState& state, dd::Vector& result) {
  sequence_context& ctx = context_of(state);
  per_row(args, result, [&](const auto& f, const auto& at) {
    std::string name = sequence_arg(ctx, f, at);
    if (!ctx.store.exists(name)) throw_sql_error("42P01", fmt::format("relation \"{}\" does not exist", name));
    auto it = ctx.current.find(name);
    if (it == ctx.current.end()) {
      throw_sql_error("55000", fmt::format("currval of sequence \"{}\" is not yet defined in this session", name));
    }
    return it->second;
  });
}

void lastval(dd::DataChunk& args, dd::ExpressionState& state, dd::Vector& result) {
  sequence_context& ctx = context_of(state);
  per_row(args, result, [&](const auto&, const auto&) {
    if (!ctx.last_used || !ctx.store.exists(*ctx.last_used)) {
      throw_sql_error("55000", "lastval is not yet defined in this session");
    }
    return ctx.current[*ctx.last_used];
  });
}

void setval(dd::DataChunk& args, dd::ExpressionState& state, dd::Vector& result) {
  sequence_context& ctx = context_of(state);
  per_row(args, result, [&](const auto& f, const auto& at) {
    std::string name = sequence_arg(ctx, f, at);
    const int64_t value = arg<int64_t>(f, at, 1);
    const bool is_called = f.size() < 3 || arg<bool>(f, at, 2);
    auto v = ctx.store.set(name, value, is_called);
    if (!v.ok()) fail(v.err());
    // As in PostgreSQL, setval sets currval only when is_called.
    if (is_called) {
      ctx.current[name] = value;
      ctx.last_used = name;
    }
    return value;
  });
}

// pg_get_serial_sequence(table, column): the sequence a serial or identity
// column draws from, as 'public.name', or NULL.
void serial_sequence(dd::DataChunk& args, dd::ExpressionState& state, dd::Vector& result) {
  sequence_context& ctx = context_of(state);
  dd::BinaryExecutor::ExecuteWithNulls<dd::string_t, dd::string_t, dd::string_t>(
      args.data[0], args.data[1], result, args.size(),
      [&](dd::string_t table_text, dd::string_t column, dd::ValidityMask& mask, dd::idx_t row) {
        const std::string table = resolve(table_text);
        for (const auto& name : ctx.store.owned_by(table)) {
          auto info = ctx.store.describe(name);
          if (info.ok() && info->def.owned_column == column.GetString()) {
            return dd::StringVector::AddString(result, "public." + name);
          }
        }
        mask.SetInvalid(row);
        return dd::string_t();
      });
}

dd::ScalarFunction volatile_function(const std::string& name, dd::vector<dd::LogicalType> args,
                                     dd::scalar_function_t body) {
  dd::ScalarFunction f(name, std::move(args), dd::LogicalType::BIGINT, std::move(body));
  f.stability = dd::FunctionStability::VOLATILE;
  return f;
}

void replace_function(dd::DatabaseInstance& db, dd::ScalarFunctionSet set) {
  dd::CreateScalarFunctionInfo info(std::move(set));
  info.on_conflict = dd::OnCreateConflict::REPLACE_ON_CONFLICT;
  auto& catalog = dd::Catalog::GetSystemCatalog(db);
  auto txn = dd::CatalogTransaction::GetSystemTransaction(db);
  catalog.CreateFunction(txn, info);
}

}  // namespace

void register_sequence_functions(dd::DatabaseInstance& db) {
  const auto text = dd::LogicalType::VARCHAR;
  const auto bigint = dd::LogicalType::BIGINT;
  dd::ScalarFunctionSet next("nextval");
  dd::ScalarFunctionSet curr("currval");
  dd::ScalarFunctionSet set("setval");
  for (const auto& named_by : {text, bigint}) {  // a name, or regclass's oid
    next.AddFunction(volatile_function("nextval", {named_by}, nextval));
    curr.AddFunction(volatile_function("currval", {named_by}, currval));
    set.AddFunction(volatile_function("setval", {named_by, bigint}, setval));
    set.AddFunction(volatile_function("setval", {named_by, bigint, dd::LogicalType::BOOLEAN}, setval));
  }
  replace_function(db, std::move(next));
  replace_function(db, std::move(curr));
  replace_function(db, std::move(set));
  dd::ScalarFunctionSet serial("pg_get_serial_sequence");
  serial.AddFunction(dd::ScalarFunction("pg_get_serial_sequence", {text, text}, text, serial_sequence));
  replace_function(db, std::move(serial));
  dd::ScalarFunctionSet last("lastval");
  last.AddFunction(volatile_function("lastval", {}, lastval));
  replace_function(db, std::move(last));
}

outcome<std::string> sequence_name_of(std::string_view text) {
  stmt::parser p(text);
  std::vector<std::string> parts;
  for (;;) {
    std::string part;
    if (p.peek().kind != stmt::tok::ident && p.peek().kind != stmt::tok::quoted_ident) {
      return stmt::make_sql_error("42602", fmt::format("invalid name syntax: \"{}\"", text));
    }
    parts.push_back(p.next().text);
    if (!p.accept_punct('.')) break;
  }
  if (!p.at_end() || parts.size() > 2) return stmt::make_sql_error("42602", fmt::format("invalid name syntax: \"{}\"", text));
  if (parts.size() == 2 && !detail::names_strata_schema(parts[0])) {
    return stmt::make_sql_error("3F000", fmt::format("schema \"{}\" does not exist", parts[0]));
  }
  return parts.back();
}

}  // namespace strata::sql
