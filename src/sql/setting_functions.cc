#include "sql/setting_functions.h"

#include "base/ascii.h"

#include "duckdb/catalog/catalog.hpp"
#include "duckdb/common/vector_operations/ternary_executor.hpp"
#include "duckdb/main/client_context.hpp"
#include "duckdb/parser/parsed_data/create_scalar_function_info.hpp"
#include "sql/duckdb_bridge.h"

namespace strata::sql {

namespace dd = duckdb;

namespace {

// set_config(name, value, is_local): is_local is SET LOCAL, which Strata
// treats as SET SESSION (docs/sql.md, Settings).
void set_config(dd::DataChunk& args, dd::ExpressionState& state, dd::Vector& result) {
  auto ctx = state.GetContext().registered_state->Get<settings_context>(settings_context::key);
  if (!ctx) throw_sql_error("XX000", "set_config ran outside a Strata session");
  dd::TernaryExecutor::Execute<dd::string_t, dd::string_t, bool, dd::string_t>(
      args.data[0], args.data[1], args.data[2], result, args.size(), [&](dd::string_t name, dd::string_t value, bool) {
        std::lock_guard lock(ctx->mu);
        setting_command set;
        set.action = setting_command::kind::set;
        set.name = lower_ascii(name.GetString());
        set.value = value.GetString();
        auto applied = ctx->settings.apply(set);
        if (!applied.ok()) throw_sql_error(applied.err().sqlstate, applied.err().message);
        auto published = ctx->on_change();
        if (!published.ok()) throw_sql_error(published.err().sqlstate, published.err().message);
        auto shown = ctx->settings.show(set.name);
        if (!shown.ok()) throw_sql_error(shown.err().sqlstate, shown.err().message);
        return dd::StringVector::AddString(result, shown->second);
      });
}

}  // namespace

void register_setting_functions(dd::DatabaseInstance& db) {
  const auto text = dd::LogicalType::VARCHAR;
  dd::ScalarFunction f("set_config", {text, text, dd::LogicalType::BOOLEAN}, text, set_config);
  f.stability = dd::FunctionStability::VOLATILE;
  dd::ScalarFunctionSet set("set_config");
  set.AddFunction(std::move(f));
  dd::CreateScalarFunctionInfo info(std::move(set));
  info.on_conflict = dd::OnCreateConflict::REPLACE_ON_CONFLICT;
  auto txn = dd::CatalogTransaction::GetSystemTransaction(db);
  dd::Catalog::GetSystemCatalog(db).CreateFunction(txn, info);
}

}  // namespace strata::sql
