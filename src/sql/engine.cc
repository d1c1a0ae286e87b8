// sql::engine: one in-memory DuckDB per server with the strata_scan table
// function registered, and the watchdog that fires statement timeouts.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "duckdb/common/vector_operations/unary_executor.hpp"
#include "duckdb/main/extension/extension_loader.hpp"
#include "sql/catalog_functions.h"
#include "sql/sequence_functions.h"
#include "sql/duckdb_bridge.h"
#include "sql/pg_rewrite.h"
#include "sql/setting_functions.h"
#include "sql/session_impl.h"

namespace strata::sql {
namespace {

class engine_impl final : public engine {
 public:
  engine_impl(engine_config config, tables::service& tables, std::unique_ptr<duckdb::DuckDB> db)
      : config_(std::move(config)), tables_(tables), db_(std::move(db)) {}

  ~engine_impl() override = default;

  outcome<std::unique_ptr<session>> new_session(const session_options& options) override {
    try {
      detail::engine_parts parts{config_, tables_, *db_, dog_};
      return std::unique_ptr<session>(std::make_unique<detail::session_impl>(parts, options));
    } catch (const std::exception& e) {
      return error{"53000", fmt::format("could not start a SQL session: {}", e.what()), {}, "Retry; the server may be out of memory."};
    }
  }

 private:
  engine_config config_;
  tables::service& tables_;
  std::unique_ptr<duckdb::DuckDB> db_;
  watchdog dog_;
};

void fill_duckdb_config(const engine_config& config, duckdb::DBConfig& c) {
  if (config.threads > 0) c.options.maximum_threads = config.threads;
  c.options.maximum_memory = config.memory_bytes_max;
  if (config.temp_dir.empty()) {
    c.options.use_temporary_directory = false;
  } else {
    c.options.temporary_directory = config.temp_dir;
  }
  // SQL arrives from the network: no file access, no extension downloads.
  c.options.enable_external_access = false;
  c.options.autoinstall_known_extensions = false;
  c.options.autoload_known_extensions = false;
}

// PostgreSQL's length(bytea), the byte count; DuckDB has only length(text).
void add_bytea_length(duckdb::DatabaseInstance& db) {
  duckdb::ScalarFunction length("length", {duckdb::LogicalType::BLOB}, duckdb::LogicalType::BIGINT,
                                [](duckdb::DataChunk& args, duckdb::ExpressionState&, duckdb::Vector& result) {
                                  duckdb::UnaryExecutor::Execute<duckdb::string_t, int64_t>(
                                      args.data[0], result, args.size(),
                                      [](duckdb::string_t bytes) { return int64_t(bytes.GetSize()); });
                                });
  duckdb::ExtensionLoader loader(db, "strata_pg");
  loader.AddFunctionOverload(std::move(length));
}

}  // namespace

outcome<std::unique_ptr<engine>> engine::open(engine_config config, tables::service& tables) {
  try {
    duckdb::DBConfig dbc;
    fill_duckdb_config(config, dbc);
    auto db = std::make_unique<duckdb::DuckDB>(nullptr, &dbc);
    register_strata_scan(*db->instance, tables);
    add_bytea_length(*db->instance);
    register_sequence_functions(*db->instance);
    register_setting_functions(*db->instance);
    register_strata_catalog(*db->instance, tables);
    duckdb::Connection setup(*db);
    // PostgreSQL semantics where DuckDB differs: UTC everywhere, int / int is
    // integer division, NULLs sort last ascending and first descending;
    // version() and current_setting() answer as PostgreSQL (each session
    // publishes its settings in the variable current_setting() reads).
    // pg_advisory_unlock_all() (asyncpg's pool runs it when a connection is
    // given back) releases what the session holds: always nothing, since
    // Strata offers no advisory lock functions.
    std::string version = fmt::format("PostgreSQL {} on DuckDB {}", config.server_version, duckdb::DuckDB::LibraryVersion());
    for (size_t at = version.find('\''); at != std::string::npos; at = version.find('\'', at + 2)) version.insert(at, 1, '\'');
    const std::string version_macro = fmt::format("CREATE MACRO version() AS '{}'", version);
    const std::string any_equal = fmt::format(
        "CREATE MACRO {}(x, arr) AS CASE WHEN arr IS NULL THEN NULL WHEN len(arr) = 0 THEN false "
        "WHEN list_contains(arr, x) THEN true WHEN x IS NULL OR list_position(arr, NULL) IS NOT NULL THEN NULL "
        "ELSE false END",
        any_equal_macro);
    // PostgreSQL fails on a zero divisor (22012); DuckDB's / and % give NULL.
    // CASE runs error() only for the rows whose divisor is zero.
    auto division = [](std::string_view name, std::string_view op) {
      return fmt::format("CREATE MACRO {}(a, b) AS CASE WHEN b = 0 THEN error('{}') ELSE a {} b END", name,
                         sql_error_message("22012", "division by zero"), op);
    };
    for (const std::string& q : {std::string("SET GLOBAL TimeZone = 'UTC'"), std::string("SET GLOBAL integer_division = true"),
                                 std::string("SET GLOBAL default_null_order = 'nulls_last_on_asc_first_on_desc'"),
                                 version_macro, any_equal, std::string(detail::current_setting_macro),
                                 std::string("CREATE MACRO pg_advisory_unlock_all() AS NULL"),
                                 division(divide_macro, "/"), division(modulo_macro, "%"),
                                 std::string("CREATE TYPE regclass AS VARCHAR"),
                                 fmt::format("CREATE SCHEMA {}", detail::strata_schema),
                                 std::string("SET GLOBAL lock_configuration = true")}) {
      auto r = setup.Query(q);
      if (r->HasError()) return error{"58000", fmt::format("could not configure DuckDB ({}): {}", q, r->GetError()), {}, {}};
    }
    return std::unique_ptr<engine>(std::make_unique<engine_impl>(std::move(config), tables, std::move(db)));
  } catch (const std::exception& e) {
    return error{"58000", fmt::format("could not start DuckDB: {}", e.what()), {},
                 "Check memory_bytes_max and that temp_dir is writable."};
  }
}

}  // namespace strata::sql
